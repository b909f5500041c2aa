"""NIR in and out: ``qsnn import MODEL.nir`` makes a run directory from a network trained elsewhere (snnTorch,
Norse, Sinabs, ... write NIR), and ``qsnn export RUN --nir OUT.nir`` writes a run back as NIR.

The graph is read and written by the ``nir`` package; what is written here is the mapping between NIR's
continuous-time nodes and this project's discrete network, which no library does.

Conventions (NIR does not record them; the options of ``qsnn import`` set them):

- Time: a neuron node is discretised by forward Euler with step ``dt`` (``--dt``, default 1e-4, the step
  snnTorch's exporter assumes). LIF ``tau dv/dt = (v_leak - v) + R I`` becomes ``v <- beta v + g I`` with
  ``beta = 1 - dt / tau`` and input gain ``g = R dt / tau``; IF ``dv/dt = R I`` becomes ``v <- v + R dt I``.
  CubaLIF adds ``J <- alpha J + (w_in dt / tau_syn) S`` with ``alpha = 1 - dt / tau_syn`` before the membrane.
  The gains are folded into the synapse before them (exactly, per neuron).
- Reset: NIR's neurons reset *to* ``v_reset`` (= 0 here): ``--reset zero``, the default, and what snnTorch's
  own importer builds. snnTorch's default reset by subtraction is not recorded in NIR: pass ``--reset subtract``
  for such a network (a graph ``qsnn export`` wrote carries its reset in the neuron nodes' metadata). NIR fires
  on ``v > v_threshold``; this project fires on ``v >= theta`` (DESIGN.md), which differs only when the membrane
  equals the threshold exactly.
- Data: the graph's input is one sample in PyTorch's channel-first layout ((C, H, W), (C, L) or (F,)), scaled as
  the project feeds its first layer: ``x_int / 2^bits`` (unsigned) or ``x_int / 2^(bits - 1)`` (signed), the same
  value at each of the T steps (direct encoding). Dense weights that follow a channel-first flatten are permuted
  to the project's channels-last order.
- Networks: a feed-forward chain of synapses (Linear, Affine, Conv1d, Conv2d with stride 1, no padding, one
  group), each followed by one neuron node (LIF, IF, CubaLIF; LI as the last, a membrane readout), with Scale nodes
  folded into the synapse before them and Flatten between the conv and dense parts; a SumPool2d / AvgPool2d after the
  last conv layer folds exactly into the dense layer after it (a pool is linear). The readout is the last layer's
  spike count, or an LI layer's final membrane. All layers share one neuron model (and CubaLIF's alpha); thresholds
  and betas that differ between layers or neurons are kept per neuron (``--per-neuron``; one per channel in conv
  layers), else the run has one of each.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from toolchain.errors import QsnnError
from toolchain.golden import neurons

DEFAULT_DT = 1e-4  # snnTorch's export_to_nir writes tau = dt / (1 - beta) with this dt
# the neuron nodes: those the registered neuron models import (toolchain/golden/neurons: LIF, IF, CubaLIF)
NIR_NEURONS = tuple(t for m in neurons.REGISTRY.values() for t in m.nir)
SUPPORTED = (
    "Input",
    "Output",
    "Linear",
    "Affine",
    "Conv1d",
    "Conv2d",
    "Flatten",
    "SumPool2d",
    "AvgPool2d",
    "Scale",
    *NIR_NEURONS,
)
REL_TOL = 1e-5  # "the same value" for neuron parameters read from float32/float64 files


def _read(path) -> object:
    import nir

    path = Path(path)
    if not path.is_file():
        raise QsnnError(f"NIR file {path} not found; give the .nir file a framework's NIR export wrote")
    try:
        # without nir's type inference: writers disagree on the Input's type (Sinabs includes the time axis), and
        # every shape that matters (weights against the data they receive) is checked below
        return nir.read(str(path), type_check=False)
    except Exception as e:  # noqa: BLE001 - h5py/nir raise many types on a file that is not NIR
        raise QsnnError(
            f"{path} is not a readable NIR file ({type(e).__name__}: {e}); write it with nir.write or a framework's "
            "NIR export"
        ) from None


def _node_of(end: str, nodes) -> str | None:
    """The node an edge end names: the whole name (nirtorch writes dotted names like 'features.0'), else the
    name with trailing '.port' parts cut off one at a time; None if no node matches."""
    name = end
    while name not in nodes and "." in name:
        name = name.rsplit(".", 1)[0]
    return name if name in nodes else None


def _loop(succ: dict) -> list[str]:
    """A cycle of the graph as its nodes in order (a node feeding itself, directly or through others), or []."""
    state, stack = {}, []

    def visit(n):
        state[n] = "open"
        stack.append(n)
        for m in succ[n]:
            if state.get(m) == "open":
                return stack[stack.index(m) :]
            if m not in state and (found := visit(m)):
                return found
        state[n] = "done"
        stack.pop()
        return []

    for n in succ:
        if n not in state and (found := visit(n)):
            return found
    return []


def _chain(graph, path) -> list[tuple[str, object]]:
    """The graph's nodes from input to output, refusing branches, cycles, subgraphs and unknown node types."""
    nodes, edges = dict(graph.nodes), list(graph.edges)
    for name, node in nodes.items():
        kind = type(node).__name__
        if kind not in SUPPORTED:
            what = "a recurrent or nested subgraph" if kind == "NIRGraph" else f"node type {kind}"
            raise QsnnError(
                f"{path}: node '{name}' is {what}, which qsnn import cannot build; supported: "
                f"{', '.join(SUPPORTED)} in a feed-forward chain"
            )
    succ, pred = {n: [] for n in nodes}, {n: [] for n in nodes}
    for src, dst in edges:
        a, b = _node_of(src, nodes), _node_of(dst, nodes)
        if a is None or b is None:
            raise QsnnError(f"{path}: edge {src} -> {dst} names a node the graph does not hold")
        succ[a].append(b)
        pred[b].append(a)
    loop = _loop(succ)
    if loop:
        raise QsnnError(
            f"{path}: node '{loop[0]}' feeds itself ({' -> '.join(loop + [loop[0]])}): a recurrent layer, which "
            "qsnn import does not build yet; give a feed-forward chain"
        )
    inputs = [n for n, v in nodes.items() if type(v).__name__ == "Input"]
    if len(inputs) != 1:
        raise QsnnError(f"{path}: the graph has {len(inputs)} Input nodes; qsnn import takes exactly one")
    order, cur = [], inputs[0]
    while True:
        order.append(cur)
        if len(order) > len(nodes):
            raise QsnnError(f"{path}: the graph has a cycle through '{cur}'; qsnn import takes a feed-forward chain")
        nxt = succ[cur]
        if not nxt:
            break
        if len(nxt) > 1 or len(pred[nxt[0]]) > 1:
            fork = cur if len(nxt) > 1 else nxt[0]
            raise QsnnError(f"{path}: node '{fork}' branches or merges; qsnn import takes a feed-forward chain")
        cur = nxt[0]
    if type(nodes[cur]).__name__ != "Output":
        raise QsnnError(f"{path}: the chain from the input ends at '{cur}', not at an Output node")
    if len(order) != len(nodes):
        rest = sorted(set(nodes) - set(order))
        raise QsnnError(f"{path}: nodes {rest} are not on the input-to-output chain")
    return [(n, nodes[n]) for n in order]


