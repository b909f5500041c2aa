"""`qsnn search` / `qsnn worker`: Optuna studies on SQLite and on a shared PostgreSQL server."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from toolchain.cli import main

optuna = pytest.importorskip("optuna", reason="needs optuna ('make install')")

FAST = ["--dataset", "digits", "--epochs", "10", "--limit", "800", "--hidden", "32", "--no-estimate"]
SPACE = ["--weight-bits", "1,2,3,4,6,8", "--rounding", "floor,nearest,stochastic", "--scheme", "qat,ptq"]


def trained_points(folder: Path) -> set:
    return {p.parent.name for p in (folder / "points").glob("*/result.json")}


@pytest.mark.slow
def test_search_finds_the_grids_best_with_fewer_trainings(tmp_path):
    """The same 36-point space as a grid sweep and as a 20-trial NSGA-II search (SQLite)."""
    grid, study = tmp_path / "grid", tmp_path / "study"
    assert main(["sweep", "--out", str(grid), "--jobs", "2", *SPACE, *FAST]) == 0
    grid_results = [json.loads(p.read_text()) for p in (grid / "points").glob("*/result.json")]
    best_grid = max(r["metrics"]["top1"] for r in grid_results if "metrics" in r)
    assert main(["search", "--out", str(study), "--trials", "20", *SPACE, *FAST]) == 0
    assert (study / "study.db").is_file() and (study / "report" / "report.md").is_file()
    found = [json.loads((study / "points" / p / "result.json").read_text()) for p in trained_points(study)]
    best_search = max(r["metrics"]["top1"] for r in found if "metrics" in r)
    assert len(found) < len(grid_results) == 36  # fewer trainings than the grid
    assert best_search >= best_grid - 0.01, (best_search, best_grid)  # within 1 point of the grid's best
    print(f"search: {len(found)} trainings, best top-1 {best_search:.4f}; grid: 36 trainings, best {best_grid:.4f}")
    # select and report read a study folder as a sweep folder
    assert main(["select", str(study), "--mu", "0.5"]) == 0


def test_sweep_through_a_storage_visits_every_grid_point_once(tmp_path):
    out, db = tmp_path / "g", tmp_path / "g.db"
    args = ["--weight-bits", "2,4", "--rounding", "floor,nearest", "--epochs", "1", "--limit", "100", "--hidden", "8"]
    assert (
        main(["sweep", "--out", str(out), "--storage", f"sqlite:///{db}", "--study", "g", *args, "--no-estimate"]) == 0
    )
    assert len(trained_points(out)) == 4 == len(json.loads((out / "sweep.json").read_text())["points"])


def test_search_bad_options_are_clean_errors(tmp_path, capsys):
    assert main(["search", "--out", str(tmp_path / "s"), "--objectives", "top1,speed", *FAST]) == 2
    assert "objective 'speed' is not one of" in capsys.readouterr().err
    assert main(["search", "--out", str(tmp_path / "s"), "--objectives", "top1,lut", *FAST]) == 2
    assert "hardware objectives need the FINN estimate" in capsys.readouterr().err
    assert main(["worker", "--storage", f"sqlite:///{tmp_path / 'none.db'}", "--study", "nope"]) == 2
    assert "no study 'nope'" in capsys.readouterr().err


# -- a shared PostgreSQL study, two workers, one killed mid-trial ------------------------------------------


def _pg_bin():
    for d in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (d / "initdb").is_file() and (d / "pg_ctl").is_file():
            return d
    found = shutil.which("initdb")
    return Path(found).parent if found else None


@pytest.fixture
def postgres(tmp_path):
    """A PostgreSQL server of its own: temporary data folder, a local socket only, stopped at the end."""
    bindir = _pg_bin()
    if bindir is None:
        pytest.skip("needs a PostgreSQL server (Debian package postgresql; 'make install' installs it)")
    pytest.importorskip("psycopg2", reason="needs psycopg2-binary ('make install')")
    base = Path(f"/tmp/qsnn-pg-{os.getpid()}")  # short: a unix socket path has a 107-byte limit
    shutil.rmtree(base, ignore_errors=True)
    data, sock = base / "data", base / "sock"
    sock.mkdir(parents=True)
    as_user = []
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root: use its own system user
        if shutil.which("runuser") is None:
            pytest.skip("running as root without runuser: cannot start PostgreSQL as its own user")
        shutil.chown(base, "postgres")
        shutil.chown(sock, "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]

    def run(*args):
        return subprocess.run([*as_user, *map(str, args)], capture_output=True, text=True, timeout=120)

    r = run(bindir / "initdb", "-D", data, "-A", "trust", "-U", "qsnn")
    if r.returncode != 0:
        pytest.skip(f"initdb failed here: {r.stderr.strip()[-200:]}")
    r = run(bindir / "pg_ctl", "-D", data, "-w", "-l", base / "log", "-o", f"-k {sock} -c listen_addresses=''", "start")
    assert r.returncode == 0, r.stderr
    try:
        assert run(bindir / "createdb", "-h", sock, "-U", "qsnn", "qsnn").returncode == 0
        yield f"postgresql+psycopg2://qsnn@/qsnn?host={sock}"
    finally:
        run(bindir / "pg_ctl", "-D", data, "-m", "immediate", "stop")
        shutil.rmtree(base, ignore_errors=True)


def _qsnn(*args):
    return subprocess.Popen(
        [sys.executable, "-m", "toolchain.cli", *map(str, args)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "TQDM_DISABLE": "1"},
    )


@pytest.mark.slow
def test_two_workers_on_postgres_one_killed_mid_trial(postgres, tmp_path):
    from optuna.trial import TrialState

    out = tmp_path / "study"
    trials = 8
    slow = ["--dataset", "digits", "--epochs", "25", "--limit", "600", "--hidden", "32", "--no-estimate"]
    a = _qsnn(
        "search",
        "--out",
        out,
        "--trials",
        trials,
        "--storage",
        postgres,
        "--study",
        "shared",
        "--sampler",
        "tpe",
        *SPACE,
        *slow,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            optuna.load_study(study_name="shared", storage=postgres)
            break
        except KeyError:
            time.sleep(1)
    b = _qsnn("worker", "--storage", postgres, "--study", "shared")
    storage = optuna.storages.RDBStorage(postgres)
    killed_trial = None
    while time.monotonic() < deadline and killed_trial is None:  # wait until both workers train
        running = storage.get_all_trials(storage.get_study_id_from_name("shared"), states=(TrialState.RUNNING,))
        if len(running) >= 2 and all(len(t.params) == 3 for t in running):  # both drew a point: training
            time.sleep(1.0)
            b.send_signal(signal.SIGKILL)
            b.wait()
            killed_trial = max(t.number for t in running)
        time.sleep(0.5)
    assert killed_trial is not None, "the two workers never trained at the same time"
    assert a.wait(timeout=600) == 0, a.stderr.read()[-2000:]
    study = optuna.load_study(study_name="shared", storage=postgres)
    by_state = {}
    for t in study.trials:
        by_state.setdefault(t.state, []).append(t)
    finished = by_state.get(TrialState.COMPLETE, []) + by_state.get(TrialState.PRUNED, [])
    failed = by_state.get(TrialState.FAIL, [])
    # every trial accounted for: none left running or waiting, at least the target finished, and ...
    assert len(finished) >= trials and not by_state.get(TrialState.RUNNING) and not by_state.get(TrialState.WAITING)
    assert failed  # ... the killed worker's trial, marked failed once its heartbeat stopped
    for f in failed:  # ... and redone with the same parameters
        (retry,) = [t for t in study.trials if t.system_attrs.get("failed_trial") == f.number]
        assert retry.state in (TrialState.COMPLETE, TrialState.PRUNED) and f.params.items() <= retry.params.items()
    # nothing counted twice: one trained point per distinct point among the finished trials
    assert trained_points(out) == {t.user_attrs["point"] for t in finished}
    # optuna-dashboard opens the shared storage
    from wsgiref.util import setup_testing_defaults

    from optuna_dashboard import wsgi

    environ = {"PATH_INFO": "/api/studies", "REQUEST_METHOD": "GET"}
    setup_testing_defaults(environ)
    status = []
    body = b"".join(wsgi(postgres)(environ, lambda s, h, *rest: status.append(s)))
    assert status[0].startswith("200") and b"shared" in body
