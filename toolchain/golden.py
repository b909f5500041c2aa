"""The integer reference model: the law every backend of this project must match bit for bit.

Pure numpy, no torch: the board driver ships this very file and toolchain/neurons (board/qsnn_driver/golden.py
and neurons link here). It computes the fixed-point LIF neuron of DESIGN.md:

    V[-1] = 0
    L     = leak(V[t-1])                 none: V;  shift: V - (V >> k);  beta: R(V * beta_int, F)
    U     = sat_B(L + I[t])              I[t] = W x[t] + b, integer
    s[t]  = U >= theta
    V[t]  = U - theta (subtract) | 0 (zero)   if s[t],   U otherwise

with R the floor / nearest / stochastic rounding of x / 2^F, stochastic offsets from the stateless
fmix32 hash of (seed, t, i). That is the ``lif`` model; every neuron model (LIF, CubaLIF, ...) is one
module of toolchain/neurons, and ``lif()`` below runs whichever a layer names. The readout (``readout``) is the
per-class spike count over the T steps, an LI readout layer's final membrane, or the first spike; the prediction
is the argmax of its scores, ties to the lowest index.

Layouts are channels-last: a conv layer's activations are (N, T, H, W, C) and a neuron's flat index
``i`` is row-major over (H, W, C). Weights keep PyTorch's layout ((out, in) and (out, in, kh, kw)); a
dense layer after a conv layer takes its input flattened in (H, W, C) order.
"""

from __future__ import annotations

import copy
import io
import json
import zipfile
import zlib
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

try:
    from toolchain.errors import QsnnError
    from toolchain.fsutil import atomic_path
except ImportError:  # shipped inside the board driver (qsnn_driver/golden.py), where only numpy exists
    import os
    import tempfile
    from contextlib import contextmanager

    class QsnnError(ValueError):
        """Bad input to the integer model."""

    @contextmanager
    def atomic_path(path):
        fd, tmp = tempfile.mkstemp(dir=Path(path).parent)
        os.close(fd)
        try:
            yield Path(tmp)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


MASK32 = 0xFFFFFFFF
GOLDEN_T = 0x9E3779B1
GOLDEN_I = 0x85EBCA77


def fmix32(h):
    """MurmurHash3's 32-bit finaliser on uint32 arrays (products mod 2^32)."""
    h = np.asarray(h, dtype=np.uint32)
    with np.errstate(over="ignore"):
        h = h ^ (h >> np.uint32(16))
        h = h * np.uint32(0x85EBCA6B)
        h = h ^ (h >> np.uint32(13))
        h = h * np.uint32(0xC2B2AE35)
        h = h ^ (h >> np.uint32(16))
    return h


def hash_table(seed: int, steps: int, size: int) -> np.ndarray:
    """fmix32(seed ^ (t * 0x9E3779B1) ^ (i * 0x85EBCA77)) for t < steps, i < size, as uint32 (T, size)."""
    t = (np.arange(steps, dtype=np.uint64) * GOLDEN_T) & MASK32
    i = (np.arange(size, dtype=np.uint64) * GOLDEN_I) & MASK32
    key = (np.uint64(seed & MASK32) ^ t[:, None] ^ i[None, :]).astype(np.uint32)
    return fmix32(key)


def rate_encode(x: np.ndarray, steps: int, bits: int, seed: int) -> np.ndarray:
    """Seeded Bernoulli spikes: s[n, t, i] = (hash(seed, t, i) mod 2^bits) < x[n, i].

    ``x`` holds unsigned integers in [0, 2^bits); the firing probability is x / 2^bits. The hash is
    the same stateless fmix32 rule as stochastic rounding, so the board driver reproduces it exactly.
    """
    x = np.asarray(x)
    flat = x.reshape(x.shape[0], -1).astype(np.int64)
    u = (hash_table(seed, steps, flat.shape[1]) & np.uint32((1 << bits) - 1)).astype(np.int64)
    spikes = (u[None, :, :] < flat[:, None, :]).astype(np.int64)
    return spikes.reshape((x.shape[0], steps) + x.shape[1:])


