"""The step runner: runs ``cfg.steps`` in order, saving each step's model and the build state.

``--from STEP`` resumes from the model the previous step saved; every step's output lands in
``BUILD_DIR/intermediate/NN_step.onnx`` and the report is rewritten after each step.

Nothing is carried over that no longer holds: a build folder records the hash of the run's golden
model it was made from, and ``--from`` refuses a folder made from another run (or a retrained one);
starting at a step drops every result of that step and the steps after it (verification levels,
estimates, generated code, intermediate models, the bitstream), so they are re-run or reported as not
run. Each verification level stores the hashes of the golden model and of the graph it checked.
"""

from __future__ import annotations

import shlex
import sys
import time
from pathlib import Path

from toolchain.errors import QsnnError, ToolFailed, ToolNotFound
from toolchain.estimate.build_report import build_report, write_reports
from toolchain.flow.build_config import STEP, STEPS, BuildConfig, BuildState
from toolchain.flow.steps import STEP_FUNCTIONS
from toolchain.fsutil import atomic_path, load_onnx, read_json, sha256_file, write_json


def _model_path(cfg, step):
    return cfg.out / "intermediate" / f"{STEPS.index(step):02d}_{step}.onnx"


def run_identity(run_dir) -> dict:
    """What a build was made from: the run folder and the hash of its golden model."""
    from toolchain.runs import run_config

    if not run_config(run_dir).quantized:  # validates the run and its recorded hashes
        raise QsnnError(f"{run_dir} holds a float network; the hardware flow needs a quantized run (--weight-bits)")
    return {"dir": str(Path(run_dir).resolve()), "golden_sha256": sha256_file(Path(run_dir) / "golden.npz")}


def load_state(out, fix) -> BuildState:
    """A build folder's state, read through its schema."""
    f = Path(out) / "build_state.json"
    return BuildState.from_dict(read_json(f, "build state", fix), f, fix)


def _load_state(cfg) -> BuildState:
    if cfg.start == "export":
        return BuildState(run=run_identity(cfg.run_dir))
    fix = f"start from export ('qsnn build {cfg.run_dir} --out {cfg.out}')"
    f = cfg.out / "build_state.json"
    if not f.is_file():
        raise QsnnError(f"--from {cfg.start}: no earlier build in {cfg.out} (build_state.json missing); {fix}")
    state = load_state(cfg.out, fix)
    now = run_identity(cfg.run_dir)
    if state.run != now:
        raise QsnnError(
            f"--from {cfg.start}: {cfg.out} was built from {state.run.get('dir')} (golden model "
            f"{str(state.run.get('golden_sha256'))[:12]}), not from {now['dir']} ({now['golden_sha256'][:12]}); "
            f"its results do not hold for this run: {fix}, or use another --out"
        )
    if cfg.previous_step(cfg.start) not in state.steps_done:
        raise QsnnError(f"--from {cfg.start} needs step '{cfg.previous_step(cfg.start)}' done in {cfg.out}; {fix}")
    for step in state.steps_done:  # read through the step declarations: what each kept step left must be there
        if step not in STEP:
            raise QsnnError(f"build state {f} names an unknown step {step!r} (damaged or from another version); {fix}")
        if STEPS.index(step) >= STEPS.index(cfg.start):
            continue  # dropped and re-run
        for key in STEP[step].outputs:
            if not state.has(key):
                raise QsnnError(
                    f"build state {f} lacks {key!r} of step '{step}' (damaged or from another version); {fix}"
                )
    return state


def _invalidate(cfg, state: BuildState) -> None:
    """Drop every result of the steps from cfg.start on: they are re-run, or reported as not run."""
    import shutil

    later = STEPS[STEPS.index(cfg.start) :]
    state.steps_done = [s for s in state.steps_done if s not in later]
    for step in later:
        for key in STEP[step].outputs:
            state.drop(key)
        state.timings.pop(step, None)
        state.models.pop(step, None)
        _model_path(cfg, step).unlink(missing_ok=True)
        if STEP[step].folder:
            shutil.rmtree(cfg.out / STEP[step].folder, ignore_errors=True)


def load_step_model(out, state, step):
    """The model a step saved, checked against the hash recorded when it was saved."""
    path = Path(out) / "intermediate" / f"{STEPS.index(step):02d}_{step}.onnx"
    fix = f"re-run the build from '{step}'"
    model = load_onnx(path, f"the model of step '{step}'", fix)
    if sha256_file(path) != state.models.get(step):
        raise QsnnError(f"{path} does not match the hash recorded when step '{step}' saved it (modified?); {fix}")
    return model


def _load_model(cfg, state):
    if cfg.start == "export":
        return None
    return load_step_model(cfg.out, state, cfg.previous_step(cfg.start))


def run_build(cfg: BuildConfig, log="stderr") -> dict:
    """Run the configured steps; ``log`` (a stream; default the current sys.stderr) gets one line per step
    (None: quiet)."""
    log = sys.stderr if log == "stderr" else log
    (cfg.out / "intermediate").mkdir(parents=True, exist_ok=True)
    state = _load_state(cfg)
    model = _load_model(cfg, state)
    _invalidate(cfg, state)
    write_json(cfg.out / "build_config.json", cfg.to_dict())
    for k, step in enumerate(cfg.steps, 1):
        if log is not None:
            print(
                f"[{k}/{len(cfg.steps)}] {step}: {STEP_FUNCTIONS[step].__doc__.splitlines()[0]}", file=log, flush=True
            )
        t0 = time.perf_counter()
        try:
            model = STEP_FUNCTIONS[step](model, cfg, state)
        except (ToolNotFound, ToolFailed) as e:
            _finish(cfg, state)
            raise type(e)(_stopped_message(cfg, step, state, e)) from None
        state.timings[step] = round(time.perf_counter() - t0, 3)
        state.steps_done = [s for s in state.steps_done if s != step] + [step]
        with atomic_path(_model_path(cfg, step)) as tmp:
            model.save(str(tmp))
        state.models[step] = sha256_file(_model_path(cfg, step))
        _finish(cfg, state)
    return build_report(cfg, state)


def _finish(cfg, state):
    write_json(cfg.out / "build_state.json", state.to_dict())
    write_reports(cfg.out, build_report(cfg, state))


def _stopped_message(cfg, step, state, err) -> str:
    done = ", ".join(state.steps_done) or "none"
    cmd = [
        "qsnn",
        "build",
        cfg.run_dir,
        "--board",
        cfg.board,
        "--out",
        str(cfg.out),
        "--from",
        step,
        "--until",
        cfg.until,
        "--name",
        cfg.name,
    ]
    for opt, value in (("--vivado", cfg.vivado), ("--finn-deps", cfg.finn_deps)):
        if value:
            cmd += [opt, value]
    return (
        f"{err} -- stopped at step '{step}'. Steps done: {done}. Artifacts (models, HLS code, reports) are in "
        f"{cfg.out}. To finish on a machine with the tool: {shlex.join(cmd)}"
    )
