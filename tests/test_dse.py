"""Sweeps, reward, Pareto fronts and resume, on a tiny grid and on hand-computed values."""

import json

import pytest

from toolchain.config import RunConfig
from toolchain.dse.report import compressed_within, summary, write_report
from toolchain.dse.select import command_for, pareto_front, reward, select
from toolchain.dse.sweep import Grid, load_results, point_key, sweep
from toolchain.errors import QsnnError


def fake(key, top1, ratio, energy, wb=4, lut=None):
    cfg = RunConfig().to_dict()
    cfg["quant"]["weight_bits"] = wb
    r = {
        "key": key,
        "config": cfg,
        "metrics": {"top1": top1, "memory_ratio": ratio, "nonzero_weights": 10, "n_weights": 10},
        "energy": {"energy_pj": energy},
    }
    if lut is not None:
        r["hardware"] = {"lut": lut, "bram18": 2}
    return r


POINTS = [
    fake("float", 0.96, 1.0, 100.0, wb=None),
    fake("w8", 0.955, 0.30, 40.0, lut=5000),
    fake("w4", 0.95, 0.20, 30.0, lut=3000),
    fake("w2", 0.90, 0.12, 35.0, lut=2000),
    fake("w3", 0.94, 0.25, 31.0, lut=2500),
]


def test_reward_is_tinysnn_eq3():
    assert reward(POINTS[2], 0.5) == pytest.approx(0.95 - 0.5 * 0.20)
    # mu = 0.5: float 0.46, w8 0.805, w4 0.85, w2 0.84, w3 0.815 -> w4
    assert select(POINTS, 0.5)["key"] == "w4"
    assert select(POINTS, 0.0)["key"] == "float"  # accuracy only
    assert select(POINTS, 2.0)["key"] == "w2"  # 0.90 - 0.24 = 0.66 beats w4's 0.55


def test_constraints_filter_by_resources():
    assert select(POINTS, 0.5, max_lut=2600)["key"] == "w2"  # w3 (0.815) loses to w2 (0.84) at mu 0.5
    assert select(POINTS, 0.1, max_lut=2600)["key"] == "w3"  # 0.915 vs w2's 0.888
    with pytest.raises(QsnnError, match="no sweep point meets"):
        select(POINTS, 0.5, max_lut=100)


def test_pareto_fronts_by_hand():
    acc = lambda r: r["metrics"]["top1"]  # noqa: E731
    mem = pareto_front(POINTS, lambda r: r["metrics"]["memory_ratio"], acc)
    assert [r["key"] for r in mem] == ["w2", "w4", "w8", "float"]  # w3 (0.25, 0.94) is dominated by w4
    en = pareto_front(POINTS, lambda r: r["energy"]["energy_pj"], acc)
    assert [r["key"] for r in en] == ["w4", "w8", "float"]  # w2 costs more than w4 and is less accurate


def test_compressed_within_one_point():
    # ratio <= 0.25 and top-1 >= 0.96 - 0.01: w4 (0.20, 0.95) yes; w3 (0.25, 0.94) is 2 points off; w2 too
    assert [r["key"] for r in compressed_within(POINTS)] == ["w4"]
    s = summary(POINTS)
    assert s["selected"] == "w4" and s["compressed_4x_within_1pt"] == ["w4"]


def test_grid_points_dedupe_float_and_unpruned_modes():
    grid = Grid(
        weight_bits=(2, None),
        membrane_bits=(12, 16),
        rounding=("floor", "nearest"),
        scheme=("qat",),
        prune=(0.0, 0.5),
        prune_mode=("cumulative", "joint"),
    )
    keys = [point_key(p) for p in grid.points(RunConfig())]
    assert len(keys) == len(set(keys))
    # float: unpruned and pruned once (the prune mode only matters when there is quantization)
    assert [k for k in keys if k.startswith("float")] == ["float", "float_p0.5_cumulative"]
    assert "w2_m12_floor_qat" in keys and "w2_m12_floor_qat_p0.5_joint" in keys
    assert 2 * 2 * (1 + 2) + 2 == len(keys)


def test_grid_keeps_the_membrane_shift_and_init_from_off_the_points_they_do_not_apply_to():
    base = RunConfig()
    base.quant.membrane_bits, base.quant.membrane_shift = 8, "auto"
    points = Grid(weight_bits=(4, None), membrane_bits=(6, 8)).points(base)
    keys = [point_key(p) for p in points]
    assert keys == ["w4_m6_nearest_qat_kauto", "w4_m8_nearest_qat_kauto", "float"]
    assert points[-1].quant.membrane_shift == 0 and points[-1].validate()
    base.train.init_from = "runs/float"  # --init-from starts the QAT points; the float baseline trains as usual
    points = Grid(weight_bits=(4, None), membrane_bits=(8,), scheme=("qat", "ptq")).points(base)
    assert [p.train.init_from for p in points] == ["runs/float", None, None]  # w4 qat, w4 ptq, float


