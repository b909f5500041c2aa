"""The integer network: layers of synapses and neurons run over time, the readout, and the npz file format."""

from __future__ import annotations

import io
import json
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import neurons
from .arith import conv_out, conv_weight_matrix, encode, exact_matmul, hash_table, im2col, max_pool
from .errors import QsnnError
from .modes import READOUTS
from .params import NeuronParams


def run_neurons(current: np.ndarray, p: NeuronParams, return_membrane: bool = False, recurrent=None):
    """Run a layer of ``p.neuron_model`` neurons (toolchain/golden/neurons) over time: current (N, T, ...) integers ->
    spikes (N, T, ...) in {0, 1} (a non-spiking readout model: its membrane). The input shift R(I, k) comes first,
    for every model; the model's step then sees one time step, and the hash row of its neurons if stochastic.

    ``recurrent`` (a recurrent layer's V, (n, n) integers in accumulator units): each step's input is
    I[t] + V s[t-1] (s[-1] = 0), before the input shift, as DESIGN.md's recurrent neuron.
    With ``return_membrane`` also returns V after each step (N, T, ...), for debugging and readout.
    """
    model, ops = p.model, neurons.NUMPY
    current = np.asarray(current).astype(np.int64)
    n, steps = current.shape[:2]
    flat = current.reshape(n, steps, -1)
    size = flat.shape[2]
    h = hash_table(p.seed, steps, size).astype(np.int64) if p.rounding == "stochastic" else None
    p = p.expanded(size)
    state = {name: np.zeros((n, size), dtype=np.int64) for name in model.states}
    out = np.zeros_like(flat)
    membranes = np.zeros_like(flat) if return_membrane else None
    for t in range(steps):
        drive = flat[:, t : t + 1]
        if recurrent is not None and t > 0:
            drive = drive + exact_matmul(out[:, t - 1], np.asarray(recurrent).T)[:, None]
        if p.input_shift:
            drive = neurons.shift_input(drive, p, None if h is None else h[t : t + 1], ops)
        out[:, t] = model.step(state, drive[:, 0], p, None if h is None else h[t], ops)
        if return_membrane:
            membranes[:, t] = state["membrane"]
    out = out.reshape(current.shape)
    if return_membrane:
        return out, membranes.reshape(current.shape)
    return out


def readout(out, kind: str = "count"):
    """The last layer's outputs (N, T, ...) -> integer class scores (N, classes); the prediction is their argmax,
    ties to the lowest index. Numpy arrays or torch tensors (the training network decodes with this same function).

    count:        the spikes summed over the T steps
    membrane:     V[T-1], the membrane of an LI readout layer after the last step
    first-spike:  (T - t_first) * (T + 1) + count, t_first the first step with a spike: the earliest spike wins,
                  ties go to the most spikes; a class that never spikes scores 0
    """
    flat = out.reshape(out.shape[0], out.shape[1], -1)
    if kind == "count":
        return flat.sum(1)
    if kind == "membrane":
        return flat[:, -1]
    if kind == "first-spike":
        steps, count = flat.shape[1], flat.sum(1)
        first = ((flat > 0) * 1).argmax(1)  # the first maximum: the first step with a spike (numpy and torch alike)
        return (steps - first) * (steps + 1) * (count > 0) + count
    raise QsnnError(f"readout {kind!r} is not one of {', '.join(READOUTS)}")


