"""Kills and races: a killed `train --force` or `sweep --jobs 2` leaves nothing half-done or running."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from toolchain.cli import main
from toolchain.runs import run_config

QUICK = ["--dataset", "digits", "--limit", "200", "--hidden", "16", "--weight-bits", "4"]


def qsnn_process(*args):
    return subprocess.Popen(
        [sys.executable, "-m", "toolchain.cli", *map(str, args)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "TQDM_DISABLE": "1"},
    )


def dead_pid() -> int:
    p = subprocess.Popen(["true"])
    p.wait()
    return p.pid


def hidden_leftovers(path: Path):
    return [p for p in path.parent.iterdir() if p.name.startswith(f".{path.name}.")]


@pytest.mark.slow
def test_train_force_killed_at_any_moment_leaves_a_complete_run(tmp_path):
    out = tmp_path / "run"
    assert main(["train", "--out", str(out), "--epochs", "1", *QUICK]) == 0
    seen_new = False
    for delay in (0.5, 2.0, 3.5, 5.0, 6.5, 8.0):
        p = qsnn_process("train", "--out", out, "--epochs", "3", "--force", "--seed", "1", *QUICK)
        time.sleep(delay)
        p.send_signal(signal.SIGKILL)
        p.wait()
        cfg = run_config(out)  # complete: config, model and golden model all present and matching their hashes
        seen_new |= cfg.train.epochs == 3
    assert main(["train", "--out", str(out), "--epochs", "1", "--force", *QUICK]) == 0
    assert run_config(out).train.epochs == 1
    assert hidden_leftovers(out) == [], "the next run removes what killed runs left behind"
    print("a killed run had already replaced the old one:", seen_new)


@pytest.mark.slow
def test_killing_a_parallel_sweep_kills_its_workers_and_frees_the_folder(tmp_path):
    out = tmp_path / "s"
    p = qsnn_process(
        "sweep", "--out", out, "--weight-bits", "2,4", "--jobs", "2", "--no-estimate", "--epochs", "3000", *QUICK[:6]
    )
    parent = psutil.Process(p.pid)
    deadline = time.monotonic() + 120
    workers = []
    while time.monotonic() < deadline and len(workers) < 2:
        workers = [c for c in parent.children(recursive=True) if "python" in c.name().lower()]
        time.sleep(0.5)
    assert len(workers) >= 2, "the sweep did not start two workers"
    time.sleep(3)  # the workers are training now
    # a second sweep into the same folder is refused while this one runs
    assert main(["sweep", "--out", str(out), "--weight-bits", "2", "--no-estimate", *QUICK[:6]]) == 2
    p.send_signal(signal.SIGKILL)
    p.wait()
    gone, alive = psutil.wait_procs(workers, timeout=20)
    assert not alive, f"workers outlived the killed sweep: {[w.pid for w in alive]}"
    # the lock died with its holder; re-running completes the sweep
    assert (
        main(
            [
                "sweep",
                "--out",
                str(out),
                "--weight-bits",
                "2,4",
                "--jobs",
                "1",
                "--no-estimate",
                "--epochs",
                "1",
                *QUICK[:6],
            ]
        )
        == 0
    )
    assert len(json.loads((out / "sweep.json").read_text())["points"]) == 2


def test_second_sweep_into_a_locked_folder_is_refused(tmp_path, capsys):
    import fcntl

    out = tmp_path / "s"
    out.mkdir()
    with open(out / ".sweep.lock", "a+") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        f.write("4242")
        f.flush()
        assert main(["sweep", "--out", str(out), "--weight-bits", "4", "--no-estimate", *QUICK[:6]]) == 2
    assert "another sweep (pid 4242) is running" in capsys.readouterr().err


def test_a_dead_writers_temporaries_are_removed_by_the_next_write(tmp_path):
    from toolchain.fsutil import write_text

    pid = dead_pid()
    stale = tmp_path / f".report.md.{pid}.abc123.tmp"
    stale.write_text("")
    live = tmp_path / f".report.md.{os.getppid()}.def456.tmp"  # a live process's work in progress
    live.write_text("")
    write_text(tmp_path / "report.md", "hello")
    assert not stale.exists() and live.exists()
    assert (tmp_path / "report.md").read_text() == "hello"
