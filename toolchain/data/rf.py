"""What RadioML 2016.10a and its synthetic stand-in share: class names and I/Q quantisation."""

import numpy as np

MODULATIONS = ["8PSK", "AM-DSB", "AM-SSB", "BPSK", "CPFSK", "GFSK", "PAM4", "QAM16", "QAM64", "QPSK", "WBFM"]
FRAME = 128
IQ_BITS = 8
IQ_RMS = 32  # one RMS unit of the normalised frame in int8 steps (peaks up to 4 RMS fit in int8)


def quantize_iq(frames: np.ndarray) -> np.ndarray:
    """(N, 2, 128) float I/Q -> (N, 128, 2) int8 values: unit RMS per frame, then RMS = 32 steps."""
    frames = np.asarray(frames, dtype=np.float64)
    rms = np.sqrt(np.mean(frames**2, axis=(1, 2), keepdims=True)) + 1e-12
    q = np.clip(np.rint(frames / rms * IQ_RMS), -128, 127).astype(np.int64)
    return q.transpose(0, 2, 1)
