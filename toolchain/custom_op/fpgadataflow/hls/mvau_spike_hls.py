"""``MVAUSpike_hls``: FINN's MVAU_hls for {0, 1} spike inputs (qonnx BINARY) without XNOR mode.

finn-plus 1.6.1 raises "True binary (non-bipolar) inputs not yet supported" (a TODO in
``MVAU_hls.get_template_param_values``). A spike is a 1-bit unsigned integer, so the finn-hlslib
templates take it as ``Slice<ap_uint<1>>`` with ``Identity`` weights, exactly as they take any UINT
input. Everything else is FINN's own code. The op type keeps FINN's ``MVAU`` prefix, which FINN's
stitching and Zynq project test for (weight streamer IP, floorplan); ``UseSpikeOps`` (toolchain.transform)
retypes spike-input MVAU_hls nodes to it after FINN's SetFolding, which folds only FINN's own types.
"""

from finn.custom_op.fpgadataflow.hls.matrixvectoractivation_hls import MVAU_hls
from qonnx.core.datatype import DataType


class MVAUSpike_hls(MVAU_hls):  # noqa: N801 - FINN's naming rule: <op>_hls
    def get_template_param_values(self):
        if self.get_nodeattr("binaryXnorMode") or self.get_input_datatype(0) != DataType["BINARY"]:
            return super().get_template_param_values()
        wt_bipolar = self.get_input_datatype(1) == DataType["BIPOLAR"]
        return {
            "TSrcI": "Slice<ap_uint<1>>",
            "TWeightI": "Recast<Binary>" if wt_bipolar else "Identity",
            "TDstI": f"Slice<{self.get_output_datatype().get_hls_datatype_str()}>",
        }

    def generate_hdl_memstream(self, *args, **kwargs):
        """FINN's weight streamer, which FINN emits only for op types on its own list (``MVAU_hls``...):
        present this node under FINN's name for that one call."""
        node = self.onnx_node
        node.op_type = "MVAU_hls"
        try:
            return super().generate_hdl_memstream(*args, **kwargs)
        finally:
            node.op_type = "MVAUSpike_hls"
