"""LI: the leaky integrator, a readout layer that never spikes (NIR's ``LI``); its output is its membrane.

    V[t] = sat_B(leak(V[t-1]) + I[t])        leak as LIF's: none | shift | beta (R(V * beta_int, F))
    out[t] = V[t]                            V[-1] = 0; no threshold, no reset

With ``--readout membrane`` the classifier layer is LI and the prediction is the argmax of V[T-1]. In hardware
the layer streams its B-bit membrane (``out_bits`` = B) instead of spikes.
"""

from __future__ import annotations

from .base import NeuronModel, leak, register


@register
class LIModel(NeuronModel):
    __doc__ = __doc__
    name = "li"
    spiking = False
    nir = ("LI",)
    hls_header = "li.hpp"
    hls_struct = "LINeuron"

    def step(self, state, x, p, h, ops):
        state["membrane"] = ops.clip(leak(state["membrane"], p, h, ops) + x, p.v_min, p.v_max)
        return state["membrane"]

    def float_step(self, state, x, n, beta, spike):
        state["membrane"] = beta * state["membrane"] + x
        return state["membrane"]

    def lut_per_lane(self, p):
        """No threshold compare (B / 2) and no reset (B) in the LIF datapath's estimate."""
        return -((p.membrane_bits + 1) // 2 + p.membrane_bits)

    def out_bits(self, p):
        return p.membrane_bits

    def rtl_parameters(self, p):
        return {"CUBA": 0, "ALPHA_INT": 0, "OUT_BITS": p.membrane_bits}
