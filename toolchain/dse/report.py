"""``qsnn report``: CSV + JSON + PNG plots + a Markdown report of a sweep, answering the seed questions."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np

from toolchain.dse.select import pareto_front, reward, select, usable
from toolchain.fsutil import atomic_path, write_json, write_text

MUS = np.round(np.linspace(0.0, 2.0, 21), 3)
COLUMNS = [
    "key",
    "weight_bits",
    "membrane_bits",
    "rounding",
    "scheme",
    "prune",
    "prune_mode",
    "top1",
    "top5",
    "memory_bits",
    "memory_ratio",
    "energy_pj",
    "nb_footprint_bytes",
    "nb_activation_sparsity",
    "nb_effective_ops",
    "lut",
    "bram18",
    "dsp",
    "latency_us",
    "software_latency_us",
    "mismatches",
    "error",
]


def flat(r: dict) -> dict:
    c, m, hw = r["config"], r.get("metrics", {}), r.get("hardware") or {}
    nb = m.get("neurobench") or {}  # NeuroBench's own figures (neurobench package), beside the project's
    wb = c["quant"]["weight_bits"]
    return {
        "key": r["key"],
        "weight_bits": "float" if wb is None else wb,
        "membrane_bits": c["quant"]["membrane_bits"],
        "rounding": c["quant"]["rounding"],
        "scheme": c["quant"]["scheme"],
        "prune": c["train"]["prune"],
        "prune_mode": c["train"]["prune_mode"],
        "top1": m.get("top1"),
        "top5": m.get("top5"),
        "memory_bits": m.get("memory_bits"),
        "memory_ratio": m.get("memory_ratio"),
        "energy_pj": (r.get("energy") or {}).get("energy_pj"),
        "nb_footprint_bytes": nb.get("footprint_bytes"),
        "nb_activation_sparsity": nb.get("activation_sparsity"),
        "nb_effective_ops": None if not nb else nb["synaptic_ops_effective_macs"] + nb["synaptic_ops_effective_acs"],
        "lut": hw.get("lut"),
        "bram18": hw.get("bram18"),
        "dsp": hw.get("dsp"),
        "latency_us": hw.get("latency_us"),
        "software_latency_us": software_latency_us(m),
        "mismatches": m.get("mismatches"),
        "error": r.get("error"),
    }


def software_latency_us(metrics: dict) -> float | None:
    """The median per-sample latency on the host of the point's integer model (golden), or of its float network."""
    sw = metrics.get("software_latency") or {}
    return (sw.get("golden") or sw.get("float") or {}).get("median_us")


def float_baseline(results):
    floats = [r for r in usable(results) if r["config"]["quant"]["weight_bits"] is None]
    return floats[0] if floats else None


def compressed_within(results, factor=4.0, points=0.01):
    """Quantized points with memory ratio <= 1/factor and top-1 within `points` of the float model."""
    base = float_baseline(results)
    if base is None:
        return None
    acc0 = base["metrics"]["top1"]
    return [
        r
        for r in usable(results)
        if r["config"]["quant"]["weight_bits"] is not None
        and r["metrics"]["memory_ratio"] <= 1.0 / factor
        and r["metrics"]["top1"] >= acc0 - points
    ]


def summary(results, mu=0.5) -> dict:
    ok = usable(results)
    acc = lambda r: r["metrics"]["top1"]  # noqa: E731
    mem = lambda r: r["metrics"]["memory_ratio"]  # noqa: E731
    energy = lambda r: r["energy"]["energy_pj"]  # noqa: E731
    by_mu = {str(m): select(results, float(m))["key"] for m in MUS} if ok else {}
    return {
        "points": len(results),
        "usable": len(ok),
        "pareto_accuracy_memory": [r["key"] for r in pareto_front(ok, mem, acc)],
        "pareto_accuracy_energy": [r["key"] for r in pareto_front(ok, energy, acc)],
        "selected": select(results, mu)["key"] if ok else None,
        "mu": mu,
        "selected_by_mu": by_mu,
        "compressed_4x_within_1pt": [r["key"] for r in compressed_within(results) or []],
    }


