"""Conv SNNs through the flow: Conv2d (images) and Conv1d (I/Q sequences) + LIF + max-pool on spikes + dense,
lowered by FINN's own sliding-window generator; every ladder level equal to the golden model; frames never mix."""

import json
from pathlib import Path

import numpy as np
import pytest
from helpers import skip_without_verilator

from toolchain.config import RunConfig
from toolchain.errors import QsnnError
from toolchain.flow.build_config import BuildConfig
from toolchain.flow.runner import run_build


def _train(tmp_path_factory, name, **sections):
    from toolchain.train import run

    cfg = RunConfig()
    for key, value in sections.items():
        section, field = key.split("__")
        setattr(getattr(cfg, section), field, value)
    out = tmp_path_factory.mktemp("conv") / name
    metrics = run(cfg, out, progress=False)
    assert metrics["mismatches"] == 0  # the network's integer mode (torch conv / max-pool) == the golden model
    return out


@pytest.fixture(scope="module")
def conv2d_run(tmp_path_factory):
    return _train(
        tmp_path_factory,
        "c2d",
        model__arch="conv",
        model__hidden=(6,),
        model__pool=2,
        model__fc=(16,),
        train__epochs=3,
    )


@pytest.fixture(scope="module")
def conv1d_run(tmp_path_factory):
    return _train(
        tmp_path_factory,
        "c1d",
        data__dataset="rf-synth",
        data__snrs=(18,),
        data__steps=4,
        data__limit=400,
        model__arch="conv",
        model__hidden=(4, 4),
        model__kernel=5,
        model__pool=4,
        train__epochs=1,
    )


def build(run_dir, out, until="csim", **kw):
    return run_build(BuildConfig(run_dir=str(run_dir), out_dir=str(out), until=until, **kw), log=None)


@pytest.fixture(scope="module")
def conv2d_build(conv2d_run, tmp_path_factory):
    """The Conv2d run built to C-sim once, for the tests that read its levels, graphs and bundle."""
    out = tmp_path_factory.mktemp("conv") / "b"
    build(conv2d_run, out, target_cycles=16)
    return out


def _ladder(out):
    state = json.loads((out / "build_state.json").read_text())
    return state, {k: (v["mismatches"], v["samples"]) for k, v in state["verification"].items()}


def test_conv2d_with_pooling_to_csim_zero_mismatches_and_estimates(conv2d_build):
    state, levels = _ladder(conv2d_build)
    assert set(levels) == {"qonnx", "finn_hw", "hls_csim"}
    assert all(bad == 0 and n == 360 for bad, n in levels.values()), levels
    ops = [layer["op"] for layer in state["estimate"]["per_layer"]]
    # FINN's own sliding windows: one for the 3x3 conv, one for the 2x2 max-pool, then the spike pool (an OR)
    assert ops.count("ConvolutionInputGenerator_rtl") == 2 and "PoolSpikes_hls" in ops
    assert ops.count("LIFLayer_hls") == 3 and "MVAUSpike_hls" in ops
    est = state["estimate"]
    assert est["lut"] > 0 and est["latency_us"] > 0
    # a conv graph is one time step: the bottleneck layer's cycles per run are its cycles per step
    worst = max(layer["cycles_per_graph_run"] for layer in est["per_layer"])
    assert est["cycles_per_step"] == worst
    lif0 = next(layer for layer in est["per_layer"] if layer["op"] == "LIFLayer_hls")
    assert lif0["folding"]["PE"] in (1, 2, 3, 6)  # PE divides the 6 channels, not the 216 neurons


@pytest.mark.slow
def test_conv1d_iq_sequences_to_csim_and_rtl_zero_mismatches(conv1d_run, tmp_path):
    """Two Conv1d layers with a max-pool between them: C-sim, then the RTL network in Verilator."""
    build(conv1d_run, tmp_path / "b", target_cycles=64, verify_samples=400)
    state, levels = _ladder(tmp_path / "b")
    assert all(bad == 0 and n == 400 for bad, n in levels.values()), levels
    from qonnx.core.modelwrapper import ModelWrapper

    model = ModelWrapper(str(tmp_path / "b" / "model.onnx"))
    assert model.get_tensor_shape(model.graph.input[0].name) == [1, 1, 128, 2]  # one frame, NHWC, 1 x L
    rtl = rtl_build(conv1d_run, tmp_path / "r", target_cycles=64, verify_samples=300)
    assert [layer["op"] for layer in rtl["estimate"]["per_layer"]].count("PoolSpikes_rtl") == 2