def encode(x: np.ndarray, steps: int, encoding: str, bits: int, seed: int) -> np.ndarray:
    """(N, ...) integer input -> (N, T, ...) integer input per time step."""
    x = np.asarray(x).astype(np.int64)
    if encoding == "direct":
        return np.repeat(x[:, None], steps, axis=1)
    if encoding == "rate":
        if x.min(initial=0) < 0:
            raise QsnnError("rate encoding needs unsigned inputs; use --encoding direct for signed data")
        return rate_encode(x, steps, bits, seed)
    raise QsnnError(f"encoding {encoding!r} is not supported; choose direct or rate")


MAX_INPUT_SHIFT = 16  # the stochastic offset of R(I, k) is the top k bits of the hash, disjoint from the leak's


def neuron_models():
    """The neuron-model registry (toolchain/neurons, shipped beside this file in the board driver); imported late
    because the models import this module's hash."""
    from . import neurons

    return neurons


@dataclass
class LIFParams:
    """Integer neuron parameters of one layer; the field names are the QONNX LIF op's attributes.

    ``neuron_model`` names a registered model (toolchain/neurons); its own attributes (e.g. CubaLIF's
    ``alpha_int``) live in ``extra`` and read as attributes: ``p.alpha_int``.
    """

    membrane_bits: int
    threshold: int
    leak_mode: str = "none"
    leak_shift: int = 1
    beta_int: int = 0
    beta_frac_bits: int = 8
    rounding: str = "floor"
    seed: int = 0
    reset: str = "subtract"
    # k: the membrane counts 2^k accumulator units; the synaptic input is rounded by R(I, k) before it is added
    input_shift: int = 0
    neuron_model: str = "lif"
    extra: dict = field(default_factory=dict)
    # per-neuron values (one per channel: a conv layer's pixels share their channel's), or () for the scalar above
    thresholds: tuple = ()
    beta_ints: tuple = ()

    def __getattr__(self, name):  # only called for names that are not fields: the model's own attributes
        extra = self.__dict__.get("extra")
        if extra is not None and name in extra:
            return extra[name]
        raise AttributeError(f"LIFParams has no attribute {name!r}")

    @classmethod
    def from_attrs(cls, values: dict) -> LIFParams:
        """From a flat mapping of attributes (QONNX node, golden.npz header): the model's own go to ``extra``.
        Another model's attribute at its default is dropped (files written before the registry list them all);
        any other unknown one is kept, so that validate() refuses it by name."""
        fields = cls.__dataclass_fields__
        known = {k: v for k, v in values.items() if k in fields and k != "extra"}
        for k in ("thresholds", "beta_ints"):  # lists in JSON, repeated ints in ONNX
            if k in known:
                known[k] = tuple(int(v) for v in known[k])
        extra = {**values.get("extra", {}), **{k: v for k, v in values.items() if k not in fields}}
        models = neuron_models()
        model = models.get(known.get("neuron_model", "lif"), "neuron_model")
        defaults = {k: d for m in models.REGISTRY.values() for k, d in m.attrs.items() if k not in model.attrs}
        extra = {k: v for k, v in extra.items() if not (k in defaults and v == defaults[k])}
        return cls(**known, extra={**model.attrs, **extra})

    @property
    def model(self):
        """The registered neuron model (toolchain/neurons)."""
        return neuron_models().get(self.neuron_model, "neuron_model")

    def validate(self, where: str = "LIF") -> LIFParams:
        """Raise QsnnError naming ``where`` and the attribute if any value is out of range."""
        b = self.membrane_bits
        if not isinstance(b, int) or not 2 <= b <= 32:
            raise QsnnError(f"{where}: membrane_bits={b!r} is out of range; use 2..32")
        hi = (1 << (b - 1)) - 1
        for theta in self.thresholds or (self.threshold,):
            if not isinstance(theta, int) or not 1 <= theta <= hi:
                raise QsnnError(
                    f"{where}: threshold={theta} does not fit a {b}-bit membrane (1..{hi}); "
                    f"raise membrane_bits to at least {max(2, int(theta).bit_length() + 1)} "
                    "or lower the threshold"
                )
        checks = (
            ("leak_mode", self.leak_mode, ("none", "shift", "beta")),
            ("rounding", self.rounding, ("floor", "nearest", "stochastic")),
            ("reset", self.reset, ("subtract", "zero")),
        )
        for name, value, allowed in checks:
            if value not in allowed:
                raise QsnnError(f"{where}: {name}={value!r} is not one of {', '.join(allowed)}")
        model = neuron_models().get(self.neuron_model, f"{where}: neuron_model")
        unknown = sorted(set(self.extra) - set(model.attrs))
        if unknown:
            raise QsnnError(f"{where}: neuron model {model.name} has no attribute {', '.join(unknown)}")
        if not isinstance(self.input_shift, int) or not 0 <= self.input_shift <= MAX_INPUT_SHIFT:
            raise QsnnError(f"{where}: input_shift={self.input_shift!r} is out of range; use 0..{MAX_INPUT_SHIFT}")
        if self.leak_mode == "shift" and not 1 <= self.leak_shift <= 31:
            raise QsnnError(f"{where}: leak_shift={self.leak_shift} is out of range; use 1..31")
        f = self.beta_frac_bits
        if self.leak_mode == "beta":
            if not 1 <= f <= 16:
                raise QsnnError(f"{where}: beta_frac_bits={f} is out of range; use 1..16")
            for beta in self.beta_ints or (self.beta_int,):
                if not isinstance(beta, int) or not 0 <= beta <= (1 << f):
                    raise QsnnError(f"{where}: beta_int={beta} is out of range; use 0..{1 << f}")
        elif self.beta_ints:
            raise QsnnError(f"{where}: beta_ints are per-neuron decays of leak_mode beta, not {self.leak_mode}")
        model.validate(self, where)
        return self

    def attrs(self) -> dict:
        """The flat attributes (QONNX node, golden.npz header): the fields and the model's own."""
        out = {k: v for k, v in asdict(self).items() if k != "extra"}
        out.update(thresholds=[int(v) for v in self.thresholds], beta_ints=[int(v) for v in self.beta_ints])
        return out | dict(self.extra)

    @property
    def per_neuron(self) -> bool:
        return bool(self.thresholds or self.beta_ints)

    def channels_ok(self, channels: int) -> bool:
        """Whether the per-neuron vectors have one value per channel of a layer of ``channels`` channels."""
        return all(len(v) in (0, channels) for v in (self.thresholds, self.beta_ints))

    def expanded(self, size: int, const=np.asarray) -> LIFParams:
        """A copy for running ``size`` neurons: per-neuron threshold and beta_int as vectors over the neurons
        (channel c of a conv layer's channels-last pixels at i mod C), made by ``const`` (numpy, or a tensor
        maker for training); unchanged without per-neuron values."""
        if not self.per_neuron:
            return self
        out = copy.copy(self)
        for name, vec in (("threshold", self.thresholds), ("beta_int", self.beta_ints)):
            if vec:
                if size % len(vec):
                    raise QsnnError(f"{len(vec)} per-neuron {name} values do not tile a layer of {size} neurons")
                setattr(out, name, const(np.tile(np.asarray(vec, dtype=np.int64), size // len(vec))))
        return out

    @property
    def v_min(self) -> int:
        return -(1 << (self.membrane_bits - 1))

    @property
    def v_max(self) -> int:
        return (1 << (self.membrane_bits - 1)) - 1


def lif(current: np.ndarray, p: LIFParams, return_membrane: bool = False):
    """Run a layer of ``p.neuron_model`` neurons (toolchain/neurons) over time: current (N, T, ...) integers ->
    spikes (N, T, ...) in {0, 1} (a non-spiking readout model: its membrane). The input shift R(I, k) comes first,
    for every model; the model's step then sees one time step, and the hash row of its neurons if stochastic.

    With ``return_membrane`` also returns V after each step (N, T, ...), for debugging and readout.
    """
    model, ops = p.model, neuron_models().NUMPY
    current = np.asarray(current).astype(np.int64)
    n, steps = current.shape[:2]
    flat = current.reshape(n, steps, -1)
    size = flat.shape[2]
    h = hash_table(p.seed, steps, size).astype(np.int64) if p.rounding == "stochastic" else None
    if p.input_shift:
        flat = neuron_models().shift_input(flat, p, h, ops)
    p = p.expanded(size)
    state = {name: np.zeros((n, size), dtype=np.int64) for name in model.states}
    out = np.zeros_like(flat)
    membranes = np.zeros_like(flat) if return_membrane else None
    for t in range(steps):
        out[:, t] = model.step(state, flat[:, t], p, None if h is None else h[t], ops)
        if return_membrane:
            membranes[:, t] = state["membrane"]
    out = out.reshape(current.shape)
    if return_membrane:
        return out, membranes.reshape(current.shape)
    return out


READOUTS = ("count", "membrane", "first-spike")


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


def exact_matmul(x: np.ndarray, w_t: np.ndarray) -> np.ndarray:
    """Integer x @ w_t, through float64 BLAS when every partial sum stays below 2^53 (exact)."""
    bound = float(np.abs(x).max(initial=0)) * float(np.abs(w_t).max(initial=0)) * w_t.shape[0]
    if bound < 2.0**52:
        return np.rint(x.astype(np.float64) @ w_t.astype(np.float64)).astype(np.int64)
    return x.astype(np.int64) @ w_t.astype(np.int64)


@dataclass
class Layer:
    """One synaptic layer (dense, or conv with stride 1 and valid padding) followed by LIF neurons and, for conv
    layers, an optional max-pool of the spikes (window = stride = ``pool``, floor division of the size).

    A Conv1d over a sequence (L, C) is a conv layer on (1, L, C) with a 1 x k kernel. Max-pooling spikes is their
    OR over the window: the output stays binary, and it holds no state, so frames never mix.
    """

    kind: str  # "dense" | "conv"
    weight: np.ndarray  # int64, (out, in) or (out, in, kh, kw)
    bias: np.ndarray  # int64, (out,)
    lif: LIFParams
    in_shape: tuple[int, ...]  # per time step, channels-last: (in,) or (H, W, C)
    scale: float = 1.0  # real value of one accumulator unit (for reports; not used in the math)
    pool: tuple[int, int] = (1, 1)  # conv: max-pool window and stride (ph, pw) over the spikes

    @property
    def neuron_shape(self) -> tuple[int, ...]:
        """The shape of the layer's neurons per time step (before pooling)."""
        if self.kind == "dense":
            return (self.weight.shape[0],)
        h, w, _ = self.in_shape
        kh, kw = self.weight.shape[2:]
        return (h - kh + 1, w - kw + 1, self.weight.shape[0])

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
            cols = im2col(x.reshape((n * steps,) + self.in_shape), (kh, kw))
            i = exact_matmul(cols, conv_weight_matrix(self.weight).T)
        return (i + self.bias).reshape((n, steps) + self.neuron_shape)

    def output(self, spikes: np.ndarray) -> np.ndarray:
        """The layer's output from its neurons' spikes (N, T, *neuron_shape): max-pooled for conv layers."""
        return max_pool(spikes, self.pool) if self.kind == "conv" else spikes


def max_pool(x: np.ndarray, pool) -> np.ndarray:
    """(N, T, H, W, C) -> (N, T, H // ph, W // pw, C): the maximum over each ph x pw window (stride = window)."""
    ph, pw = pool
    if (ph, pw) == (1, 1):
        return x
    n, t, h, w, c = x.shape
    ho, wo = h // ph, w // pw
    win = x[:, :, : ho * ph, : wo * pw].reshape(n, t, ho, ph, wo, pw, c)
    return win.max(axis=(3, 5))


def conv_weight_matrix(w: np.ndarray) -> np.ndarray:
    """(out, in, kh, kw) -> (out, kh*kw*in), matching im2col's (kh, kw, C) column order."""
    return w.transpose(0, 2, 3, 1).reshape(w.shape[0], -1)


def im2col(x: np.ndarray, k) -> np.ndarray:
    """(M, H, W, C) -> (M * Ho * Wo, kh*kw*C) with columns ordered (kh, kw, C); ``k`` is kh = kw or (kh, kw)."""
    kh, kw = (k, k) if np.isscalar(k) else k
    m, h, w, c = x.shape
    ho, wo = h - kh + 1, w - kw + 1
    win = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(1, 2))  # (M, Ho, Wo, C, kh, kw)
    return win.transpose(0, 1, 2, 4, 5, 3).reshape(m * ho * wo, kh * kw * c)


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
        if x.ndim >= 1 and x.shape[1:] != tuple(self.input_shape):
            x_shape = tuple(x.shape[1:])
            if int(np.prod(x_shape)) == int(np.prod(self.input_shape)):
                x = x.reshape((x.shape[0],) + tuple(self.input_shape))
            else:
                raise QsnnError(f"input shape {tuple(x.shape)} does not match the model's (N, {self.input_shape})")
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
            h = layer.output(lif(layer.current(h), layer.lif))
            if record:
                trace.append(h)
        scores = readout(h, self.readout).astype(np.int64)
        return (scores, trace) if record else scores

    def predict(self, x: np.ndarray) -> np.ndarray:
        return np.argmax(self.run(x), axis=1)

    # -- persistence: npz of arrays plus one JSON header; no pickle anywhere -------------------
    def save(self, path) -> None:
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
                    "lif": l.lif.attrs(),
                    "in_shape": list(l.in_shape),
                    "scale": l.scale,
                    "pool": list(l.pool),
                }
                for l in self.layers
            ],
        }
        arrays = {"header": np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)}
        for k, layer in enumerate(self.layers):
            arrays[f"w{k}"] = layer.weight
            arrays[f"b{k}"] = layer.bias
        buf = io.BytesIO()
        np.savez_compressed(buf, **arrays)
        with atomic_path(path) as tmp:
            Path(tmp).write_bytes(buf.getvalue())

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
                        lif=LIFParams.from_attrs(h["lif"]).validate(f"layer {k}"),
                        in_shape=tuple(h["in_shape"]),
                        scale=h.get("scale", 1.0),
                        pool=tuple(int(v) for v in h.get("pool", (1, 1))),
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
        spiking = [layer.lif.model.spiking for layer in self.layers]
        if not all(spiking[:-1]) or spiking[-1] != (self.readout != "membrane"):
            raise ValueError(
                f"readout {self.readout} with neuron models {[layer.lif.neuron_model for layer in self.layers]}: only "
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
                    and w.shape[2] <= layer.in_shape[0]
                    and w.shape[3] <= layer.in_shape[1]
                    and len(layer.pool) == 2
                    and min(layer.pool) >= 1
                    and min(layer.out_shape[:2]) >= 1
                )
            else:
                raise ValueError(f"layer {k} has kind {layer.kind!r}")
            if not ok or layer.bias.shape != (w.shape[0],):
                raise ValueError(
                    f"layer {k}: weight {w.shape} / bias {layer.bias.shape} do not fit input {layer.in_shape}"
                )
            shape = layer.out_shape
