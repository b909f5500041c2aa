"""``qsnn search`` and ``qsnn worker``: a multi-objective Optuna study over the sweep's design space.

The space is ``qsnn sweep``'s (weight bits, membrane bits, rounding, scheme, pruning) plus hidden sizes,
time steps T and the folding target; the objectives are chosen from top-1, memory ratio, energy, LUT,
BRAM and latency (FINN/formula estimates), with ``--max-lut`` / ``--max-bram`` / ``--max-latency-us`` as
constraints (NSGA-II by default, TPE as an option; ``grid`` visits every point once, which is how
``qsnn sweep --storage URL`` distributes a grid over workers). Optuna does the sampling, the storage and the
bookkeeping; this module only turns a trial into a sweep point.

Storage: an SQLite file in the study folder by default; any SQLAlchemy URL (PostgreSQL) lets workers on
other machines join with ``qsnn worker --storage URL --study NAME``; the study's space, base config and
objectives travel in the study's own user attributes. A trial's artifacts are a sweep point
(``STUDY_DIR/points/<key>/``: the run folder and result.json, written atomically), so ``qsnn select`` and
``qsnn report`` work on a study folder as on a sweep folder. Killed trials: workers send heartbeats, a
trial whose worker stopped beating is marked failed and re-queued once with the same parameters
(Optuna's RetryFailedTrialCallback); a point already computed is read back, never trained twice
(a per-point lock serialises two workers that draw the same point).
"""

from __future__ import annotations

import fcntl
import json
import math
import time
import warnings
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

from toolchain.config import RunConfig
from toolchain.errors import QsnnError
from toolchain.fsutil import read_json, write_json

OBJECTIVES = {  # name -> (direction, value of a sweep point's result)
    "top1": ("maximize", lambda r: r["metrics"]["top1"]),
    "memory": ("minimize", lambda r: r["metrics"]["memory_ratio"]),
    "energy": ("minimize", lambda r: r["energy"]["energy_pj"]),
    "lut": ("minimize", lambda r: r["hardware"]["lut"]),
    "bram": ("minimize", lambda r: r["hardware"]["bram18"]),
    "latency": ("minimize", lambda r: r["hardware"]["latency_us"]),
}
HEARTBEAT_S, GRACE_S = 2, 10


@dataclass
class Space:
    """The values each dimension may take (one value: fixed)."""

    weight_bits: tuple = (2, 4, 8)
    membrane_bits: tuple = ("auto",)
    rounding: tuple = ("nearest",)
    scheme: tuple = ("qat",)
    prune: tuple = (0.0,)
    prune_mode: tuple = ("cumulative",)
    hidden: tuple = ((128,),)
    steps: tuple = (8,)
    target_cycles: tuple = (None,)
    params: dict = field(default_factory=dict)  # the neuron model's parameters: {name: values}

    def dimensions(self) -> dict[str, tuple]:
        """{name: values} of every dimension (a model parameter's is ``param_<name>``)."""
        dims = {k: v for k, v in asdict(self).items() if k != "params"}
        return dims | {f"param_{k}": tuple(v) for k, v in self.params.items()}

    def size(self) -> int:
        return math.prod(len(v) for v in self.dimensions().values())

    def suggest(self, trial, base: RunConfig) -> tuple[RunConfig, int | None]:
        def pick(name, values):
            if len(values) == 1:
                return values[0]
            labels = [json.dumps(v) for v in values]  # categorical choices: JSON text, so any value works
            return values[labels.index(trial.suggest_categorical(name, labels))]

        cfg = RunConfig.from_dict(base.to_dict())
        q, t = cfg.quant, cfg.train
        q.weight_bits = pick("weight_bits", self.weight_bits)
        q.membrane_bits = None if q.weight_bits is None else pick("membrane_bits", self.membrane_bits)
        if q.weight_bits is None or q.membrane_bits == "auto":
            q.membrane_shift = 0  # a shift sets the unit of a chosen membrane width
        q.rounding, q.scheme = pick("rounding", self.rounding), pick("scheme", self.scheme)
        t.prune, t.prune_mode = pick("prune", self.prune), pick("prune_mode", self.prune_mode)
        if q.weight_bits is None or q.scheme != "qat" or t.prune > 0:
            t.init_from = None  # --init-from starts the QAT points; the others train as usual
        cfg.model.hidden = tuple(pick("hidden", self.hidden))
        cfg.data.steps = pick("steps", self.steps)
        cfg.neuron.params.update({k: pick(f"param_{k}", v) for k, v in self.params.items()})
        return cfg.validate(), pick("target_cycles", self.target_cycles)

    @classmethod
    def from_dict(cls, d: dict) -> Space:
        d = dict(d)
        params = {k: tuple(v) for k, v in d.pop("params", {}).items()}
        return cls(**{k: tuple(tuple(x) if isinstance(x, list) else x for x in v) for k, v in d.items()}, params=params)


