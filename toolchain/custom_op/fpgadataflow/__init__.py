"""FINN HW ops of this project, plugged into FINN's own domains on import.

FINN decides by node domain (finn-plus 1.6.1): HW nodes must sit in ``finn.custom_op.fpgadataflow``
(abstract) and ``finn.custom_op.fpgadataflow.hls`` (backend), and SpecializeLayers picks a backend
from the ``custom_op`` dict of ``finn.custom_op.fpgadataflow.hls``. ``register()`` adds our classes to
qonnx's registry for both domains and to those dicts; ``import toolchain`` calls it.
"""

from toolchain.custom_op.fpgadataflow.lif import LIF

__all__ = ["LIF", "register"]

FINN_DOMAIN = "finn.custom_op.fpgadataflow"
FINN_HLS_DOMAIN = "finn.custom_op.fpgadataflow.hls"


def register() -> None:
    import finn.custom_op.fpgadataflow as fdf
    import finn.custom_op.fpgadataflow.hls as fdf_hls
    from qonnx.custom_op.registry import add_op_to_domain

    from toolchain.custom_op.fpgadataflow.hls.lif_hls import LIF_hls
    from toolchain.custom_op.fpgadataflow.hls.mvau_hls import MVAU_hls

    add_op_to_domain(FINN_DOMAIN, LIF)
    add_op_to_domain(FINN_HLS_DOMAIN, LIF_hls)
    add_op_to_domain(FINN_HLS_DOMAIN, MVAU_hls)  # FINN's, plus {0,1} spike inputs (see mvau_hls.py)
    fdf.custom_op["LIF"] = LIF
    fdf_hls.custom_op["LIF_hls"] = LIF_hls
    fdf_hls.custom_op["MVAU_hls"] = MVAU_hls
