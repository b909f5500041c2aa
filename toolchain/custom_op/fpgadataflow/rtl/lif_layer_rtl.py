"""``LIFLayer_rtl``: the RTL backend of the LIFLayer HW op (rtl_templates/lif). It only emits code (STYLE.md rule 1);
shapes, datatypes, estimates and the Python execution are the abstract op's."""

from __future__ import annotations

from finn.custom_op.fpgadataflow.rtlbackend import RTLBackend

from toolchain.custom_op.fpgadataflow.lif_layer import PIPELINE_DEPTH, LIFLayer
from toolchain.custom_op.fpgadataflow.rtl import ProjectRTLBackend
from toolchain.custom_op.layer_spec import recurrent_widths
from toolchain.custom_op.lif import read_recurrent


class LIFLayer_rtl(ProjectRTLBackend, LIFLayer, RTLBackend):  # noqa: N801 - FINN's naming rule: <op>_rtl
    CORE, ABSTRACT = "lif", LIFLayer

    # -- estimates of the RTL core, calibrated against Yosys synth_xilinx (xc7) over a matrix -----------------
    #   Fitted (least squares on the relative error) to 25 layers: digits networks 64-32-10 with beta / shift
    #   leaks, nearest / stochastic rounding, membranes of 10-16 bits, PE 1-16, and the 784-128-10 network's
    #   (12-bit shift leak, PE 16 in LUTRAM, PE 1 in BRAM); every one within 0.93..1.12 of Yosys.
    #   tests/test_rtl.py's matrix test checks a grid of them against Yosys. Per lane: 7.1 LUT per datapath bit,
    #   -10 for a shift leak (beta's product is a DSP, but its rounding logic is not), +80 for stochastic rounding
    #   (the hash's non-DSP part); a membrane kept in registers adds its read multiplexer, 0.46 LUT per bit per word
    #   (LUTRAM and BRAM reads cost no logic LUTs: LUTRAM cells are counted apart, as Yosys does). Yosys maps the
    #   constant products (beta, and the stochastic hash's fmix32 and index products) to DSP48E1 slices.
    LUT_PER_MEMBRANE_BIT = 7.1
    LUT_SHIFT_LEAK, LUT_STOCHASTIC, LUT_CONTROL = -10, 80, 31
    LUT_REGISTER_MUX_PER_BIT = 0.46

    #   The datapath is as wide as the wider of the membrane and the input (with an input shift the input is the
    #   wider: an 8-bit membrane on 17-bit accumulators measured 2089 LUT at PE 16, as the 16-bit one). CubaLIF's
    #   current adds about 2 LUT per membrane bit per lane (16 bits, PE 16: 2451 LUT, this formula 2728).
    LUT_PER_CURRENT_BIT = 2
    #   Per-neuron threshold, beta and alpha (ROMs read like the bias, a variable compare, reset and beta product) add
    #   about 2 LUT per lane per ROM bit (digits 64-128-10, PE 16 / 5: +856 / +165 LUT measured, +832 / +260 here).
    LUT_PER_NEURON_PARAM_BIT = 2

    #   A recurrent layer's input stage (qsnn_recurrent): its V ROM in LUTs (64 words per LUT6 per bit), an adder per
    #   lane, and the spike registers of two steps with their muxes (C 32, PE 1, 4-bit V: 212 LUT measured, 188 here).
    LUT_REC_CONTROL, LUT_REC_PER_NEURON = 60, 1.5

    def recurrent_luts(self) -> int:
        import math

        v = read_recurrent(self, self.neurons)
        if v is None:
            return 0
        c, nf = self.channels, self.channels // self.pe
        v_bits, sum_bits = recurrent_widths(v)
        rom = math.ceil(nf * c / 64) * self.pe * v_bits
        lanes = 2 * self.pe * max(self.get_input_datatype(0).bitwidth() + 1, sum_bits + 1)
        return int(rom + lanes + self.LUT_REC_CONTROL + self.LUT_REC_PER_NEURON * c)

    def get_exp_cycles(self):
        """A recurrent layer's input stage takes CHANNELS + 4 cycles a beat (its walk over the step before's spikes)
        and 2 more a step (the wait for the core to emit them); a feed-forward one, one beat a cycle."""
        if read_recurrent(self, self.neurons) is None:
            return super().get_exp_cycles()
        import numpy as np

        n_vectors = int(np.prod(self.get_nodeattr("numInputVectors")))
        return n_vectors * ((self.channels // self.pe) * (self.channels + 4) + 2) + PIPELINE_DEPTH

    def lut_estimation(self, fpgapart=None):
        p = self.lif_params()
        width = max(p.membrane_bits, self.get_input_datatype(0).bitwidth())
        lane = self.LUT_PER_MEMBRANE_BIT * width
        lane += self.LUT_PER_CURRENT_BIT * p.membrane_bits * (len(p.model.states) - 1)
        rom_bits = sum(p.vector_bits(vec) for vec in p.vectors if getattr(p, vec))
        lane += self.LUT_PER_NEURON_PARAM_BIT * rom_bits
        lane += self.LUT_SHIFT_LEAK if p.leak_mode == "shift" else 0
        lane += self.LUT_STOCHASTIC if (p.leak_mode == "beta" and p.rounding == "stochastic") else 0
        words = self.channels // self.pe
        if self.membrane_style() == "registers":  # each state word read through an NF-way multiplexer
            lane += self.LUT_REGISTER_MUX_PER_BIT * p.membrane_bits * len(p.model.states) * words
        return int(self.pe * lane + self.LUT_CONTROL + self.recurrent_luts())

    def dsp_estimation(self, fpgapart=None):
        import math

        p = self.lif_params()
        products = (p.leak_mode == "beta") + (len(p.model.states) - 1)  # beta's, and the current's alpha
        if not products:
            return 0
        lane = products * math.ceil((p.membrane_bits + p.beta_frac_bits + 3) / 25)
        return self.pe * (lane + (9 if p.rounding == "stochastic" else 0))
