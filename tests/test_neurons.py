"""The neuron-model registry, the LI readout model and the readouts (count, membrane, first spike): each against
an independent computation, and trained networks with each readout through every ladder level."""

import numpy as np
import pytest
import torch
from helpers import skip_without_verilator

from toolchain.errors import QsnnError
from toolchain.golden import GoldenModel, Layer, NeuronParams, hash_table, neurons, readout, run_neurons
from toolchain.hls.csim import template_dir


def test_registry_finds_every_model_and_names_the_choices():
    assert {"lif", "cubalif", "li"} <= set(neurons.names())
    for name in neurons.names():
        model = neurons.get(name)
        assert model.name == name and "=" in model.__doc__  # its equations
        assert (template_dir() / "neurons" / model.hls_header).is_file()
        assert model.states[0] == "membrane"
    with pytest.raises(QsnnError, match="izhikevich.*lif, cubalif, li"):
        neurons.get("izhikevich")


def test_registering_a_name_twice_is_refused():
    with pytest.raises(QsnnError, match="registered twice"):
        neurons.register(type("Again", (neurons.NeuronModel,), {"name": "lif"}))


def _li_reference(current, p):
    """LI in plain Python integers: V = sat_B(leak(V) + I), out = V (floor division is the arithmetic shift)."""
    lo, hi = -(1 << (p.membrane_bits - 1)), (1 << (p.membrane_bits - 1)) - 1
    n, steps, size = current.shape
    h = hash_table(p.seed, steps, size)
    f = p.beta_frac_bits
    out = np.zeros_like(current)
    for b in range(n):
        for i in range(size):
            v = 0
            for t in range(steps):
                if p.leak_mode == "shift":
                    v = v - v // (1 << p.leak_shift)
                elif p.leak_mode == "beta":
                    r = {"floor": 0, "nearest": 1 << (f - 1), "stochastic": int(h[t, i]) % (1 << f)}[p.rounding]
                    v = (v * p.beta_int + r) // (1 << f)
                v = min(max(v + int(current[b, t, i]), lo), hi)
                out[b, t, i] = v
    return out


@pytest.mark.parametrize("rounding", ["floor", "nearest", "stochastic"])
@pytest.mark.parametrize("leak", ["none", "shift", "beta"])
def test_li_equals_a_python_reference(leak, rounding):
    rng = np.random.default_rng(3)
    current = rng.integers(-90, 91, (3, 10, 6))
    current[0, :5] = 400  # saturate upwards
    p = NeuronParams(
        membrane_bits=9, threshold=1, leak_mode=leak, leak_shift=2, beta_int=200, rounding=rounding, seed=5
    )
    p.neuron_model = "li"
    want = _li_reference(current, p.validate())
    got = run_neurons(current, p)
    assert int((got != want).sum()) == 0
    assert want.max() == 255 and want.min() < 0  # saturation and negative membranes are exercised


def test_readouts_hand_computed():
    # one sample, T = 4, three classes: class 0 spikes late and often, class 1 early once, class 2 never
    out = np.array([[[0, 0, 0], [0, 1, 0], [1, 0, 0], [1, 0, 0]]])
    assert readout(out, "count").tolist() == [[2, 1, 0]]
    assert readout(out, "membrane").tolist() == [[1, 0, 0]]  # the last step's values
    assert readout(out, "first-spike").tolist() == [[2 * 5 + 2, 3 * 5 + 1, 0]]  # class 1 first: it wins
    tie = np.array([[[1, 1], [0, 1]]])  # both at t = 0: the one with more spikes wins
    assert np.argmax(readout(tie, "first-spike")) == 1
    assert torch.equal(readout(torch.from_numpy(out), "first-spike"), torch.from_numpy(readout(out, "first-spike")))
    with pytest.raises(QsnnError, match="readout 'votes'"):
        readout(out, "votes")


