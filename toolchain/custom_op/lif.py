"""The QONNX ``LIF`` op (domain ``toolchain.custom_op``): fixed-point leaky integrate-and-fire neurons.

Input 0 ``x``: synaptic input, shape (N, T, C) or (N, T, ..., C), float32 holding ``input_scale * I``
with I integer; output 0: spikes of the same shape, 0.0 / 1.0 (a readout model, LI: its integer membrane).
With ``frame_steps`` T > 0 the input is a batch of frames (F, ..., C) instead, T consecutive frames per sample
(conv graphs, one frame per step).
For every neuron i (flat, row-major over the non-batch, non-time dims) and t = 0..T-1 of each sample:

    I[t]  = round(x[t] / input_scale)
    the update of the neuron model ``neuron_model`` names (toolchain/golden/neurons); "lif", DESIGN.md's, is:
    V[-1] = 0
    L     = leak(V[t-1])   none: V | shift: V - (V >> leak_shift) | beta: R(V * beta_int, beta_frac_bits)
            (threshold and beta_int per neuron: thresholds[c], beta_ints[c] of the neuron's channel c, if given;
            CubaLIF's alpha_int likewise: alpha_ints[c])
    U     = min(max(L + R(I[t], k), -2^(B-1)), 2^(B-1) - 1)      B = membrane_bits, k = input_shift (R(I, 0) = I)
    s[t]  = 1 if U >= threshold else 0
    V[t]  = U - threshold (reset "subtract") or 0 (reset "zero") if s[t], else U
    A recurrent node (``recurrent_weights`` V, C x C) adds its own spikes of the step before: I[t] + V s[t-1],
    s[-1] = 0, before R(., k).

R(y, F) is floor: y >> F, nearest: (y + 2^(F-1)) >> F, stochastic: (y + r) >> F with
r = fmix32(seed ^ t*0x9E3779B1 ^ i*0x85EBCA77) mod 2^F (for R(I, k): the hash's top k bits). The numpy
execution is ``toolchain.golden.run_neurons``.
"""

from __future__ import annotations

import numpy as np
from onnx import helper
from qonnx.core.datatype import DataType
from qonnx.custom_op.base import CustomOp

from toolchain.errors import QsnnError
from toolchain.golden import LEAK, RESET, ROUNDING, NeuronParams, neurons, run_neurons

LIF_ATTRS = {
    "membrane_bits": ("i", True, 16),
    "threshold": ("i", True, 1),
    "leak_mode": ("s", False, "none", set(LEAK.values)),
    "leak_shift": ("i", False, 1),
    "beta_int": ("i", False, 0),
    "beta_frac_bits": ("i", False, 8),
    "rounding": ("s", False, "floor", set(ROUNDING.values)),
    "seed": ("i", False, 0),
    "reset": ("s", False, "subtract", set(RESET.values)),
    "input_shift": ("i", False, 0),
    "neuron_model": ("s", False, "lif", set(neurons.names())),
    # per-neuron threshold and beta_int, one per channel (empty: the scalar attributes above, for every neuron)
    "thresholds": ("ints", False, []),
    "beta_ints": ("ints", False, []),
    # each registered model's own attributes (CubaLIF's alpha_int and per-neuron alpha_ints): toolchain/golden/neurons
    **{
        k: ("ints", False, list(d)) if isinstance(d, tuple) else ("i", False, d)
        for m in neurons.REGISTRY.values()
        for k, d in m.attrs.items()
    },
    "input_scale": ("f", False, 1.0),
    # a recurrent layer's V, C x C row-major (V[i][j]: from neuron j's spike at t-1 into neuron i), in the integer
    # input's units: I[t] + V s[t-1] (empty: feed-forward). The recurrence stays inside the node (graphs are acyclic)
    "recurrent_weights": ("ints", False, []),
    # 0: the input carries the time axis, (N, T, ..., C); T > 0: the input is a batch of frames (F, ..., C) with T
    # consecutive frames per sample (conv graphs: FINN's sliding window takes one (1, H, W, C) frame at a time)
    "frame_steps": ("i", False, 0),
}
PARAM_NAMES = [k for k in LIF_ATTRS if k not in ("input_scale", "frame_steps", "recurrent_weights")]
EXACT_LIMIT = 2**22  # |I| below this is recovered exactly from float32 x / input_scale


