"""FINN's MVAU_hls, taught one thing: {0, 1} spike inputs (qonnx BINARY) without XNOR mode.

finn-plus 1.6.1 raises "True binary (non-bipolar) inputs not yet supported" (a TODO in
``get_template_param_values``). A spike is a 1-bit unsigned integer, so the finn-hlslib templates
take it as ``Slice<ap_uint<1>>`` with ``Identity`` weights, exactly as they take any UINT input.
Every other case is FINN's own code. Registered under FINN's ``MVAU_hls`` key by ``register()``.
"""

from finn.custom_op.fpgadataflow.hls.matrixvectoractivation_hls import MVAU_hls as FinnMVAU_hls
from qonnx.core.datatype import DataType


class MVAU_hls(FinnMVAU_hls):  # noqa: N801 - the name SpecializeLayers looks up
    def get_template_param_values(self):
        spikes = self.get_input_datatype(0) == DataType["BINARY"] and not self.get_nodeattr("binaryXnorMode")
        if spikes and self.get_input_datatype(1) != DataType["BINARY"]:
            wt_bipolar = self.get_input_datatype(1) == DataType["BIPOLAR"]
            return {
                "TSrcI": "Slice<ap_uint<1>>",
                "TWeightI": "Recast<Binary>" if wt_bipolar else "Identity",
                "TDstI": f"Slice<{self.get_output_datatype().get_hls_datatype_str()}>",
            }
        return super().get_template_param_values()
