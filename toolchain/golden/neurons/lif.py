"""LIF: the leaky integrate-and-fire neuron of DESIGN.md (IF is its ``leak_mode`` none).

    L    = leak(V[t-1])        none: V | shift: V - (V >> k) | beta: R(V * beta_int, F)
    U    = sat_B(L + I[t])     I[t] the synaptic input (after the membrane shift R(I, k))
    s[t] = U >= theta
    V[t] = U - theta (subtract) | 0 (zero) if s[t], else U;   V[-1] = 0

NIR: ``LIF`` (tau, r, v_leak = 0, v_threshold, v_reset) and ``IF`` (r, v_threshold, v_reset).
"""

from __future__ import annotations

from .base import NeuronModel, float_membrane, integrate_and_fire, register


@register
class LIFModel(NeuronModel):
    __doc__ = __doc__
    name = "lif"
    nir = ("LIF", "IF")
    hls_header = "lif.hpp"
    hls_struct = "LIFNeuron"

    def step(self, state, x, p, h, ops):
        return integrate_and_fire(state, x, p, h, ops)

    def float_step(self, state, x, n, beta, spike):
        return float_membrane(state, x, beta, n, spike)

    def rtl_parameters(self, p):
        return {"CUBA": 0, "ALPHA_INT": 0, "OUT_BITS": 1}
