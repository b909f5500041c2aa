"""``qsnn sweep``: train and measure every point of a grid, in parallel, resumable.

A point is one RunConfig. Its results live in ``SWEEP_DIR/points/<key>/``: the run directory that
``qsnn train`` writes (complete or absent) and ``result.json`` (written atomically, last). A point with
a result.json is done and is never computed again; a point killed mid-way has none and is redone.
A configuration that cannot be built (a threshold that does not fit the membrane, say) is a done
point too, with its error recorded.
"""

from __future__ import annotations

import itertools
import os
import shutil
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from tqdm.auto import tqdm

from toolchain import device as devices
from toolchain.config import RunConfig
from toolchain.errors import QsnnError
from toolchain.estimate.energy import operation_energy
from toolchain.fsutil import read_json, require_keys, write_json
from toolchain.golden import neurons

# the figures of a point's "hardware" record (FINN estimates of its lowering)
HARDWARE = ("lut", "bram18", "dsp", "cycles_per_step", "cycles_per_inference", "latency_us", "inferences_per_s")


@dataclass
class Grid:
    weight_bits: tuple = (2, 4, 8, None)
    membrane_bits: tuple = ("auto",)
    rounding: tuple = ("nearest",)
    scheme: tuple = ("qat",)
    prune: tuple = (0.0,)
    prune_mode: tuple = ("cumulative",)
    params: dict = field(default_factory=dict)  # the neuron model's parameters: {name: values}

    def points(self, base: RunConfig) -> list[RunConfig]:
        """Every distinct configuration; a float point ignores the quantization axes."""
        seen, out = set(), []
        names = tuple(self.params)
        for wb, mb, rnd, sch, pr, pm, *prm in itertools.product(
            self.weight_bits,
            self.membrane_bits,
            self.rounding,
            self.scheme,
            self.prune,
            self.prune_mode,
            *self.params.values(),
        ):
            if wb is None:  # float training prunes the same way in both modes (nothing to quantize)
                mb, rnd, sch = None, base.quant.rounding, "qat"
            if pr == 0 or wb is None:
                pm = "cumulative"
            cfg = RunConfig.from_dict(base.to_dict())
            cfg.quant.weight_bits, cfg.quant.membrane_bits, cfg.quant.rounding, cfg.quant.scheme = wb, mb, rnd, sch
            if mb is None or mb == "auto":
                cfg.quant.membrane_shift = 0  # a shift sets the unit of a chosen membrane width
            if wb is None or sch != "qat" or pr > 0:
                cfg.train.init_from = None  # --init-from starts the QAT points; the float baseline trains as usual
            cfg.train.prune, cfg.train.prune_mode = pr, pm
            cfg.neuron.params.update(zip(names, prm))
            key = point_key(cfg)
            if key not in seen:
                seen.add(key)
                out.append(cfg)
        return out


def point_key(cfg: RunConfig) -> str:
    q, t = cfg.quant, cfg.train
    if q.weight_bits is None:
        head = "float"
    else:
        head = f"w{q.weight_bits}_m{q.membrane_bits}_{q.rounding}_{q.scheme}"  # 'auto' stays in the key: mauto
        head += f"_k{q.membrane_shift}" if q.membrane_shift != 0 else ""
    head += f"_p{t.prune:g}_{t.prune_mode}" if t.prune > 0 else ""
    model = neurons.get(cfg.neuron.model).params  # a model parameter off its default is part of the point
    return head + "".join(f"_{n}{v:g}" for n, v in sorted(cfg.neuron.params.items()) if v != model[n].default)


def run_point(cfg_dict: dict, point_dir: str, estimate: bool, target_cycles: int | None = None) -> dict:
    """Train, evaluate and estimate one point (runs in a worker process); ``target_cycles`` folds the
    estimate's build (None: PE = SIMD = 1)."""
    import torch

    torch.set_num_threads(1)
    from toolchain.train import run

    cfg = RunConfig.from_dict(cfg_dict)
    point = Path(point_dir)
    result = {"key": point.name, "config": cfg_dict}
    try:
        with devices.claim(cfg.train.device) as device:  # --device cuda: a free GPU of the machine's, one point each
            cfg.train.device = device
            metrics = run(cfg, point / "run", force=True, progress=False)  # only the sweep's own bar
        result["metrics"] = {
            k: metrics[k]
            for k in (
                "top1",
                "top5",
                "memory_bits",
                "memory_float_bits",
                "memory_ratio",
                "n_weights",
                "nonzero_weights",
                "spike_rate",
                "train_time_s",
                "per_snr",
                "neurobench",
                "software_latency",
            )
            if k in metrics
        }
        result["metrics"]["mismatches"] = metrics.get("mismatches")
        result["energy"] = operation_energy(cfg, metrics, point / "run")
        if estimate and cfg.quantized:
            result["hardware"] = hardware_of(point, target_cycles)
        if target_cycles is not None:
            result["target_cycles"] = target_cycles
    except QsnnError as e:
        result["error"] = str(e)
    write_json(point / "result.json", result)
    return result