@pytest.fixture(scope="module")
def tiny_sweep(tmp_path_factory):
    base = RunConfig()
    base.model.hidden, base.train.epochs = (16,), 1
    grid = Grid(weight_bits=(4, None), membrane_bits=(16, 8), rounding=("nearest",), scheme=("qat",))
    out = tmp_path_factory.mktemp("sweep") / "s"
    return base, grid, out, sweep(base, grid, out, jobs=1, estimate=True)


def test_tiny_sweep_results_and_infeasible_point(tiny_sweep):
    _, _, out, results = tiny_sweep
    keys = {r["key"]: r for r in results}
    assert set(keys) == {"w4_m16_nearest_qat", "w4_m8_nearest_qat", "float"}
    assert "does not fit a 8-bit membrane" in keys["w4_m8_nearest_qat"]["error"]
    ok = keys["w4_m16_nearest_qat"]
    assert ok["metrics"]["mismatches"] == 0 and ok["hardware"]["lut"] > 0 and ok["energy"]["energy_pj"] > 0
    assert ok["hardware"]["verification"]["finn_hw"]["mismatches"] == 0
    assert keys["float"]["energy"]["energy_pj"] > ok["energy"]["energy_pj"]


def test_rerun_does_no_work_and_a_killed_point_is_redone(tiny_sweep):
    base, grid, out, results = tiny_sweep
    stamps = {p.parent.name: p.stat().st_mtime_ns for p in (out / "points").glob("*/result.json")}
    again = sweep(base, grid, out, jobs=1)
    assert {p.parent.name: p.stat().st_mtime_ns for p in (out / "points").glob("*/result.json")} == stamps
    assert [r["key"] for r in again] == [r["key"] for r in results]
    # a point killed mid-way: no result.json, a stale temporary run directory
    victim = out / "points" / "w4_m16_nearest_qat"
    (victim / "result.json").unlink()
    (victim / ".run.killed").mkdir()
    redone = sweep(base, grid, out, jobs=1)
    assert (victim / "result.json").is_file() and not (victim / ".run.killed").exists()
    assert {
        p.parent.name: p.stat().st_mtime_ns
        for p in (out / "points").glob("*/result.json")
        if p.parent.name != victim.name
    } == {k: v for k, v in stamps.items() if k != victim.name}
    assert len(redone) == 3


def test_report_files_and_command(tiny_sweep):
    _, _, out, results = tiny_sweep
    rep = write_report(out, load_results(out))
    for name in (
        "results.csv",
        "results.json",
        "report.md",
        "accuracy_vs_bits.png",
        "pareto_memory.png",
        "pareto_energy.png",
        "reward_vs_mu.png",
        "accuracy_vs_sparsity.png",
    ):
        assert (rep / name).is_file() and (rep / name).stat().st_size > 0
    md = (rep / "report.md").read_text()
    assert "infeasible" in md and "## At least 4x memory reduction within 1 point" in md
    assert json.loads((rep / "results.json").read_text())["summary"]["points"] == 3
    cmd = command_for(select(results, 0.5))
    assert cmd.startswith("qsnn train --out runs/selected --weight-bits")


def test_selects_command_reproduces_the_point(tmp_path):
    """A sweep with non-default options everywhere; select's command, re-run, gives the same metrics."""
    import shlex

    from toolchain.cli import main

    out = tmp_path / "s"
    opts = [
        "--limit",
        "120",
        "--epochs",
        "2",
        "--lr",
        "0.004",
        "--threshold",
        "0.7",
        "--leak",
        "shift",
        "--leak-shift",
        "3",
        "--hidden",
        "12",
        "--batch-size",
        "32",
        "--seed",
        "5",
        "--steps",
        "6",
    ]
    assert main(["sweep", "--out", str(out), "--weight-bits", "4", "--no-estimate", "--jobs", "1", *opts]) == 0
    (point,) = load_results(out)
    cmd = command_for(point, str(tmp_path / "again"))
    for opt in opts[::2]:
        assert opt in cmd, opt
    train_argv = shlex.split(cmd.split(" && ")[0])[1:]
    assert main(train_argv) == 0
    again = json.loads((tmp_path / "again" / "metrics.json").read_text())
    assert again["top1"] == point["metrics"]["top1"] and again["memory_bits"] == point["metrics"]["memory_bits"]


def test_load_results_needs_a_sweep_dir(tmp_path):
    with pytest.raises(QsnnError, match="a sweep directory made by 'qsnn sweep'"):
        load_results(tmp_path)


def test_rf_results_get_an_accuracy_vs_snr_plot(tmp_path):
    import copy

    points = copy.deepcopy(POINTS)
    for r in points:
        r["metrics"]["per_snr"] = {"0": r["metrics"]["top1"] - 0.1, "18": r["metrics"]["top1"]}
    rep = write_report(tmp_path, points)
    assert (rep / "accuracy_vs_snr.png").stat().st_size > 0
    assert "accuracy_vs_snr.png" in (rep / "report.md").read_text()
    assert not (write_report(tmp_path / "plain", POINTS) / "accuracy_vs_snr.png").exists()
