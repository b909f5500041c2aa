"""qsnn-pynq: quantized spiking neural networks from Brevitas to PYNQ boards, bit-exact at every stage.

Importing ``toolchain`` plugs this project's HW ops into FINN (when finn-plus is installed); the
QONNX ``LIF`` op needs nothing: qonnx finds ``toolchain.custom_op`` by its domain.
"""

__version__ = "0.1.0"


def _register_finn_ops():
    try:
        import finn  # noqa: F401
    except ImportError:  # FINN is optional for training, export and the golden model
        return
    from toolchain.custom_op.fpgadataflow import register

    register()


_register_finn_ops()
