"""Vitis HLS csim / csynth / cosim of every HLS node of a build (``qsnn cosim BUILD_DIR``, ``make cosim``).

``qsnn build --until hls`` writes, per HLS node, a Vitis HLS project (toolchain.hls.project: FINN's top function,
a testbench and its vectors, run_hls.tcl). This runs each with the install ``--vivado`` names (else
XILINX_VIVADO, else PATH), in the node's folder, as FINN calls the tool for its version (vitis_hls -f, or
vitis-run --mode hls --tcl after 2024.2), and writes ``BUILD_DIR/cosim.json``: per node, whether the tool
succeeded, the testbench's mismatch line and the log. Without the tool it stops before running anything.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from tqdm.auto import tqdm

from toolchain.errors import QsnnError, ToolNotFound
from toolchain.fsutil import write_json, write_text

STAGES = ("csim", "csynth", "cosim")
# what the project's testbenches print (hls_templates/tb_lif.cpp.j2, tb_stream.cpp.j2)
TB_LINE = re.compile(r"^(\S+): (\d+) mismatches over .*$", re.M)


def projects(build_dir: Path) -> list[Path]:
    """The node folders of a build that hold a Vitis HLS project (run_hls.tcl)."""
    hls = Path(build_dir) / "hls"
    found = sorted(p.parent for p in hls.glob("*/run_hls.tcl"))
    if not found:
        raise QsnnError(
            f"{build_dir}: no HLS projects (hls/*/run_hls.tcl); run 'qsnn build RUN --out {build_dir} --until hls' "
            "first (HLS backend)"
        )
    return found


def tool_command(tools) -> list[str]:
    """The HLS program and its arguments, as FINN calls it for this version (finn.util.hls.CallHLS)."""
    exe = str(tools.hls / "bin" / tools.hls_command)
    if tools.hls_command == "vitis-run":
        return [exe, "--mode", "hls", "--tcl", "run_hls.tcl"]
    return [exe, "-f", "run_hls.tcl"]


def run_node(folder: Path, tools, stages: list[str]) -> dict:
    """One node's project through the tool: {ok, mismatches, runs, log}. The testbench prints one line per run
    (csim, and again under cosim); a stage that runs it must leave that line with 0 mismatches."""
    env = dict(os.environ, XILINX_VIVADO=str(tools.vivado), XILINX_HLS=str(tools.hls), QSNN_HLS_STAGES=" ".join(stages))
    env["PATH"] = os.pathsep.join([*map(str, tools.bin_dirs), env.get("PATH", "")])
    r = subprocess.run(tool_command(tools), cwd=folder, env=env, capture_output=True, text=True)
    log = folder / "cosim.log"
    write_text(log, r.stdout + r.stderr)
    counts = [int(m.group(2)) for m in TB_LINE.finditer(r.stdout) if m.group(1) == folder.name]
    expected_runs = sum(s in stages for s in ("csim", "cosim"))
    ok = r.returncode == 0 and len(counts) >= expected_runs and not any(counts)
    return {
        "ok": ok,
        "exit_code": r.returncode,
        "mismatches": sum(counts),
        "testbench_runs": len(counts),
        "log": str(log),
    }


def find_hls(vivado: str | None = None):
    """The vendor tools for co-simulation; ToolNotFound naming what is missing."""
    from toolchain.vivado.tools import find_tools

    try:
        return find_tools(vivado)
    except ToolNotFound as e:
        raise ToolNotFound(f"cosim needs AMD Vitis HLS: {e}") from None


def run_cosim(build_dir, vivado: str | None = None, stages=STAGES) -> dict:
    """Every HLS project of ``build_dir`` through Vitis HLS; writes and returns BUILD_DIR/cosim.json's content."""
    stages = list(stages)
    bad = [s for s in stages if s not in STAGES]
    if bad or not stages:
        raise QsnnError(f"--stages {','.join(stages)}: choose from {', '.join(STAGES)} (comma-separated)")
    folders = projects(build_dir)
    tools = find_hls(vivado)
    nodes = {}
    for folder in tqdm(folders, desc="Vitis HLS " + "+".join(stages), unit="node"):
        nodes[folder.name] = run_node(folder, tools, stages)
    report = {
        "tool": f"{tools.hls_command} {tools.version[0]}.{tools.version[1]} ({tools.hls})",
        "stages": stages,
        "nodes": nodes,
        "passed": all(n["ok"] for n in nodes.values()),
    }
    write_json(Path(build_dir) / "cosim.json", report)
    return report
