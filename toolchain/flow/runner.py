"""The step runner: runs ``cfg.steps`` in order, saving each step's model and the build state.

``--from STEP`` resumes from the model the previous step saved; every step's output lands in
``BUILD_DIR/intermediate/NN_step.onnx`` and the report is rewritten after each step.
"""

from __future__ import annotations

import json
import shlex
import sys
import time

from qonnx.core.modelwrapper import ModelWrapper

from toolchain.errors import QsnnError, ToolFailed, ToolNotFound
from toolchain.estimate.report import build_report, write_reports
from toolchain.flow.config import STEPS, BuildConfig
from toolchain.flow.steps import STEP_FUNCTIONS
from toolchain.fsutil import atomic_path, write_json


def _model_path(cfg, step):
    return cfg.out / "intermediate" / f"{STEPS.index(step):02d}_{step}.onnx"


def _load_state(cfg) -> dict:
    f = cfg.out / "build_state.json"
    if cfg.start == "export":
        return {"verification": {}, "timings": {}, "steps_done": []}
    if not f.is_file():
        raise QsnnError(
            f"--from {cfg.start}: no earlier build in {cfg.out} (build_state.json missing); start from export"
        )
    return json.loads(f.read_text())


def _load_model(cfg):
    if cfg.start == "export":
        return None
    prev = STEPS[STEPS.index(cfg.start) - 1]
    path = _model_path(cfg, prev)
    if not path.is_file():
        raise QsnnError(f"--from {cfg.start} needs {path} from step '{prev}'; run that step first")
    return ModelWrapper(str(path))


def run_build(cfg: BuildConfig, log="stderr") -> dict:
    """Run the configured steps; ``log`` (a stream; default the current sys.stderr) gets one line per step
    (None: quiet)."""
    log = sys.stderr if log == "stderr" else log
    (cfg.out / "intermediate").mkdir(parents=True, exist_ok=True)
    state, model = _load_state(cfg), _load_model(cfg)
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
        state["timings"][step] = round(time.perf_counter() - t0, 3)
        state["steps_done"] = [s for s in state["steps_done"] if s != step] + [step]
        with atomic_path(_model_path(cfg, step)) as tmp:
            model.save(str(tmp))
        _finish(cfg, state)
    return build_report(cfg, state)


def _finish(cfg, state):
    write_json(cfg.out / "build_state.json", state)
    write_reports(cfg.out, build_report(cfg, state))


def _stopped_message(cfg, step, state, err) -> str:
    done = ", ".join(state["steps_done"]) or "none"
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
