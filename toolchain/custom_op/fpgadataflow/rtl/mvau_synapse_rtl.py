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

from pathlib import Path

from finn.custom_op.fpgadataflow.matrixvectoractivation import MVAU
from finn.custom_op.fpgadataflow.rtlbackend import RTLBackend


class MVAUSynapse_rtl(MVAU, RTLBackend):  # noqa: N801 - FINN's naming rule: <op>_rtl
    def get_nodeattr_types(self):
        attrs = MVAU.get_nodeattr_types(self)
        attrs.update(RTLBackend.get_nodeattr_types(self))
        attrs["event_driven"] = ("i", False, 0, {0, 1})
        return attrs

    def get_exp_cycles(self):
        """Cycles per sample of the RTL core (qsnn_synapse.v): each frame is loaded (SF beats), then every
        neuron fold reads its chunks and emits (SF + 2 cycles). Event-driven cores take fewer: one per
        active chunk instead of SF, which only a simulation with real spikes can tell; this is the bound."""
        import numpy as np

        sf = self.get_nodeattr("MW") // self.get_nodeattr("SIMD")
        nf = self.get_nodeattr("MH") // self.get_nodeattr("PE")
        frames = int(np.prod(self.get_nodeattr("numInputVectors")))
        return frames * (sf + nf * (sf + 2))

    def generate_hdl(self, model, fpgapart, clk):
        from toolchain.rtl.generate import write_layer

        folder = Path(self.get_nodeattr("code_gen_dir_ipgen"))
        write_layer(self.onnx_node, model, folder, event=bool(self.get_nodeattr("event_driven")))
        self.set_nodeattr("ipgen_path", str(folder))
        self.set_nodeattr("ip_path", str(folder))

    def get_rtl_file_list(self, abspath=False):
        from toolchain.rtl.generate import CORES

        names = [f"{self.onnx_node.name}.v", CORES["synapse"].name]
        folder = Path(self.get_nodeattr("code_gen_dir_ipgen"))
        return [folder / n for n in names] if abspath else names

    def code_generation_ipi(self):
        files = [f"add_files -norecurse {f}" for f in self.get_rtl_file_list(abspath=True)]
        return [*files, f"create_bd_cell -type module -reference {self.onnx_node.name} {self.onnx_node.name}"]

    def execute_node(self, context, graph):
        return MVAU.execute_node(self, context, graph)  # the whole network is simulated at once (toolchain.rtl)