@dataclass
class StudySpec:
    """What a worker needs to run trials of a study (stored in the study's user attributes)."""

    out: str
    base: dict
    space: dict
    objectives: list
    trials: int
    max_lut: int | None = None
    max_bram: int | None = None
    max_latency_us: float | None = None
    estimate: bool = True
    sampler: str = "nsga2"
    seed: int = 0
    extra: dict = field(default_factory=dict)


def point_name(cfg: RunConfig, target: int | None) -> str:
    from toolchain.dse.sweep import point_key

    name = point_key(cfg) + f"_h{'-'.join(map(str, cfg.model.hidden))}_T{cfg.data.steps}"
    return name + (f"_c{target}" if target else "")


def storage(url: str):
    import optuna
    from optuna.storages import RDBStorage, RetryFailedTrialCallback

    try:
        return RDBStorage(
            url,
            heartbeat_interval=HEARTBEAT_S,
            grace_period=GRACE_S,
            failed_trial_callback=RetryFailedTrialCallback(max_retry=2),
        )
    except (ValueError, ImportError, optuna.exceptions.OptunaError) as e:
        raise QsnnError(f"--storage {url!r}: {e}") from None
    except Exception as e:  # noqa: BLE001 - SQLAlchemy's connection errors have no common base here
        raise QsnnError(f"--storage {url!r}: cannot open it ({type(e).__name__}: {e})") from None


@contextmanager
def _point_lock(point: Path):
    point.mkdir(parents=True, exist_ok=True)
    with open(point / ".lock", "a+") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        yield


def _evaluate(spec: StudySpec, trial) -> tuple:
    from toolchain.dse.sweep import run_point

    cfg, target = Space.from_dict(spec.space).suggest(trial, RunConfig.from_dict(spec.base))
    point = Path(spec.out) / "points" / point_name(cfg, target)
    with _point_lock(point):
        if (point / "result.json").is_file():  # drawn before (or by another worker): read it back
            result = read_json(point / "result.json", "sweep point result", f"delete {point} to recompute it")
        else:
            result = run_point(cfg.to_dict(), str(point), spec.estimate, target)
    trial.set_user_attr("point", point.name)
    if "error" in result:
        trial.set_user_attr("error", result["error"])
        import optuna

        raise optuna.TrialPruned(result["error"])
    hw = result.get("hardware") or {}
    limits = [
        (spec.max_lut, hw.get("lut")),
        (spec.max_bram, hw.get("bram18")),
        (spec.max_latency_us, hw.get("latency_us")),
    ]
    trial.set_user_attr("constraint", [(v - lim) if v is not None else 1.0 for lim, v in limits if lim is not None])
    try:
        return tuple(OBJECTIVES[o][1](result) for o in spec.objectives)
    except (KeyError, TypeError):
        raise QsnnError(f"point {point.name} has no {'/'.join(spec.objectives)} figures (use --estimate)") from None


def _constraints(trial):
    return trial.user_attrs.get("constraint", [])


