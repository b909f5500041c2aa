"""The ``qsnn`` command: parses arguments and calls library functions (no logic of its own).

Errors from bad input are printed as one line, ``error: ...``, with exit code 2 and no traceback.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import warnings
from pathlib import Path

from toolchain.errors import QsnnError
from toolchain.fsutil import check_output


def _int_or(words: dict):
    """An argparse type: an integer, or one of ``words`` (mapped to its value)."""

    def parse(text):
        if text.lower() in words:
            return words[text.lower()]
        try:
            return int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer or {' / '.join(map(repr, words))}") from None

    return parse


def _checked(kind, ok, what):
    """An argparse type: ``kind(text)`` that satisfies ``ok``, else a usage error saying ``what`` it must be."""

    def parse(text):
        try:
            v = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None
        if not ok(v):
            raise argparse.ArgumentTypeError(f"{text} is not {what}")
        return v

    return parse


_positive_int = _checked(int, lambda v: v >= 1, "a positive integer")
_finite_nonneg = _checked(float, lambda v: math.isfinite(v) and v >= 0, "a finite number >= 0")
_positive_float = _checked(float, lambda v: math.isfinite(v) and v > 0, "a finite number > 0")
_weight_bits = _int_or({"float": None, "fp32": None})
_membrane_bits = _int_or({"auto": "auto"})
_membrane_shift = _int_or({"auto": "auto"})


def _list(kind):
    def parse(text):
        try:
            return tuple(kind(v) for v in text.split(",") if v.strip())
        except (ValueError, argparse.ArgumentTypeError):
            raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list") from None

    return parse


def _layouts(text):
    """'128/64,64' -> ((128,), (64, 64)): hidden layouts to search."""
    layouts = tuple(_list(int)(part) for part in text.split("/") if part.strip())
    if not layouts or not all(layouts):
        raise argparse.ArgumentTypeError(f"{text!r} is not '/'-separated hidden layouts like 128/64,64")
    return layouts


def add_trust_pickle(p) -> None:
    p.add_argument(
        "--trust-pickle",
        action="store_true",
        help="allow reading RadioML 2016's pickle file (reading a pickle runs code it holds: only for a copy "
        "from RadioML's publisher)",
    )


def add_train_options(p: argparse.ArgumentParser, grid: bool = False) -> None:
    """Options shared by `qsnn train` and `qsnn sweep` (with ``grid`` the swept ones take lists)."""
    g = p.add_argument_group("data")
    g.add_argument("--dataset", default="digits", help="dataset name (see 'qsnn datasets'); default digits")
    g.add_argument("--data-path", default=None, help="folder or file for datasets that need one")
    add_trust_pickle(g)
    g.add_argument("--steps", type=int, default=8, help="time steps T per sample (default 8)")
    g.add_argument("--encoding", default="direct", help="direct (integer input each step) or rate (default direct)")
    g.add_argument("--snrs", type=_list(int), default=(0, 6, 12, 18), help="RF SNRs in dB (default 0,6,12,18)")
    g.add_argument("--limit", type=int, default=None, help="use at most this many training samples")
    g = p.add_argument_group("model")
    g.add_argument("--arch", default="mlp", help="mlp or conv (default mlp)")
    g.add_argument("--hidden", type=_list(int), default=(128,), help="hidden sizes / conv channels (default 128)")
    g.add_argument("--kernel", type=int, default=3, help="conv kernel size, k x k (1 x k on I/Q sequences); default 3")
    g.add_argument("--pool", type=int, default=1, help="conv: max-pool window = stride on spikes (default 1: none)")
    g.add_argument("--fc", type=_list(int), default=(), help="conv: dense hidden sizes before the classifier")
    g.add_argument(
        "--readout",
        default="count",
        help="how the classifier layer answers: count (its spikes over T), membrane (it is an LI layer: the argmax "
        "of its membrane after the last step) or first-spike (the class that spikes first; ties: most spikes); "
        "default count",
    )
    g.add_argument(
        "--non-spiking",
        action="store_true",
        help="train the same layers with ReLU and no time steps: the float reference (needs --weight-bits float)",
    )
    g = p.add_argument_group("quantization" + (" (comma-separated lists: the grid)" if grid else ""))
    if grid:
        g.add_argument(
            "--weight-bits",
            type=_list(_weight_bits),
            default=(1, 2, 3, 4, 6, 8, None),
            help="e.g. 2,4,8,float (default 1,2,3,4,6,8,float)",
        )
    g.add_argument(
        "--membrane-bits",
        type=_list(_membrane_bits) if grid else _membrane_bits,
        default=("auto",) if grid else 16,
        help="signed membrane width B, or 'auto': the narrowest that holds the threshold "
        f"(default {'auto' if grid else 16})",
    )
    g.add_argument(
        "--membrane-shift",
        type=_membrane_shift,
        default=0,
        help="k: the membrane counts 2^k accumulator units (the synaptic input is rounded by R(I, k)), so its width "
        "is free of the weights' and inputs'; 'auto': the least k at which the threshold fits --membrane-bits "
        "(default 0)",
    )
    g.add_argument(
        "--rounding",
        type=_list(str) if grid else str,
        default=("nearest",) if grid else "nearest",
        help="floor | nearest | stochastic (default nearest)",
    )
    g.add_argument(
        "--scheme",
        type=_list(str) if grid else str,
        default=("qat",) if grid else "qat",
        help="qat (in-training) or ptq (post-training); default qat",
    )
    g = p.add_argument_group("neuron")
    g.add_argument(
        "--neuron",
        default="lif",
        help="the neuron model, one of toolchain/golden/neurons: lif, or cubalif (a synaptic current J <- alpha J + I "
        "between the synapse and the membrane); default lif",
    )
    g.add_argument("--alpha", type=float, default=0.5, help="cubalif: the synaptic current's decay (default 0.5)")
    g.add_argument(
        "--per-neuron",
        action="store_true",
        help="learn a threshold and a beta per neuron (per channel of a conv layer), starting from --threshold and "
        "--beta; the hardware holds them in ROMs beside the bias (default: one of each per network)",
    )
    g.add_argument("--threshold", type=float, default=0.5, help="real-valued threshold (default 0.5)")
    g.add_argument("--leak", default="beta", help="none | shift | beta (default beta)")
    g.add_argument("--beta", type=float, default=0.9375, help="decay for --leak beta (default 0.9375)")
    g.add_argument("--beta-frac-bits", type=int, default=8, help="fraction bits F of beta (default 8)")
    g.add_argument("--leak-shift", type=int, default=4, help="k of --leak shift, beta = 1 - 2^-k (default 4)")
    g.add_argument("--reset", default="subtract", help="subtract or zero (default subtract)")
    g = p.add_argument_group("training")
    g.add_argument("--epochs", type=int, default=20, help="training epochs (default 20)")
    g.add_argument("--batch-size", type=int, default=64)
    g.add_argument("--lr", type=float, default=2e-3)
    g.add_argument("--seed", type=int, default=0)
    g.add_argument(
        "--init-from",
        default=None,
        metavar="RUN_DIR",
        help="QAT: start from this float run's weights (same layers, neurons and data) instead of at random",
    )
    g.add_argument(
        "--prune",
        type=_list(float) if grid else float,
        default=(0.0,) if grid else 0.0,
        help="global magnitude pruning fraction (default 0)",
    )
    g.add_argument(
        "--prune-mode",
        type=_list(str) if grid else str,
        default=("cumulative",) if grid else "cumulative",
        help="cumulative or joint (default cumulative)",
    )


def config_from_args(a, weight_bits=None, **override):
    """A validated RunConfig from parsed options; ``override`` replaces single fields (sweeps)."""
    from toolchain.config import DataConfig, ModelConfig, NeuronConfig, QuantConfig, RunConfig, TrainConfig

    v = {**vars(a), "weight_bits": weight_bits, **override}
    cfg = RunConfig(
        data=DataConfig(
            dataset=v["dataset"],
            steps=v["steps"],
            encoding=v["encoding"],
            path=v["data_path"],
            snrs=tuple(v["snrs"]),
            limit=v["limit"],
        ),
        model=ModelConfig(
            arch=v["arch"],
            hidden=tuple(v["hidden"]),
            kernel=v["kernel"],
            pool=v["pool"],
            fc=tuple(v["fc"]),
            spiking=not v["non_spiking"],
            readout=v["readout"],
        ),
        quant=QuantConfig(
            weight_bits=v["weight_bits"],
            membrane_bits=v["membrane_bits"],
            membrane_shift=v["membrane_shift"],
            rounding=v["rounding"],
            scheme=v["scheme"],
        ),
        neuron=NeuronConfig(
            threshold=v["threshold"],
            leak=v["leak"],
            beta=v["beta"],
            beta_frac_bits=v["beta_frac_bits"],
            leak_shift=v["leak_shift"],
            reset=v["reset"],
            model=v["neuron"],
            alpha=v["alpha"],
            per_neuron=v["per_neuron"],
        ),
        train=TrainConfig(
            epochs=v["epochs"],
            batch_size=v["batch_size"],
            lr=v["lr"],
            seed=v["seed"],
            prune=v["prune"],
            prune_mode=v["prune_mode"],
            init_from=v["init_from"],
        ),
    )
    if cfg.quant.weight_bits is None:
        cfg.quant.membrane_bits, cfg.quant.membrane_shift = None, 0
    return cfg.validate()


def cmd_train(a):
    from toolchain.data import get
    from toolchain.train import run

    get(a.dataset)  # unknown names fail before anything is built
    check_output(a.out, "--out")
    cfg = config_from_args(a, weight_bits=a.weight_bits)
    m = run(cfg, a.out, force=a.force)
    _print_summary(m, a.out)
    return 0


def _print_summary(m, where):
    print(
        f"top-1 {m['top1']:.4f}  top-5 {m['top5']:.4f}  "
        f"memory {m['memory_bits']:,} bits ({m['memory_ratio']:.3f} of float)"
    )
    if "float_top1" in m:
        print(f"float model before PTQ: top-1 {m['float_top1']:.4f}")
    if "mismatches" in m:
        print(
            f"golden integer model agreement {m['integer_agreement']:.4f} ({m['mismatches']} mismatches "
            f"over {m['samples']} test samples)"
        )
    print(f"written to {where}")


def cmd_eval(a):
    from toolchain.runs import load_run
    from toolchain.train import evaluate, golden_agreement

    cfg, net, ds = load_run(a.run_dir)
    m = evaluate(net, cfg, ds, integer=a.integer and cfg.quantized)
    out = {k: m[k] for k in ("top1", "top5", "memory_bits", "memory_ratio", "per_class")}
    if "per_snr" in m:
        out["per_snr"] = m["per_snr"]
    if a.integer:
        if not cfg.quantized:
            raise QsnnError(f"{a.run_dir} holds a float network; --integer needs a quantized run")
        from pathlib import Path

        from toolchain.golden import GoldenModel

        out.update(golden_agreement(net, GoldenModel.load(Path(a.run_dir) / "golden.npz"), cfg, ds))
    if not a.json:
        print(f"top-1 {out['top1']:.4f}  top-5 {out['top5']:.4f}  memory ratio {out['memory_ratio']:.4f}")
        if a.integer:
            print(f"integer agreement {out['integer_agreement']:.4f}, mismatches {out['mismatches']}")
    if a.json:
        print(json.dumps(out))
    return 0


def cmd_datasets(a):
    from toolchain.data import dataset_table

    rows = dataset_table(a.data_path)
    w = max(len(r[0]) for r in rows)
    for name, ok, why, desc in rows:
        print(f"{name:<{w}}  {'available' if ok else 'missing  '}  {desc}\n{'':<{w}}  {'':9}  ({why})")
    return 0


def cmd_export(a):
    from toolchain.export import export_model
    from toolchain.flow.verify import mismatches
    from toolchain.runs import load_run, run_record

    if a.out is None and a.nir is None:
        raise QsnnError("give --out MODEL.onnx (QONNX), --nir MODEL.nir, or both")
    if a.out is not None and not a.out.endswith(".onnx"):
        raise QsnnError(f"--out {a.out} should name an .onnx file")
    if a.nir is not None and not a.nir.endswith(".nir"):
        raise QsnnError(f"--nir {a.nir} should name a .nir file")
    for flag, path in (("--out", a.out), ("--nir", a.nir)):
        if path is not None:
            check_output(path, flag, "file")
    cfg, net, _ = load_run(a.run_dir)
    if a.nir is not None:
        from toolchain import nir_io

        nir_io.write(net, cfg, a.nir, a.dt)
        print(f"wrote {a.nir}: NIR graph of {len(net.synapses)} layers (dt {a.dt:g} s)")
        if a.out is None:
            return 0
    meta = run_record(a.run_dir)[1]["dataset"]
    model = export_model(net, cfg, meta, a.out)
    bad, n = mismatches(model, a.run_dir, a.verify_samples, "verify qonnx")
    print(
        f"wrote {a.out}: {sum(n.op_type == 'LIF' for n in model.graph.node)} LIF nodes; readout (spike count "
        f"over T, argmax) is host-side"
    )
    print(f"execute_onnx vs golden model: {bad} mismatches over {n} test samples")
    return 0 if bad == 0 else 1


def cmd_import(a):
    from toolchain.config import DataConfig, ModelConfig, NeuronConfig, QuantConfig, RunConfig, TrainConfig
    from toolchain.data import get
    from toolchain.nir_io import import_run

    get(a.dataset)
    check_output(a.out, "--out")
    if a.finetune_epochs < 0:
        raise QsnnError(f"--finetune-epochs {a.finetune_epochs} must be 0 or more")
    cfg = RunConfig(
        data=DataConfig(dataset=a.dataset, steps=a.steps, path=a.data_path, snrs=tuple(a.snrs)),
        model=ModelConfig(readout=a.readout),
        quant=QuantConfig(weight_bits=a.weight_bits, membrane_bits=a.membrane_bits, rounding=a.rounding),
        neuron=NeuronConfig(beta_frac_bits=a.beta_frac_bits, reset=a.reset or "zero"),
        train=TrainConfig(lr=a.lr, batch_size=a.batch_size, seed=a.seed),
    )
    if cfg.quant.weight_bits is None:
        cfg.quant.membrane_bits = None
    m = import_run(
        a.model, a.out, cfg, dt=a.dt, finetune_epochs=a.finetune_epochs, force=a.force, reset_from_graph=a.reset is None
    )
    _print_summary(m, a.out)
    return 0


def cmd_build(a):
    from toolchain.flow.config import BuildConfig
    from toolchain.flow.runner import run_build

    check_output(a.out, "--out")
    cfg = BuildConfig(
        run_dir=a.run_dir,
        out_dir=a.out,
        board=a.board,
        clock_mhz=a.clock_mhz,
        target_cycles=a.target_cycles,
        folding=a.folding,
        verify_samples=a.verify_samples,
        start=getattr(a, "from"),
        until=a.until,
        vivado=a.vivado,
        name=a.name,
        finn_deps=a.finn_deps,
        backend=a.backend,
        event_driven=a.event_driven,
    )
    report = run_build(cfg)
    est = report.get("estimate")
    if est:
        print(
            f"{report['board']} @ {report['clock_mhz']} MHz: LUT {est['lut']:,}  BRAM_18K {est['bram18']}  "
            f"DSP {est['dsp']}  latency {est['latency_us']:.2f} us  {est['inferences_per_s']:,.0f} inf/s  "
            f"fits: {'yes' if est['fit']['fits'] else 'NO'}"
        )
    for name, v in report["verification"].items():
        print(f"verification {name}: {v['mismatches']} mismatches over {v['samples']} samples")
    if report.get("synthesis"):
        n = report["synthesis"]["network"]
        print(
            f"Yosys (post-synthesis, no place & route): LUT {n['LUT']:,}  FF {n['FF']:,}  LUTRAM {n['LUTRAM']}  "
            f"RAMB18 {n['RAMB18']}  RAMB36 {n['RAMB36']}  DSP48E1 {n['DSP48E1']}"
        )
    print(f"report: {cfg.out / 'report.md'}")
    return 0 if all(v["mismatches"] == 0 for v in report["verification"].values()) else 1


def cmd_deploy(a):
    from toolchain.deploy import deploy

    check_output(a.out, "--out", "file")
    out = deploy(a.build_dir, a.out, vectors=a.vectors)
    print(
        f"wrote {out}: unzip it on the board, then open notebooks/qsnn_on_board.ipynb, or in Python: "
        "from qsnn_driver import SNNAccelerator"
    )
    return 0


GRID_AXES = ("weight_bits", "membrane_bits", "rounding", "scheme", "prune", "prune_mode")


def _grid_axes(a) -> tuple[dict, object]:
    """The swept axes of `sweep` / `search` ({axis: values}, each non-empty) and the base config (each
    axis at its first value)."""
    axes = {axis: getattr(a, axis) for axis in GRID_AXES}
    for axis, values in axes.items():
        if not values:
            raise QsnnError(f"--{axis.replace('_', '-')} is empty; give a comma-separated list of values")
    base = config_from_args(a, **{axis: values[0] for axis, values in axes.items()})
    from toolchain.data import load_dataset

    load_dataset(base.data)  # what every point shares (the data) fails here, once, before any point runs
    return axes, base


def cmd_sweep(a):
    from toolchain.data import get
    from toolchain.dse.report import write_report
    from toolchain.dse.sweep import Grid, sweep

    get(a.dataset)
    check_output(Path(a.out) / "report", "the report folder of --out")
    axes, base = _grid_axes(a)
    grid = Grid(**axes)
    points = grid.points(base)
    for p in points:  # every point is checked before any work starts
        p.validate()
    if a.storage:  # a grid shared with 'qsnn worker's on other machines: Optuna's grid sampler
        a.sampler, a.trials, a.objectives = "grid", len(points), ("top1", "memory")
        a.hiddens, a.steps_options, a.target_cycles = None, None, None
        a.max_lut = a.max_bram = a.max_latency_us = None
        return cmd_search(a)
    results = sweep(base, grid, a.out, jobs=a.jobs, estimate=not a.no_estimate)
    failed = [r["key"] for r in results if "error" in r]
    print(f"{len(results)} points in {a.out}" + (f"; infeasible: {', '.join(failed)}" if failed else ""))
    print(f"report: {write_report(a.out, results) / 'report.md'}")
    return 0


def cmd_select(a):
    from toolchain.dse.select import command_for, constrained, pareto_front, reward, select
    from toolchain.dse.sweep import load_results

    results = load_results(a.sweep_dir)
    best = select(results, a.mu, a.max_lut, a.max_bram)
    m = best["metrics"]
    print(
        f"selected (mu={a.mu}): {best['key']}  top-1 {m['top1']:.4f}  M_q/M_0 {m['memory_ratio']:.4f}  "
        f"R {reward(best, a.mu):.4f}" + (f"  LUT {best['hardware']['lut']:,}" if best.get("hardware") else "")
    )
    print(f"to reproduce: {command_for(best)}")
    ok = constrained(results, a.max_lut, a.max_bram)
    acc = lambda r: r["metrics"]["top1"]  # noqa: E731
    mem_front = pareto_front(ok, lambda r: r["metrics"]["memory_ratio"], acc)
    en_front = pareto_front(ok, lambda r: r["energy"]["energy_pj"], acc)
    print("Pareto front, accuracy vs memory: " + ", ".join(f"{r['key']} ({acc(r):.3f})" for r in mem_front))
    print("Pareto front, accuracy vs energy: " + ", ".join(f"{r['key']} ({acc(r):.3f})" for r in en_front))
    return 0


def cmd_search(a):
    from dataclasses import asdict

    from toolchain.data import get
    from toolchain.dse import search

    get(a.dataset)
    check_output(a.out, "--out")
    axes, base = _grid_axes(a)
    space = search.Space(
        **axes,
        hidden=a.hiddens or (tuple(a.hidden),),
        steps=a.steps_options or (a.steps,),
        target_cycles=a.target_cycles or (None,),
    )
    spec = search.StudySpec(
        out=str(Path(a.out).resolve()),
        base=base.to_dict(),
        space=asdict(space),
        objectives=list(a.objectives),
        trials=a.trials,
        max_lut=a.max_lut,
        max_bram=a.max_bram,
        max_latency_us=a.max_latency_us,
        estimate=not a.no_estimate,
        sampler=a.sampler,
        seed=a.seed,
    )
    study, url = search.create(spec, a.storage, a.study)
    print(
        f"study {a.study!r} in {url}: {space.size()} points in the space, {a.trials} trials; more workers: "
        f"qsnn worker --storage {url} --study {a.study}",
        file=sys.stderr,
    )
    search.run(study, spec, log=sys.stderr)
    return _summarize_study(study, spec)


def cmd_worker(a):
    from toolchain.dse import search

    study, spec = search.load(a.storage, a.study)
    search.run(study, spec, log=sys.stderr)
    return _summarize_study(study, spec)


def _summarize_study(study, spec):
    from toolchain.dse.report import write_report
    from toolchain.dse.sweep import load_results

    states = {}
    for t in study.get_trials(deepcopy=False):
        states[t.state.name.lower()] = states.get(t.state.name.lower(), 0) + 1
    points = {t.user_attrs["point"] for t in study.get_trials(deepcopy=False) if "point" in t.user_attrs}
    print(f"trials: {', '.join(f'{v} {k}' for k, v in sorted(states.items()))}; {len(points)} distinct points trained")
    seen = set()
    for t in study.best_trials:
        if t.user_attrs.get("point") in seen:
            continue  # the same point drawn twice
        seen.add(t.user_attrs.get("point"))
        print(
            f"Pareto: {t.user_attrs.get('point')}  "
            + "  ".join(f"{o} {v:.4g}" for o, v in zip(spec.objectives, t.values))
        )
    print(f"report: {write_report(spec.out, load_results(spec.out)) / 'report.md'}")
    return 0


def cmd_report(a):
    from toolchain.dse.report import write_report
    from toolchain.dse.sweep import load_results

    results = load_results(a.sweep_dir)
    check_output(Path(a.sweep_dir) / "report", "the report folder")
    print(f"report: {write_report(a.sweep_dir, results, mu=a.mu) / 'report.md'}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="qsnn", description="Quantized spiking neural networks for PYNQ boards")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    t = sub.add_parser("train", help="train a spiking network (QAT or PTQ) into a run directory")
    t.add_argument("--out", required=True, help="run directory to create")
    t.add_argument("--weight-bits", type=_weight_bits, default=4, help="1..16, or 'float' (default 4)")
    t.add_argument("--force", action="store_true", help="replace an existing run directory")
    add_train_options(t)
    t.set_defaults(func=cmd_train)

    e = sub.add_parser("eval", help="evaluate a run directory on its test set")
    e.add_argument("run_dir")
    e.add_argument("--integer", action="store_true", help="also run the integer model and the golden model")
    e.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    add_trust_pickle(e)
    e.set_defaults(func=cmd_eval)

    x = sub.add_parser("export", help="export a trained run to QONNX with LIF nodes, checked against the golden model")
    x.add_argument("run_dir")
    x.add_argument("--out", default=None, help="the .onnx file to write (QONNX)")
    x.add_argument("--nir", default=None, help="also or instead write the network as NIR to this .nir file")
    x.add_argument(
        "--dt", type=_positive_float, default=1e-4, help="NIR: the time step the taus assume (default 1e-4 s)"
    )
    x.add_argument(
        "--verify-samples", type=_positive_int, default=None, help="check this many test samples (default all)"
    )
    add_trust_pickle(x)
    x.set_defaults(func=cmd_export)

    im = sub.add_parser(
        "import",
        help="make a run directory from a NIR network (snnTorch, Norse, ...): quantize it, optionally fine-tune",
        description="Read a NIR graph (a chain of Linear/Affine/Conv1d/Conv2d synapses, each followed by LIF, IF "
        "or CubaLIF neurons, an LI readout last; Scale and Flatten nodes), quantize it post-training at the given "
        "widths on a dataset, optionally fine-tune it with QAT, and write a run directory that every other command "
        "takes. Thresholds and taus that differ between layers or neurons become per-neuron parameters. The graph's "
        "input is one sample channel-first, scaled to [0, 1) (unsigned data) or [-1, 1) (signed), the same at each "
        "time step.",
    )
    im.add_argument("model", help="the .nir file")
    im.add_argument("--out", required=True, help="run directory to create")
    im.add_argument("--force", action="store_true", help="replace an existing run directory")
    im.add_argument("--weight-bits", type=_weight_bits, default=8, help="1..16, or 'float' (default 8)")
    im.add_argument(
        "--membrane-bits",
        type=_membrane_bits,
        default="auto",
        help="signed membrane width, or 'auto' (default): the narrowest that holds the threshold",
    )
    im.add_argument("--rounding", default="nearest", help="floor | nearest | stochastic (default nearest)")
    im.add_argument("--beta-frac-bits", type=int, default=8, help="fraction bits F of the leak beta (default 8)")
    im.add_argument(
        "--reset",
        default=None,
        help="zero (NIR's reset to v_reset) or subtract (snnTorch's default, which NIR does not record); default: "
        "the neuron nodes' metadata['reset'] where qsnn export wrote it, else zero",
    )
    im.add_argument(
        "--dt",
        type=_positive_float,
        default=1e-4,
        help="time step the graph's taus assume: beta = 1 - dt/tau (default 1e-4 s, snnTorch's exporter)",
    )
    im.add_argument(
        "--readout",
        default="count",
        help="count (default) or first-spike for a graph that ends in spiking neurons; a graph that ends in an LI "
        "node is read out by its membrane",
    )
    im.add_argument("--dataset", default="digits", help="dataset to quantize and evaluate on (default digits)")
    im.add_argument("--data-path", default=None, help="folder or file for datasets that need one")
    add_trust_pickle(im)
    im.add_argument("--steps", type=int, default=8, help="time steps T per sample (default 8)")
    im.add_argument("--snrs", type=_list(int), default=(0, 6, 12, 18), help="RF SNRs in dB (default 0,6,12,18)")
    im.add_argument("--finetune-epochs", type=int, default=0, help="QAT fine-tune epochs after quantizing (default 0)")
    im.add_argument("--lr", type=float, default=5e-4, help="fine-tune learning rate (default 5e-4)")
    im.add_argument("--batch-size", type=int, default=64)
    im.add_argument("--seed", type=int, default=0)
    im.set_defaults(func=cmd_import)

    from toolchain.flow.config import STEPS

    b = sub.add_parser("build", help="lower a run through FINN: HW graph, folding, estimates, HLS, C-sim, bitstream")
    b.add_argument("run_dir")
    b.add_argument("--out", required=True, help="build directory")
    b.add_argument(
        "--board",
        default="Pynq-Z2",
        help="a board of FINN's Zynq flow: Pynq-Z1, Pynq-Z2, Ultra96(-V2), ZCU102, ZCU104, ZCU111, RFSoC2x2, "
        "RFSoC4x2, KV260_SOM (or KV260), AUP-ZU3_8GB (or AUP-ZU3) (default Pynq-Z2)",
    )
    b.add_argument("--until", default="estimate", choices=STEPS, help="last step (default estimate)")
    b.add_argument("--from", default="export", choices=STEPS, help="resume from this step")
    b.add_argument("--target-cycles", type=int, default=None, help="folding target: cycles per time step per layer")
    b.add_argument("--folding", default=None, help="FINN folding JSON: {node: {PE: .., SIMD: ..}}")
    b.add_argument("--clock-mhz", type=float, default=None, help="clock (default: the board's)")
    b.add_argument(
        "--verify-samples", type=_positive_int, default=None, help="verify on this many test samples (default all)"
    )
    add_trust_pickle(b)
    b.add_argument(
        "--vivado",
        default=None,
        help="the Vivado install folder, e.g. /tools/Xilinx/Vivado/2023.2; Vitis HLS is found beside it "
        "(default: XILINX_VIVADO, then vivado on PATH)",
    )
    b.add_argument(
        "--finn-deps",
        default=None,
        help="FINN's dependencies (finn-hlslib, board files) as 'finn deps update' fetches them "
        "(default: FINN's own folder)",
    )
    b.add_argument("--name", default=None, help="BUILD_DIR/bitstream/<name>.bit (default: the run directory's name)")
    b.add_argument(
        "--backend",
        default="hls",
        choices=("hls", "rtl"),
        help="hls: HLS C++ (C-sim here; Vitis HLS and Vivado for the bitstream); rtl: this project's Verilog "
        "(Verilator simulation and Yosys counts here; steps rtl, synth, rtlsim) (default hls)",
    )
    b.add_argument(
        "--event-driven",
        action="store_true",
        help="RTL backend: spike-input synapses skip silent input chunks (cycles follow the spike activity)",
    )
    b.set_defaults(func=cmd_build)

    dp = sub.add_parser("deploy", help="bundle driver, model, golden vectors, notebook (and bitstream) into a zip")
    dp.add_argument("build_dir")
    dp.add_argument("--out", required=True, help="the .zip to write")
    dp.add_argument("--vectors", type=_positive_int, default=300, help="golden test vectors to bundle (default 300)")
    add_trust_pickle(dp)
    dp.set_defaults(func=cmd_deploy)

    sw = sub.add_parser("sweep", help="train and measure a grid of bit-widths, roundings, schemes and pruning")
    sw.add_argument("--out", required=True, help="sweep directory (re-running resumes it)")
    sw.add_argument(
        "--jobs", type=_positive_int, default=os.cpu_count() or 1, help="points in parallel (default: cores)"
    )
    sw.add_argument("--no-estimate", action="store_true", help="skip the FINN lowering + estimate per point")
    sw.add_argument("--storage", default=None, help="share the grid through this SQLAlchemy URL ('qsnn worker' joins)")
    sw.add_argument("--study", default="qsnn", help="study name in --storage (default qsnn)")
    add_train_options(sw, grid=True)
    sw.set_defaults(func=cmd_sweep)

    se = sub.add_parser("select", help="pick the best point by R = acc - mu * M_q/M_0 under resource limits")
    se.add_argument("sweep_dir")
    se.add_argument("--mu", type=_finite_nonneg, default=0.5, help="trade-off coefficient (default 0.5)")
    se.add_argument("--max-lut", type=_positive_int, default=None, help="LUT budget (estimate)")
    se.add_argument("--max-bram", type=_positive_int, default=None, help="BRAM_18K budget (estimate)")
    se.set_defaults(func=cmd_select)

    rp = sub.add_parser("report", help="CSV, JSON, plots and a Markdown report of a sweep")
    rp.add_argument("sweep_dir")
    rp.add_argument("--mu", type=_finite_nonneg, default=0.5, help="trade-off coefficient (default 0.5)")
    rp.set_defaults(func=cmd_report)

    sr = sub.add_parser(
        "search", help="multi-objective Optuna search of the design space (SQLite or a shared database)"
    )
    sr.add_argument("--out", required=True, help="study folder: points/, sweep.json, report/ (and study.db)")
    sr.add_argument("--trials", type=_positive_int, default=20, help="finished trials to reach, all workers counted")
    sr.add_argument("--storage", default=None, help="SQLAlchemy URL shared by workers (default: sqlite in --out)")
    sr.add_argument("--study", default="qsnn", help="study name in the storage (default qsnn)")
    sr.add_argument(
        "--objectives",
        type=_list(str),
        default=("top1", "memory"),
        help="comma-separated: top1, memory, energy, lut, bram, latency (default top1,memory)",
    )
    sr.add_argument("--sampler", default="nsga2", choices=("nsga2", "tpe", "grid"), help="default nsga2")
    sr.add_argument("--hiddens", type=_layouts, default=None, help="hidden layouts to search, e.g. 32/64/32,32")
    sr.add_argument("--steps-options", type=_list(int), default=None, help="time steps T to search, e.g. 4,8,16")
    sr.add_argument("--target-cycles", type=_list(_positive_int), default=None, help="folding targets to search")
    sr.add_argument("--max-lut", type=_positive_int, default=None, help="constraint: LUT estimate")
    sr.add_argument("--max-bram", type=_positive_int, default=None, help="constraint: BRAM_18K estimate")
    sr.add_argument("--max-latency-us", type=_finite_nonneg, default=None, help="constraint: latency estimate (us)")
    sr.add_argument("--no-estimate", action="store_true", help="skip the FINN lowering + estimate per point")
    add_train_options(sr, grid=True)
    sr.set_defaults(func=cmd_search)

    wk = sub.add_parser("worker", help="join a search running on a shared --storage and run its trials")
    wk.add_argument("--storage", required=True, help="the study's SQLAlchemy URL")
    wk.add_argument("--study", default="qsnn", help="study name (default qsnn)")
    wk.set_defaults(func=cmd_worker)

    d = sub.add_parser("datasets", help="list datasets and whether they are available here")
    d.add_argument("--data-path", default=None)
    d.set_defaults(func=cmd_datasets)
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    # library chatter (deprecations in brevitas/qonnx/torch) is not the user's business on the CLI
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", category=UserWarning)
    warnings.filterwarnings("ignore", category=FutureWarning)
    if getattr(args, "trust_pickle", False):
        from toolchain.data.radioml import trust_pickles

        trust_pickles()
    try:
        return args.func(args)
    except QsnnError as e:
        print(f"error: {e}", file=sys.stderr)
        return e.exit_code
    except (PermissionError, NotADirectoryError, IsADirectoryError, FileExistsError) as e:
        # a path that changed after the checks before the work (fsutil.check_output): still one line
        print(
            f"error: {e.filename or ''}: {e.strerror or e}; choose another path or fix its permissions", file=sys.stderr
        )
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `qsnn select ... | head -1`
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
