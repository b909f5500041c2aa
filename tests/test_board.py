"""Deployment bundle, the numpy-only driver (emulate backend), the notebook, and bad inputs."""

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from toolchain.deploy import deploy, extract_bundle
from toolchain.errors import QsnnError
from toolchain.flow.config import BuildConfig
from toolchain.flow.runner import run_build
from toolchain.golden import GoldenModel


@pytest.fixture(scope="module")
def bundle(demo_run, tmp_path_factory):
    work = tmp_path_factory.mktemp("deploy")
    run_build(
        BuildConfig(run_dir=str(demo_run), out_dir=str(work / "b"), until="estimate", target_cycles=32),
        log=None,
    )
    z = deploy(work / "b", work / "bundle.zip", vectors=200)
    return extract_bundle(z, work / "unpacked")


def run_driver(folder: Path, code: str, python=sys.executable):
    """Run code with only the bundle on sys.path, torch/toolchain/finn imports made to fail."""
    guard = (
        "import sys, importlib.abc\n"
        "class Block(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('torch', 'toolchain', 'finn', 'qonnx', 'brevitas'):\n"
        "            raise ImportError('the driver must not need ' + name)\n"
        "sys.meta_path.insert(0, Block())\n"
        f"sys.path.insert(0, {str(folder)!r})\n"
    )
    r = subprocess.run(
        [python, "-c", guard + code],
        capture_output=True,
        text=True,
        cwd=folder,
        env={"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp")},
    )
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_bundle_layout_and_manifest(bundle, demo_run):
    names = {p.relative_to(bundle).as_posix() for p in bundle.rglob("*") if p.is_file()}
    assert {
        "manifest.json",
        "model.npz",
        "test_vectors.npz",
        "qsnn_driver/__init__.py",
        "qsnn_driver/golden.py",
        "qsnn_driver/driver.py",
        "qsnn_driver/streams.py",
        "notebooks/qsnn_on_board.ipynb",
    } <= names
    assert not any(n.endswith((".bit", ".hwh")) for n in names), "no Vivado here, so no bitstream in the bundle"
    m = json.loads((bundle / "manifest.json").read_text())
    assert m["board"] == "Pynq-Z2" and m["bitfile"] is None and m["config"]["quant"]["weight_bits"] == 4
    assert m["stream"]["in_bits"] == 8 and m["stream"]["in_features"] == 64 and m["stream"]["steps"] == 8
    assert (bundle / "qsnn_driver" / "golden.py").read_text() == Path("toolchain/golden.py").read_text()


def test_emulated_driver_self_test_and_predictions_equal_golden(bundle, demo_run):
    out = run_driver(
        bundle,
        "from qsnn_driver import SNNAccelerator\nimport numpy as np\n"
        "a = SNNAccelerator('.', backend='emulate')\n"
        "v = np.load('test_vectors.npz')\n"
        "print(a.self_test()); np.save('pred.npy', a.predict(v['x'])); a.close()",
    )
    assert out.strip() == "0"
    with np.load(bundle / "test_vectors.npz") as v:
        golden = GoldenModel.load(demo_run / "golden.npz").predict(v["x"])
    assert np.array_equal(np.load(bundle / "pred.npy"), golden)


@pytest.mark.slow
def test_driver_in_a_fresh_venv_with_numpy_only(bundle, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    r = subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "numpy"], capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot install numpy into a fresh venv here: {r.stderr.strip()[-200:]}")
    out = run_driver(
        bundle,
        "from qsnn_driver import SNNAccelerator\n"
        "with SNNAccelerator('.', backend='emulate') as a: print(a.self_test(), a.accuracy())",
        python=str(venv / "bin" / "python"),
    )
    mismatches, acc = out.split()
    assert mismatches == "0" and float(acc) > 0.25


def test_driver_bad_inputs(bundle, tmp_path):
    out = run_driver(
        bundle,
        """
from qsnn_driver import SNNAccelerator, DriverError
import numpy as np
a = SNNAccelerator('.', backend='emulate')
for bad in (np.zeros((2, 9, 9, 1), np.int64), np.zeros((2, 8, 8, 1), np.float32), np.full((1, 8, 8, 1), 999)):
    try:
        a.execute(bad)
    except (DriverError, ValueError) as e:
        print(type(e).__name__, str(e).split(';')[0])
try:
    SNNAccelerator('.', backend='pynq')
except DriverError as e:
    print('pynq:', e)
try:
    SNNAccelerator('.', backend='fpga')
except DriverError as e:
    print('backend:', e)
""",
    )
    assert "input shape (2, 9, 9, 1) does not match" in out
    assert "input dtype float32 is not an integer type" in out
    assert "outside [0, 255]" in out
    assert "pynq: this bundle has no bitstream" in out and "backend: backend 'fpga'" in out


