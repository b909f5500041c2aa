"""FINN HW op ``LIFLayer`` (made from the QONNX ``LIF`` op by InferLIFLayer): a streaming layer of
fixed-point LIF neurons (abstract op; backends emit code).

Stream in: per time step t, the integer accumulators of the layer's neurons (the MVAU's output), PE per
beat; stream out: their spikes, PE per beat. Per sample the layer sees T frames; membranes live on chip
for the whole sample and are cleared after frame T-1. A dense layer's graph tensor carries the time
axis (numInputVectors = [N, T], C neurons per frame); a conv layer's graph is one frame (numInputVectors
= [1, H, W], H*W*C neurons per frame, ``frame_steps`` = T). Input 1 is the per-channel integer bias (an
initializer, C values), added to the accumulator: neuron i takes bias[i mod C]. The neuron is
DESIGN.md's (see toolchain.custom_op.lif):

    U = sat_B(leak(V) + I + b);  s = U >= theta;  V = U - theta (subtract) | 0 (zero) if s else U

Estimates (documented formulas, not vendor numbers; per PE lane unless said otherwise):
  (C below is the neurons per frame; a conv layer's bias ROM holds one word per channel)
  cycles per graph    = prod(numInputVectors) * channels / PE (II = 1 per beat) + PIPELINE_DEPTH
  membrane storage    = C * B bits, C/PE deep x PE*B wide: registers if C*B <= 1024 (FFs), LUTRAM if
                        C/PE <= 64 (1 LUT per 64x1 bit with 7-series/UltraScale SLICEM RAM64X1S... x2
                        for the dual-port read/write: ceil(C/PE / 64) * PE*B * 2 LUTs), else BRAM_18K by
                        FINN's width/depth table (1x16K, 2x8K, 4x4K, 9x2K, 18x1K, 36x512)
  bias ROM            = C * Bb bits, same rule (constants; LUTs as ROM: ceil(C/PE / 64) * PE*Bb); per-neuron
                        threshold (B bits) and beta_int (F + 2 bits) ROMs alike
  per-neuron beta     = a variable coefficient: (B + F)(F + 2) / 2 LUTs of array multiplier per lane
  datapath LUTs       = add (B) + saturate (B + 2) + threshold compare (ceil(B/2), constant operand)
                        + reset (B) + leak: shift B; beta (popcount(beta_int) - 1) * (B + F) shift-add
                        adders (constant coefficient, no DSP); stochastic +F for the offset add;
                        + the neuron model's own term (``lut_per_lane``, toolchain/golden/neurons)
  state               = one membrane-shaped memory per state word of the model (CubaLIF: V and J)
  stochastic hash     = fmix32 needs two 32x32 constant products: 3 DSP48 each -> 6 DSP per lane
  control             = 40 LUTs (time-step and neuron counters, clear logic)
  FF                  = PE * (2 * B + 8) pipeline registers (+ membrane bits when held in registers)
"""

from __future__ import annotations

import math

import numpy as np
from finn.custom_op.fpgadataflow.hwcustomop import HWCustomOp
from onnx import helper
from qonnx.core.datatype import DataType

from toolchain.custom_op.lif import LIF_ATTRS, by_sample, output_datatype, read_recurrent
from toolchain.errors import QsnnError
from toolchain.estimate.storage import LUTRAM_DEPTH, bram18_count, memory_style
from toolchain.golden import NeuronParams, run_neurons

PIPELINE_DEPTH = 4
CONTROL_LUTS = 40


