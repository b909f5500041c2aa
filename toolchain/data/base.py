"""The dataset record every loader returns, and helpers shared by the loaders."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from sklearn.model_selection import train_test_split


@dataclass
class Dataset:
    """Integer inputs, channels-last per sample, ready for the encoders."""

    name: str
    x_train: np.ndarray  # (N, *shape) integers; event data (temporal): (N, T, *shape) spike frames
    y_train: np.ndarray  # (N,) class indices
    x_test: np.ndarray
    y_test: np.ndarray
    shape: tuple[int, ...]  # per sample, channels-last: (H, W, C) for images, (L, C) for I/Q
    class_names: list[str]
    input_bits: int = 8
    input_signed: bool = False
    synthetic: bool = False
    temporal: bool = False  # event data: x holds each sample's T spike frames, (N, T, *shape)
    snr_train: np.ndarray | None = None  # per-sample SNR in dB (RF data)
    snr_test: np.ndarray | None = None
    notes: dict = field(default_factory=dict)

    @property
    def n_classes(self) -> int:
        return len(self.class_names)


def split(x, y, test_fraction=0.2, seed=0, extra=None):
    """Stratified, seeded train/test split; ``extra`` (e.g. SNRs) is split alongside."""
    arrays = [x, y] + ([extra] if extra is not None else [])
    parts = train_test_split(*arrays, test_size=test_fraction, random_state=seed, stratify=y)
    return parts


def limit(x, y, n, seed=0, extra=None):
    """Keep a stratified, seeded subset of n samples (n=None keeps everything)."""
    if n is None or n >= len(y):
        return (x, y, extra)
    idx = np.random.default_rng(seed).permutation(len(y))[:n]
    return (x[idx], y[idx], None if extra is None else extra[idx])