def _uniform(name, what, values) -> float:
    v = np.asarray(values, dtype=np.float64).reshape(-1)
    if v.size == 0 or not np.all(np.isfinite(v)):
        raise QsnnError(f"NIR node '{name}': {what} is empty or not finite")
    if np.max(np.abs(v - v[0])) > REL_TOL * max(1.0, abs(v[0])):
        raise QsnnError(
            f"NIR node '{name}': {what} differs between neurons ({v.min():g} .. {v.max():g}); this project builds one "
            f"{what} per network (thresholds and the membrane's beta may be per neuron, this may not)"
        )
    return float(v[0])


def _per_neuron(name, what, value, shape) -> np.ndarray:
    """A neuron parameter as one value per neuron, flat in channel-first order: a scalar, one value per channel
    ((C,) or (C, 1, 1)), or one per neuron (the shape itself)."""
    a = np.asarray(value, dtype=np.float64)
    if a.size == int(np.prod(shape)):  # one per neuron (a Conv1d's (C, L) neurons are held as (C, 1, L) here)
        return a.reshape(-1)
    if a.ndim == 1 and len(shape) > 1 and a.size == shape[0]:
        a = a.reshape((-1,) + (1,) * (len(shape) - 1))
    try:
        return np.broadcast_to(a, shape).reshape(-1)
    except ValueError:
        raise QsnnError(
            f"NIR node '{name}': {what} of shape {a.shape} does not fit its {shape} neurons (channel first)"
        ) from None


