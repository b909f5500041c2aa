"""IBM DVS Gesture (Amir et al. 2017) in the layout tonic reads, from the user's own copy (--data-path).

tonic's preprocessed release: ibmGestureTrain/ and ibmGestureTest/, each with a folder per recording
(``user<NN>_<lighting>``) of ``<label>.npy`` files, one per gesture: an (events, 4) integer array of x, y,
polarity and the time stamp in milliseconds (tonic multiplies it by 1000, as done here), on a 128 x 128 sensor.
The arrays are read with numpy (``allow_pickle=False``: a file holding objects is refused).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from toolchain.data.base import Dataset
from toolchain.data.events import EVENT_DTYPE, check_labels, event_dataset, frame_shape, pick, stack, to_frames
from toolchain.errors import QsnnError

NAME = "dvsgesture"
DESCRIPTION = "DVS Gesture 128x128x2, 11 gestures (tonic's ibmGestureTrain/ibmGestureTest .npy) from --data-path"
TEMPORAL = True
SENSOR = (128, 128, 2)
CLASSES = [
    "hand clapping",
    "right hand wave",
    "left hand wave",
    "right arm cw",
    "right arm ccw",
    "left arm cw",
    "left arm ccw",
    "arm roll",
    "air drums",
    "air guitar",
    "other gestures",
]
FOLDERS = ("ibmGestureTrain", "ibmGestureTest")
FIX = "point --data-path at the folder holding ibmGestureTrain/ and ibmGestureTest/ (tonic's DVSGesture layout)"


def available(path=None):
    if not path:
        return False, f"no --data-path; {FIX} (nothing is downloaded)"
    missing = [f for f in FOLDERS if not (Path(path) / f).is_dir()]
    if missing:
        return False, f"{', '.join(missing)} not in {path}; {FIX}"
    return True, f"DVS Gesture files in {path}"


def read_events(path: Path) -> np.ndarray:
    try:
        a = np.load(path, allow_pickle=False)
    except ValueError as e:
        raise QsnnError(f"{path}: not a numeric .npy array ({e}); {FIX}") from None
    if a.ndim != 2 or a.shape[1] != 4:
        raise QsnnError(f"{path}: an array of shape {a.shape}, not (events, 4) of x, y, p, t; {FIX}")
    ev = np.zeros(len(a), EVENT_DTYPE)
    ev["x"], ev["y"], ev["p"], ev["t"] = a[:, 0], a[:, 1], a[:, 2], np.asarray(a[:, 3], dtype=np.int64) * 1000
    if len(ev) and (ev["x"].min() < 0 or ev["x"].max() >= 128 or ev["y"].min() < 0 or ev["y"].max() >= 128):
        raise QsnnError(f"{path}: events outside the 128 x 128 sensor; not a DVS Gesture file")
    if len(ev) and not set(np.unique(ev["p"])) <= {0, 1}:
        raise QsnnError(f"{path}: polarities other than 0 and 1; not a DVS Gesture file")
    return ev


def _split(folder: Path, cfg, limit):
    files = sorted(f for f in folder.glob("*/*.npy"))
    if not files:
        raise QsnnError(f"{folder} holds no <recording>/<label>.npy files; {FIX}")
    try:
        labels = np.array([int(f.stem) for f in files])
    except ValueError:
        raise QsnnError(f"{folder}: a .npy file not named <label>.npy; {FIX}") from None
    idx = pick(len(files), limit)
    y = check_labels(labels[idx], len(CLASSES), folder)
    shape = frame_shape(SENSOR, cfg, audio=False)
    x = stack((to_frames(read_events(files[i]), SENSOR, cfg) for i in idx), len(idx), shape, cfg.steps, folder.name)
    return x, y


def load(cfg) -> Dataset:
    root = Path(cfg.path)
    return event_dataset(NAME, cfg, _split, root / FOLDERS[0], root / FOLDERS[1], CLASSES)
