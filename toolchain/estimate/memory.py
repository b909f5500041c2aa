"""Memory footprint of a spiking network (tinySNN, Putra & Shafique, Eq. 4).

    M = Nw * Bw + sum_k Nn_k * Bn_k

Weights are stored densely at Bw bits, a recurrent layer's V (out x out) with them (``nonzero_weights`` is reported
beside for pruned nets).
Neuron parameters k, per layer of n neurons with membrane width B:
  - bias:      n values at B bits (it is added into the membrane, so it never needs more)
  - membrane:  n values at B bits per state word of the neuron model (LIF: V; CubaLIF: V and the current J)
  - threshold: 1 value at B bits (one integer threshold per layer), or one per channel (``--per-neuron``)
  - leak:      1 value per layer (or per channel with ``--per-neuron``): beta_int at F + 1 bits, a shift k at
               5 bits, nothing for 'none'; and the model's own (``param_bits``: CubaLIF's alpha_int at F + 1 bits),
               as many as the leak has (per layer, or per channel)
The float baseline M_0 stores every one of these at 32 bits.
"""

from __future__ import annotations

FLOAT_BITS = 32


def leak_bits(leak: str, beta_frac_bits: int) -> int:
    return {"none": 0, "shift": 5, "beta": beta_frac_bits + 1}[leak]


def footprint(
    layers,
    weight_bits,
    membrane_bits,
    leak="beta",
    beta_frac_bits=8,
    nonzero_weights=None,
    neuron_model="lif",
    per_neuron=None,
):
    """layers: [(n_weights, n_neurons)]; None bit-widths mean float32. ``per_neuron``: the number of channels of
    each layer holding its own threshold and beta (None: one of each per layer). Returns a dict of bit counts."""
    from toolchain.golden import neurons

    model = neurons.get(neuron_model, "--neuron")
    bw = FLOAT_BITS if weight_bits is None else weight_bits
    bn = FLOAT_BITS if membrane_bits is None else membrane_bits
    bl = FLOAT_BITS if membrane_bits is None and leak != "none" else leak_bits(leak, beta_frac_bits)
    n_w = sum(w for w, _ in layers)
    n_n = sum(n for _, n in layers)
    n_p = sum(per_neuron) if per_neuron else len(layers)  # threshold and leak values
    parts = {
        "weights": n_w * bw,
        "bias": n_n * bn,
        "membrane": n_n * bn * len(model.states),
        "threshold": n_p * bn,
        # the model's own parameters (CubaLIF's alpha_int), per layer or per channel: FLOAT_BITS each in the float
        # baseline
        "leak": n_p * bl
        + n_p * (FLOAT_BITS * len(model.params) if membrane_bits is None else model.param_bits(beta_frac_bits)),
    }
    total = sum(parts.values())
    float_total = (
        footprint(layers, None, None, leak, beta_frac_bits, neuron_model=neuron_model, per_neuron=per_neuron)[
            "memory_bits"
        ]
        if (weight_bits is not None or membrane_bits is not None)
        else total
    )
    return {
        "memory_bits": total,
        "memory_float_bits": float_total,
        "memory_ratio": total / float_total,
        "parts": parts,
        "n_weights": n_w,
        "n_neurons": n_n,
        "nonzero_weights": n_w if nonzero_weights is None else int(nonzero_weights),
    }


def network_footprint(net):
    """Footprint of a SpikingNet at its configured widths."""
    cfg = net.cfg
    # a recurrent layer's V (out, out) is stored like W, at W's bits
    rec = [0 if syn.rec is None else syn.rec.numel() for syn in net.synapses]
    layers = [(syn.op.weight.numel() + r, int(_prod(syn.out_shape))) for syn, r in zip(net.synapses, rec)]
    nonzero = sum(int((syn.op.weight * syn.mask != 0).sum()) for syn in net.synapses)
    nonzero += sum(int((syn.rec != 0).sum()) for syn in net.synapses if syn.rec is not None)
    wb = cfg.quant.weight_bits if net.quantized else None
    mb = cfg.quant.membrane_bits if net.quantized else None
    per_neuron = [len(syn.bias) for syn in net.synapses] if cfg.neuron.per_neuron else None
    return footprint(layers, wb, mb, cfg.neuron.leak, cfg.neuron.beta_frac_bits, nonzero, cfg.neuron.model, per_neuron)


def _prod(shape):
    out = 1
    for d in shape:
        out *= d
    return out
