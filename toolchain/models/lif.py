"""QuantLIF: a leaky integrate-and-fire layer whose state and parameters are quantized.

One step function serves three modes:

- float (the unquantized baseline): real-valued membrane, ``leak(V) = beta * V``, no saturation;
- QAT (float tensors holding integers): the DESIGN.md integer neuron, with straight-through
  estimators for floor/round and a fast-sigmoid surrogate gradient for the spike;
- integer (int64 tensors): the same neuron computed exactly, which must equal ``toolchain.golden``.

In the quantized modes the membrane is counted in units of ``s * 2^k`` (``s`` the real value of one unit of
the synaptic integer I, ``k`` the membrane shift, 0 unless ``--membrane-shift`` is set), so
``theta_int = R(theta / (s 2^k))`` and ``V_real = s 2^k V``:

    L = leak(V[t-1]);  U = sat_B(L + R(I[t], k));  s[t] = U >= theta;  V[t] = U - theta*s[t] (or 0 if zero-reset)
"""

from __future__ import annotations

import math

import torch
from torch import nn

from toolchain.golden import MAX_INPUT_SHIFT, LIFParams, hash_table, stochastic_offsets

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


def quantize_scalar(value: float, rounding: str, seed: int) -> int:
    """Round one real parameter (threshold, beta) to an integer by the run's rounding scheme.

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


def real_beta(neuron) -> float:
    """The real decay of a NeuronConfig's leak (1 for none, 1 - 2^-k for shift)."""
    return {"none": 1.0, "shift": 1.0 - 2.0**-neuron.leak_shift, "beta": neuron.beta}[neuron.leak]


