"""Recurrent spiking layers (rN, --recurrent): I[t] = W x[t] + b + V s[t-1], V quantized like W, from training
through the golden model, QONNX, FINN's HW graph, HLS C-simulation and the RTL backend; and the temporal task
(order-synth) that needs them."""

import json

import numpy as np
import pytest
from helpers import skip_without_verilator

from toolchain.cli import main
from toolchain.golden import NeuronParams, run_neurons

FINN_DEPS = __import__("pathlib").Path(__file__).resolve().parents[1].parent / "shared" / "finn-deps"


def reference_recurrent_lif(current, v_rec, threshold, beta_int, frac, bits, reset_zero):
    """DESIGN.md's LIF with floor rounding and a beta leak, plus V s[t-1], one neuron at a time in plain Python."""
    n, steps, size = current.shape
    lo, hi = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    out = np.zeros_like(current)
    for a in range(n):
        v = [0] * size
        for t in range(steps):
            for i in range(size):
                drive = int(current[a, t, i])
                if t > 0:
                    drive += sum(int(v_rec[i, j]) for j in range(size) if out[a, t - 1, j])
                u = min(max(((v[i] * beta_int) >> frac) + drive, lo), hi)
                s = int(u >= threshold)
                v[i] = (0 if reset_zero else u - threshold) if s else u
                out[a, t, i] = s
    return out


@pytest.mark.parametrize("reset", ["subtract", "zero"])
def test_golden_recurrence_equals_a_plain_python_neuron(reset):
    rng = np.random.default_rng(5)
    current = rng.integers(-40, 90, (3, 9, 7))
    v_rec = rng.integers(-30, 31, (7, 7))
    p = NeuronParams(
        membrane_bits=10, threshold=60, leak_mode="beta", beta_int=200, beta_frac_bits=8, rounding="floor", reset=reset
    )
    got = run_neurons(current, p.validate("test"), recurrent=v_rec)
    want = reference_recurrent_lif(current, v_rec, 60, 200, 8, 10, reset == "zero")
    assert np.array_equal(got, want)
    assert not np.array_equal(got, run_neurons(current, p, recurrent=None))  # the recurrence changes the spikes


def _train(out, *extra, epochs=10):
    argv = ["train", "--dataset", "order-synth", "--steps", "16", "--beta", "0.5", "--reset", "zero"]
    argv += ["--weight-bits", "4", "--membrane-bits", "12", "--hidden", "32", "--epochs", str(epochs)]
    assert main([*argv, "--out", str(out), *extra]) == 0
    return json.loads((out / "metrics.json").read_text())


def test_the_order_task_needs_recurrence(tmp_path):
    """order-synth's class is the order of two bursts: with membranes that forget within the gap (beta 0.5, reset to
    zero) a feed-forward network of 32 neurons cannot tell AB from BA; the same network with recurrent weights
    can. Both at 4-bit weights, integer model exact."""
    ff = _train(tmp_path / "ff")
    rec = _train(tmp_path / "rec", "--recurrent")
    assert ff["mismatches"] == 0 and rec["mismatches"] == 0
    assert rec["top1"] >= ff["top1"] + 0.20, (ff["top1"], rec["top1"])
    assert rec["memory_bits"] > ff["memory_bits"]  # V (32 x 32 at 4 bits) counted with the weights
    print("order-synth top-1: feed-forward", ff["top1"], "recurrent", rec["top1"])


