"""QuantLIF: a layer of neurons whose state and parameters are quantized, for training.

The update is the neuron model's own ``step`` (toolchain/golden/neurons), written once over an ``ops`` object;
three modes:

- float (the unquantized baseline): the model's ``float_step``, real parameters, no saturation;
- QAT (float tensors holding integers): the integer update with straight-through estimators for floor/round and
  a fast-sigmoid surrogate gradient for the spike (``TorchOps``);
- integer (int64 tensors): the integer update exactly, the golden model's arithmetic on tensors.

In the quantized modes the membrane is counted in units of ``s * 2^k`` (``s`` the real value of one unit of
the synaptic integer I, ``k`` the membrane shift, 0 unless ``--membrane-shift`` is set), so
``theta_int = R(theta / (s 2^k))`` and ``V_real = s 2^k V``; the model's step then sees R(I[t], k).
"""

from __future__ import annotations

import copy
import dataclasses

import torch
from torch import nn

from toolchain.golden import MAX_INPUT_SHIFT, NeuronParams, hash_table, neurons
from toolchain.golden.neurons import quantize_scalar

SURROGATE_SLOPE = 5.0


class _Spike(torch.autograd.Function):
    """Heaviside forward, fast-sigmoid derivative 1 / (1 + k|x|)^2 backward (Zenke & Ganguli)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return (x >= 0).to(x.dtype)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad / (1.0 + SURROGATE_SLOPE * x.abs()) ** 2


def floor_ste(x):
    return x + (torch.floor(x) - x).detach()


def shr(x, k: int):
    """Arithmetic right shift: floor(x / 2^k); straight-through on float tensors."""
    if x.dtype.is_floating_point:
        return floor_ste(x / (1 << k))
    return x >> k


def round_shift(x, frac_bits: int, rounding: str, r=None):
    """R(x, F) of DESIGN.md on tensors (float holding integers, or int64)."""
    if rounding == "floor":
        return shr(x, frac_bits)
    if rounding == "nearest":
        return shr(x + (1 << (frac_bits - 1)), frac_bits)
    return shr(x + r, frac_bits)


class TorchOps:
    """The neuron models' arithmetic on tensors (toolchain/golden/neurons): exact on int64 tensors; on float tensors
    holding integers (QAT) straight-through rounding and the surrogate spike. ``dtype``: the tensors' dtype."""

    def __init__(self, dtype):
        self.dtype = dtype
        self.clipped = 0  # updates where sat_B clipped (counted when ``count`` is set)
        self.count = False

    round_shift = staticmethod(round_shift)
    shr = staticmethod(shr)

    def clip(self, x, lo, hi):
        if self.count:
            self.clipped += int(((x < lo) | (x > hi)).sum())
        return torch.clamp(x, lo, hi)

    def fire(self, u, threshold):
        if u.dtype.is_floating_point:
            return _Spike.apply((u - threshold) / threshold)
        return (u >= threshold).to(u.dtype)

    def bits(self, h, low: int, n: int):
        return ((h >> low) & ((1 << n) - 1)).to(self.dtype)


def real_beta(neuron) -> float:
    """The real decay of a NeuronConfig's leak (1 for none, 1 - 2^-k for shift)."""
    return {"none": 1.0, "shift": 1.0 - 2.0**-neuron.leak_shift, "beta": neuron.beta}[neuron.leak]