def test_frames_never_mix_and_state_resets_per_sample(conv2d_run, conv2d_build):
    """A sample's counts do not depend on the samples streamed before it, at the QONNX level and in the C-sim
    of every LIF kernel (state cleared at frame 0), nor on how many samples share a batch."""
    from qonnx.core.modelwrapper import ModelWrapper

    from toolchain.flow import verify
    from toolchain.golden import GoldenModel

    golden = GoldenModel.load(conv2d_run / "golden.npz")
    from toolchain.data import load_dataset
    from toolchain.runs import run_config

    x = golden.encode(load_dataset(run_config(conv2d_run).data).x_test[:6])
    cfg = BuildConfig(run_dir=str(conv2d_run), out_dir=str(conv2d_build))
    folded, prepare, _ = verify.csim_model(ModelWrapper(str(conv2d_build / "intermediate" / "06_hls.onnx")), cfg)
    for model, prep in ((ModelWrapper(str(conv2d_build / "model.onnx")), None), (folded, prepare)):
        together = verify.class_scores(model, x, "together", prepare=prep)
        alone = np.concatenate([verify.class_scores(model, x[k : k + 1], "alone", prepare=prep) for k in range(len(x))])
        reversed_ = verify.class_scores(model, x[::-1], "reversed", prepare=prep)[::-1]
        assert np.array_equal(together, alone) and np.array_equal(together, reversed_)
        assert together.sum() > 0


def test_conv_bundle_driver_self_test(conv2d_build, tmp_path):
    """The board bundle of a conv build: its stream carries every pixel of a frame per step; the driver's
    emulation of the accelerator reproduces the golden counts."""
    import zipfile

    from toolchain.deploy import deploy

    bundle = deploy(conv2d_build, tmp_path / "conv.zip")
    with zipfile.ZipFile(bundle) as z:
        z.extractall(tmp_path / "x")
    manifest = next((tmp_path / "x").rglob("manifest.json"))
    stream = json.loads(manifest.read_text())["stream"]
    assert stream["in_features"] == 64 and stream["steps"] == 8
    import sys

    sys.path.insert(0, str(manifest.parent))
    try:
        from qsnn_driver import SNNAccelerator

        acc = SNNAccelerator(str(manifest.parent), backend="emulate")
        assert acc.self_test() == 0
    finally:
        sys.path.remove(str(manifest.parent))
        for name in [m for m in sys.modules if m.startswith("qsnn_driver")]:
            del sys.modules[name]


def rtl_build(run_dir, out, until="rtlsim", **kw):
    """The run through the RTL backend, checked against the golden model in Verilator (skipped without it)."""
    skip_without_verilator()
    state = build(run_dir, out, until=until, backend="rtl", **kw)
    ops = [layer["op"] for layer in state["estimate"]["per_layer"]]
    # FINN's own sliding window (a conv's and a pool's), this project's synapse, LIF and spike pool
    assert "ConvolutionInputGenerator_rtl" in ops and "PoolSpikes_rtl" in ops, ops
    assert set(ops) <= {
        "ConvolutionInputGenerator_rtl",
        "FMPadding_rtl",
        "MVAUSynapse_rtl",
        "LIFLayer_rtl",
        "PoolSpikes_rtl",
    }, ops
    rtl = state["verification"]["rtl_sim"]
    assert rtl["mismatches"] == 0 and rtl["samples"] >= 300, rtl  # with random stalls on both streams
    if "without_fifos" in rtl:
        assert rtl["without_fifos"]["mismatches"] == 0
    # the simulated throughput is the estimate's: one sample per T x the slowest layer's cycles per frame
    assert rtl["interval_cycles"] == state["estimate"]["cycles_per_step"] * state["steps_per_sample"]
    return state


@pytest.mark.slow
def test_conv2d_network_in_rtl_with_fifos_and_yosys_counts(conv2d_run, tmp_path):
    state = rtl_build(conv2d_run, tmp_path / "r", until="synth", target_cycles=16)
    syn = state["synthesis"]
    own = [layer["name"] for layer in state["estimate"]["per_layer"] if layer["op"] != "ConvolutionInputGenerator_rtl"]
    assert set(syn["per_layer"]) == set(own) and all(syn["per_layer"][n]["LUT"] > 0 for n in own)
    # the spike pool is an OR per lane: no DSPs, a few LUTs per lane
    pool = next(n for n in own if n.startswith("PoolSpikes_rtl"))
    assert syn["per_layer"][pool]["DSP48E1"] == 0 and syn["per_layer"][pool]["LUT"] < 64
    # FINN's SystemVerilog (sliding windows, FIFOs) is left out of Yosys' counts and given FINN's estimate
    windows = [n for n in syn["not_counted"] if n.startswith("ConvolutionInputGenerator_rtl")]
    assert len(windows) == 2 and all(syn["not_counted"][n]["label"] == "FINN estimate" for n in windows)
    assert "Not in these counts" in (tmp_path / "r" / "report.md").read_text()


