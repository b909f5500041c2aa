"""``MVAUSynapse_rtl``: this project's RTL synaptic layer (rtl_templates/synapse) for FINN's MVAU.

FINN's own MVAU_rtl maps products to DSP48 slices and FINN picks it only for activations of 2 bits or
more, so spikes never reach it. This backend serves both cases of a spiking network: {0, 1} spike inputs
(a spike gates the add of its weight: no multipliers; dense, or event-driven skipping silent input chunks)
and the multi-bit first layer under direct encoding (x * w products that Yosys maps to LUTs or DSPs),
one core for both so the stream format and folding rules are the same. The op type keeps FINN's ``MVAU``
prefix, which FINN's stitching and floorplanning test for; shapes, estimates and Python execution are
FINN's MVAU's.
"""

from __future__ import annotations

from finn.custom_op.fpgadataflow.matrixvectoractivation import MVAU
from finn.custom_op.fpgadataflow.rtlbackend import RTLBackend

from toolchain.custom_op.fpgadataflow.rtl import ProjectRTLBackend
from toolchain.flow.build_config import ADDRESS_EVENT, SYNAPSE_MODES


class MVAUSynapse_rtl(ProjectRTLBackend, MVAU, RTLBackend):  # noqa: N801 - FINN's naming rule: <op>_rtl
    CORE, ABSTRACT = "synapse", MVAU

    def get_nodeattr_types(self):
        attrs = super().get_nodeattr_types()
        attrs["event_driven"] = ("i", False, 0, set(range(len(SYNAPSE_MODES))))  # the mode's code
        # the fraction of this layer's inputs that spike in a frame (measured on the run's test vectors by the
        # estimate step; 1.0: every input, the bound)
        attrs["input_activity"] = ("f", False, 1.0)
        # the fraction of its SIMD-input chunks with a spike (measured likewise where the layer's frames are the
        # trace's own, a dense layer; -1: not measured, taken as independent spikes at input_activity)
        attrs["chunk_activity"] = ("f", False, -1.0)
        return attrs

    def get_exp_cycles(self):
        """Cycles per sample of the RTL core (qsnn_synapse.v), per frame: dense, SF (load) + NF * (SF + 2) (every
        chunk of every fold); event-driven, the active chunks instead of SF; address-event (qsnn_synapse_ae, its
        lister and walker overlapped), the slower of the lister's SF - active chunks + active inputs and the
        walker's NF * (active inputs + 3). Active inputs at the measured ``input_activity`` a: a * MW; active chunks
        SF * the measured ``chunk_activity``, else SF * (1 - (1 - a)^SIMD) as if spikes were independent."""
        import numpy as np

        mw, simd = self.get_nodeattr("MW"), self.get_nodeattr("SIMD")
        sf, nf = mw // simd, self.get_nodeattr("MH") // self.get_nodeattr("PE")
        frames = int(np.prod(self.get_nodeattr("numInputVectors")))
        mode = self.event_driven()
        a = min(1.0, max(0.0, self.get_nodeattr("input_activity"))) if mode else 1.0
        measured = self.get_nodeattr("chunk_activity")
        chunks = sf * (min(1.0, measured) if mode and measured >= 0 else 1.0 - (1.0 - a) ** simd)
        if mode == ADDRESS_EVENT:
            active = a * mw
            return int(round(frames * max(sf - chunks + active, nf * (active + 3))))
        return int(round(frames * (sf + nf * (chunks + 2))))

    # -- estimates, calibrated against Yosys synth_xilinx (xc7) counts of the core over a matrix ------------
    #   MW x MH, SIMD, PE, in bits, acc bits -> Yosys LUT (this formula):
    #   64x32  S8  P4 spikes acc11:  626 (572)    128x32 S16 P4 spikes acc12: 1204 (1161)
    #   128x64 S8  P8 spikes acc12: 1010 (982, ROM in 4 RAMB36)   256x16 S32 P2 spikes acc13: 1095 (1237)
    #   64x16  S8  P4 uint8 acc19:   306 (318, 32 DSP48E1)         128x32 S4 P8 uint8 acc20:  655 (463, 32 DSP)
    ADDER_LUT_PER_BIT = {True: 1.2, False: 0.35}  # spikes: adder trees in LUTs; products: the DSPs add too
    ROM_LUT_PER_64_BITS = 0.7
    CONTROL_LUTS = 60

    def _shape(self):
        simd, pe = self.get_nodeattr("SIMD"), self.get_nodeattr("PE")
        mw, mh = self.get_nodeattr("MW"), self.get_nodeattr("MH")
        return simd, pe, mw, mh, self.get_input_datatype(1).bitwidth()

    #   The address-event core (qsnn_synapse_ae) adds one weight row a cycle: PE adders, not PE x SIMD; its chunk and
    #   bit encoders grow with SF + SIMD; the spike list is LUTRAM (counted apart). Its ROM is deep and narrow (a word
    #   per fold and input): in LUTs, a 64-deep LUT6 per bit per 64 words plus the muxes, about 1.3 each.
    #   64x32 S8 P4 acc8, ROM in LUTs: 285 LUT (290); 32x10 S4 P1 acc8: 116 (118); 128x10 S16 P5 acc9: 237 (252);
    #   64x128 S8 P16 acc8, ROM in BRAM: 210 (240)
    AE_CONTROL_LUTS, AE_ROM_LUT_PER_LUT6 = 70, 1.3

    def _rom(self) -> tuple[int, int]:
        """(word bits, words) of the weight ROM: a word per (fold, chunk) of PE x SIMD weights, or per (fold,
        input) of PE weights in the address-event layout."""
        simd, pe, mw, mh, wb = self._shape()
        if self.event_driven() == ADDRESS_EVENT:
            return pe * wb, (mh // pe) * mw
        return pe * simd * wb, (mw // simd) * (mh // pe)

    def _rom_in_bram(self) -> bool:
        width, depth = self._rom()
        return depth * width > 16384 and depth > 64  # the generator's rom_style rule

    def lut_estimation(self, fpgapart=None):
        simd, pe, mw, mh, wb = self._shape()
        spikes = self.get_input_datatype(0).bitwidth() == 1
        acc = self.get_output_datatype().bitwidth()
        rom = 0 if self._rom_in_bram() else mw * mh * wb / 64 * self.ROM_LUT_PER_64_BITS
        if self.event_driven() == ADDRESS_EVENT:
            width, depth = self._rom()
            rom = 0 if self._rom_in_bram() else width * -(-depth // 64) * self.AE_ROM_LUT_PER_LUT6
            return int(self.ADDER_LUT_PER_BIT[True] * pe * acc + rom + mw // simd + simd + self.AE_CONTROL_LUTS)
        return int(self.ADDER_LUT_PER_BIT[spikes] * pe * simd * acc + rom + self.CONTROL_LUTS)

    def bram_estimation(self, fpgapart=None):
        from toolchain.estimate.storage import bram18_count

        return bram18_count(*self._rom()) if self._rom_in_bram() else 0

    def uram_estimation(self, fpgapart=None):
        return 0

    def dsp_estimation(self, fpgapart=None):
        simd, pe, *_ = self._shape()
        return 0 if self.get_input_datatype(0).bitwidth() == 1 else pe * simd

    def event_driven(self) -> int:
        return self.get_nodeattr("event_driven")
