"""``LIF_rtl``: the RTL backend of the LIF HW op (rtl_templates/lif). It only emits code (STYLE.md rule 1);
shapes, datatypes, estimates and the Python execution are the abstract op's."""

from __future__ import annotations

from finn.custom_op.fpgadataflow.rtlbackend import RTLBackend

from toolchain.custom_op.fpgadataflow.lif import LIF
from toolchain.custom_op.fpgadataflow.rtl import ProjectRTLBackend


class LIF_rtl(ProjectRTLBackend, LIF, RTLBackend):  # noqa: N801 - FINN's naming rule: <op>_rtl
    CORE = "lif"

    def get_nodeattr_types(self):
        attrs = LIF.get_nodeattr_types(self)
        attrs.update(RTLBackend.get_nodeattr_types(self))
        return attrs

    # -- estimates of the RTL core, calibrated against Yosys synth_xilinx (xc7) over a matrix -----------------
    #   mode, B, C, PE, memory -> Yosys LUT / DSP48E1 (this formula):
    #   beta nearest    16  64 16 lutram:     2088 / 32 (2088 / 32)
    #   beta nearest    16  10  5 registers:   739 / 10 (680 / 10)
    #   beta stochastic 12  32  4 lutram:      719 / 42 (744 / 40)
    #   shift           16  64  8 lutram:     1226 / 0  (1224 / 0)
    #   none             8  32  8 registers:   559 / 0  (552 / 0)
    #   beta floor      24 128  4 bram:        676 / 8  (808 / 8)
    #   Logic LUTs only: the membrane's LUTRAM cells are counted apart, as Yosys does. Yosys maps the constant
    #   products (beta, and the stochastic hash's fmix32 and index products) to DSP48E1 slices.
    LUT_PER_MEMBRANE_BIT = 8
    LUT_SHIFT_LEAK, LUT_STOCHASTIC, LUT_CONTROL = 20, 80, 40

    def lut_estimation(self, fpgapart=None):
        p = self.lif_params()
        lane = self.LUT_PER_MEMBRANE_BIT * p.membrane_bits
        lane += self.LUT_SHIFT_LEAK if p.leak_mode == "shift" else 0
        lane += self.LUT_STOCHASTIC if (p.leak_mode == "beta" and p.rounding == "stochastic") else 0
        return self.pe * lane + self.LUT_CONTROL

    def dsp_estimation(self, fpgapart=None):
        import math

        p = self.lif_params()
        if p.leak_mode != "beta":
            return 0
        lane = math.ceil((p.membrane_bits + p.beta_frac_bits + 3) / 25) + (9 if p.rounding == "stochastic" else 0)
        return self.pe * lane

    def execute_node(self, context, graph):
        return LIF.execute_node(self, context, graph)  # the whole network is simulated at once (toolchain.rtl)