@pytest.mark.parametrize(
    "model, message",
    [
        ({"arch": "conv", "hidden": (4, 4, 4), "kernel": 3, "pool": 2}, "do not fit"),
        ({"arch": "mlp", "pool": 2}, "--pool and --fc shape conv networks"),
        ({"arch": "conv", "pool": 9}, "--pool 9 is out of range"),
        ({"arch": "conv", "fc": (0,)}, "--fc"),
    ],
)
def test_conv_shapes_that_cannot_be_built(model, message):
    from toolchain.data import load_dataset
    from toolchain.runs import build_model

    cfg = RunConfig()
    for k, v in model.items():
        setattr(cfg.model, k, v)
    with pytest.raises(QsnnError, match=message):
        cfg.validate()
        build_model(cfg, load_dataset(cfg.data))


def test_non_spiking_reference_trains_and_is_not_buildable(tmp_path):
    from toolchain.train import run

    cfg = RunConfig()
    cfg.model.arch, cfg.model.hidden, cfg.model.pool, cfg.model.spiking = "conv", (6,), 2, False
    cfg.quant.weight_bits = cfg.quant.membrane_bits = None
    cfg.train.epochs = 3
    metrics = run(cfg, tmp_path / "relu", progress=False)
    assert metrics["top1"] > 0.5 and not (tmp_path / "relu" / "golden.npz").exists()
    cfg.quant.weight_bits, cfg.quant.membrane_bits = 4, 16
    with pytest.raises(QsnnError, match="--non-spiking"):
        cfg.validate()


def test_layers_grammar_and_its_shorthands():
    """--layers tokens parse to one canonical text; today's flags are shorthands for a layer list."""
    from toolchain import argtypes

    assert argtypes.layers("C16K5P2, mp2,c32k3s2p1 ,MP2,f128") == ("c16k5p2", "mp2", "c32k3s2p1", "mp2", "f128")
    assert argtypes.layers("c8k3s1p0") == ("c8k3",)  # stride 1 and padding 0 are the defaults
    cfg = RunConfig()
    cfg.model.arch, cfg.model.hidden, cfg.model.kernel, cfg.model.pool, cfg.model.fc = "conv", (6, 8), 5, 2, (16,)
    assert cfg.model.layout() == [
        ("conv", 6, 5, 1, 0),
        ("maxpool", 2),
        ("conv", 8, 5, 1, 0),
        ("maxpool", 2),
        ("dense", 16),
    ]
    cfg.model.arch, cfg.model.hidden = "mlp", (64, 32)
    assert cfg.model.layout() == [("dense", 64), ("dense", 32)] and not cfg.model.convolutional
    cfg.model.layers = argtypes.layers("c4k3,f8")
    assert cfg.model.convolutional  # --layers overrides the shorthands


def test_strided_padded_im2col_equals_a_direct_convolution():
    """The golden model's conv (im2col with stride and zero-padding) against a convolution written as loops."""
    from toolchain.golden import Layer, NeuronParams
    from toolchain.golden.arith import conv_weight_matrix, im2col

    rng = np.random.default_rng(3)
    x = rng.integers(-8, 8, size=(2, 9, 7, 3))
    w = rng.integers(-4, 4, size=(5, 3, 3, 2))
    for stride, pad in [((1, 1), (0, 0)), ((2, 1), (1, 0)), ((2, 3), (1, 1)), ((3, 2), (2, 1))]:
        xp = np.pad(x, ((0, 0), (pad[0], pad[0]), (pad[1], pad[1]), (0, 0)))
        ho, wo = (xp.shape[1] - 3) // stride[0] + 1, (xp.shape[2] - 2) // stride[1] + 1
        want = np.zeros((2, ho, wo, 5), dtype=np.int64)
        for i in range(ho):
            for j in range(wo):
                patch = xp[:, i * stride[0] : i * stride[0] + 3, j * stride[1] : j * stride[1] + 2]  # (N, 3, 2, C)
                want[:, i, j] = np.einsum("nhwc,ochw->no", patch, w)
        got = im2col(x, (3, 2), stride, pad) @ conv_weight_matrix(w).T
        assert np.array_equal(got.reshape(want.shape), want), (stride, pad)
        layer = Layer("conv", w, np.zeros(5, np.int64), NeuronParams(16, 8), (9, 7, 3), stride=stride, padding=pad)
        assert layer.neuron_shape == want.shape[1:]
        assert np.array_equal(layer.current(x[:, None]).reshape(want.shape), want)


@pytest.fixture(scope="module")
def lenet_run(tmp_path_factory):
    """A padded conv, a max-pool between convs, a strided padded conv, a dense layer: LeNet's shape on 8 x 8."""
    from toolchain import argtypes

    return _train(tmp_path_factory, "lenet", model__layers=argtypes.layers("c6k3p1,mp2,c8k3s2p1,f16"), train__epochs=5)


