"""FINN HW ops of this project, plugged into FINN's own domains when this package is imported.

FINN decides by node domain (finn-plus 1.6.1): HW nodes must sit in ``finn.custom_op.fpgadataflow``
(abstract) and ``finn.custom_op.fpgadataflow.hls`` (backend), and SpecializeLayers picks a backend
from the ``custom_op`` dict of ``finn.custom_op.fpgadataflow.hls``. Importing this package adds this
project's classes to qonnx's registry for those domains (and ``...fpgadataflow.rtl``) and to those dicts,
under new keys only (``LIFLayer``, ``LIFLayer_hls``, ``LIFLayer_rtl``, ``MVAUSpike_hls``, ``MVAUSynapse_rtl``,
``PoolSpikes_hls``, ``PoolSpikes_rtl``):
FINN's own entries are never replaced. ``import toolchain`` stays free of FINN; the flow's modules import this package.
"""

import finn.custom_op.fpgadataflow as _fdf
import finn.custom_op.fpgadataflow.hls as _fdf_hls
import finn.custom_op.fpgadataflow.rtl as _fdf_rtl
from qonnx.custom_op.registry import add_op_to_domain

from toolchain.custom_op.fpgadataflow.hls.lif_layer_hls import LIFLayer_hls
from toolchain.custom_op.fpgadataflow.hls.mvau_spike_hls import MVAUSpike_hls
from toolchain.custom_op.fpgadataflow.hls.pool_spikes_hls import PoolSpikes_hls
from toolchain.custom_op.fpgadataflow.lif_layer import LIFLayer
from toolchain.custom_op.fpgadataflow.rtl.lif_layer_rtl import LIFLayer_rtl
from toolchain.custom_op.fpgadataflow.rtl.mvau_synapse_rtl import MVAUSynapse_rtl
from toolchain.custom_op.fpgadataflow.rtl.pool_spikes_rtl import PoolSpikes_rtl

__all__ = [
    "LIFLayer",
    "LIFLayer_hls",
    "LIFLayer_rtl",
    "MVAUSpike_hls",
    "MVAUSynapse_rtl",
    "PoolSpikes_hls",
    "PoolSpikes_rtl",
]

FINN_DOMAIN = "finn.custom_op.fpgadataflow"
FINN_HLS_DOMAIN = "finn.custom_op.fpgadataflow.hls"
FINN_RTL_DOMAIN = "finn.custom_op.fpgadataflow.rtl"


def _extend(registry: dict, name: str, cls) -> None:
    if registry.get(name, cls) is not cls:
        raise RuntimeError(f"FINN already has an op named {name}; qsnn-pynq will not replace it")
    registry[name] = cls


def _register() -> None:
    _extend(_fdf.custom_op, "LIFLayer", LIFLayer)
    _extend(_fdf_hls.custom_op, "LIFLayer_hls", LIFLayer_hls)
    _extend(_fdf_hls.custom_op, "MVAUSpike_hls", MVAUSpike_hls)
    _extend(_fdf_hls.custom_op, "PoolSpikes_hls", PoolSpikes_hls)
    _extend(_fdf_rtl.custom_op, "LIFLayer_rtl", LIFLayer_rtl)
    _extend(_fdf_rtl.custom_op, "MVAUSynapse_rtl", MVAUSynapse_rtl)
    _extend(_fdf_rtl.custom_op, "PoolSpikes_rtl", PoolSpikes_rtl)
    add_op_to_domain(FINN_DOMAIN, LIFLayer)
    add_op_to_domain(FINN_HLS_DOMAIN, LIFLayer_hls)
    add_op_to_domain(FINN_HLS_DOMAIN, MVAUSpike_hls)
    add_op_to_domain(FINN_HLS_DOMAIN, PoolSpikes_hls)
    add_op_to_domain(FINN_RTL_DOMAIN, LIFLayer_rtl)
    add_op_to_domain(FINN_RTL_DOMAIN, MVAUSynapse_rtl)
    add_op_to_domain(FINN_RTL_DOMAIN, PoolSpikes_rtl)


_register()
