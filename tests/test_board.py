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
from toolchain.flow.build_config import BuildConfig
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
        "qsnn_driver/golden/__init__.py",
        "qsnn_driver/golden/network.py",
        "qsnn_driver/driver.py",
        "qsnn_driver/streams.py",
        "qsnn_driver/golden/neurons/__init__.py",
        "qsnn_driver/golden/neurons/lif.py",
        "notebooks/qsnn_on_board.ipynb",
    } <= names
    assert not any(n.endswith((".bit", ".hwh")) for n in names), "no Vivado here, so no bitstream in the bundle"
    m = json.loads((bundle / "manifest.json").read_text())
    assert m["board"] == "Pynq-Z2" and m["bitfile"] is None and m["config"]["quant"]["weight_bits"] == 4
    assert m["stream"]["in_bits"] == 8 and m["stream"]["in_features"] == 64 and m["stream"]["steps"] == 8
    for src in Path("toolchain/golden").rglob("*.py"):
        assert (bundle / "qsnn_driver" / "golden" / src.relative_to("toolchain/golden")).read_text() == src.read_text()


def emulated_self_test(folder: Path, golden: GoldenModel):
    """The emulated driver's self-test (mismatching samples) on the bundle's vectors, after checking that its
    predictions equal the golden model's."""
    out = run_driver(
        folder,
        "from qsnn_driver import SNNAccelerator\nimport numpy as np\n"
        "a = SNNAccelerator('.', backend='emulate')\n"
        "v = np.load('test_vectors.npz')\n"
        "print(a.self_test()); np.save('pred.npy', a.predict(v['x'])); a.close()",
    )
    with np.load(folder / "test_vectors.npz") as v:
        assert np.array_equal(np.load(folder / "pred.npy"), golden.predict(v["x"]))
    return int(out.strip())


def test_emulated_driver_self_test_and_predictions_equal_golden(bundle, demo_run):
    assert emulated_self_test(bundle, GoldenModel.load(demo_run / "golden.npz")) == 0


def test_membrane_readout_bundle_streams_signed_membranes(tmp_path_factory):
    """An LI-readout run's bundle: the output stream carries 16-bit signed membranes (out_bits in the manifest), the
    driver unpacks them and decodes by the model's readout; its self-test and predictions equal the golden model."""
    from tests.conftest import _train

    run = _train(tmp_path_factory, "li-bundle", model__readout="membrane", train__epochs=1)
    work = tmp_path_factory.mktemp("li-deploy")
    run_build(BuildConfig(run_dir=str(run), out_dir=str(work / "b"), until="estimate", target_cycles=32), log=None)
    folder = extract_bundle(deploy(work / "b", work / "bundle.zip", vectors=100), work / "unpacked")
    stream = json.loads((folder / "manifest.json").read_text())["stream"]
    assert stream["out_bits"] == 16 and stream["out_signed"]
    golden = GoldenModel.load(run / "golden.npz")
    assert emulated_self_test(folder, golden) == 0
    with np.load(folder / "test_vectors.npz") as v:
        assert golden.readout == "membrane" and v["counts"].min() < 0  # membranes, not counts


ENERGY_SENSOR = """
import json, threading
from qsnn_driver import SNNAccelerator
acc = SNNAccelerator('.', backend='emulate')
busy, run = threading.Event(), acc.execute
def execute(x):
    busy.set()
    try:
        return run(x)
    finally:
        busy.clear()
acc.execute = execute
# a sensor that reads 2.0 W idle and 2.5 W while an inference runs
e = acc.energy(power_w=lambda: 2.5 if busy.is_set() else 2.0, batch=50, idle_s=0.2, active_s=0.6, interval_s=0.005)
print(json.dumps(e))
"""


