"""The Spiking Heidelberg Digits (SHD), from the user's own HDF5 files (--data-path): shd_train.h5, shd_test.h5.

Each file holds ``spikes/times`` (seconds) and ``spikes/units`` (0..699: the cochlea model's channels), one
variable-length row per sample, and ``labels`` (0-9 the English digits, 10-19 the German ones). Rows are read
one at a time with h5py. Zenke et al., "The Heidelberg spiking data sets", IEEE TNNLS 2022.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from toolchain.data.base import Dataset
from toolchain.data.events import AUDIO_DTYPE, check_labels, event_dataset, frame_shape, pick, stack, to_frames
from toolchain.errors import QsnnError

NAME = "shd"
DESCRIPTION = "Spiking Heidelberg Digits, 700 channels, 20 classes: shd_train.h5 / shd_test.h5 from --data-path"
TEMPORAL = True
CHANNELS = 700
SENSOR = (CHANNELS, 1, 1)
CLASSES = [f"en-{k}" for k in range(10)] + [f"de-{k}" for k in range(10)]
FILES = ("shd_train.h5", "shd_test.h5")
FIX = "point --data-path at the folder holding shd_train.h5 and shd_test.h5 (the SHD release's files, gunzipped)"


def available(path=None):
    if not path:
        return False, f"no --data-path; {FIX} (nothing is downloaded)"
    missing = [f for f in FILES if not (Path(path) / f).is_file()]
    if missing:
        return False, f"{', '.join(missing)} not in {path}; {FIX}"
    return True, f"SHD files in {path}"


def _open(path: Path):
    import h5py

    try:
        f = h5py.File(path, "r")
    except OSError as e:
        raise QsnnError(f"{path} is not an HDF5 file ({e}); {FIX}") from None
    for key in ("spikes/times", "spikes/units", "labels"):
        if key not in f:
            f.close()
            raise QsnnError(f"{path} has no '{key}': not an SHD file; {FIX}")
    if not len(f["spikes/times"]) == len(f["spikes/units"]) == len(f["labels"]):
        f.close()
        raise QsnnError(f"{path}: spikes/times, spikes/units and labels differ in length; the file is damaged")
    return f


def _split(path: Path, cfg, limit):
    with _open(path) as f:
        times, units = f["spikes/times"], f["spikes/units"]
        idx = pick(len(f["labels"]), limit)
        y = check_labels(f["labels"][...][idx], len(CLASSES), path)

        def samples():
            for i in idx:
                t, u = np.asarray(times[i]), np.asarray(units[i])
                if len(t) != len(u):
                    raise QsnnError(f"{path}: sample {i} has {len(t)} times but {len(u)} units; the file is damaged")
                if len(u) and (u.min() < 0 or u.max() >= CHANNELS):
                    raise QsnnError(f"{path}: sample {i} has units outside 0..{CHANNELS - 1}; not an SHD file")
                ev = np.zeros(len(t), AUDIO_DTYPE)
                ev["x"], ev["t"] = u, np.round(np.asarray(t, dtype=np.float64) * 1e6)
                yield to_frames(ev, SENSOR, cfg)

        x = stack(samples(), len(idx), frame_shape(SENSOR, cfg, audio=True), cfg.steps, f"SHD {path.name}")
    return x, y


def load(cfg) -> Dataset:
    root = Path(cfg.path)
    return event_dataset(NAME, cfg, _split, root / FILES[0], root / FILES[1], CLASSES)
