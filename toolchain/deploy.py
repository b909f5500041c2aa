"""``qsnn deploy``: one zip with everything the board needs, unpacking to one folder.

Contents: the numpy-only driver package ``qsnn_driver`` (board/qsnn_driver), the integer model
(``model.npz``), golden test vectors with their expected spike counts, ``manifest.json`` (model hash,
config, bit-widths, board, stream format, estimates, verification, tool versions, date), the
notebook, and the bitstream, .hwh and Vivado reports when the build has them (only files Vivado
wrote; never placeholders).
"""

from __future__ import annotations

import datetime
import hashlib
import io
import json
import platform
import zipfile
from importlib import metadata
from pathlib import Path

import numpy as np
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.custom_op.registry import getCustomOp

import toolchain.custom_op.fpgadataflow  # noqa: F401  (the HW ops of the saved graphs)
from toolchain.config import RunConfig
from toolchain.data import load_dataset
from toolchain.errors import QsnnError
from toolchain.flow.config import BuildConfig
from toolchain.fsutil import atomic_path
from toolchain.golden import GoldenModel

BOARD_DIR = Path(__file__).resolve().parents[1] / "board"
TOOLS = ("qsnn-pynq", "numpy", "torch", "brevitas", "qonnx", "finn-plus", "onnx")


def tool_versions() -> dict:
    out = {"python": platform.python_version()}
    for name in TOOLS:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def stream_format(model) -> dict:
    """Input and output stream layout of the folded dataflow graph: its first node's input stream and its
    last node's (a LIF layer's) spike stream, lanes = stream width / element width."""
    first, last = getCustomOp(model.graph.node[0]), getCustomOp(model.graph.node[-1])
    idt = first.get_input_datatype(0)
    return {
        "in_bits": idt.bitwidth(),
        "in_signed": bool(idt.signed()),
        "in_lanes": int(first.get_instream_width(0) // idt.bitwidth()),
        "in_features": int(first.get_normal_input_shape(0)[-1]),
        "out_lanes": int(last.get_outstream_width(0)),
        "out_features": int(last.get_normal_output_shape(0)[-1]),
        "steps": int(last.steps),
    }


def _last_model(build: Path):
    models = sorted((build / "intermediate").glob("[0-9][0-9]_*.onnx"))
    folded = [m for m in models if int(m.name[:2]) >= 4]  # after 'fold'
    if not folded:
        raise QsnnError(f"{build} has no folded model; run 'qsnn build RUN_DIR --out {build} --until estimate' first")
    return ModelWrapper(str(folded[-1]))


def deploy(build_dir, out_zip, vectors: int = 300) -> Path:
    build = Path(build_dir)
    for f in ("build_config.json", "report.json"):
        if not (build / f).is_file():
            raise QsnnError(f"{build / f} not found; is {build} a build directory made by 'qsnn build'?")
    bcfg = json.loads((build / "build_config.json").read_text())
    report = json.loads((build / "report.json").read_text())
    cfg = BuildConfig(**bcfg)
    run_dir = Path(cfg.run_dir)
    model_bytes = (run_dir / "golden.npz").read_bytes()
    ds_meta = json.loads((run_dir / "config.json").read_text())
    ds = load_dataset(RunConfig.from_dict(ds_meta["config"]).data)
    x, labels = ds.x_test[:vectors], ds.y_test[:vectors]
    counts = GoldenModel.load(run_dir / "golden.npz").run(x)
    files = {
        "model.npz": model_bytes,
        "test_vectors.npz": _npz(x=x, counts=counts, labels=labels),
        "notebooks/qsnn_on_board.ipynb": (BOARD_DIR / "notebooks" / "qsnn_on_board.ipynb").read_bytes(),
    }
    for f in sorted((BOARD_DIR / "qsnn_driver").glob("*.py")):
        files[f"qsnn_driver/{f.name}"] = f.read_bytes()  # resolves the golden.py link to its content
    bit, reports = _vivado_files(build, files)
    manifest = {
        "name": cfg.name,
        "board": cfg.board,
        "part": cfg.board_info.part,
        "clock_mhz": cfg.clock_mhz,
        "power_rails": cfg.board_info.power_rails,
        "pynq_ids": list(cfg.board_info.pynq_ids),
        "reports": reports,
        "board_resources": cfg.board_info.resources,
        "model_file": "model.npz",
        "model_sha256": hashlib.sha256(model_bytes).hexdigest(),
        "stream": stream_format(_last_model(build)),
        "estimate": {k: v for k, v in (report.get("estimate") or {}).items() if k != "per_layer"},
        "verification": report.get("verification"),
        "config": ds_meta["config"],
        "dataset": ds_meta["dataset"],
        "bitfile": bit,
        "tool_versions": tool_versions(),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }
    files["manifest.json"] = json.dumps(manifest, indent=2).encode()
    return _write_zip(Path(out_zip), f"qsnn_{cfg.name}", files)


def _npz(**arrays) -> bytes:
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    return buf.getvalue()


def _vivado_files(build: Path, files) -> tuple[str | None, list[str]]:
    """Add the bitstream, .hwh and Vivado's reports that the bitstream step collected into
    BUILD_DIR/bitstream/ (only files there: what the build wrote); returns (the .bit's name, report names)."""
    from toolchain.vendor.steps import BITSTREAM_DIR

    folder = build / BITSTREAM_DIR
    bits = sorted(folder.glob("*.bit"))
    if not bits:
        return None, []
    bit = bits[0]
    hwh = bit.with_suffix(".hwh")
    if not hwh.is_file():
        raise QsnnError(f"{bit} has no {hwh.name} beside it; re-run the bitstream step")
    files[bit.name] = bit.read_bytes()
    files[hwh.name] = hwh.read_bytes()
    reports = sorted(p for p in (folder / "reports").glob("*") if p.is_file() and not p.is_symlink())
    for rpt in reports:
        files[f"reports/{rpt.name}"] = rpt.read_bytes()
    return bit.name, [r.name for r in reports]


def _write_zip(out: Path, top: str, files: dict) -> Path:
    if out.suffix != ".zip":
        raise QsnnError(f"--out {out} should name a .zip file")
    with atomic_path(out) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in sorted(files.items()):
            z.writestr(f"{top}/{name}", data)
    return out


def extract_bundle(zip_path, dest) -> Path:
    """Unpack a bundle into dest; refuses members that would land outside it (zip-slip)."""
    dest = Path(dest).resolve()
    with zipfile.ZipFile(zip_path) as z:
        names = z.namelist()
        for name in names:
            target = (dest / name).resolve()
            if name.startswith("/") or not target.is_relative_to(dest):
                raise QsnnError(f"{zip_path}: member {name!r} would be written outside {dest}; not extracting")
        tops = {n.split("/", 1)[0] for n in names}
        if len(tops) != 1:
            raise QsnnError(f"{zip_path} is not a qsnn bundle (it has {len(tops)} top-level folders)")
        z.extractall(dest)
    return dest / tops.pop()
