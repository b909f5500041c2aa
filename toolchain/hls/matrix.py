"""The LIF kernel's C-simulation over a matrix of configurations, against the golden model.

Every membrane width 4..24, each with 6 of the 18 leak x rounding x reset combinations in rotation,
so every combination runs at 7 widths spread over the range (126 configurations); random inputs that
include saturating ones at both ends; PE lanes 1 and 3; a third of the configurations (every mode at two or
more widths) with an input shift of 1..6; half (every mode) CubaLIF neurons with a synaptic current. All
configurations are compiled into one g++ binary.
``python -m toolchain.hls.matrix`` (``make csim``) prints the table and exits non-zero on any mismatch.
"""

from __future__ import annotations

import itertools
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from toolchain.custom_op.layer_spec import LayerSpec
from toolchain.golden import LEAK_MODES, RESETS, ROUNDINGS, NeuronParams, neurons, run_neurons
from toolchain.hls.csim import compile_csim, run_csim

WIDTHS = tuple(range(4, 25))
MODES = list(itertools.product(LEAK_MODES, ROUNDINGS, RESETS))
PER_WIDTH = 6


def matrix(widths=WIDTHS):
    """(width, mode) pairs: width i takes modes 6i .. 6i+5 (mod 18)."""
    return [(b, MODES[(i * PER_WIDTH + j) % len(MODES)]) for i, b in enumerate(widths) for j in range(PER_WIDTH)]


def configurations(widths=WIDTHS, seed=0) -> list[LayerSpec]:
    rng = np.random.default_rng(seed)
    specs = []
    for k, (b, (leak, rounding, reset)) in enumerate(matrix(widths)):
        hi = (1 << (b - 1)) - 1
        frac = int(rng.integers(1, 13))
        model = neurons.get(neurons.names()[(k // 2) % len(neurons.names())])  # every model, pairs of configs
        p = NeuronParams(
            membrane_bits=b,
            threshold=int(rng.integers(1, hi + 1)),
            leak_mode=leak,
            leak_shift=int(rng.integers(1, b)),
            beta_int=int(rng.integers(0, (1 << frac) + 1)),
            beta_frac_bits=frac,
            rounding=rounding,
            seed=int(rng.integers(0, 2**32)),
            reset=reset,
            input_shift=int(rng.integers(1, 7)) if (k + k // 18) % 3 == 0 else 0,  # membrane unit: 2^k acc. units
            neuron_model=model.name,
            extra=model.sample_attrs(rng, frac),
        )
        # odd configurations are conv-like: 4 pixels of 6 channels, one bias per channel, PE 3
        channels, pe, bias_channels = (24, 3, 6) if k % 2 else (5, 1, 5)
        bias = rng.integers(-(hi // 4) - 1, hi // 4 + 1, bias_channels)
        if k % 5 < 2:  # two in five with a threshold (and a beta) per channel, across models and modes
            p.thresholds = tuple(int(v) for v in rng.integers(1, hi + 1, bias_channels))
            if leak == "beta":
                p.beta_ints = tuple(int(v) for v in rng.integers(0, (1 << frac) + 1, bias_channels))
            for vector in model.vectors:  # the model's own per-neuron decays (CubaLIF's alpha_ints)
                p.extra[vector] = tuple(int(v) for v in rng.integers(0, (1 << frac) + 1, bias_channels))
        specs.append(LayerSpec(f"cfg{k}", p, channels=channels, steps=9, bias=bias, in_bits=b + 2, pe=pe))
    return specs


def inputs(spec: LayerSpec, samples=6, seed=0) -> np.ndarray:
    """Random accumulators over the input type's range, with runs that saturate up and down."""
    rng = np.random.default_rng(seed)
    lo, hi = -(1 << (spec.in_bits - 1)), (1 << (spec.in_bits - 1)) - 1
    x = rng.integers(lo, hi + 1, (samples, spec.steps, spec.channels))
    x[0, :4] = hi
    x[1, :4] = lo
    x[2] = rng.integers(-4, 5, (spec.steps, spec.channels))  # small inputs: leak and rounding dominate
    return x


def run_matrix(widths=WIDTHS, folder=None) -> list[dict]:
    specs = configurations(widths)
    folder = Path(folder or tempfile.mkdtemp(prefix="qsnn_matrix_"))
    t0 = time.perf_counter()
    binary = compile_csim(specs, folder)
    compile_s = time.perf_counter() - t0
    rows = []
    for k, spec in enumerate(specs):
        x = inputs(spec, seed=k)
        got = run_csim(binary, k, x)
        want = run_neurons(x + spec.neuron_bias(), spec.params)
        p = spec.params
        rows.append(
            {
                "config": spec.name,
                "bits": p.membrane_bits,
                "leak": p.leak_mode,
                "rounding": p.rounding,
                "reset": p.reset,
                "shift": p.input_shift,
                "model": p.neuron_model,
                "per_neuron": p.per_neuron,
                "pe": spec.pe,
                "updates": int(x.size),
                "mismatches": int((got != want).sum()),
                "compile_s": compile_s,
            }
        )
    return rows


def main() -> int:
    rows = run_matrix()
    bad = sum(r["mismatches"] for r in rows)
    for r in rows:
        print(
            f"{r['config']:>6}  B={r['bits']:>2}  {r['leak']:<5}  {r['rounding']:<10}  {r['reset']:<8}  "
            f"k={r['shift']}  {r['model']:<7}  {'per-neuron' if r['per_neuron'] else 'per-layer':<10}  "
            f"PE={r['pe']}  {r['updates']:>4} updates  {r['mismatches']} mismatches"
        )
    print(
        f"{len(rows)} configurations, {sum(r['updates'] for r in rows)} neuron updates, {bad} mismatches "
        f"(compiled in {rows[0]['compile_s']:.1f} s)"
    )
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