def _sampler(spec: StudySpec):
    import optuna

    if spec.sampler == "grid":  # every point once: a grid that many workers share
        dims = Space.from_dict(spec.space).dimensions()
        space = {k: [json.dumps(v) for v in vals] for k, vals in dims.items() if len(vals) > 1}
        return optuna.samplers.GridSampler(space, seed=spec.seed)
    if spec.sampler == "tpe":
        return optuna.samplers.TPESampler(seed=spec.seed, constraints_func=_constraints, multivariate=True)
    return optuna.samplers.NSGAIISampler(seed=spec.seed, constraints_func=_constraints, population_size=8)


def create(spec: StudySpec, url: str | None, name: str):
    import optuna

    for o in spec.objectives:
        if o not in OBJECTIVES:
            raise QsnnError(f"objective {o!r} is not one of {', '.join(OBJECTIVES)}")
    if not spec.estimate and set(spec.objectives) & {"lut", "bram", "latency"}:
        raise QsnnError("hardware objectives need the FINN estimate of every point; drop --no-estimate")
    Path(spec.out).mkdir(parents=True, exist_ok=True)
    url = url or f"sqlite:///{Path(spec.out).resolve() / 'study.db'}"
    study = optuna.create_study(
        study_name=name,
        storage=storage(url),
        directions=[OBJECTIVES[o][0] for o in spec.objectives],
        sampler=_sampler(spec),
        load_if_exists=True,
    )
    stored = study.user_attrs.get("spec")
    if stored is not None and stored != asdict(spec):
        raise QsnnError(f"study {name!r} in {url} was created with other options; use another --study name")
    study.set_user_attr("spec", asdict(spec))
    return study, url


def load(url: str, name: str):
    import optuna

    try:
        study = optuna.load_study(study_name=name, storage=storage(url))
    except KeyError:
        raise QsnnError(
            f"no study {name!r} in {url}; start it with 'qsnn search --storage URL --study {name}'"
        ) from None
    spec = StudySpec(**study.user_attrs["spec"])
    study.sampler = _sampler(spec)
    return study, spec


def run(study, spec: StudySpec, log=None) -> None:
    """Run trials until the study holds ``spec.trials`` finished ones (complete or infeasible), counting
    every worker's; prints one progress line per trial."""
    import optuna
    from optuna.study import MaxTrialsCallback
    from optuna.trial import TrialState

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    done_states = (TrialState.COMPLETE, TrialState.PRUNED)

    def progress(study, trial):
        if log is None:
            return
        done = len(study.get_trials(deepcopy=False, states=done_states))
        front = study.best_trials
        k = spec.objectives.index("top1") if "top1" in spec.objectives else 0
        best = max((t.values[k] for t in front), default=float("nan"))
        print(
            f"trial {trial.number} {trial.state.name.lower()}: {done}/{spec.trials} done, best "
            f"{spec.objectives[k]} {best:.4f}, Pareto front {len(front)}",
            file=log,
            flush=True,
        )

    def objective(trial):
        return _evaluate(spec, trial)

    study.optimize(objective, callbacks=[MaxTrialsCallback(spec.trials, states=done_states), progress], catch=())
    # the target is reached, but a trial whose worker died may still look RUNNING: once its heartbeat is
    # stale it is marked failed and re-queued (WAITING); run those, so every trial ends finished or retried
    while True:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            optuna.storages.fail_stale_trials(study)
        waiting = study.get_trials(deepcopy=False, states=(TrialState.WAITING,))
        if waiting:
            study.optimize(objective, n_trials=len(waiting), callbacks=[progress], catch=())
        elif study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
            time.sleep(HEARTBEAT_S)
        else:
            break
    write_sweep_index(study, spec)


def write_sweep_index(study, spec: StudySpec) -> None:
    """sweep.json over the study's finished points, so `qsnn select` / `qsnn report` read the study folder."""
    from optuna.trial import TrialState

    names = sorted(
        {
            t.user_attrs["point"]
            for t in study.get_trials(states=(TrialState.COMPLETE, TrialState.PRUNED))
            if "point" in t.user_attrs
        }
    )
    write_json(Path(spec.out) / "sweep.json", {"base": spec.base, "search": spec.space, "points": names})
