"""Typed, JSON-serialisable run configuration.

A run is described by one :class:`RunConfig` with five sections (data, model, quant, neuron,
train). ``to_dict``/``from_dict`` round-trip through JSON; ``validate`` raises :class:`QsnnError`
naming the bad value and the fix, so the CLI and the library share one set of checks.

Each field declares its option once (``option``: flag, help, parser, choices, range, whether it is a
sweep axis); toolchain.options derives the command line from these. A neuron model's own real-valued
parameters are declared by the model (``NeuronModel.params``) and held in ``neuron.params``.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

from toolchain import argtypes
from toolchain.device import check_spec
from toolchain.errors import QsnnError
from toolchain.golden import LEAK_MODES, MAX_INPUT_SHIFT, READOUTS, RESETS, ROUNDINGS, neurons

SCHEMES = ("qat", "ptq")
ENCODINGS = ("direct", "rate", "events")
ARCHS = ("mlp", "conv")
PRUNE_MODES = ("cumulative", "joint")
WEIGHT_BITS_RANGE = (1, 16)
MEMBRANE_BITS_RANGE = (2, 32)
BETA_FRAC_BITS_RANGE = (1, 16)
MAX_WEIGHTS = 20_000_000  # ~80 MB of float weights per copy; training keeps several copies and BPTT state


def option(default=None, flag=None, help="", *, factory=None, **meta):
    """A config field and how the command line sets it. ``flag``: its option (none: not on the command line,
    so a run that changes it cannot be reproduced by one command); ``parse``: the argparse type; ``choices``:
    the allowed values (a callable for a registry); ``range`` (lo, hi) with ``what`` it must be (floats),
    ``lo_open``, and ``also``: values allowed besides the range; ``axis``: swept by `sweep`/`search`, with
    ``grid`` its default there; ``invert``: a flag that sets the field False; ``metavar``. toolchain.options
    derives argparse, config_from_args and the reproducing command from these; ``validate`` checks them."""
    meta.update(flag=flag, help=help)
    if factory is not None:
        return field(default_factory=factory, metadata=meta)
    return field(default=default, metadata=meta)


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


def check_field(section: str, f: dataclasses.Field, value) -> None:
    """The checks a field's metadata declares (choices, range), naming its option (or its config path)."""
    meta = f.metadata
    name = meta.get("flag") or f"{section}.{f.name}"
    if "choices" in meta:
        choices = meta["choices"]
        _choice(name, value, choices() if callable(choices) else choices)
    if "range" in meta and value not in meta.get("also", ()):
        lo, hi = meta["range"]
        if "what" in meta:
            _float_range(name, value, lo, hi, meta["what"], meta.get("lo_open", False))
        else:
            _int_range(name, value, lo, hi, meta.get("fix", ""))


def _spiking_models():
    return [name for name in neurons.names() if neurons.get(name).spiking]


@dataclass
class DataConfig:
    dataset: str = option("digits", "--dataset", "dataset name (see 'qsnn datasets')")
    steps: int = option(8, "--steps", "time steps T per sample", parse=int, range=(1, 1024))
    encoding: str = option(
        "direct",
        "--encoding",
        "direct (the integer input every step), rate (seeded Bernoulli spikes) or events (an event dataset's own "
        "spike frames; the event datasets' default)",
        choices=ENCODINGS,
    )
    encoding_seed: int = option(1)
    path: str | None = option(
        None, "--data-path", "folder or file for datasets that need one (mnist, radioml2016, shd, nmnist, dvsgesture)"
    )
    bin_ms: float | None = option(
        None,
        "--bin-ms",
        "event data: each of the --steps frames covers this many ms from the recording's start (default: the "
        "recording's duration in --steps bins)",
        parse=float,
        range=(0.0, 1e7),
        lo_open=True,
        what="a positive bin width in ms",
        also=(None,),
    )
    event_pool: int = option(
        1,
        "--event-pool",
        "event data: divide channel / pixel coordinates by this (SHD 700 -> 140 channels with 5)",
        parse=int,
        range=(1, 128),
    )
    event_bits: int = option(
        1,
        "--event-bits",
        "event data: 1 = a spike per bin with events, B = the count clipped to 2^B-1",
        parse=int,
        range=(1, 8),
    )
    snrs: tuple[int, ...] = option(
        (0, 6, 12, 18), "--snrs", "RF SNRs in dB (rf-synth, radioml2016)", parse=argtypes.int_list
    )
    limit: int | None = option(
        None, "--limit", "use at most this many training samples", parse=int, range=(1, 10**9), also=(None,)
    )