def _neuron(name, node, dt, shape):
    """(beta, threshold, gain, alpha) of a LIF/IF/CubaLIF/LI node over neurons of ``shape``, discretised with step
    dt: beta, threshold and gain one value per neuron (flat, channel first); beta None for IF, threshold None for
    LI; alpha a scalar or None. CubaLIF: ``J <- alpha J + (w_in dt / tau_syn) S`` and ``v <- beta v + (R dt / tau_mem)
    J``; both gains scale the one linear path from the synapse to the membrane, so their product folds into the
    synapse."""
    kind = type(node).__name__
    if getattr(node, "v_reset", None) is not None and np.any(np.asarray(node.v_reset) != 0):
        raise QsnnError(f"NIR node '{name}': v_reset must be 0 (neurons reset to 0 or by subtraction here)")
    r = _per_neuron(name, "r", node.r, shape)
    thr = None
    if kind != "LI":
        thr = _per_neuron(name, "v_threshold", node.v_threshold, shape)
        if not np.all(np.isfinite(thr)) or np.any(thr <= 0):
            raise QsnnError(f"NIR node '{name}': v_threshold must be positive and finite")
    if kind == "IF":
        return None, thr, r * dt, None
    if np.any(np.asarray(node.v_leak) != 0):
        raise QsnnError(f"NIR node '{name}': v_leak must be 0 (the leak decays towards 0 here)")
    cuba = kind == "CubaLIF"
    tau = _per_neuron(name, "tau_mem" if cuba else "tau", node.tau_mem if cuba else node.tau, shape)
    beta = _decay(name, "beta = 1 - dt/tau" + ("_mem" if cuba else ""), tau, dt)
    if not cuba:
        return beta, thr, r * dt / tau, None
    tau_syn = _per_neuron(name, "tau_syn", node.tau_syn, shape)
    alpha = _uniform(name, "alpha = 1 - dt/tau_syn", _decay(name, "alpha = 1 - dt/tau_syn", tau_syn, dt))
    w_in = _per_neuron(name, "w_in", node.w_in, shape)
    return beta, thr, (w_in * dt / tau_syn) * (r * dt / tau), alpha


def _decay(name, what, tau, dt) -> np.ndarray:
    """1 - dt / tau per neuron, each in [0, 1]."""
    if np.any(tau <= 0):
        raise QsnnError(f"NIR node '{name}': its time constants must be positive")
    decay = 1.0 - dt / tau
    if not np.all((decay >= 0.0) & (decay <= 1.0)):
        bad = float(decay[(decay < 0.0) | (decay > 1.0)][0])
        raise QsnnError(
            f"NIR node '{name}': {what} = {bad:g} is outside [0, 1]; is --dt {dt:g} the step the network was "
            "trained with?"
        )
    return decay


def _per_channel(name, what, values, kind, n_out) -> np.ndarray:
    """A per-neuron vector (channel first) as one value per channel: a conv layer's pixels must share theirs."""
    if kind != "conv":
        return values
    v = values.reshape(n_out, -1)
    if np.any(np.abs(v - v[:, :1]) > REL_TOL * np.maximum(1.0, np.abs(v[:, :1]))):
        raise QsnnError(f"NIR node '{name}': {what} varies within a channel; conv layers take one per channel")
    return v[:, 0]