def test_driver_energy_from_sampled_power_and_from_meter_readings(bundle):
    """Energy per inference = (active - idle power) x time per inference: from a power sensor the driver samples
    (as it samples PYNQ's rails) in an idle window and a thread during the inference window, and, for boards
    without rails, from an external meter's idle and active watts with the inference time measured."""
    e = json.loads(run_driver(bundle, ENERGY_SENSOR).strip().splitlines()[-1])
    assert e["idle_w"] == 2.0 and 2.0 < e["active_w"] <= 2.5 and len(e["power_trace_w"]["active"]) > 5
    assert e["repeats"] >= 1 and e["latency_us_per_inference"] > 0
    lo, hi = e["energy_uj_spread"]
    assert lo <= e["energy_uj_per_inference"] <= hi
    assert e["energy_uj_per_inference"] == pytest.approx(e["dynamic_w"] * e["latency_us_per_inference"], rel=1e-9)
    code = (
        "import json\nfrom qsnn_driver import SNNAccelerator\nacc = SNNAccelerator('.', backend='emulate')\n"
        "print(json.dumps(acc.energy(meter={'idle_w': 2.375, 'active_w': 2.61}, batch=50, active_s=0.3)))"
    )
    m = json.loads(run_driver(bundle, code).strip().splitlines()[-1])
    assert m["idle_w"] == 2.375 and m["active_w"] == 2.61 and "external meter" in m["source"]
    assert m["energy_uj_per_inference"] == pytest.approx(0.235 * m["latency_us_per_inference"], rel=1e-9)


@pytest.mark.parametrize(
    "call, says",
    [
        ("acc.energy()", "pass an external meter's readings"),  # emulated: no rails to read
        ("acc.energy(meter={'idle_w': 3.0, 'active_w': 2.0})", "need 0 < idle <= active"),
        ("acc.energy(meter={'idle': 2})", "give the meter's readings as"),
        ("acc.energy(meter={'idle_w': 2.0, 'active_w': 2.5}, batch=0)", "batch=0"),
    ],
)
def test_driver_energy_bad_inputs_are_driver_errors(bundle, call, says):
    code = (
        "from qsnn_driver import SNNAccelerator, DriverError\nacc = SNNAccelerator('.', backend='emulate')\n"
        f"try:\n    {call}\nexcept DriverError as e:\n    print('DriverError:', e)\n"
    )
    out = run_driver(bundle, code)
    assert "DriverError:" in out and says in out, out


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
    assert "model.npz does not match its hash in the manifest" in out


def add_fixture_files(folder: Path, files: dict, bitfile=None) -> None:
    """Add test fixture files to an unpacked bundle, listed with their hashes as 'qsnn deploy' would."""
    import hashlib

    m = json.loads((folder / "manifest.json").read_text())
    for name, text in files.items():
        (folder / name).write_text(text)
        m["files"][name] = hashlib.sha256((folder / name).read_bytes()).hexdigest()
    if bitfile:
        m["bitfile"] = bitfile
    (folder / "manifest.json").write_text(json.dumps(m))


def test_missing_hwh_is_named(bundle, tmp_path):
    import shutil

    b = tmp_path / "b"
    shutil.copytree(bundle, b)
    add_fixture_files(b, {"net.bit": "test fixture: stands in for a bitstream only to reach the .hwh check"}, "net.bit")
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

    import importlib.util

    from finn.util.data_packing import finnpy_to_packed_bytearray
    from qonnx.core.datatype import DataType

    path = Path(__file__).resolve().parents[1] / "board" / "qsnn_driver" / "streams.py"
    spec = importlib.util.spec_from_file_location("qsnn_driver_streams_under_test", path)  # numpy-only, no package
    streams = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(streams)
    pack, unpack = streams.pack, streams.unpack

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


# -- the driver on the real PYNQ API, with only PYNQ's device layer replaced (tests/pynq_sim) -----------

PYNQ_SIM = Path(__file__).resolve().parent / "pynq_sim"


# the PYNQ each board really runs, each in its own venv (not the project's): 3.0.1 is the Pynq-Z1/Z2 image's (PYNQ 4.0
# drops their board packages), 4.0.0 the newer boards'; both need numpy 1.x, and pynq 3.0.1 imports
# pycparser.plyparser, which pycparser 3 dropped (the 3.0.1 image ships pycparser 2)
PYNQ_VERSIONS = {"3.0.1": ["numpy<2", "pycparser<3"], "4.0.0": ["numpy<2"]}


