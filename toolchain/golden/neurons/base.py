"""What every neuron model shares: the registry, the fixed-point pieces of DESIGN.md's neuron and the
interface a model implements.

A model's update is written once, over an ``ops`` object, and serves both the golden integer model (numpy
int64, ``NUMPY``) and training (torch tensors: straight-through rounding and a surrogate spike, supplied by
toolchain.models.lif). Numpy only here: the board driver ships it inside the golden package.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..arith import hash_table
from ..errors import QsnnError

REGISTRY: dict[str, NeuronModel] = {}


@dataclass(frozen=True)
class Param:
    """A real-valued parameter a model declares (CubaLIF's alpha): the run config's ``neuron.params[name]``,
    the option ``--<name>`` of train, sweep and search (a sweep axis when given a list), range-checked."""

    default: float
    lo: float
    hi: float
    help: str  # range-checked by the run config (toolchain.config)


def register(cls):
    """Class decorator: make a model findable by its ``name`` (one instance per model). Models that declare a
    parameter of the same name share its option, so they must declare it alike."""
    if cls.name in REGISTRY:
        raise QsnnError(f"neuron model {cls.name!r} is registered twice")
    for other in REGISTRY.values():
        for key in set(cls.params) & set(other.params):
            if cls.params[key] != other.params[key]:
                raise QsnnError(f"neuron model {cls.name!r} declares parameter {key!r} unlike {other.name!r} does")
    REGISTRY[cls.name] = cls()
    return cls


def unregister(name: str) -> None:
    """Remove a model (tests that register one of their own)."""
    REGISTRY.pop(name, None)


def get(name: str, where: str = "neuron_model") -> NeuronModel:
    """The registered model ``name``, or a QsnnError naming ``where`` and the models there are."""
    if name not in REGISTRY:
        raise QsnnError(f"{where}={name!r} is not one of {', '.join(REGISTRY)}")
    return REGISTRY[name]


def names() -> tuple[str, ...]:
    return tuple(REGISTRY)


class NumpyOps:
    """The golden model's arithmetic: exact int64."""

    @staticmethod
    def round_shift(x, frac_bits: int, rounding: str, r=None):
        """R(x, F): floor, nearest (half up) or stochastic (offset r in [0, 2^F)) of x / 2^F."""
        if rounding == "floor":
            return x >> frac_bits
        if rounding == "nearest":
            return (x + (1 << (frac_bits - 1))) >> frac_bits
        return (x + r) >> frac_bits

    @staticmethod
    def shr(x, k: int):
        return x >> k

    @staticmethod
    def clip(x, lo: int, hi: int):
        return np.clip(x, lo, hi)

    @staticmethod
    def fire(u, threshold):
        return (u >= threshold).astype(np.int64)

    @staticmethod
    def bits(h, low: int, n: int):
        """Bits [low, low + n) of the hash row h (int64 holding uint32)."""
        return (h >> low) & ((1 << n) - 1)


NUMPY = NumpyOps()


def quantize_scalar(value: float, rounding: str, seed: int) -> int:
    """Round one real parameter (threshold, beta, alpha) to an integer by the run's rounding scheme.

    stochastic: one seeded draw, rounding up with probability equal to the fractional part.
    """
    lo = math.floor(value)
    frac = value - lo
    if rounding == "floor" or frac == 0.0:
        return int(lo)
    if rounding == "nearest":
        return int(math.floor(value + 0.5))
    u = int(hash_table(seed, 1, 1)[0, 0]) / 2.0**32
    return int(lo + (1 if u < frac else 0))


def shift_input(flat, p, h, ops):
    """R(I, k) of every input (N, T, size), k = input_shift, before any model's step: the membrane counts 2^k
    accumulator units. The stochastic offset is the top k bits of the neurons' hash rows h (T, size)."""
    k = p.input_shift
    r = None if h is None else ops.bits(h, 32 - k, k)
    return ops.round_shift(flat, k, p.rounding, r)


def leak(v, p, h, ops):
    """none: V | shift: V - (V >> k) | beta: R(V * beta_int, F), stochastic offset bits [0, F) of the hash."""
    if p.leak_mode == "none":
        return v
    if p.leak_mode == "shift":
        return v - ops.shr(v, p.leak_shift)
    r = None if h is None else ops.bits(h, 0, p.beta_frac_bits)
    return ops.round_shift(v * p.beta_int, p.beta_frac_bits, p.rounding, r)


def integrate_and_fire(state, drive, p, h, ops):
    """The membrane step every spiking model ends with; updates state["membrane"], returns the spikes:
    U = sat_B(leak(V) + drive);  s = U >= theta;  V = U - theta (subtract) | 0 (zero) if s, else U."""
    u = ops.clip(leak(state["membrane"], p, h, ops) + drive, p.v_min, p.v_max)
    s = ops.fire(u, p.threshold)
    state["membrane"] = u - p.threshold * s if p.reset == "subtract" else u * (1 - s)
    return s


def float_membrane(state, drive, beta: float, n, spike):
    """The float baseline's membrane step: U = beta V + drive (no saturation); spike(u) the surrogate spike."""
    u = beta * state["membrane"] + drive
    s = spike((u - n.threshold) / n.threshold)
    state["membrane"] = u - n.threshold * s if n.reset == "subtract" else u * (1 - s)
    return s


class NeuronModel:
    """One neuron model: its equations (the subclass's docstring), integer update, float update, parameters
    and the hooks the HLS kernel, the RTL core, the estimates and the memory count read.

    Attributes a subclass sets:
        name:     the registry key, the QONNX ``neuron_model`` attribute and ``--neuron`` value
        states:   its state variables, each a B-bit signed word per neuron, the membrane first
        attrs:    its own integer QONNX attributes beyond NeuronParams' fields: {name: default}; a tuple default
                  is a per-neuron vector (one value per channel, empty: the scalar for every neuron)
        vectors:  its per-neuron vectors among ``attrs``, {vector: the scalar attribute it replaces}
        params:   its own real-valued parameters {name: Param} (options and config; ``quantize`` makes attrs)
        decays:   those of ``params`` that are decays in [0, 1] quantized as R(value * 2^F) (like beta), learned per
                  channel with ``--per-neuron``: {param: the vector their integers go to}
        spiking:  False for a readout that outputs its membrane (LI), not spikes
        nir:      the NIR node types it imports
        hls_header: its update in hls_templates/neurons/ (a struct template ``qsnn::<hls_struct><Cfg>``)
    """

    name = ""
    states = ("membrane",)
    attrs: dict[str, int | tuple] = {}
    vectors: dict[str, str] = {}
    params: dict[str, Param] = {}
    decays: dict[str, str] = {}
    spiking = True
    nir: tuple[str, ...] = ()
    hls_header = ""
    hls_struct = ""

    # -- integer arithmetic ------------------------------------------------------------------------------
    def validate(self, p, where: str) -> None:
        """Raise QsnnError naming ``where`` and the attribute if a model attribute is out of range."""

    def step(self, state: dict, x, p, h, ops):
        """One time step: x the (shifted) synaptic input, h the neurons' hash row (None unless stochastic).
        Updates ``state`` in place; returns the spikes (or, for a non-spiking model, the membrane)."""
        raise NotImplementedError

    def hash_bits(self, p) -> int:
        """How many low bits of the 32-bit hash its stochastic roundings take (the input shift takes the top)."""
        return p.beta_frac_bits if p.leak_mode == "beta" else 0

    def sample_attrs(self, rng, frac_bits: int) -> dict:
        """Random values of its ``attrs`` in range (numpy Generator ``rng``), for the C-sim and RTL mode matrices."""
        return {}

    # -- training ----------------------------------------------------------------------------------------
    def quantize(self, n, rounding: str, seed: int) -> dict:
        """Its ``attrs`` as integers from the real NeuronConfig ``n`` (its params: ``n.param(name)``)."""
        return {}

    def float_step(self, state: dict, x, n, beta: float, spike):
        """The float baseline's step (real parameters of NeuronConfig ``n``, no saturation)."""
        raise NotImplementedError

    def out_bits(self, p) -> int:
        """Bits per neuron of the layer's output stream: 1 (a spike), or B for a readout's membrane."""
        return 1

    # -- hardware hooks ----------------------------------------------------------------------------------
    def rtl_parameters(self, p) -> dict[str, int] | None:
        """Parameters of the RTL core (rtl_templates/lif/hdl/qsnn_lif.v), or None if that core lacks the model."""
        return None

    def lut_per_lane(self, p) -> int:
        """LUTs per lane the model adds to the LIF datapath estimate (HLS formula of the LIF HW op)."""
        return 0

    def param_bits(self, beta_frac_bits: int) -> int:
        """Bits of the per-layer parameters it adds to the memory count (tinySNN Eq. 4)."""
        return 0