@dataclass
class Layer:
    """One synaptic layer (dense, or conv with a stride and zero-padding per axis) followed by LIF neurons and, for
    conv layers, an optional max-pool of the spikes (window = stride = ``pool``, floor division of the size).

    A Conv1d over a sequence (L, C) is a conv layer on (1, L, C) with a 1 x k kernel. Max-pooling spikes is their
    OR over the window: the output stays binary, and it holds no state, so frames never mix.
    """

    kind: str  # "dense" | "conv"
    weight: np.ndarray  # int64, (out, in) or (out, in, kh, kw)
    bias: np.ndarray  # int64, (out,)
    neuron: NeuronParams  # the layer's neurons (the npz header keeps the key "lif")
    in_shape: tuple[int, ...]  # per time step, channels-last: (in,) or (H, W, C)
    scale: float = 1.0  # real value of one accumulator unit (for reports; not used in the math)
    pool: tuple[int, int] = (1, 1)  # conv: max-pool window and stride (ph, pw) over the spikes
    stride: tuple[int, int] = (1, 1)  # conv: (sh, sw)
    padding: tuple[int, int] = (0, 0)  # conv: zeros on both sides of each axis (ph, pw)
    recurrent: np.ndarray | None = None  # dense: V (out, out), I[t] = W x[t] + b + V s[t-1] (accumulator units)

    @property
    def neuron_shape(self) -> tuple[int, ...]:
        """The shape of the layer's neurons per time step (before pooling)."""
        if self.kind == "dense":
            return (self.weight.shape[0],)
        h, w, _ = self.in_shape
        kh, kw = self.weight.shape[2:]
        ho = conv_out(h, kh, self.stride[0], self.padding[0])
        return (ho, conv_out(w, kw, self.stride[1], self.padding[1]), self.weight.shape[0])

    @property
    def out_shape(self) -> tuple[int, ...]:
        if self.kind == "dense":
            return self.neuron_shape
        h, w, c = self.neuron_shape
        return (h // self.pool[0], w // self.pool[1], c)

    def current(self, x: np.ndarray) -> np.ndarray:
        """Synaptic input I = W x + b for x of shape (N, T, *in_shape)."""
        n, steps = x.shape[:2]
        if self.kind == "dense":
            i = exact_matmul(x.reshape(n * steps, -1), self.weight.T)
        else:
            kh, kw = self.weight.shape[2:]
            cols = im2col(x.reshape((n * steps,) + self.in_shape), (kh, kw), self.stride, self.padding)
            i = exact_matmul(cols, conv_weight_matrix(self.weight).T)
        return (i + self.bias).reshape((n, steps) + self.neuron_shape)

    def output(self, spikes: np.ndarray) -> np.ndarray:
        """The layer's output from its neurons' spikes (N, T, *neuron_shape): max-pooled for conv layers."""
        return max_pool(spikes, self.pool) if self.kind == "conv" else spikes


@dataclass
class GoldenModel:
    """An integer spiking network: encoding, layers, spike-count readout."""

    layers: list[Layer]
    input_shape: tuple[int, ...]  # per sample, channels-last, e.g. (64,) or (8, 8, 1)
    steps: int
    encoding: str = "direct"
    input_bits: int = 8
    input_signed: bool = False
    encoding_seed: int = 1
    meta: dict = field(default_factory=dict)
    readout: str = "count"  # one of READOUTS; "membrane" needs an LI (non-spiking) last layer

    @property
    def n_classes(self) -> int:
        return int(np.prod(self.layers[-1].out_shape))

    def check_input(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x)
        # event data come as their frames (N, T, *input_shape); other inputs as samples (N, *input_shape)
        shape = (self.steps, *self.input_shape) if self.encoding == "events" else tuple(self.input_shape)
        if x.ndim >= 1 and x.shape[1:] != shape:
            x_shape = tuple(x.shape[1:])
            if int(np.prod(x_shape)) == int(np.prod(shape)):
                x = x.reshape((x.shape[0],) + shape)
            else:
                raise QsnnError(
                    f"input shape {tuple(x.shape)} does not match the model's (N, {', '.join(map(str, shape))})"
                )
        if not np.issubdtype(x.dtype, np.integer):
            if not np.all(np.equal(np.mod(x, 1), 0)):
                raise QsnnError(f"input dtype {x.dtype} holds non-integers; pass the integer encoding")
        lo = -(1 << (self.input_bits - 1)) if self.input_signed else 0
        hi = (1 << (self.input_bits - 1)) - 1 if self.input_signed else (1 << self.input_bits) - 1
        if x.size and (x.min() < lo or x.max() > hi):
            raise QsnnError(f"input values outside [{lo}, {hi}] for {self.input_bits}-bit input")
        return x.astype(np.int64)

    def encode(self, x: np.ndarray) -> np.ndarray:
        x = self.check_input(x)
        return encode(x, self.steps, self.encoding, self.input_bits, self.encoding_seed)

    def run(self, x: np.ndarray, record: bool = False):
        """(N, *input_shape) integers -> class scores (N, classes) by the model's readout (spike counts unless
        set); with record, also every layer's outputs (spikes; an LI readout layer's membranes)."""
        h = self.encode(x)
        trace = []
        for layer in self.layers:
            h = layer.output(run_neurons(layer.current(h), layer.neuron, recurrent=layer.recurrent))
            if record:
                trace.append(h)
        scores = readout(h, self.readout).astype(np.int64)
        return (scores, trace) if record else scores

    def predict(self, x: np.ndarray) -> np.ndarray:
        return np.argmax(self.run(x), axis=1)

    # -- persistence ------------------------------------------------------------------------------------
    def to_bytes(self) -> bytes:
        """The npz file's bytes: the arrays plus one JSON header; no pickle anywhere."""
        header = {
            "input_shape": list(self.input_shape),
            "steps": self.steps,
            "encoding": self.encoding,
            "input_bits": self.input_bits,
            "input_signed": self.input_signed,
            "encoding_seed": self.encoding_seed,
            "meta": self.meta,
            "readout": self.readout,
            "layers": [
                {
                    "kind": l.kind,
                    "lif": l.neuron.attrs(),
                    "in_shape": list(l.in_shape),
                    "scale": l.scale,
                    "pool": list(l.pool),
                    "stride": list(l.stride),
                    "padding": list(l.padding),
                }
                for l in self.layers
            ],
        }
        arrays = {"header": np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)}
        for k, layer in enumerate(self.layers):
            arrays[f"w{k}"] = layer.weight
            arrays[f"b{k}"] = layer.bias
            if layer.recurrent is not None:
                arrays[f"r{k}"] = layer.recurrent
        buf = io.BytesIO()
        np.savez_compressed(buf, **arrays)
        return buf.getvalue()

    def save(self, path) -> None:
        """Write the npz file (callers that need it atomic write into a temporary folder, as training does)."""
        Path(path).write_bytes(self.to_bytes())

    @classmethod
    def load(cls, path) -> GoldenModel:
        path = Path(path)
        if not path.is_file():
            raise QsnnError(f"golden model file {path} not found; run 'qsnn train' or 'qsnn export' first")
        try:
            with np.load(path, allow_pickle=False) as z:
                header = json.loads(bytes(z["header"]).decode())
                layers = [
                    Layer(
                        kind=h["kind"],
                        weight=z[f"w{k}"].astype(np.int64),
                        bias=z[f"b{k}"].astype(np.int64),
                        neuron=NeuronParams.from_attrs(h["lif"]).validate(f"layer {k}"),
                        in_shape=tuple(h["in_shape"]),
                        scale=h.get("scale", 1.0),
                        pool=tuple(int(v) for v in h.get("pool", (1, 1))),
                        stride=tuple(int(v) for v in h.get("stride", (1, 1))),
                        padding=tuple(int(v) for v in h.get("padding", (0, 0))),
                        recurrent=z[f"r{k}"].astype(np.int64) if f"r{k}" in z.files else None,
                    )
                    for k, h in enumerate(header["layers"])
                ]
            model = cls(
                layers=layers,
                input_shape=tuple(header["input_shape"]),
                steps=int(header["steps"]),
                encoding=header["encoding"],
                input_bits=int(header["input_bits"]),
                input_signed=bool(header["input_signed"]),
                encoding_seed=int(header["encoding_seed"]),
                meta=header.get("meta", {}),
                readout=header.get("readout", "count"),
            )
            model.check_shapes()
        except (
            OSError,
            ValueError,
            KeyError,
            TypeError,
            AttributeError,
            EOFError,
            zipfile.BadZipFile,
            zlib.error,
        ) as e:
            raise QsnnError(f"golden model file {path} is corrupted ({type(e).__name__}: {e}); re-create it") from None
        return model

    def check_shapes(self) -> None:
        """Every layer's weights, bias and input shape agree with its neighbours (ValueError otherwise)."""
        shape = tuple(self.input_shape)
        if not 1 <= self.steps <= 1024 or not 1 <= self.input_bits <= 32:
            raise ValueError(f"steps={self.steps} or input_bits={self.input_bits} out of range")
        if self.readout not in READOUTS:
            raise ValueError(f"readout {self.readout!r} is not one of {', '.join(READOUTS)}")
        spiking = [layer.neuron.model.spiking for layer in self.layers]
        if not all(spiking[:-1]) or spiking[-1] != (self.readout != "membrane"):
            raise ValueError(
                f"readout {self.readout} with neuron models {[la.neuron.neuron_model for la in self.layers]}: only "
                "the last layer may be a non-spiking readout (LI), and it must be one exactly for readout membrane"
            )
        for k, layer in enumerate(self.layers):
            w = layer.weight
            fan_in = int(np.prod(layer.in_shape))
            if int(np.prod(shape)) != fan_in:
                raise ValueError(f"layer {k} takes {layer.in_shape}, the layer before gives {shape}")
            if layer.kind == "dense":
                ok = w.ndim == 2 and w.shape[1] == fan_in
            elif layer.kind == "conv":
                ok = (
                    w.ndim == 4
                    and len(layer.in_shape) == 3
                    and w.shape[1] == layer.in_shape[2]
                    and w.shape[2] <= layer.in_shape[0] + 2 * layer.padding[0]
                    and w.shape[3] <= layer.in_shape[1] + 2 * layer.padding[1]
                    and len(layer.pool) == len(layer.stride) == len(layer.padding) == 2
                    and min(layer.pool) >= 1
                    and min(layer.stride) >= 1
                    and 0 <= min(layer.padding)
                    and max(p - k for p, k in zip(layer.padding, w.shape[2:])) < 0
                    and min(layer.out_shape[:2]) >= 1
                )
            else:
                raise ValueError(f"layer {k} has kind {layer.kind!r}")
            if layer.recurrent is not None:
                n_out = int(np.prod(layer.neuron_shape))
                if layer.kind != "dense" or layer.recurrent.shape != (n_out, n_out):
                    raise ValueError(
                        f"layer {k}: recurrent weights {layer.recurrent.shape} need a dense layer, ({n_out}, {n_out})"
                    )
            if not ok or layer.bias.shape != (w.shape[0],):
                raise ValueError(
                    f"layer {k}: weight {w.shape} / bias {layer.bias.shape} do not fit input {layer.in_shape}"
                )
            shape = layer.out_shape
