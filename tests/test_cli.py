"""The `qsnn` command as a user runs it: outputs, JSON, and one-line errors with exit code 2."""

import json
import os
import subprocess
import sys

import pytest


def qsnn(*args, cwd=None):
    env = {**os.environ, "TQDM_DISABLE": "1"}
    return subprocess.run(
        [sys.executable, "-m", "toolchain.cli", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=600,
    )


def assert_clean_error(r, *fragments):
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr and "Traceback" not in r.stdout
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr
    for f in fragments:
        assert f in lines[0], lines[0]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "run"
    r = qsnn("train", "--dataset", "digits", "--weight-bits", "4", "--epochs", "2", "--hidden", "32", "--out", out)
    assert r.returncode == 0, r.stderr
    assert "golden integer model agreement 1.0000 (0 mismatches" in r.stdout
    return out


def test_datasets_lists_every_dataset_with_availability():
    r = qsnn("datasets")
    assert r.returncode == 0
    for name in ("digits", "fashion-mnist", "mnist", "radioml2016", "rf-synth"):
        assert name in r.stdout
    assert "missing" in r.stdout and "RML2016.10a_dict.pkl" in r.stdout


def test_eval_json_last_line(trained):
    r = qsnn("eval", trained, "--integer", "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert {"top1", "top5", "memory_bits", "memory_ratio", "integer_agreement", "mismatches"} <= set(out)
    assert out["integer_agreement"] == 1.0 and out["mismatches"] == 0
    metrics = json.loads((trained / "metrics.json").read_text())
    assert out["top1"] == metrics["top1"]


def test_unknown_dataset(tmp_path):
    r = qsnn("train", "--dataset", "cifar", "--out", tmp_path / "x")
    assert_clean_error(r, "unknown dataset 'cifar'", "digits")
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("bits", ["0", "17", "-3"])
def test_weight_bits_out_of_range(tmp_path, bits):
    r = qsnn("train", "--weight-bits", bits, "--out", tmp_path / "x")
    assert_clean_error(r, f"--weight-bits {bits}", "1..16")
    assert not (tmp_path / "x").exists()


def test_membrane_bits_out_of_range(tmp_path):
    assert_clean_error(qsnn("train", "--membrane-bits", "40", "--out", tmp_path / "x"), "--membrane-bits 40")


def test_threshold_that_does_not_fit_the_membrane(tmp_path):
    r = qsnn("train", "--membrane-bits", "8", "--out", tmp_path / "x")
    assert_clean_error(r, "does not fit a 8-bit membrane", "--membrane-bits")
    assert not (tmp_path / "x").exists() and not any(tmp_path.iterdir()), "nothing half-written"


def test_missing_dataset_file(tmp_path):
    r = qsnn("train", "--dataset", "mnist", "--data-path", tmp_path / "nowhere", "--out", tmp_path / "x")
    assert_clean_error(r, "not available", "train-images-idx3-ubyte")


def test_missing_run_dir(tmp_path):
    assert_clean_error(qsnn("eval", tmp_path / "none"), "not found", "qsnn train")


def test_corrupted_checkpoint(tmp_path, trained):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "config.json").write_text((trained / "config.json").read_text())
    (bad / "model.pt").write_bytes(b"\x80\x04garbage")
    assert_clean_error(qsnn("eval", bad), "corrupted", "model.pt")


def test_existing_out_is_not_overwritten_without_force(trained):
    before = (trained / "metrics.json").read_text()
    assert_clean_error(qsnn("train", "--out", trained), "exists", "--force")
    assert (trained / "metrics.json").read_text() == before


def test_sweep_rejects_a_bad_grid_before_any_work(tmp_path):
    r = qsnn("sweep", "--out", tmp_path / "s", "--weight-bits", "4,40", "--epochs", "1")
    assert_clean_error(r, "--weight-bits 40")
    assert not (tmp_path / "s").exists()
    r = qsnn("sweep", "--out", tmp_path / "s", "--rounding", "nearest,up")
    assert_clean_error(r, "--rounding 'up'")


def test_select_on_a_missing_sweep(tmp_path):
    assert_clean_error(qsnn("select", tmp_path), "a sweep directory made by 'qsnn sweep'")


def test_build_without_vivado_stops_with_the_tool_and_the_finishing_command(trained, tmp_path):
    from conftest import vendor_tool

    if vendor_tool():
        pytest.skip("Vivado is installed here: the vivado-marked tests build for real")
    r = qsnn(
        "build", trained, "--out", tmp_path / "b", "--until", "bitstream", "--name", "mynet", "--verify-samples", "20"
    )
    # the step progress lines go to stderr too; the error is the last line, with no traceback
    assert r.returncode == 2 and "Traceback" not in r.stderr
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith("error: ")
    for fragment in (
        "vivado not found",
        "finn-hlslib",
        "finn deps update",
        "stopped at step 'ip'",
        "--from ip --until bitstream --name mynet",
    ):
        assert fragment in last, last
    assert not list((tmp_path / "b").rglob("*.bit"))
    report = json.loads((tmp_path / "b" / "report.json").read_text())
    assert report["steps_done"][-1] == "csim" and report["verification"]["hls_csim"]["mismatches"] == 0
