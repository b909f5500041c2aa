"""Where torch trains and evaluates: ``--device auto|cpu|cuda|cuda:N``.

``auto`` takes CUDA when torch sees a device, else the CPU. ``cuda`` is the first visible GPU for one run; a sweep
or search spreads its points over every visible GPU, one point per GPU at a time (``claim``); ``cuda:N`` pins
them all to GPU N (they share it). The integer-exact mode gives the same integers on every device (float64
accumulations of integers below 2^53, int64 state, the same hash), so the golden model's agreement does not
depend on where a network was trained.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import tempfile
import time
from pathlib import Path

from toolchain import argtypes
from toolchain.errors import QsnnError

CUDA_FIX = (
    "install a CUDA build of torch (README: 'Training on a GPU') on a machine with an NVIDIA GPU, or use --device cpu"
)


def check_spec(text: str) -> str:
    """The spelling of a device option: auto, cpu, cuda or cuda:N (no torch needed)."""
    try:
        return argtypes.device(text)
    except argparse.ArgumentTypeError as e:
        raise QsnnError(f"--device: {e}") from None


def gpu_count() -> int:
    import torch

    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def resolve(spec: str):
    """The torch.device of ``spec``; a GPU that torch cannot see is refused, naming the fix."""
    import torch

    spec = check_spec(spec)
    if spec == "auto":
        return torch.device("cuda:0" if gpu_count() else "cpu")
    if spec == "cpu":
        return torch.device("cpu")
    n, index = gpu_count(), int(spec.partition(":")[2] or 0)
    if n == 0:
        build = f"built for CUDA {torch.version.cuda}" if torch.version.cuda else "a CPU-only build"
        raise QsnnError(f"--device {spec}: torch {torch.__version__} ({build}) sees no CUDA device; {CUDA_FIX}")
    if index >= n:
        raise QsnnError(f"--device {spec}: torch sees {n} CUDA device(s), cuda:0..cuda:{n - 1}; choose one of them")
    return torch.device(f"cuda:{index}")


@contextlib.contextmanager
def claim(spec: str, gpus: int | None = None, lock_dir: Path | None = None, poll_s: float = 0.5):
    """The device spec one point of a sweep or search runs on: with ``cuda`` and several visible GPUs, ``cuda:K`` for
    the first GPU K no other point holds (a lock file per GPU, released when the point ends or its process dies;
    while all are held, it waits for one); otherwise ``spec`` itself. ``gpus``: how many GPUs (default: what torch
    sees)."""
    n = gpu_count() if gpus is None else gpus
    if check_spec(spec) != "cuda" or n < 2:
        yield spec
        return
    folder = Path(lock_dir or tempfile.gettempdir())
    handles = [open(folder / f"qsnn-gpu-{k}.lock", "a") for k in range(n)]  # held open for the point
    try:
        while (free := next((k for k, h in enumerate(handles) if _try_lock(h)), None)) is None:
            time.sleep(poll_s)
        yield f"cuda:{free}"
    finally:
        for h in handles:
            h.close()  # closing releases the lock


def _try_lock(handle) -> bool:
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False
