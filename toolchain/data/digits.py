"""scikit-learn's 8x8 handwritten digits: the embedded default dataset (1,797 images, 10 classes)."""

import numpy as np

from toolchain.data.base import Dataset, limit, split

NAME = "digits"
DESCRIPTION = "8x8 handwritten digits shipped with scikit-learn (1,797 images); the embedded default"


def available(path=None):
    return True, "ships with scikit-learn"


def load(cfg) -> Dataset:
    from sklearn.datasets import load_digits

    d = load_digits()
    # pixel values 0..16 mapped onto 8-bit unsigned integers (0..255)
    x = np.rint(d.images * (255.0 / 16.0)).astype(np.int64)[..., None]
    x_tr, x_te, y_tr, y_te = split(x, d.target.astype(np.int64))
    x_tr, y_tr, _ = limit(x_tr, y_tr, cfg.limit)
    return Dataset(NAME, x_tr, y_tr, x_te, y_te, (8, 8, 1), [str(k) for k in range(10)])