def write_report(sweep_dir, results, mu=0.5) -> Path:
    out = Path(sweep_dir) / "report"
    out.mkdir(parents=True, exist_ok=True)
    rows = [flat(r) for r in results]
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=COLUMNS)
    w.writeheader()
    w.writerows(rows)
    write_text(out / "results.csv", buf.getvalue())
    s = summary(results, mu)
    write_json(out / "results.json", {"summary": s, "results": results})
    plots(results, out)
    write_text(out / "report.md", markdown(results, s, rows))
    return out


def _save(fig, path):
    import matplotlib.pyplot as plt

    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)


def plots(results, out: Path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ok = usable(results)
    base = float_baseline(results)
    quant = [r for r in ok if r["config"]["quant"]["weight_bits"] is not None and r["config"]["train"]["prune"] == 0]
    # 1. accuracy vs weight bits, one line per rounding x scheme
    fig, ax = plt.subplots(figsize=(6.5, 4))
    groups = sorted({(r["config"]["quant"]["rounding"], r["config"]["quant"]["scheme"]) for r in quant})
    for rnd, sch in groups:
        pts = sorted(
            (r["config"]["quant"]["weight_bits"], r["metrics"]["top1"])
            for r in quant
            if (r["config"]["quant"]["rounding"], r["config"]["quant"]["scheme"]) == (rnd, sch)
        )
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=f"{rnd}, {sch}")
    if base:
        ax.axhline(base["metrics"]["top1"], color="k", ls="--", label="float32")
    ax.set_xlabel("weight bits"), ax.set_ylabel("top-1 accuracy"), ax.set_title("accuracy vs weight bit-width")
    ax.legend(fontsize=8)
    _save(fig, out / "accuracy_vs_bits.png")
    # 2-3. Pareto fronts
    for name, xf, xl in (
        ("memory", lambda r: r["metrics"]["memory_ratio"], "memory M_q / M_0"),
        ("energy", lambda r: r["energy"]["energy_pj"] / 1e6, "energy per inference (uJ)"),
    ):
        fig, ax = plt.subplots(figsize=(6.5, 4))
        ax.scatter([xf(r) for r in ok], [r["metrics"]["top1"] for r in ok], s=18, alpha=0.6, label="points")
        front = pareto_front(ok, xf, lambda r: r["metrics"]["top1"])
        ax.plot([xf(r) for r in front], [r["metrics"]["top1"] for r in front], "r-o", label="Pareto front")
        for r in front:
            ax.annotate(r["key"], (xf(r), r["metrics"]["top1"]), fontsize=6)
        ax.set_xscale("log"), ax.set_xlabel(xl), ax.set_ylabel("top-1 accuracy"), ax.legend(fontsize=8)
        ax.set_title(f"accuracy vs {name}")
        _save(fig, out / f"pareto_{name}.png")
    # 4. reward vs mu of the points that some mu selects
    fig, ax = plt.subplots(figsize=(6.5, 4))
    chosen = {select(results, float(m))["key"] for m in MUS} if ok else set()
    for r in ok:
        if r["key"] in chosen:
            ax.plot(MUS, [reward(r, float(m)) for m in MUS], label=r["key"])
    ax.set_xlabel("mu"), ax.set_ylabel("reward R = acc - mu * M_q/M_0"), ax.legend(fontsize=7)
    ax.set_title("reward vs mu (points that some mu selects)")
    _save(fig, out / "reward_vs_mu.png")
    # 5. accuracy vs sparsity
    fig, ax = plt.subplots(figsize=(6.5, 4))
    pruned = [r for r in ok if r["config"]["quant"]["weight_bits"] is not None]
    for mode in sorted({r["config"]["train"]["prune_mode"] for r in pruned}):
        for wb in sorted({r["config"]["quant"]["weight_bits"] for r in pruned}):
            pts = sorted(
                (1 - r["metrics"]["nonzero_weights"] / r["metrics"]["n_weights"], r["metrics"]["top1"])
                for r in pruned
                if r["config"]["train"]["prune_mode"] == mode and r["config"]["quant"]["weight_bits"] == wb
            )
            if len(pts) > 1:
                ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=f"{wb}-bit, {mode}")
    ax.set_xlabel("weight sparsity (zeros / all)"), ax.set_ylabel("top-1 accuracy"), ax.legend(fontsize=8)
    ax.set_title("accuracy vs sparsity")
    _save(fig, out / "accuracy_vs_sparsity.png")
    # 6. RF data: accuracy vs SNR, one line per unpruned point
    snr_points = [r for r in ok if r["metrics"].get("per_snr") and r["config"]["train"]["prune"] == 0]
    if snr_points:
        fig, ax = plt.subplots(figsize=(6.5, 4))
        for r in snr_points:
            pts = sorted((int(k), v) for k, v in r["metrics"]["per_snr"].items())
            ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=r["key"])
        ax.set_xlabel("SNR (dB)"), ax.set_ylabel("top-1 accuracy"), ax.legend(fontsize=7)
        ax.set_title("accuracy vs SNR")
        _save(fig, out / "accuracy_vs_snr.png")