class LIFLayer(HWCustomOp):
    """Streaming fixed-point LIF layer: (N, T, C) accumulators + bias -> (N, T, C) spikes."""

    def get_nodeattr_types(self):
        attrs = super().get_nodeattr_types()
        attrs.update({k: v for k, v in LIF_ATTRS.items() if k != "input_scale"})
        attrs.update(
            {
                "NumChannels": ("i", True, 0),
                "PE": ("i", False, 1),
                "numInputVectors": ("ints", False, [1, 1]),  # [N, T]
                "inputDataType": ("s", True, ""),
                "biasDataType": ("s", False, "INT32"),
                "membrane_style": ("s", False, "auto", {"auto", "registers", "lutram", "bram"}),
            }
        )
        return attrs

    # -- parameters ---------------------------------------------------------------------------------
    def lif_params(self) -> NeuronParams:
        from toolchain.custom_op.lif import read_lif_params

        return read_lif_params(self)

    @property
    def channels(self) -> int:
        return self.get_nodeattr("NumChannels")

    @property
    def pe(self) -> int:
        return self.get_nodeattr("PE")

    @property
    def steps(self) -> int:
        return self.get_nodeattr("frame_steps") or self.get_nodeattr("numInputVectors")[-1]

    @property
    def neurons(self) -> int:
        """Neurons per frame (time step): the channels, times the pixels of a conv layer's frame."""
        if self.get_nodeattr("frame_steps"):
            return int(np.prod(self.get_nodeattr("numInputVectors")[1:])) * self.channels
        return self.channels

    # -- the layer as both backends' kernels see it ---------------------------------------------------
    def layer_spec(self, bias):
        from toolchain.custom_op.layer_spec import LayerSpec

        idt = self.get_input_datatype(0)
        return LayerSpec(
            name=self.onnx_node.name,
            params=self.lif_params(),
            channels=self.neurons,
            steps=self.steps,
            bias=np.asarray(bias).astype(np.int64).reshape(-1),
            in_bits=idt.bitwidth(),
            in_signed=idt.signed(),
            pe=self.pe,
            mem_style=self.membrane_style(),
            recurrent=read_recurrent(self, self.neurons),
        )

    # -- shapes and types ---------------------------------------------------------------------------
    def get_normal_input_shape(self, ind=0):
        if ind == 1:
            return (self.channels,)
        return tuple(self.get_nodeattr("numInputVectors")) + (self.channels,)

    def get_normal_output_shape(self, ind=0):
        return tuple(self.get_nodeattr("numInputVectors")) + (self.channels,)

    def get_folded_input_shape(self, ind=0):
        if ind == 1:
            return (self.channels // self.pe, self.pe)
        return tuple(self.get_nodeattr("numInputVectors")) + (self.channels // self.pe, self.pe)

    def get_folded_output_shape(self, ind=0):
        return tuple(self.get_nodeattr("numInputVectors")) + (self.channels // self.pe, self.pe)

    def get_input_datatype(self, ind=0):
        return DataType[self.get_nodeattr("biasDataType" if ind == 1 else "inputDataType")]

    def get_output_datatype(self, ind=0):
        return output_datatype(self.lif_params())

    def get_instream_width(self, ind=0):
        if ind == 1:
            return 0  # the bias is a ROM inside the kernel, not a stream (FINN then makes no in1_V port)
        return self.get_input_datatype(ind).bitwidth() * self.pe

    def get_outstream_width(self, ind=0):
        return self.pe * self.get_output_datatype().bitwidth()

    def get_number_output_values(self):
        return int(np.prod(self.get_folded_output_shape()[:-1]))

    def make_shape_compatible_op(self, model):
        node = self.onnx_node
        return helper.make_node("Relu", [node.input[0]], [node.output[0]])

    def infer_node_datatype(self, model):
        node = self.onnx_node
        idt = model.get_tensor_datatype(node.input[0])
        if idt.is_integer():
            self.set_nodeattr("inputDataType", idt.name)
        model.set_tensor_datatype(node.output[0], self.get_output_datatype())

    def verify_node(self):
        info = []
        try:
            self.lif_params()
            info.append("LIF parameters are valid")
        except QsnnError as e:
            info.append(str(e))
        if self.channels % self.pe != 0:
            info.append(f"PE={self.pe} does not divide NumChannels={self.channels}")
        return info

    def check_folding(self):
        if self.pe < 1 or self.channels % self.pe != 0:
            raise QsnnError(
                f"LIFLayer node '{self.onnx_node.name}': PE={self.pe} must divide NumChannels="
                f"{self.channels}; choose a divisor of {self.channels}"
            )

    # -- execution ------------------------------------------------------------------------------------
    def execute_node(self, context, graph):
        node = self.onnx_node
        mode = self.get_nodeattr("exec_mode")
        if mode == "cppsim":
            return self.execute_cppsim(context, graph)
        x = context[node.input[0]]
        bias = context[node.input[1]] if len(node.input) > 1 else 0
        current = np.rint(x).astype(np.int64) + np.asarray(bias, dtype=np.int64)
        spikes = run_neurons(
            by_sample(current, self.get_nodeattr("frame_steps"), node.name),
            self.lif_params(),
            recurrent=read_recurrent(self, self.channels),
        )
        context[node.output[0]] = spikes.reshape(x.shape).astype(np.float32)

    def execute_cppsim(self, context, graph):
        raise QsnnError(
            f"LIFLayer node '{self.onnx_node.name}': cppsim needs the LIFLayer_hls backend (run SpecializeLayers first)"
        )

    # -- estimates ------------------------------------------------------------------------------------
    def get_exp_cycles(self):
        n_vectors = int(np.prod(self.get_nodeattr("numInputVectors")))
        return n_vectors * (self.channels // self.pe) + PIPELINE_DEPTH

    def _bias_bits(self):
        return self.get_input_datatype(1).bitwidth()

    def membrane_style(self) -> str:
        """registers / lutram / bram for the PE*B-wide, C/PE-deep membrane memory (or the forced style)."""
        width = self.pe * self.lif_params().membrane_bits
        return memory_style(width, self.neurons // self.pe, self.get_nodeattr("membrane_style"))

    def storage(self):
        """[(name, width, depth, style)] for the neuron model's state words (the membrane, CubaLIF's current, ...)
        and the bias ROM."""
        depth, bias_w = self.neurons // self.pe, self.pe * self._bias_bits()
        bias_depth = self.channels // self.pe
        p = self.lif_params()
        state = [(name, self.pe * p.membrane_bits, depth, self.membrane_style()) for name in p.model.states]
        roms = [("bias", bias_w)]  # and per-neuron parameters: ROMs of the bias's shape
        roms += [(vec, self.pe * p.vector_bits(vec)) for vec in p.vectors if getattr(p, vec)]
        return state + [(name, w, bias_depth, memory_style(w, bias_depth)) for name, w in roms]

    def bram_estimation(self, fpgapart=None):
        return sum(bram18_count(w, d) for _, w, d, s in self.storage() if s == "bram")

    def lut_estimation(self, fpgapart=None):
        p = self.lif_params()
        b, f = p.membrane_bits, p.beta_frac_bits
        lane = b + (b + 2) + math.ceil(b / 2) + b
        if p.leak_mode == "shift":
            lane += b
        elif p.leak_mode == "beta":
            if p.beta_ints:  # a variable coefficient: an array multiplier, (B + F) x (F + 2) partial products
                lane += (b + f) * (f + 2) // 2
            else:
                lane += max(0, bin(p.beta_int).count("1") - 1) * (b + f)
            if p.rounding != "floor":
                lane += f
        lane += p.model.lut_per_lane(p)
        v = read_recurrent(self, self.neurons)
        if v is not None:  # the HLS kernel's V s[t-1]: a row of CHANNELS gated adds per lane, unrolled (formula, not
            # calibrated against Vitis HLS, which is not here; the RTL backend walks the row instead, LIFLayer_rtl)
            from toolchain.custom_op.layer_spec import recurrent_widths

            lane += self.channels * recurrent_widths(v)[1]
        luts = self.pe * lane + CONTROL_LUTS
        for name, w, d, style in self.storage():
            if style == "lutram":  # a ROM (one port) or a state memory (read and written)
                luts += math.ceil(d / LUTRAM_DEPTH) * w * (2 if name in p.model.states else 1)
        return luts

    def dsp_estimation(self, fpgapart=None):
        p = self.lif_params()
        return 6 * self.pe if p.rounding == "stochastic" and p.model.hash_bits(p) else 0

    def ff_estimation(self):
        b = self.lif_params().membrane_bits
        ff = self.pe * (2 * b + 8)
        state = self.lif_params().model.states
        return ff + sum(w * d for name, w, d, s in self.storage() if s == "registers" and name in state)

    def get_op_and_param_counts(self):
        n = int(np.prod(self.get_nodeattr("numInputVectors"))) * self.channels
        return {"op_lif_update": n, "param_bias": self.channels}
