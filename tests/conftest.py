"""Markers by cost: `slow` runs everywhere (CI too); `vivado` and `board` skip with the reason."""

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("TQDM_DISABLE", "1")


def vendor_tool():
    for name in ("vitis_hls", "vivado_hls", "vivado"):
        if shutil.which(name):
            return name
    return None


def on_pynq_board():
    try:
        import pynq  # noqa: F401
    except ImportError:
        return False
    return Path("/sys/class/fpga_manager").exists() or Path("/dev/xdevcfg").exists()


def pytest_collection_modifyitems(config, items):
    tool = vendor_tool()
    board = on_pynq_board()
    for item in items:
        if "vivado" in item.keywords and not tool:
            item.add_marker(
                pytest.mark.skip(reason="needs Vivado / Vitis HLS: vitis_hls, vivado_hls or vivado not on PATH")
            )
        if "board" in item.keywords and not board:
            item.add_marker(
                pytest.mark.skip(reason="needs a PYNQ board: the pynq package and an FPGA manager not found")
            )
