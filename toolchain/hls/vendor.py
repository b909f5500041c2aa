"""Steps that need AMD/Xilinx tools: HLS synthesis + stitched IP (Vitis HLS, Vivado), and the bitstream.

Tools are resolved once: the build's ``--vivado DIR`` option, then PATH. Without them these steps
raise ToolNotFound, and the runner reports what was done and the command that finishes the build.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from toolchain.errors import ToolNotFound


def find_tool(names, folder=None) -> str:
    for name in names:
        if folder and (Path(folder) / name).is_file():
            return str(Path(folder) / name)
        found = shutil.which(name)
        if found:
            return found
    where = f"in {folder} or on PATH" if folder else "on PATH"
    raise ToolNotFound(f"{' / '.join(names)} not found {where} (AMD Vivado / Vitis HLS are needed for this step)")


def synthesize_ip(model, cfg, state):
    """HLS synthesis of every HW node, then FINN's stitched IP (Vitis HLS + Vivado)."""
    find_tool(["vitis_hls", "vivado_hls"], cfg.vivado)
    find_tool(["vivado"], cfg.vivado)
    from finn.transformation.fpgadataflow.create_stitched_ip import CreateStitchedIP
    from finn.transformation.fpgadataflow.hlssynth_ip import HLSSynthIP

    from toolchain.hls.project import finn_settings

    finn_settings()
    clk_ns = 1000.0 / cfg.clock_mhz
    model = model.transform(HLSSynthIP())
    model = model.transform(CreateStitchedIP(cfg.board_info.part, clk_ns))
    state["ip_dir"] = model.get_metadata_prop("vivado_stitch_proj")
    return model


def build_bitstream(model, cfg, state):
    """FINN's ZynqBuild (FIFO/DWC/IODMA insertion, Zynq project, bitstream) for the board."""
    find_tool(["vivado"], cfg.vivado)
    from finn.transformation.fpgadataflow.make_zynq_proj import ZynqBuild

    model = model.transform(ZynqBuild(platform=cfg.board, period_ns=1000.0 / cfg.clock_mhz))
    state["bitfile_path"] = model.get_metadata_prop("bitfile")
    state["hwh_path"] = model.get_metadata_prop("hw_handoff")
    return model
