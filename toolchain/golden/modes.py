"""The mode enums of the neuron and the readout, declared once: the CLI's choices, the QONNX op's allowed
values, the C++ enum constants of hls_templates and the Verilog parameter codes all read these.

A mode's code is its index in ``values``: the value of the C++ enum constant ``<PREFIX>_<VALUE>`` in
hls_templates/neuron_layer.hpp and of the Verilog parameter in rtl_templates/lif/hdl/qsnn_lif.v.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import QsnnError


@dataclass(frozen=True)
class Modes:
    attr: str  # the QONNX attribute / config field it is the value of
    values: tuple[str, ...]
    cpp_prefix: str = ""  # C++ enum constants PREFIX_VALUE; "" where the hardware never sees the mode

    def code(self, value: str) -> int:
        """The integer code of ``value`` in C++ and Verilog."""
        return self.values.index(self.check(value))

    def cpp(self, value: str) -> str:
        """The C++ enum constant of ``value``, e.g. ROUND_STOCHASTIC."""
        return f"{self.cpp_prefix}_{self.check(value).upper().replace('-', '_')}"

    def check(self, value, where: str = "") -> str:
        if value not in self.values:
            raise QsnnError(
                f"{where + ': ' if where else ''}{self.attr}={value!r} is not one of {', '.join(self.values)}"
            )
        return value


LEAK = Modes("leak_mode", ("none", "shift", "beta"), "LEAK")
ROUNDING = Modes("rounding", ("floor", "nearest", "stochastic"), "ROUND")
RESET = Modes("reset", ("subtract", "zero"), "RESET")
READOUT = Modes("readout", ("count", "membrane", "first-spike"))

LEAK_MODES, ROUNDINGS, RESETS, READOUTS = LEAK.values, ROUNDING.values, RESET.values, READOUT.values
