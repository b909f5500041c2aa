"""Spiking networks built from Brevitas synapses and QuantLIF neurons.

Activations are channels-last, (N, T, features) or (N, T, H, W, C), as in the golden model and FINN.
A synapse computes the integer accumulator ``I = W_int x + b_int`` (QAT: float tensors holding
integers, with Brevitas' STE; integer mode: exact int64); its real value is ``s * I`` with
``s = s_w * s_in`` a power of two (``s_in`` = 2^-bits for the integer input of the first layer under
direct encoding, 1 for spikes).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from brevitas.nn import QuantConv2d, QuantLinear
from torch import nn

from toolchain.errors import QsnnError
from toolchain.golden import GoldenModel, Layer, readout
from toolchain.golden.arith import conv_out
from toolchain.models.lif import QuantLIF, floor_ste
from toolchain.models.quant import weight_quant_kwargs


def round_ste(x):
    return x + (torch.round(x) - x).detach()


class Synapse(nn.Module):
    """A Brevitas QuantLinear / QuantConv2d (no bias inside) plus a bias quantized to the accumulator.

    The bias is held apart so that it is quantized at the accumulator scale ``s`` (not Brevitas'
    input-scale-dependent bias quantizers), clamped to the membrane range.
    """

    def __init__(
        self,
        kind,
        in_shape,
        out_features,
        geometry,
        weight_bits,
        rounding,
        membrane_bits,
        in_scale,
        sum_pool=(1, 1),
        recurrent=False,
    ):
        """``geometry``: a conv's (kernel, stride, padding), each (along H, along W); None for dense. ``sum_pool``
        (ph, pw): the synapse first sums each ph x pw window of its input (``in_shape``, channels-last).
        ``recurrent`` (dense): the layer's own spikes of the step before come back through V (out, out), quantized
        with W's bits to the accumulator's unit (``recurrent_int``), so V s[t-1] adds to W x[t] exactly."""
        super().__init__()
        self.kind = kind
        self.in_shape = tuple(in_shape)
        self.sum_pool = tuple(sum_pool)
        self.in_scale = in_scale
        self.weight_bits = weight_bits
        self.rounding = rounding
        self.bias_bits = membrane_bits
        kw = weight_quant_kwargs(weight_bits, rounding)
        pooled = self.pooled_shape
        if kind == "dense" and weight_bits == 1 and any(n % p for n, p in zip(self.in_shape, self.sum_pool)):
            raise QsnnError(
                f"--weight-bits 1: the sum-pool of {self.sum_pool} does not divide {self.in_shape[:2]}, and the dense "
                "layer after it would need weight 0 on the rows it drops, which binary weights (+-1) do not have; "
                "choose a pool that divides the size, or 2+ weight bits"
            )
        if kind == "dense":
            self.op = QuantLinear(int(np.prod(pooled)), out_features, bias=False, **kw)
            self.out_shape = (out_features,)
        else:
            h, w, c = pooled
            kernel, self.stride, self.padding = (tuple(v) for v in geometry)
            self.op = QuantConv2d(c, out_features, kernel, stride=self.stride, padding=self.padding, bias=False, **kw)
            hw = [conv_out(n, k, st, p) for n, k, st, p in zip((h, w), kernel, self.stride, self.padding)]
            self.out_shape = (*hw, out_features)
        self.bias = nn.Parameter(torch.zeros(out_features))
        self.register_buffer("mask", torch.ones_like(self.op.weight))
        self.rec = None
        if recurrent:
            if kind != "dense":
                raise QsnnError("only dense layers can be recurrent (rN in --layers)")
            bound = 0.5 / np.sqrt(out_features)
            self.rec = nn.Parameter(torch.empty(out_features, out_features).uniform_(-bound, bound))

    @property
    def pooled_shape(self) -> tuple:
        """The input shape after the sum-pool (the input shape without one)."""
        if self.sum_pool == (1, 1):
            return self.in_shape
        h, w, c = self.in_shape
        return (h // self.sum_pool[0], w // self.sum_pool[1], c)

    def _sum_pool(self, x):
        """(M, H, W, C) -> the sums of each ph x pw window (stride = window, floor), exactly (a reshape and sum)."""
        if self.sum_pool == (1, 1):
            return x
        (ph, pw), (hq, wq, c) = self.sum_pool, self.pooled_shape
        return x[:, : hq * ph, : wq * pw].reshape(x.shape[0], hq, ph, wq, pw, c).sum(dim=(2, 4))

    def hardware_weights(self, w: np.ndarray) -> np.ndarray:
        """The integer weights ``w`` (the op's layout) as one layer on the unpooled input: the sum-pool folded in.

        This is the exact lowering of a sum-pool: a conv after a ph x pw sum-pool is a conv of each weight repeated
        over a ph x pw block, with stride and padding times (ph, pw) (``hardware_geometry``); a dense layer after it
        takes each pooled position's weight at every position of its window, and 0 at the rows and columns the
        pool's floor drops. The hardware stays a synapse on spikes (no integer sums between layers)."""
        if self.sum_pool == (1, 1):
            return w
        ph, pw = self.sum_pool
        if self.kind == "conv":
            return w.repeat(ph, axis=2).repeat(pw, axis=3)
        (h, wd, c), (hq, wq, _) = self.in_shape, self.pooled_shape
        full = np.zeros((w.shape[0], h, wd, c), dtype=w.dtype)
        full[:, : hq * ph, : wq * pw] = w.reshape(w.shape[0], hq, wq, c).repeat(ph, axis=1).repeat(pw, axis=2)
        return full.reshape(w.shape[0], -1)

    def hardware_geometry(self) -> tuple:
        """A conv's (stride, padding) on the unpooled input (see ``hardware_weights``); dense: ((1, 1), (0, 0))."""
        if self.kind == "dense":
            return (1, 1), (0, 0)
        ph, pw = self.sum_pool
        return (self.stride[0] * ph, self.stride[1] * pw), (self.padding[0] * ph, self.padding[1] * pw)

    def hardware_op(self):
        """The Brevitas layer of ``hardware_weights`` for export: the same quantizer with the trained scale held
        constant (a power of two; Brevitas' fixed-point quantizers divide the constant by 2^(bits-1)), its float
        weights on the integer grid. The op itself where there is no sum-pool."""
        if self.sum_pool == (1, 1):
            return self.op
        from brevitas.inject.enum import ScalingImplType

        w, _, _ = self.integer_params()
        w = self.hardware_weights(w)
        scale = self.weight_scale()
        const = scale if self.weight_bits == 1 else scale * 2.0 ** (self.weight_bits - 1)
        kw = weight_quant_kwargs(self.weight_bits, self.rounding)
        kw |= {"weight_scaling_impl_type": ScalingImplType.CONST, "weight_scaling_const": const}
        if self.kind == "dense":
            op = QuantLinear(w.shape[1], w.shape[0], bias=False, **kw)
        else:
            stride, padding = self.hardware_geometry()
            op = QuantConv2d(w.shape[1], w.shape[0], w.shape[2:], stride=stride, padding=padding, bias=False, **kw)
        with torch.no_grad():
            op.weight.copy_(torch.from_numpy(w.astype(np.float64) * scale))
        return op.eval()

    @property
    def quantized(self) -> bool:
        return self.weight_bits is not None

    def weight_scale(self) -> float:
        return float(self.op.quant_weight().scale.detach().reshape(-1)[0])

    @property
    def scale(self) -> float:
        """Real value of one accumulator unit (1.0 for float synapses)."""
        return self.weight_scale() * self.in_scale if self.quantized else 1.0

    def _bias_int(self, scale):
        lim = (1 << (self.bias_bits - 1)) - 1
        b = self.bias / scale
        b = floor_ste(b) if self.rounding == "floor" else round_ste(b)
        return torch.clamp(b, -lim - 1, lim)

    def integer_params(self):
        """(W_int, b_int, s) as int64 numpy arrays and the accumulator scale."""
        qw = self.op.quant_weight()
        w = qw.int().detach().to(torch.int64).cpu().numpy()
        s = self.scale
        b = self._bias_int(s).detach().to(torch.int64).cpu().numpy()
        return w, b, s

    def _recurrent_units(self) -> torch.Tensor:
        """V on W's integer grid (W's scale and bits, symmetric; straight-through in training), in accumulator
        units: times 1 / in_scale, a power of two (the first layer under direct encoding counts 2^-bits of W's unit)."""
        top = 2 ** (self.weight_bits - 1) - 1
        v = self.rec / self.weight_scale()
        return (v + (torch.clamp(torch.round(v), -top, top) - v).detach()) / self.in_scale

    def recurrent_int(self) -> np.ndarray | None:
        """V (out, out) as int64 accumulator units (None: not a recurrent layer)."""
        if self.rec is None:
            return None
        return self._recurrent_units().detach().round().to(torch.int64).cpu().numpy()

    def recurrent(self, integer: bool = False):
        """s[t-1] (N, out) -> V s[t-1] in the units of this synapse's current (exact int64 when ``integer``), the
        neurons' recurrent input (QuantLIF.forward); None for a feed-forward layer."""
        if self.rec is None:
            return None
        if not self.quantized:
            return lambda s: F.linear(s, self.rec)
        if integer:
            v = torch.from_numpy(self.recurrent_int()).to(self.rec.device, torch.float64)
            return lambda s: torch.round(F.linear(s.to(torch.float64), v)).to(torch.int64)
        v = self._recurrent_units()
        return lambda s: F.linear(s, v)

    def forward(self, x: torch.Tensor, integer: bool = False) -> torch.Tensor:
        n, steps = x.shape[:2]
        x = self._sum_pool(x.reshape((n * steps,) + self.in_shape))
        if integer:
            w, b, _ = self.integer_params()
            # float64 holds every partial sum of these layers exactly (|sum| << 2^53)
            y = self._product(x.to(torch.float64), torch.from_numpy(w).to(x.device, torch.float64))
            y = torch.round(y).to(torch.int64) + torch.from_numpy(b).to(x.device)
        elif self.quantized:
            qw = self.op.quant_weight()
            s_w = qw.scale.detach()
            y = self._product(x, qw.value / s_w) + self._bias_int(self.scale)
        else:
            y = self._product(x * self.in_scale, self.op.weight) + self.bias
        return y.reshape((n, steps) + self.out_shape)

    def _product(self, x, w):  # not _apply: that is nn.Module's (Module.to calls it)
        if self.kind == "dense":
            return F.linear(x.reshape(x.shape[0], -1), w)
        y = F.conv2d(x.permute(0, 3, 1, 2), w, stride=self.stride, padding=self.padding)
        return y.permute(0, 2, 3, 1)


def max_pool(h: torch.Tensor, pool) -> torch.Tensor:
    """(N, T, H, W, C) -> max over each window (stride = window, floor), as golden.max_pool."""
    if tuple(pool) == (1, 1):
        return h
    n, t = h.shape[:2]
    y = F.max_pool2d(h.reshape((n * t,) + h.shape[2:]).permute(0, 3, 1, 2), pool, pool)
    y = y.permute(0, 2, 3, 1)
    return y.reshape((n, t) + y.shape[1:])


class SpikingNet(nn.Module):
    """Synapse + QuantLIF layers; output: per-class scores by the readout (N, classes): spike counts over T steps,
    an LI classifier's final membrane (``--readout membrane``) or the first spike (``--readout first-spike``).

    Conv networks: conv layers (k x k on images (H, W, C); 1 x k on sequences (L, C), held as (1, L, C)), each
    followed by LIF neurons and a max-pool of their spikes, then the dense layers ``fc`` and the classifier.
    With ``cfg.model.spiking`` False the same layers run once with ReLU instead of LIF neurons and the output is
    the last layer's real value (logits): the float non-spiking reference a spiking network is compared with.
    """

    def __init__(self, cfg, shape, n_classes, input_bits=8, input_signed=False, quantized=None):
        super().__init__()
        self.cfg = cfg
        self.shape = tuple(shape)
        self.n_classes = n_classes
        q, n = cfg.quant, cfg.neuron
        quantized = cfg.quantized if quantized is None else quantized
        weight_bits = q.weight_bits if quantized else None
        membrane_bits = q.membrane_bits if quantized else None
        first_scale = 1.0
        if cfg.data.encoding == "direct":
            first_scale = 2.0 ** -(input_bits - 1 if input_signed else input_bits)
        specs = self._layer_specs(cfg.model, self.shape, n_classes)
        # the dense layers' recurrent flags (rN), in order; the classifier is never recurrent
        recurrent = iter([bool(spec[2:]) for spec in cfg.model.layout() if spec[0] == "dense"] + [False])
        self.spiking = cfg.model.spiking
        self.synapses = nn.ModuleList()
        self.neurons = nn.ModuleList()
        self.pools = []
        for k, (kind, in_shape, out_features, kernel, pool, stride, padding, sum_pool) in enumerate(specs):
            self.pools.append(pool)
            self.synapses.append(
                Synapse(
                    kind,
                    in_shape,
                    out_features,
                    (kernel, stride, padding),
                    weight_bits,
                    q.rounding,
                    32 if q.membrane_shift != 0 or not membrane_bits else membrane_bits,  # bias: accumulator units
                    first_scale if k == 0 else 1.0,
                    sum_pool,
                    next(recurrent) if kind == "dense" else False,
                )
            )
            readout = k == len(specs) - 1 and cfg.model.readout == "membrane"  # the classifier is an LI layer
            self.neurons.append(
                QuantLIF(
                    n,
                    membrane_bits,
                    q.rounding,
                    n.neuron_seed + k,
                    q.membrane_shift,
                    "li" if readout else None,
                    channels=out_features,
                )
            )

    @staticmethod
    def _layer_specs(model, shape, n_classes):
        """[(kind, in_shape, out_features, kernel (kh, kw), pool (ph, pw), stride, padding, sum_pool)] of every layer,
        from the model's layout (``ModelConfig.layout``: --layers or its shorthands); the classifier comes last. A
        sum-pool belongs to the synapse after it (``in_shape`` is before the sum-pool, ``sum_pool`` its window)."""
        specs, cur, layout = [], tuple(shape), model.layout()
        conv = any(spec[0] == "conv" for spec in layout)
        seq = conv and len(cur) == 2  # a sequence (L, C): Conv1d as a 1 x k conv on (1, L, C)
        if conv and len(cur) not in (2, 3):
            raise QsnnError(f"conv layers need images (H, W, C) or sequences (L, C); the samples are {cur}")
        if seq:
            cur = (1, *cur)
        summed = (1, 1)  # a sum-pool waiting for the next synapse
        for spec in [*layout, ("dense", n_classes)]:
            if spec[0] == "sumpool":
                if len(cur) != 3:
                    raise QsnnError(f"--layers: a sum-pool needs an image or a conv layer's output; here it is {cur}")
                k = spec[1]
                summed = (summed[0] * (1 if seq else k), summed[1] * k)
                if any(cur[a] < summed[a] for a in (0, 1)):
                    raise QsnnError(
                        f"--layers: a sum-pool of {summed[1] if seq else summed} is larger than its input "
                        f"{cur[1:2] if seq else cur[:2]}; use a smaller pool, or fewer strides or pools before it"
                    )
                continue
            if spec[0] == "maxpool":
                *head, pool, stride, pad, sp = specs[-1]
                k = spec[1]
                pool = (pool[0] * (1 if seq else k), pool[1] * k)  # consecutive pools are one pool of their product
                specs[-1] = (*head, pool, stride, pad, sp)
            elif spec[0] == "conv":
                _, ch, k, st, p = spec
                kernel, stride, pad = ((1, k), (1, st), (0, p)) if seq else ((k, k), (st, st), (p, p))
                for a in (0, 1):
                    if pad[a] and cur[a] % summed[a]:
                        raise QsnnError(
                            f"--layers: the sum-pool of {summed[a]} before conv layer {len(specs) + 1} does not divide "
                            f"its input's {cur[a]} along axis {a}; with padding it cannot be folded into the conv "
                            "exactly: pad the conv before, or choose a pool that divides the size"
                        )
                specs.append(("conv", cur, ch, kernel, (1, 1), stride, pad, summed))
            else:
                specs.append(("dense", cur, spec[1], None, (1, 1), (1, 1), (0, 0), summed))
            summed = (1, 1)
            if specs[-1][0] == "dense":
                cur = (specs[-1][2],)
                continue
            _, in_shape, ch, kernel, pool, stride, pad, sp = specs[-1]
            pooled = (in_shape[0] // sp[0], in_shape[1] // sp[1])
            out = [conv_out(pooled[a], kernel[a], stride[a], pad[a]) // pool[a] for a in (0, 1)]
            if min(out) < 1:
                raise QsnnError(
                    f"the conv layers do not fit {tuple(shape)} samples: layer {len(specs)} "
                    f"(kernel {kernel}, stride {stride}, padding {pad}, pool {pool}) leaves no output on {in_shape}; "
                    "use fewer conv layers, smaller kernels, strides or pools, or padding"
                )
            cur = (*out, ch)
        return specs

    @property
    def quantized(self) -> bool:
        return self.synapses[0].quantized

    def forward(self, x: torch.Tensor, integer: bool = False, record: bool = False):
        """x: (N, T, *shape) encoded integer input (float or int64) -> class scores (N, classes).

        Scores are ``golden.readout`` of the last layer's outputs (spike counts, final membrane, first spike), the
        golden model's; a membrane readout is scaled to real units (accumulator scale x 2^k) unless ``integer``.
        In training, first-spike scores are the spikes weighted by (T - t) / T: differentiable, and largest for
        the earliest spikes. ``integer=True`` runs the exact int64 model (eval-mode quantizers), which equals the
        golden model.
        """
        if integer and self.training:
            raise QsnnError(
                "integer mode needs eval mode (call .eval() first): Brevitas redraws "
                "stochastic weight rounding in training mode"
            )
        if not self.spiking:
            return self._forward_relu(x, record)
        h = x.to(torch.int64) if integer else x.float()
        trace = []
        for syn, lif, pool in zip(self.synapses, self.neurons, self.pools):
            h = lif(syn(h, integer=integer), scale=syn.scale, recurrent=syn.recurrent(integer))
            if syn.kind == "conv":
                h = max_pool(h, pool)
            if record:
                trace.append(h)
        scores = self.scores(h, integer)
        return (scores, trace) if record else scores

    def scores(self, h, integer: bool):
        """The readout of the last layer's outputs h (N, T, classes)."""
        kind = self.cfg.model.readout
        if kind == "membrane" and not integer:
            syn, lif = self.synapses[-1], self.neurons[-1]
            unit = syn.scale * 2.0 ** lif.shift(syn.scale) if self.quantized else 1.0
            return readout(h, kind) * unit
        if kind == "first-spike" and self.training:
            steps = h.shape[1]
            weight = (steps - torch.arange(steps, dtype=h.dtype, device=h.device)) / steps
            return (h.reshape(h.shape[0], steps, -1) * weight[None, :, None]).sum(dim=1)
        return readout(h, kind)

    def _forward_relu(self, x, record):
        """The non-spiking reference: the input averaged over T (the integer input itself under direct
        encoding), the same layers with ReLU (max-pooled after conv layers), logits from the last layer."""
        h = x.float().mean(dim=1, keepdim=True)
        trace = []
        for k, (syn, pool) in enumerate(zip(self.synapses, self.pools)):
            h = syn(h)
            if k < len(self.synapses) - 1:
                h = torch.relu(h)
                if syn.kind == "conv":
                    h = max_pool(h, pool)
            if record:
                trace.append((h > 0).float())  # the fraction of active units, in place of a spike rate
        logits = h.reshape(h.shape[0], -1)
        return (logits, trace) if record else logits

    def apply_masks(self):
        with torch.no_grad():
            for syn in self.synapses:
                syn.op.weight.mul_(syn.mask)

    def to_golden(self, input_bits=8, input_signed=False, meta=None) -> GoldenModel:
        """The integer model this network computes in integer mode."""
        if not self.quantized:
            raise QsnnError("a float network has no integer model; train with --weight-bits 1..16")
        if self.training:
            raise QsnnError("to_golden needs eval mode (call .eval() first)")
        layers = []
        for syn, lif, pool in zip(self.synapses, self.neurons, self.pools):
            w, b, s = syn.integer_params()
            w = syn.hardware_weights(w)
            geometry = syn.hardware_geometry()
            layer = Layer(syn.kind, w, b, lif.params(s), syn.in_shape, s, tuple(pool), *geometry, syn.recurrent_int())
            layers.append(layer)
        d = self.cfg.data
        return GoldenModel(
            layers,
            self.shape,
            d.steps,
            d.encoding,
            input_bits,
            input_signed,
            d.encoding_seed,
            meta=dict(meta or {}),
            readout=self.cfg.model.readout,
        )
