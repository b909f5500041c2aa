"""``PoolSpikes``: FINN's Pool restricted to what a spiking network pools, a max over {0, 1} spikes (an OR).

Shapes, datatypes, cycles and the Python execution are FINN's Pool's; this class adds the checks and the area
estimate its two backends share (``PoolSpikes_hls``, ``PoolSpikes_rtl``): a window counter and one OR and
register per lane. It is not registered as an op of its own: graphs hold FINN's ``Pool`` until a backend is
chosen, and a node run in Python runs as FINN's Pool.
"""

from __future__ import annotations

import numpy as np
from finn.custom_op.fpgadataflow.pool import Pool
from qonnx.core.datatype import DataType

from toolchain.errors import QsnnError


def is_spike_max_pool(op) -> bool:
    """Whether the Pool node ``op`` is a max-pool of {0, 1} spikes, which the project's pool backends take."""
    return op.get_nodeattr("Function") == "MaxPool" and op.get_input_datatype() == DataType["BINARY"]


class PoolSpikes(Pool):
    def window(self) -> int:
        return int(np.prod(self.get_nodeattr("KernelSize")))

    def stream_order(self, x: np.ndarray) -> np.ndarray:
        """``x`` (the graph's tensor: FINN's Pool layout, per output pixel K window positions x C channels, as
        Im2Col lays them out) in the order FINN's depthwise sliding window streams it and the kernels read it: per
        channel fold, its K positions of PE channels. The same array where PE = C."""
        k, c, pe = self.window(), self.get_nodeattr("Channels"), self.get_nodeattr("PE")
        return x.reshape(*x.shape[:-1], k, c // pe, pe).swapaxes(-3, -2).reshape(x.shape)

    def check_spikes(self):
        if not is_spike_max_pool(self):
            raise QsnnError(
                f"{self.onnx_node.name}: this pool is a max-pool of {{0, 1}} spikes (an OR); the node is "
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
