"""RTL backends of this project's HW ops (FINN's ``<op>_rtl`` convention); they only emit Verilog."""

from pathlib import Path


class ProjectRTLBackend:
    """What this project's RTL layers share on top of FINN's RTLBackend: each writes its wrapper and a copy
    of its core (``CORE`` in rtl_templates) through toolchain.rtl.generate, into code_gen_dir_ipgen."""

    CORE = ""

    def event_driven(self) -> bool:
        return False

    def generate_hdl(self, model, fpgapart, clk):
        from toolchain.rtl.generate import write_layer

        folder = Path(self.get_nodeattr("code_gen_dir_ipgen"))
        write_layer(self.onnx_node, model, folder, event=self.event_driven())
        self.set_nodeattr("ipgen_path", str(folder))
        self.set_nodeattr("ip_path", str(folder))

    def get_rtl_file_list(self, abspath=False):
        from toolchain.rtl.generate import CORES

        names = [f"{self.onnx_node.name}.v", Path(CORES[self.CORE]).name]
        folder = Path(self.get_nodeattr("code_gen_dir_ipgen"))
        return [folder / n for n in names] if abspath else names

    def code_generation_ipi(self):
        files = [f"add_files -norecurse {f}" for f in self.get_rtl_file_list(abspath=True)]
        return [*files, f"create_bd_cell -type module -reference {self.onnx_node.name} {self.onnx_node.name}"]
