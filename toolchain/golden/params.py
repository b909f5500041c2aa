"""The integer parameters of one layer of neurons (any registered model): the QONNX op's attributes."""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, field

import numpy as np

from . import neurons
from .errors import QsnnError
from .modes import LEAK, RESET, ROUNDING

MAX_INPUT_SHIFT = 16  # the stochastic offset of R(I, k) is the top k bits of the hash, disjoint from the leak's
# the per-neuron vectors every model has, {vector: the scalar it replaces}; a model adds its own (NeuronModel.vectors)
VECTORS = {"thresholds": "threshold", "beta_ints": "beta_int"}


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
        model = neurons.REGISTRY.get(self.__dict__.get("neuron_model"))
        if model is not None and name in model.attrs:  # not given: the model's default
            return model.attrs[name]
        raise AttributeError(f"NeuronParams has no attribute {name!r}")

    @classmethod
    def from_attrs(cls, values: dict) -> NeuronParams:
        """From a flat mapping of attributes (QONNX node, golden.npz header): the model's own go to ``extra``.
        Another model's attribute at its default is dropped (files written before the registry list them all);
        any other unknown one is kept, so that validate() refuses it by name."""
        fields = cls.__dataclass_fields__
        models = neurons
        vectors = set(VECTORS) | {k for m in models.REGISTRY.values() for k in m.vectors}
        values = {**values.get("extra", {}), **{k: v for k, v in values.items() if k != "extra"}}
        values = {k: tuple(int(x) for x in v) if k in vectors else v for k, v in values.items()}  # JSON/ONNX lists
        known = {k: v for k, v in values.items() if k in fields}
        extra = {k: v for k, v in values.items() if k not in fields}
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
        """The flat attributes (QONNX node, golden.npz header): the fields and the model's own; vectors as lists."""
        out = {k: v for k, v in asdict(self).items() if k != "extra"} | dict(self.extra)
        return out | {k: [int(v) for v in getattr(self, k)] for k in self.vectors}

    @property
    def vectors(self) -> dict[str, str]:
        """The per-neuron vectors this layer's model has, {vector: the scalar it replaces}: thresholds, beta_ints
        and the model's own (CubaLIF's alpha_ints)."""
        return VECTORS | self.model.vectors

    def vector_bits(self, vector: str) -> int:
        """Bits of one entry of a per-neuron vector in hardware: B for a threshold, F + 2 for a decay (beta_int,
        alpha_int in 0..2^F, signed)."""
        return self.membrane_bits if vector == "thresholds" else self.beta_frac_bits + 2

    @property
    def per_neuron(self) -> bool:
        return any(getattr(self, k) for k in self.vectors)

    def channels_ok(self, channels: int) -> bool:
        """Whether the per-neuron vectors have one value per channel of a layer of ``channels`` channels."""
        return all(len(getattr(self, k)) in (0, channels) for k in self.vectors)

    def expanded(self, size: int, const=np.asarray) -> NeuronParams:
        """A copy for running ``size`` neurons: each per-neuron vector (thresholds, beta_ints, alpha_ints) replaces
        its scalar by a vector over the neurons (channel c of a conv layer's channels-last pixels at i mod C), made
        by ``const`` (numpy, or a tensor maker for training); unchanged without per-neuron values."""
        if not self.per_neuron:
            return self
        out = copy.copy(self)
        for vector, name in self.vectors.items():
            if vec := getattr(self, vector):
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
