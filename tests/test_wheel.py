"""The wheel works without the source tree: built with `pip wheel`, installed into a fresh virtual environment,
it builds a trained run to C-simulation and to RTL simulation from an unrelated folder, 0 mismatches."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run(argv, cwd, what):
    r = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=1500)
    assert r.returncode == 0, f"{what} failed ({r.returncode}):\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    return r.stdout


@pytest.mark.slow
def test_wheel_builds_csim_and_rtlsim_from_outside_the_source_tree(demo_run, tmp_path):
    """The fresh environment takes the pinned dependencies that `make install` put into this one (a .pth line to
    its site-packages: there .pth files are not run, so the editable install of the source tree is not seen),
    then the wheel with --no-deps. The build runs in a folder outside the repository, and the test asserts the
    `toolchain` it imports is the wheel's."""
    src = tmp_path / "src"  # a copy: `pip wheel` writes build/ beside the sources
    shutil.copytree(
        ROOT, src, ignore=shutil.ignore_patterns(".git", ".venv", "build", "runs", "__pycache__", "*.egg-info")
    )
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            ".",
            "-w",
            str(tmp_path / "dist"),
        ],
        src,
        "pip wheel",
    )
    wheel = next((tmp_path / "dist").glob("qsnn_pynq-*.whl"))
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", str(venv)], tmp_path, "python -m venv")
    py = venv / "bin" / "python"
    site = Path(_run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], tmp_path, "site"))
    (Path(str(site).strip()) / "pinned_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    _run([str(py), "-m", "pip", "install", "--no-deps", "--no-index", "-q", str(wheel)], tmp_path, "pip install")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    where = _run([str(py), "-c", "import toolchain; print(toolchain.__file__)"], elsewhere, "import").strip()
    assert where.startswith(str(venv)), f"toolchain came from {where}, not the wheel"
    qsnn = str(venv / "bin" / "qsnn")
    for argv in (["--until", "csim"], ["--backend", "rtl", "--until", "rtlsim"]):
        out = elsewhere / argv[-1]
        _run(
            [qsnn, "build", str(demo_run), "--out", str(out), "--target-cycles", "64", "--verify-samples", "60", *argv],
            elsewhere,
            "qsnn build " + " ".join(argv),
        )
        levels = json.loads((out / "report.json").read_text())["verification"]
        want = {"csim": "hls_csim", "rtlsim": "rtl_sim"}[argv[-1]]
        assert want in levels, levels
        assert all(v["mismatches"] == 0 and v["samples"] == 60 for v in levels.values()), levels