@dataclass
class ModelConfig:
    arch: str = option("mlp", "--arch", "mlp or conv", choices=ARCHS)
    hidden: tuple[int, ...] = option(
        (128,), "--hidden", "hidden sizes (mlp) / conv channels (conv)", parse=argtypes.int_list
    )
    kernel: int = option(
        3,
        "--kernel",
        "conv kernel size, k x k (1 x k on (L, C) sequences: Conv1d); valid padding, stride 1",
        parse=int,
        range=(1, 15),
    )
    pool: int = option(
        1, "--pool", "conv: max-pool window = stride after each conv layer's neurons (1: none)", parse=int, range=(1, 8)
    )
    fc: tuple[int, ...] = option(
        (), "--fc", "conv: dense hidden sizes between the conv stack and the classifier", parse=argtypes.int_list
    )
    spiking: bool = option(
        True,
        "--non-spiking",
        "train the same layers with ReLU and no time steps: the float reference (needs --weight-bits float)",
        invert=True,
    )
    readout: str = option(
        "count",
        "--readout",
        "how the classifier layer answers: count (its spikes over T), membrane (it is an LI layer: the argmax of its "
        "membrane after the last step) or first-spike (the class that spikes first; ties: most spikes)",
        choices=READOUTS,
    )
    recurrent: bool = option(
        False,
        "--recurrent",
        "--arch mlp: every hidden layer recurrent, I[t] = W x[t] + V s[t-1] + b (V quantized as W); in --layers: rN",
    )
    layers: tuple[str, ...] = option(
        (),
        "--layers",
        "the hidden layers, comma-separated (overrides --arch, --hidden, --kernel, --pool and --fc): "
        + argtypes.LAYER_GRAMMAR
        + "; e.g. c16k5p2,mp2,c32k3,mp2,f128",
        parse=argtypes.layers,
        metavar="SPEC",
    )

    def layout(self) -> list[tuple]:
        """The hidden layers as parsed --layers tokens (argtypes.layer), from --layers or from the shorthands:
        --arch mlp --hidden 128 is f128 (r128 with --recurrent); --arch conv --hidden 16,32 --kernel 3 --pool 2
        --fc 64 is c16k3,mp2,c32k3,mp2,f64."""
        if self.layers:
            return [argtypes.layer(t) for t in self.layers]
        if self.arch == "mlp":
            return [("dense", h, "recurrent") if self.recurrent else ("dense", h) for h in self.hidden]
        out = []
        for ch in self.hidden:
            out.append(("conv", ch, self.kernel, 1, 0))
            if self.pool > 1:
                out.append(("maxpool", self.pool))
        return out + [("dense", h) for h in self.fc]

    @property
    def convolutional(self) -> bool:
        return any(spec[0] == "conv" for spec in self.layout())


