"""order-synth: a SYNTHETIC temporal task, generated with numpy, whose class is the ORDER of two cues in time.

Twelve input channels in three groups of four: symbols A, B and C. Each sample shows one symbol as a burst of
spikes at the start (the first ``CUE`` steps) and another, different one at the end, over sparse background
spikes on every channel. The class is the ordered pair (AB, AC, BA, BC, CA, CB): the same two symbols in the
other order is another class. A network that only counts what it saw knows the pair but not the order; a
feed-forward one whose membranes forget within the gap (e.g. --beta 0.5 --reset zero) can do no better than 50 %,
while a recurrent one (--recurrent, rN) can carry the first cue across it. Seeded: the same config gives the same
frames. Its input is spike frames (the events encoding); use --steps 16 or more so there is a gap.
"""

from __future__ import annotations

import itertools

import numpy as np

from toolchain.data.base import Dataset
from toolchain.errors import QsnnError

NAME = "order-synth"
DESCRIPTION = "synthetic temporal task: the order of two spike bursts (6 classes), numpy-generated, seeded"
TEMPORAL = True
SYMBOLS = 3
WIDTH = 4  # channels per symbol
CUE = 3  # steps per burst
CUE_RATE, NOISE_RATE = 0.7, 0.02
N_TRAIN, N_TEST = 3000, 1000
PAIRS = list(itertools.permutations(range(SYMBOLS), 2))
CLASSES = ["".join("ABC"[s] for s in pair) for pair in PAIRS]


def available(path=None):
    return True, "generated with numpy (synthetic)"


def generate(n: int, steps: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(frames (n, steps, 12) uint8 spikes, labels (n,)) of the task."""
    if steps < 2 * CUE + 1:
        raise QsnnError(f"order-synth needs --steps {2 * CUE + 1} or more (two {CUE}-step bursts and a gap); use 16")
    rng = np.random.default_rng(seed)
    y = rng.integers(0, len(PAIRS), n)
    x = (rng.random((n, steps, SYMBOLS * WIDTH)) < NOISE_RATE).astype(np.uint8)
    for k, (first, second) in enumerate(PAIRS):
        rows = np.flatnonzero(y == k)
        for sym, t0 in ((first, 0), (second, steps - CUE)):
            burst = rng.random((len(rows), CUE, WIDTH)) < CUE_RATE
            x[rows[:, None, None], np.arange(t0, t0 + CUE)[None, :, None], sym * WIDTH + np.arange(WIDTH)] |= burst
    return x, y.astype(np.int64)


def load(cfg) -> Dataset:
    n_train = N_TRAIN if cfg.limit is None else min(N_TRAIN, cfg.limit)
    x_tr, y_tr = generate(n_train, cfg.steps, seed=1)
    x_te, y_te = generate(N_TEST, cfg.steps, seed=2)
    return Dataset(
        NAME,
        x_tr,
        y_tr,
        x_te,
        y_te,
        (SYMBOLS * WIDTH,),
        CLASSES,
        input_bits=1,
        synthetic=True,
        temporal=True,
        notes={"source": "order-synth generator (numpy, seeded)"},
    )
