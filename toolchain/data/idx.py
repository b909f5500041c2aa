"""Reader for the idx file format of MNIST and Fashion-MNIST (plain or gzip)."""

import gzip
from pathlib import Path

import numpy as np

from toolchain.errors import QsnnError

_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path) -> np.ndarray:
    path = Path(path)
    if not path.is_file():
        raise QsnnError(f"idx file {path} not found; check --data-path")
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise QsnnError(f"idx file {path} cannot be read ({e}); re-download it") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _DTYPES:
        raise QsnnError(f"{path} is not an idx file (bad magic number)")
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * k : 8 + 4 * k], "big") for k in range(ndim)]
    dtype = np.dtype(_DTYPES[raw[2]])
    offset = 4 + 4 * ndim
    count = int(np.prod(dims))
    if len(raw) - offset != count * dtype.itemsize:
        raise QsnnError(f"{path} is truncated: header says {dims}, file has {len(raw) - offset} bytes")
    return np.frombuffer(raw, dtype=dtype, count=count, offset=offset).reshape(dims)


def find_idx(folder, stem):
    """The file ``stem`` or ``stem.gz`` in folder, or the idx name with '.' in place of the last '-'."""
    folder = Path(folder)
    for name in (stem, stem + ".gz", stem.replace("-idx", ".idx"), stem.replace("-idx", ".idx") + ".gz"):
        if (folder / name).is_file():
            return folder / name
    raise QsnnError(f"{stem}[.gz] not found in {folder}; point --data-path at the folder with the idx files")


def load_idx_set(folder):
    """(x_train, y_train, x_test, y_test) as int64 from the four standard MNIST-style idx files."""
    stems = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
    return tuple(read_idx(find_idx(folder, s)).astype(np.int64) for s in stems)
