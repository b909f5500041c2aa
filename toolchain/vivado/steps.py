"""Steps that need AMD's tools: HLS synthesis + stitched IP (Vitis HLS, Vivado), and the bitstream.

Before any tool runs, everything FINN will need is resolved and checked, so a missing piece stops the
build with its name and fix instead of deep inside a Vivado log: the install (``toolchain.vivado.tools``),
FINN's dependencies and the environment FINN's command line would set (``toolchain.vivado.environment``).
Without them these steps raise ToolNotFound, and the runner reports what was done and the command that
finishes the build. What Vivado writes stays in the build folder: ``BUILD_DIR/bitstream/``.
"""

from __future__ import annotations

import datetime
import hashlib
import shutil
from contextlib import contextmanager
from pathlib import Path

from toolchain.errors import QsnnError, ToolFailed, ToolNotFound
from toolchain.fsutil import write_json
from toolchain.vivado.environment import (
    check_deps,
    deps_dir,
    finn_environment,
    finn_variables,
    write_env_script,
)
from toolchain.vivado.tools import find_tools

BITSTREAM_DIR = "bitstream"


@contextmanager
def tool_errors(what: str):
    """FINN's errors from a tool run (a failed script, a missing output) as a clean stop of the build."""
    from finn.util.exception import FINNError

    try:
        yield
    except FINNError as e:
        raise ToolFailed(f"{what}: {e}") from None


def vendor_context(model, cfg, board_files: bool):
    """Tools, dependencies and FINN's environment for a vendor step (checked before anything runs)."""
    deps = deps_dir(cfg)
    need_hlslib = any(n.op_type != "LIFLayer_hls" and n.op_type.endswith("_hls") for n in model.graph.node)
    problems, tools = [], None
    try:
        tools = find_tools(cfg.vivado)
    except ToolNotFound as e:
        problems.append(str(e))
    try:  # IODMA_hls (added by ZynqBuild) includes finn-hlslib too
        check_deps(deps, cfg.board if board_files else None, need_hlslib=need_hlslib or board_files)
    except ToolNotFound as e:
        problems.append(str(e))
    if problems:
        raise ToolNotFound(" AND ".join(problems))
    variables = finn_variables(cfg.out, deps, tools)
    write_env_script(cfg.out / "finn_env.sh", variables, tools)
    return finn_environment(variables, tools)


def synthesize_ip(model, cfg, state):
    """HLS synthesis of every HW node (Vitis HLS), then FINN's stitched IP (Vivado) when the IP is what was asked
    for (``--until ip``). On the way to a bitstream ZynqBuild stitches each of its partitions itself, reusing the
    nodes' IP made here (FINN's HLSSynthIP skips a node whose IP exists), so a stitch here would be a Vivado run
    whose result nothing reads."""
    import os

    from finn.transformation.fpgadataflow.create_stitched_ip import CreateStitchedIP
    from finn.transformation.fpgadataflow.hlssynth_ip import HLSSynthIP
    from finn.transformation.fpgadataflow.prepare_ip import PrepareIP
    from qonnx.custom_op.registry import getCustomOp

    clk_ns = 1000.0 / cfg.clock_mhz
    with vendor_context(model, cfg, board_files=False), tool_errors("HLS synthesis or IP stitching failed"):
        model = model.transform(PrepareIP(cfg.board_info.part, clk_ns))
        model = model.transform(HLSSynthIP())
        if cfg.until == "ip":
            model = model.transform(CreateStitchedIP(cfg.board_info.part, clk_ns))
    if cfg.until == "ip":
        state.ip_dir = model.get_metadata_prop("vivado_stitch_proj")
    else:  # the folder holding every node's IP
        state.ip_dir = os.path.commonpath([getCustomOp(n).get_nodeattr("code_gen_dir_ipgen") for n in model.graph.node])
    return model


def build_bitstream(model, cfg, state):
    """FINN's ZynqBuild (IODMA/DWC/FIFO insertion, Zynq project, bitstream) for the board."""
    from finn.transformation.fpgadataflow.make_zynq_proj import ZynqBuild

    with vendor_context(model, cfg, board_files=True), tool_errors("Vivado wrote no bitstream"):
        model = model.transform(ZynqBuild(platform=cfg.board, period_ns=1000.0 / cfg.clock_mhz))
    for key, path in collect_bitstream(model, cfg, state).items():
        setattr(state, key, path)
    return model


def collect_bitstream(model, cfg, state) -> dict:
    """Copy what Vivado wrote into BUILD_DIR/bitstream/ with reports/ and manifest.json."""
    from toolchain.runs import tool_versions

    bit, hwh = Path(model.get_metadata_prop("bitfile")), Path(model.get_metadata_prop("hw_handoff"))
    if not bit.is_file() or not hwh.is_file():
        raise QsnnError(f"Vivado finished without a bitstream and .hwh ({bit}, {hwh}); see its log in {bit.parent}")
    dest = cfg.out / BITSTREAM_DIR
    shutil.rmtree(dest, ignore_errors=True)
    (dest / "reports").mkdir(parents=True)
    shutil.copy2(bit, dest / f"{cfg.name}.bit")
    shutil.copy2(hwh, dest / f"{cfg.name}.hwh")
    proj = bit.parent  # FINN's vivado_zynq_proj_*: synth_report.xml, and Vivado's impl_1 reports
    reports = [proj / "synth_report.xml", *sorted((proj / "finn_zynq_link.runs" / "impl_1").glob("*.rpt"))]
    for rpt in reports:
        if rpt.is_file():
            shutil.copy2(rpt, dest / "reports" / rpt.name)
    from toolchain.runs import run_record

    run_cfg = run_record(cfg.run_dir)[1]
    write_json(
        dest / "manifest.json",
        {
            "model_sha256": hashlib.sha256((Path(cfg.run_dir) / "golden.npz").read_bytes()).hexdigest(),
            "config": run_cfg["config"],
            "board": cfg.board,
            "part": cfg.board_info.part,
            "clock_mhz": cfg.clock_mhz,
            "estimate": state.estimate,
            "tool_versions": tool_versions(),
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        },
    )
    return {
        "bitfile_path": str(dest / f"{cfg.name}.bit"),
        "hwh_path": str(dest / f"{cfg.name}.hwh"),
        "reports_dir": str(dest / "reports"),
    }
