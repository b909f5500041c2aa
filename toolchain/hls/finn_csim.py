"""FINN's HLS nodes (MVAU, width converters, pooling) in C-simulation with g++ and finn-hlslib.

The code is FINN's: ``code_generation_cppsim`` writes each node's C++ (finn-hlslib's templates driven by FINN's
npy2stream; the spike pool's kernel is the project's, PoolSpikes_hls), and FINN's ``execute_node`` runs it
(exec_mode cppsim). Only the compile is the project's, because
FINN's ``compile_singlenode_code`` links Vitis HLS's own C-simulation libraries from XILINX_HLS, which these
machines lack: the same sources, -std and include folders, with the open ap_int headers of the hls4ml wheel
(toolchain.hls.csim.ap_headers) for Vitis's, and C-simulation stand-ins (``hls_templates/csim_standins``, each
says what it stands in for) for the few Vitis headers finn-hlslib includes beyond them.

A binary is compiled once per source and reused across builds: FINN writes the node folder's absolute path into
the sources (its .npy files); it is made relative, the binary goes to the per-user C-sim cache (hash-checked,
toolchain.hls.csim), and the node's ``executable_path`` is a short script that runs it in the node's folder.
"""

from __future__ import annotations

import hashlib
import os
import shlex
import subprocess
from pathlib import Path

from toolchain import assets
from toolchain.errors import QsnnError
from toolchain.fsutil import write_text
from toolchain.hls.csim import _digest_file, ap_headers, cache_dir, gxx, verified_binary

# FINN compiles with --std=c++17 -O3; -O1 gives the same results in a third less compile time
CXXFLAGS = ["-std=c++17", "-O1", "-w"]
HLSLIB_HEADER = "bnn-library.h"


def hlslib_record(deps: Path) -> dict | None:
    """finn-hlslib in FINN's dependency folder ``deps``: {path, revision}, or None where it is absent. The revision
    is the git commit of a checkout, else (a plain copy) the sha256 of its headers."""
    from toolchain.vivado.environment import git_head

    lib = Path(deps) / "finn-hlslib"
    if not (lib / HLSLIB_HEADER).is_file():
        return None
    head = git_head(lib)
    if head is None:
        digest = hashlib.sha256()
        for p in sorted(lib.glob("*.h*")):
            digest.update(p.name.encode() + p.read_bytes())
        head = f"plain copy (no git), headers sha256 {digest.hexdigest()[:16]}"
    return {"path": str(lib.resolve()), "revision": head}


def _includes(hlslib: Path) -> list[str]:
    """FINN's include folders for cppsim, Vitis's replaced by the open headers and the project's stand-ins."""
    import finn
    from finn.templates import get_templates_folder

    standins = assets.folder("hls_templates") / "csim_standins"
    flags = ["-include", str(standins / "qsnn_csim_prelude.h")]
    flatten = hlslib / "flatten.hpp"
    if flatten.is_file() and "unflatten" not in flatten.read_text():  # older finn-hlslib: FINN's npy2stream needs it
        flags += ["-include", str(standins / "qsnn_unflatten.h")]
    folders = [
        Path(get_templates_folder()) / "npy2stream",
        hlslib,
        Path(finn.__file__).resolve().parent / "custom_hls",
        ap_headers(),
        standins,
    ]
    return flags + [f"-I{f}" for f in folders]


def _compile(cmd: list[str], out: Path, log: Path, what: str) -> None:
    tmp = out.with_suffix(f".{os.getpid()}.tmp")  # parallel builds may compile the same code
    r = subprocess.run([*cmd, "-o", str(tmp)], capture_output=True, text=True)
    write_text(log, " ".join(cmd) + "\n\n" + r.stdout + r.stderr)
    if r.returncode != 0:
        tmp.unlink(missing_ok=True)
        raise QsnnError(f"g++ failed to compile {what} for C-simulation; see {log}")
    tmp.replace(out)


def _cnpy_object(includes: list[str], cache: Path, compiler: str | None) -> Path:
    """FINN's cnpy.cpp (npy file reading), compiled once per cache."""
    from finn.templates import get_templates_folder

    src = Path(get_templates_folder()) / "npy2stream" / "cnpy.cpp"
    digest = hashlib.sha256(src.read_bytes() + (src.parent / "cnpy.h").read_bytes() + " ".join(includes).encode())
    obj = cache / f"cnpy_{digest.hexdigest()[:20]}.o"
    if not obj.is_file():
        _compile([gxx(compiler), *CXXFLAGS, *includes, "-c", str(src)], obj, cache / "cnpy_compile.log", "cnpy.cpp")
    return obj


