"""`qsnn sweep`, `search`, `worker`, `select` and `report`: the design space explored and its trade-offs shown."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from toolchain import argtypes
from toolchain.fsutil import check_output
from toolchain.options import add_train_options

from .common import add_trust_pickle


def _grid(a):
    """The grid's axes and base config; what every point shares (the data, the device) fails here, once, before any
    point."""
    from toolchain.data import load_dataset
    from toolchain.device import resolve
    from toolchain.options import grid

    axes, param_axes, base = grid(a)
    load_dataset(base.data)
    resolve(base.train.device)
    return axes, param_axes, base


def cmd_sweep(a):
    from toolchain.data import get
    from toolchain.dse.report import write_report
    from toolchain.dse.sweep import Grid, sweep

    get(a.dataset)
    check_output(Path(a.out) / "report", "the report folder of --out")
    axes, param_axes, base = _grid(a)
    grid = Grid(**axes, params=param_axes)
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
    axes, param_axes, base = _grid(a)
    space = search.Space(
        **axes,
        params=param_axes,
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
    from toolchain.device import resolve
    from toolchain.dse import search

    resolve(a.device)  # a device this machine lacks: refused before any trial
    study, spec = search.load(a.storage, a.study)
    spec.base["train"]["device"] = a.device  # this machine's device, not the one the search was started on
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


def add(sub) -> None:
    sw = sub.add_parser("sweep", help="train and measure a grid of bit-widths, roundings, schemes and pruning")
    sw.add_argument("--out", required=True, help="sweep directory (re-running resumes it)")
    sw.add_argument(
        "--jobs", type=argtypes.positive_int, default=os.cpu_count() or 1, help="points in parallel (default: cores)"
    )
    sw.add_argument("--no-estimate", action="store_true", help="skip the FINN lowering + estimate per point")
    sw.add_argument("--storage", default=None, help="share the grid through this SQLAlchemy URL ('qsnn worker' joins)")
    sw.add_argument("--study", default="qsnn", help="study name in --storage (default qsnn)")
    add_train_options(sw, grid=True)
    add_trust_pickle(sw)
    sw.set_defaults(func=cmd_sweep)

    se = sub.add_parser("select", help="pick the best point by R = acc - mu * M_q/M_0 under resource limits")
    se.add_argument("sweep_dir")
    se.add_argument("--mu", type=argtypes.finite_nonneg, default=0.5, help="trade-off coefficient (default 0.5)")
    se.add_argument("--max-lut", type=argtypes.positive_int, default=None, help="LUT budget (estimate)")
    se.add_argument("--max-bram", type=argtypes.positive_int, default=None, help="BRAM_18K budget (estimate)")
    se.set_defaults(func=cmd_select)

    rp = sub.add_parser("report", help="CSV, JSON, plots and a Markdown report of a sweep")
    rp.add_argument("sweep_dir")
    rp.add_argument("--mu", type=argtypes.finite_nonneg, default=0.5, help="trade-off coefficient (default 0.5)")
    rp.set_defaults(func=cmd_report)

    sr = sub.add_parser(
        "search", help="multi-objective Optuna search of the design space (SQLite or a shared database)"
    )
    sr.add_argument("--out", required=True, help="study folder: points/, sweep.json, report/ (and study.db)")
    sr.add_argument(
        "--trials", type=argtypes.positive_int, default=20, help="finished trials to reach, all workers counted"
    )
    sr.add_argument("--storage", default=None, help="SQLAlchemy URL shared by workers (default: sqlite in --out)")
    sr.add_argument("--study", default="qsnn", help="study name in the storage (default qsnn)")
    sr.add_argument(
        "--objectives",
        type=argtypes.comma_list(str),
        default=("top1", "memory"),
        help="comma-separated: top1, memory, energy, lut, bram, latency (default top1,memory)",
    )
    sr.add_argument("--sampler", default="nsga2", choices=("nsga2", "tpe", "grid"), help="default nsga2")
    sr.add_argument("--hiddens", type=argtypes.layouts, default=None, help="hidden layouts to search, e.g. 32/64/32,32")
    sr.add_argument(
        "--steps-options", type=argtypes.comma_list(int), default=None, help="time steps T to search, e.g. 4,8,16"
    )
    sr.add_argument(
        "--target-cycles",
        type=argtypes.comma_list(argtypes.positive_int),
        default=None,
        help="folding targets to search",
    )
    sr.add_argument("--max-lut", type=argtypes.positive_int, default=None, help="constraint: LUT estimate")
    sr.add_argument("--max-bram", type=argtypes.positive_int, default=None, help="constraint: BRAM_18K estimate")
    sr.add_argument(
        "--max-latency-us", type=argtypes.finite_nonneg, default=None, help="constraint: latency estimate (us)"
    )
    sr.add_argument("--no-estimate", action="store_true", help="skip the FINN lowering + estimate per point")
    add_train_options(sr, grid=True)
    add_trust_pickle(sr)
    sr.set_defaults(func=cmd_search)

    wk = sub.add_parser("worker", help="join a search running on a shared --storage and run its trials")
    wk.add_argument("--storage", required=True, help="the study's SQLAlchemy URL")
    wk.add_argument("--study", default="qsnn", help="study name (default qsnn)")
    add_train_options(
        wk,
        only=("device",),
        helps={
            "device": "this worker's device (its machine's GPUs), whatever "
            "the search that made the study used: auto, cpu, cuda (spread over the GPUs), cuda:N"
        },
    )
    wk.set_defaults(func=cmd_worker)
