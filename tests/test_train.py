"""Training schemes, pruning, run directories, metrics and the memory model."""

import json

import numpy as np
import pytest
import torch

from toolchain.config import RunConfig
from toolchain.data.base import Dataset
from toolchain.estimate.memory import footprint
from toolchain.runs import load_run
from toolchain.train import accuracy_metrics, run


def small_cfg(**kw):
    cfg = RunConfig()
    cfg.model.hidden, cfg.train.epochs = (32,), 3
    for k, v in kw.items():
        section, name = k.split("__")
        setattr(getattr(cfg, section), name, v)
    return cfg


@pytest.mark.parametrize("scheme", ["qat", "ptq"])
@pytest.mark.parametrize("rounding", ["floor", "nearest", "stochastic"])
def test_quantized_run_writes_a_complete_run_dir_with_zero_golden_mismatches(tmp_path, scheme, rounding):
    out = tmp_path / "run"
    m = run(small_cfg(quant__scheme=scheme, quant__rounding=rounding), out)
    assert sorted(p.name for p in out.iterdir()) == [
        "config.json",
        "golden.npz",
        "history.csv",
        "metrics.json",
        "model.pt",
        "software_latency.png",
    ]
    assert m["mismatches"] == 0 and m["integer_agreement"] == 1.0 and m["samples"] == 360
    # measured per sample on this host: the quantized network in torch, the golden model, PTQ's float network
    lat = m["software_latency"]
    assert set(lat) == {"quantized", "golden", "host"} | ({"float"} if scheme == "ptq" else set())
    for name in set(lat) - {"host"}:
        f = lat[name]
        assert f["samples"] == 30 and 0 < f["min_us"] <= f["p5_us"] <= f["median_us"] <= f["p95_us"] <= f["max_us"]
    assert m["top1"] > 0.25, "three epochs on digits already learn something (chance is 0.1)"
    state = torch.load(out / "model.pt", weights_only=True)
    assert any(k.endswith("mask") for k in state)
    if scheme == "ptq":
        assert "float_top1" in m and len(m["calibration_saturation"]) == 2
    saved = json.loads((out / "metrics.json").read_text())
    assert saved["top1"] == m["top1"] and 0 < saved["memory_ratio"] < 1


def test_reloaded_run_reproduces_metrics(tmp_path):
    m = run(small_cfg(), tmp_path / "r")
    cfg, net, ds = load_run(tmp_path / "r")
    from toolchain.train import evaluate

    assert evaluate(net, cfg, ds)["top1"] == m["top1"]


@pytest.mark.parametrize("mode", ["cumulative", "joint"])
@pytest.mark.parametrize("scheme", ["qat", "ptq"])
def test_pruning_reaches_target_sparsity(tmp_path, mode, scheme):
    m = run(
        small_cfg(
            train__prune=0.6, train__prune_mode=mode, quant__scheme=scheme, quant__weight_bits=4, train__epochs=4
        ),
        tmp_path / "p",
    )
    # quantization can only add zeros to the pruned ones
    assert m["nonzero_weights"] <= 0.4 * m["n_weights"] + 1
    assert m["mismatches"] == 0


def test_float_run_has_no_integer_model(tmp_path):
    m = run(small_cfg(quant__weight_bits=None, quant__membrane_bits=None), tmp_path / "f")
    assert m["memory_ratio"] == 1.0 and "mismatches" not in m
    assert not (tmp_path / "f" / "golden.npz").exists()


def test_memory_footprint_matches_hand_computation():
    # 64-128-10, 4-bit weights, 16-bit membrane, beta leak with F = 8 (9-bit beta)
    f = footprint([(64 * 128, 128), (128 * 10, 10)], 4, 16, "beta", 8)
    assert f["memory_bits"] == 9472 * 4 + 138 * 16 * 2 + 2 * 16 + 2 * 9 == 42354
    assert f["memory_float_bits"] == 9472 * 32 + 138 * 32 * 2 + 2 * 32 + 2 * 32 == 312064
    assert f["memory_ratio"] == pytest.approx(42354 / 312064)
    assert footprint([(10, 2)], 2, 8, "none")["parts"]["leak"] == 0
    # CubaLIF: a second state (the current J) per neuron and an alpha per layer, at 9 bits
    c = footprint([(64 * 128, 128), (128 * 10, 10)], 4, 16, "beta", 8, neuron_model="cubalif")
    assert c["memory_bits"] == 42354 + 138 * 16 + 2 * 9 == 44580  # what 'qsnn train --neuron cubalif' printed


