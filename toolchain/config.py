"""Typed, JSON-serialisable run configuration.

A run is described by one :class:`RunConfig` with five sections (data, model, quant, neuron,
train). ``to_dict``/``from_dict`` round-trip through JSON; ``validate`` raises :class:`QsnnError`
naming the bad value and the fix, so the CLI and the library share one set of checks.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from toolchain.errors import QsnnError

LEAK_MODES = ("none", "shift", "beta")
ROUNDINGS = ("floor", "nearest", "stochastic")
RESETS = ("subtract", "zero")
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
    kernel: int = 3  # conv kernel size (valid padding, stride 1)


@dataclass
class QuantConfig:
    weight_bits: int | None = 4  # None: float32 weights and neuron state (the baseline)
    membrane_bits: int | str | None = 16  # None: float (with float weights); "auto": fit the threshold
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


@dataclass
class TrainConfig:
    epochs: int = 20
    batch_size: int = 64
    lr: float = 2e-3
    seed: int = 0
    prune: float = 0.0  # global magnitude pruning: fraction of weights set to zero
    prune_mode: str = "cumulative"  # cumulative: prune, then quantize; joint: both at once
    calibration_batches: int = 8  # PTQ: batches used to calibrate


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
            for key in ("hidden", "snrs"):
                if isinstance(sub.get(key), list):
                    sub[key] = tuple(sub[key])
            sections[f.name] = f.default_factory(**sub)
        cfg = cls(**sections)
        cfg.validate()
        return cfg

    def validate(self) -> RunConfig:
        d, m, q, n, t = self.data, self.model, self.quant, self.neuron, self.train
        _int_range("--steps", d.steps, 1, 1024)
        _choice("--encoding", d.encoding, ENCODINGS)
        _choice("--arch", m.arch, ARCHS)
        if not m.hidden or any(not isinstance(h, int) or h < 1 or h > 65536 for h in m.hidden):
            raise QsnnError(f"--hidden {m.hidden!r} is invalid; give positive sizes like 128,64")
        if q.weight_bits is not None:
            _int_range("--weight-bits", q.weight_bits, *WEIGHT_BITS_RANGE, " or 'float'")
            if q.membrane_bits is None:
                raise QsnnError("quantized weights need --membrane-bits (an integer in 2..32)")
        if q.membrane_bits is not None and q.membrane_bits != "auto":
            _int_range("--membrane-bits", q.membrane_bits, *MEMBRANE_BITS_RANGE, " or 'auto'")
        _choice("--rounding", q.rounding, ROUNDINGS)
        _choice("--scheme", q.scheme, SCHEMES)
        _choice("--leak", n.leak, LEAK_MODES)
        _choice("--reset", n.reset, RESETS)
        if not 0.0 <= n.beta <= 1.0:
            raise QsnnError(f"--beta {n.beta} is out of range; use a decay factor in [0, 1]")
        _int_range("--beta-frac-bits", n.beta_frac_bits, *BETA_FRAC_BITS_RANGE)
        _int_range("--leak-shift", n.leak_shift, 1, 31)
        if not n.threshold > 0:
            raise QsnnError(f"--threshold {n.threshold} must be positive")
        _int_range("--epochs", t.epochs, 0, 100000)
        if not 0.0 <= t.prune < 1.0:
            raise QsnnError(f"--prune {t.prune} is out of range; use a fraction in [0, 1)")
        _choice("--prune-mode", t.prune_mode, PRUNE_MODES)
        return self
