"""Small event-data files written in each dataset's exact format (tests only): SHD's HDF5, N-MNIST's 5-byte binary
events, DVS Gesture's .npy per gesture (tonic's layout). Class k fires around its own channels / pixels, so a
network can learn them; what they give is plumbing, never an accuracy figure."""

from pathlib import Path

import numpy as np


def write_shd(folder: Path, n_train=60, n_test=20, classes=20, seed=0) -> Path:
    import h5py

    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for name, n in (("shd_train.h5", n_train), ("shd_test.h5", n_test)):
        labels = np.arange(n) % classes
        with h5py.File(folder / name, "w") as f:
            times = f.create_dataset("spikes/times", (n,), dtype=h5py.vlen_dtype(np.float32))
            units = f.create_dataset("spikes/units", (n,), dtype=h5py.vlen_dtype(np.uint16))
            for i, k in enumerate(labels):
                m = int(rng.integers(80, 160))
                units[i] = np.clip(rng.normal(35 * k + 17, 8, m), 0, 699).astype(np.uint16)
                times[i] = np.sort(rng.uniform(0.0, 0.8, m)).astype(np.float32)
            f.create_dataset("labels", data=labels.astype(np.uint16))
    return folder


def nmnist_bytes(x, y, p, t) -> bytes:
    t = np.asarray(t, dtype=np.int64)
    raw = np.zeros((len(x), 5), dtype=np.uint8)
    raw[:, 0], raw[:, 1] = x, y
    raw[:, 2] = (np.asarray(p) << 7) | ((t >> 16) & 0x7F)
    raw[:, 3], raw[:, 4] = (t >> 8) & 0xFF, t & 0xFF
    return raw.tobytes()


def write_nmnist(folder: Path, per_digit=(4, 2), seed=0) -> Path:
    rng = np.random.default_rng(seed)
    for split, n in zip(("Train", "Test"), per_digit):
        for d in range(10):
            (folder / split / str(d)).mkdir(parents=True, exist_ok=True)
            for i in range(n):
                m = int(rng.integers(100, 200))
                x = np.clip(rng.normal(3 + 3 * d, 2, m), 0, 33).astype(int)
                y = np.clip(rng.normal(17, 6, m), 0, 33).astype(int)
                t = np.sort(rng.integers(0, 300_000, m))
                (folder / split / str(d) / f"{i:05d}.bin").write_bytes(nmnist_bytes(x, y, rng.integers(0, 2, m), t))
    return folder


def write_dvsgesture(folder: Path, users=(2, 1), seed=0) -> Path:
    rng = np.random.default_rng(seed)
    for split, n in zip(("ibmGestureTrain", "ibmGestureTest"), users):
        for u in range(n):
            rec = folder / split / f"user{u + 1:02d}_fluorescent"
            rec.mkdir(parents=True, exist_ok=True)
            for label in range(11):
                m = int(rng.integers(200, 400))
                x = np.clip(rng.normal(10 + 10 * label, 5, m), 0, 127).astype(int)
                y = np.clip(rng.normal(64, 20, m), 0, 127).astype(int)
                t = np.sort(rng.integers(0, 1500, m))  # ms, as tonic's release stores it
                np.save(rec / f"{label}.npy", np.stack([x, y, rng.integers(0, 2, m), t], axis=1).astype(np.int64))
    return folder
