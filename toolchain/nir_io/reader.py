"""A NIR graph read into the project's layers (the conventions: toolchain/nir_io/__init__.py); refused, naming
the node, where it is not a chain this project builds."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from toolchain.argtypes import layer_token
from toolchain.errors import QsnnError
from toolchain.golden import neurons
from toolchain.golden.arith import conv_out

from .conventions import DEFAULT_DT, DISCRETIZATIONS, channels_last_perm

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


def _recurrent_edges(nodes, edges) -> tuple[dict, list]:
    """A neuron node's synapse from its own output, as snnTorch's RLeaky (``1.lif`` <-> ``1.w_rec``) and the NIR
    paper write it: a Linear/Affine fed only by that neuron node and feeding only it, with one weight per pair of
    its neurons. Returns ({neuron node: the synapse node's name}, the edges without the loop)."""
    ends = [(_node_of(a, nodes), _node_of(b, nodes)) for a, b in edges]
    found = {}
    for name, node in nodes.items():
        if type(node).__name__ not in ("Linear", "Affine"):
            continue
        ins = {a for a, b in ends if b == name}
        outs = {b for a, b in ends if a == name}
        if len(ins) == 1 and ins == outs and type(nodes[next(iter(ins))]).__name__ in NIR_NEURONS:
            w = np.asarray(node.weight)
            if w.ndim == 2 and w.shape[0] == w.shape[1]:
                found[next(iter(ins))] = name
    loop = set(found.values())
    return found, [e for e, (a, b) in zip(edges, ends) if a not in loop and b not in loop]


def _chain(graph, path) -> list[tuple[str, object]]:
    """The graph's nodes from input to output, refusing branches, cycles, subgraphs and unknown node types; a
    neuron node's recurrent synapse (``_recurrent_edges``) is left out of the chain and named on the neuron node's
    entry (``RECURRENT``)."""
    nodes, edges = dict(graph.nodes), list(graph.edges)
    for name, node in nodes.items():
        kind = type(node).__name__
        if kind not in SUPPORTED:
            what = "a recurrent or nested subgraph" if kind == "NIRGraph" else f"node type {kind}"
            raise QsnnError(
                f"{path}: node '{name}' is {what}, which qsnn import cannot build; supported: "
                f"{', '.join(SUPPORTED)} in a feed-forward chain"
            )
    for a, b in edges:
        if _node_of(a, nodes) is None or _node_of(b, nodes) is None:
            raise QsnnError(f"{path}: edge {a} -> {b} names a node the graph does not hold")
    recurrent, edges = _recurrent_edges(nodes, edges)
    for syn in recurrent.values():
        del nodes[syn]
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
    return [(n, nodes[n], graph.nodes[recurrent[n]] if n in recurrent else None) for n in order]


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


def _neuron(name, node, dt, shape, discretization="euler"):
    """(beta, threshold, gain, alpha) of a LIF/IF/CubaLIF/LI node over neurons of ``shape``, discretised with step
    dt: beta, threshold, gain and alpha one value per neuron (flat, channel first); beta None for IF, threshold None
    for LI, alpha None but for CubaLIF. CubaLIF: ``J <- alpha J + (w_in dt / tau_syn) S`` and
    ``v <- beta v + (R dt / tau_mem) J``; both gains scale the one linear path from the synapse to the membrane, so
    their product folds into the synapse. ``discretization`` "rockpool": Rockpool's LIFTorch (``_rockpool``)."""
    kind = type(node).__name__
    if discretization == "rockpool":
        return _rockpool(name, node, dt, shape)
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
    alpha = _decay(name, "alpha = 1 - dt/tau_syn", tau_syn, dt)
    w_in = _per_neuron(name, "w_in", node.w_in, shape)
    return beta, thr, (w_in * dt / tau_syn) * (r * dt / tau), alpha


def _rockpool(name, node, dt, shape):
    """A CubaLIF node as Rockpool's LIFTorch runs it (Rockpool writes one per LIFTorch): each step
    ``J <- alpha (J + S)``, ``v <- beta v + J``, fire at ``v >= v_threshold``, with the exact decays
    ``alpha = exp(-dt/tau_syn)``, ``beta = exp(-dt/tau_mem)``. The input gain is alpha (the input is added before
    the current decays); Rockpool's ``r`` and ``w_in`` are not gains (its own importer ignores them). Only the
    one-spike-per-step neuron (``max_spikes_per_dt=1``) is this network: NIR does not record that option."""
    kind = type(node).__name__
    if kind != "CubaLIF":
        raise QsnnError(
            f"NIR node '{name}' is {kind}: --discretization rockpool reads Rockpool's LIFTorch neurons (CubaLIF "
            "nodes); import other graphs with --discretization euler"
        )
    if np.any(np.asarray(node.v_leak) != 0) or np.any(np.asarray(node.v_reset) != 0):
        raise QsnnError(f"NIR node '{name}': v_leak (Rockpool's bias) and v_reset must be 0")
    thr = _per_neuron(name, "v_threshold", node.v_threshold, shape)
    if not np.all(np.isfinite(thr)) or np.any(thr <= 0):
        raise QsnnError(f"NIR node '{name}': v_threshold must be positive and finite")
    tau_mem = _per_neuron(name, "tau_mem", node.tau_mem, shape)
    beta = _decay(name, "beta = exp(-dt/tau_mem)", tau_mem, dt, exact=True)
    alpha = _decay(name, "alpha = exp(-dt/tau_syn)", _per_neuron(name, "tau_syn", node.tau_syn, shape), dt, exact=True)
    return beta, thr, alpha, alpha


def _decay(name, what, tau, dt, exact=False) -> np.ndarray:
    """1 - dt / tau (forward Euler), or exp(-dt / tau) (``exact``), per neuron, each in [0, 1]."""
    if np.any(tau <= 0):
        raise QsnnError(f"NIR node '{name}': its time constants must be positive")
    decay = np.exp(-dt / tau) if exact else 1.0 - dt / tau
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


def _conv_geometry(name, kind, node, kernel) -> tuple:
    """A NIR conv's (stride, padding), each (along H, along W), with padding "valid" as 0 and "same" (stride 1, odd
    kernel) as (K - 1) / 2. The project's 2-D layers are square (cNkKsSpP): a kernel, stride or padding that differs
    between the axes is refused by name."""
    one_d = kind == "Conv1d"
    stride = np.asarray(node.stride, dtype=np.int64).reshape(-1)
    stride = (1, int(stride[0])) if one_d else tuple(int(v) for v in np.broadcast_to(stride, (2,)))
    pad = node.padding
    if isinstance(pad, str):
        if pad not in ("valid", "same") or (pad == "same" and (max(stride) > 1 or any(k % 2 == 0 for k in kernel))):
            raise QsnnError(
                f"NIR node '{name}' ({kind}): padding={pad!r} is not supported; give the padding as numbers, or "
                "'valid', or 'same' with stride 1 and an odd kernel"
            )
        pad = (0, 0) if pad == "valid" else tuple((k - 1) // 2 for k in kernel)
    else:
        pad = np.asarray(pad, dtype=np.int64).reshape(-1)
        pad = (0, int(pad[0])) if one_d else tuple(int(v) for v in np.broadcast_to(pad, (2,)))
    if not one_d and (kernel[0] != kernel[1] or stride[0] != stride[1] or pad[0] != pad[1]):
        raise QsnnError(
            f"NIR node '{name}' ({kind}): kernel {tuple(kernel)}, stride {stride}, padding {pad} differ between the "
            "axes; this project's conv layers are square (the same kernel, stride and padding along H and W)"
        )
    if min(stride) < 1 or min(pad) < 0 or max(pad) >= max(kernel):
        raise QsnnError(f"NIR node '{name}' ({kind}): stride {stride} / padding {pad} out of range for kernel {kernel}")
    return stride, pad


def _pool_before_conv(name, pooled, one_d) -> int:
    """The window K of a sum / average pool that a conv follows: kept as the conv's sum-pool (``spK``, folded into
    the conv's weights exactly at build), which needs a square pool with stride = window."""
    (kh, kw), (sh, sw) = pooled["kernel"], pooled["stride"]
    if one_d or kh != kw or (sh, sw) != (kh, kw):
        raise QsnnError(
            f"NIR node '{name}': a conv after a pool of kernel {(kh, kw)} and stride {(sh, sw)}; a pool before a conv "
            "must be 2-D and square with stride = kernel (it becomes the conv's sum-pool)"
        )
    return int(kh)


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
    if layer.get("recurrent") is not None:  # V s[t-1] enters through the same input
        layer["recurrent"] = layer["recurrent"] * gain[:, None]


def read_network(path, sample_shape, dt=DEFAULT_DT, discretization="euler") -> dict:
    """A NIR file as the project's layers and network-wide configuration (``_network``). ``sample_shape`` is the
    dataset's channels-last sample shape; ``discretization`` one of DISCRETIZATIONS."""
    if not (isinstance(dt, float) and dt > 0):
        raise QsnnError(f"--dt {dt!r} must be a positive number of seconds")
    if discretization not in DISCRETIZATIONS:
        raise QsnnError(f"--discretization {discretization!r} is not one of {', '.join(DISCRETIZATIONS)}")
    chain = _chain(_read(path), path)
    # NIR's channel-first shape of the data flowing between nodes
    shape = tuple(sample_shape)
    cf = (shape[-1], *shape[:-1]) if len(shape) > 1 else shape
    layers, pending, flat_from, pooled = [], None, None, None
    for name, node, rec in chain[1:-1]:
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
            w = w[:, channels_last_perm(src)]
            b = np.asarray(node.bias, dtype=np.float64) if kind == "Affine" else np.zeros(w.shape[0])
            pending = {"name": name, "kind": "dense", "weight": w, "bias": b.copy()}
            cf, flat_from = (w.shape[0],), None
        elif kind in ("Conv1d", "Conv2d"):
            if pending is not None:
                raise QsnnError(f"NIR node '{name}': two synapses in a row; put a neuron node between them")
            if layers and layers[-1]["kind"] == "dense":
                raise QsnnError(f"NIR node '{name}': a conv after dense layers is not supported (conv layers first)")
            w = np.asarray(node.weight, dtype=np.float64)
            one_d = kind == "Conv1d"
            for attr in ("dilation", "groups"):
                v = np.asarray(getattr(node, attr)).reshape(-1).tolist()
                if any(x != 1 for x in v):
                    shown = v[0] if len(set(v)) == 1 else tuple(v)
                    raise QsnnError(f"NIR node '{name}' ({kind}): {attr}={shown} is not supported; use {attr} 1")
            if one_d:
                w = w[:, :, None, :]  # Conv1d on (C, L) is a 1 x k conv on (C, 1, L)
                if len(cf) == 2:
                    cf = (cf[0], 1, cf[1])
            if len(cf) != 3 or w.ndim != 4 or w.shape[1] != cf[0]:
                raise QsnnError(f"NIR node '{name}': weight {w.shape} does not fit its input {cf} (channel first)")
            stride, pad = _conv_geometry(name, kind, node, w.shape[2:])
            sum_pool = 1
            if pooled is not None:  # a sum / average pool before a conv: the next layer's sum-pool (spK)
                sum_pool = _pool_before_conv(name, pooled, one_d)
                w, pooled = w * pooled["scale"], None
            out = (w.shape[0], *(conv_out(cf[1 + a], w.shape[2 + a], stride[a], pad[a]) for a in (0, 1)))
            if min(out[1:]) < 1:
                raise QsnnError(f"NIR node '{name}': kernel {w.shape[2:]} is larger than its input {cf[1:]}")
            pending = {"name": name, "kind": "conv", "weight": w, "bias": np.asarray(node.bias, np.float64).copy()}
            pending |= {"stride": stride[1], "padding": pad[1], "sum_pool": sum_pool}
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
            pending["recurrent"] = None
            if rec is not None:  # V s[t-1] joins the input; an Affine's bias is added every step (s[-1] = 0)
                v = np.asarray(rec.weight, dtype=np.float64)
                if conv != "dense" or v.shape != (n_out, n_out):
                    raise QsnnError(
                        f"NIR node '{name}': its recurrent synapse {v.shape} needs a dense layer of {n_out} neurons"
                    )
                pending["recurrent"] = v.copy()
                if type(rec).__name__ == "Affine":
                    pending["bias"] = pending["bias"] + np.asarray(rec.bias, dtype=np.float64)
            beta, thr, gain, alpha = _neuron(name, node, dt, cf, discretization)
            _fold_gain(pending, _per_channel(name, "the input gain R dt/tau", gain, conv, n_out))
            pending["neuron"], pending["readout"] = name, kind == "LI"
            pending["beta"] = None if beta is None else _per_channel(name, "tau", beta, conv, n_out)
            pending["threshold"] = None if thr is None else _per_channel(name, "v_threshold", thr, conv, n_out)
            pending["alpha"] = None if alpha is None else _per_channel(name, "tau_syn", alpha, conv, n_out)
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
    """The network-wide configuration of the NIR layers: one neuron model; one threshold, one beta (and one CubaLIF
    alpha) for the whole network when every neuron has the same (else per neuron: ``per_neuron``, vectors in each
    layer)."""
    first = layers[0]
    for layer in layers[1:]:
        if (layer["alpha"] is None) != (first["alpha"] is None):
            show = lambda v: "no synaptic current" if v is None else "a CubaLIF current"  # noqa: E731
            raise QsnnError(
                f"NIR node '{layer['neuron']}': {show(layer['alpha'])} where '{first['neuron']}' has "
                f"{show(first['alpha'])}; this project uses one neuron model per network"
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
    alphas = None if first["alpha"] is None else np.concatenate([layer["alpha"] for layer in layers])
    same = lambda v: np.max(np.abs(v - v[0])) <= REL_TOL * max(1.0, abs(v[0]))  # noqa: E731
    resets = {layer["reset"] for layer in spiking}
    convs = [layer for layer in layers if layer["kind"] == "conv"]
    specs = []  # the hidden layers as parsed --layers tokens; the last layer is the classifier
    for layer in layers[:-1]:
        out = layer["weight"].shape[0]
        if layer["kind"] == "dense":
            specs.append(("dense", out, "recurrent") if layer.get("recurrent") is not None else ("dense", out))
            continue
        if layer["sum_pool"] > 1:
            specs.append(("sumpool", layer["sum_pool"]))
        specs.append(("conv", out, layer["weight"].shape[3], layer["stride"], layer["padding"]))
    if layers[-1]["kind"] == "conv":
        raise QsnnError(f"NIR node '{layers[-1]['name']}': the last layer is a conv; end with a dense classifier")
    if layers[-1].get("recurrent") is not None:
        raise QsnnError(
            f"NIR node '{layers[-1]['neuron']}': the classifier (the last layer) is recurrent; this project's "
            "recurrent layers are hidden ones: add a dense classifier after it"
        )
    return {
        "layers": layers,
        "arch": "conv" if convs else "mlp",
        "tokens": tuple(layer_token(spec) for spec in specs),
        "leak": "beta" if leaky else "none",
        "beta": float(betas[0]),
        "threshold": float(thr[0]),
        "per_neuron": not (same(thr) and same(betas) and (alphas is None or same(alphas))),
        "readout": "membrane" if layers[-1]["readout"] else "count",
        # the reset the spiking nodes' metadata records, if they agree (qsnn export writes it; NIR has no field)
        "reset": resets.pop() if len(resets) == 1 and resets <= {"zero", "subtract"} else None,
        "model": "lif" if first["alpha"] is None else "cubalif",
        "params": {} if alphas is None else {"alpha": float(alphas[0])},
    }