def _layer(model, rng, n_in, n_out, threshold=20):
    p = NeuronParams(membrane_bits=10, threshold=threshold, leak_mode="beta", beta_int=230, rounding="nearest")
    p.neuron_model = model
    return Layer("dense", rng.integers(-3, 4, (n_out, n_in)), rng.integers(-2, 3, n_out), p.validate(), (n_in,))


def test_golden_model_refuses_a_readout_its_layers_do_not_fit():
    rng = np.random.default_rng(0)
    hidden, li = _layer("lif", rng, 6, 5), _layer("li", rng, 5, 3)
    GoldenModel([hidden, li], (6,), 4, readout="membrane").check_shapes()
    with pytest.raises(ValueError, match="only the last layer may be a non-spiking readout"):
        GoldenModel([hidden, _layer("lif", rng, 5, 3)], (6,), 4, readout="membrane").check_shapes()
    with pytest.raises(ValueError, match="only the last layer may be a non-spiking readout"):
        GoldenModel([_layer("li", rng, 6, 5), _layer("lif", rng, 5, 3)], (6,), 4).check_shapes()


@pytest.mark.parametrize("kind", ["membrane", "first-spike"])
def test_golden_equals_the_training_network_for_each_readout(kind):
    from tests.helpers import random_net

    _, net = random_net(readout=kind, steps=8)
    x = np.random.default_rng(1).integers(0, 256, (40, 4, 4, 1))
    golden = net.to_golden()
    with torch.no_grad():
        ours = net(torch.from_numpy(golden.encode(x)), integer=True).numpy()
    want = golden.run(x)
    assert int(np.sum(ours != want)) == 0
    assert len(np.unique(want)) > 3  # the scores are not degenerate