def check_layout(layout) -> None:
    """QsnnError naming the first layer of a --layers list that is out of range or out of place."""
    seen = None
    for k, spec in enumerate(layout):
        where = f"--layers: layer {k + 1} ({argtypes.layer_token(spec)})"
        kind = spec[0]
        if kind == "conv":
            _, ch, kernel, stride, pad = spec
            if not (1 <= ch <= 65536 and 1 <= kernel <= 15 and 1 <= stride <= 8 and 0 <= pad < kernel):
                raise QsnnError(
                    f"{where} is out of range; use 1..65536 channels, kernel 1..15, stride 1..8, padding 0..kernel-1"
                )
            if seen == "dense":
                raise QsnnError(f"{where}: a conv layer cannot follow a dense layer; put the f layers last")
        elif kind in ("maxpool", "sumpool"):
            if not 1 <= spec[1] <= 8:
                raise QsnnError(f"{where} is out of range; use a pool window of 1..8")
            if kind == "maxpool" and seen not in ("conv", "maxpool"):
                raise QsnnError(
                    f"{where}: a max-pool pools a conv layer's spikes; put it right after a c layer "
                    "(or before a sum-pool)"
                )
            if kind == "sumpool" and seen == "dense":
                raise QsnnError(f"{where}: a sum-pool pools an image or a conv layer's spikes, not a dense layer's")
        elif not 1 <= spec[1] <= 65536:
            raise QsnnError(f"{where} is out of range; use 1..65536 neurons")
        seen = kind


@dataclass
class QuantConfig:
    weight_bits: int | None = option(
        4,
        "--weight-bits",
        "1..16, or 'float' (float32 weights and neuron state: the baseline)",
        parse=argtypes.weight_bits,
        range=WEIGHT_BITS_RANGE,
        also=(None,),
        fix=" or 'float'",
        axis=True,
        grid=(1, 2, 3, 4, 6, 8, None),
    )
    membrane_bits: int | str | None = option(
        16,
        "--membrane-bits",
        "signed membrane width B, or 'auto': the narrowest that holds the threshold",
        parse=argtypes.auto_int,
        range=MEMBRANE_BITS_RANGE,
        also=(None, "auto"),
        fix=" or 'auto'",
        axis=True,
        grid=("auto",),
    )
    membrane_shift: int | str = option(
        0,
        "--membrane-shift",
        "k: the membrane counts 2^k accumulator units (the synaptic input is rounded by R(I, k)), so its width is "
        "free of the weights' and inputs'; 'auto': the least k at which the threshold fits --membrane-bits",
        parse=argtypes.auto_int,
        range=(0, MAX_INPUT_SHIFT),
        also=("auto",),
        fix=" or 'auto'",
    )
    rounding: str = option(
        "nearest", "--rounding", "of the weights, neuron parameters and the leak product", choices=ROUNDINGS, axis=True
    )
    scheme: str = option(
        "qat",
        "--scheme",
        "qat (quantized during training) or ptq (float training, then quantize)",
        choices=SCHEMES,
        axis=True,
    )


@dataclass
class NeuronConfig:
    threshold: float = option(
        0.5,
        "--threshold",
        "real-valued threshold; the integer one is R(threshold / scale)",
        parse=float,
        range=(0.0, 1e6),
        lo_open=True,
        what="a positive, finite real threshold",
    )
    leak: str = option("beta", "--leak", "none, shift (beta = 1 - 2^-k) or beta", choices=LEAK_MODES)
    beta: float = option(
        0.9375, "--beta", "decay for --leak beta", parse=float, range=(0.0, 1.0), what="a decay factor in [0, 1]"
    )
    beta_frac_bits: int = option(
        8,
        "--beta-frac-bits",
        "fraction bits F of beta (and of a model's other decays)",
        parse=int,
        range=BETA_FRAC_BITS_RANGE,
    )
    leak_shift: int = option(4, "--leak-shift", "k of --leak shift, beta = 1 - 2^-k", parse=int, range=(1, 31))
    reset: str = option("subtract", "--reset", "subtract (the threshold) or zero", choices=RESETS)
    neuron_seed: int = option(7, range=(0, 2**32 - 1))  # seed of the stochastic-rounding hash (DESIGN.md)
    model: str = option(
        "lif",
        "--neuron",
        "the neuron model, one of toolchain/golden/neurons (its own parameters: below)",
        choices=_spiking_models,
    )
    # the model's own real-valued parameters, {name: value}: each model declares them (NeuronModel.params)
    params: dict[str, float] = option(factory=dict)
    per_neuron: bool = option(
        False,
        "--per-neuron",
        "learn a threshold and a beta per neuron (per channel of a conv layer), starting from --threshold and "
        "--beta (and CubaLIF's alpha, from --alpha); the hardware holds them in ROMs beside the bias (default: one "
        "of each per network)",
    )

    def param(self, name: str) -> float:
        """The model's parameter ``name``: this run's value, else the model's default."""
        return self.params.get(name, neurons.get(self.model).params[name].default)


