"""Export a trained network to QONNX: Brevitas ``export_qonnx`` for the synapses, ``LIF`` nodes for neurons.

The graph takes the encoded integer input (N, T, *shape) (UINT8 / INT8 under direct encoding, BINARY
spikes under rate encoding) and returns the last layer's spikes (N, T, classes) (an LI readout layer: its
integer membrane); a conv network's graph takes and returns one time step, (1, H, W, C) -> (1, classes) (see
ExportNet). The readout (spike count, final membrane or first spike; argmax with ties to the lowest index) is
host-side: ``golden.readout``, which the board driver ships. Each synapse exports as Quant(W) -> MatMul (or Conv
between transposes), then Add(bias) with the bias at the weight scale, and the LIF node recovers the integer
accumulator with ``input_scale`` = the weight scale (a power of two, so the recovery is exact).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from toolchain.errors import QsnnError
from toolchain.fsutil import atomic_path

LIF_DOMAIN = "toolchain.custom_op"


class _LIFSymbolic(torch.autograd.Function):
    """Traced as one ``toolchain.custom_op::LIF`` node; its eager value only needs the right shape."""

    @staticmethod
    def forward(ctx, x, attrs):
        return (x > 0).to(x.dtype)

    @staticmethod
    def symbolic(g, x, attrs):
        kw = {}
        for k, v in attrs.items():
            if isinstance(v, list) and not v:
                continue  # an empty per-neuron vector is the attribute's default
            kw[f"{k}_{'s' if isinstance(v, str) else 'f' if isinstance(v, float) else 'i'}"] = v
        out = g.op(f"{LIF_DOMAIN}::LIF", x, **kw)
        out.setType(x.type())  # spikes have the input's shape
        return out


class _ExportLayer(nn.Module):
    def __init__(self, syn, lif_params, pool, frame_steps):
        super().__init__()
        self.syn = syn
        self.op = syn.hardware_op()  # a sum-pool folded into the weights: the layer the hardware computes
        self.pool = tuple(pool)
        self.frames = frame_steps > 0
        w, b, _ = syn.integer_params()
        self.weight_scale = syn.weight_scale()
        self.register_buffer("bias_real", torch.from_numpy(b.astype(np.float32) * np.float32(self.weight_scale)))
        self.attrs = {
            **lif_params.attrs(),
            "input_scale": float(self.weight_scale),
            "frame_steps": int(frame_steps),
        }
        v = syn.recurrent_int()
        if v is not None:  # the recurrence inside the LIF node: V in the integer input's units (accumulator units)
            self.attrs["recurrent_weights"] = [int(a) for a in v.reshape(-1)]

    def forward(self, x):
        if self.frames:  # one frame (1, H, W, C) or (1, features): NHWC, as FINN streams it
            if self.syn.kind == "dense":
                x = torch.flatten(x, 1) if x.dim() > 2 else x
                return _LIFSymbolic.apply(self.op(x) + self.bias_real, self.attrs)
            y = self.op(x.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)
            s = _LIFSymbolic.apply(y + self.bias_real, self.attrs)
            if self.pool == (1, 1):
                return s
            return F.max_pool2d(s.permute(0, 3, 1, 2), self.pool, self.pool).permute(0, 2, 3, 1)
        n, t = x.shape[0], x.shape[1]
        y = self.op(x if x.dim() == 3 else x.reshape(n, t, -1))
        return _LIFSymbolic.apply(y + self.bias_real, self.attrs)


class ExportNet(nn.Module):
    """The integer network of a trained SpikingNet, in a form torch.onnx can trace.

    A dense network's graph carries the time axis: (N, T, features). A conv network's graph is one frame, (1, H, W, C)
    NHWC (a sequence (L, C) as (1, 1, L, C)), because FINN's sliding-window generator takes one image at a time: its
    LIF nodes have ``frame_steps`` = T and keep their state over T consecutive frames.
    """

    def __init__(self, net, steps):
        super().__init__()
        if not net.quantized:
            raise QsnnError("only quantized runs can be exported; train with --weight-bits 1..16")
        net.eval()
        frame_steps = steps if net.synapses[0].kind == "conv" else 0
        self.layers = nn.ModuleList(
            _ExportLayer(syn, lif.params(syn.scale), pool, frame_steps)
            for syn, lif, pool in zip(net.synapses, net.neurons, net.pools)
        )

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x


def input_datatype(encoding: str, bits: int, signed: bool) -> str:
    if encoding == "rate" or (encoding == "events" and bits == 1):
        return "BINARY"
    return f"{'INT' if signed else 'UINT'}{bits}"


def export_model(net, cfg, meta: dict, path, batch: int = 1):
    """Write the QONNX model of a trained quantized network to ``path``; returns the ModelWrapper."""
    from brevitas.export import export_qonnx
    from qonnx.core.datatype import DataType
    from qonnx.util.cleanup import cleanup_model

    import toolchain.custom_op  # noqa: F401  (registers LIF for shape inference)

    # a dense first layer takes the sample flattened (channels-last), so the graph needs no Reshape; a conv
    # network's graph takes one frame (see ExportNet)
    first = net.synapses[0]
    if first.kind == "dense":
        shape = (batch, cfg.data.steps, int(np.prod(meta["shape"])))
    else:
        shape = (1, *first.in_shape)
    path = Path(path)
    with atomic_path(path) as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        export_qonnx(
            ExportNet(net, cfg.data.steps),
            args=torch.zeros(shape),
            export_path=str(tmp.with_suffix(".onnx")),
            dynamo=False,
        )  # the TorchScript exporter honours _LIFSymbolic.symbolic
        model = _finish(tmp.with_suffix(".onnx"), cfg, meta, DataType, cleanup_model)
        _weights_on_grid(model, net)
        tmp.with_suffix(".onnx").unlink()
        model.save(str(tmp))
    return model


def _finish(raw_path, cfg, meta, DataType, cleanup_model):
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.transformation.infer_datatypes import InferDataTypes
    from qonnx.transformation.infer_shapes import InferShapes

    from toolchain.custom_op.lif import frame_steps

    model = cleanup_model(ModelWrapper(str(raw_path)))
    dt = input_datatype(cfg.data.encoding, meta["input_bits"], meta["input_signed"])
    model.set_tensor_datatype(model.graph.input[0].name, DataType[dt])
    model = model.transform(InferShapes()).transform(InferDataTypes())
    for i, node in enumerate(model.graph.node):
        if node.op_type == "LIF":
            node.name = f"LIF_{sum(n.op_type == 'LIF' for n in model.graph.node[:i])}"
    model.set_metadata_prop("qsnn.readout", "host: spike count over axis 1 (T), argmax, ties to lowest index")
    model.set_metadata_prop("qsnn.steps", str(cfg.data.steps))
    layout = "one frame (time step) per graph run" if frame_steps(model) else "(N, T, features)"
    model.set_metadata_prop("qsnn.layout", layout)
    model.set_metadata_prop("qsnn.encoding", cfg.data.encoding)
    return model


def _weights_on_grid(model, net):
    """Store each Quant node's float weight exactly as W_int * scale.

    Brevitas exports ``rounding_mode=ROUND`` whatever float_to_int the layer trained with (FLOOR,
    stochastic), so a float weight between grid points could round to another integer than the one
    the network computed with. On-grid weights make every rounding mode give the trained integers.
    """
    quants = [
        n
        for n in model.graph.node
        if n.op_type in ("Quant", "BipolarQuant") and model.get_initializer(n.input[0]) is not None
    ]
    consumers = [model.find_consumer(q.output[0]) for q in quants]
    order = [c.op_type for c in consumers]
    synapses = [s for s in net.synapses]
    if len(quants) != len(synapses):
        raise QsnnError(f"export found {len(quants)} weight quantizers for {len(synapses)} layers ({order})")
    for q, cons, syn in zip(
        sorted(quants, key=lambda n: _node_index(model, model.find_consumer(n.output[0]))),
        sorted(consumers, key=lambda n: _node_index(model, n)),
        synapses,
    ):
        w = syn.hardware_weights(syn.integer_params()[0])
        w_real = (w * syn.weight_scale()).astype(np.float32)
        current = model.get_initializer(q.input[0])
        if cons.op_type == "MatMul":
            w_real = w_real.T
        if current.shape != w_real.shape:
            raise QsnnError(f"export: weight of {cons.name} has shape {current.shape}, expected {w_real.shape}")
        model.set_initializer(q.input[0], w_real)


def _node_index(model, node):
    return list(model.graph.node).index(node)
