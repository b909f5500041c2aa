"""qsnn-pynq: quantized spiking neural networks from Brevitas to PYNQ boards, bit-exact at every stage.

``import toolchain`` is light: it imports neither FINN nor torch. The QONNX ``LIF`` op needs nothing
(qonnx finds ``toolchain.custom_op`` by its domain); importing ``toolchain.custom_op.fpgadataflow``
plugs this project's HW ops into FINN (the flow's modules do).
"""

__version__ = "0.1.0"
