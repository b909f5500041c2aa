"""``PoolSpikes_rtl``: this project's RTL backend of FINN's Pool for max-pooling of spikes (rtl_templates/pool).

FINN's Pool has an HLS backend only. For {0, 1} spikes the max over a window is its OR, so the core is a
counter and an OR per lane, reading FINN's depthwise sliding-window layout (ConvolutionInputGenerator_rtl with
``depthwise=1``). Shapes, datatypes, cycles and the Python execution are FINN's Pool's; this class only emits
code and estimates its own area.
"""

from __future__ import annotations

import numpy as np
from finn.custom_op.fpgadataflow.pool import Pool
from finn.custom_op.fpgadataflow.rtlbackend import RTLBackend
from qonnx.core.datatype import DataType

from toolchain.custom_op.fpgadataflow.rtl import ProjectRTLBackend
from toolchain.errors import QsnnError


class PoolSpikes_rtl(ProjectRTLBackend, Pool, RTLBackend):  # noqa: N801 - FINN's naming rule: <op>_rtl
    CORE, ABSTRACT = "pool", Pool

    def window(self) -> int:
        return int(np.prod(self.get_nodeattr("KernelSize")))

    def check_spikes(self):
        if self.get_nodeattr("Function") != "MaxPool" or self.get_input_datatype() != DataType["BINARY"]:
            raise QsnnError(
                f"{self.onnx_node.name}: the RTL pool is a max-pool of {{0, 1}} spikes (an OR); this node is "
                f"{self.get_nodeattr('Function')} of {self.get_input_datatype().name}: build it with --backend hls"
            )

    def check_folding(self):
        c, pe = self.get_nodeattr("Channels"), self.get_nodeattr("PE")
        if pe < 1 or c % pe:
            raise QsnnError(f"{self.onnx_node.name}: PE={pe} must divide Channels={c}; choose a divisor of {c}")

    # -- estimates: a window counter and one OR and register per lane (Yosys: a few LUTs per lane) ------------
    def lut_estimation(self, fpgapart=None):
        return 2 * self.get_nodeattr("PE") + max(1, int(np.ceil(np.log2(self.window())))) + 4

    def bram_estimation(self, fpgapart=None):
        return 0

    def uram_estimation(self, fpgapart=None):
        return 0

    def dsp_estimation(self, fpgapart=None):
        return 0