def test_bundle_from_another_model_is_refused(bundle, ternary_stochastic_run, tmp_path):
    import shutil

    mixed = tmp_path / "mixed"
    shutil.copytree(bundle, mixed)
    shutil.copy(ternary_stochastic_run / "golden.npz", mixed / "model.npz")
    out = run_driver(
        mixed,
        "from qsnn_driver import SNNAccelerator, DriverError\n"
        "try:\n    SNNAccelerator('.', backend='emulate')\n"
        "except DriverError as e:\n    print(e)",
    )
    assert "does not belong to this bundle" in out


def test_missing_hwh_is_named(bundle, tmp_path):
    import shutil

    b = tmp_path / "b"
    shutil.copytree(bundle, b)
    m = json.loads((b / "manifest.json").read_text())
    m["bitfile"] = "net.bit"
    (b / "manifest.json").write_text(json.dumps(m))
    (b / "net.bit").write_bytes(b"test fixture: stands in for a bitstream only to reach the .hwh check")
    out = run_driver(
        b,
        "from qsnn_driver import SNNAccelerator, DriverError\n"
        "try:\n    SNNAccelerator('.', backend='pynq')\n"
        "except DriverError as e:\n    print(e)",
    )
    assert "net.hwh is missing" in out


def test_extraction_cannot_escape_its_folder(tmp_path):
    z = tmp_path / "evil.zip"
    with zipfile.ZipFile(z, "w") as f:
        f.writestr("qsnn_x/manifest.json", "{}")
        f.writestr("../outside.txt", "gotcha")
    with pytest.raises(QsnnError, match="outside"):
        extract_bundle(z, tmp_path / "dest")
    assert not (tmp_path / "outside.txt").exists()


def test_deploy_needs_a_build_dir(tmp_path):
    with pytest.raises(QsnnError, match="build directory"):
        deploy(tmp_path, tmp_path / "x.zip")


def test_notebook_runs_headless_in_emulate_mode(bundle):
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(bundle / "notebooks" / "qsnn_on_board.ipynb", as_version=4)
    NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(bundle / "notebooks")}}
    ).execute()
    text = "\n".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    assert "backend: emulate" in text and "self-test: 0 mismatching samples" in text
    assert any(o.get("output_type") == "display_data" for c in nb.cells for o in c.get("outputs", []))


@pytest.mark.board
def test_on_board_self_test(bundle):
    from qsnn_driver import SNNAccelerator

    with SNNAccelerator(bundle, backend="pynq") as acc:
        assert acc.self_test() == 0


@pytest.mark.vivado
def test_make_bitstream_for_the_demo_network(demo_run, tmp_path):
    report = run_build(BuildConfig(run_dir=str(demo_run), out_dir=str(tmp_path / "bit"), until="bitstream"))
    assert Path(report["artifacts"]["bitfile_path"]).is_file()


@pytest.mark.parametrize("dt,lanes", [("UINT8", 8), ("INT8", 4), ("BINARY", 10), ("INT4", 3)])
def test_stream_packing_equals_finns_iodma_packing(dt, lanes):
    """The driver's numpy packing is byte-identical to FINN's driver (reverse_endian, reverse_inner)."""
    import sys

    from finn.util.data_packing import finnpy_to_packed_bytearray
    from qonnx.core.datatype import DataType

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "board"))
    from qsnn_driver.streams import pack, unpack

    d = DataType[dt]
    x = np.random.default_rng(0).integers(d.min(), d.max() + 1, (2, 8, 5, lanes))
    ref = finnpy_to_packed_bytearray(x.astype(np.float32), d, reverse_endian=True, reverse_inner=True)
    assert np.array_equal(pack(x, d.bitwidth()), ref)
    assert np.array_equal(unpack(ref, lanes, d.bitwidth(), d.signed()), x)


def test_rate_encoded_network_through_build_deploy_and_driver(rate_run, tmp_path):
    report = run_build(
        BuildConfig(run_dir=str(rate_run), out_dir=str(tmp_path / "b"), until="csim", target_cycles=64),
        log=None,
    )
    assert {k: v["mismatches"] for k, v in report["verification"].items()} == {"qonnx": 0, "finn_hw": 0, "hls_csim": 0}
    folder = extract_bundle(deploy(tmp_path / "b", tmp_path / "r.zip", vectors=100), tmp_path / "u")
    m = json.loads((folder / "manifest.json").read_text())
    assert m["stream"]["in_bits"] == 1 and m["stream"]["steps"] == 12
    out = run_driver(
        folder,
        "from qsnn_driver import SNNAccelerator\n"
        "with SNNAccelerator('.', backend='emulate') as a: print(a.self_test())",
    )
    assert out.strip() == "0"
