"""rf-synth: a SYNTHETIC stand-in for RadioML 2016.10a, generated with numpy. It is not RadioML.

The 11 modulations of RML2016.10a as 2x128 complex-baseband frames at 8 samples per symbol:
digital ones (BPSK, QPSK, 8PSK, PAM4, QAM16, QAM64) with root-raised-cosine pulse shaping
(roll-off 0.35), CPFSK (h = 0.5) and GFSK (BT = 0.3), and analog ones (AM-DSB with carrier,
AM-SSB, WBFM) driven by a band-limited random message. Each frame gets a random carrier phase, a
random frequency offset (|f| <= 0.01 cycles/sample) and AWGN at the chosen SNR. Seeded: the same
config gives the same frames. 1,000 frames per (class, SNR), as in RadioML 2016.10a (44,000 frames at the default
four SNRs, about 9 s to generate); with the earlier 120 every network overfitted its 4,224 training frames.
"""

import numpy as np
from scipy import signal

from toolchain.data.base import Dataset
from toolchain.data.rf import FRAME, MODULATIONS, quantize_iq, rf_dataset

NAME = "rf-synth"
DESCRIPTION = "synthetic 11-class RF modulations (RadioML 2016.10a's classes), numpy-generated, seeded"
SPS = 8
FRAMES_PER_CLASS_PER_SNR = 1000


def available(path=None):
    return True, "generated with numpy (synthetic, not RadioML)"


def _rrc(beta=0.35, sps=SPS, span=6):
    t = np.arange(-span * sps, span * sps + 1) / sps
    h = np.zeros_like(t)
    for k, ti in enumerate(t):
        if abs(ti) < 1e-9:
            h[k] = 1 + beta * (4 / np.pi - 1)
        elif abs(abs(ti) - 1 / (4 * beta)) < 1e-9:
            h[k] = (
                beta
                / np.sqrt(2)
                * ((1 + 2 / np.pi) * np.sin(np.pi / (4 * beta)) + (1 - 2 / np.pi) * np.cos(np.pi / (4 * beta)))
            )
        else:
            h[k] = (np.sin(np.pi * ti * (1 - beta)) + 4 * beta * ti * np.cos(np.pi * ti * (1 + beta))) / (
                np.pi * ti * (1 - (4 * beta * ti) ** 2)
            )
    return h / np.sqrt(np.sum(h**2))


def _constellation(name):
    if name == "BPSK":
        return np.array([-1, 1], dtype=complex)
    if name == "QPSK":
        return np.exp(1j * (np.pi / 4 + np.pi / 2 * np.arange(4)))
    if name == "8PSK":
        return np.exp(1j * np.pi / 4 * np.arange(8))
    if name == "PAM4":
        return np.array([-3, -1, 1, 3], dtype=complex)
    m = {"QAM16": 4, "QAM64": 8}[name]
    levels = np.arange(-(m - 1), m, 2)
    return (levels[:, None] + 1j * levels[None, :]).ravel()


def _message(rng, n):
    """A band-limited random audio-like message in [-1, 1]."""
    b, a = signal.butter(4, 0.05)
    m = signal.lfilter(b, a, rng.standard_normal(n + 200))[200:]
    return m / (np.max(np.abs(m)) + 1e-12)


def _gaussian_pulse(bt=0.3, sps=SPS, span=4):
    t = np.arange(-span * sps, span * sps + 1) / sps
    alpha = np.sqrt(np.log(2) / 2) / bt
    h = np.sqrt(np.pi) / alpha * np.exp(-((np.pi * t / alpha) ** 2))
    return h / h.sum()


def modulate(name, rng, n=FRAME):
    """One noiseless complex frame of n samples."""
    nsym = n // SPS + 16
    if name in ("BPSK", "QPSK", "8PSK", "PAM4", "QAM16", "QAM64"):
        const = _constellation(name)
        const = const / np.sqrt(np.mean(np.abs(const) ** 2))
        up = np.zeros(nsym * SPS, dtype=complex)
        up[::SPS] = rng.choice(const, nsym)
        x = np.convolve(up, _rrc(), mode="same")
    elif name in ("CPFSK", "GFSK"):
        freq = np.repeat(rng.choice([-1.0, 1.0], nsym), SPS)
        if name == "GFSK":
            freq = np.convolve(freq, _gaussian_pulse(), mode="same")
        x = np.exp(1j * np.pi * 0.5 * np.cumsum(freq) / SPS)
    elif name == "AM-DSB":
        x = (1 + 0.5 * _message(rng, nsym * SPS)).astype(complex)
    elif name == "AM-SSB":
        x = signal.hilbert(_message(rng, nsym * SPS))
    elif name == "WBFM":
        x = np.exp(1j * 2 * np.pi * 0.2 * np.cumsum(_message(rng, nsym * SPS)) / 4)
    else:
        raise ValueError(name)
    start = rng.integers(0, len(x) - n)
    return x[start : start + n]


def channel(x, snr_db, rng):
    """Random phase, frequency offset, then AWGN at snr_db relative to the frame's power."""
    n = np.arange(len(x))
    x = x * np.exp(1j * (rng.uniform(0, 2 * np.pi) + 2 * np.pi * rng.uniform(-0.01, 0.01) * n))
    p = np.mean(np.abs(x) ** 2)
    noise_p = p / (10 ** (snr_db / 10))
    return x + np.sqrt(noise_p / 2) * (rng.standard_normal(len(x)) + 1j * rng.standard_normal(len(x)))


def generate(snrs, per_class=FRAMES_PER_CLASS_PER_SNR, seed=0):
    """-> frames (N, 2, 128) float, labels (N,), snr (N,)."""
    rng = np.random.default_rng(seed)
    frames, labels, snr = [], [], []
    for c, name in enumerate(MODULATIONS):
        for s in snrs:
            for _ in range(per_class):
                x = channel(modulate(name, rng), s, rng)
                frames.append(np.stack([x.real, x.imag]))
                labels.append(c)
                snr.append(s)
    return np.array(frames), np.array(labels, dtype=np.int64), np.array(snr, dtype=np.int64)


def load(cfg) -> Dataset:
    frames, y, snr = generate(tuple(cfg.snrs))
    x = quantize_iq(frames)
    notes = {"source": "synthetic (rf-synth), not RadioML", "snrs": list(cfg.snrs)}
    return rf_dataset(NAME, x, y, snr, cfg.limit, True, notes)
