"""Nothing read or run that should not be: pickles, packed files, bundle paths and hashes, the C-sim cache,
paths that reach tcl or shell hints."""

import json
import os
import pickle
import shutil
import stat
import zipfile
from pathlib import Path

import numpy as np
import pytest

from toolchain.cli import main
from toolchain.deploy import deploy, extract_bundle
from toolchain.errors import QsnnError
from toolchain.flow.build_config import BuildConfig
from toolchain.flow.runner import run_build


class _Payload:
    """Unpickling this creates a file: the proof that a pickle ran code."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (Path(self.marker),))


def test_a_radioml_pickle_is_never_read_without_trust_pickle(tmp_path, capsys):
    marker = tmp_path / "pickle_ran_code"
    evil = tmp_path / "RML2016.10a_dict.pkl"
    evil.write_bytes(pickle.dumps({("BPSK", 0): _Payload(str(marker))}))
    code = main(["train", "--out", str(tmp_path / "r"), "--dataset", "radioml2016", "--data-path", str(evil)])
    assert code == 2 and not marker.exists()
    assert "--trust-pickle" in capsys.readouterr().err


def test_a_stored_config_never_implies_trust(demo_run, tmp_path, capsys):
    """A run whose config names a RadioML pickle: `eval` refuses to read it without the flag."""
    run = tmp_path / "run"
    shutil.copytree(demo_run, run)
    marker = tmp_path / "pickle_ran_code"
    evil = tmp_path / "RML2016.10a_dict.pkl"
    evil.write_bytes(pickle.dumps({("BPSK", 0): _Payload(str(marker))}))
    meta = json.loads((run / "config.json").read_text())
    meta["config"]["data"].update(dataset="radioml2016", path=str(evil))
    (run / "config.json").write_text(json.dumps(meta))
    assert main(["eval", str(run)]) == 2 and not marker.exists()
    assert "--trust-pickle" in capsys.readouterr().err


@pytest.fixture(scope="module")
def built(demo_run, tmp_path_factory):
    out = tmp_path_factory.mktemp("sec") / "b"
    run_build(BuildConfig(run_dir=str(demo_run), out_dir=str(out), until="estimate", verify_samples=10), log=None)
    return out


def test_deploy_packs_no_file_that_build_state_names(built, tmp_path):
    b = tmp_path / "b"
    shutil.copytree(built, b)
    state = json.loads((b / "build_state.json").read_text())
    state.update(bitfile_path="/etc/passwd", hwh_path="/etc/hostname", reports_dir="/etc")
    (b / "build_state.json").write_text(json.dumps(state))
    z = deploy(b, tmp_path / "z.zip", vectors=5)
    with zipfile.ZipFile(z) as f:
        names = f.namelist()
        blob = b"".join(f.read(n) for n in names)
    assert not any("passwd" in n or "hostname" in n for n in names)
    assert b"root:x:0:0" not in blob


@pytest.fixture
def bundle(built, tmp_path):
    return extract_bundle(deploy(built, tmp_path / "z.zip", vectors=20), tmp_path / "u")


def _driver(folder):
    """The driver as the bundle in ``folder`` ships it (its own copy of the golden package)."""
    import importlib
    import sys

    for name in [m for m in sys.modules if m == "qsnn_driver" or m.startswith("qsnn_driver.")]:
        del sys.modules[name]
    sys.path.insert(0, str(folder))
    try:
        driver = importlib.import_module("qsnn_driver")
    finally:
        sys.path.remove(str(folder))
    DriverError, SNNAccelerator = driver.DriverError, driver.SNNAccelerator

    return SNNAccelerator, DriverError


def _edit_manifest(folder, **changes):
    m = json.loads((folder / "manifest.json").read_text())
    m.update(changes)
    (folder / "manifest.json").write_text(json.dumps(m))
    return m


def test_driver_confines_manifest_paths_to_the_bundle(bundle, tmp_path):
    SNNAccelerator, DriverError = _driver(bundle)
    outside = tmp_path / "elsewhere.npz"
    shutil.copy(bundle / "model.npz", outside)
    m = json.loads((bundle / "manifest.json").read_text())
    files = dict(m["files"])
    files["../elsewhere.npz"] = files["model.npz"]
    _edit_manifest(bundle, model_file="../elsewhere.npz", files=files)
    with pytest.raises(DriverError, match="outside the bundle"):
        SNNAccelerator(bundle, backend="emulate")


def test_driver_refuses_a_tampered_model_and_unhashed_or_tampered_files(bundle):
    SNNAccelerator, DriverError = _driver(bundle)
    assert SNNAccelerator(bundle, backend="emulate").self_test() == 0
    m = json.loads((bundle / "manifest.json").read_text())
    # test vectors not listed with a hash
    files = {k: v for k, v in m["files"].items() if k != "test_vectors.npz"}
    _edit_manifest(bundle, files=files)
    with pytest.raises(DriverError, match="test_vectors.npz is not listed with a hash"):
        SNNAccelerator(bundle, backend="emulate")
    _edit_manifest(bundle, files=m["files"])
    # test vectors replaced
    with np.load(bundle / "test_vectors.npz") as v:
        arrays = dict(v)
    arrays["counts"] = arrays["counts"] + 1
    np.savez(bundle / "test_vectors.npz", **arrays)
    with pytest.raises(DriverError, match="test_vectors.npz does not match its hash"):
        SNNAccelerator(bundle, backend="emulate")


def test_driver_checks_the_stream_format_against_the_model(bundle):
    SNNAccelerator, DriverError = _driver(bundle)
    m = json.loads((bundle / "manifest.json").read_text())
    for key, value in (("in_features", 65), ("steps", 9), ("out_lanes", 3), ("in_lanes", 0)):
        _edit_manifest(bundle, stream={**m["stream"], key: value})
        with pytest.raises(DriverError, match="stream format"):
            SNNAccelerator(bundle, backend="emulate")


def test_csim_cache_is_per_user_and_binaries_are_verified(tmp_path, monkeypatch):
    from toolchain.golden import NeuronParams
    from toolchain.hls import csim

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    spec = csim.LayerSpec(
        "Ls", NeuronParams(membrane_bits=8, threshold=9), channels=4, steps=3, bias=np.zeros(4), in_bits=8
    )
    binary = csim.compile_csim([spec], tmp_path / "src")
    assert binary.parent == tmp_path / "cache" / "qsnn-pynq" / "csim"
    assert (binary.parent.stat().st_mode & 0o777) == 0o700
    x = np.random.default_rng(0).integers(-100, 100, (2, 3, 4))
    csim.run_csim(binary, 0, x)
    # a binary swapped in the cache is not run
    binary.write_bytes(b"#!/bin/sh\ntouch " + str(tmp_path / "ran").encode() + b"\n")
    with pytest.raises(QsnnError, match="not the one this user compiled"):
        csim.run_csim(binary, 0, x)
    with pytest.raises(QsnnError, match="not the one this user compiled"):
        csim.compile_csim([spec], tmp_path / "src")  # the cache hit is checked too
    assert not (tmp_path / "ran").exists()
    # a cache others may write to is refused
    os.chmod(binary.parent, 0o777)
    with pytest.raises(QsnnError, match="open to other users"):
        csim.cache_dir()


def test_paths_are_quoted_in_the_finishing_command(demo_run, tmp_path):
    from toolchain.errors import ToolNotFound

    run = tmp_path / "my run"  # a space: fine as a run folder, but must be quoted in the printed command
    shutil.copytree(demo_run, run)
    with pytest.raises(ToolNotFound) as e:
        run_build(
            BuildConfig(run_dir=str(run), out_dir=str(tmp_path / "b"), start="export", until="ip", verify_samples=5),
            log=None,
        )
    assert f"qsnn build '{run.resolve()}'" in str(e.value)


def _zip(path, members):
    """A zip of (name, bytes, unix mode) members."""
    with zipfile.ZipFile(path, "w") as z:
        for name, data, mode in members:
            info = zipfile.ZipInfo(name)
            info.external_attr = mode << 16
            z.writestr(info, data)
    return path


@pytest.mark.parametrize(
    "case, words",
    [
        ("missing", "not found"),
        ("not-a-zip", "is not a readable zip"),
        ("symlink", "is a symbolic link"),
        ("through-a-file", "would be written through the file member"),
    ],
)
def test_extract_bundle_refuses_what_is_not_a_plain_bundle(case, words, tmp_path):
    z = tmp_path / "b.zip"
    if case == "not-a-zip":
        z.write_bytes(b"PK\x03\x04 but not really")
    elif case == "symlink":
        _zip(z, [("b/link", b"/etc", stat.S_IFLNK | 0o777), ("b/link/passwd", b"x", stat.S_IFREG | 0o644)])
    elif case == "through-a-file":
        _zip(z, [("b/x", b"a file", stat.S_IFREG | 0o644), ("b/x/y", b"under it", stat.S_IFREG | 0o644)])
    with pytest.raises(QsnnError, match=words):
        extract_bundle(z, tmp_path / "u")
    assert not (tmp_path / "u").exists() or not any((tmp_path / "u").rglob("*"))


def test_driver_answers_an_empty_batch_with_an_empty_result(bundle):
    SNNAccelerator, _ = _driver(bundle)
    acc = SNNAccelerator(str(bundle), backend="emulate")
    shape = tuple(acc.input_shape)
    scores = acc.execute(np.zeros((0, *shape), dtype=np.uint8))
    one = acc.execute(np.zeros((1, *shape), dtype=np.uint8))
    assert scores.shape == (0, one.shape[1]) and acc.predict(np.zeros((0, *shape), dtype=np.uint8)).shape == (0,)
