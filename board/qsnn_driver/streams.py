"""Packing of integer tensors into AXI-stream beats and back (numpy only).

A beat carries ``lanes`` elements of ``bits`` bits, lane 0 in the least significant bits (FINN's
convention), padded to whole bytes, bytes little-endian: the layout FINN's IODMA moves to and from
DDR. Signed values are stored in two's complement.
"""

import numpy as np


def beat_bytes(lanes: int, bits: int) -> int:
    return (lanes * bits + 7) // 8


def pack(values: np.ndarray, bits: int) -> np.ndarray:
    """(..., lanes) integers -> (..., beat_bytes) uint8."""
    v = np.asarray(values).astype(np.int64)
    lanes = v.shape[-1]
    u = (v & ((1 << bits) - 1)).astype(np.uint64)
    pos = np.arange(lanes * bits)
    bit_of = (u[..., pos // bits] >> (pos % bits).astype(np.uint64)) & np.uint64(1)
    nbytes = beat_bytes(lanes, bits)
    padded = np.zeros(v.shape[:-1] + (nbytes * 8,), dtype=np.uint8)
    padded[..., : lanes * bits] = bit_of
    return np.packbits(padded.reshape(v.shape[:-1] + (nbytes, 8)), axis=-1, bitorder="little")[..., 0]


def unpack(data: np.ndarray, lanes: int, bits: int, signed: bool) -> np.ndarray:
    """(..., beat_bytes) uint8 -> (..., lanes) int64."""
    d = np.asarray(data, dtype=np.uint8)
    bitsarr = np.unpackbits(d[..., None], axis=-1, bitorder="little").reshape(d.shape[:-1] + (-1,))
    bitsarr = bitsarr[..., : lanes * bits].reshape(d.shape[:-1] + (lanes, bits)).astype(np.int64)
    v = (bitsarr << np.arange(bits)).sum(axis=-1)
    if signed:
        v = np.where(v >= (1 << (bits - 1)), v - (1 << bits), v)
    return v