def read_lif_params(op: CustomOp) -> NeuronParams:
    """The node's attributes as validated NeuronParams; errors name the node and the attribute."""
    where = f"LIF node '{op.onnx_node.name}'"
    values = {}
    for name in PARAM_NAMES:
        try:
            values[name] = op.get_nodeattr(name)
        except AssertionError:
            allowed = sorted(op.get_nodeattr_allowed_values(name))
            raise QsnnError(f"{where}: attribute {name} is not one of {', '.join(allowed)}") from None
    model = neurons.get(values["neuron_model"], f"{where}: neuron_model")
    other = {k for m in neurons.REGISTRY.values() for k in m.attrs} - set(model.attrs)
    return NeuronParams.from_attrs({k: v for k, v in values.items() if k not in other}).validate(where)


def read_recurrent(op: CustomOp, channels: int) -> np.ndarray | None:
    """The node's V (channels x channels int64), or None for a feed-forward node; a wrong length names the node."""
    flat = op.get_nodeattr("recurrent_weights")
    if not len(flat):
        return None
    if len(flat) != channels * channels:
        raise QsnnError(
            f"LIF node '{op.onnx_node.name}': recurrent_weights holds {len(flat)} values, not {channels} x {channels} "
            "(one per pair of the layer's neurons); re-export the model"
        )
    return np.asarray(flat, dtype=np.int64).reshape(channels, channels)


def output_datatype(p: NeuronParams) -> DataType:
    """BINARY spikes, or the signed membrane of a readout model (LI), at the model's ``out_bits``."""
    bits = p.model.out_bits(p)
    return DataType["BINARY"] if bits == 1 else DataType[f"INT{bits}"]


def recover_integers(x: np.ndarray, scale: float, where: str) -> np.ndarray:
    """I = round(x / scale), checking that x really holds integer multiples of scale."""
    if scale <= 0:
        raise QsnnError(f"{where}: input_scale must be positive, got {scale}")
    q = np.asarray(x, dtype=np.float64) / scale
    i = np.rint(q)
    if q.size and (np.abs(q - i).max() > 1e-3 or np.abs(i).max() >= EXACT_LIMIT):
        raise QsnnError(
            f"{where}: input is not an exact integer multiple of input_scale={scale} "
            f"(or exceeds 2^22 units); check the graph's scales"
        )
    return i.astype(np.int64)


def frame_steps(model) -> int:
    """T if the graph is one frame per run (its LIF nodes, QONNX or HW, have ``frame_steps`` = T), else 0."""
    from qonnx.util.basic import get_by_name

    found = [get_by_name(n.attribute, "frame_steps") for n in model.graph.node if n.op_type.startswith("LIF")]
    return max((a.i for a in found if a is not None), default=0)


def graph_steps(model, steps: int) -> int:
    """The time steps one run of the graph covers: 1 for a one-frame conv graph, all T for a dense graph."""
    return 1 if frame_steps(model) else steps


def by_sample(x: np.ndarray, frame_steps: int, name: str) -> np.ndarray:
    """The input as (N, T, ...): as it is, or its frames grouped T = ``frame_steps`` per sample."""
    if frame_steps > 0:
        if x.shape[0] % frame_steps:
            raise QsnnError(f"LIF node '{name}': {x.shape[0]} frames are not whole samples of {frame_steps} steps")
        return x.reshape((x.shape[0] // frame_steps, frame_steps) + x.shape[1:])
    if x.ndim < 3:
        raise QsnnError(f"LIF node '{name}': input shape {x.shape} is not (N, T, ..., C)")
    return x


class LIF(CustomOp):
    __doc__ = __doc__

    def get_nodeattr_types(self):
        return dict(LIF_ATTRS)

    def make_shape_compatible_op(self, model):
        node = self.onnx_node
        return helper.make_node("Relu", [node.input[0]], [node.output[0]])

    def infer_node_datatype(self, model):
        model.set_tensor_datatype(self.onnx_node.output[0], output_datatype(read_lif_params(self)))

    def execute_node(self, context, graph):
        node = self.onnx_node
        x = context[node.input[0]]
        params = read_lif_params(self)
        current = recover_integers(x, self.get_nodeattr("input_scale"), f"LIF node '{node.name}'")
        recurrent = read_recurrent(self, x.shape[-1])
        context[node.output[0]] = (
            run_neurons(by_sample(current, self.get_nodeattr("frame_steps"), node.name), params, recurrent=recurrent)
            .reshape(x.shape)
            .astype(np.float32)
        )

    def verify_node(self):
        try:
            read_lif_params(self)
        except QsnnError as e:
            return [str(e)]
        return ["LIF node attributes are valid"]
