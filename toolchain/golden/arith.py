"""The integer arithmetic of DESIGN.md that is not a neuron: the stateless hash, input encodings and the exact
synaptic products (dense and channels-last conv)."""

from __future__ import annotations

import numpy as np

from .errors import QsnnError

MASK32 = 0xFFFFFFFF
GOLDEN_T = 0x9E3779B1
GOLDEN_I = 0x85EBCA77


def fmix32(h):
    """MurmurHash3's 32-bit finaliser on uint32 arrays (products mod 2^32)."""
    h = np.asarray(h, dtype=np.uint32)
    with np.errstate(over="ignore"):
        h = h ^ (h >> np.uint32(16))
        h = h * np.uint32(0x85EBCA6B)
        h = h ^ (h >> np.uint32(13))
        h = h * np.uint32(0xC2B2AE35)
        h = h ^ (h >> np.uint32(16))
    return h


def hash_table(seed: int, steps: int, size: int) -> np.ndarray:
    """fmix32(seed ^ (t * 0x9E3779B1) ^ (i * 0x85EBCA77)) for t < steps, i < size, as uint32 (T, size)."""
    t = (np.arange(steps, dtype=np.uint64) * GOLDEN_T) & MASK32
    i = (np.arange(size, dtype=np.uint64) * GOLDEN_I) & MASK32
    key = (np.uint64(seed & MASK32) ^ t[:, None] ^ i[None, :]).astype(np.uint32)
    return fmix32(key)


def rate_encode(x: np.ndarray, steps: int, bits: int, seed: int) -> np.ndarray:
    """Seeded Bernoulli spikes: s[n, t, i] = (hash(seed, t, i) mod 2^bits) < x[n, i].

    ``x`` holds unsigned integers in [0, 2^bits); the firing probability is x / 2^bits. The hash is
    the same stateless fmix32 rule as stochastic rounding, so the board driver reproduces it exactly.
    """
    x = np.asarray(x)
    flat = x.reshape(x.shape[0], -1).astype(np.int64)
    u = (hash_table(seed, steps, flat.shape[1]) & np.uint32((1 << bits) - 1)).astype(np.int64)
    spikes = (u[None, :, :] < flat[:, None, :]).astype(np.int64)
    return spikes.reshape((x.shape[0], steps) + x.shape[1:])


def encode(x: np.ndarray, steps: int, encoding: str, bits: int, seed: int) -> np.ndarray:
    """(N, ...) integer input -> (N, T, ...) integer input per time step (events: the input is that already)."""
    x = np.asarray(x).astype(np.int64)
    if encoding == "direct":
        return np.repeat(x[:, None], steps, axis=1)
    if encoding == "rate":
        if x.min(initial=0) < 0:
            raise QsnnError("rate encoding needs unsigned inputs; use --encoding direct for signed data")
        return rate_encode(x, steps, bits, seed)
    if encoding == "events":  # an event dataset's spike frames, already (N, T, ...)
        if x.ndim < 2 or x.shape[1] != steps:
            raise QsnnError(f"event frames of shape {x.shape} do not hold the model's {steps} steps: (N, {steps}, ...)")
        return x
    raise QsnnError(f"encoding {encoding!r} is not supported; choose direct, rate or events")


def exact_matmul(x: np.ndarray, w_t: np.ndarray) -> np.ndarray:
    """Integer x @ w_t, through float64 BLAS when every partial sum stays below 2^53 (exact)."""
    bound = float(np.abs(x).max(initial=0)) * float(np.abs(w_t).max(initial=0)) * w_t.shape[0]
    if bound < 2.0**52:
        return np.rint(x.astype(np.float64) @ w_t.astype(np.float64)).astype(np.int64)
    return x.astype(np.int64) @ w_t.astype(np.int64)


def max_pool(x: np.ndarray, pool) -> np.ndarray:
    """(N, T, H, W, C) -> (N, T, H // ph, W // pw, C): the maximum over each ph x pw window (stride = window)."""
    ph, pw = pool
    if (ph, pw) == (1, 1):
        return x
    n, t, h, w, c = x.shape
    ho, wo = h // ph, w // pw
    win = x[:, :, : ho * ph, : wo * pw].reshape(n, t, ho, ph, wo, pw, c)
    return win.max(axis=(3, 5))


def conv_weight_matrix(w: np.ndarray) -> np.ndarray:
    """(out, in, kh, kw) -> (out, kh*kw*in), matching im2col's (kh, kw, C) column order."""
    return w.transpose(0, 2, 3, 1).reshape(w.shape[0], -1)


def conv_out(size: int, k: int, stride: int = 1, pad: int = 0) -> int:
    """Output length of a conv (or pool window) of ``k`` over ``size`` with ``stride`` and ``pad`` zeros each side."""
    return (size + 2 * pad - k) // stride + 1


def im2col(x: np.ndarray, k, stride=(1, 1), pad=(0, 0)) -> np.ndarray:
    """(M, H, W, C) -> (M * Ho * Wo, kh*kw*C) with columns ordered (kh, kw, C); ``k`` is kh = kw or (kh, kw).

    ``stride`` (sh, sw) and ``pad`` (ph, pw): zeros added on both sides of each axis, as PyTorch's and FINN's."""
    kh, kw = (k, k) if np.isscalar(k) else k
    (sh, sw), (ph, pw) = stride, pad
    if ph or pw:
        x = np.pad(x, ((0, 0), (ph, ph), (pw, pw), (0, 0)))
    m, h, w, c = x.shape
    win = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(1, 2))[:, ::sh, ::sw]  # (M, Ho, Wo, C, kh, kw)
    ho, wo = win.shape[1:3]
    return win.transpose(0, 1, 2, 4, 5, 3).reshape(m * ho * wo, kh * kw * c)
