"""What RadioML 2016.10a and its synthetic stand-in share: class names and I/Q quantisation."""

from pathlib import Path

import numpy as np

from toolchain.data.base import Dataset, limit, split

MODULATIONS = ["8PSK", "AM-DSB", "AM-SSB", "BPSK", "CPFSK", "GFSK", "PAM4", "QAM16", "QAM64", "QPSK", "WBFM"]
FRAME = 128
IQ_BITS = 8
IQ_RMS = 32  # one RMS unit of the normalised frame in int8 steps (peaks up to 4 RMS fit in int8)


def user_file(path, name: str) -> Path | None:
    """The RadioML file the user named with --data-path: the path itself, or ``name`` inside that folder."""
    if not path:
        return None
    p = Path(path)
    return p / name if p.is_dir() else p


def user_file_available(path, name: str) -> tuple[bool, str]:
    f = user_file(path, name)
    if f is None:
        return False, f"needs --data-path to your {name} (use rf-synth for synthetic data)"
    if not f.is_file():
        return False, f"{f} not found"
    return True, str(f)


def quantize_iq(frames: np.ndarray) -> np.ndarray:
    """(N, 2, 128) float I/Q -> (N, 128, 2) int8 values: unit RMS per frame, then RMS = 32 steps."""
    frames = np.asarray(frames, dtype=np.float64)
    rms = np.sqrt(np.mean(frames**2, axis=(1, 2), keepdims=True)) + 1e-12
    q = np.clip(np.rint(frames / rms * IQ_RMS), -128, 127).astype(np.int64)
    return q.transpose(0, 2, 1)


def rf_dataset(name, x, y, snr, train_limit, synthetic, notes, classes=MODULATIONS) -> Dataset:
    """Split stratified by (class, SNR), so every SNR is measured for every modulation."""
    strat = y * 1000 + (snr + 100)
    x_tr, x_te, s_tr, s_te, snr_tr, snr_te = split(x, strat, extra=snr)
    x_tr, y_tr, snr_tr = limit(x_tr, s_tr // 1000, train_limit, extra=snr_tr)
    return Dataset(
        name,
        x_tr,
        y_tr,
        x_te,
        s_te // 1000,
        tuple(x.shape[1:]),
        list(classes),
        input_bits=IQ_BITS,
        input_signed=True,
        synthetic=synthetic,
        snr_train=snr_tr,
        snr_test=snr_te,
        notes=notes,
    )