def test_padded_strided_convs_to_csim_zero_mismatches(lenet_run, tmp_path):
    """FINN pads (FMPadding) and strides (its sliding window); level 4 runs both of FINN's RTL-only nodes in
    Verilator and every other node but the pool in C++: 0 mismatches at every level."""
    metrics = json.loads((lenet_run / "metrics.json").read_text())
    assert metrics["top1"] > 0.3  # a network that spikes (10 classes; chance is 0.1)
    deps = Path(__file__).resolve().parents[1].parent / "shared" / "finn-deps"
    state = build(lenet_run, tmp_path / "b", target_cycles=16, finn_deps=str(deps) if deps.is_dir() else None)
    _, levels = _ladder(tmp_path / "b")
    assert all(bad == 0 and n == 360 for bad, n in levels.values()), levels
    ops = [layer["op"] for layer in state["estimate"]["per_layer"]]
    assert ops.count("FMPadding_rtl") == 2 and ops.count("ConvolutionInputGenerator_rtl") == 3, ops
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.custom_op.registry import getCustomOp

    model = ModelWrapper(str(tmp_path / "b" / "intermediate" / "04_fold.onnx"))
    windows = [getCustomOp(n) for n in model.graph.node if n.op_type == "ConvolutionInputGenerator_rtl"]
    assert [w.get_nodeattr("Stride") for w in windows] == [[1, 1], [2, 2], [2, 2]]  # conv, pool, strided conv
    pads = [getCustomOp(n) for n in model.graph.node if n.op_type == "FMPadding_rtl"]
    assert [p.get_nodeattr("Padding") for p in pads] == [[1, 1, 1, 1]] * 2
    nodes = state["verification"]["hls_csim"]["nodes"]
    if nodes["ConvolutionInputGenerator_rtl_0"] == "verilator":  # Verilator found: FINN's padding runs there too
        assert all(v == "verilator" for k, v in nodes.items() if k.startswith("FMPadding")), nodes


@pytest.mark.slow
def test_padded_strided_convs_in_rtl_zero_mismatches(lenet_run, tmp_path):
    state = rtl_build(lenet_run, tmp_path / "r", until="synth", target_cycles=16)
    ops = [layer["op"] for layer in state["estimate"]["per_layer"]]
    assert ops.count("FMPadding_rtl") == 2
    # FINN models no resources for its padding: the report says so rather than show 0 LUT
    assert all(not layer["modelled"] for layer in state["estimate"]["per_layer"] if layer["op"] == "FMPadding_rtl")
    pads = {k: v for k, v in state["synthesis"]["not_counted"].items() if k.startswith("FMPadding")}
    assert len(pads) == 2 and all(v["label"].startswith("not estimated") for v in pads.values())


@pytest.mark.parametrize("layers", ["c6k3p1,sp2,c8k3p1,f16", "c6k2,sp2,f16"])
def test_sum_pool_trains_and_builds_to_csim_zero_mismatches(layers, tmp_path_factory, tmp_path):
    """A sum-pool of spikes before a conv (padded: the pool divides 8) and before a dense layer (7 x 7 pooled to
    3 x 3: the pool's floor drops a row and a column). Training sums each window (torch); the golden model and the
    hardware take the pool folded into the next synapse's weights (a conv: each weight on a 2 x 2 block, stride and
    padding x 2; a dense layer: each weight on its window, 0 on the dropped row and column). The two are independent
    computations, equal over every test sample (``_train``), and every level through C-sim has 0 mismatches."""
    from toolchain import argtypes

    run_dir = _train(tmp_path_factory, "sp", model__layers=argtypes.layers(layers), train__epochs=2)
    state = build(run_dir, tmp_path / "b", target_cycles=16)
    _, levels = _ladder(tmp_path / "b")
    assert all(bad == 0 and n == 360 for bad, n in levels.values()), levels
    if layers.startswith("c6k3p1"):
        from qonnx.core.modelwrapper import ModelWrapper
        from qonnx.custom_op.registry import getCustomOp

        model = ModelWrapper(str(tmp_path / "b" / "intermediate" / "04_fold.onnx"))
        windows = [getCustomOp(n) for n in model.graph.node if n.op_type == "ConvolutionInputGenerator_rtl"]
        assert [(w.get_nodeattr("ConvKernelDim"), w.get_nodeattr("Stride")) for w in windows] == [
            ([3, 3], [1, 1]),
            ([6, 6], [2, 2]),
        ]
        pads = [getCustomOp(n).get_nodeattr("Padding") for n in model.graph.node if n.op_type == "FMPadding_rtl"]
        assert pads == [[1, 1, 1, 1], [2, 2, 2, 2]]
    assert state["estimate"]["lut"] > 0 and state["estimate"]["fit"]["fits"]