def _pool(name, node, cf) -> dict:
    """A SumPool2d / AvgPool2d over a conv layer's spikes (C, H, W): kernel, stride, the pooled shape, the scale
    (1, or 1 / window for an average). Spike pooling is not a layer here (the project pools by max): a sum or
    average is linear, so it folds exactly into the dense layer after it (``_unpool``)."""
    kernel = np.broadcast_to(np.asarray(node.kernel_size, dtype=np.int64).reshape(-1), (2,))
    stride = np.broadcast_to(np.asarray(node.stride, dtype=np.int64).reshape(-1), (2,))
    if np.any(np.asarray(node.padding) != 0) or np.any(kernel < 1) or np.any(stride < 1):
        raise QsnnError(f"NIR node '{name}': a pool takes a positive kernel and stride and no padding here")
    c, h, w = cf
    out = (c, (h - kernel[0]) // stride[0] + 1, (w - kernel[1]) // stride[1] + 1)
    if min(out[1:]) < 1:
        raise QsnnError(f"NIR node '{name}': pool kernel {tuple(kernel)} is larger than its input {cf[1:]}")
    scale = 1.0 if type(node).__name__ == "SumPool2d" else 1.0 / float(kernel[0] * kernel[1])
    return {"in": tuple(cf), "out": out, "kernel": tuple(kernel), "stride": tuple(stride), "scale": scale}


def _unpool(w, pooled) -> np.ndarray:
    """Dense weights over a pool's outputs (channel first) as weights over its inputs: each pooled input's weight,
    times the pool's scale, on every pixel of its window (added where windows overlap)."""
    c, h, wd = pooled["in"]
    _, ho, wo = pooled["out"]
    (kh, kw), (sh, sw) = pooled["kernel"], pooled["stride"]
    w4 = w.reshape(w.shape[0], c, ho, wo) * pooled["scale"]
    full = np.zeros((w.shape[0], c, h, wd))
    for i in range(ho):
        for j in range(wo):
            full[:, :, i * sh : i * sh + kh, j * sw : j * sw + kw] += w4[:, :, i : i + 1, j : j + 1]
    return full.reshape(w.shape[0], -1)


def _fold_gain(layer, gain) -> None:
    """Scale a layer's synapse by a gain per output channel (or one for all): its weights and its bias."""
    gain = np.broadcast_to(gain, (layer["weight"].shape[0],))
    layer["weight"] = layer["weight"] * gain.reshape((-1,) + (1,) * (layer["weight"].ndim - 1))
    layer["bias"] = layer["bias"] * gain


def _channels_last_perm(shape_cf) -> np.ndarray:
    """Index map from a channels-last flatten to the channel-first flatten of the same tensor: element k of the
    channels-last vector is element perm[k] of the channel-first one."""
    shape_cf = tuple(int(s) for s in shape_cf)
    if len(shape_cf) < 2:
        return np.arange(int(np.prod(shape_cf)))
    idx = np.arange(int(np.prod(shape_cf))).reshape(shape_cf)
    return np.moveaxis(idx, 0, -1).reshape(-1)


def read_network(path, sample_shape, dt=DEFAULT_DT) -> dict:
    """A NIR file as the project's layers and network-wide configuration (``_network``). ``sample_shape`` is the
    dataset's channels-last sample shape."""
    if not (isinstance(dt, float) and dt > 0):
        raise QsnnError(f"--dt {dt!r} must be a positive number of seconds")
    chain = _chain(_read(path), path)
    # NIR's channel-first shape of the data flowing between nodes
    shape = tuple(sample_shape)
    cf = (shape[-1], *shape[:-1]) if len(shape) > 1 else shape
    layers, pending, flat_from, pooled = [], None, None, None
    for name, node in chain[1:-1]:
        kind = type(node).__name__
        if kind in ("Linear", "Affine"):
            if pending is not None:
                raise QsnnError(
                    f"NIR node '{name}': two synapses in a row (after '{pending['name']}'); put a neuron "
                    "node between them"
                )
            w = np.asarray(node.weight, dtype=np.float64)
            n_in = int(np.prod(cf))
            if w.ndim != 2 or w.shape[1] != n_in:
                raise QsnnError(
                    f"NIR node '{name}': weight {w.shape} does not take the {n_in} inputs it receives ({cf}); does the "
                    "dataset match the network?"
                )
            src = flat_from if flat_from is not None else cf
            if pooled is not None:  # the pool folds exactly into this layer: weights over the unpooled neurons
                w, src, pooled = _unpool(w, pooled), pooled["in"], None
            w = w[:, _channels_last_perm(src)]
            b = np.asarray(node.bias, dtype=np.float64) if kind == "Affine" else np.zeros(w.shape[0])
            pending = {"name": name, "kind": "dense", "weight": w, "bias": b.copy()}
            cf, flat_from = (w.shape[0],), None
        elif kind in ("Conv1d", "Conv2d"):
            if pending is not None:
                raise QsnnError(f"NIR node '{name}': two synapses in a row; put a neuron node between them")
            if layers and layers[-1]["kind"] == "dense":
                raise QsnnError(f"NIR node '{name}': a conv after dense layers is not supported (conv layers first)")
            if pooled is not None:
                raise QsnnError(
                    f"NIR node '{name}': a conv after a sum or average pool is not supported (it would be a strided "
                    "conv); pool only before the dense layers"
                )
            w = np.asarray(node.weight, dtype=np.float64)
            one_d = kind == "Conv1d"
            for attr, ok in (("stride", 1), ("dilation", 1), ("groups", 1), ("padding", 0)):
                v = getattr(node, attr)
                if isinstance(v, str) and attr == "padding" and v == "valid":
                    continue
                if np.any(np.asarray(v) != ok):
                    raise QsnnError(
                        f"NIR node '{name}' ({kind}): {attr}={v!r} is not supported; use stride 1, dilation 1, one "
                        "group and no padding (valid convolution)"
                    )
            if one_d:
                w = w[:, :, None, :]  # Conv1d on (C, L) is a 1 x k conv on (C, 1, L)
                if len(cf) == 2:
                    cf = (cf[0], 1, cf[1])
            if len(cf) != 3 or w.ndim != 4 or w.shape[1] != cf[0]:
                raise QsnnError(f"NIR node '{name}': weight {w.shape} does not fit its input {cf} (channel first)")
            out = (w.shape[0], cf[1] - w.shape[2] + 1, cf[2] - w.shape[3] + 1)
            if min(out[1:]) < 1:
                raise QsnnError(f"NIR node '{name}': kernel {w.shape[2:]} is larger than its input {cf[1:]}")
            pending = {"name": name, "kind": "conv", "weight": w, "bias": np.asarray(node.bias, np.float64).copy()}
            cf = out
        elif kind == "Scale":
            if pending is None:
                raise QsnnError(f"NIR node '{name}': a Scale must follow a synapse (it is folded into it)")
            _fold_gain(pending, np.asarray(node.scale, dtype=np.float64).reshape(-1))
        elif kind in NIR_NEURONS:
            if pending is None:
                raise QsnnError(f"NIR node '{name}': a neuron node must follow a synapse (Linear, Affine, Conv)")
            if layers and layers[-1]["readout"]:
                raise QsnnError(f"NIR node '{layers[-1]['neuron']}': an LI readout must be the last neuron node")
            n_out, conv = pending["weight"].shape[0], pending["kind"]
            beta, thr, gain, alpha = _neuron(name, node, dt, cf)
            _fold_gain(pending, _per_channel(name, "the input gain R dt/tau", gain, conv, n_out))
            pending["neuron"], pending["readout"] = name, kind == "LI"
            pending["beta"] = None if beta is None else _per_channel(name, "tau", beta, conv, n_out)
            pending["threshold"] = None if thr is None else _per_channel(name, "v_threshold", thr, conv, n_out)
            pending["alpha"] = alpha
            pending["reset"] = (getattr(node, "metadata", None) or {}).get("reset")
            layers.append(pending)
            pending = None
        elif kind in ("SumPool2d", "AvgPool2d"):
            if pending is not None or not layers or layers[-1]["kind"] != "conv" or pooled is not None:
                raise QsnnError(f"NIR node '{name}' ({kind}): a pool must follow a conv layer's neurons, once")
            pooled = _pool(name, node, cf)
            cf = pooled["out"]
        elif kind == "Flatten":
            if pending is not None:
                raise QsnnError(f"NIR node '{name}': a Flatten between a synapse and its neurons is not supported")
            flat_from, cf = (pooled["in"] if pooled else cf), (int(np.prod(cf)),)
    if pooled is not None:
        raise QsnnError("NIR: the network ends in a pool; a sum or average pool must be followed by a dense layer")
    if pending is not None:
        raise QsnnError(
            f"NIR node '{pending['name']}': the network ends in a synapse; end it with LIF or IF neurons (the readout "
            "is their spike count)"
        )
    if not layers:
        raise QsnnError(f"{path}: the graph holds no synapse + neuron layer")
    return _network(layers)


def _network(layers) -> dict:
    """The network-wide configuration of the NIR layers: one neuron model; one threshold and one beta for the
    whole network when every neuron has the same (else per neuron: ``per_neuron``, vectors in each layer)."""
    first = layers[0]
    for layer in layers[1:]:
        a, a0 = layer["alpha"], first["alpha"]
        if (a is None) != (a0 is None) or (a is not None and abs(a - a0) > REL_TOL):
            show = lambda v: "no synaptic current" if v is None else f"CubaLIF alpha {v:g}"  # noqa: E731
            raise QsnnError(
                f"NIR node '{layer['neuron']}': {show(a)} differs from '{first['neuron']}' ({show(a0)}); this "
                "project uses one neuron model per network"
            )
    leaky = any(layer["beta"] is not None for layer in layers)
    for layer in layers:  # IF layers among leaky ones: beta 1 (no decay)
        if layer["beta"] is None and leaky:
            layer["beta"] = np.ones(layer["weight"].shape[0])
    spiking = [layer for layer in layers if not layer["readout"]]
    if not spiking:
        raise QsnnError(f"NIR node '{first['neuron']}': the network has no spiking layer, only an LI readout")
    thr = np.concatenate([layer["threshold"] for layer in spiking])
    betas = np.concatenate([layer["beta"] for layer in layers]) if leaky else np.ones(1)
    same = lambda v: np.max(np.abs(v - v[0])) <= REL_TOL * max(1.0, abs(v[0]))  # noqa: E731
    resets = {layer["reset"] for layer in spiking}
    convs = [layer for layer in layers if layer["kind"] == "conv"]
    kernels = {tuple(layer["weight"].shape[2:]) for layer in convs}
    if len(kernels) > 1:
        raise QsnnError(f"NIR: the conv layers have different kernels {sorted(kernels)}; this project uses one")
    dense = [layer["weight"].shape[0] for layer in layers if layer["kind"] == "dense"]
    return {
        "layers": layers,
        "arch": "conv" if convs else "mlp",
        "hidden": tuple(layer["weight"].shape[0] for layer in convs) if convs else tuple(dense[:-1]),
        "fc": tuple(dense[:-1]) if convs else (),
        "kernel": int(max(next(iter(kernels)))) if convs else 3,
        "leak": "beta" if leaky else "none",
        "beta": float(betas[0]),
        "threshold": float(thr[0]),
        "per_neuron": not (same(thr) and same(betas)),
        "readout": "membrane" if layers[-1]["readout"] else "count",
        # the reset the spiking nodes' metadata records, if they agree (qsnn export writes it; NIR has no field)
        "reset": resets.pop() if len(resets) == 1 and resets <= {"zero", "subtract"} else None,
        "model": "lif" if first["alpha"] is None else "cubalif",
        "params": {} if first["alpha"] is None else {"alpha": first["alpha"]},
    }


def load_into(net, network) -> None:
    """Copy the NIR layers' weights and biases into a float SpikingNet of the same structure."""
    import torch

    if len(net.synapses) != len(network["layers"]):
        raise QsnnError(
            f"NIR: {len(network['layers'])} layers, but the network built for the dataset has {len(net.synapses)}"
        )
    with torch.no_grad():
        for syn, layer in zip(net.synapses, network["layers"]):
            w = torch.from_numpy(layer["weight"]).to(syn.op.weight.dtype)
            if tuple(w.shape) != tuple(syn.op.weight.shape):
                raise QsnnError(
                    f"NIR node '{layer['name']}': weight {tuple(w.shape)} does not fit the dataset's layer "
                    f"{tuple(syn.op.weight.shape)}; does the dataset match the network?"
                )
            syn.op.weight.copy_(w)
            syn.bias.copy_(torch.from_numpy(layer["bias"]).to(syn.bias.dtype))
        for lif, layer in zip(net.neurons, network["layers"]):  # --per-neuron: the NIR values, per channel
            for vector, values in ((lif.theta, layer["threshold"]), (lif.beta, layer["beta"])):
                if vector is not None:
                    vector.copy_(torch.from_numpy(np.asarray(values)).to(vector.dtype))


# -- out -------------------------------------------------------------------------------------------------
def to_graph(net, cfg, dt=DEFAULT_DT):
    """A trained SpikingNet as a NIR graph. A quantized network is written as the real values its integer model
    computes (weights W_int * s / s_in, biases b_int * s, thresholds theta * s * 2^k: exact, the scales are powers
    of two); its beta is beta_int / 2^F. What NIR cannot say: the rounding of the leak product, the saturation at the
    membrane width, and reset by subtraction (kept in each neuron node's metadata)."""
    import nir

    from toolchain.models.lif import real_beta

    if not cfg.model.spiking:
        raise QsnnError("a non-spiking reference network has no NIR form; export a spiking run")
    if any(tuple(p) != (1, 1) for p in net.pools):
        raise QsnnError("NIR 1.0 has no max-pool node: a conv network trained with --pool > 1 cannot be written as NIR")
    golden = net.to_golden() if net.quantized else None
    nodes, order = {}, []
    shape = tuple(net.shape)
    sequence = len(shape) == 2
    cf = (shape[-1], *shape[:-1]) if len(shape) > 1 else shape
    nodes["input"] = nir.Input(input_type=np.array(cf))
    order.append("input")
    prev_cf = cf
    for k, (syn, lif) in enumerate(zip(net.synapses, net.neurons)):
        if golden is not None:
            layer = golden.layers[k]
            s = float(layer.scale)
            w = layer.weight.astype(np.float64) * s / syn.in_scale
            b = layer.bias.astype(np.float64) * s
            p = layer.neuron
            one = 2.0**p.beta_frac_bits
            thr = np.asarray(p.thresholds or p.threshold, dtype=np.float64) * s * 2.0**p.input_shift
            beta = {"none": 1.0, "shift": 1.0 - 2.0**-p.leak_shift, "beta": np.asarray(p.beta_ints or p.beta_int) / one}
            beta = np.asarray(beta[p.leak_mode], dtype=np.float64)
            reset, frac_bits = p.reset, p.beta_frac_bits
            alpha = p.alpha_int / one if p.neuron_model == "cubalif" else None
        else:
            w = syn.op.weight.detach().numpy().astype(np.float64)
            b = syn.bias.detach().numpy().astype(np.float64)
            n = lif.neuron
            thr = n.threshold if lif.theta is None else lif.theta.detach().numpy().astype(np.float64)
            beta = real_beta(n) if lif.beta is None else lif.beta.detach().clamp(0, 1).numpy().astype(np.float64)
            thr, beta, reset, frac_bits = np.asarray(thr), np.asarray(beta), n.reset, n.beta_frac_bits
            alpha = n.param("alpha") if n.model == "cubalif" else None
        out = w.shape[0]
        if syn.kind == "dense":
            if len(prev_cf) > 1:  # the project's flatten is channels-last; NIR's is channel-first
                nodes[f"flatten{k}"] = nir.Flatten(input_type={"input": np.array(prev_cf)}, start_dim=0)
                order.append(f"flatten{k}")
                w_cf = np.empty_like(w)
                w_cf[:, _channels_last_perm(prev_cf)] = w
                w = w_cf
            nodes[f"fc{k}"] = nir.Affine(weight=w.astype(np.float32), bias=b.astype(np.float32))
            order.append(f"fc{k}")
            prev_cf = (out,)
        else:
            if sequence:
                node = nir.Conv1d(None, w[:, :, 0, :].astype(np.float32), 1, 0, 1, 1, b.astype(np.float32))
                length = prev_cf[-1] - w.shape[3] + 1
                prev_cf = (out, length)
            else:
                node = nir.Conv2d(None, w.astype(np.float32), 1, 0, 1, 1, b.astype(np.float32))
                prev_cf = (out, prev_cf[1] - w.shape[2] + 1, prev_cf[2] - w.shape[3] + 1)
            nodes[f"conv{k}"] = node
            order.append(f"conv{k}")
        size = prev_cf
        meta = {"reset": reset, "dt": dt, "written_by": "qsnn-pynq"}
        ones = np.ones(size, dtype=np.float32)

        per_neuron = functools.partial(_over_neurons, size=size)
        if np.any(beta >= 1.0) and (np.any(beta < 1.0) or not lif.model.spiking):
            # NIR has no infinite tau: a neuron without decay among leaky ones (or in an LI layer) is written with
            # beta = 1 - 2^-(F+2), which import rounds back to 1 at F fraction bits (nearest rounding)
            beta = np.where(beta >= 1.0, 1.0 - 2.0 ** -(frac_bits + 2), beta)
        with np.errstate(divide="ignore"):  # an all-IF layer's tau is not written
            tau = per_neuron(dt / (1.0 - beta))
        if not lif.model.spiking:  # the LI readout: tau dv/dt = -v + R I
            nodes[f"lif{k}"] = nir.LI(tau=tau, r=tau / dt, v_leak=0 * ones, metadata=meta)
        elif alpha is not None:  # snnTorch's convention: tau = dt / (1 - decay), r = tau_mem / dt, w_in = tau_syn / dt
            if np.any(beta >= 1.0) or alpha >= 1.0:
                raise QsnnError(
                    "a CubaLIF network without decay (beta or alpha = 1) has no NIR form (its tau is infinite)"
                )
            tau_s = dt / (1.0 - alpha)
            nodes[f"lif{k}"] = nir.CubaLIF(
                tau_syn=ones * tau_s,
                tau_mem=tau,
                r=tau / dt,
                v_leak=0 * ones,
                v_threshold=per_neuron(thr),
                v_reset=0 * ones,
                w_in=ones * (tau_s / dt),
                metadata=meta,
            )
        elif np.all(beta >= 1.0):
            nodes[f"lif{k}"] = nir.IF(r=ones / dt, v_threshold=per_neuron(thr), v_reset=0 * ones, metadata=meta)
        else:
            nodes[f"lif{k}"] = nir.LIF(
                tau=tau,
                r=tau / dt,
                v_leak=0 * ones,
                v_threshold=per_neuron(thr),
                v_reset=0 * ones,
                metadata=meta,
            )
        order.append(f"lif{k}")
    nodes["output"] = nir.Output(output_type=np.array(prev_cf))
    order.append("output")
    return nir.NIRGraph(nodes=nodes, edges=list(zip(order[:-1], order[1:])))


def _over_neurons(v, size) -> np.ndarray:
    """A scalar, or one value per channel (conv) / neuron (dense), over a layer's neurons of ``size`` (channel
    first), as float32."""
    v = np.asarray(v, dtype=np.float64)
    return np.broadcast_to(v if v.ndim == 0 else v.reshape((-1,) + (1,) * (len(size) - 1)), size).astype(np.float32)


def write(net, cfg, out, dt=DEFAULT_DT) -> Path:
    """Write ``net`` as NIR to ``out`` atomically (a temporary file in the same folder, then renamed)."""
    import nir

    from toolchain.fsutil import atomic_path

    out = Path(out)
    graph = to_graph(net, cfg, dt)
    with atomic_path(out) as tmp:
        nir.write(str(tmp), graph)
    return out


# -- import ------------------------------------------------------------------------------------------------
def import_run(
    path, out, cfg, dt=DEFAULT_DT, finetune_epochs=0, force=False, progress=True, reset_from_graph=False
) -> dict:
    """Read ``path`` (NIR), quantize it post-training by ``cfg`` (its quantization, data and training options; the
    model and neuron options are taken from the graph), fine-tune with QAT for ``finetune_epochs`` if asked, and
    write a run directory at ``out``, as ``qsnn train`` does. With ``reset_from_graph`` the reset is the one the
    neuron nodes' metadata records (``qsnn export`` writes it), if they agree on one. Returns the run's metrics."""
    import time

    import torch

    from toolchain.data import load_dataset
    from toolchain.fsutil import sha256_file
    from toolchain.runs import build_model
    from toolchain.train import (
        auto_membrane_bits,
        calibrate,
        check_thresholds,
        fit,
        post_training_quantize,
        quantize_from,
        save_run,
    )

    out = Path(out)
    if out.exists() and any(out.iterdir()) and not force:
        raise QsnnError(f"run directory {out} exists and is not empty; choose another --out or pass --force")
    ds = load_dataset(cfg.data)
    network = read_network(path, ds.shape, dt)
    m, n = cfg.model, cfg.neuron
    m.arch, m.hidden, m.fc, m.kernel, m.pool, m.spiking = (
        network["arch"],
        network["hidden"],
        network["fc"],
        network["kernel"],
        1,
        True,
    )
    n.leak, n.beta, n.threshold = network["leak"], network["beta"], network["threshold"]
    n.model, n.params, n.per_neuron = network["model"], network["params"], network["per_neuron"]
    if reset_from_graph and network["reset"]:
        n.reset = network["reset"]
    if m.readout == "membrane" or (network["readout"] == "membrane" and m.readout != "count"):
        fix = (
            "an LI node: leave --readout out, the run reads out its membrane"
            if network["readout"] == "membrane"
            else "spiking neurons: use --readout count or first-spike (membrane needs an LI node last)"
        )
        raise QsnnError(f"--readout {m.readout}: the graph ends in {fix}")
    m.readout = "membrane" if network["readout"] == "membrane" else m.readout  # spikes: count or first-spike
    cfg.quant.scheme = "ptq" if finetune_epochs == 0 else "qat"
    cfg.train.epochs = finetune_epochs
    auto = cfg.quantized and cfg.quant.membrane_bits == "auto"
    if auto:
        cfg.quant.membrane_bits = 32  # a probe; the narrowest width is chosen from the imported weights below
    cfg.validate()
    t0 = time.perf_counter()
    torch.manual_seed(cfg.train.seed)
    fnet = build_model(cfg, ds, quantized=False)
    load_into(fnet, network)
    info, history, net = {}, [], fnet
    if cfg.quantized:
        net = quantize_from(fnet, cfg, ds)
        if auto:  # the narrowest membrane that holds the imported thresholds
            cfg.quant.membrane_bits = auto_membrane_bits(net.eval())
            net = quantize_from(fnet, cfg, ds)
        check_thresholds(net)
        if finetune_epochs:  # QAT from the imported weights, as `qsnn train --init-from` starts from a float run
            net = fit(net, cfg, ds, finetune_epochs, desc="qat fine-tune", history=history, progress=progress)
            info["calibration_saturation"] = calibrate(net, cfg, ds)
        else:  # training's post-training quantization: one path for both
            net, info["calibration_saturation"] = post_training_quantize(fnet, cfg, ds)
    info["train_time_s"] = time.perf_counter() - t0
    info["scheme"] = cfg.quant.scheme if cfg.quantized else "float"
    source = {"nir": str(Path(path).resolve()), "sha256": sha256_file(path), "dt": dt}
    return save_run(cfg, ds, net, out, info, history, fnet if cfg.quantized else None, source=source)
