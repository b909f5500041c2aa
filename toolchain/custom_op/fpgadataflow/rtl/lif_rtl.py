"""``LIF_rtl``: the RTL backend of the LIF HW op (rtl_templates/lif). It only emits code (STYLE.md rule 1);
shapes, datatypes, estimates and the Python execution are the abstract op's."""

from __future__ import annotations

from pathlib import Path

from finn.custom_op.fpgadataflow.rtlbackend import RTLBackend

from toolchain.custom_op.fpgadataflow.lif import LIF


class LIF_rtl(LIF, RTLBackend):  # noqa: N801 - FINN's naming rule: <op>_rtl
    def get_nodeattr_types(self):
        attrs = LIF.get_nodeattr_types(self)
        attrs.update(RTLBackend.get_nodeattr_types(self))
        return attrs

    def generate_hdl(self, model, fpgapart, clk):
        from toolchain.rtl.generate import write_layer

        folder = Path(self.get_nodeattr("code_gen_dir_ipgen"))
        write_layer(self.onnx_node, model, folder)
        self.set_nodeattr("ipgen_path", str(folder))
        self.set_nodeattr("ip_path", str(folder))

    def get_rtl_file_list(self, abspath=False):
        from toolchain.rtl.generate import CORES

        names = [f"{self.onnx_node.name}.v", CORES["lif"].name]
        folder = Path(self.get_nodeattr("code_gen_dir_ipgen"))
        return [folder / n for n in names] if abspath else names

    def code_generation_ipi(self):
        files = [f"add_files -norecurse {f}" for f in self.get_rtl_file_list(abspath=True)]
        return [*files, f"create_bd_cell -type module -reference {self.onnx_node.name} {self.onnx_node.name}"]

    def execute_node(self, context, graph):
        return LIF.execute_node(self, context, graph)  # the whole network is simulated at once (toolchain.rtl)
