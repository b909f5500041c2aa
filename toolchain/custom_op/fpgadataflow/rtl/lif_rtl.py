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

    def execute_node(self, context, graph):
        return LIF.execute_node(self, context, graph)  # the whole network is simulated at once (toolchain.rtl)
