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
        # address-event: the accumulators leave out_lanes lanes a beat through an output register (0: PE a beat), so
        # a wide walker (PE lanes of weight row a cycle) feeds a narrow LIF layer; a divisor of PE
        attrs["out_lanes"] = ("i", False, 0)
        # address-event: weight rows added a cycle, 2 through both ports of the weight ROM (and two spikes listed)
        attrs["rows"] = ("i", False, 1, {1, 2})
        return attrs

    def lanes_out(self) -> int:
        return self.get_nodeattr("out_lanes") or self.get_nodeattr("PE")

    def get_outstream_width(self, ind=0):
        return self.get_output_datatype().bitwidth() * self.lanes_out()

    def get_folded_output_shape(self, ind=0):
        lanes = self.lanes_out()
        return (*self.get_nodeattr("numInputVectors"), self.get_nodeattr("MH") // lanes, lanes)

    def get_exp_cycles(self):
        """Cycles per sample of the RTL core (qsnn_synapse.v), per frame: dense, SF (load) + NF * (SF + 2) (every
        chunk of every fold); event-driven, the active chunks instead of SF; address-event (qsnn_synapse_ae, its
        lister and walker overlapped), the slower of the lister's SF - active chunks + active inputs / R and the
        walker's NF * (active inputs / R + 3), R the rows a cycle, a fold at least PE / out_lanes cycles (its output
        register's beats). Active inputs at the measured ``input_activity`` a: a * MW; active chunks SF * the
        measured ``chunk_activity``, else SF * (1 - (1 - a)^SIMD) as if spikes were independent."""
        import numpy as np

        mw, simd = self.get_nodeattr("MW"), self.get_nodeattr("SIMD")
        sf, nf = mw // simd, self.get_nodeattr("MH") // self.get_nodeattr("PE")
        frames = int(np.prod(self.get_nodeattr("numInputVectors")))
        mode = self.event_driven()
        a = min(1.0, max(0.0, self.get_nodeattr("input_activity"))) if mode else 1.0
        measured = self.get_nodeattr("chunk_activity")
        chunks = sf * (min(1.0, measured) if mode and measured >= 0 else 1.0 - (1.0 - a) ** simd)
        if mode == ADDRESS_EVENT:  # a fold also waits for the output register's beats (PE / out_lanes) to leave
            active, beats, rows = a * mw, self.get_nodeattr("PE") // self.lanes_out(), self.get_nodeattr("rows")
            # R spikes a cycle: a beat's ceil(p / R) rounds up by (R - 1) / 2R a beat on average, the walk's likewise
            lister = sf - chunks + active / rows + chunks * (rows - 1) / (2 * rows)
            walk = active / rows + (rows - 1) / (2 * rows) + 3
            return int(round(frames * max(lister, nf * max(walk, beats))))
        return int(round(frames * (sf + nf * (chunks + 2))))

    # -- estimates, calibrated against Yosys synth_xilinx (xc7) counts of the core over a matrix ------------
    #   Fitted (least squares on the relative error) to the spike-input synapses of digits networks 64-32-10 (dense
    #   and event-driven, SIMD 1-32, PE 1-16) and of the 784-128-10 network (SIMD 1-16, PE 1-16, ROMs in BRAM and in
    #   LUTs), all 20 within 0.79..1.16 of Yosys, and to 7 direct-encoded first layers (uint8 inputs; dense and
    #   conv, SIMD 1-64, PE 1-16), within 0.88..1.08; tests/test_rtl.py's matrix test checks a grid.
    #   Spikes: an adder tree of SIMD gated weights per lane, 1.43 LUT per bit, its width the partial sums' (the
    #   weight bits + log2 SIMD + 1, at most the accumulator's); the accumulators 1.44 per bit; the frame's chunk
    #   flags and their priority encoder 3.2 per chunk (SF = MW / SIMD), 1.8 more event-driven (the flags reload
    #   each fold); 40 of control.
    #   Products (multi-bit inputs): the multiplies and their sums go to DSP48E1 slices; what stays in LUTs grows
    #   with the accumulators, 2.3 per bit, and the chunks, 5.6 each. A ROM kept as LUT logic: 1.16 per 64 bits.
    TREE_LUT_PER_BIT, ACC_LUT_PER_BIT, LUT_PER_CHUNK, EVENT_LUT_PER_CHUNK, CONTROL_LUTS = 1.43, 1.44, 3.2, 1.8, 40
    PRODUCT_ACC_LUT_PER_BIT, PRODUCT_LUT_PER_CHUNK, ROM_LUT_PER_64_BITS = 2.3, 5.6, 1.16

    def _shape(self):
        simd, pe = self.get_nodeattr("SIMD"), self.get_nodeattr("PE")
        mw, mh = self.get_nodeattr("MW"), self.get_nodeattr("MH")
        return simd, pe, mw, mh, self.get_input_datatype(1).bitwidth()

    #   The address-event core (qsnn_synapse_ae) adds one weight row a cycle: PE adders of the accumulator's width,
    #   not PE x SIMD trees, 0.99 LUT per bit; its ROM is deep and narrow (a word per fold and input): in LUTs, 1.1
    #   per bit per 64 words; the lister's priority encoder and beat counters 4.4 per chunk and per lane in (SF +
    #   SIMD); an output register shifting the accumulators out (out_lanes < PE) 0.68 per bit; the spike list is
    #   LUTRAM (counted apart). Fitted to 8 layers (digits PE 1-32, out_lanes 1-16; 784-128-10 PE 128, SIMD 56, 16
    #   lanes out: 3,133 against Yosys' 3,304), all within 0.95..1.08. Two rows a cycle add a second adder per
    #   lane, 0.93 per accumulator bit, and a second encoder with the split list, 4 per lane in and 40 (fitted to 5
    #   layers, PE 5-128: within 0.91..1.07; 784-128-10, PE 128: 4,623 LUT by Yosys against 3,304 with one row).
    AE_ACC_LUT_PER_BIT, AE_ROM_LUT_PER_LUT6, AE_LUT_PER_LANE_IN, AE_OUT_LUT_PER_BIT, AE_CONTROL_LUTS = (
        0.99,
        1.1,
        4.4,
        0.68,
        49,
    )
    AE_ROW_LUT_PER_BIT, AE_ROW_LUT_PER_LANE_IN, AE_ROW_CONTROL_LUTS = 0.93, 4, 40

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
        import math

        simd, pe, mw, mh, wb = self._shape()
        spikes = self.get_input_datatype(0).bitwidth() == 1
        acc = self.get_output_datatype().bitwidth()
        width, depth = self._rom()
        if self.event_driven() == ADDRESS_EVENT:
            rom = 0 if self._rom_in_bram() else width * math.ceil(depth / 64) * self.AE_ROM_LUT_PER_LUT6
            out = self.AE_OUT_LUT_PER_BIT * pe * acc if self.lanes_out() < pe else 0
            lister = self.AE_LUT_PER_LANE_IN * (mw // simd + simd)
            luts = self.AE_ACC_LUT_PER_BIT * pe * acc + rom + lister + out + self.AE_CONTROL_LUTS
            if self.get_nodeattr("rows") == 2:
                luts += (
                    self.AE_ROW_LUT_PER_BIT * pe * acc + self.AE_ROW_LUT_PER_LANE_IN * simd + self.AE_ROW_CONTROL_LUTS
                )
            return int(luts)
        rom = 0 if self._rom_in_bram() else width * depth / 64 * self.ROM_LUT_PER_64_BITS
        if not spikes:
            return int(self.PRODUCT_ACC_LUT_PER_BIT * pe * acc + self.PRODUCT_LUT_PER_CHUNK * (mw // simd) + rom)
        tree = self.TREE_LUT_PER_BIT * pe * simd * min(acc, wb + math.log2(simd) + 1)
        chunk = self.LUT_PER_CHUNK + (self.EVENT_LUT_PER_CHUNK if self.event_driven() else 0)
        return int(tree + self.ACC_LUT_PER_BIT * pe * acc + rom + chunk * (mw // simd) + self.CONTROL_LUTS)

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
