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
import zipfile
import zlib
from importlib import resources
from pathlib import Path

import numpy as np
from qonnx.custom_op.registry import getCustomOp

import toolchain.custom_op.fpgadataflow  # noqa: F401  (the HW ops of the saved graphs)
from toolchain import assets
from toolchain.data import load_dataset
from toolchain.errors import QsnnError
from toolchain.flow.build_config import PIPELINE, BuildConfig
from toolchain.fsutil import atomic_path, check_output, read_json
from toolchain.golden import GoldenModel
from toolchain.runs import tool_versions


def stream_format(model) -> dict:
    """Input and output stream layout of the folded dataflow graph: its first node's input stream and its
    last node's (a LIF layer's) output stream, spikes or an LI readout's membrane, lanes = stream width / element
    width."""
    from toolchain.custom_op.lif import frame_steps

    first, last = getCustomOp(model.graph.node[0]), getCustomOp(model.graph.node[-1])
    idt = first.get_input_datatype(0)
    shape = first.get_normal_input_shape(0)
    # a conv graph is one frame (1, H, W, C): a time step streams all its pixels; a dense graph is (1, T, C)
    features = int(np.prod(shape[1:])) if frame_steps(model) else int(shape[-1])
    return {
        "in_bits": idt.bitwidth(),
        "in_signed": bool(idt.signed()),
        "in_lanes": int(first.get_instream_width(0) // idt.bitwidth()),
        "in_features": features,
        "out_bits": last.get_output_datatype().bitwidth(),
        "out_signed": bool(last.get_output_datatype().signed()),
        "out_lanes": int(last.get_outstream_width(0) // last.get_output_datatype().bitwidth()),
        "out_features": int(last.get_normal_output_shape(0)[-1]),
        "steps": int(last.steps),
    }


FINAL_GRAPH_STEPS = [s.name for s in reversed(PIPELINE) if s.folded]  # latest first


def _final_model(build: Path, state):
    """The folded HW graph of the build as it stands (the latest such step done), never a stale file."""
    from toolchain.flow.runner import load_step_model

    done = [s for s in FINAL_GRAPH_STEPS if s in state.steps_done]
    if not done:
        raise QsnnError(f"{build} has no folded model; run 'qsnn build RUN_DIR --out {build} --until estimate' first")
    return load_step_model(build, state, done[0])


def deploy(build_dir, out_zip, vectors: int = 300) -> Path:
    from toolchain.flow.runner import load_state, run_identity
    from toolchain.runs import run_record

    build = Path(build_dir)
    if Path(out_zip).suffix != ".zip":
        raise QsnnError(f"--out {out_zip} should name a .zip file")
    fix = f"is {build} a build directory made by 'qsnn build'? Re-run the build"
    bcfg = read_json(build / "build_config.json", "build configuration", fix)
    report = read_json(build / "report.json", "build report", fix)
    state = load_state(build, fix)
    try:
        cfg = BuildConfig(**bcfg)
    except TypeError as e:
        raise QsnnError(f"build configuration {build / 'build_config.json'} is damaged ({e}); {fix}") from None
    run_dir = Path(cfg.run_dir)
    if state.run != run_identity(run_dir):
        raise QsnnError(
            f"{build} was built from another golden model than {run_dir} holds now (retrained?); its "
            f"verification does not hold: re-run 'qsnn build {run_dir} --out {build}'"
        )
    stale = [k for k, v in state.verification.items() if v.get("golden_sha256") != state.run.get("golden_sha256")]
    if stale:
        raise QsnnError(f"{build}: verification {', '.join(stale)} was made against another golden model; {fix}")
    run_cfg, run_meta = run_record(run_dir)
    model_bytes = (run_dir / "golden.npz").read_bytes()
    ds = load_dataset(run_cfg.data)
    x, labels = ds.x_test[:vectors], ds.y_test[:vectors]
    golden = GoldenModel.load(run_dir / "golden.npz")
    counts = golden.run(x)
    files = {
        "model.npz": model_bytes,
        "test_vectors.npz": _npz(x=x, counts=counts, labels=labels),
        "notebooks/qsnn_on_board.ipynb": (assets.folder("board") / "notebooks" / "qsnn_on_board.ipynb").read_bytes(),
    }
    files.update(driver_files())
    bit, reports = _vivado_files(build, files)
    stream = stream_format(_final_model(build, state))
    check_stream(stream, golden)
    manifest = {
        "name": cfg.name,
        "backend": cfg.backend,  # which layers built the bitstream: hls (Vitis HLS) or rtl (this project's Verilog)
        "board": cfg.board,
        "part": cfg.board_info.part,
        "clock_mhz": cfg.clock_mhz,
        "power_rails": cfg.board_info.power_rails,
        "pynq_ids": list(cfg.board_info.pynq_ids),
        "reports": reports,
        "board_resources": cfg.board_info.resources,
        "model_file": "model.npz",
        "model_sha256": hashlib.sha256(model_bytes).hexdigest(),
        "files": {name: hashlib.sha256(data).hexdigest() for name, data in sorted(files.items())},
        "stream": stream,
        "estimate": {k: v for k, v in (report.get("estimate") or {}).items() if k != "per_layer"},
        "verification": state.verification,
        "config": run_meta["config"],
        "dataset": run_meta["dataset"],
        "bitfile": bit,
        "tool_versions": tool_versions(),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }
    files["manifest.json"] = json.dumps(manifest, indent=2).encode()
    return _write_zip(Path(out_zip), f"qsnn_{cfg.name}", files)


def driver_files() -> dict[str, bytes]:
    """The numpy-only driver package: board/qsnn_driver with the golden package copied in as qsnn_driver/golden
    (the driver imports ``.golden``; the golden package imports nothing else of the project)."""
    files = {
        f"qsnn_driver/{f.name}": f.read_bytes() for f in sorted((assets.folder("board") / "qsnn_driver").glob("*.py"))
    }

    def add(folder, prefix):
        for entry in sorted(folder.iterdir(), key=lambda e: e.name):
            if entry.is_dir() and entry.name != "__pycache__":
                add(entry, f"{prefix}/{entry.name}")
            elif entry.name.endswith(".py"):
                files[f"{prefix}/{entry.name}"] = entry.read_bytes()

    add(resources.files("toolchain.golden"), "qsnn_driver/golden")
    return files


def check_stream(stream: dict, golden) -> None:
    """The stream format agrees with the model it carries (features, classes, steps, input type)."""
    n_in = int(np.prod(golden.input_shape))
    n_out = int(np.prod(golden.layers[-1].out_shape))
    ok = (
        stream["in_features"] == n_in
        and stream["out_features"] == n_out
        and stream["steps"] == golden.steps
        and n_in % stream["in_lanes"] == 0
        and n_out % stream["out_lanes"] == 0
        and stream["out_bits"] == golden.layers[-1].neuron.model.out_bits(golden.layers[-1].neuron)
    )
    if not ok:
        raise QsnnError(f"the build's stream format {stream} does not fit its golden model; re-run the build")


def _npz(**arrays) -> bytes:
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    return buf.getvalue()


def _vivado_files(build: Path, files) -> tuple[str | None, list[str]]:
    """Add the bitstream, .hwh and Vivado's reports that the bitstream step collected into
    BUILD_DIR/bitstream/ (only files there: what the build wrote); returns (the .bit's name, report names)."""
    from toolchain.vivado.steps import BITSTREAM_DIR

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
    """Unpack a bundle into dest; refuses what is not a zip, members that would land outside it (zip-slip),
    symbolic links and members that would write through another member."""
    import stat

    dest = Path(dest).resolve()
    fix = "re-create it with 'qsnn deploy BUILD_DIR --out BUNDLE.zip'"
    if not Path(zip_path).is_file():
        raise QsnnError(f"bundle {zip_path} not found; {fix}")
    try:
        z = zipfile.ZipFile(zip_path)
    except (zipfile.BadZipFile, OSError) as e:
        raise QsnnError(f"bundle {zip_path} is not a readable zip ({type(e).__name__}); {fix}") from None
    with z:
        infos = z.infolist()
        files = {i.filename.rstrip("/") for i in infos if not i.is_dir()}
        for info in infos:
            name = info.filename
            target = (dest / name).resolve()
            if name.startswith("/") or not target.is_relative_to(dest):
                raise QsnnError(f"{zip_path}: member {name!r} would be written outside {dest}; not extracting")
            if stat.S_ISLNK(info.external_attr >> 16):
                raise QsnnError(f"{zip_path}: member {name!r} is a symbolic link, which a bundle never holds; {fix}")
            parents = [str(p) for p in Path(name.rstrip("/")).parents if str(p) != "."]
            if any(p in files for p in parents):
                raise QsnnError(f"{zip_path}: member {name!r} would be written through the file member of its path")
        tops = {i.filename.split("/", 1)[0] for i in infos}
        if len(tops) != 1:
            raise QsnnError(f"{zip_path} is not a qsnn bundle (it has {len(tops)} top-level folders)")
        check_output(dest / tops.copy().pop(), "the extraction folder")
        try:
            z.extractall(dest)
        except (zipfile.BadZipFile, zlib.error, EOFError) as e:
            raise QsnnError(f"bundle {zip_path} is damaged ({type(e).__name__}); {fix}") from None
    return dest / tops.pop()