class QuantLIF(nn.Module):
    """LIF neurons over (N, T, ...) synaptic input; parameters quantized from real values.

    Args:
        neuron: NeuronConfig (threshold, leak, beta, beta_frac_bits, leak_shift, reset).
        membrane_bits: signed membrane width B, or None for the float baseline.
        rounding: floor | nearest | stochastic, for theta/beta quantization and the leak product.
        seed: seed of the stochastic-rounding hash for this layer.
    """

    def __init__(self, neuron, membrane_bits: int | None, rounding: str, seed: int, membrane_shift=0):
        super().__init__()
        self.neuron = neuron
        self.membrane_bits = membrane_bits
        self.membrane_shift = membrane_shift  # k, or "auto": the least k whose threshold fits the membrane
        self.rounding = rounding
        self.seed = seed
        self.threshold_clamped = False
        self.threshold_overflow = False
        self._offsets = {}

    def params(self, scale: float) -> LIFParams:
        """Integer parameters at accumulator scale ``scale``.

        The integer threshold is clamped to [1, V_max] (flagged in ``threshold_clamped``); a threshold
        that overflows the membrane at the start of training is an error (train.check_thresholds).
        """
        n, b = self.neuron, self.membrane_bits
        k = self.shift(scale)
        theta = quantize_scalar(n.threshold / (scale * 2.0**k), self.rounding, self.seed ^ 0x5EED)
        v_max = (1 << (b - 1)) - 1
        self.threshold_clamped = theta > v_max
        self.threshold_overflow = theta > v_max
        if theta < 1:
            self.threshold_clamped, theta = True, 1
        theta = min(theta, v_max)
        one = 1 << n.beta_frac_bits
        beta_int = min(quantize_scalar(n.beta * one, self.rounding, self.seed ^ 0xBE7A), one) if n.leak == "beta" else 0
        alpha_int = 0
        if n.model == "cubalif":
            alpha_int = min(quantize_scalar(n.alpha * one, self.rounding, self.seed ^ 0xA1FA), one)
        return LIFParams(
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
            neuron_model=n.model,
            alpha_int=alpha_int,
        )

    def shift(self, scale: float) -> int:
        """k of R(I, k): the membrane counts 2^k accumulator units. ``auto``: the least k at which the threshold
        fits the membrane with one bit of headroom (range +-2 theta), as ``--membrane-bits auto`` picks a width."""
        if self.membrane_shift != "auto":
            return int(self.membrane_shift)
        units = max(1, round(self.neuron.threshold / scale))
        return min(MAX_INPUT_SHIFT, max(0, units.bit_length() + 2 - self.membrane_bits))

    def offsets(self, p: LIFParams, steps: int, size: int, device, frac_bits: int, low_bit: int = 0):
        """golden.stochastic_offsets as a cached tensor (the leak's: bits [0, F); the current's: [F, 2F); the
        input shift's: the top k)."""
        key = (p.seed, steps, size, frac_bits, low_bit)
        if key not in self._offsets:
            self._offsets[key] = torch.from_numpy(stochastic_offsets(p.seed, steps, size, frac_bits, low_bit))
        return self._offsets[key].to(device)

    def forward(self, current: torch.Tensor, scale: float = 1.0, saturation: bool = False):
        """current: (N, T, ...) synaptic input (accumulator units when quantized) -> spikes.

        With ``saturation`` also returns the fraction of updates where sat_B clipped L + I.
        """
        if self.membrane_bits is None:
            return self._forward_float(current)
        p = self.params(scale)
        shape = current.shape
        flat = current.reshape(shape[0], shape[1], -1)
        table = (shape[1], flat.shape[2], current.device)  # steps, neurons, device of the offset tables
        offsets = None
        if p.leak_mode == "beta" and p.rounding == "stochastic":
            offsets = self.offsets(p, *table, p.beta_frac_bits).to(current.dtype)
        if p.input_shift:
            r = None
            if p.rounding == "stochastic":
                r = self.offsets(p, *table, p.input_shift, 32 - p.input_shift).to(current.dtype)
            flat = round_shift(flat, p.input_shift, p.rounding, r)
        cuba = p.neuron_model == "cubalif"
        j_offsets = None
        if cuba and p.rounding == "stochastic":
            j_offsets = self.offsets(p, *table, p.beta_frac_bits, p.beta_frac_bits).to(current.dtype)
        v = torch.zeros_like(flat[:, 0])
        j = torch.zeros_like(flat[:, 0])
        spikes, clipped = [], 0
        for t in range(shape[1]):
            x = flat[:, t]
            if cuba:  # J = sat_B(R(J * alpha_int, F) + R(I, k))
                r = None if j_offsets is None else j_offsets[t]
                j = torch.clamp(round_shift(j * p.alpha_int, p.beta_frac_bits, p.rounding, r) + x, p.v_min, p.v_max)
                x = j
            raw = self._leak(v, p, None if offsets is None else offsets[t]) + x
            u = torch.clamp(raw, p.v_min, p.v_max)
            if saturation:
                clipped += int(((raw < p.v_min) | (raw > p.v_max)).sum())
            if u.dtype.is_floating_point:
                s = _Spike.apply((u - p.threshold) / p.threshold)
            else:
                s = (u >= p.threshold).to(u.dtype)
            v = u - p.threshold * s if p.reset == "subtract" else u * (1 - s)
            spikes.append(s)
        out = torch.stack(spikes, dim=1).reshape(shape)
        return (out, clipped / max(1, flat.numel())) if saturation else out

    @staticmethod
    def _leak(v, p: LIFParams, r):
        if p.leak_mode == "none":
            return v
        if p.leak_mode == "shift":
            return v - shr(v, p.leak_shift)
        return round_shift(v * p.beta_int, p.beta_frac_bits, p.rounding, r)

    def _forward_float(self, current):
        n = self.neuron
        beta = real_beta(n)
        shape = current.shape
        flat = current.reshape(shape[0], shape[1], -1)
        v = torch.zeros_like(flat[:, 0])
        j = torch.zeros_like(flat[:, 0])
        spikes = []
        for t in range(shape[1]):
            x = flat[:, t]
            if n.model == "cubalif":
                j = n.alpha * j + x
                x = j
            u = beta * v + x
            s = _Spike.apply((u - n.threshold) / n.threshold)
            v = u - n.threshold * s if n.reset == "subtract" else u * (1 - s)
            spikes.append(s)
        return torch.stack(spikes, dim=1).reshape(shape)
