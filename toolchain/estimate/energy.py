"""Energy per inference: a per-operation model of a run (relative figures for comparing configurations), and an
activity-based estimate of an RTL build from the events its Verilator simulation counted.

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

The activity-based estimate (``activity_energy``) takes each RTL layer's events as the simulation saw them (the
cores count them when built with QSNN_ACTIVITY: rtl_templates/*/hdl) and prices them on a 7-series FPGA. No public
table of per-event energies for 7-series resources is at hand, so each price is derived from two public sources:
  - the 45 nm ASIC energies above (Horowitz, ISSCC 2014), the energy of the operation itself;
  - I. Kuon and J. Rose, "Measuring the gap between FPGAs and ASICs", IEEE TCAD 26(2):203-215, 2007: the same
    circuit in FPGA soft logic (LUTs, flip-flops, routing) takes about 14x the dynamic power of standard cells,
    and hard blocks narrow the gap. Soft-logic events (adds, compares, LUTRAM state and frame buffers) cost the
    ASIC energy x 14; hard-block events (block-RAM weight reads, DSP48E1 multiplies) x 1, the ASIC's own, a low
    bound.
  - the part's static power (PL_STATIC_MW), the order Vivado's report_power gives for the part at 25 C ambient.
It is labelled "activity-based estimate, not Vivado": its use is comparing designs and activities; Vivado's
report_power on the implemented design with the same simulation's SAIF (``vector_power`` in toolchain/vivado)
is the figure to trust, and the board's rails or a meter (the driver's ``energy()``) the measured one.
"""

from __future__ import annotations

from toolchain.golden import LEAK

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
    """layers: [(n_in, n_out, input_spike_rate, weight_density[, neurons])] -> {total_pj, synaptic_pj, ...};
    ``neurons`` False: synapses only (a recurrent layer's V, whose neurons the layer before it counted)."""
    flt = weight_bits is None
    bw, b = (32, 32) if flt else (weight_bits, membrane_bits)
    syn = reads = neuron = 0.0
    ops = 0.0
    for k, (n_in, n_out, rate, density, *has_neurons) in enumerate(layers):
        if k == 0 and direct:
            n_ops = n_in * n_out * steps * density
            syn += n_ops * ((FMUL_PJ + FADD_PJ) if flt else (mul_pj(input_bits, bw) + add_pj(b)))
        else:
            n_ops = rate * n_in * n_out * steps * density
            syn += n_ops * (FADD_PJ if flt else add_pj(b))
        ops += n_ops
        reads += n_ops * bw * SRAM_BIT_PJ
        if has_neurons and not has_neurons[0]:
            continue
        upd = (FADD_PJ if flt else add_pj(b)) * 2  # integrate + compare
        if leak == "beta":
            upd += FMUL_PJ if flt else mul_pj(b, beta_frac_bits + 1)
        elif leak == "shift":
            upd += FADD_PJ if flt else add_pj(b)
        upd += 2 * b * SRAM_BIT_PJ  # membrane read + write
        neuron += n_out * steps * upd
    total = syn + reads + neuron
    return {"energy_pj": total, "synaptic_pj": syn, "weight_read_pj": reads, "neuron_pj": neuron, "synaptic_ops": ops}


def operation_energy(cfg, metrics, run_dir) -> dict:
    """The per-operation model (``inference_energy``) of a trained run: its layer sizes, measured spike rates and
    weight density (metrics.json)."""
    from toolchain.runs import run_record

    meta = run_record(run_dir)[1]["dataset"]
    n_in = 1
    for d in meta["shape"]:
        n_in *= d
    sizes = [n_in, *cfg.model.hidden, meta["n_classes"]]
    density = metrics["nonzero_weights"] / metrics["n_weights"]
    rate0 = 1.0  # direct encoding: every input is a multiply-accumulate (the rate is not used)
    if cfg.data.encoding in ("rate", "events"):
        from toolchain.data import load_dataset

        x = load_dataset(cfg.data).x_test
        # rate: the mean spike probability; events: the frames' share of bins with events
        rate0 = float(x.mean()) / 2 ** meta["input_bits"] if cfg.data.encoding == "rate" else float((x > 0).mean())
    rates = [rate0] + list(metrics["spike_rate"][:-1])
    layers = [(sizes[k], sizes[k + 1], rates[k], density) for k in range(len(sizes) - 1)]
    # a recurrent layer's V: its own spikes (rate of the layer's output) into its n x n weights, no neurons of its own
    dense = [spec for spec in cfg.model.layout() if spec[0] == "dense"]
    first_dense = len(sizes) - 1 - len(dense) - 1  # the index of the first dense hidden layer in ``layers``
    for k, spec in enumerate(dense):
        if spec[2:]:
            n = spec[1]
            layers.append((n, n, metrics["spike_rate"][first_dense + k], density, False))
    return inference_energy(
        layers,
        cfg.data.steps,
        cfg.quant.weight_bits,
        cfg.quant.membrane_bits,
        cfg.neuron.leak,
        cfg.neuron.beta_frac_bits,
        meta["input_bits"],
        cfg.data.encoding == "direct",
    )


