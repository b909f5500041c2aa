"""One LIF layer as every backend sees it: its neuron parameters, size, bias, input type and folding.

The QONNX / FINN ops make it (``LIF.layer_spec``); the HLS kernel's config header and the RTL core's
parameters are both rendered from ``context()``, so the two backends read one description.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from toolchain.errors import QsnnError
from toolchain.estimate.storage import memory_style
from toolchain.golden import LEAK, RESET, ROUNDING, NeuronParams


def signed_bits(max_abs) -> int:
    """The two's-complement width holding -max_abs..max_abs (2 at least)."""
    return max(2, int(max_abs).bit_length() + 1)


def recurrent_widths(v) -> tuple[int, int]:
    """A recurrent layer's V: (the width of its entries, the width of any V s[t-1], a row's absolute sum)."""
    a = np.abs(np.asarray(v, dtype=np.int64))
    return signed_bits(a.max(initial=0)), signed_bits(a.sum(axis=1).max(initial=0))


@dataclass
class LayerSpec:
    """What the HLS kernel needs to know about one LIF layer."""

    name: str
    params: NeuronParams
    channels: int
    steps: int
    bias: np.ndarray  # (bias channels,) integers: neuron i takes bias[i mod len(bias)] (conv: one per channel)
    in_bits: int
    in_signed: bool = True
    pe: int = 1
    mem_style: str = "auto"
    recurrent: np.ndarray | None = None  # a recurrent layer's V (channels, channels): I[t] + V s[t-1]

    def validate(self) -> LayerSpec:
        self.params.validate(f"LIF layer {self.name}")
        nb = len(self.bias)
        if not self.params.channels_ok(nb):
            raise QsnnError(
                f"LIF layer {self.name}: its per-neuron threshold/beta vectors need one value per channel ({nb})"
            )
        if self.pe < 1 or nb % self.pe or self.channels % max(nb, 1):
            raise QsnnError(
                f"LIF layer {self.name}: PE={self.pe} must divide {nb} channels, and they the {self.channels} "
                "neurons per step"
            )
        if not 1 <= self.in_bits <= 64:
            raise QsnnError(f"LIF layer {self.name}: input width {self.in_bits} is out of range 1..64")
        if self.recurrent is not None and (
            self.recurrent.shape != (self.channels, self.channels) or len(self.bias) != self.channels
        ):
            raise QsnnError(
                f"LIF layer {self.name}: recurrent weights {self.recurrent.shape} need a dense layer of "
                f"({self.channels}, {self.channels})"
            )
        return self

    @property
    def recurrent_bits(self) -> int:
        """Signed width of V's entries (2 at least)."""
        return 2 if self.recurrent is None else recurrent_widths(self.recurrent)[0]

    @property
    def recurrent_sum_bits(self) -> int:
        """Signed width holding any V s[t-1] (a row's absolute sum)."""
        return 2 if self.recurrent is None else recurrent_widths(self.recurrent)[1]

    def neuron_bias(self) -> np.ndarray:
        """The bias of every neuron of a frame (a conv layer's per-channel bias repeated over its pixels)."""
        return np.tile(self.bias.astype(np.int64), self.channels // len(self.bias))

    @property
    def bias_bits(self) -> int:
        return signed_bits(np.abs(self.bias).max(initial=0))

    @property
    def ap_int_max_w(self) -> int:
        """ap_int's width limit for this layer's streams (the headers' default, 1024, unless wider)."""
        return max(1024, self.pe * self.in_bits, self.pe * self.params.model.out_bits(self.params))

    def _rows(self, values) -> list:
        """A per-channel vector as the kernel's ROM rows [C / PE][PE] (decimal strings), or [] if per layer."""
        if not values:
            return []
        return [[str(int(v)) for v in row] for row in np.asarray(values, dtype=np.int64).reshape(-1, self.pe)]

    def context(self) -> dict:
        p = self.params
        alpha, alphas = getattr(p, "alpha_int", 0), getattr(p, "alpha_ints", ())  # CubaLIF's; 0 for other models
        b = self.bias.astype(np.int64).reshape(len(self.bias) // self.pe, self.pe)
        wide = (
            max(
                p.membrane_bits + 1,
                self.in_bits + (0 if self.in_signed else 1),
                self.bias_bits,
                p.input_shift + 1,
                self.recurrent_sum_bits,
            )
            + 3
        )
        return {
            "name": self.name,
            "ap_int_max_w": self.ap_int_max_w,
            "channels": self.channels,
            "bias_channels": len(self.bias),
            "pe": self.pe,
            "steps": self.steps,
            "membrane_bits": p.membrane_bits,
            "in_bits": self.in_bits,
            "out_bits": p.model.out_bits(p),
            "wide_bits": wide,
            "threshold": p.threshold,
            "input_shift": p.input_shift,
            "neuron_model": p.neuron_model,
            "neuron_header": neuron_header(p.model),
            "neuron_struct": p.model.hls_struct,
            "leak": LEAK.cpp(p.leak_mode),
            "leak_shift": p.leak_shift,
            "beta_int": p.beta_int,
            "beta_frac_bits": p.beta_frac_bits,
            "rounding": ROUNDING.cpp(p.rounding),
            "reset": RESET.cpp(p.reset),
            "seed": p.seed & 0xFFFFFFFF,
            "in_type": f"ap_{'' if self.in_signed else 'u'}int<{self.in_bits}>",
            "bias_bits": self.bias_bits,
            "bias_rows": [[str(int(v)) for v in row] for row in b],
            # the kernel's <name>_rom(row, lane): the neuron's threshold, beta_int and alpha_int (CubaLIF's)
            "roms": [
                {"name": name, "bits": p.vector_bits(vec), "rows": self._rows(values), "scalar": scalar}
                for name, vec, values, scalar in (
                    ("threshold", "thresholds", p.thresholds, p.threshold),
                    ("beta", "beta_ints", p.beta_ints, p.beta_int),
                    ("alpha", "alpha_ints", alphas, alpha),
                )
            ],
            "mem_style": memory_style(self.pe * p.membrane_bits, self.channels // self.pe, self.mem_style),
            # a recurrent layer's V, one ROM row per neuron (its weights from each neuron's spike of the step before)
            "recurrent": self.recurrent is not None,
            "recurrent_bits": self.recurrent_bits,
            "recurrent_rows": []
            if self.recurrent is None
            else [[str(int(v)) for v in row] for row in self.recurrent.astype(np.int64)],
        }


def neuron_header(model) -> str:
    """The file name a neuron model's HLS update (hls_templates/neurons/<header>) takes beside the kernel."""
    return f"neuron_{model.hls_header}"
