"""Event streams as spike frames: what the event-data loaders (shd, nmnist, dvsgesture) share.

Each sample's events (time stamps in microseconds, a channel or pixel, a polarity) become ``--steps`` frames:
over ``--bin-ms`` wide bins from the recording's first event (events after the last bin are dropped), or,
without ``--bin-ms``, the sample's own duration (first to last event) cut into ``--steps`` equal bins. The
binning is tonic's ``to_frame_numpy`` (PyPI ``tonic``; its dataset classes are not used, as they download);
pooling (``--event-pool``: channel or pixel coordinates divided by the factor, e.g. SHD 700 -> 140 channels,
DVS 128 x 128 -> 32 x 32) is a division of the coordinates before it. A frame holds a spike where its bin saw
an event (``--event-bits 1``) or the event count clipped to 2^bits - 1. Frames are channels-last:
(T, channels) or (T, H, W, polarities).

The loaders read one sample at a time (an HDF5 row, a file), never a whole file into memory, and never
download: the user points ``--data-path`` at the files.
"""

from __future__ import annotations

import numpy as np

from toolchain.data.base import Dataset
from toolchain.errors import QsnnError

EVENT_DTYPE = np.dtype([("x", np.int64), ("y", np.int64), ("p", np.int64), ("t", np.int64)])
AUDIO_DTYPE = np.dtype([("x", np.int64), ("p", np.int64), ("t", np.int64)])


def pooled_size(size: int, pool: int) -> int:
    return -(-size // pool)


def to_frames(events: np.ndarray, sensor: tuple[int, int, int], cfg) -> np.ndarray:
    """One sample's events (EVENT_DTYPE, or AUDIO_DTYPE without y) -> (T, *frame shape) uint8 frames, binned and
    pooled as ``cfg`` (a DataConfig) says. ``sensor``: (width, height, polarities) before pooling (height 1 for
    audio)."""
    from tonic.functional import to_frame_numpy

    steps, pool, bits = cfg.steps, cfg.event_pool, cfg.event_bits
    audio = "y" not in events.dtype.names
    w, h, p = pooled_size(sensor[0], pool), 1 if audio else pooled_size(sensor[1], pool), sensor[2]
    events = np.sort(events, order="t")
    events["x"] //= pool
    if not audio:
        events["y"] //= pool
    if len(events) == 0:
        frames = np.zeros((steps, p, w) if audio else (steps, p, h, w), dtype=np.int64)
    else:
        start = int(events["t"][0])
        if cfg.bin_ms is not None:
            width = int(round(cfg.bin_ms * 1000))
        else:  # the recording's duration, its last event included (tonic's n_time_bins leaves that one out)
            width = max(1, -(-(int(events["t"][-1]) - start + 1) // steps))
        frames = to_frame_numpy(
            events,
            (w, h, p),
            time_window=width,
            start_time=start,
            end_time=start + steps * width,
            include_incomplete=True,
        )[:steps]
    frames = np.asarray(frames, dtype=np.int64)
    if len(frames) < steps:  # a recording shorter than the window: silent bins at the end
        frames = np.concatenate([frames, np.zeros((steps - len(frames), *frames.shape[1:]), np.int64)])
    frames = np.moveaxis(frames, 1, -1)  # polarity last: (T, W, P) or (T, H, W, P)
    if audio:
        frames = frames[..., 0] if p == 1 else frames.reshape(steps, -1)
    top = (1 << bits) - 1
    return np.minimum(frames, top).astype(np.uint8)


def frame_shape(sensor: tuple[int, int, int], cfg, audio: bool) -> tuple[int, ...]:
    w = pooled_size(sensor[0], cfg.event_pool)
    if audio:
        return (w,) if sensor[2] == 1 else (w * sensor[2],)
    return (pooled_size(sensor[1], cfg.event_pool), w, sensor[2])


def stack(samples, n: int, shape: tuple[int, ...], steps: int, desc: str) -> np.ndarray:
    """(n, T, *shape) uint8 frames from an iterator of per-sample frames, with a progress bar."""
    from tqdm.auto import tqdm

    out = np.zeros((n, steps, *shape), dtype=np.uint8)
    for k, frames in enumerate(tqdm(samples, total=n, desc=desc, unit="sample", leave=False)):
        out[k] = frames
    return out


def check_labels(y: np.ndarray, n_classes: int, where) -> np.ndarray:
    y = np.asarray(y, dtype=np.int64)
    if y.size and (y.min() < 0 or y.max() >= n_classes):
        raise QsnnError(f"{where}: labels outside 0..{n_classes - 1}; is it the right file?")
    return y


def pick(n: int, limit: int | None, seed: int = 0) -> np.ndarray:
    """The sample indices to load: all of them, or a seeded random ``limit`` of them, in file order."""
    if limit is None or limit >= n:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).permutation(n)[:limit])


def event_dataset(name: str, cfg, read_split, train, test, classes) -> Dataset:
    """The Dataset of an event loader: ``read_split(where, cfg, limit)`` -> (frames, labels) for its training split
    (``--limit`` applies) and its test split (whole)."""
    x_tr, y_tr = read_split(train, cfg, cfg.limit)
    x_te, y_te = read_split(test, cfg, None)
    return Dataset(
        name,
        x_tr,
        y_tr,
        x_te,
        y_te,
        x_tr.shape[2:],
        classes,
        input_bits=cfg.event_bits,
        temporal=True,
        notes={"source": str(cfg.path)},
    )