@dataclass
class TrainConfig:
    epochs: int = option(20, "--epochs", "training epochs", parse=int, range=(0, 100000))
    batch_size: int = option(64, "--batch-size", "samples per training step", parse=int, range=(1, 65536))
    lr: float = option(
        2e-3,
        "--lr",
        "learning rate",
        parse=float,
        range=(0.0, 10.0),
        lo_open=True,
        what="a positive, finite learning rate such as 2e-3",
    )
    seed: int = option(
        0, "--seed", "seed of the weights' initialisation and the batch order", parse=int, range=(0, 2**32 - 1)
    )
    prune: float = option(
        0.0,
        "--prune",
        "global magnitude pruning: the fraction of weights set to zero",
        parse=float,
        range=(0.0, 1.0),
        what="a fraction in [0, 1)",
        axis=True,
    )
    prune_mode: str = option(
        "cumulative",
        "--prune-mode",
        "cumulative (prune, then quantize) or joint (both at once)",
        choices=PRUNE_MODES,
        axis=True,
    )
    calibration_batches: int = option(8, range=(1, 10000))  # PTQ: batches used to calibrate
    device: str = option(
        "auto",
        "--device",
        "where torch trains and evaluates: auto (CUDA when torch sees a GPU, else the CPU), cpu, cuda, cuda:N; a "
        "sweep or search with cuda spreads its points over the visible GPUs, one per GPU at a time, and with "
        "cuda:N shares GPU N",
        parse=argtypes.device,
    )
    init_from: str | None = option(
        None,
        "--init-from",
        "QAT: start from this float run's weights (same layers, neurons and data) instead of at random",
        metavar="RUN_DIR",
    )


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
            if f.name == "neuron" and "alpha" in sub:  # a config from before models declared their parameters
                alpha, model = sub.pop("alpha"), neurons.REGISTRY.get(sub.get("model", "lif"))
                if model is not None and "alpha" in model.params:
                    sub["params"] = sub.get("params") or {"alpha": alpha}
            known = {g.name for g in dataclasses.fields(f.default_factory)}
            unknown = set(sub) - known
            if unknown:
                raise QsnnError(
                    f"config section '{f.name}' has unknown keys {sorted(unknown)}; known keys: {sorted(known)}"
                )
            for g in dataclasses.fields(f.default_factory):  # JSON gives lists for the tuple-valued fields
                if isinstance(g.default, tuple) and isinstance(sub.get(g.name), list):
                    sub[g.name] = tuple(sub[g.name])
            sections[f.name] = f.default_factory(**sub)
        cfg = cls(**sections)
        cfg.validate()
        return cfg

    def validate(self) -> RunConfig:
        """The fields' declared checks (``option``), then the ones that relate fields."""
        for section in dataclasses.fields(self):
            sub = getattr(self, section.name)
            for f in dataclasses.fields(sub):
                check_field(section.name, f, getattr(sub, f.name))
        d, m, q, n, t = self.data, self.model, self.quant, self.neuron, self.train
        from toolchain.data import get as get_dataset

        temporal = getattr(get_dataset(d.dataset), "TEMPORAL", False)
        if temporal and d.encoding == "direct":  # the default: event data are spike frames already
            d.encoding = "events"
        if temporal != (d.encoding == "events"):
            raise QsnnError(
                f"--encoding {d.encoding} with --dataset {d.dataset}: "
                + (
                    "an event dataset's input is its own spike frames; use --encoding events (its default)"
                    if temporal
                    else "--encoding events needs an event dataset (shd, nmnist, dvsgesture, ...)"
                )
            )
        if not d.snrs or any(not isinstance(v, int) or isinstance(v, bool) or not -40 <= v <= 40 for v in d.snrs):
            raise QsnnError(f"--snrs {d.snrs!r} is invalid; give SNRs in dB (-40..40) like 0,6,12")
        if not m.hidden or any(not isinstance(h, int) or isinstance(h, bool) or h < 1 or h > 65536 for h in m.hidden):
            raise QsnnError(f"--hidden {m.hidden!r} is invalid; give positive sizes up to 65536 like 128,64")
        if m.arch == "mlp" and sum(a * b for a, b in zip(m.hidden, m.hidden[1:])) > MAX_WEIGHTS:
            raise QsnnError(
                f"--hidden {','.join(map(str, m.hidden))} needs more than {MAX_WEIGHTS:,} weights between "
                "hidden layers alone (tens of GB to train); choose smaller layers"
            )
        if any(not isinstance(h, int) or isinstance(h, bool) or h < 1 or h > 65536 for h in m.fc):
            raise QsnnError(f"--fc {m.fc!r} is invalid; give positive dense sizes up to 65536 like 64")
        check_layout(m.layout())
        recurrent = any(spec[0] == "dense" and spec[2:] for spec in m.layout())  # an rN layer
        if recurrent and q.weight_bits == 1:
            raise QsnnError(
                "recurrent layers need 2+ weight bits (their V is quantized as W; binary weights have no 0)"
            )
        if recurrent and not m.spiking:
            raise QsnnError("--non-spiking runs each layer once, without time steps: it has no recurrent layers")
        if m.recurrent and m.arch != "mlp" and not m.layers:
            raise QsnnError("--recurrent makes the hidden layers of --arch mlp recurrent; in --layers use rN tokens")
        if m.arch == "mlp" and (m.pool != 1 or m.fc) and not m.layers:
            raise QsnnError("--pool and --fc shape conv networks; with --arch mlp give the layers in --hidden")
        if not m.spiking and self.quantized:
            raise QsnnError("--non-spiking trains the float ReLU reference; use it with --weight-bits float")
        if q.weight_bits is not None and q.membrane_bits is None:
            raise QsnnError("quantized weights need --membrane-bits (an integer in 2..32)")
        if q.membrane_shift != 0 and (q.membrane_bits is None or q.membrane_bits == "auto"):
            raise QsnnError(
                "--membrane-shift sets the membrane's unit for a chosen width: give --membrane-bits B (an integer) "
                "and quantized weights"
            )
        declared = neurons.get(n.model).params
        if not isinstance(n.params, dict) or set(n.params) - set(declared):
            extra = sorted(set(n.params) - set(declared)) if isinstance(n.params, dict) else n.params
            raise QsnnError(
                f"neuron model {n.model!r} has no parameter {', '.join(map(str, extra))}; its parameters: "
                f"{', '.join(declared) or 'none'}"
            )
        for name, value in n.params.items():
            prm = declared[name]
            _float_range(f"--{name.replace('_', '-')}", value, prm.lo, prm.hi, f"a number in {prm.lo:g}..{prm.hi:g}")
        check_spec(t.device)
        if t.init_from is not None and (not self.quantized or q.scheme != "qat" or t.prune > 0):
            raise QsnnError(
                "--init-from starts quantization-aware training from a float run: use it with --weight-bits 1..16, "
                "--scheme qat and no --prune"
            )
        if t.prune >= 1.0:
            raise QsnnError(f"--prune {t.prune} is out of range; use a fraction in [0, 1)")
        return self