def test_per_neuron_threshold_and_beta_equal_a_python_reference():
    """One threshold and beta per channel of a conv-like layer (channel c of neuron i = i mod C), in plain Python."""
    rng = np.random.default_rng(4)
    channels, pixels, steps = 3, 4, 7
    current = rng.integers(-20, 60, (2, steps, pixels * channels))
    p = NeuronParams(
        membrane_bits=8,
        threshold=9,
        leak_mode="beta",
        beta_int=0,
        rounding="nearest",
        reset="subtract",
        thresholds=(5, 30, 90),
        beta_ints=(256, 128, 200),
    ).validate()
    want = np.zeros_like(current)
    for b in range(2):
        for i in range(pixels * channels):
            theta, beta, v = p.thresholds[i % channels], p.beta_ints[i % channels], 0
            for t in range(steps):
                u = min(max((v * beta + 128) // 256 + int(current[b, t, i]), -128), 127)
                want[b, t, i] = u >= theta
                v = u - theta if u >= theta else u
    assert int((run_neurons(current, p) != want).sum()) == 0
    assert len({int(want[:, :, c::channels].sum()) for c in range(channels)}) == channels  # the channels differ


def test_per_neuron_cubalif_alpha_equals_a_python_reference():
    """CubaLIF with an alpha (the current's decay) per channel, in plain Python: J = sat(R(J * alpha_c, 8) + I),
    U = sat(V + J) (no membrane leak), fire at theta, reset by subtraction."""
    rng = np.random.default_rng(8)
    channels, pixels, steps = 3, 2, 9
    current = rng.integers(-30, 50, (2, steps, pixels * channels))
    p = NeuronParams.from_attrs(
        {
            "membrane_bits": 9,
            "threshold": 40,
            "rounding": "nearest",
            "neuron_model": "cubalif",
            "alpha_int": 7,
            "alpha_ints": [0, 128, 250],
        }
    ).validate()
    want = np.zeros_like(current)
    for b in range(2):
        for i in range(pixels * channels):
            alpha, j, v = (0, 128, 250)[i % channels], 0, 0
            for t in range(steps):
                j = min(max((j * alpha + 128) // 256 + int(current[b, t, i]), -256), 255)
                u = min(max(v + j, -256), 255)
                want[b, t, i] = u >= 40
                v = u - 40 if u >= 40 else u
    assert int((run_neurons(current, p) != want).sum()) == 0
    assert len({int(want[:, :, c::channels].sum()) for c in range(channels)}) == channels  # the channels differ
    # the attribute round trip (QONNX node, golden.npz header) keeps the vector
    assert NeuronParams.from_attrs(p.attrs()).alpha_ints == (0, 128, 250)


def test_per_neuron_vectors_out_of_range_are_refused_by_name():
    with pytest.raises(QsnnError, match="threshold=300 does not fit a 8-bit membrane"):
        NeuronParams(membrane_bits=8, threshold=3, thresholds=(3, 300)).validate("x")
    with pytest.raises(QsnnError, match="beta_int=999"):
        NeuronParams(membrane_bits=8, threshold=3, leak_mode="beta", beta_ints=(9, 999)).validate("x")
    with pytest.raises(QsnnError, match="beta_ints are per-neuron decays of leak_mode beta"):
        NeuronParams(membrane_bits=8, threshold=3, leak_mode="shift", beta_ints=(9,)).validate("x")
    with pytest.raises(QsnnError, match="alpha_int=300 is out of range"):
        NeuronParams.from_attrs(
            {"membrane_bits": 8, "threshold": 3, "neuron_model": "cubalif", "alpha_ints": [9, 300]}
        ).validate("x")


RUNS = {
    "membrane": {"model__readout": "membrane"},
    "first-spike": {"model__readout": "first-spike"},
    "per-neuron": {"neuron__per_neuron": True},
    "per-neuron-membrane-conv": {
        "neuron__per_neuron": True,
        "model__readout": "membrane",
        "model__arch": "conv",
        "model__hidden": (4,),
        "model__pool": 2,
    },
    # CubaLIF learning an alpha per channel beside the threshold and beta
    "per-neuron-cubalif-conv": {
        "neuron__per_neuron": True,
        "neuron__model": "cubalif",
        "model__arch": "conv",
        "model__hidden": (4,),
        "model__pool": 2,
    },
}


@pytest.mark.slow
@pytest.mark.parametrize("kind", list(RUNS))
def test_trained_readout_networks_through_every_level(kind, tmp_path_factory):
    """A trained digits network per readout, and with a threshold and beta (CubaLIF: and alpha) per neuron: C-sim
    and the whole network's RTL give 0 mismatches."""
    from tests.conftest import _train
    from toolchain.flow.build_config import BuildConfig
    from toolchain.flow.runner import run_build

    run = _train(tmp_path_factory, kind, train__epochs=4, **RUNS[kind])
    metrics = __import__("json").loads((run / "metrics.json").read_text())
    assert metrics["mismatches"] == 0 and metrics["top1"] > (0.5 if "conv" in kind else 0.8)  # 4 epochs
    if "cubalif" in kind:  # the alphas were learned: they moved apart from --alpha
        from toolchain.golden import GoldenModel

        alphas = GoldenModel.load(run / "golden.npz").layers[0].neuron.alpha_ints
        assert len(alphas) == 4 and len(set(alphas)) > 1, alphas
    out = tmp_path_factory.mktemp("b")
    hls = run_build(BuildConfig(run_dir=str(run), out_dir=str(out / "hls"), until="csim", target_cycles=32), log=None)
    assert {k: v["mismatches"] for k, v in hls["verification"].items()} == {"qonnx": 0, "finn_hw": 0, "hls_csim": 0}
    skip_without_verilator()
    cfg = BuildConfig(run_dir=str(run), out_dir=str(out / "rtl"), backend="rtl", until="rtlsim", target_cycles=32)
    rtl = run_build(cfg, log=None)
    assert rtl["verification"]["rtl_sim"]["mismatches"] == 0 and rtl["verification"]["rtl_sim"]["samples"] == 360
