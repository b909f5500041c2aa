"""Find the Vivado / Vitis HLS install a build uses, and the HLS command FINN calls for it.

FINN 1.6.1 reads the tool version from the ``XILINX_VIVADO`` path (``.../Vivado/2023.2``) and calls
``vitis_hls`` up to 2024.2 and ``vitis-run --mode hls`` after it (``finn.util.hls.CallHLS``), so the
install folder is the one thing a user names; the rest follows from AMD's layout:
``<root>/Vivado/<ver>`` and ``<root>/Vitis_HLS/<ver>`` (up to 2024.1) or ``<root>/Vitis/<ver>`` (2024.2,
where ``XILINX_HLS`` points at Vitis), ``<root>/<ver>/Vivado`` and ``<root>/<ver>/Vitis`` (2025.1 on).
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from toolchain.errors import ToolNotFound

VERSION = re.compile(r"\b(20\d{2})\.(1|2)\b")  # the pattern finn.util.basic.get_vivado_version uses


@dataclass(frozen=True)
class VendorTools:
    vivado: Path  # XILINX_VIVADO: the Vivado install folder (holds bin/vivado)
    hls: Path  # XILINX_HLS: the folder holding bin/vitis_hls or bin/vitis-run
    version: tuple[int, int]

    @property
    def hls_command(self) -> str:
        """The HLS program FINN calls for this version (finn.util.hls.CallHLS)."""
        return "vitis-run" if self.version > (2024, 2) else "vitis_hls"

    @property
    def bin_dirs(self) -> list[Path]:
        return list(dict.fromkeys([self.vivado / "bin", self.hls / "bin"]))


def _install_root(option: str | None) -> Path:
    if option:
        p = Path(option).expanduser().resolve()
        if p.name == "bin" and (p / "vivado").is_file():
            p = p.parent
        if not (p / "bin" / "vivado").is_file():
            raise ToolNotFound(
                f"--vivado {option}: no bin/vivado there; give the Vivado install folder, e.g. "
                "/tools/Xilinx/Vivado/2023.2 (the folder that settings64.sh sets XILINX_VIVADO to)"
            )
        return p
    env = os.environ.get("XILINX_VIVADO")
    if env and (Path(env) / "bin" / "vivado").is_file():
        return Path(env).resolve()
    found = shutil.which("vivado")
    if found:
        return Path(found).resolve().parent.parent
    raise ToolNotFound(
        "vivado not found: give --vivado /tools/Xilinx/Vivado/<version>, or source AMD's settings64.sh "
        "(sets XILINX_VIVADO and PATH) (AMD Vivado and Vitis HLS are needed for this step)"
    )


def find_tools(option: str | None = None) -> VendorTools:
    """The install named by ``option`` (``--vivado DIR``), else ``XILINX_VIVADO``, else PATH."""
    vivado = _install_root(option)
    m = VERSION.search(str(vivado))
    if not m:
        raise ToolNotFound(
            f"{vivado}: FINN reads the Vivado version from the install path (e.g. .../Vivado/2023.2) "
            "and found none; use the install folder as AMD's installer laid it out"
        )
    version = (int(m.group(1)), int(m.group(2)))
    ver = f"{version[0]}.{version[1]}"
    env_hls = os.environ.get("XILINX_HLS")
    candidates = ([Path(env_hls)] if env_hls else []) + [
        vivado.parent.parent / ("Vitis" if version >= (2024, 2) else "Vitis_HLS") / ver,  # <root>/Vivado/<ver>
        vivado.parent.parent / "Vitis_HLS" / ver,
        vivado.parent.parent / "Vitis" / ver,
        vivado.parent / "Vitis",  # 2025.1 and later: <root>/<ver>/Vivado beside <root>/<ver>/Vitis
    ]
    tools = None
    for hls in candidates:
        t = VendorTools(vivado=vivado, hls=hls.resolve(), version=version)
        if (t.hls / "bin" / t.hls_command).is_file():
            tools = t
            break
    if tools is None:
        cmd = "vitis-run" if version > (2024, 2) else "vitis_hls"
        raise ToolNotFound(
            f"{cmd} for Vivado {ver} not found in {', '.join(str(c / 'bin') for c in candidates)} "
            f"(FINN calls {cmd} for this version); install Vitis HLS {ver} beside Vivado or set XILINX_HLS"
        )
    return tools