@pytest.fixture(scope="session", params=PYNQ_VERSIONS, ids=[f"pynq{v}" for v in PYNQ_VERSIONS])
def pynq_python(request, tmp_path_factory):
    """A venv with the real pynq package at each version the boards run."""
    version = request.param
    venv = tmp_path_factory.mktemp(f"pynq_{version}_venv")
    try:
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True)
        r = subprocess.run(
            [str(venv / "bin" / "pip"), "install", "-q", f"pynq=={version}", *PYNQ_VERSIONS[version]],
            capture_output=True,
            text=True,
            timeout=900,
        )
    except (subprocess.SubprocessError, OSError) as e:
        pytest.skip(f"could not create a venv with pynq {version}: {e}")
    if r.returncode != 0:
        pytest.skip(f"pip could not install pynq {version} (package registry unreachable?): {r.stderr[-300:]}")
    return venv / "bin" / "python"


@pytest.fixture
def board_bundle(bundle, tmp_path):
    """The deployed bundle with fixture .bit/.hwh files (the simulated device never reads them)."""
    import shutil

    b = tmp_path / "board_bundle"
    shutil.copytree(bundle, b)
    add_fixture_files(
        b,
        {
            "net.bit": "test fixture: not a bitstream (the simulated PYNQ device does not read it)\n",
            "net.hwh": "test fixture: not a hardware handoff (the simulated device has its own metadata)\n",
        },
        "net.bit",
    )
    return b


def run_on_sim_board(python, bundle, code, board="Pynq-Z2", **env):
    setup = (
        f"import sys\nsys.path.insert(0, {str(PYNQ_SIM)!r})\nimport sim_device\n"
        f"dev = sim_device.install({str(bundle)!r})\nsys.path.insert(0, {str(bundle)!r})\n"
        "from qsnn_driver import SNNAccelerator, DriverError\n"
    )
    full_env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"), **env}
    if board is not None:
        full_env["BOARD"] = board
    r = subprocess.run(
        [str(python), "-c", setup + code], capture_output=True, text=True, cwd=bundle, env=full_env, timeout=600
    )
    assert r.returncode == 0, r.stderr[-3000:]
    return r.stdout


@pytest.mark.slow
def test_driver_self_test_through_the_real_pynq_api(pynq_python, board_bundle):
    out = run_on_sim_board(
        pynq_python,
        board_bundle,
        """
acc = SNNAccelerator('.', backend='pynq')
print('self_test', acc.self_test(), acc.self_test())
print('allocations after two runs of one batch size', dev.allocations, 'runs', dev.runs)
import numpy as np
v = np.load('test_vectors.npz')
got = acc.execute(v['x'][:7])
print('seven', int(np.sum(np.any(got != v['counts'][:7], axis=1))), 'allocations', dev.allocations)
acc.close(); acc.close()
print('freed', dev.frees, 'left in ddr', len(dev.ddr), 'downloads', len(dev.downloads))
try:
    acc.self_test()
except DriverError as e:
    print('after close:', e)
""",
    )
    assert "self_test 0 0" in out
    assert "allocations after two runs of one batch size 2 runs 2" in out  # one input + one output buffer, reused
    assert "seven 0 allocations 4" in out
    assert "freed 4 left in ddr 0 downloads 1" in out
    assert "after close: this SNNAccelerator is closed" in out


@pytest.mark.slow
def test_driver_energy_from_the_simulated_boards_rails(pynq_python, board_bundle):
    """A board with PMBus rails (the manifest says so): energy() samples pynq.get_rails() through the real pynq
    package, idle then while the accelerator runs (the simulated rail reads 2.0 W idle, 2.5 W while it works)."""
    manifest = json.loads((board_bundle / "manifest.json").read_text())
    manifest["power_rails"] = True
    (board_bundle / "manifest.json").write_text(json.dumps(manifest))
    out = run_on_sim_board(
        pynq_python,
        board_bundle,
        """
import json
sim_device.add_rails(dev)
acc = SNNAccelerator('.', backend='pynq')
e = acc.energy(batch=50, idle_s=0.3, active_s=0.6, interval_s=0.01)
print(json.dumps(e))
""",
    )
    e = json.loads(out.strip().splitlines()[-1])
    assert "rails" in e["source"] and e["idle_w"] == 2.0 and e["active_w"] > 2.25
    assert e["energy_uj_per_inference"] == pytest.approx(e["dynamic_w"] * e["latency_us_per_inference"], rel=1e-9)


