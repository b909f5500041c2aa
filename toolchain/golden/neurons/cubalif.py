"""CubaLIF: a LIF neuron driven by a synaptic current J (NIR's CubaLIF, snnTorch's Synaptic): two leaks.

    J[t] = sat_B(R(J[t-1] * alpha_int, F) + I[t])       J[-1] = 0, alpha = alpha_int / 2^F
                                                        (alpha_int per neuron: alpha_ints[c] of its channel c)
    then the LIF step with J[t] in place of I[t]:
    U    = sat_B(leak(V[t-1]) + J[t]);  s[t] = U >= theta;  V[t] = U - theta (subtract) | 0 (zero) if s[t], else U

J is a second B-bit state word per neuron. Stochastic rounding of the current takes bits [F, 2F) of the neuron's
hash (the leak takes [0, F), the input shift the top k). Float baseline: J = alpha J + I, U = beta V + J.
"""

from __future__ import annotations

from ..errors import QsnnError
from .base import NeuronModel, Param, float_membrane, integrate_and_fire, quantize_scalar, register


@register
class CubaLIFModel(NeuronModel):
    __doc__ = __doc__
    name = "cubalif"
    states = ("membrane", "current")
    attrs = {"alpha_int": 0, "alpha_ints": ()}
    vectors = {"alpha_ints": "alpha_int"}
    params = {"alpha": Param(0.5, 0.0, 1.0, "the synaptic current's decay, J <- alpha J + I")}
    decays = {"alpha": "alpha_ints"}
    nir = ("CubaLIF",)
    hls_header = "cubalif.hpp"
    hls_struct = "CubaLIFNeuron"

    def validate(self, p, where):
        f = p.beta_frac_bits
        if not 1 <= f <= 16:
            raise QsnnError(f"{where}: beta_frac_bits={f} is out of range; use 1..16")
        for alpha in p.alpha_ints or (p.alpha_int,):
            if not isinstance(alpha, int) or not 0 <= alpha <= (1 << f):
                raise QsnnError(f"{where}: alpha_int={alpha} is out of range; use 0..{1 << f}")
        if p.rounding == "stochastic" and 2 * f + p.input_shift > 32:
            raise QsnnError(
                f"{where}: stochastic rounding of a CubaLIF takes 2 x beta_frac_bits + input_shift bits of one "
                f"32-bit hash; {2 * f + p.input_shift} is too many (lower beta_frac_bits)"
            )

    def step(self, state, x, p, h, ops):
        f = p.beta_frac_bits
        r = None if h is None else ops.bits(h, f, f)
        j = ops.clip(ops.round_shift(state["current"] * p.alpha_int, f, p.rounding, r) + x, p.v_min, p.v_max)
        state["current"] = j
        return integrate_and_fire(state, j, p, h, ops)

    def sample_attrs(self, rng, frac_bits):
        return {"alpha_int": int(rng.integers(0, (1 << frac_bits) + 1))}

    def hash_bits(self, p):
        return 2 * p.beta_frac_bits

    def quantize(self, n, rounding, seed):
        one = 1 << n.beta_frac_bits
        return {"alpha_int": min(quantize_scalar(n.param("alpha") * one, rounding, seed ^ 0xA1FA), one)}

    def float_step(self, state, x, n, beta, spike):
        state["current"] = n.param("alpha") * state["current"] + x
        return float_membrane(state, state["current"], beta, n, spike)

    def rtl_parameters(self, p):
        return {"CUBA": 1, "ALPHA_INT": p.alpha_int, "OUT_BITS": 1}

    def lut_per_lane(self, p):
        """The current's decay product (shift-add for a constant alpha; per neuron, a (B + F) x (F + 2) array
        multiplier), its rounding, add and saturation."""
        b, f = p.membrane_bits, p.beta_frac_bits
        ones = f + 2 if p.alpha_ints else bin(p.alpha_int).count("1")
        return max(0, ones - 1) * (b + f) + (f if p.rounding != "floor" else 0) + 2 * b

    def param_bits(self, beta_frac_bits):
        return beta_frac_bits + 1  # alpha_int
