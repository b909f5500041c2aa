"""Export a trained network to QONNX: Brevitas ``export_qonnx`` for the synapses, ``LIF`` nodes for neurons.

The graph takes the encoded integer input (N, T, *shape) (UINT8 / INT8 under direct encoding, BINARY
spikes under rate encoding) and returns the last layer's spikes (N, T, classes). The readout (spike
count over T, argmax with ties to the lowest index) is host-side: ``readout(spikes)`` here, and the
board driver's own copy. Each synapse exports as Quant(W) -> MatMul (or Conv between transposes), then
Add(bias) with the bias at the weight scale, and the LIF node recovers the integer accumulator with
``input_scale`` = the weight scale (a power of two, so the recovery is exact).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import torch
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
            kw[f"{k}_{'s' if isinstance(v, str) else 'f' if isinstance(v, float) else 'i'}"] = v
        out = g.op(f"{LIF_DOMAIN}::LIF", x, **kw)
        out.setType(x.type())  # spikes have the input's shape
        return out


class _ExportLayer(nn.Module):
    def __init__(self, syn, lif_params):
        super().__init__()
        self.syn = syn
        w, b, _ = syn.integer_params()
        self.weight_scale = syn.weight_scale()
        self.register_buffer("bias_real", torch.from_numpy(b.astype(np.float32) * np.float32(self.weight_scale)))
        self.attrs = {
            **{k: getattr(lif_params, k) for k in lif_params.__dataclass_fields__},
            "input_scale": float(self.weight_scale),
        }

    def forward(self, x):
        n, t = x.shape[0], x.shape[1]
        if self.syn.kind == "dense":
            y = self.syn.op(x if x.dim() == 3 else x.reshape(n, t, -1))
        else:
            h, w, c = self.syn.in_shape
            y = self.syn.op(x.reshape(n * t, h, w, c).permute(0, 3, 1, 2)).permute(0, 2, 3, 1)
            y = y.reshape((n, t) + tuple(self.syn.out_shape))
        return _LIFSymbolic.apply(y + self.bias_real, self.attrs)


class ExportNet(nn.Module):
    """The integer network of a trained SpikingNet, in a form torch.onnx can trace."""

    def __init__(self, net):
        super().__init__()
        if not net.quantized:
            raise QsnnError("only quantized runs can be exported; train with --weight-bits 1..16")
        net.eval()
        self.layers = nn.ModuleList(
            _ExportLayer(syn, lif.params(syn.scale)) for syn, lif in zip(net.synapses, net.neurons)
        )

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x


def input_datatype(encoding: str, bits: int, signed: bool) -> str:
    if encoding == "rate":
        return "BINARY"
    return f"{'INT' if signed else 'UINT'}{bits}"


def export_model(net, cfg, meta: dict, path, batch: int = 1):
    """Write the QONNX model of a trained quantized network to ``path``; returns the ModelWrapper."""
    from brevitas.export import export_qonnx
    from qonnx.core.datatype import DataType
    from qonnx.util.cleanup import cleanup_model

    import toolchain.custom_op  # noqa: F401  (registers LIF for shape inference)

    # a dense first layer takes the sample flattened (channels-last), so the graph needs no Reshape
    flat = net.synapses[0].kind == "dense"
    shape = (batch, cfg.data.steps, *([int(np.prod(meta["shape"]))] if flat else meta["shape"]))
    path = Path(path)
    with atomic_path(path) as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        export_qonnx(
            ExportNet(net), args=torch.zeros(shape), export_path=str(tmp.with_suffix(".onnx")), dynamo=False
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

    model = cleanup_model(ModelWrapper(str(raw_path)))
    dt = input_datatype(cfg.data.encoding, meta["input_bits"], meta["input_signed"])
    model.set_tensor_datatype(model.graph.input[0].name, DataType[dt])
    model = model.transform(InferShapes()).transform(InferDataTypes())
    for i, node in enumerate(model.graph.node):
        if node.op_type == "LIF":
            node.name = f"LIF_{sum(n.op_type == 'LIF' for n in model.graph.node[:i])}"
    model.set_metadata_prop("qsnn.readout", "host: spike count over axis 1 (T), argmax, ties to lowest index")
    model.set_metadata_prop("qsnn.steps", str(cfg.data.steps))
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
        w, _, _ = syn.integer_params()
        w_real = (w * syn.weight_scale()).astype(np.float32)
        current = model.get_initializer(q.input[0])
        if cons.op_type == "MatMul":
            w_real = w_real.T
        if current.shape != w_real.shape:
            raise QsnnError(f"export: weight of {cons.name} has shape {current.shape}, expected {w_real.shape}")
        model.set_initializer(q.input[0], w_real)


def _node_index(model, node):
    return list(model.graph.node).index(node)


def readout(spikes: np.ndarray) -> np.ndarray:
    """(N, T, classes) spikes -> (N, classes) integer spike counts (argmax of these is the prediction)."""
    return np.asarray(spikes).reshape(spikes.shape[0], spikes.shape[1], -1).sum(axis=1).astype(np.int64)


def execute_qonnx(model, x_encoded: np.ndarray, batch: int | None = None) -> np.ndarray:
    """Node-by-node qonnx execution over (N, T, ...) encoded inputs -> spike counts (N, classes)."""
    from qonnx.core.onnx_exec import execute_onnx

    iname, oname = model.graph.input[0].name, model.graph.output[0].name
    b = model.get_tensor_shape(iname)[0] if batch is None else batch
    out = []
    for s in range(0, len(x_encoded), b):
        chunk = x_encoded[s : s + b].astype(np.float32)
        pad = b - len(chunk)
        if pad:
            chunk = np.concatenate([chunk, np.zeros((pad, *chunk.shape[1:]), np.float32)])
        res = execute_onnx(model, {iname: chunk})[oname]
        out.append(readout(res)[: b - pad])
    return np.concatenate(out)