@pytest.mark.slow
def test_driver_board_check_uses_pynqs_board_id(pynq_python, board_bundle):
    code = (
        "try:\n    SNNAccelerator('.', backend='pynq')\nexcept DriverError as e:\n    print(e)\n"
        "print(len(dev.downloads))"
    )
    wrong = run_on_sim_board(pynq_python, board_bundle, code, board="ZCU104")
    assert "this bitstream is for Pynq-Z2" in wrong and "BOARD=ZCU104" in wrong and wrong.strip().endswith("0")
    unset = run_on_sim_board(pynq_python, board_bundle, code, board=None)
    assert "BOARD environment variable is not set" in unset


@pytest.mark.slow
def test_driver_times_out_and_still_frees_everything(pynq_python, board_bundle):
    out = run_on_sim_board(
        pynq_python,
        board_bundle,
        """
import time
acc = SNNAccelerator('.', backend='pynq', timeout_s=0.3)
t0 = time.monotonic()
try:
    acc.self_test()
except DriverError as e:
    print('timeout:', e, round(time.monotonic() - t0, 1) < 5)
acc.close()
print('freed', dev.frees, 'of', dev.allocations)
""",
        SIM_NEVER_FINISH="1",
    )
    assert "timeout: the accelerator did not finish" in out and "True" in out
    assert "freed 2 of 2" in out


UTILIZATION_FIXTURE = """Test fixture in the layout of Vivado's report_utilization (written by this test, not by Vivado)
+----------------------------+------+-------+-----------+-------+
|          Site Type         | Used | Fixed | Available | Util% |
+----------------------------+------+-------+-----------+-------+
| Slice LUTs                 | 4321 |     0 |     53200 |  8.12 |
| Slice Registers            | 5678 |     0 |    106400 |  5.34 |
| Block RAM Tile             |  7.5 |     0 |       140 |  5.36 |
| DSPs                       |    0 |     0 |       220 |  0.00 |
+----------------------------+------+-------+-----------+-------+
"""


def test_vivado_reports_travel_from_build_to_bundle_to_resource_report(demo_run, tmp_path):
    from toolchain.vivado.steps import BITSTREAM_DIR

    build = tmp_path / "b"
    run_build(BuildConfig(run_dir=str(demo_run), out_dir=str(build), until="estimate", verify_samples=20), log=None)
    folder = build / BITSTREAM_DIR  # where the bitstream step collects what Vivado wrote
    (folder / "reports").mkdir(parents=True)
    (folder / "demo.bit").write_text("test fixture: not a bitstream\n")
    (folder / "demo.hwh").write_text("test fixture: not a hardware handoff\n")
    (folder / "reports" / "top_wrapper_utilization_placed.rpt").write_text(UTILIZATION_FIXTURE)
    (tmp_path / "secret").write_text("outside the build folder")
    (folder / "reports" / "link.rpt").symlink_to(tmp_path / "secret")  # never packed: not written by the build
    out = extract_bundle(deploy(build, tmp_path / "z.zip", vectors=20), tmp_path / "u")
    m = json.loads((out / "manifest.json").read_text())
    assert m["bitfile"] == "demo.bit" and m["reports"] == ["top_wrapper_utilization_placed.rpt"]
    assert not (out / "reports" / "link.rpt").exists()
    printed = run_driver(
        out,
        "from qsnn_driver import SNNAccelerator\n"
        "rows = {r['resource']: r for r in SNNAccelerator('.', backend='emulate').resource_report()}\n"
        "print(rows['LUT']['vivado'], rows['FF']['vivado'], rows['BRAM_18K']['vivado'], rows['LUT']['estimate'] > 0)",
    )
    assert printed.split() == ["4321.0", "5678.0", "15.0", "True"]