class QuantLIF(nn.Module):
    """A layer of neurons of the configured model (toolchain/golden/neurons) over (N, T, ...) synaptic input;
    parameters quantized from real values. The integer update is the model's own ``step``, the golden model's.

    Args:
        neuron: NeuronConfig (model, threshold, leak, beta, beta_frac_bits, leak_shift, reset, alpha).
        model: the neuron model's name if not ``neuron.model`` (the LI readout layer of ``--readout membrane``).
        membrane_bits: signed membrane width B, or None for the float baseline.
        rounding: floor | nearest | stochastic, for theta/beta quantization and the leak product.
        seed: seed of the stochastic-rounding hash for this layer.
    """

    def __init__(
        self, neuron, membrane_bits: int | None, rounding: str, seed: int, membrane_shift=0, model=None, channels=0
    ):
        super().__init__()
        self.neuron = neuron
        self.model = neurons.get(model or neuron.model, "--neuron")  # ``model``: another than neuron.model (LI)
        # --per-neuron: a learned real threshold, beta and the model's own decays (CubaLIF's alpha) per channel
        # (per neuron of a dense layer)
        self.theta = self.beta = None
        self.decays = nn.ParameterDict()
        if neuron.per_neuron:
            if channels < 1:
                raise ValueError("per-neuron parameters need the layer's channel count")
            if self.model.spiking:
                self.theta = nn.Parameter(torch.full((channels,), float(neuron.threshold)))
            if neuron.leak == "beta":
                self.beta = nn.Parameter(torch.full((channels,), float(neuron.beta)))
            for name in self.model.decays:
                self.decays[name] = nn.Parameter(torch.full((channels,), float(neuron.param(name))))
        self.membrane_bits = membrane_bits
        self.membrane_shift = membrane_shift  # k, or "auto": the least k whose threshold fits the membrane
        self.rounding = rounding
        self.seed = seed
        self.threshold_clamped = False
        self.threshold_overflow = False
        self._hashes = {}

    def params(self, scale: float) -> NeuronParams:
        """Integer parameters at accumulator scale ``scale``.

        The integer threshold is clamped to [1, V_max] (flagged in ``threshold_clamped``); a threshold
        that overflows the membrane at the start of training is an error (train.check_thresholds).
        """
        n, b = self.neuron, self.membrane_bits
        k = self.shift(scale)
        theta = quantize_scalar(n.threshold / (scale * 2.0**k), self.rounding, self.seed ^ 0x5EED)
        if not self.model.spiking:
            theta = 1  # a readout (LI) has no threshold; 1 keeps the field in range
        v_max = (1 << (b - 1)) - 1
        self.threshold_clamped = theta > v_max
        self.threshold_overflow = theta > v_max
        if theta < 1:
            self.threshold_clamped, theta = True, 1
        theta = min(theta, v_max)
        one = 1 << n.beta_frac_bits
        beta_int = min(quantize_scalar(n.beta * one, self.rounding, self.seed ^ 0xBE7A), one) if n.leak == "beta" else 0
        thresholds = beta_ints = ()
        if self.theta is not None or self.beta is not None:
            with torch.no_grad():
                raw, thetas, betas = self.vectors(scale, k)
            if thetas is not None:
                thresholds = tuple(int(v) for v in thetas.round().long())
                theta = thresholds[0]
                self.threshold_overflow = bool((raw > v_max).any())
                self.threshold_clamped = self.threshold_overflow or bool((raw < 1).any())
            if betas is not None:
                beta_ints = tuple(int(v) for v in betas.round().long())
        extra = self.model.quantize(n, self.rounding, self.seed)
        with torch.no_grad():
            extra |= {vec: tuple(int(v) for v in ints.round().long()) for vec, ints in self.decay_vectors().items()}
        return NeuronParams(
            membrane_bits=b,
            threshold=theta,
            leak_mode=n.leak,
            leak_shift=n.leak_shift,
            beta_int=beta_int,
            beta_frac_bits=n.beta_frac_bits,
            rounding=self.rounding,
            seed=self.seed,
            reset=n.reset,
            input_shift=k,
            neuron_model=self.model.name,
            extra=extra,
            thresholds=thresholds,
            beta_ints=beta_ints,
        )

    def _quantize(self, x, salt: int):
        """R(x) of a parameter vector by the run's rounding, straight-through: the integers quantize_scalar gives
        element by element (stochastic: draw i of the seeded hash), with x's gradient."""
        lo = torch.floor(x)
        if self.rounding == "floor":
            q = lo
        elif self.rounding == "nearest":
            q = torch.floor(x + 0.5)
        else:
            u = torch.from_numpy(hash_table(self.seed ^ salt, 1, x.numel())[0].astype("float64") / 2.0**32)
            q = lo + (u.to(x.device, x.dtype) < x - lo).to(x.dtype)
        return x + (q - x).detach()

    def vectors(self, scale: float, k: int):
        """The per-neuron parameters at accumulator scale ``scale`` and shift k, straight-through: (the unclamped
        integer thresholds, the thresholds clamped to [1, V_max], beta_int in [0, 2^F]); None where per-layer."""
        raw = thetas = betas = None
        if self.theta is not None:
            raw = self._quantize(self.theta / (scale * 2.0**k), 0x5EED)
            thetas = torch.clamp(raw, 1, (1 << (self.membrane_bits - 1)) - 1)
        if self.beta is not None:
            one = 1 << self.neuron.beta_frac_bits
            betas = torch.clamp(self._quantize(torch.clamp(self.beta, 0, 1) * one, 0xBE7A), 0, one)
        return raw, thetas, betas

    def decay_vectors(self) -> dict:
        """The model's own per-channel decays as integers in [0, 2^F], straight-through: {vector: tensor}
        (CubaLIF's alpha_ints), as the model quantizes its scalar (``quantize``: R(alpha 2^F), salt 0xA1FA)."""
        one = 1 << self.neuron.beta_frac_bits
        return {
            self.model.decays[name]: torch.clamp(self._quantize(torch.clamp(real, 0, 1) * one, 0xA1FA), 0, one)
            for name, real in self.decays.items()
        }

    def _per_neuron(self, p: NeuronParams, size: int, current, scale: float) -> NeuronParams:
        """p with threshold and beta_int as tensors over the ``size`` neurons: exact integers in integer mode,
        straight-through (learned) in QAT."""
        if current.dtype.is_floating_point:
            _, thetas, betas = self.vectors(scale, p.input_shift)
            p = copy.copy(p)
            vectors = {p.vectors[vec]: ints for vec, ints in self.decay_vectors().items()}  # alpha_int: ...
            for name, vec in (("threshold", thetas), ("beta_int", betas), *vectors.items()):
                if vec is not None:
                    setattr(p, name, vec.to(current.dtype).repeat(size // vec.numel()))
            return p
        return p.expanded(size, const=lambda a: torch.from_numpy(a).to(current.device))

    def shift(self, scale: float) -> int:
        """k of R(I, k): the membrane counts 2^k accumulator units. ``auto``: the least k at which the threshold
        fits the membrane with one bit of headroom (range +-2 theta), as ``--membrane-bits auto`` picks a width."""
        if self.membrane_shift != "auto":
            return int(self.membrane_shift)
        units = max(1, round(self.neuron.threshold / scale))
        return min(MAX_INPUT_SHIFT, max(0, units.bit_length() + 2 - self.membrane_bits))

    def hashes(self, p: NeuronParams, steps: int, size: int, device):
        """golden.hash_table as an int64 tensor (T, size), cached on ``device`` (one copy to a GPU, not one per
        batch): the models take their rounding offsets' bits."""
        key = (p.seed, steps, size, str(device))
        if key not in self._hashes:
            self._hashes[key] = torch.from_numpy(hash_table(p.seed, steps, size).astype("int64")).to(device)
        return self._hashes[key]

    def forward(self, current: torch.Tensor, scale: float = 1.0, saturation: bool = False, recurrent=None):
        """current: (N, T, ...) synaptic input (accumulator units when quantized) -> spikes.

        ``recurrent``: a recurrent layer's V s[t-1] from s[t-1] (N, n), added to each step's input before the input
        shift (golden.run_neurons). With ``saturation`` also returns the fraction of updates where sat_B clipped L + I.
        """
        if self.membrane_bits is None:
            return self._forward_float(current, recurrent)
        p = self.params(scale)
        shape = current.shape
        flat = current.reshape(shape[0], shape[1], -1)
        ops = TorchOps(current.dtype)
        h = self.hashes(p, shape[1], flat.shape[2], current.device) if p.rounding == "stochastic" else None
        if p.per_neuron:
            p = self._per_neuron(p, flat.shape[2], current, scale)
        state = {name: torch.zeros_like(flat[:, 0]) for name in p.model.states}
        ops.count = saturation
        out = []
        for t in range(shape[1]):
            drive = flat[:, t : t + 1]
            if recurrent is not None and t > 0:
                drive = drive + recurrent(out[-1])[:, None]
            if p.input_shift:
                drive = neurons.shift_input(drive, p, None if h is None else h[t : t + 1], ops)
            out.append(p.model.step(state, drive[:, 0], p, None if h is None else h[t], ops))
        out = torch.stack(out, dim=1).reshape(shape)
        return (out, ops.clipped / max(1, flat.numel())) if saturation else out

    def _forward_float(self, current, recurrent=None):
        shape = current.shape
        flat = current.reshape(shape[0], shape[1], -1)
        state = {name: torch.zeros_like(flat[:, 0]) for name in self.model.states}
        n, beta, size = self.neuron, real_beta(self.neuron), flat.shape[2]
        if self.theta is not None:
            n = dataclasses.replace(n, threshold=self.theta.repeat(size // self.theta.numel()))
        if self.beta is not None:
            beta = torch.clamp(self.beta, 0, 1).repeat(size // self.beta.numel())
        if len(self.decays):
            own = {name: torch.clamp(v, 0, 1).repeat(size // v.numel()) for name, v in self.decays.items()}
            n = dataclasses.replace(n, params={**n.params, **own})
        out = []
        for t in range(shape[1]):
            drive = flat[:, t] if recurrent is None or t == 0 else flat[:, t] + recurrent(out[-1])
            out.append(self.model.float_step(state, drive, n, beta, _Spike.apply))
        return torch.stack(out, dim=1).reshape(shape)
