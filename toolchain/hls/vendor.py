"""Steps that need AMD/Xilinx tools: HLS synthesis + stitched IP (Vitis HLS, Vivado), and the bitstream.

Tools are resolved once: the build's ``--vivado DIR`` option, then PATH. Without them these steps
raise ToolNotFound, and the runner reports what was done and the command that finishes the build.
"""

from __future__ import annotations

import datetime
import hashlib
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
    state["bitfile_path"], state["hwh_path"] = collect_bitstream(model, cfg, state)
    return model


def collect_bitstream(model, cfg, state):
    """Copy what Vivado wrote into bitstreams/<board>/<name>/ with reports/ and manifest.json."""
    import json

    from toolchain.deploy import tool_versions
    from toolchain.fsutil import write_json

    bit, hwh = Path(model.get_metadata_prop("bitfile")), Path(model.get_metadata_prop("hw_handoff"))
    dest = Path(__file__).resolve().parents[2] / "bitstreams" / cfg.board / cfg.name
    (dest / "reports").mkdir(parents=True, exist_ok=True)
    shutil.copy2(bit, dest / f"{cfg.name}.bit")
    shutil.copy2(hwh, dest / f"{cfg.name}.hwh")
    for key in ("res_total_top_summary", "vivado_synth_rpt", "timing_rpt", "power_rpt"):
        rpt = model.get_metadata_prop(key)
        if rpt and Path(rpt).is_file():
            shutil.copy2(rpt, dest / "reports" / Path(rpt).name)
    for rpt in bit.parent.rglob("*.rpt"):
        shutil.copy2(rpt, dest / "reports" / rpt.name)
    run_cfg = json.loads((Path(cfg.run_dir) / "config.json").read_text())
    write_json(
        dest / "manifest.json",
        {
            "model_sha256": hashlib.sha256((Path(cfg.run_dir) / "golden.npz").read_bytes()).hexdigest(),
            "config": run_cfg["config"],
            "weight_bits": run_cfg["config"]["quant"]["weight_bits"],
            "membrane_bits": run_cfg["config"]["quant"]["membrane_bits"],
            "board": cfg.board,
            "part": cfg.board_info.part,
            "clock_mhz": cfg.clock_mhz,
            "estimate": state.get("estimate"),
            "tool_versions": tool_versions(),
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        },
    )
    return str(dest / f"{cfg.name}.bit"), str(dest / f"{cfg.name}.hwh")