def test_driver_on_damaged_bundles_raises_driver_errors(bundle, tmp_path):
    """Every damage the driver can meet ends in a DriverError naming it, never another exception."""
    import hashlib
    import shutil

    def rehash(folder, name):
        m = json.loads((folder / "manifest.json").read_text())
        m["files"][name] = hashlib.sha256((folder / name).read_bytes()).hexdigest()
        if name == m["model_file"]:
            m["model_sha256"] = m["files"][name]
        (folder / "manifest.json").write_text(json.dumps(m))

    def truncate(folder, name):
        data = (folder / name).read_bytes()
        (folder / name).write_bytes(data[: len(data) // 2])
        rehash(folder, name)

    def vectors_wrong_shape(folder, name):
        with np.load(folder / name) as v:
            arrays = dict(v)
        arrays["counts"] = arrays["counts"][:, :3]
        np.savez(folder / name, **arrays)
        rehash(folder, name)

    damages = {
        "manifest not json": ("manifest.json", lambda f, n: (f / n).write_text("{not json")),
        "manifest a list": ("manifest.json", lambda f, n: (f / n).write_text("[]")),
        "manifest lacks files": ("manifest.json", lambda f, n: (f / n).write_text('{"model_file": "model.npz"}')),
        "model truncated (rehashed)": ("model.npz", truncate),
        "model deleted": ("model.npz", lambda f, n: (f / n).unlink()),
        "vectors truncated (rehashed)": ("test_vectors.npz", truncate),
        "vectors wrong shape (rehashed)": ("test_vectors.npz", vectors_wrong_shape),
    }
    for label, (name, damage) in damages.items():
        b = tmp_path / label.replace(" ", "_").replace("(", "").replace(")", "")
        shutil.copytree(bundle, b)
        damage(b, name)
        out = run_driver(
            b,
            "from qsnn_driver import SNNAccelerator, DriverError\n"
            "try:\n    a = SNNAccelerator('.', backend='emulate')\n    a.self_test()\n    print('NO ERROR')\n"
            "except DriverError as e:\n    print('DriverError:', e)\n",
        )
        assert out.startswith("DriverError:"), f"{label}: {out}"
    out = run_driver(
        bundle,
        "from qsnn_driver import SNNAccelerator, DriverError\na = SNNAccelerator('.', backend='emulate')\n"
        "for kw in ({'batch': 0}, {'repeats': -1}, {'batch': 'x'}):\n"
        "    try:\n        a.benchmark(**kw)\n    except DriverError as e:\n        print('ok', e)\n"
        "for t in (0, -1, float('nan')):\n"
        "    try:\n        SNNAccelerator('.', backend='emulate', timeout_s=t)\n"
        "    except DriverError as e:\n        print('ok', e)\n",
    )
    assert out.count("ok ") == 6


@pytest.mark.slow
@pytest.mark.parametrize("network", ["demo_run", "conv_run"])
def test_the_real_driver_against_the_simulated_rtl_network(pynq_python, network, request, tmp_path):
    """The bundle's driver, backend 'pynq', unchanged: PYNQ's device layer is replaced by one whose
    accelerator is the network's RTL in Verilator (the build's compiled harness, with stalls); dense and conv."""
    out = tmp_path / "b"
    run = request.getfixturevalue(network)
    report = run_build(
        BuildConfig(
            run_dir=str(run), out_dir=str(out), backend="rtl", until="rtlsim", target_cycles=64, verify_samples=30
        ),
        log=None,
    )
    assert report["verification"]["rtl_sim"]["mismatches"] == 0
    b = extract_bundle(deploy(out, tmp_path / "z.zip", vectors=60), tmp_path / "u")
    add_fixture_files(
        b,
        {
            "net.bit": "test fixture: not a bitstream (the simulated PYNQ device does not read it)\n",
            "net.hwh": "test fixture: not a hardware handoff (the simulated device has its own metadata)\n",
        },
        "net.bit",
    )
    printed = run_on_sim_board(
        pynq_python,
        b,
        "acc = SNNAccelerator('.', backend='pynq')\nprint('self_test', acc.self_test(), 'rtl runs', dev.rtl_runs)\n"
        "acc.close()\nprint('freed', dev.frees, 'of', dev.allocations)",
        SIM_RTL_DIR=str(out / "rtl"),
    )
    assert "self_test 0 rtl runs 1" in printed and "freed 2 of 2" in printed
