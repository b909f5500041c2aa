"""Neuron models: one module each (its equations, integer and float updates, parameters and hardware hooks),
found by name through a registry. ``toolchain.golden`` runs them; the QONNX/FINN LIF op, the HLS kernel, the RTL
core, the estimates and the memory count read their hooks. How to add one: README, "Adding a neuron model".
"""

from .base import NUMPY, REGISTRY, NeuronModel, Param, get, names, quantize_scalar, register, shift_input, unregister

# isort: off
# the models register themselves on import; this order is the registry's (and --neuron's choices')
from . import lif, cubalif, li  # noqa: E402, F401
# isort: on

__all__ = [
    "NUMPY",
    "REGISTRY",
    "NeuronModel",
    "Param",
    "get",
    "names",
    "quantize_scalar",
    "register",
    "shift_input",
    "unregister",
]
