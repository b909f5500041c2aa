"""QONNX custom ops of this project (domain ``toolchain.custom_op``), found through ``__all__``.

qonnx imports this module when it meets a node of this domain, so ``execute_onnx`` runs exported
networks without any setup.
"""

from toolchain.custom_op.lif import LIF

__all__ = ["LIF"]
