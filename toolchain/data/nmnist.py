"""N-MNIST (Orchard et al. 2015), from the user's own copy of the original binary files (--data-path).

The folder holds Train/ and Test/, each with a subfolder per digit (0-9) of ``.bin`` files: one per sample, 5
bytes per event (x, y, polarity in bit 7 of the third byte, a 23-bit time stamp in microseconds), on a 34 x 34
sensor; tonic's ``read_mnist_file`` decodes them (its time-stamp overflow events included).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from toolchain.data.base import Dataset
from toolchain.data.events import EVENT_DTYPE, event_dataset, frame_shape, pick, stack, to_frames
from toolchain.errors import QsnnError

NAME = "nmnist"
DESCRIPTION = "N-MNIST 34x34x2 event files (Train/, Test/ of <digit>/*.bin) from --data-path"
TEMPORAL = True
SENSOR = (34, 34, 2)
FIX = "point --data-path at the folder holding N-MNIST's Train/ and Test/ folders (the original .bin files)"


def _folder(root: Path, name: str) -> Path | None:
    for cand in (name, name.lower()):
        if (root / cand).is_dir():
            return root / cand
    return None


def available(path=None):
    if not path:
        return False, f"no --data-path; {FIX} (nothing is downloaded)"
    missing = [n for n in ("Train", "Test") if _folder(Path(path), n) is None]
    if missing:
        return False, f"no {' or '.join(missing)} folder in {path}; {FIX}"
    return True, f"N-MNIST files in {path}"


def read_events(path: Path) -> np.ndarray:
    """One sample's events (EVENT_DTYPE), checked: a file that is not 5-byte events is refused."""
    from tonic.io import read_mnist_file

    size = path.stat().st_size
    if size % 5:
        raise QsnnError(f"{path}: {size} bytes is not a whole number of 5-byte N-MNIST events; not an N-MNIST file")
    raw = read_mnist_file(str(path), dtype=np.dtype([("x", int), ("y", int), ("t", int), ("p", int)]))
    if len(raw) and (raw["x"].max() >= SENSOR[0] or raw["y"].max() >= SENSOR[1]):
        raise QsnnError(f"{path}: events outside the 34 x 34 sensor; not an N-MNIST file")
    ev = np.zeros(len(raw), EVENT_DTYPE)
    for k in ("x", "y", "p", "t"):
        ev[k] = raw[k]
    return ev


def _split(folder: Path, cfg, limit):
    files, labels = [], []
    for digit in range(10):
        found = sorted((folder / str(digit)).glob("*.bin"))
        files += found
        labels += [digit] * len(found)
    if not files:
        raise QsnnError(f"{folder} holds no <digit>/*.bin files; {FIX}")
    idx = pick(len(files), limit)
    shape = frame_shape(SENSOR, cfg, audio=False)
    x = stack(
        (to_frames(read_events(files[i]), SENSOR, cfg) for i in idx),
        len(idx),
        shape,
        cfg.steps,
        f"N-MNIST {folder.name}",
    )
    return x, np.asarray(labels, dtype=np.int64)[idx]


def load(cfg) -> Dataset:
    root = Path(cfg.path)
    return event_dataset(NAME, cfg, _split, _folder(root, "Train"), _folder(root, "Test"), [str(k) for k in range(10)])
