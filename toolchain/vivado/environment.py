"""The environment FINN's own command line sets, set by the flow itself.

``finn/interface/run_finn.py`` (``prepare_finn`` and ``FINNSettings.update_environment``) exports
``FINN_BUILD_DIR``, ``FINN_DEPS``, ``FINN_DEPS_DEFINITIONS``, ``NUM_DEFAULT_WORKERS``, ``FINN_RTLLIB``,
``FINN_CUSTOM_HLS``, ``XILINX_LOCAL_USER_DATA=no`` and puts the tools' bin folders on PATH; the HLS tcl
FINN generates reads ``$::env(FINN_CUSTOM_HLS)`` and the Zynq project ``$::env(FINN_RTLLIB)``. Library
users of FINN must set them; this module does, from the build's options, for the vendor steps only
(``finn_environment`` restores the caller's environment afterwards) and writes the same settings to
``BUILD_DIR/finn_env.sh`` so a user can source them and run FINN's scripts by hand.

FINN's external dependencies (finn-hlslib, board files) are fetched by FINN's own command,
``finn deps update``, at the commits FINN pins in ``finn/interface/external_dependencies.yaml``;
``--finn-deps DIR`` points a build at a copy made elsewhere (offline machines).
"""

from __future__ import annotations

import os
import shlex
import subprocess
from contextlib import contextmanager
from functools import cache
from pathlib import Path

from toolchain.errors import ToolNotFound
from toolchain.fsutil import write_text
from toolchain.vivado.tools import VendorTools

# what each board's Zynq project reads from FINN_DEPS/board_files (FINN's custom_zynq_shell_template);
# the Xilinx boards' files ship with Vivado
BOARD_FILES = {
    "Pynq-Z1": "pynq-z1",
    "Pynq-Z2": "pynq-z2",
    "RFSoC4x2": "rfsoc4x2",
    "KV260_SOM": "kv260_som",
    "AUP-ZU3_8GB": "aup-zu3-8gb",
    "Ultra96": "ultra96v1",
    "Ultra96-V2": "ultra96v2",
    "RFSoC2x2": "rfsoc2x2",
}


def _finn_package() -> Path:
    import finn

    return Path(finn.__file__).resolve().parent


@cache
def pinned_dependencies() -> dict:
    """FINN's dependency definitions (name -> {url, commit, ...}), read from FINN's own yaml."""
    import yaml

    with open(_finn_package() / "interface" / "external_dependencies.yaml") as f:
        return yaml.safe_load(f)


def default_deps_dir() -> Path:
    """Where ``finn deps update`` puts FINN's dependencies by default (FINN's settings resolve it)."""
    from finn.interface.settings import FINNSettings

    return FINNSettings.init(flow_config=Path("unused.yaml"), auto_set_environment_vars=False).finn_deps


def deps_dir(cfg) -> Path:
    """The build's FINN dependency folder: --finn-deps, else FINN's own default."""
    return Path(cfg.finn_deps) if cfg.finn_deps else default_deps_dir()


def fetch_command(deps: Path) -> str:
    return f"finn deps update --batch --dependency-path {shlex.quote(str(deps))}"


def git_head(folder: Path) -> str | None:
    if not (folder / ".git").exists():
        return None
    try:
        out = subprocess.run(
            ["git", "-C", str(folder), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=30
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def check_deps(deps: Path, board: str | None = None, need_hlslib: bool = True) -> dict:
    """Check FINN's dependencies in ``deps``; returns {name: commit or None}; raises naming the fix."""
    deps = Path(deps)
    found = {}
    missing = []
    # every HLS tcl FINN writes puts both libraries on the include path; the MVAU includes bnn-library.h
    libs = {"finn-hlslib": "bnn-library.h", "attention-hlslib": None} if need_hlslib else {}
    for name, header in libs.items():
        pin = pinned_dependencies()["git_deps"][name]["commit"]
        lib = deps / name
        if not lib.is_dir() or (header and not (lib / header).is_file()):
            missing.append(f"{name} ({header or 'folder'}, at FINN's pinned commit {pin[:12]})")
            continue
        head = git_head(lib)
        if head is not None and head != pin:
            raise ToolNotFound(
                f"{lib} is at commit {head[:12]}, FINN 1.6.1 pins {pin[:12]}; update it with: {fetch_command(deps)}"
            )
        found[name] = head
    if board in BOARD_FILES:
        bf = deps / "board_files"
        if not (bf / BOARD_FILES[board]).is_dir():
            missing.append(f"board files for {board} (board_files/{BOARD_FILES[board]})")
        else:
            found[f"board_files/{BOARD_FILES[board]}"] = None
    if missing:
        raise ToolNotFound(
            f"FINN's dependencies are missing in {deps}: {'; '.join(missing)}. Fetch them with FINN's own "
            f"command (needs git and the internet): {fetch_command(deps)} -- or copy a fetched folder here and "
            "pass it with --finn-deps DIR"
        )
    return found


def finn_variables(build_dir: Path, deps: Path, tools: VendorTools | None) -> dict[str, str]:
    """The variables FINN's CLI would export for this build (absolute paths)."""
    fp = _finn_package()
    env = {
        "FINN_BUILD_DIR": str((Path(build_dir) / "finn_tmp").resolve()),
        "FINN_DEPS": str(Path(deps).resolve()),
        "FINN_DEPS_DEFINITIONS": str(fp / "interface" / "external_dependencies.yaml"),
        "FINN_RTLLIB": str(fp / "finn-rtllib"),
        "FINN_CUSTOM_HLS": str(fp / "custom_hls"),
        "NUM_DEFAULT_WORKERS": str(max(1, int((os.cpu_count() or 1) * 0.75))),  # FINN's default
        "XILINX_LOCAL_USER_DATA": os.environ.get("XILINX_LOCAL_USER_DATA", "no"),
    }
    if tools is not None:
        env["XILINX_VIVADO"] = str(tools.vivado)
        env["XILINX_HLS"] = str(tools.hls)
        if tools.hls.parent.name == "Vitis":
            env["XILINX_VITIS"] = str(tools.hls)
    return env


def write_env_script(path: Path, variables: dict[str, str], tools: VendorTools | None) -> Path:
    lines = [
        "# Generated by qsnn build: the environment FINN's command line sets, for running FINN's scripts by hand.",
        "# Usage: source finn_env.sh",
    ]
    lines += [f"export {k}={shlex.quote(v)}" for k, v in sorted(variables.items())]
    if tools is not None:
        bins = ":".join(shlex.quote(str(b)) for b in tools.bin_dirs)
        lines.append(f'export PATH={bins}:"$PATH"')
    write_text(path, "\n".join(lines) + "\n")
    return path


@contextmanager
def finn_environment(variables: dict[str, str], tools: VendorTools | None):
    """Set ``variables`` (and the tools' bin folders first on PATH) and FINN's settings; restore after."""
    from finn.util import settings

    saved = dict(os.environ)
    os.environ.update(variables)
    if tools is not None:
        os.environ["PATH"] = os.pathsep.join([*map(str, tools.bin_dirs), saved.get("PATH", "")])
    Path(variables["FINN_BUILD_DIR"]).mkdir(parents=True, exist_ok=True)
    try:
        settings.initialize_dummy_settings()  # FINN's own initialiser: reads the variables just set
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def finn_settings(cfg):
    """FINN's settings for generating code outside the vendor steps (its RTL layers read finn-rtllib from them)."""
    return finn_environment(finn_variables(cfg.out, deps_dir(cfg), None), None)
