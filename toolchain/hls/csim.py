"""HLS code generation (Jinja2, strict) and g++ C-simulation against Xilinx's open ap_int headers.

The headers (ap_int.h, ap_fixed.h, hls_stream.h) ship inside the hls4ml wheel, which `make install`
installs. Compiled simulators are cached by a hash of their sources, so a build compiles each
distinct layer configuration once. The cache is the user's own folder (``$XDG_CACHE_HOME/qsnn-pynq/csim``
or ``~/.cache/...``, mode 0700, owner checked), and a cached binary runs only if its hash matches the one
recorded when it was compiled.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from toolchain import assets
from toolchain.custom_op.layer_spec import LayerSpec, neuron_header
from toolchain.errors import QsnnError, ToolNotFound
from toolchain.fsutil import write_text

CXXFLAGS = ["-std=c++14", "-O1", "-w"]


def cache_dir() -> Path:
    """The per-user C-sim cache: created 0700; refused if another user owns it or others may write it."""
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    d = base / "qsnn-pynq" / "csim"
    d.mkdir(parents=True, exist_ok=True, mode=0o700)
    st = d.stat()
    if st.st_uid != os.getuid() or st.st_mode & 0o077:
        raise QsnnError(
            f"C-simulation cache {d} is owned by uid {st.st_uid} or open to other users "
            f"(mode {oct(st.st_mode & 0o777)}); remove it (or chmod 700 it if it is yours): binaries there are executed"
        )
    return d


def _digest_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def verified_binary(binary: Path) -> Path:
    """``binary`` if it is ours and unchanged since it was compiled (its recorded hash), else QsnnError."""
    sidecar = binary.with_name(binary.name + ".sha256")
    ok = binary.is_file() and sidecar.is_file() and binary.stat().st_uid == os.getuid()
    if not ok or sidecar.read_text().strip() != _digest_file(binary):
        raise QsnnError(
            f"C-simulation binary {binary} is not the one this user compiled (missing or modified); "
            f"delete it and rebuild ({binary.parent} is the cache)"
        )
    return binary


def template_dir() -> Path:
    return assets.folder("hls_templates")


def ap_headers() -> Path:
    """The folder holding ap_int.h and hls_stream.h (from the installed hls4ml wheel)."""
    try:
        import importlib.util

        spec = importlib.util.find_spec("hls4ml")
    except (ImportError, ValueError):
        spec = None
    if spec is not None and spec.submodule_search_locations:
        d = Path(list(spec.submodule_search_locations)[0]) / "templates" / "vivado" / "ap_types"
        if (d / "ap_int.h").is_file() and (d / "hls_stream.h").is_file():
            return d
    raise ToolNotFound(
        "Xilinx's open ap_int/hls_stream headers not found (they ship in the hls4ml wheel); "
        "run 'make install' or 'pip install --no-deps hls4ml==1.3.0'"
    )


def gxx(path: str | None = None) -> str:
    exe = path or shutil.which("g++")
    if not exe or not Path(exe).exists():
        raise ToolNotFound("g++ not found; install it ('apt-get install g++') or pass its path")
    return exe


def kernel_sources(specs: list[LayerSpec]) -> dict[str, str]:
    """The kernel (neuron_layer.hpp) and the update headers of the layers' neuron models: {file name: text}."""
    sources = {"neuron_layer.hpp": (template_dir() / "neuron_layer.hpp").read_text()}
    for spec in specs:
        model = spec.params.model
        if not model.hls_header:
            raise QsnnError(f"LIF layer {spec.name}: neuron model {model.name} has no HLS update; use another model")
        sources[neuron_header(model)] = (template_dir() / "neurons" / model.hls_header).read_text()
    return sources


def write_sources(specs: list[LayerSpec], folder: Path) -> dict[str, str]:
    """Render each layer's config header, the kernel, its models' updates and the C-sim driver into ``folder``."""
    folder = Path(folder)
    sources = {
        f"{s.name}_config.hpp": assets.render("hls_templates", "lif_config.hpp.j2", **s.validate().context())
        for s in specs
    }
    sources.update(kernel_sources(specs))
    sources["lif_csim.cpp"] = assets.render(
        "hls_templates",
        "lif_csim.cpp.j2",
        names=[s.name for s in specs],
        ap_int_max_w=max(s.ap_int_max_w for s in specs),
    )
    for name, text in sources.items():
        write_text(folder / name, text)
    return sources


def compile_csim(specs: list[LayerSpec], folder: Path, compiler: str | None = None, cache: Path | None = None) -> Path:
    """Write and compile the C-simulator for these layers; returns the binary (cached by source hash)."""
    write_sources(specs, folder)
    return compile_folder(folder, compiler, cache)


def compile_folder(folder: Path, compiler: str | None = None, cache: Path | None = None) -> Path:
    """Compile the C-simulator whose sources write_sources put in ``folder`` (cached by their hash)."""
    folder = Path(folder)
    names = sorted(p.name for p in folder.glob("*.hpp")) + ["lif_csim.cpp"]
    if not (folder / "lif_csim.cpp").is_file():
        raise QsnnError(f"no C-simulation sources in {folder}; generate them first (code_generation_cppsim)")
    digest = hashlib.sha256(b"".join(n.encode() + (folder / n).read_bytes() for n in names))
    digest.update(" ".join(CXXFLAGS).encode())
    if cache is not None:
        Path(cache).mkdir(parents=True, exist_ok=True, mode=0o700)
    binary = Path(cache or cache_dir()) / f"lif_csim_{digest.hexdigest()[:20]}"
    if binary.is_file():
        return verified_binary(binary)
    log = folder / "csim_compile.log"
    tmp = binary.with_suffix(f".{os.getpid()}.tmp")  # parallel builds may compile the same kernel
    cmd = [
        gxx(compiler),
        *CXXFLAGS,
        "-I",
        str(folder),
        "-I",
        str(ap_headers()),
        str(folder / "lif_csim.cpp"),
        "-o",
        str(tmp),
    ]
    r = subprocess.run(cmd, capture_output=True, text=True)
    write_text(log, " ".join(cmd) + "\n\n" + r.stdout + r.stderr)
    if r.returncode != 0:
        tmp.unlink(missing_ok=True)
        raise QsnnError(f"g++ failed to compile the LIF C-simulation; see {log}")
    sidecar = binary.with_name(binary.name + ".sha256")
    write_text(sidecar, _digest_file(tmp) + "\n")
    tmp.replace(binary)
    return verified_binary(binary)


def run_csim(binary: Path, layer: int, current: np.ndarray) -> np.ndarray:
    """Stream (N, T, C) integer accumulators through layer ``layer`` of the simulator -> its outputs (N, T, C):
    spikes, or a readout model's membrane."""
    current = np.ascontiguousarray(current, dtype="<i8")
    verified_binary(Path(binary))
    with tempfile.TemporaryDirectory() as d:
        fin, fout = Path(d) / "in.bin", Path(d) / "out.bin"
        fin.write_bytes(current.tobytes())
        r = subprocess.run(
            [str(binary), str(layer), str(current.shape[0]), str(fin), str(fout)], capture_output=True, text=True
        )
        if r.returncode != 0:
            raise QsnnError(
                f"LIF C-simulation {binary.name} layer {layer} failed with code {r.returncode}: "
                f"{r.stderr.strip() or 'stream size mismatch'}"
            )
        return np.frombuffer(fout.read_bytes(), dtype="<i8").reshape(current.shape).astype(np.int64)