LOGIC_GAP = 14.0  # FPGA soft logic / standard cells, dynamic power (Kuon and Rose 2007)
HARD_GAP = 1.0  # block RAM and DSP48E1: the ASIC energy, a low bound (hard blocks narrow the gap)
# PL static power (mW) at 25 C ambient, the order of Vivado's report_power "Device Static" for the part with little
# dynamic power; approximate: a build's own report_power (bitstream/reports/) gives the figure for its design
PL_STATIC_MW = {"xc7z020": 120.0, "xc7z010": 90.0}
ACTIVITY_SOURCE = (
    "activity-based estimate, not Vivado: Verilator event counts x per-event energies (Horowitz 2014 45 nm "
    "x Kuon-Rose FPGA gap) + approximate PL static power"
)


def _layer_pj(a: dict) -> dict:
    """One layer's dynamic energy (pJ) over the counted run, by event kind."""
    sram_bit = SRAM_BIT_PJ
    if a["kind"] == "synapse":
        word = a["pe"] * a["simd"] * a["w_bits"]
        fbuf_bits = a["simd"] * a["in_bits"]
        if a["in_bits"] == 1:  # a spike selects its weight: one add
            syn = a["synops"] * add_pj(a["acc_bits"]) * LOGIC_GAP
        else:  # a product (DSP48E1)
            syn = a["synops"] * mul_pj(a["in_bits"], a["w_bits"]) * HARD_GAP
        return {
            "weight_reads": a["weight_reads"] * word * sram_bit * HARD_GAP,
            "synaptic_ops": syn,
            "accumulators": a["acc_cycles"] * a["pe"] * add_pj(a["acc_bits"]) * LOGIC_GAP,
            "frame_buffer": (a["in_beats"] + a["weight_reads"]) * fbuf_bits * sram_bit * LOGIC_GAP,
        }
    if a["kind"] == "lif":
        b, states = a["b"], 2 if a["cuba"] else 1
        update = 2 * add_pj(b)  # integrate, compare
        if a["leak"] == LEAK.code("beta"):
            update += mul_pj(b, a["beta_frac"] + 2) * HARD_GAP / LOGIC_GAP  # the beta product (DSP48E1)
        elif a["leak"] == LEAK.code("shift"):
            update += add_pj(b)
        if a["cuba"]:
            update += add_pj(b) + mul_pj(b, a["beta_frac"] + 2) * HARD_GAP / LOGIC_GAP
        parts = {
            "neuron_updates": a["updates"] * update * LOGIC_GAP,
            "state_memory": a["updates"] * states * 2 * b * sram_bit * LOGIC_GAP,  # read + write
            "bias_reads": a["beats"] * a["pe"] * a["bias_bits"] * sram_bit * LOGIC_GAP,
        }
        if "recurrent_synops" in a:  # the input stage of a recurrent layer: V's words (LUT ROM) and its adds
            parts["recurrent_weight_reads"] = a["recurrent_weight_reads"] * a["pe"] * a["recurrent_v_bits"] * sram_bit
            parts["recurrent_weight_reads"] *= LOGIC_GAP
            parts["recurrent_synaptic_ops"] = a["recurrent_synops"] * add_pj(a["recurrent_sum_bits"]) * LOGIC_GAP
        return parts
    if a["kind"] == "pool":
        return {"or_gates": a["in_beats"] * a["pe"] * add_pj(1) * LOGIC_GAP}
    raise ValueError(f"unknown layer kind {a['kind']!r} in the activity counts")


def activity_energy(activity: dict, samples: int, interval_cycles: float, clock_mhz: float, part: str) -> dict:
    """Energy per inference and average power of an RTL build from its simulated activity: ``activity`` the layers'
    event counts over ``samples`` inferences streamed back to back (``toolchain.rtl.sim.run``), one inference every
    ``interval_cycles`` at ``clock_mhz``. FINN's own layers (sliding windows, FIFOs) count no events and are not in
    it."""
    per_layer, events = {}, {}
    for name, a in activity.items():
        parts = _layer_pj(a)
        per_layer[name] = {"kind": a["kind"], "pj": sum(parts.values()) / samples}
        per_layer[name].update({k: v / samples for k, v in parts.items()})
        events[name] = {k: v / samples for k, v in a.items() if k in EVENT_COUNTS}
    dynamic_pj = sum(x["pj"] for x in per_layer.values())
    seconds = interval_cycles / (clock_mhz * 1e6)
    static_mw = PL_STATIC_MW.get(part[: len("xc7z020")]) if part else None
    dynamic_mw = dynamic_pj * 1e-12 / seconds * 1e3
    static_uj = 0.0 if static_mw is None else static_mw * 1e-3 * seconds * 1e6
    return {
        "per_inference_uj": dynamic_pj * 1e-6 + static_uj,
        "dynamic_uj": dynamic_pj * 1e-6,
        "static_uj": static_uj,
        "avg_power_mw": dynamic_mw + (static_mw or 0.0),
        "dynamic_mw": dynamic_mw,
        "static_mw": static_mw,
        "interval_us": seconds * 1e6,
        "synaptic_ops_per_inference": sum(
            e.get("synops", 0.0) + e.get("recurrent_synops", 0.0) for e in events.values()
        ),
        "source": ACTIVITY_SOURCE + ("" if static_mw is not None else f"; no static figure for part {part}: left out"),
        "per_layer": per_layer,
        "events_per_inference": events,
        "samples": samples,
    }


EVENT_COUNTS = (
    "in_beats",
    "weight_reads",
    "synops",
    "acc_cycles",
    "out_beats",
    "beats",
    "updates",
    "spikes",
    "recurrent_weight_reads",
    "recurrent_synops",
)
