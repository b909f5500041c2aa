"""qsnn_driver: numpy-only PYNQ driver for qsnn-pynq bundles (``SNNAccelerator``)."""

from .driver import DriverError, SNNAccelerator

__all__ = ["DriverError", "SNNAccelerator"]
__version__ = "0.1.0"
