"""RTL backends of this project's HW ops (FINN's ``<op>_rtl`` convention); they only emit Verilog."""

from pathlib import Path


class ProjectRTLBackend:
    """What this project's RTL layers share on top of FINN's RTLBackend: each writes its wrapper and a copy
    of its core (``CORE`` in rtl_templates) through toolchain.rtl.generate, into code_gen_dir_ipgen. ``ABSTRACT``
    is the op it implements, whose shapes, datatypes and Python execution it keeps."""

    CORE = ""
    ABSTRACT = None

    def get_nodeattr_types(self):
        """The abstract op's attributes and FINN's RTLBackend's (FINN's own _rtl ops join them the same way)."""
        from finn.custom_op.fpgadataflow.rtlbackend import RTLBackend

        return {**self.ABSTRACT.get_nodeattr_types(self), **RTLBackend.get_nodeattr_types(self)}

    def event_driven(self) -> int:
        return 0

    def generate_hdl(self, model, fpgapart, clk):
        """The wrapper (FINN's ports) and its core; the module takes the node's name now and keeps it in
        ``gen_top_module``, as FINN's own RTL ops do, whatever the node is renamed to later."""
        from toolchain.rtl.generate import write_layer

        folder = Path(self.get_nodeattr("code_gen_dir_ipgen"))
        write_layer(self.onnx_node, model, folder, event=self.event_driven(), module=self.onnx_node.name)
        self.record_hdl(folder)

    def record_hdl(self, folder):
        """Record where this layer's Verilog is (written by toolchain.rtl.generate under the node's current
        name): FINN's code_gen_dir_ipgen / ipgen_path / ip_path, and the module in gen_top_module."""
        for attr in ("code_gen_dir_ipgen", "ipgen_path", "ip_path"):
            self.set_nodeattr(attr, str(folder))
        self.set_nodeattr("gen_top_module", self.onnx_node.name)

    def get_rtl_file_list(self, abspath=False):
        from toolchain.errors import QsnnError
        from toolchain.rtl.generate import CORES

        module = self.get_nodeattr("gen_top_module")
        if not module:
            raise QsnnError(f"{self.onnx_node.name}: no Verilog generated yet (run FINN's HDL generation first)")
        names = [f"{module}.v", Path(CORES[self.CORE]).name]
        folder = Path(self.get_nodeattr("code_gen_dir_ipgen"))
        return [folder / n for n in names] if abspath else names

    def code_generation_ipi(self):
        files = [f"add_files -norecurse {f}" for f in self.get_rtl_file_list(abspath=True)]
        module = self.get_nodeattr("gen_top_module")
        return [*files, f"create_bd_cell -type module -reference {module} {self.onnx_node.name}"]

    def execute_node(self, context, graph):
        """Python execution (the abstract op's). FINN's per-node rtlsim needs Vivado's xsim; this project
        simulates the whole RTL network in Verilator instead, so that mode is refused, never faked."""
        if self.get_nodeattr("exec_mode") == "rtlsim":
            from toolchain.errors import QsnnError

            raise QsnnError(
                f"{self.onnx_node.name}: FINN's node-by-node rtlsim needs Vivado's xsim; the RTL network is simulated "
                "whole in Verilator: qsnn build RUN --backend rtl --until rtlsim"
            )
        return super().execute_node(context, graph)