def test_accuracy_ties_go_to_the_lowest_index():
    ds = Dataset("t", None, None, None, None, (1,), ["a", "b", "c", "d", "e", "f"])
    counts = np.array(
        [
            [
                3,
                3,
                0,
                0,
                0,
                0,
            ],
            [0, 1, 1, 1, 1, 1],
            [0, 0, 0, 0, 0, 0],
        ]
    )
    m = accuracy_metrics(counts, np.array([1, 0, 5]), ds)
    assert m["top1"] == 0.0  # argmax picks 0, 1, 0
    # top-5: sample 0 hits (0..4 holds 1); sample 1 misses (1..5 lacks 0); sample 2 misses (ties: 0..4 lacks 5)
    assert m["top5"] == pytest.approx(1 / 3)


@pytest.mark.slow
def test_digits_accuracy_float_and_4bit_within_one_point(tmp_path):
    """The issues' bars: float SNN >= 95% on digits; 4-bit weights within 1 point with a 16-bit membrane, and with an
    8-bit membrane (--membrane-shift auto), which then passes every ladder level to C-sim."""
    base = RunConfig()
    base.train.epochs = 20
    f = run(
        RunConfig.from_dict({**base.to_dict(), "quant": {"weight_bits": None, "membrane_bits": None}}),
        tmp_path / "float",
    )
    q = run(base, tmp_path / "q4")
    assert f["top1"] >= 0.95
    assert q["top1"] >= f["top1"] - 0.01 and q["mismatches"] == 0

    # an 8-bit membrane with 4-bit weights and 8-bit inputs: the membrane counts 2^k accumulator units
    # (measured: float 97.50 %, this 97.22 %; the first layer shifts by 7, the second by 0)
    base.quant.membrane_bits, base.quant.membrane_shift = 8, "auto"
    m8 = run(base, tmp_path / "m8")
    assert m8["top1"] >= f["top1"] - 0.01 and m8["mismatches"] == 0
    from toolchain.flow.build_config import BuildConfig
    from toolchain.flow.runner import run_build
    from toolchain.golden import GoldenModel

    layers = GoldenModel.load(tmp_path / "m8" / "golden.npz").layers
    assert all(layer.neuron.membrane_bits == 8 for layer in layers) and layers[0].neuron.input_shift > 0
    out = tmp_path / "b"
    run_build(BuildConfig(run_dir=str(tmp_path / "m8"), out_dir=str(out), until="csim", target_cycles=64), log=None)
    levels = json.loads((out / "build_state.json").read_text())["verification"]
    assert set(levels) == {"qonnx", "finn_hw", "hls_csim"}
    assert all(v["mismatches"] == 0 and v["samples"] == 360 for v in levels.values()), levels


def test_auto_membrane_bits_is_the_narrowest_that_holds_the_threshold(tmp_path):
    from toolchain.train import resolve_membrane_bits

    cfg = small_cfg(quant__membrane_bits="auto", quant__weight_bits=8)
    m = run(cfg, tmp_path / "auto")
    saved = json.loads((tmp_path / "auto" / "config.json").read_text())["config"]["quant"]["membrane_bits"]
    assert isinstance(saved, int) and m["mismatches"] == 0
    # one bit narrower would not hold the largest integer threshold with the +-2 theta headroom
    from toolchain.data import load_dataset

    cfg2 = small_cfg(quant__membrane_bits="auto", quant__weight_bits=8)
    assert resolve_membrane_bits(cfg2, load_dataset(cfg2.data)) == saved
    cfg2.quant.membrane_bits = saved - 2
    with pytest.raises(Exception, match="does not fit"):
        run(cfg2, tmp_path / "narrow")


def test_qat_from_a_float_run_starts_from_its_weights(tmp_path):
    from toolchain.errors import QsnnError

    float_run = tmp_path / "float"
    run(small_cfg(quant__weight_bits=None, quant__membrane_bits=None), float_run)
    m = run(small_cfg(train__init_from=str(float_run), train__epochs=0), tmp_path / "q")
    assert m["mismatches"] == 0
    ours = torch.load(tmp_path / "q" / "model.pt", weights_only=True)
    theirs = torch.load(float_run / "model.pt", weights_only=True)
    for key in ("synapses.0.op.weight", "synapses.1.op.weight", "synapses.0.bias"):
        assert torch.equal(ours[key], theirs[key])  # no training step: still the float run's weights
    with pytest.raises(QsnnError, match="other layers"):
        run(small_cfg(train__init_from=str(float_run), model__hidden=(16,)), tmp_path / "x")
    with pytest.raises(QsnnError, match="quantized run"):
        run(small_cfg(train__init_from=str(tmp_path / "q")), tmp_path / "y")
    with pytest.raises(QsnnError, match="--scheme qat"):
        run(small_cfg(train__init_from=str(float_run), quant__scheme="ptq"), tmp_path / "z")
