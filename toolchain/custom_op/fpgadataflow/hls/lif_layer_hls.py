"""``LIFLayer_hls``: the HLS backend of the LIFLayer HW op. It only emits code (STYLE.md rule 1).

For FINN's PrepareIP / HLSSynthIP it fills FINN's ipgen template (top function, pragmas) and writes
the rendered config header and ``neuron_layer.hpp`` into the node's code_gen_dir, which FINN's tcl puts on the
include path. Its ``cppsim`` mode does not use FINN's cppsim (that links Vitis libraries and
finn-hlslib): it compiles this project's own C-simulation driver with g++ against the open ap_int
headers (toolchain.hls.csim) and streams the node's input through it.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
from finn.custom_op.fpgadataflow.hlsbackend import HLSBackend

from toolchain import assets
from toolchain.custom_op.fpgadataflow.lif_layer import LIFLayer
from toolchain.fsutil import write_text
from toolchain.hls.csim import compile_folder, run_csim, write_sources


class LIFLayer_hls(LIFLayer, HLSBackend):  # noqa: N801 - FINN's naming rule: <op>_hls
    def get_nodeattr_types(self):
        attrs = LIFLayer.get_nodeattr_types(self)
        attrs.update(HLSBackend.get_nodeattr_types(self))
        return attrs

    def _bias(self, model):
        return model.get_initializer(self.onnx_node.input[1])

    def generate_params(self, model, path):
        write_sources([self.layer_spec(self._bias(model))], Path(path))

    # -- FINN's ipgen template ----------------------------------------------------------------------
    def code_generation_ipgen(self, model, fpgapart, clk):
        """FINN's top file and tcl, then our own top file (no finn-hlslib include) over FINN's."""
        super().code_generation_ipgen(model, fpgapart, clk)
        folder = Path(self.get_nodeattr("code_gen_dir_ipgen"))
        spec = self.layer_spec(self._bias(model))
        write_text(
            folder / f"top_{self.onnx_node.name}.cpp",
            assets.render("hls_templates", "lif_top.cpp.j2", **spec.context()),
        )

    def global_includes(self):
        style = self.membrane_style()
        self.code_gen_dict["$GLOBALS$"] = [
            f"#define QSNN_MEM_{style.upper()}",
            '#include "neuron_layer.hpp"',
            f'#include "{self.onnx_node.name}_config.hpp"',
        ]

    def defines(self, var):
        self.code_gen_dict["$DEFINES$"] = [
            f"// {self.onnx_node.name}: {self.neurons} neurons, PE {self.pe}, {self.steps} steps per sample"
        ]

    def blackboxfunction(self):
        in_w, out_w = self.get_instream_width(), self.get_outstream_width()
        self.code_gen_dict["$BLACKBOXFUNCTION$"] = [
            f"void {self.onnx_node.name}(hls::stream<ap_uint<{in_w}>> &in0_V, hls::stream<ap_uint<{out_w}>> &out0_V)"
        ]

    def docompute(self):
        name = self.onnx_node.name
        self.code_gen_dict["$DOCOMPUTE$"] = [f"qsnn::lif_layer<{name}_cfg>(in0_V, out0_V, {name}_bias, 1);"]

    # -- C-simulation with g++ (replaces FINN's cppsim compile) -------------------------------------
    def code_generation_cppsim(self, model):
        folder = self.get_nodeattr("code_gen_dir_cppsim") or tempfile.mkdtemp(prefix=f"qsnn_{self.onnx_node.name}_")
        self.set_nodeattr("code_gen_dir_cppsim", folder)
        write_sources([self.layer_spec(self._bias(model))], Path(folder))

    def compile_singlenode_code(self):
        """Compile what code_generation_cppsim wrote (stateless: FINN may call it on a fresh instance)."""
        folder = Path(self.get_nodeattr("code_gen_dir_cppsim"))
        self.set_nodeattr("executable_path", str(compile_folder(folder)))

    def execute_node(self, context, graph):
        mode = self.get_nodeattr("exec_mode")
        if mode == "cppsim":
            return self.execute_cppsim(context, graph)
        if mode == "rtlsim":
            return HLSBackend.execute_node(self, context, graph)
        return LIFLayer.execute_node(self, context, graph)

    def execute_cppsim(self, context, graph):
        node = self.onnx_node
        exe = self.get_nodeattr("executable_path")
        if not exe or not Path(exe).is_file():
            raise RuntimeError(
                f"LIF node '{node.name}': no C-simulation binary; run PrepareCppSim and "
                "CompileCppSim (or toolchain.flow step csim) first"
            )
        current = np.rint(context[node.input[0]]).astype(np.int64)
        shape = current.shape
        flat = current.reshape(-1, self.steps, self.neurons)
        spikes = run_csim(Path(exe), 0, flat)  # the bias is compiled into the kernel (config header)
        context[node.output[0]] = spikes.reshape(shape).astype(np.float32)