def compile_node(op, hlslib: Path, compiler: str | None = None, cache: Path | None = None) -> Path:
    """Compile the C++ FINN's code_generation_cppsim wrote for ``op`` (a FINN HLS node); sets its executable_path
    to a script running the cached binary in the node's folder and returns the binary."""
    given = op.get_nodeattr("code_gen_dir_cppsim")
    folder = Path(given).resolve()
    sources = sorted(folder.glob("*.cpp"))  # what FINN compiles: code_gen_dir/*.cpp
    if not sources:
        raise QsnnError(f"node {op.onnx_node.name}: no C++ in {folder}; run FINN's code_generation_cppsim first")
    for src in sources:  # the node's own files by relative path, so one binary serves every folder
        write_text(src, src.read_text().replace(f"{given.rstrip('/')}/", "").replace(f"{folder}/", ""))
    cache = Path(cache or cache_dir())
    cache.mkdir(parents=True, exist_ok=True, mode=0o700)
    includes = _includes(hlslib)
    digest = hashlib.sha256(" ".join(CXXFLAGS + includes).encode())
    for p in sorted(folder.glob("*.[ch]*")):  # .cpp, .h, .hpp: what g++ reads from the node's folder
        digest.update(p.name.encode() + p.read_bytes())
    binary = cache / f"finn_cppsim_{op.onnx_node.op_type}_{digest.hexdigest()[:20]}"
    if not binary.is_file():
        obj = _cnpy_object(includes, cache, compiler)
        cmd = [gxx(compiler), *CXXFLAGS, *includes, *map(str, sources), str(obj), "-lz"]
        _compile(cmd, binary, folder / "csim_compile.log", f"FINN's {op.onnx_node.op_type} node {op.onnx_node.name}")
        write_text(binary.with_name(binary.name + ".sha256"), _digest_file(binary) + "\n")
    verified_binary(binary)
    runner = folder / "node_model"
    write_text(
        runner,
        "#!/bin/sh\n# written by qsnn-pynq: this node's C-simulation (FINN's code, compiled once into the cache)\n"
        f'cd "$(dirname "$0")" && exec {shlex.quote(str(binary))}\n',
    )
    runner.chmod(0o700)
    op.set_nodeattr("executable_path", str(runner))
    return binary


def abstract_op(node) -> None:
    """Run ``node`` as its abstract FINN op (Python execution) from now on: the first class of its backend's that
    FINN registers as an abstract op (MVAUSpike_hls runs as MVAU, PoolSpikes_hls as Pool)."""
    import finn.custom_op.fpgadataflow as fdf
    from qonnx.custom_op.registry import getCustomOp

    abstract = next(c.__name__ for c in type(getCustomOp(node)).__mro__ if fdf.custom_op.get(c.__name__) is c)
    node.op_type, node.domain = abstract, "finn.custom_op.fpgadataflow"


def prepare_graph(model, folder: Path, hlslib: Path) -> dict[str, str]:
    """Generate and compile every FINN HLS node of ``model`` set to cppsim (their code depends on the batch the
    graph carries, so each batched copy is prepared in its own folder). A node whose FINN code does not compile
    against this finn-hlslib (FINN's newer code on an older copy) runs in Python instead: returns {node: why}."""
    from qonnx.custom_op.registry import getCustomOp

    left = {}
    for node in model.graph.node:
        op = getCustomOp(node)
        if (
            node.op_type == "LIFLayer_hls"
            or not node.op_type.endswith("_hls")
            or op.get_nodeattr("exec_mode") != "cppsim"
        ):
            continue
        where = (Path(folder) / node.name).resolve()
        where.mkdir(parents=True, exist_ok=True)
        op.set_nodeattr("code_gen_dir_cppsim", str(where))
        op.code_generation_cppsim(model)
        try:
            compile_node(op, hlslib)
        except QsnnError:
            left[node.name] = (
                f"FINN's C++ for it does not compile against the finn-hlslib found ({hlslib}; FINN 1.6.1 pins a "
                f"later one): see {where / 'csim_compile.log'}"
            )
            abstract_op(node)
    return left
