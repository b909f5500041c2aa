"""The integer parameters of one layer of neurons (any registered model): the QONNX op's attributes."""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, field

import numpy as np

from . import neurons
from .errors import QsnnError
from .modes import LEAK, RESET, ROUNDING

MAX_INPUT_SHIFT = 16  # the stochastic offset of R(I, k) is the top k bits of the hash, disjoint from the leak's


@dataclass
class NeuronParams:
    """Integer neuron parameters of one layer; the field names are the QONNX LIF op's attributes.

    ``neuron_model`` names a registered model (toolchain/golden/neurons); its own attributes (e.g. CubaLIF's
    ``alpha_int``) live in ``extra`` and read as attributes: ``p.alpha_int``.
    """

    membrane_bits: int
    threshold: int
    leak_mode: str = "none"
    leak_shift: int = 1
    beta_int: int = 0
    beta_frac_bits: int = 8
    rounding: str = "floor"
    seed: int = 0
    reset: str = "subtract"
    # k: the membrane counts 2^k accumulator units; the synaptic input is rounded by R(I, k) before it is added
    input_shift: int = 0
    neuron_model: str = "lif"
    extra: dict = field(default_factory=dict)
    # per-neuron values (one per channel: a conv layer's pixels share their channel's), or () for the scalar above
    thresholds: tuple = ()
    beta_ints: tuple = ()

    def __getattr__(self, name):  # only called for names that are not fields: the model's own attributes
        extra = self.__dict__.get("extra")
        if extra is not None and name in extra:
            return extra[name]
        raise AttributeError(f"NeuronParams has no attribute {name!r}")

    @classmethod
    def from_attrs(cls, values: dict) -> NeuronParams:
        """From a flat mapping of attributes (QONNX node, golden.npz header): the model's own go to ``extra``.
        Another model's attribute at its default is dropped (files written before the registry list them all);
        any other unknown one is kept, so that validate() refuses it by name."""
        fields = cls.__dataclass_fields__
        known = {k: v for k, v in values.items() if k in fields and k != "extra"}
        for k in ("thresholds", "beta_ints"):  # lists in JSON, repeated ints in ONNX
            if k in known:
                known[k] = tuple(int(v) for v in known[k])
        extra = {**values.get("extra", {}), **{k: v for k, v in values.items() if k not in fields}}
        models = neurons
        model = models.get(known.get("neuron_model", "lif"), "neuron_model")
        defaults = {k: d for m in models.REGISTRY.values() for k, d in m.attrs.items() if k not in model.attrs}
        extra = {k: v for k, v in extra.items() if not (k in defaults and v == defaults[k])}
        return cls(**known, extra={**model.attrs, **extra})

    @property
    def model(self):
        """The registered neuron model (toolchain/golden/neurons)."""
        return neurons.get(self.neuron_model, "neuron_model")

    def validate(self, where: str = "LIF") -> NeuronParams:
        """Raise QsnnError naming ``where`` and the attribute if any value is out of range."""
        b = self.membrane_bits
        if not isinstance(b, int) or not 2 <= b <= 32:
            raise QsnnError(f"{where}: membrane_bits={b!r} is out of range; use 2..32")
        hi = (1 << (b - 1)) - 1
        for theta in self.thresholds or (self.threshold,):
            if not isinstance(theta, int) or not 1 <= theta <= hi:
                raise QsnnError(
                    f"{where}: threshold={theta} does not fit a {b}-bit membrane (1..{hi}); "
                    f"raise membrane_bits to at least {max(2, int(theta).bit_length() + 1)} "
                    "or lower the threshold"
                )
        for modes in (LEAK, ROUNDING, RESET):
            modes.check(getattr(self, modes.attr), where)
        model = neurons.get(self.neuron_model, f"{where}: neuron_model")
        unknown = sorted(set(self.extra) - set(model.attrs))
        if unknown:
            raise QsnnError(f"{where}: neuron model {model.name} has no attribute {', '.join(unknown)}")
        if not isinstance(self.input_shift, int) or not 0 <= self.input_shift <= MAX_INPUT_SHIFT:
            raise QsnnError(f"{where}: input_shift={self.input_shift!r} is out of range; use 0..{MAX_INPUT_SHIFT}")
        if self.leak_mode == "shift" and not 1 <= self.leak_shift <= 31:
            raise QsnnError(f"{where}: leak_shift={self.leak_shift} is out of range; use 1..31")
        f = self.beta_frac_bits
        if self.leak_mode == "beta":
            if not 1 <= f <= 16:
                raise QsnnError(f"{where}: beta_frac_bits={f} is out of range; use 1..16")
            for beta in self.beta_ints or (self.beta_int,):
                if not isinstance(beta, int) or not 0 <= beta <= (1 << f):
                    raise QsnnError(f"{where}: beta_int={beta} is out of range; use 0..{1 << f}")
        elif self.beta_ints:
            raise QsnnError(f"{where}: beta_ints are per-neuron decays of leak_mode beta, not {self.leak_mode}")
        model.validate(self, where)
        return self

    def attrs(self) -> dict:
        """The flat attributes (QONNX node, golden.npz header): the fields and the model's own."""
        out = {k: v for k, v in asdict(self).items() if k != "extra"}
        out.update(thresholds=[int(v) for v in self.thresholds], beta_ints=[int(v) for v in self.beta_ints])
        return out | dict(self.extra)

    @property
    def per_neuron(self) -> bool:
        return bool(self.thresholds or self.beta_ints)

    def channels_ok(self, channels: int) -> bool:
        """Whether the per-neuron vectors have one value per channel of a layer of ``channels`` channels."""
        return all(len(v) in (0, channels) for v in (self.thresholds, self.beta_ints))

    def expanded(self, size: int, const=np.asarray) -> NeuronParams:
        """A copy for running ``size`` neurons: per-neuron threshold and beta_int as vectors over the neurons
        (channel c of a conv layer's channels-last pixels at i mod C), made by ``const`` (numpy, or a tensor
        maker for training); unchanged without per-neuron values."""
        if not self.per_neuron:
            return self
        out = copy.copy(self)
        for name, vec in (("threshold", self.thresholds), ("beta_int", self.beta_ints)):
            if vec:
                if size % len(vec):
                    raise QsnnError(f"{len(vec)} per-neuron {name} values do not tile a layer of {size} neurons")
                setattr(out, name, const(np.tile(np.asarray(vec, dtype=np.int64), size // len(vec))))
        return out

    @property
    def v_min(self) -> int:
        return -(1 << (self.membrane_bits - 1))

    @property
    def v_max(self) -> int:
        return (1 << (self.membrane_bits - 1)) - 1
