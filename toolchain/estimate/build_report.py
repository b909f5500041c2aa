"""report.json and report.md of a build."""

from __future__ import annotations

from toolchain.flow.build_config import SYNAPSE_MODES
from toolchain.fsutil import write_json, write_text


def build_report(cfg, state) -> dict:
    b = cfg.board_info
    return {
        "board": b.name,
        "part": b.part,
        "clock_mhz": cfg.clock_mhz,
        "steps_per_sample": state.steps_per_sample,
        "estimate": state.estimate,
        "backend": cfg.backend,
        "verification": state.verification,
        "synthesis": state.synthesis,
        "energy": state.energy,
        "fifos": state.fifos,
        "timings_s": state.timings,
        "steps_done": state.steps_done,
        "artifacts": state.artifacts,
    }


def markdown(report: dict) -> str:
    lines = [f"# Build report: {report['board']} ({report['part']}) at {report['clock_mhz']} MHz", ""]
    est = report.get("estimate")
    if est:
        lines += [
            "## Estimate (without Vivado)",
            "",
            f"- LUT {est['lut']:,}, FF {est['ff']:,} (LIF layers only), BRAM_18K {est['bram18']}, URAM {est['uram']}, "
            f"DSP {est['dsp']}",
            f"- {est['cycles_per_step']:.0f} cycles per time step (bottleneck), "
            f"{est['cycles_per_inference']:.0f} cycles per inference",
            f"- latency {est['latency_us']:.2f} us, {est['inferences_per_s']:,.0f} inferences/s",
            f"- fits the board: {'yes' if est['fit']['fits'] else 'NO'} "
            f"(LUT {est['fit']['utilization']['LUT']:.1%}, BRAM {est['fit']['utilization']['BRAM_18K']:.1%}, "
            f"DSP {est['fit']['utilization']['DSP']:.1%})",
            "",
            "| layer | op | folding | LUT | FF | BRAM_18K | DSP | cycles/step |",
            "|---|---|---|---|---|---|---|---|",
        ]
        if not all(layer.get("modelled", True) for layer in est["per_layer"]):
            lines[-2:-2] = ["- 'no model': FINN has no resource model for the op; the totals leave it out", ""]
        for layer in est["per_layer"]:
            fold = ", ".join(f"{k} {v}" for k, v in layer["folding"].items())
            ff = "" if layer["ff"] is None else f"{layer['ff']:,}"
            lut = f"{layer['lut']:,}" if layer.get("modelled", True) else "no model"
            lines.append(
                f"| {layer['name']} | {layer['op']} | {fold} | {lut} | {ff} | "
                f"{layer['bram18']} | {layer['dsp']} | {layer['cycles_per_step']:.0f} |"
            )
        lines.append("")
    lines += [
        "## Verification against the golden integer model",
        "",
        "| level | samples | mismatches | how |",
        "|---|---|---|---|",
    ]
    for name, v in report.get("verification", {}).items():
        lines.append(f"| {name} | {v['samples']} | {v['mismatches']} | {v['note']} |")
    rtl = report.get("verification", {}).get("rtl_sim")
    if rtl:
        mhz = report["clock_mhz"]
        lines += [
            "",
            f"RTL simulation (Verilator, {SYNAPSE_MODES[int(rtl['event_driven'])]} synapses, samples "
            f"back to back without stalls): one sample every {rtl['interval_cycles']:,.0f} cycles "
            f"({mhz * 1e6 / rtl['interval_cycles']:,.0f} samples/s at {mhz} MHz); latency per sample "
            f"{rtl['latency_cycles_mean']:,.0f} cycles mean, {rtl['latency_cycles_max']:,} max (the first "
            f"{rtl['first_inference_cycles']:,}). The estimate above is a formula.",
        ]
        chain = rtl.get("without_fifos")
        if chain:
            lines.append(
                f"Without the FIFOs (the layers chained directly): one sample every {chain['interval_cycles']:,.0f} "
                f"cycles; the FIFOs give {chain['interval_cycles'] / rtl['interval_cycles']:.2f}x the throughput."
            )
    energy = report.get("energy")
    if energy:
        c = energy["compared"]
        static = (
            "no static figure for the part" if energy["static_mw"] is None else f"{energy['static_mw']:.0f} mW static"
        )
        lines += [
            "",
            f"## Energy per inference ({energy['source']})",
            "",
            f"- {energy['per_inference_uj']:.3f} uJ per inference ({energy['dynamic_uj']:.3f} uJ dynamic, "
            f"{energy['static_uj']:.3f} uJ static over one inference's {energy['interval_us']:.2f} us), "
            f"{energy['avg_power_mw']:.1f} mW on average ({energy['dynamic_mw']:.1f} mW dynamic, {static})",
            f"- beside it: the per-operation model's {c['per_operation_model_uj']:.3f} uJ (dynamic only); synaptic "
            f"operations per inference: {energy['synaptic_ops_per_inference']:,.0f} counted in Verilator, "
            f"{c['per_operation_synaptic_ops']:,.0f} by the per-operation model"
            + ("" if c["neurobench_synaptic_ops"] is None else f", {c['neurobench_synaptic_ops']:,.0f} by NeuroBench"),
            "",
            "| layer | kind | dynamic pJ per inference |",
            "|---|---|---|",
        ]
        lines += [f"| {k} | {v['kind']} | {v['pj']:,.0f} |" for k, v in energy["per_layer"].items()]
    fifos = report.get("fifos")
    if fifos:
        lines += ["", f"## FIFOs between the RTL layers ({fifos['rule']}; {fifos['samples']} samples)", ""]
        lines += ["| after | before | peak occupancy | depth | FINN estimate LUT / BRAM_18K |", "|---|---|---|---|---|"]
        for name, e in fifos["edges"].items():
            est = f"{e['estimate']['LUT']} / {e['estimate']['BRAM_18K']}" if e.get("estimate") else "-"
            lines.append(f"| {name} | {e['consumer']} | {e['peak']} | {e['depth'] or 'none'} | {est} |")
    syn = report.get("synthesis")
    if syn:
        lines += [
            "",
            f"## Synthesis: {syn['label']}",
            "",
            "| design | LUT | FF | CARRY4 | LUTRAM | RAMB18 | RAMB36 | DSP48E1 | critical path (ns) | fmax (MHz) |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for name, c in [*syn["per_layer"].items(), ("whole network", syn["network"])]:
            t = c.get("timing")
            path = "" if not t else f"{t['critical_path_ns']:.2f}" + (" **over the clock**" if t["over_clock"] else "")
            lines.append(
                f"| {name} | {c['LUT']:,} | {c['FF']:,} | {c['CARRY4']} | {c['LUTRAM']} | {c['RAMB18']} | "
                f"{c['RAMB36']} | {c['DSP48E1']} | {path} | {'' if not t else t['fmax_estimate_mhz']} |"
            )
        if syn.get("timing_label"):
            lines += ["", f"Timing: {syn['timing_label']}."]
        if syn.get("not_counted"):
            names = ", ".join(
                f"{k} ({e['LUT']:,} LUT, {e['BRAM_18K']} BRAM18 by FINN's estimate)"
                if e["label"] == "FINN estimate"
                else f"{k} ({e['label']})"
                for k, e in syn["not_counted"].items()
            )
            lines += ["", f"Not in these counts (FINN's SystemVerilog, which Yosys cannot read): {names}."]
    lines += ["", f"Backend: {report.get('backend', 'hls')}", "", "## Build time per step (s)", ""]
    lines += [f"- {k}: {v:.2f}" for k, v in report.get("timings_s", {}).items()]
    return "\n".join(lines) + "\n"


def write_reports(out_dir, report: dict) -> None:
    write_json(out_dir / "report.json", report)
    write_text(out_dir / "report.md", markdown(report))
