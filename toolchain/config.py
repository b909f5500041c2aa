"""Typed, JSON-serialisable run configuration.

A run is described by one :class:`RunConfig` with five sections (data, model, quant, neuron,
train). ``to_dict``/``from_dict`` round-trip through JSON; ``validate`` raises :class:`QsnnError`
naming the bad value and the fix, so the CLI and the library share one set of checks.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

from toolchain.errors import QsnnError
from toolchain.golden import LEAK_MODES, MAX_INPUT_SHIFT, READOUTS, RESETS, ROUNDINGS, neurons

SCHEMES = ("qat", "ptq")
ENCODINGS = ("direct", "rate")
ARCHS = ("mlp", "conv")
PRUNE_MODES = ("cumulative", "joint")
WEIGHT_BITS_RANGE = (1, 16)
MEMBRANE_BITS_RANGE = (2, 32)
BETA_FRAC_BITS_RANGE = (1, 16)


def _choice(name, value, allowed):
    if value not in allowed:
        raise QsnnError(f"{name} {value!r} is not supported; choose one of {', '.join(allowed)}")


def _int_range(name, value, lo, hi, fix=""):
    if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
        raise QsnnError(f"{name} {value!r} is out of range; use an integer in {lo}..{hi}{fix}")


def _float_range(name, value, lo, hi, what, lo_open=False):
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or not (lo < value if lo_open else lo <= value) or not value <= hi:
        raise QsnnError(f"{name} {value!r} is out of range; use {what}")


MAX_WEIGHTS = 20_000_000  # ~80 MB of float weights per copy; training keeps several copies and BPTT state


@dataclass
class DataConfig:
    dataset: str = "digits"
    steps: int = 8  # time steps T per sample
    encoding: str = "direct"  # direct: the integer input every step; rate: seeded Bernoulli spikes
    encoding_seed: int = 1
    path: str | None = None  # files for datasets that need them (mnist, radioml2016)
    snrs: tuple[int, ...] = (0, 6, 12, 18)  # rf-synth / radioml2016 SNRs in dB
    limit: int | None = None  # cap on training samples (tests, quick looks)


@dataclass
class ModelConfig:
    arch: str = "mlp"
    hidden: tuple[int, ...] = (128,)  # mlp: hidden layer sizes; conv: channels of each conv layer
    kernel: int = 3  # conv kernel size (valid padding, stride 1); 1 x kernel on (L, C) sequences (Conv1d)
    pool: int = 1  # conv: max-pool window = stride after each conv layer's neurons (1: none)
    fc: tuple[int, ...] = ()  # conv: hidden dense layers between the conv stack and the classifier
    spiking: bool = True  # False: the same layers with ReLU and no time (a float reference, not buildable)
    readout: str = "count"  # count | membrane (the classifier is an LI layer) | first-spike (golden.readout)


@dataclass
class QuantConfig:
    weight_bits: int | None = 4  # None: float32 weights and neuron state (the baseline)
    membrane_bits: int | str | None = 16  # None: float (with float weights); "auto": fit the threshold
    membrane_shift: int | str = 0  # k: the membrane counts 2^k accumulator units; "auto": the least k that fits
    rounding: str = "nearest"  # weights, neuron parameters and the leak product
    scheme: str = "qat"  # qat: quantized during training; ptq: float training, then quantize


@dataclass
class NeuronConfig:
    threshold: float = 0.5  # real-valued; the integer threshold is R(threshold / scale)
    leak: str = "beta"
    beta: float = 0.9375
    beta_frac_bits: int = 8
    leak_shift: int = 4
    reset: str = "subtract"
    neuron_seed: int = 7  # seed of the stochastic-rounding hash (DESIGN.md)
    model: str = "lif"  # lif | cubalif (a synaptic current J decaying by alpha between the synapse and the membrane)
    alpha: float = 0.5  # cubalif: J <- alpha J + I (alpha_int = R(alpha 2^F), the beta's F)
    per_neuron: bool = False  # learn threshold and beta per neuron (per channel of a conv layer), not per network


@dataclass
class TrainConfig:
    epochs: int = 20
    batch_size: int = 64
    lr: float = 2e-3
    seed: int = 0
    prune: float = 0.0  # global magnitude pruning: fraction of weights set to zero
    prune_mode: str = "cumulative"  # cumulative: prune, then quantize; joint: both at once
    calibration_batches: int = 8  # PTQ: batches used to calibrate
    init_from: str | None = None  # QAT: start from this float run's weights (same layers) instead of at random


@dataclass
class RunConfig:
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    quant: QuantConfig = field(default_factory=QuantConfig)
    neuron: NeuronConfig = field(default_factory=NeuronConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    @property
    def quantized(self) -> bool:
        return self.quant.weight_bits is not None

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> RunConfig:
        sections = {}
        for f in dataclasses.fields(cls):
            sub = dict(d.get(f.name, {}))
            known = {g.name for g in dataclasses.fields(f.default_factory)}
            unknown = set(sub) - known
            if unknown:
                raise QsnnError(
                    f"config section '{f.name}' has unknown keys {sorted(unknown)}; known keys: {sorted(known)}"
                )
            for key in ("hidden", "snrs", "fc"):
                if isinstance(sub.get(key), list):
                    sub[key] = tuple(sub[key])
            sections[f.name] = f.default_factory(**sub)
        cfg = cls(**sections)
        cfg.validate()
        return cfg

    def validate(self) -> RunConfig:
        d, m, q, n, t = self.data, self.model, self.quant, self.neuron, self.train
        _int_range("--steps", d.steps, 1, 1024)
        if d.limit is not None:
            _int_range("--limit", d.limit, 1, 10**9)
        if not d.snrs or any(not isinstance(v, int) or isinstance(v, bool) or not -40 <= v <= 40 for v in d.snrs):
            raise QsnnError(f"--snrs {d.snrs!r} is invalid; give SNRs in dB (-40..40) like 0,6,12")
        _choice("--encoding", d.encoding, ENCODINGS)
        _choice("--arch", m.arch, ARCHS)
        if not m.hidden or any(not isinstance(h, int) or isinstance(h, bool) or h < 1 or h > 65536 for h in m.hidden):
            raise QsnnError(f"--hidden {m.hidden!r} is invalid; give positive sizes up to 65536 like 128,64")
        if m.arch == "mlp" and sum(a * b for a, b in zip(m.hidden, m.hidden[1:])) > MAX_WEIGHTS:
            raise QsnnError(
                f"--hidden {','.join(map(str, m.hidden))} needs more than {MAX_WEIGHTS:,} weights between "
                "hidden layers alone (tens of GB to train); choose smaller layers"
            )
        _int_range("--kernel", m.kernel, 1, 15)
        _int_range("--pool", m.pool, 1, 8)
        if any(not isinstance(h, int) or isinstance(h, bool) or h < 1 or h > 65536 for h in m.fc):
            raise QsnnError(f"--fc {m.fc!r} is invalid; give positive dense sizes up to 65536 like 64")
        if m.arch == "mlp" and (m.pool != 1 or m.fc):
            raise QsnnError("--pool and --fc shape conv networks; with --arch mlp give the layers in --hidden")
        if not m.spiking and self.quantized:
            raise QsnnError("--non-spiking trains the float ReLU reference; use it with --weight-bits float")
        if q.weight_bits is not None:
            _int_range("--weight-bits", q.weight_bits, *WEIGHT_BITS_RANGE, " or 'float'")
            if q.membrane_bits is None:
                raise QsnnError("quantized weights need --membrane-bits (an integer in 2..32)")
        if q.membrane_bits is not None and q.membrane_bits != "auto":
            _int_range("--membrane-bits", q.membrane_bits, *MEMBRANE_BITS_RANGE, " or 'auto'")
        if q.membrane_shift != "auto":
            _int_range("--membrane-shift", q.membrane_shift, 0, MAX_INPUT_SHIFT, " or 'auto'")
        if q.membrane_shift != 0 and (q.membrane_bits is None or q.membrane_bits == "auto"):
            raise QsnnError(
                "--membrane-shift sets the membrane's unit for a chosen width: give --membrane-bits B (an integer) "
                "and quantized weights"
            )
        _choice("--rounding", q.rounding, ROUNDINGS)
        _choice("--scheme", q.scheme, SCHEMES)
        _choice("--leak", n.leak, LEAK_MODES)
        _choice("--reset", n.reset, RESETS)
        _float_range("--beta", n.beta, 0.0, 1.0, "a decay factor in [0, 1]")
        _choice("--neuron", n.model, [name for name in neurons.names() if neurons.get(name).spiking])
        _choice("--readout", m.readout, READOUTS)
        _float_range("--alpha", n.alpha, 0.0, 1.0, "a decay factor in [0, 1]")
        _int_range("--beta-frac-bits", n.beta_frac_bits, *BETA_FRAC_BITS_RANGE)
        _int_range("--leak-shift", n.leak_shift, 1, 31)
        _float_range("--threshold", n.threshold, 0.0, 1e6, "a positive, finite real threshold", lo_open=True)
        _int_range("--neuron-seed", n.neuron_seed, 0, 2**32 - 1)
        _int_range("--epochs", t.epochs, 0, 100000)
        _int_range("--batch-size", t.batch_size, 1, 65536)
        _float_range("--lr", t.lr, 0.0, 10.0, "a positive, finite learning rate such as 2e-3", lo_open=True)
        _int_range("--seed", t.seed, 0, 2**32 - 1)
        _int_range("--calibration-batches", t.calibration_batches, 1, 10000)
        if t.init_from is not None and (not self.quantized or q.scheme != "qat" or t.prune > 0):
            raise QsnnError(
                "--init-from starts quantization-aware training from a float run: use it with --weight-bits 1..16, "
                "--scheme qat and no --prune"
            )
        _float_range("--prune", t.prune, 0.0, 1.0, "a fraction in [0, 1)")
        if t.prune >= 1.0:
            raise QsnnError(f"--prune {t.prune} is out of range; use a fraction in [0, 1)")
        _choice("--prune-mode", t.prune_mode, PRUNE_MODES)
        return self
