"""A trained network written as a NIR graph (the conventions: toolchain/nir_io/__init__.py)."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from toolchain.errors import QsnnError
from toolchain.golden.arith import conv_out

from .conventions import DEFAULT_DT, channels_last_perm


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
    nodes, order, loops = {}, [], []
    shape = tuple(net.shape)
    sequence = len(shape) == 2
    cf = (shape[-1], *shape[:-1]) if len(shape) > 1 else shape
    nodes["input"] = nir.Input(input_type=np.array(cf))
    order.append("input")
    prev_cf = cf
    for k, (syn, lif) in enumerate(zip(net.synapses, net.neurons)):
        if syn.sum_pool != (1, 1):  # written as the pool it trained with (the golden model folds it into the weights)
            if sequence:
                raise QsnnError("NIR has no 1-D sum-pool node: a sequence network with a sum-pool cannot be written")
            nodes[f"sumpool{k}"] = nir.SumPool2d(np.array(syn.sum_pool), np.array(syn.sum_pool), np.array((0, 0)))
            order.append(f"sumpool{k}")
            prev_cf = (prev_cf[0], *(n // p for n, p in zip(prev_cf[1:], syn.sum_pool)))
        if golden is not None:
            layer = golden.layers[k]
            s = float(layer.scale)
            w = syn.integer_params()[0].astype(np.float64) * s / syn.in_scale
            b = layer.bias.astype(np.float64) * s
            p = layer.neuron
            one = 2.0**p.beta_frac_bits
            thr = np.asarray(p.thresholds or p.threshold, dtype=np.float64) * s * 2.0**p.input_shift
            beta = {"none": 1.0, "shift": 1.0 - 2.0**-p.leak_shift, "beta": np.asarray(p.beta_ints or p.beta_int) / one}
            beta = np.asarray(beta[p.leak_mode], dtype=np.float64)
            reset, frac_bits = p.reset, p.beta_frac_bits
            alpha = np.asarray(p.alpha_ints or p.alpha_int) / one if p.neuron_model == "cubalif" else None
        else:
            w = syn.op.weight.detach().numpy().astype(np.float64)
            b = syn.bias.detach().numpy().astype(np.float64)
            n = lif.neuron
            thr = n.threshold if lif.theta is None else lif.theta.detach().numpy().astype(np.float64)
            beta = real_beta(n) if lif.beta is None else lif.beta.detach().clamp(0, 1).numpy().astype(np.float64)
            thr, beta, reset, frac_bits = np.asarray(thr), np.asarray(beta), n.reset, n.beta_frac_bits
            alpha = None
            if n.model == "cubalif":
                a = lif.decays["alpha"].detach().clamp(0, 1).numpy() if "alpha" in lif.decays else n.param("alpha")
                alpha = np.asarray(a, dtype=np.float64)
        out = w.shape[0]
        if syn.kind == "dense":
            if len(prev_cf) > 1:  # the project's flatten is channels-last; NIR's is channel-first
                nodes[f"flatten{k}"] = nir.Flatten(input_type={"input": np.array(prev_cf)}, start_dim=0)
                order.append(f"flatten{k}")
                w_cf = np.empty_like(w)
                w_cf[:, channels_last_perm(prev_cf)] = w
                w = w_cf
            nodes[f"fc{k}"] = nir.Affine(weight=w.astype(np.float32), bias=b.astype(np.float32))
            order.append(f"fc{k}")
            prev_cf = (out,)
        else:
            st, pad = (syn.stride, syn.padding)
            if sequence:
                node = nir.Conv1d(None, w[:, :, 0, :].astype(np.float32), st[1], pad[1], 1, 1, b.astype(np.float32))
                prev_cf = (out, conv_out(prev_cf[-1], w.shape[3], st[1], pad[1]))
            else:
                node = nir.Conv2d(None, w.astype(np.float32), st, pad, 1, 1, b.astype(np.float32))
                hw = [conv_out(prev_cf[1 + a], w.shape[2 + a], st[a], pad[a]) for a in (0, 1)]
                prev_cf = (out, *hw)
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
            if np.any(beta >= 1.0) or np.any(alpha >= 1.0):
                raise QsnnError(
                    "a CubaLIF network without decay (beta or alpha = 1) has no NIR form (its tau is infinite)"
                )
            tau_s = per_neuron(dt / (1.0 - alpha))
            nodes[f"lif{k}"] = nir.CubaLIF(
                tau_syn=tau_s,
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
        if syn.rec is not None:  # V from the layer's own spikes, as a self edge through an Affine (snnTorch's RLeaky)
            v = golden.layers[k].recurrent * s if golden is not None else syn.rec.detach().cpu().numpy()
            nodes[f"rec{k}"] = nir.Affine(weight=v.astype(np.float32), bias=np.zeros(out, dtype=np.float32))
            loops += [(f"lif{k}", f"rec{k}"), (f"rec{k}", f"lif{k}")]
    nodes["output"] = nir.Output(output_type=np.array(prev_cf))
    order.append("output")
    return nir.NIRGraph(nodes=nodes, edges=list(zip(order[:-1], order[1:])) + loops)


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