@pytest.mark.parametrize("neuron", ["lif", "cubalif"])  # snnTorch's RLeaky and RSynaptic
def test_a_trained_recurrent_network_is_bit_exact_down_the_ladder(tmp_path, neuron):
    """The recurrent network through qonnx (the LIF node's recurrent_weights), FINN's HW graph (the recurrence
    inside the LIFLayer node) and HLS C-simulation (the kernel holds the step's spikes), 300 samples each; CubaLIF
    (snnTorch's RSynaptic) takes V s[t-1] into its synaptic current as it takes W x[t]."""
    run = tmp_path / "rec"
    _train(run, "--recurrent", "--neuron", neuron, epochs=3)
    deps = ["--finn-deps", str(FINN_DEPS)] if (FINN_DEPS / "finn-hlslib").is_dir() else []
    out = tmp_path / "hls"
    args = ["build", str(run), "--out", str(out), "--until", "csim", "--verify-samples", "300"]
    assert main([*args, "--target-cycles", "16", *deps]) == 0
    report = json.loads((out / "report.json").read_text())
    for level in ("qonnx", "finn_hw", "hls_csim"):
        v = report["verification"][level]
        assert v["mismatches"] == 0 and v["samples"] == 300, (level, v)
    assert report["verification"]["hls_csim"]["nodes"]["LIFLayer_hls_0"] == "cpp"


@pytest.mark.parametrize("target, neuron", [(8, "lif"), (1024, "lif"), (8, "cubalif")])  # PE 8 and PE 1
def test_a_trained_recurrent_network_in_rtl_simulation_with_yosys_counts(tmp_path, target, neuron):
    """The RTL backend: qsnn_recurrent adds V s[t-1] from the core's own output stream; 300 samples with random
    stalls on both streams equal the golden model; the simulated interval matches the estimate's cycles (which
    count the input stage's walk over the step's spikes) within 5 %; Yosys counts the layer; the energy counts the
    recurrent weights the simulation saw added (one per neuron per spike of the step before)."""
    skip_without_verilator()
    run = tmp_path / "rec"
    _train(run, "--recurrent", "--neuron", neuron, epochs=3)
    out = tmp_path / "rtl"
    args = ["build", str(run), "--out", str(out), "--backend", "rtl", "--until", "synth", "--verify-samples", "300"]
    assert main([*args, "--target-cycles", str(target)]) == 0
    report = json.loads((out / "report.json").read_text())
    v = report["verification"]["rtl_sim"]
    assert v["mismatches"] == 0 and v["samples"] == 300
    est = report["estimate"]["cycles_per_inference"]
    assert abs(v["interval_cycles"] - est) <= 0.05 * est, (v["interval_cycles"], est)
    assert (
        report["synthesis"]["per_layer"]["LIFLayer_rtl_0"]["LUT"]
        > report["synthesis"]["per_layer"]["LIFLayer_rtl_1"]["LUT"]
    )
    # each spike of the recurrent layer at t < T-1 reaches all 32 neurons of the step after (independent count)
    from toolchain.data import load_dataset
    from toolchain.golden import GoldenModel
    from toolchain.runs import run_config

    x = load_dataset(run_config(run).data).x_test[:300]
    hidden = GoldenModel.load(run / "golden.npz").run(x, record=True)[1][0]
    events = report["energy"]["events_per_inference"]["LIFLayer_rtl_0"]
    assert events["recurrent_synops"] * 300 == pytest.approx(hidden[:, :-1].sum() * 32, abs=1e-6)


@pytest.mark.parametrize(
    "argv, words",
    [
        (["--recurrent", "--weight-bits", "1"], "recurrent layers need 2+ weight bits"),
        (["--layers", "r16", "--non-spiking", "--weight-bits", "float"], "it has no recurrent layers"),
        (["--arch", "conv", "--hidden", "4", "--recurrent"], "in --layers use rN tokens"),
    ],
)
def test_recurrent_options_that_cannot_hold_are_refused(argv, words, tmp_path, capsys):
    assert main(["train", "--dataset", "digits", *argv, "--out", str(tmp_path / "r")]) == 2
    assert words in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_conv_layers_with_a_recurrent_dense_layer_after_them_are_accepted():
    from toolchain.config import RunConfig

    cfg = RunConfig()
    cfg.model.layers = ("c4k3", "mp2", "r16")
    cfg.validate()  # the conv specs' extra fields are not a recurrent flag
    assert [s for s in cfg.model.layout() if s[0] == "dense"] == [("dense", 16, "recurrent")]
