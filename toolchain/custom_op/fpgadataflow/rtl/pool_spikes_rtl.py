"""``PoolSpikes_rtl``: this project's RTL backend of FINN's Pool for max-pooling of spikes (rtl_templates/pool).

FINN's Pool has an HLS backend only. For {0, 1} spikes the max over a window is its OR, so the core is a
counter and an OR per lane, reading FINN's depthwise sliding-window layout (ConvolutionInputGenerator_rtl with
``depthwise=1``). Checks and estimates are PoolSpikes'; this class only emits code.
"""

from __future__ import annotations

from finn.custom_op.fpgadataflow.rtlbackend import RTLBackend

from toolchain.custom_op.fpgadataflow.pool_spikes import PoolSpikes
from toolchain.custom_op.fpgadataflow.rtl import ProjectRTLBackend


class PoolSpikes_rtl(ProjectRTLBackend, PoolSpikes, RTLBackend):  # noqa: N801 - FINN's naming rule: <op>_rtl
    CORE, ABSTRACT = "pool", PoolSpikes
