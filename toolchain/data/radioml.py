"""RadioML 2016.10a from the user's RML2016.10a_dict.pkl (11 classes, 2x128 I/Q, SNR -20..18 dB).

The file is a Python pickle: that is RadioML's own distribution format, and the only place this
project unpickles a user file. Unpickling runs whatever code the file holds, so it happens only after
the user said so for this process (``qsnn ... --trust-pickle``, or ``trust_pickles()`` from Python);
a stored run configuration never implies it. Load only a copy you obtained from its publisher.
Splits are stratified per (modulation, SNR), so per-SNR accuracy is measured on every SNR.
"""

import pickle

import numpy as np

from toolchain.data.base import Dataset
from toolchain.data.rf import FRAME, MODULATIONS, quantize_iq, rf_dataset, user_file, user_file_available
from toolchain.errors import QsnnError

NAME = "radioml2016"
DESCRIPTION = "RadioML 2016.10a from your RML2016.10a_dict.pkl (--data-path); none can be downloaded here"
FILE = "RML2016.10a_dict.pkl"


_TRUSTED = False


def trust_pickles(trusted: bool = True) -> None:
    """The user's consent, for this process, to unpickle RadioML 2016 files (they can run code)."""
    global _TRUSTED
    _TRUSTED = trusted


def _file(path):
    return user_file(path, FILE)


def available(path=None):
    return user_file_available(path, FILE)


def load(cfg) -> Dataset:
    ok, why = available(cfg.path)
    if not ok:
        raise QsnnError(f"radioml2016: {why}")
    if not _TRUSTED:
        raise QsnnError(
            f"{_file(cfg.path)} is a Python pickle (RadioML 2016's own format), and reading a pickle runs any "
            "code it holds; pass --trust-pickle if this copy came from RadioML's publisher"
        )
    try:
        with open(_file(cfg.path), "rb") as fh:
            d = pickle.load(fh, encoding="latin1")  # RadioML's own format (see module docstring)
    except Exception as e:  # noqa: BLE001 - any unpickling failure means a bad file
        raise QsnnError(f"{_file(cfg.path)} is not a RadioML 2016.10a pickle ({e})") from None
    keep = set(cfg.snrs) if cfg.snrs else None
    frames, labels, snrs = [], [], []
    for (mod, snr), arr in sorted(d.items()):
        if mod not in MODULATIONS or (keep and snr not in keep):
            continue
        arr = np.asarray(arr)
        if arr.ndim != 3 or arr.shape[1:] != (2, FRAME):
            raise QsnnError(f"{_file(cfg.path)}: entry {(mod, snr)} has shape {arr.shape}, expected (N, 2, 128)")
        frames.append(arr)
        labels += [MODULATIONS.index(mod)] * len(arr)
        snrs += [snr] * len(arr)
    if not frames:
        raise QsnnError(f"{_file(cfg.path)} holds no frames at SNRs {sorted(keep or [])}")
    x = quantize_iq(np.concatenate(frames))
    y, snr = np.array(labels, dtype=np.int64), np.array(snrs, dtype=np.int64)
    return rf_dataset(NAME, x, y, snr, cfg.limit, False, {"source": str(_file(cfg.path))})
