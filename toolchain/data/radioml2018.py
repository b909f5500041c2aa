"""RadioML 2018.01A from the user's GOLD_XYZ_OSC.0001_1024.hdf5 (24 classes, 1024 x 2 I/Q, SNR -20..30 dB).

The file holds ``X`` (N, 1024, 2) float32 frames, ``Y`` (N, 24) one-hot labels and ``Z`` (N, 1) SNRs in dB.
It is read with h5py in chunks of CHUNK frames: only ``Z`` is read whole (8 bytes a frame); the frames at
the chosen ``--snrs`` are read chunk by chunk and quantised to int8 at once, so the 20 GB of float frames
never sit in memory together (the int8 copy of the selected frames does: 2 KB a frame).

Class order. The ``classes.txt`` published with the dataset lists the 24 names in an order that does not
match the one-hot columns of ``Y`` (a known erratum, found by the community by plotting constellations per
column). This project uses the order of the dataset paper's table (O'Shea et al., 2018), which does match:
CLASSES below, column k of ``Y`` is CLASSES[k].
"""

import numpy as np

from toolchain.data.rf import quantize_iq, rf_dataset, user_file, user_file_available
from toolchain.errors import QsnnError

NAME = "radioml2018"
DESCRIPTION = "RadioML 2018.01A from your GOLD_XYZ_OSC.0001_1024.hdf5 (--data-path); read in chunks with h5py"
FILE = "GOLD_XYZ_OSC.0001_1024.hdf5"
FRAME = 1024
CLASSES = [
    "OOK", "4ASK", "8ASK", "BPSK", "QPSK", "8PSK", "16PSK", "32PSK", "16APSK", "32APSK", "64APSK", "128APSK",
    "16QAM", "32QAM", "64QAM", "128QAM", "256QAM", "AM-SSB-WC", "AM-SSB-SC", "AM-DSB-WC", "AM-DSB-SC", "FM",
    "GMSK", "OQPSK",
]  # fmt: skip
CHUNK = 4096


def _file(path):
    return user_file(path, FILE)


def available(path=None):
    return user_file_available(path, FILE)


def _check(f, h5) -> int:
    """The frame length, after checking the three datasets' presence, shapes and agreement."""
    missing = [k for k in ("X", "Y", "Z") if k not in h5]
    if missing:
        raise QsnnError(f"{f} has no dataset(s) {', '.join(missing)}; a RadioML 2018.01A file holds X, Y and Z")
    x, y, z = h5["X"], h5["Y"], h5["Z"]
    n = x.shape[0] if x.ndim == 3 else -1
    if x.ndim != 3 or x.shape[2] != 2 or x.shape[1] < 8:
        raise QsnnError(f"{f}: X has shape {x.shape}, expected (N, {FRAME}, 2) I/Q frames")
    if y.shape != (n, len(CLASSES)):
        raise QsnnError(f"{f}: Y has shape {y.shape}, expected (N, {len(CLASSES)}) one-hot labels for N = {n}")
    if z.shape not in ((n, 1), (n,)):
        raise QsnnError(f"{f}: Z has shape {z.shape}, expected (N, 1) SNRs for N = {n}")
    return x.shape[1]


def _read_rows(dataset, rows: np.ndarray) -> np.ndarray:
    """dataset[rows] for increasing rows, one slice read per run of consecutive rows (frames of SNRs not asked
    for are never read)."""
    runs = np.split(rows, np.flatnonzero(np.diff(rows) != 1) + 1)
    return np.concatenate([dataset[int(r[0]) : int(r[-1]) + 1] for r in runs])


def load(cfg):
    import h5py

    ok, why = available(cfg.path)
    if not ok:
        raise QsnnError(f"radioml2018: {why}")
    f = _file(cfg.path)
    keep = sorted(set(cfg.snrs))
    try:
        with h5py.File(f, "r") as h5:
            frame = _check(f, h5)
            snr = np.asarray(h5["Z"][:]).reshape(-1).astype(np.int64)
            rows = np.flatnonzero(np.isin(snr, keep))
            if len(rows) == 0:
                have = ", ".join(map(str, np.unique(snr)[:30]))
                raise QsnnError(f"{f} holds no frames at SNRs {keep} (it has {have}); choose --snrs among those")
            x = np.empty((len(rows), frame, 2), dtype=np.int8)
            y = np.empty(len(rows), dtype=np.int64)
            for start in range(0, len(rows), CHUNK):
                part = rows[start : start + CHUNK]
                lo, hi = int(part[0]), int(part[-1]) + 1  # for the messages
                frames = _read_rows(h5["X"], part).astype(np.float64)
                onehot = _read_rows(h5["Y"], part)
                if not (np.all((onehot == 0) | (onehot == 1)) and np.all(onehot.sum(axis=1) == 1)):
                    raise QsnnError(f"{f}: Y rows {lo}..{hi - 1} are not one-hot labels")
                if not np.all(np.isfinite(frames)):
                    raise QsnnError(f"{f}: X rows {lo}..{hi - 1} hold NaN or infinite values")
                x[start : start + len(part)] = quantize_iq(frames.transpose(0, 2, 1))
                y[start : start + len(part)] = onehot.argmax(axis=1)
    except OSError as e:
        raise QsnnError(f"{f} is not a readable HDF5 file ({e}); give RadioML 2018.01A's {FILE}") from None
    notes = {"source": str(f), "class_order": "dataset paper's table (classes.txt's order is known to be wrong)"}
    return rf_dataset(NAME, x, y, snr[rows], cfg.limit, False, notes, classes=CLASSES)