def _pct(v):
    return "" if v is None else f"{100 * v:.2f}"


def markdown(results, s, rows) -> str:
    base = float_baseline(results)
    lines = [
        "# Sweep report",
        "",
        f"{s['points']} points, {s['usable']} trained; float baseline "
        + (f"top-1 {_pct(base['metrics']['top1'])} %." if base else "missing (add 'float' to --weight-bits)."),
        "",
    ]
    lines += [
        "## Points",
        "",
        "| point | top-1 % | top-5 % | M_q/M_0 | energy (nJ) | NeuroBench footprint (B) | NeuroBench activation "
        "sparsity | NeuroBench synaptic ops | LUT | BRAM_18K | latency (us) | software latency (us, host, median) | "
        "golden mismatches |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if r["error"]:
            lines.append(f"| {r['key']} | infeasible: {r['error']} |||||||||||| ")
            continue
        e = "" if r["energy_pj"] is None else f"{r['energy_pj'] / 1e3:.1f}"
        lat = "" if r["latency_us"] is None else f"{r['latency_us']:.1f}"
        sw = "" if r["software_latency_us"] is None else f"{r['software_latency_us']:,.0f}"
        nb = (
            ["", "", ""]
            if r["nb_footprint_bytes"] is None
            else [f"{r['nb_footprint_bytes']:,}", f"{r['nb_activation_sparsity']:.3f}", f"{r['nb_effective_ops']:,.0f}"]
        )
        lines.append(
            f"| {r['key']} | {_pct(r['top1'])} | {_pct(r['top5'])} | {r['memory_ratio']:.3f} | {e} | "
            f"{' | '.join(nb)} | "
            f"{r['lut'] or ''} | {r['bram18'] if r['bram18'] is not None else ''} | {lat} | {sw} | "
            f"{'' if r['mismatches'] is None else r['mismatches']} |"
        )
    comp = compressed_within(results)
    lines += ["", "## At least 4x memory reduction within 1 point of the float model", ""]
    if comp is None:
        lines.append("No float baseline in this sweep, so this cannot be answered.")
    elif comp:
        for r in sorted(comp, key=lambda r: r["metrics"]["memory_ratio"]):
            lines.append(
                f"- {r['key']}: {1 / r['metrics']['memory_ratio']:.1f}x smaller, top-1 "
                f"{_pct(r['metrics']['top1'])} % (float {_pct(base['metrics']['top1'])} %)"
            )
    else:
        lines.append("None: no quantized point is both 4x smaller and within 1 point of the float model.")
    lines += [
        "",
        f"## Selection (tinySNN Eq. 3, mu = {s['mu']})",
        "",
        f"Selected: **{s['selected']}**.",
        "",
        f"Pareto front, accuracy vs memory: {', '.join(s['pareto_accuracy_memory'])}.",
        f"Pareto front, accuracy vs energy: {', '.join(s['pareto_accuracy_energy'])}.",
        "",
        "Selected point per mu: " + ", ".join(f"{m}: {k}" for m, k in s["selected_by_mu"].items()),
        "",
        "## Plots",
        "",
        "![accuracy vs bits](accuracy_vs_bits.png)",
        "![pareto memory](pareto_memory.png)",
        "![pareto energy](pareto_energy.png)",
        "![reward vs mu](reward_vs_mu.png)",
        "![accuracy vs sparsity](accuracy_vs_sparsity.png)",
        "",
    ]
    if any(r.get("metrics", {}).get("per_snr") for r in results):
        lines += ["![accuracy vs SNR](accuracy_vs_snr.png)", ""]
    return "\n".join(lines)