def hardware_of(point: Path, target_cycles: int | None = None) -> dict:
    """FINN lowering + estimates of the trained point on the default board (verified on 50 samples)."""
    from toolchain.flow.build_config import BuildConfig
    from toolchain.flow.runner import run_build

    r = run_build(
        BuildConfig(
            run_dir=str(point / "run"),
            out_dir=str(point / "build"),
            until="estimate",
            verify_samples=50,
            target_cycles=target_cycles,
        ),
        log=None,
    )
    shutil.rmtree(point / "build" / "intermediate", ignore_errors=True)  # keep the report, drop the models
    e = r["estimate"]
    return {k: e[k] for k in HARDWARE} | {"verification": r["verification"]}


def _die_with_parent() -> None:
    """Worker initializer: the kernel sends SIGTERM to this worker when the sweep's process dies, so a
    killed sweep leaves no orphaned trainings (Linux prctl PR_SET_PDEATHSIG; hand-written: neither the
    standard library nor concurrent.futures offers it)."""
    import ctypes
    import signal

    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGTERM))  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() == 1:  # the parent died before prctl took effect
        os._exit(1)


@contextmanager
def sweep_lock(out: Path):
    """One sweep at a time per folder: an exclusive lock the kernel drops when its holder dies."""
    import fcntl

    out.mkdir(parents=True, exist_ok=True)
    f = open(out / ".sweep.lock", "a+")  # noqa: SIM115 - held for the whole sweep
    try:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.seek(0)
            holder = f.read().strip() or "?"
            raise QsnnError(
                f"another sweep (pid {holder}) is running in {out}; wait for it, or sweep into another --out"
            ) from None
        f.seek(0)
        f.truncate()
        f.write(str(os.getpid()))
        f.flush()
        yield
    finally:
        f.close()


def sweep(base: RunConfig, grid: Grid, out: Path, jobs: int = 1, estimate: bool = True) -> list[dict]:
    """Run every point not done yet; returns all results (done before and now)."""
    out = Path(out)
    with sweep_lock(out):
        return _sweep(base, grid, out, jobs, estimate)


def _sweep(base: RunConfig, grid: Grid, out: Path, jobs: int, estimate: bool) -> list[dict]:
    (out / "points").mkdir(parents=True, exist_ok=True)
    points = grid.points(base)
    write_json(
        out / "sweep.json", {"base": base.to_dict(), "grid": grid.__dict__, "points": [point_key(p) for p in points]}
    )
    todo = [p for p in points if not (out / "points" / point_key(p) / "result.json").is_file()]
    for stale in (out / "points").glob("*/.run.*"):  # temporary run dirs of a killed sweep
        shutil.rmtree(stale, ignore_errors=True)
    if todo:
        bar = tqdm(total=len(todo), desc=f"sweep ({len(points) - len(todo)} done before)", unit="point")
        if jobs <= 1:
            for p in todo:
                run_point(p.to_dict(), str(out / "points" / point_key(p)), estimate)
                bar.update()
        else:
            with ProcessPoolExecutor(max_workers=jobs, initializer=_die_with_parent) as pool:
                futures = [
                    pool.submit(run_point, p.to_dict(), str(out / "points" / point_key(p)), estimate) for p in todo
                ]
                for f in as_completed(futures):
                    f.result()
                    bar.update()
        bar.close()
    return load_results(out)


def load_results(out) -> list[dict]:
    """Every finished point's result; a damaged result is an error naming it, never silently dropped."""
    out = Path(out)
    fix = f"re-run 'qsnn sweep' with the same options and --out {out}"
    sweep_file = out / "sweep.json"
    meta = read_json(sweep_file, "sweep description", f"is {out} a sweep directory made by 'qsnn sweep'? {fix}")
    keys = require_keys(meta, ("points",), sweep_file, "sweep description", fix)["points"]
    if not isinstance(keys, list) or not all(
        isinstance(k, str) and "/" not in k and k not in (".", "..") for k in keys
    ):
        raise QsnnError(f"sweep description {sweep_file}: 'points' is not a list of point names; {fix}")
    results = []
    for key in keys:
        f = out / "points" / key / "result.json"
        if not f.is_file():
            continue  # not computed yet (a killed or running sweep)
        point_fix = f"delete {f.parent} and {fix} to recompute the point"
        r = read_json(f, "sweep point result", point_fix)
        require_keys(r, ("key", "config"), f, "sweep point result", point_fix)
        if "error" not in r:
            require_keys(r, ("metrics", "energy"), f, "sweep point result", point_fix)
            m = r["metrics"]
            if not isinstance(m, dict) or not all(isinstance(m.get(k), (int, float)) for k in ("top1", "memory_ratio")):
                raise QsnnError(f"sweep point result {f}: metrics lack top1 / memory_ratio; {point_fix}")
            hw = r.get("hardware")
            if hw is not None and not (
                isinstance(hw, dict) and all(isinstance(hw.get(k), (int, float)) for k in HARDWARE)
            ):
                raise QsnnError(f"sweep point result {f}: its hardware figures lack {', '.join(HARDWARE)}; {point_fix}")
            if not isinstance(r["energy"], dict) or not isinstance(r["energy"].get("energy_pj"), (int, float)):
                raise QsnnError(f"sweep point result {f}: its energy lacks energy_pj; {point_fix}")
        results.append(r)
    return results
