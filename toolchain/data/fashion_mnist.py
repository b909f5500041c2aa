"""Fashion-MNIST from Debian's dataset-fashion-mnist package (or idx files under --data-path)."""

from pathlib import Path

from toolchain.data.base import Dataset, limit
from toolchain.data.idx import load_idx_set

NAME = "fashion-mnist"
DESCRIPTION = "Zalando Fashion-MNIST, 28x28 grey, 60k/10k (Debian package dataset-fashion-mnist)"
DEFAULT_DIR = Path("/usr/share/datasets/fashion-mnist")
CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]


def _folder(path):
    return Path(path) if path else DEFAULT_DIR


def available(path=None):
    folder = _folder(path)
    if (folder / "train-images-idx3-ubyte.gz").is_file() or (folder / "train-images-idx3-ubyte").is_file():
        return True, f"idx files in {folder}"
    return False, f"no idx files in {folder}: 'apt-get install dataset-fashion-mnist' or pass --data-path"


def load(cfg) -> Dataset:
    folder = _folder(cfg.path)
    x_tr, y_tr, x_te, y_te = load_idx_set(folder)
    x_tr, y_tr, _ = limit(x_tr[..., None], y_tr, cfg.limit)
    return Dataset(NAME, x_tr, y_tr, x_te[..., None], y_te, (28, 28, 1), CLASSES)
