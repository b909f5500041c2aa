"""qsnn-pynq: quantized spiking neural networks from Brevitas to PYNQ boards, bit-exact at every stage."""

__version__ = "0.1.0"
