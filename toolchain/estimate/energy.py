"""Energy per inference from a per-operation model (relative figures for comparing configurations).

Constants: M. Horowitz, "Computing's energy problem (and what we can do about it)", ISSCC 2014,
45 nm, 0.9 V: 32-bit integer add 0.1 pJ, 32-bit integer multiply 3.1 pJ, 32-bit float add 0.9 pJ,
32-bit float multiply 3.7 pJ, 64-bit read from an 8 KB SRAM 10 pJ (0.156 pJ per bit). Integer
adders scale linearly with width, multipliers with the product of the operand widths.

Counted per inference (T steps), for layer l with N_in inputs, N_out neurons, weight width Bw,
membrane width B, input spike rate r_in (measured), weight density d (nonzero fraction):
  - synaptic ops: first layer under direct encoding, N_in*N_out*T*d multiply-accumulates of
    (input bits x Bw); spiking inputs, r_in*N_in*N_out*T*d accumulates of B bits (a spike selects a
    weight, no multiplier: the sparsity-aware count of the 002 seed);
  - weight reads: the same count, Bw bits each;
  - neuron updates: N_out*T, each a B-bit add (+ a B x (F+1)-bit multiply for the beta leak, a
    B-bit subtract for the shift leak), a compare, and a read + write of the B-bit membrane.
The float baseline uses the float add/multiply and 32-bit words.
"""

from __future__ import annotations

ADD32_PJ = 0.1
MUL32_PJ = 3.1
FADD_PJ = 0.9
FMUL_PJ = 3.7
SRAM_BIT_PJ = 10.0 / 64


def add_pj(bits: int) -> float:
    return ADD32_PJ * bits / 32


def mul_pj(a_bits: int, b_bits: int) -> float:
    return MUL32_PJ * a_bits * b_bits / (32 * 32)


def inference_energy(layers, steps, weight_bits, membrane_bits, leak, beta_frac_bits, input_bits, direct: bool):
    """layers: [(n_in, n_out, input_spike_rate, weight_density)] -> {total_pj, synaptic_pj, ...}."""
    flt = weight_bits is None
    bw, b = (32, 32) if flt else (weight_bits, membrane_bits)
    syn = reads = neuron = 0.0
    ops = 0.0
    for k, (n_in, n_out, rate, density) in enumerate(layers):
        if k == 0 and direct:
            n_ops = n_in * n_out * steps * density
            syn += n_ops * ((FMUL_PJ + FADD_PJ) if flt else (mul_pj(input_bits, bw) + add_pj(b)))
        else:
            n_ops = rate * n_in * n_out * steps * density
            syn += n_ops * (FADD_PJ if flt else add_pj(b))
        ops += n_ops
        reads += n_ops * bw * SRAM_BIT_PJ
        upd = (FADD_PJ if flt else add_pj(b)) * 2  # integrate + compare
        if leak == "beta":
            upd += FMUL_PJ if flt else mul_pj(b, beta_frac_bits + 1)
        elif leak == "shift":
            upd += FADD_PJ if flt else add_pj(b)
        upd += 2 * b * SRAM_BIT_PJ  # membrane read + write
        neuron += n_out * steps * upd
    total = syn + reads + neuron
    return {"energy_pj": total, "synaptic_pj": syn, "weight_read_pj": reads, "neuron_pj": neuron, "synaptic_ops": ops}
