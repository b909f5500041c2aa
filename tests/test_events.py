"""Event data end to end: `qsnn train --dataset shd|nmnist|dvsgesture --data-path ...` on small files written in
each format (tests/event_files.py; their accuracy means nothing), and an event network through the ladder: its
first synapse takes spikes, and every level equals the golden model."""

import json
from pathlib import Path

import event_files
import pytest
from helpers import skip_without_verilator

from toolchain.cli import main

FINN_DEPS = Path(__file__).resolve().parents[1].parent / "shared" / "finn-deps"


@pytest.mark.parametrize(
    "name, writer, extra",
    [
        ("shd", event_files.write_shd, ["--event-pool", "5", "--steps", "10"]),
        ("nmnist", event_files.write_nmnist, ["--arch", "conv", "--hidden", "4", "--pool", "2"]),
        ("dvsgesture", event_files.write_dvsgesture, ["--event-pool", "4", "--bin-ms", "200", "--event-bits", "2"]),
    ],
)
def test_train_on_each_event_dataset_from_the_command_line(tmp_path, name, writer, extra, capsys):
    data = writer(tmp_path / "data")
    out = tmp_path / "run"
    argv = ["train", "--dataset", name, "--data-path", str(data), "--weight-bits", "4", "--membrane-bits", "16"]
    assert main([*argv, "--epochs", "1", "--out", str(out), *extra]) == 0, capsys.readouterr().err
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["mismatches"] == 0  # the integer model agrees on every test sample
    cfg = json.loads((out / "config.json").read_text())["config"]["data"]
    assert cfg["encoding"] == "events" and cfg["dataset"] == name


def test_an_event_network_is_bit_exact_through_hls_csim_and_rtl_sim(tmp_path, capsys):
    """SHD-format spikes (700 channels pooled to 140, T = 10): the first synapse is a spiking one (BINARY input, no
    multipliers), and qonnx, finn_hw, hls_csim and rtl_sim all give the golden model's outputs."""
    skip_without_verilator()
    data = event_files.write_shd(tmp_path / "data", n_train=60, n_test=40)
    run = tmp_path / "run"
    argv = ["train", "--dataset", "shd", "--data-path", str(data), "--event-pool", "5", "--steps", "10"]
    assert (
        main(
            [*argv, "--weight-bits", "4", "--membrane-bits", "12", "--hidden", "32", "--epochs", "2", "--out", str(run)]
        )
        == 0
    )
    deps = ["--finn-deps", str(FINN_DEPS)] if (FINN_DEPS / "finn-hlslib").is_dir() else []
    hls = tmp_path / "hls"
    assert main(["build", str(run), "--out", str(hls), "--until", "csim", "--target-cycles", "64", *deps]) == 0
    rtl = tmp_path / "rtl"
    assert (
        main(["build", str(run), "--out", str(rtl), "--backend", "rtl", "--until", "rtlsim", "--target-cycles", "64"])
        == 0
    )
    for folder, levels in ((hls, ("qonnx", "finn_hw", "hls_csim")), (rtl, ("qonnx", "finn_hw", "rtl_sim"))):
        report = json.loads((folder / "report.json").read_text())
        for level in levels:
            v = report["verification"][level]
            assert v["mismatches"] == 0 and v["samples"] == 40, (level, v)
    est = json.loads((hls / "report.json").read_text())["estimate"]
    assert est["dsp"] == 0  # a spike selects its weight: no multiplier in the first synapse either
    from qonnx.core.modelwrapper import ModelWrapper

    model = ModelWrapper(str(next((hls / "intermediate").glob("00_export.onnx"))))
    assert model.get_tensor_datatype(model.graph.input[0].name).name == "BINARY"
