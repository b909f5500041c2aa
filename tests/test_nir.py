"""NIR in and out with a real client: a network trained in snnTorch, written by snnTorch's own NIR exporter,
imported here, quantized, and taken through every ladder level; and a run written as NIR, read back by
``nir.read`` and run by snnTorch's own NIR importer (code independent of this project)."""

import json

import numpy as np
import pytest
import torch
from helpers import skip_without_verilator

from toolchain.cli import main
from toolchain.config import DataConfig
from toolchain.flow.build_config import BuildConfig
from toolchain.flow.runner import run_build

snn = pytest.importorskip("snntorch", reason="snntorch (requirements/pins.txt) is not installed")
nir = pytest.importorskip("nir", reason="nir (requirements/pins.txt) is not installed")

T = 8


def _leaky(n, reset="zero"):
    """snnTorch Leaky neurons, n (or a shape) of them. Per-neuron beta / threshold vectors: snnTorch 1.0's exporter
    cannot type a scalar-parameter Leaky."""
    shape = (n,) if isinstance(n, int) else n
    return snn.Leaky(
        beta=torch.full(shape, 0.9),
        threshold=torch.ones(shape),
        init_hidden=True,
        reset_mechanism=reset,
        reset_delay=False,
    )


def snntorch_counts(net, x):
    """Spike counts of an snnTorch network over T steps of the direct-encoded input x / 256 (digits: uint8)."""
    import snntorch.utils

    snntorch.utils.reset(net)
    xin = torch.from_numpy((x if x.ndim == 3 else x.reshape(len(x), -1)).astype(np.float32) / 256)  # 3-D: one sample
    with torch.no_grad():
        out = [net(xin) for _ in range(T)]
    return sum(o[0] if isinstance(o, tuple) else o for o in out).numpy()


def train_on_digits(net, scores, digits, epochs, params=None):
    """Adam (lr 5e-3) on the cross-entropy of ``scores(x_batch)`` over batches of 64 in a seeded order: how every
    client network here is trained, in its own framework. ``params``: what it trains (default all of ``net``'s)."""
    opt = torch.optim.Adam(net.parameters() if params is None else params, lr=5e-3)
    for epoch in range(epochs):
        order = np.random.default_rng(epoch).permutation(len(digits.y_train))
        for s in range(0, len(order), 64):
            idx = order[s : s + 64]
            loss = torch.nn.functional.cross_entropy(scores(digits.x_train[idx]), torch.from_numpy(digits.y_train[idx]))
            opt.zero_grad()
            loss.backward()
            opt.step()


def train_snntorch(net, digits, epochs):
    """The spike counts over T steps of x / 256 as scores."""
    import snntorch.utils

    def counts(x):
        snntorch.utils.reset(net)
        xin = torch.from_numpy(x.reshape(len(x), -1).astype(np.float32) / 256)
        return sum(net(xin) for _ in range(T))

    train_on_digits(net, counts, digits, epochs)


@pytest.fixture(scope="module")
def digits():
    from toolchain.data import load_dataset

    return load_dataset(DataConfig(dataset="digits", steps=T))


@pytest.fixture(scope="module")
def snntorch_model(digits, tmp_path_factory):
    """A 64-32-10 snnTorch network trained on digits (15 epochs, about 2 s), exported by snnTorch to NIR."""
    from snntorch.export_nir import export_to_nir

    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Flatten(), torch.nn.Linear(64, 32), _leaky(32), torch.nn.Linear(32, 10), _leaky(10)
    )
    train_snntorch(net, digits, epochs=15)
    path = tmp_path_factory.mktemp("nir") / "digits.nir"
    nir.write(str(path), export_to_nir(net, torch.zeros(1, 64), ignore_dims=[0]))
    ref = snntorch_counts(net, digits.x_test)
    assert np.mean(ref.argmax(1) == digits.y_test) > 0.85  # a trained network, not noise
    return path, ref


def _import(path, out, *extra):
    assert main(["import", str(path), "--out", str(out), "--steps", str(T), *extra]) == 0
    return json.loads((out / "metrics.json").read_text())


def _counts(run_dir):
    from toolchain.runs import load_run
    from toolchain.train import predict_counts

    cfg, net, ds = load_run(run_dir)
    return predict_counts(net, cfg, ds, ds.x_test, integer=cfg.quantized)[0]


def test_snntorch_import_at_float_matches_snntorch(snntorch_model, tmp_path):
    """Imported at float precision, the network's spike counts equal snnTorch's. Tolerance: at most 0.5 % of the
    (sample, class) counts may differ, because NIR fires on v > threshold and this project on v >= threshold, and the
    two sum float32 products in their own order; both matter only when a membrane lands exactly on the threshold.
    Measured: 0 of 3,600 counts differ."""
    path, ref = snntorch_model
    _import(path, tmp_path / "f", "--weight-bits", "float")
    ours = _counts(tmp_path / "f")
    assert np.mean(ours != ref) <= 0.005
    assert np.mean(ours.argmax(1) == ref.argmax(1)) >= 0.99


def test_snntorch_import_quantized_passes_every_ladder_level(snntorch_model, tmp_path):
    """At 16-bit weights the integer network's counts stay within 1 spike of snnTorch's (quantization moves a
    membrane by at most a few units; measured: 99.8 % of counts equal, all predictions equal). At 8 bits the
    network passes every ladder level with 0 mismatches against its golden model."""
    path, ref = snntorch_model
    m16 = _import(path, tmp_path / "q16", "--weight-bits", "16")
    assert m16["mismatches"] == 0
    c16 = _counts(tmp_path / "q16")
    assert np.max(np.abs(c16 - ref)) <= 1 and np.mean(c16 == ref) >= 0.99
    assert np.mean(c16.argmax(1) == ref.argmax(1)) >= 0.99

    m8 = _import(path, tmp_path / "q8", "--weight-bits", "8")
    assert m8["mismatches"] == 0 and m8["samples"] == 360
    assert m8["top1"] >= np.mean(ref.argmax(1) == _labels()) - 0.02
    out = tmp_path / "b"
    run_build(BuildConfig(run_dir=str(tmp_path / "q8"), out_dir=str(out), until="csim", target_cycles=64), log=None)
    levels = json.loads((out / "build_state.json").read_text())["verification"]
    assert set(levels) == {"qonnx", "finn_hw", "hls_csim"}
    assert all(v["mismatches"] == 0 and v["samples"] == 360 for v in levels.values()), levels
    config = json.loads((tmp_path / "q8" / "config.json").read_text())
    assert config["source"]["sha256"] and config["config"]["neuron"]["reset"] == "zero"


def test_dotted_node_names_as_nirtorch_writes_them_import_exactly(snntorch_model, tmp_path):
    """nirtorch names the nodes of nested modules 'features.0', '1.lif': an edge end is matched as a whole name
    before a '.port' suffix is cut off. The renamed graph imports to the same integer network: 0 golden mismatches,
    and every spike count equals the import of the graph with plain names."""
    path, _ = snntorch_model
    g = nir.read(str(path))
    new = {n: n if n in ("input", "output") else f"features.{n}.lif" for n in g.nodes}
    dotted = tmp_path / "dotted.nir"
    nir.write(
        str(dotted),
        nir.NIRGraph(nodes={new[n]: v for n, v in g.nodes.items()}, edges=[(new[a], new[b]) for a, b in g.edges]),
    )
    assert any("." in a for a, _ in nir.read(str(dotted)).edges)
    m = _import(dotted, tmp_path / "dotted", "--weight-bits", "8")
    assert m["mismatches"] == 0 and m["samples"] == 360
    _import(path, tmp_path / "plain", "--weight-bits", "8")
    assert np.array_equal(_counts(tmp_path / "dotted"), _counts(tmp_path / "plain"))


def test_import_with_qat_fine_tuning(snntorch_model, tmp_path):
    """--finetune-epochs continues with QAT from the imported weights (measured at 4 bits: PTQ 93.9 %, after 3
    fine-tune epochs 95.8 %); the run records the scheme and its history, and equals its golden model."""
    path, _ = snntorch_model
    m = _import(path, tmp_path / "ft", "--weight-bits", "4", "--finetune-epochs", "2")
    assert m["scheme"] == "qat" and m["mismatches"] == 0 and m["top1"] > 0.85
    history = (tmp_path / "ft" / "history.csv").read_text().splitlines()
    assert len(history) == 3 and history[1].startswith("0,qat fine-tune")


def _labels():
    from toolchain.data import load_dataset

    return load_dataset(DataConfig(dataset="digits")).y_test


def test_snntorch_synaptic_imports_as_cubalif_through_every_level(digits, tmp_path):
    """snnTorch's Synaptic neurons (a synaptic current decaying by alpha, then the leaky membrane) export as NIR
    CubaLIF nodes and import as this project's CubaLIF: counts equal snnTorch's at float precision (measured: all
    3,600), and at 8 bits the network passes qonnx, finn_hw and hls_csim with 0 mismatches."""
    from snntorch.export_nir import export_to_nir

    def synaptic(n):
        return snn.Synaptic(
            alpha=torch.full((n,), 0.5),
            beta=torch.full((n,), 0.9),
            threshold=torch.ones(n),
            init_hidden=True,
            reset_mechanism="zero",
            reset_delay=False,
        )

    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Flatten(), torch.nn.Linear(64, 32), synaptic(32), torch.nn.Linear(32, 10), synaptic(10)
    )
    train_snntorch(net, digits, epochs=10)
    ref = snntorch_counts(net, digits.x_test)
    assert np.mean(ref.argmax(1) == digits.y_test) > 0.85
    path = tmp_path / "cuba.nir"
    nir.write(str(path), export_to_nir(net, torch.zeros(1, 64), ignore_dims=[0]))
    _import(path, tmp_path / "f", "--weight-bits", "float")
    assert json.loads((tmp_path / "f" / "config.json").read_text())["config"]["neuron"]["model"] == "cubalif"
    assert np.mean(_counts(tmp_path / "f") != ref) <= 0.005  # the same tolerance, and reason, as for LIF
    m8 = _import(path, tmp_path / "q8", "--weight-bits", "8")
    assert m8["mismatches"] == 0
    out = tmp_path / "b"
    run_build(BuildConfig(run_dir=str(tmp_path / "q8"), out_dir=str(out), until="csim", target_cycles=64), log=None)
    levels = json.loads((out / "build_state.json").read_text())["verification"]
    assert set(levels) == {"qonnx", "finn_hw", "hls_csim"}
    assert all(v["mismatches"] == 0 and v["samples"] == 360 for v in levels.values()), levels
    # and back: the run written as NIR holds CubaLIF nodes that snnTorch's importer reads
    assert main(["export", str(tmp_path / "f"), "--nir", str(tmp_path / "back.nir")]) == 0
    assert type(nir.read(str(tmp_path / "back.nir")).nodes["lif0"]).__name__ == "CubaLIF"


def test_sinabs_round_trip_is_exact_at_float_and_exact_to_golden_at_8_bits(digits, tmp_path):
    """A second client: Sinabs IAF neurons (single spikes, reset by subtraction, fire on v >= threshold: this
    project's neuron with no leak) written by sinabs.nir.to_nir. Imported with --dt 1 (Sinabs' IF has r = 1 per
    step) and --reset subtract, the counts equal Sinabs' at float precision (no tie rule differs here); at 8 bits the
    integer network equals its golden model (measured: 97.8 % of counts equal Sinabs', none off by more than 1)."""
    sinabs = pytest.importorskip("sinabs", reason="sinabs (requirements/nodeps.txt) is not installed")
    import sinabs.layers as sl
    from sinabs.activation import SingleSpike
    from sinabs.nir import to_nir

    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Linear(64, 32), sl.IAF(spike_fn=SingleSpike), torch.nn.Linear(32, 10), sl.IAF(spike_fn=SingleSpike)
    )

    def counts(x):
        sinabs.reset_states(net)
        xin = torch.from_numpy(x.reshape(len(x), 1, -1).astype(np.float32) / 256).repeat(1, T, 1)
        return net(xin).sum(1)

    train_on_digits(net, counts, digits, epochs=10)
    with torch.no_grad():
        ref = counts(digits.x_test).numpy()
    assert np.mean(ref.argmax(1) == digits.y_test) > 0.85
    path = tmp_path / "sinabs.nir"
    nir.write(str(path), to_nir(net, torch.zeros(1, T, 64)))
    _import(path, tmp_path / "f", "--weight-bits", "float", "--dt", "1", "--reset", "subtract")
    assert np.array_equal(_counts(tmp_path / "f"), ref)
    m8 = _import(path, tmp_path / "q8", "--weight-bits", "8", "--dt", "1", "--reset", "subtract")
    assert m8["mismatches"] == 0
    c8 = _counts(tmp_path / "q8")
    assert np.max(np.abs(c8 - ref)) <= 2 and np.mean(c8.argmax(1) == ref.argmax(1)) >= 0.97


def test_export_nir_reads_back_and_runs_in_snntorch(snntorch_model, tmp_path):
    """``qsnn export --nir`` output reads back with nir.read, and snnTorch's own importer runs it to the same
    counts as this project's float network (the reverse direction, by independent code)."""
    from snntorch.import_nir import import_from_nir

    path, _ = snntorch_model
    _import(path, tmp_path / "f", "--weight-bits", "float")
    out = tmp_path / "back.nir"
    assert main(["export", str(tmp_path / "f"), "--nir", str(out)]) == 0
    graph = nir.read(str(out))
    kinds = [type(graph.nodes[n]).__name__ for n in ("fc0", "lif0", "fc1", "lif1")]
    assert kinds == ["Affine", "LIF", "Affine", "LIF"]
    x = _digits_test()
    # one sample at a time, in NIR's layout (1, 8, 8): snnTorch's importer maps NIR's Flatten(start_dim=0), which
    # excludes the batch in NIR, to torch's Flatten(0), which would flatten a batch into one sample
    imported = import_from_nir(graph)
    back = np.stack([snntorch_counts(imported, x[k : k + 1].reshape(1, 8, 8)).reshape(-1) for k in range(len(x))])
    ours = _counts(tmp_path / "f")
    assert np.mean(back != ours) <= 0.005


def test_conv_export_runs_in_snntorch_and_imports_back_to_the_same_counts(tmp_path):
    """A conv network (Conv2d + LIF, flatten, dense): the channel-first NIR graph run by snnTorch's importer gives the
    project's counts exactly, and importing it back gives them again (the flatten orders are each other's inverse)."""
    from snntorch.import_nir import import_from_nir

    from toolchain.config import RunConfig
    from toolchain.train import run

    cfg = RunConfig()
    cfg.model.arch, cfg.model.hidden, cfg.model.fc, cfg.train.epochs = "conv", (4,), (16,), 2
    cfg.quant.weight_bits, cfg.quant.membrane_bits, cfg.neuron.reset = None, None, "zero"  # snnTorch resets to zero
    run(cfg, tmp_path / "c", progress=False)
    ours = _counts(tmp_path / "c")
    assert main(["export", str(tmp_path / "c"), "--nir", str(tmp_path / "c.nir")]) == 0
    graph = nir.read(str(tmp_path / "c.nir"))
    assert [type(graph.nodes[n]).__name__ for n in ("conv0", "lif0", "flatten1", "fc1")] == [
        "Conv2d",
        "LIF",
        "Flatten",
        "Affine",
    ]
    imported = import_from_nir(graph)
    x = _digits_test()
    back = np.stack(
        [snntorch_counts(imported, x[k : k + 1].transpose(0, 3, 1, 2)[0]).reshape(-1) for k in range(len(x))]
    )
    assert np.array_equal(back, ours)
    _import(tmp_path / "c.nir", tmp_path / "again", "--weight-bits", "float")
    assert np.array_equal(_counts(tmp_path / "again"), ours)


def test_export_nir_of_a_quantized_run_holds_its_integer_values(demo_run, tmp_path):
    """A quantized run is written as the real values of its integer model: weight = W_int * s / s_in, threshold =
    theta * s, beta = beta_int / 2^F, and the reset by subtraction in the neuron metadata."""
    from toolchain.golden import GoldenModel

    out = tmp_path / "q.nir"
    assert main(["export", str(demo_run), "--nir", str(out)]) == 0
    graph = nir.read(str(out))
    golden = GoldenModel.load(demo_run / "golden.npz")
    first, last = golden.layers[0], golden.layers[-1]
    w = np.asarray(graph.nodes["fc0"].weight, dtype=np.float64)
    assert np.array_equal(w, first.weight * first.scale * 2.0**golden.input_bits)
    lif = graph.nodes[f"lif{len(golden.layers) - 1}"]
    assert np.allclose(lif.v_threshold, last.neuron.threshold * last.scale)
    beta = 1 - 1e-4 / np.asarray(lif.tau, dtype=np.float64)
    assert np.allclose(beta, last.neuron.beta_int / 2.0**last.neuron.beta_frac_bits)
    assert lif.metadata["reset"] == "subtract"


def _digits_test():
    from toolchain.data import load_dataset

    return load_dataset(DataConfig(dataset="digits")).x_test


# -- bad NIR files: a clear error naming the node, exit 2, nothing written ------------------------------------
def _graph(**over):
    n = {
        "input": nir.Input(input_type=np.array([64])),
        "fc": nir.Affine(weight=np.ones((10, 64), np.float32), bias=np.zeros(10, np.float32)),
        "lif": nir.LIF(
            tau=np.full(10, 1e-3),
            r=np.full(10, 10.0),
            v_leak=np.zeros(10),
            v_threshold=np.ones(10),
            v_reset=np.zeros(10),
        ),
        "output": nir.Output(output_type=np.array([10])),
    }
    edges = [("input", "fc"), ("fc", "lif"), ("lif", "output")]
    n.update(over.pop("nodes", {}))
    for name in over.pop("drop", ()):
        del n[name]
    return nir.NIRGraph(nodes=n, edges=over.pop("edges", edges))


def _cuba():
    ones = np.ones(10)
    return nir.CubaLIF(
        tau_syn=ones * 1e-3, tau_mem=ones * 1e-3, r=ones, v_leak=0 * ones, v_threshold=ones, v_reset=0 * ones
    )


def _conv_lif(shape):
    return nir.LIF(tau=np.full(shape, 1e-3), r=np.ones(shape), v_leak=np.zeros(shape), v_threshold=np.ones(shape))


def _conv_graph(pool=None, stride=1, padding=0, dilation=1, groups=1, drop=()):
    """input (1, 8, 8) -> conv 3x3 (2 channels, padding 1) -> LIF [-> pool] -> conv 3x3 (the options) -> LIF ->
    flatten -> dense 10 -> LIF."""
    nodes = {
        "input": nir.Input(input_type=np.array([1, 8, 8])),
        "c0": nir.Conv2d((8, 8), np.ones((2, 1, 3, 3), np.float32), 1, 1, 1, 1, np.zeros(2, np.float32)),
        "n0": _conv_lif((2, 8, 8)),
        "c1": nir.Conv2d((8, 8), np.ones((2, 2, 3, 3), np.float32), stride, padding, dilation, groups, np.zeros(2)),
        "n1": _conv_lif((2, 2, 2)),
        "flat": nir.Flatten(input_type={"input": np.array([2, 2, 2])}, start_dim=0),
        "fc": nir.Affine(weight=np.ones((10, 8), np.float32), bias=np.zeros(10, np.float32)),
        "lif": nir.LIF(tau=np.full(10, 1e-3), r=np.ones(10), v_leak=np.zeros(10), v_threshold=np.ones(10)),
        "output": nir.Output(output_type=np.array([10])),
    }
    order = ["input", "c0", "n0", *(["pool"] if pool is not None else []), "c1", "n1", "flat", "fc", "lif", "output"]
    order = [name for name in order if name not in drop]  # a graph cut short on purpose
    nodes = {name: node for name, node in nodes.items() if name not in drop}
    if pool is not None:
        nodes["pool"] = pool
    return nir.NIRGraph(nodes=nodes, edges=list(zip(order[:-1], order[1:])), type_check=False)  # bad on purpose


BAD = {
    "lif then cubalif": (
        lambda: _graph(
            nodes={
                "lif": _cuba(),
                "fc2": nir.Affine(weight=np.ones((10, 10), np.float32), bias=np.zeros(10, np.float32)),
                "lif2": nir.LIF(tau=np.full(10, 1e-3), r=np.ones(10), v_leak=np.zeros(10), v_threshold=np.ones(10)),
            },
            edges=[("input", "fc"), ("fc", "lif"), ("lif", "fc2"), ("fc2", "lif2"), ("lif2", "output")],
        ),
        "one neuron model per network",
    ),
    "LI before the last layer": (
        lambda: _graph(
            nodes={
                "lif": nir.LI(tau=np.full(10, 1e-3), r=np.ones(10), v_leak=np.zeros(10)),
                "fc2": nir.Affine(weight=np.ones((10, 10), np.float32), bias=np.zeros(10, np.float32)),
                "lif2": nir.LIF(tau=np.full(10, 1e-3), r=np.ones(10), v_leak=np.zeros(10), v_threshold=np.ones(10)),
            },
            edges=[("input", "fc"), ("fc", "lif"), ("lif", "fc2"), ("fc2", "lif2"), ("lif2", "output")],
        ),
        "an LI readout must be the last neuron node",
    ),
    "pool before a conv that overlaps": (
        lambda: _conv_graph(
            nir.SumPool2d(kernel_size=np.array([2, 2]), stride=np.array([1, 1]), padding=np.array([0, 0]))
        ),
        "a pool before a conv must be 2-D and square with stride = kernel",
    ),
    "one layer": (lambda: _graph(), "the graph is one layer (the classifier)"),
    "ends in a conv": (
        lambda: _conv_graph(stride=3, drop=("flat", "fc", "lif")),  # stride 3: the 2 x 2 output n1 takes
        "the last layer is a conv; end with a dense classifier",
    ),
    "dilated conv": (lambda: _conv_graph(dilation=2), "dilation=2 is not supported; use dilation 1"),
    "grouped conv": (lambda: _conv_graph(groups=2), "groups=2 is not supported; use groups 1"),
    "non-square conv": (lambda: _conv_graph(stride=np.array([1, 2])), "differ between the axes"),
    "padding same with stride 2": (lambda: _conv_graph(stride=2, padding="same"), "padding='same' is not supported"),
    "branch": (
        lambda: _graph(
            nodes={"fc2": nir.Affine(weight=np.ones((10, 64), np.float32), bias=np.zeros(10, np.float32))},
            edges=[("input", "fc"), ("fc", "lif"), ("lif", "output"), ("input", "fc2"), ("fc2", "lif")],
        ),
        "branches or merges",
    ),
    "recurrent through a synapse": (
        lambda: _graph(
            nodes={"rec": nir.Affine(weight=np.ones((10, 10), np.float32), bias=np.zeros(10, np.float32))},
            edges=[("input", "fc"), ("fc", "lif"), ("lif", "rec"), ("rec", "lif"), ("lif", "output")],
        ),
        "the classifier (the last layer) is recurrent",
    ),
    "recurrent onto itself": (
        lambda: _graph(edges=[("input", "fc"), ("fc", "lif"), ("lif", "lif"), ("lif", "output")]),
        "node 'lif' feeds itself (lif -> lif): a recurrent layer",
    ),
    "ends in a synapse": (lambda: _graph(edges=[("input", "fc"), ("fc", "output")], drop=["lif"]), "ends in a synapse"),
    "wrong input size": (
        lambda: _graph(
            nodes={
                "input": nir.Input(input_type=np.array([50])),
                "fc": nir.Affine(weight=np.ones((10, 50), np.float32), bias=np.zeros(10, np.float32)),
            }
        ),
        "does not take the 64 inputs",
    ),
    "v_leak": (
        lambda: _graph(
            nodes={"lif": nir.LIF(tau=np.ones(10), r=np.ones(10), v_leak=np.ones(10), v_threshold=np.ones(10))}
        ),
        "v_leak",
    ),
    "delay": (
        lambda: _graph(
            nodes={"delay": nir.Delay(delay=np.full(64, 2e-3))},
            edges=[("input", "delay"), ("delay", "fc"), ("fc", "lif"), ("lif", "output")],
        ),
        "node type Delay",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_nir_graphs_are_refused_by_name(case, tmp_path, capsys):
    make, words = BAD[case]
    path = tmp_path / "bad.nir"
    nir.write(str(path), make())
    assert main(["import", str(path), "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert "error:" in err and words in err and "Traceback" not in err
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(
    "content, words",
    [(None, "not found"), (b"", "not a readable NIR file"), (b"\x89HDF\r\n garbage", "not a readable NIR file")],
)
def test_missing_or_damaged_nir_file(content, words, tmp_path, capsys):
    path = tmp_path / "m.nir"
    if content is not None:
        path.write_bytes(content)
    assert main(["import", str(path), "--out", str(tmp_path / "run")]) == 2
    assert words in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_export_nir_refuses_what_nir_cannot_say(tmp_path, capsys):
    assert main(["export", str(tmp_path / "nothing"), "--nir", str(tmp_path / "x.txt")]) == 2
    assert "should name a .nir file" in capsys.readouterr().err


# -- Norse: LIF with a leaky-integrator (LI) readout, per-neuron time constants and thresholds -------------------
def _norse_net(norse):
    """64-32-10: LIFBox neurons with a tau and threshold per neuron, then an LIBox readout with a tau per neuron."""
    g = torch.Generator().manual_seed(0)
    # v_leak and v_reset as vectors too: Norse's to_nir shapes r like v_leak, and NIR wants every shape equal
    hidden = norse.LIFBoxParameters(
        tau_mem_inv=torch.empty(32).uniform_(60, 140, generator=g),
        v_th=torch.empty(32).uniform_(0.1, 0.3, generator=g),
        v_leak=torch.zeros(32),
        v_reset=torch.zeros(32),
    )
    readout = norse.LIBoxParameters(tau_mem_inv=torch.empty(10).uniform_(60, 140, generator=g), v_leak=torch.zeros(10))
    return norse.SequentialState(
        torch.nn.Linear(64, 32), norse.LIFBoxCell(hidden), torch.nn.Linear(32, 10), norse.LIBoxCell(readout)
    )


def norse_membranes(net, x):
    """The LI readout's membrane after T steps of the direct-encoded input x / 256 (Norse's own simulation)."""
    xin = torch.from_numpy(x.reshape(len(x), -1).astype(np.float32) / 256)
    state = None
    for _ in range(T):
        out, state = net(xin, state)
    return out


@pytest.fixture(scope="module")
def norse_model(digits, tmp_path_factory):
    """The Norse network trained on digits (15 epochs, cross-entropy of the final membrane), written by Norse's
    to_nir. Norse 1.1 writes tau = dt / tau_mem_inv (dt = 1e-3), so its dynamics are NIR's at a step of dt^2."""
    norse = pytest.importorskip("norse.torch", reason="norse (requirements/nodeps.txt) is not installed")
    torch.manual_seed(0)
    net = _norse_net(norse)
    train_on_digits(net, lambda x: norse_membranes(net, x) * 10, digits, epochs=15)
    with torch.no_grad():
        ref = norse_membranes(net, digits.x_test).numpy()
    assert np.mean(ref.argmax(1) == digits.y_test) > 0.85
    path = tmp_path_factory.mktemp("norse") / "digits.nir"
    nir.write(str(path), norse.to_nir(net, torch.zeros(1, 64)))
    return path, ref


def test_norse_li_readout_and_per_neuron_parameters_import(norse_model, tmp_path):
    """Norse's NIR (LIF then LI, tau and threshold per neuron) imports as a membrane-readout run with a threshold and
    beta per neuron. At float precision the final membranes equal Norse's to float32 rounding (measured: max
    difference below 1e-5, every prediction equal); at 8 bits the network passes qonnx, finn_hw and hls_csim with 0
    mismatches."""
    path, ref = norse_model
    m = _import(path, tmp_path / "f", "--weight-bits", "float", "--dt", "1e-6", "--reset", "zero")
    config = json.loads((tmp_path / "f" / "config.json").read_text())["config"]
    assert config["model"]["readout"] == "membrane" and config["neuron"]["per_neuron"]
    ours = _counts(tmp_path / "f")
    assert np.max(np.abs(ours - ref)) < 1e-4
    assert np.mean(ours.argmax(1) == ref.argmax(1)) >= 0.99
    assert m["top1"] > 0.85

    m8 = _import(path, tmp_path / "q8", "--weight-bits", "8", "--dt", "1e-6", "--reset", "zero")
    assert m8["mismatches"] == 0 and m8["top1"] >= np.mean(ref.argmax(1) == _labels()) - 0.02
    out = tmp_path / "b"
    run_build(BuildConfig(run_dir=str(tmp_path / "q8"), out_dir=str(out), until="csim", target_cycles=64), log=None)
    levels = json.loads((out / "build_state.json").read_text())["verification"]
    assert all(v["mismatches"] == 0 and v["samples"] == 360 for v in levels.values()), levels
    back = nir.read(str(_export(tmp_path / "q8", tmp_path / "back.nir")))
    assert {type(v).__name__ for v in back.nodes.values()} >= {"LIF", "LI"}


@pytest.fixture(scope="module")
def rockpool_model(digits, tmp_path_factory):
    """A 64-32-10 Rockpool network (LinearTorch, LIFTorch with a tau_syn per neuron: 2..20 ms and 3..9 ms, one
    spike per step, dt 1 ms) trained on digits in Rockpool (15 epochs, about 5 s), written by Rockpool's to_nir:
    CubaLIF nodes with per-neuron tau_syn. Returns the file and Rockpool's own spike counts on the test set."""
    pytest.importorskip("rockpool", reason="rockpool (requirements/pins.txt) is not installed")
    from rockpool.nn.combinators import Sequential
    from rockpool.nn.modules import LIFTorch, LinearTorch
    from rockpool.nn.modules.torch.lif_torch import PeriodicExponential
    from rockpool.nn.modules.torch.nir import to_nir

    def lif(n, lo, hi):
        return LIFTorch(
            n,
            tau_syn=torch.linspace(lo, hi, n),
            tau_mem=10e-3,
            dt=1e-3,
            max_spikes_per_dt=1,
            spike_generation_fn=PeriodicExponential,
        )

    torch.manual_seed(0)
    net = Sequential(LinearTorch((64, 32)), lif(32, 2e-3, 20e-3), LinearTorch((32, 10)), lif(10, 3e-3, 9e-3))

    def counts(x):
        net.reset_state()
        xin = torch.from_numpy(x.reshape(len(x), 1, -1).astype(np.float32) / 256).repeat(1, T, 1)
        return net(xin)[0].sum(1)

    train_on_digits(net, counts, digits, 15, params=[net[0].weight, net[2].weight])  # the taus stay as set
    with torch.no_grad():
        ref = counts(digits.x_test).numpy()
    assert np.mean(ref.argmax(1) == digits.y_test) > 0.85  # a trained network, not noise
    graph = to_nir(net, torch.zeros(1, 1, 64))
    assert len(set(np.asarray(graph.nodes["1_LIFTorch"].tau_syn).tolist())) == 32  # one per neuron
    path = tmp_path_factory.mktemp("rockpool") / "rockpool.nir"
    nir.write(str(path), graph)
    return path, ref


ROCKPOOL = ("--dt", "1e-3", "--discretization", "rockpool", "--reset", "subtract")


def test_rockpool_cubalif_with_a_tau_syn_per_neuron_passes_every_level(rockpool_model, tmp_path):
    """Rockpool's CubaLIF graph (a tau_syn per neuron) imports with an alpha per neuron. At float precision the
    spike counts equal Rockpool's own simulation (tolerance 0.5 % of the counts: float32 sums in another order can
    move a membrane that sits at its threshold; measured: every count equal); at 8 bits the alpha_int differ between
    neurons, and the network passes qonnx, finn_hw and hls_csim with 0 mismatches. Written back as NIR, the run's
    CubaLIF nodes hold a tau_syn per neuron again."""
    from toolchain.golden import GoldenModel

    path, ref = rockpool_model
    _import(path, tmp_path / "f", "--weight-bits", "float", *ROCKPOOL)
    config = json.loads((tmp_path / "f" / "config.json").read_text())["config"]["neuron"]
    assert config["model"] == "cubalif" and config["per_neuron"]
    assert np.mean(_counts(tmp_path / "f") != ref) <= 0.005
    m8 = _import(path, tmp_path / "q8", "--weight-bits", "8", *ROCKPOOL)
    assert m8["mismatches"] == 0 and m8["top1"] >= np.mean(ref.argmax(1) == _labels()) - 0.02
    for layer, tau_syn in zip(GoldenModel.load(tmp_path / "q8" / "golden.npz").layers, (2e-3, 3e-3)):
        alphas = np.array(layer.neuron.alpha_ints)
        assert len(set(alphas.tolist())) > 5 and alphas[0] == round(np.exp(-1e-3 / tau_syn) * 256)
    out = tmp_path / "b"
    run_build(BuildConfig(run_dir=str(tmp_path / "q8"), out_dir=str(out), until="csim", target_cycles=64), log=None)
    levels = json.loads((out / "build_state.json").read_text())["verification"]
    assert set(levels) == {"qonnx", "finn_hw", "hls_csim"}
    assert all(v["mismatches"] == 0 and v["samples"] == 360 for v in levels.values()), levels
    back = nir.read(str(_export(tmp_path / "q8", tmp_path / "back.nir"))).nodes["lif0"]
    assert type(back).__name__ == "CubaLIF" and len(set(np.asarray(back.tau_syn).tolist())) > 5


@pytest.mark.slow
def test_rockpool_per_neuron_alpha_network_in_rtl_zero_mismatches(rockpool_model, tmp_path):
    skip_without_verilator()
    path, _ = rockpool_model
    _import(path, tmp_path / "q8", "--weight-bits", "8", *ROCKPOOL)
    cfg = BuildConfig(
        run_dir=str(tmp_path / "q8"), out_dir=str(tmp_path / "r"), until="rtlsim", target_cycles=64, backend="rtl"
    )
    levels = run_build(cfg, log=None)["verification"]
    assert levels["rtl_sim"]["mismatches"] == 0 and levels["rtl_sim"]["samples"] == 360, levels


def test_rockpool_discretization_refuses_what_rockpool_does_not_write(tmp_path, capsys):
    path = tmp_path / "lif.nir"
    nir.write(str(path), _graph())
    assert main(["import", str(path), "--out", str(tmp_path / "r"), *ROCKPOOL]) == 2
    assert "--discretization rockpool reads Rockpool's LIFTorch" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def _export(run_dir, out):
    assert main(["export", str(run_dir), "--nir", str(out)]) == 0
    return out


def test_per_neuron_membrane_readout_run_round_trips_through_nir(tmp_path_factory):
    """A run with a threshold and beta per neuron and an LI readout is written as LIF (per-neuron v_threshold and
    tau) then LI, with its integer model's values exactly; imported back at the run's widths (the reset taken from
    the metadata export wrote) it is the same network: every sample's scores equal the original's."""
    from tests.conftest import _train
    from toolchain.golden import GoldenModel
    from toolchain.runs import load_run
    from toolchain.train import predict_counts

    run = _train(tmp_path_factory, "pn-li", neuron__per_neuron=True, model__readout="membrane", train__epochs=2)
    out = tmp_path_factory.mktemp("rt")
    graph = nir.read(str(_export(run, out / "pn.nir")))
    golden = GoldenModel.load(run / "golden.npz")
    hidden, li = graph.nodes["lif0"], graph.nodes["lif1"]
    assert type(hidden).__name__ == "LIF" and type(li).__name__ == "LI"
    p0, p1 = golden.layers[0].neuron, golden.layers[1].neuron
    assert np.array_equal(hidden.v_threshold, np.float32(np.array(p0.thresholds) * golden.layers[0].scale))
    for node, p in ((hidden, p0), (li, p1)):
        beta = 1.0 - 1e-4 / np.asarray(node.tau, dtype=np.float64)  # the default --dt
        assert np.max(np.abs(beta - np.array(p.beta_ints) / 256)) < 1e-5 and len(set(p.beta_ints)) > 1
    _import(out / "pn.nir", out / "back", "--weight-bits", "4", "--membrane-bits", "16")  # the run's widths
    config = json.loads((out / "back" / "config.json").read_text())["config"]
    assert config["model"]["readout"] == "membrane" and config["neuron"]["per_neuron"]
    assert config["neuron"]["reset"] == "subtract"  # from the metadata qsnn export wrote (the default is zero)
    original, back = (predict_counts(*_swap(load_run(r)), integer=True)[0] for r in (run, out / "back"))
    assert np.array_equal(original, back)


def _swap(loaded):
    cfg, net, ds = loaded
    return net, cfg, ds, ds.x_test


@pytest.mark.parametrize(
    "readout, source, words",
    [("membrane", "spiking", "use --readout count or first-spike"), ("first-spike", "li", "leave --readout out")],
)
def test_import_refuses_a_readout_the_graph_cannot_give(readout, source, words, tmp_path, capsys):
    graph = _graph()
    if source == "li":
        graph = _graph(
            nodes={
                "fc2": nir.Affine(weight=np.ones((10, 10), np.float32), bias=np.zeros(10, np.float32)),
                "li": nir.LI(tau=np.full(10, 1e-3), r=np.full(10, 10.0), v_leak=np.zeros(10)),
            },
            edges=[("input", "fc"), ("fc", "lif"), ("lif", "fc2"), ("fc2", "li"), ("li", "output")],
        )
    path = tmp_path / "g.nir"
    nir.write(str(path), graph)
    assert main(["import", str(path), "--out", str(tmp_path / "run"), "--readout", readout]) == 2
    assert words in capsys.readouterr().err and not (tmp_path / "run").exists()


def test_snntorch_conv_with_average_pool_imports_exactly(digits, tmp_path):
    """snnTorch's Conv2d -> Leaky -> AvgPool2d -> Flatten -> Linear -> Leaky. The average pool is linear, so import
    folds it into the dense layer after it (each pooled weight / 4 on its window's four pixels): at float precision
    the counts equal snnTorch's (the tolerance of the dense import; measured: all equal), and at 8 bits the conv
    network passes qonnx, finn_hw and hls_csim with 0 mismatches."""

    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(1, 4, 3),
        _leaky((4, 6, 6)),  # one value per neuron: the shape NIR's type check wants
        torch.nn.AvgPool2d(2),
        torch.nn.Flatten(),
        torch.nn.Linear(36, 10),
        _leaky(10),
    )

    path = _snntorch_conv_to_csim(net, digits, tmp_path, epochs=8)
    assert "AvgPool2d" in {type(v).__name__ for v in nir.read(str(path)).nodes.values()}


def _snntorch_conv_to_csim(net, digits, tmp_path, epochs):
    """Train the snnTorch conv network ``net`` on digits, write it with snnTorch's exporter, import it: at float the
    counts equal snnTorch's within 0.5 % (the dense import's tolerance: snnTorch fires on v > threshold, this
    project on v >= theta), at 8 bits 0 mismatches at every level through C-sim. Returns the NIR file."""
    from snntorch.export_nir import export_to_nir

    def counts(x):
        import snntorch.utils

        snntorch.utils.reset(net)
        xin = torch.from_numpy(x.transpose(0, 3, 1, 2).astype(np.float32) / 256)
        return sum(net(xin) for _ in range(T))

    train_on_digits(net, counts, digits, epochs=epochs)
    with torch.no_grad():
        ref = counts(digits.x_test).numpy()
    assert np.mean(ref.argmax(1) == digits.y_test) > 0.8
    path = tmp_path / "conv.nir"
    nir.write(str(path), export_to_nir(net, torch.zeros(1, 1, 8, 8), ignore_dims=[0]))
    _import(path, tmp_path / "f", "--weight-bits", "float")
    assert np.mean(_counts(tmp_path / "f") != ref) <= 0.005
    m8 = _import(path, tmp_path / "q8", "--weight-bits", "8")
    assert m8["mismatches"] == 0
    out = tmp_path / "b"
    run_build(BuildConfig(run_dir=str(tmp_path / "q8"), out_dir=str(out), until="csim", target_cycles=64), log=None)
    levels = json.loads((out / "build_state.json").read_text())["verification"]
    assert all(v["mismatches"] == 0 and v["samples"] == 360 for v in levels.values()), levels
    return path


def test_export_writes_a_neuron_without_decay_among_leaky_ones_with_a_finite_tau():
    """NIR has no infinite tau: a per-neuron beta of exactly 1 (a learned beta clamps there) among leaky neurons, or
    in an LI readout, is written as beta = 1 - 2^-(F+2), which import rounds back to 2^F at F fraction bits."""
    from tests.helpers import random_net
    from toolchain.models import SpikingNet
    from toolchain.nir_io.writer import to_graph

    cfg, _ = random_net()
    cfg.neuron.per_neuron, cfg.model.readout, cfg.data.steps = True, "membrane", 8
    net = SpikingNet(cfg, (4, 4, 1), 5).eval()
    with torch.no_grad():
        for lif in net.neurons:
            lif.beta[0] = 1.0
    graph = to_graph(net, cfg)
    for name, kind in (("lif0", "LIF"), ("lif1", "LI")):
        node = graph.nodes[name]
        assert type(node).__name__ == kind and np.all(np.isfinite(node.tau))
        beta = 1.0 - 1e-4 / np.asarray(node.tau, dtype=np.float64)
        assert abs(beta[0] - (1 - 2.0**-10)) < 1e-9 and round(beta[0] * 256) == 256
        assert np.allclose(beta[1:], 0.9375)


def test_import_quantizes_through_trainings_ptq(snntorch_model, tmp_path, monkeypatch):
    """One post-training quantization for `qsnn train --scheme ptq` and `qsnn import` (they drifted once: import
    did not freeze stochastic weights): import must call training's, and its weights are then on the grid."""
    import toolchain.train as train

    calls = []
    real = train.post_training_quantize

    def spy(fnet, cfg, ds):
        calls.append(cfg.quant.rounding)
        return real(fnet, cfg, ds)

    monkeypatch.setattr(train, "post_training_quantize", spy)
    path, _ = snntorch_model
    m = _import(path, tmp_path / "st", "--weight-bits", "4", "--membrane-bits", "16", "--rounding", "stochastic")
    assert calls == ["stochastic"] and m["mismatches"] == 0
    from toolchain.runs import load_run

    _, net, _ = load_run(tmp_path / "st")
    for syn in net.synapses:
        w = syn.op.weight.detach().numpy() / float(syn.weight_scale())
        assert np.allclose(w, np.round(w), atol=1e-4) and np.abs(w).max() <= 7  # frozen onto the 4-bit grid


@pytest.fixture(scope="module")
def sinabs_conv(digits, tmp_path_factory):
    """Sinabs' model-zoo shape on 8 x 8 digits: Conv2d(padding 1) -> IAF -> SumPool2d(2) -> Conv2d(stride 2,
    padding 1) -> IAF -> Flatten -> Linear -> IAF, trained in Sinabs and written by sinabs.nir.to_nir (its graph
    leaves the convs' input shapes out; nir's own infer_types fills them so nir.write can store it)."""
    sinabs = pytest.importorskip("sinabs", reason="sinabs (requirements/nodeps.txt) is not installed")
    import sinabs.layers as sl
    from sinabs.activation import SingleSpike
    from sinabs.nir import to_nir

    torch.manual_seed(0)
    iaf = lambda: sl.IAFSqueeze(num_timesteps=T, spike_fn=SingleSpike)  # noqa: E731  (batch x time folded)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(1, 8, 3, padding=1),
        iaf(),
        sl.SumPool2d(2),
        torch.nn.Conv2d(8, 8, 3, stride=2, padding=1),
        iaf(),
        torch.nn.Flatten(),
        torch.nn.Linear(32, 10),
        iaf(),
    )

    def counts(x):
        sinabs.reset_states(net)
        xin = torch.from_numpy(x.transpose(0, 3, 1, 2).astype(np.float32) / 256)
        return net(xin.repeat_interleave(T, dim=0)).reshape(len(x), T, -1).sum(1)

    train_on_digits(net, counts, digits, epochs=8)
    with torch.no_grad():
        ref = counts(digits.x_test).numpy()
    assert np.mean(ref.argmax(1) == digits.y_test) > 0.8
    graph = to_nir(net, torch.zeros(T, 1, 8, 8))
    graph.infer_types()
    path = tmp_path_factory.mktemp("sinabs") / "conv.nir"
    nir.write(str(path), graph)
    return path, ref


def test_sinabs_strided_padded_conv_after_a_sum_pool_imports_exactly(sinabs_conv, tmp_path):
    """Sinabs' own NIR of a padded conv, a sum-pool, a stride-2 padded conv: imported as --layers c8k3p1,sp2,c8k3s2p1
    (the sum-pool is folded into the second conv's weights at build: each weight on a 2 x 2 block, stride 4, padding
    2, exactly). At float precision the counts equal Sinabs' (both fire on v >= threshold, reset by subtraction;
    float32 sums in another order could differ at an exact tie: none here); at 8 bits the integer network equals its
    golden model and every ladder level through C-sim has 0 mismatches."""
    path, ref = sinabs_conv
    kinds = {type(v).__name__ for v in nir.read(str(path)).nodes.values()}
    assert {"SumPool2d", "Conv2d"} <= kinds
    _import(path, tmp_path / "f", "--weight-bits", "float", "--dt", "1", "--reset", "subtract")
    config = json.loads((tmp_path / "f" / "config.json").read_text())
    assert config["config"]["model"]["layers"] == ["c8k3p1", "sp2", "c8k3s2p1"]
    assert np.array_equal(_counts(tmp_path / "f"), ref)
    # written back as NIR (a SumPool2d before the strided conv), and read again: the same counts
    assert main(["export", str(tmp_path / "f"), "--nir", str(tmp_path / "back.nir"), "--dt", "1"]) == 0
    back = nir.read(str(tmp_path / "back.nir"))
    assert [type(back.nodes[n]).__name__ for n in ("conv0", "sumpool1", "conv1")] == ["Conv2d", "SumPool2d", "Conv2d"]
    _import(tmp_path / "back.nir", tmp_path / "again", "--weight-bits", "float", "--dt", "1", "--reset", "subtract")
    assert np.array_equal(_counts(tmp_path / "again"), ref)
    m8 = _import(path, tmp_path / "q8", "--weight-bits", "8", "--dt", "1", "--reset", "subtract")
    assert m8["mismatches"] == 0
    out = tmp_path / "b"
    run_build(BuildConfig(run_dir=str(tmp_path / "q8"), out_dir=str(out), until="csim", target_cycles=64), log=None)
    levels = json.loads((out / "build_state.json").read_text())["verification"]
    assert all(v["mismatches"] == 0 and v["samples"] == 360 for v in levels.values()), levels
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.custom_op.registry import getCustomOp

    model = ModelWrapper(str(out / "intermediate" / "04_fold.onnx"))
    windows = [getCustomOp(n) for n in model.graph.node if n.op_type == "ConvolutionInputGenerator_rtl"]
    assert [w.get_nodeattr("ConvKernelDim") for w in windows] == [[3, 3], [6, 6]]  # the sum-pool in the weights
    assert [w.get_nodeattr("Stride") for w in windows] == [[1, 1], [4, 4]]


@pytest.mark.slow
def test_sinabs_sum_pool_network_in_rtl_zero_mismatches(sinabs_conv, tmp_path):
    skip_without_verilator()
    path, _ = sinabs_conv
    _import(path, tmp_path / "q8", "--weight-bits", "8", "--dt", "1", "--reset", "subtract")
    cfg = BuildConfig(
        run_dir=str(tmp_path / "q8"), out_dir=str(tmp_path / "r"), until="synth", target_cycles=64, backend="rtl"
    )
    state = run_build(cfg, log=None)
    levels = state["verification"]
    assert levels["rtl_sim"]["mismatches"] == 0 and levels["rtl_sim"]["samples"] == 360, levels
    assert state["synthesis"]["network"]["LUT"] > 0  # Yosys counted it


def test_a_kernel_per_layer_and_padding_same_read_as_layers(tmp_path):
    """conv 5 x 5 padding 'same' then conv 3 x 3 stride 2 padding 1 (snnTorch tutorials' and LeNet's shapes) read as
    --layers c2k5p2,c2k3s2p1 with the graph's weights; NIR's Conv1d with stride and padding as c..s..p.. too."""
    from toolchain.nir_io.reader import read_network

    graph = _conv_graph(stride=2, padding=1)
    graph.nodes["c0"] = nir.Conv2d((8, 8), np.ones((2, 1, 5, 5), np.float32), 1, "same", 1, 1, np.zeros(2, np.float32))
    graph.nodes["n1"] = _conv_lif((2, 4, 4))
    graph.nodes["fc"] = nir.Affine(weight=np.ones((10, 32), np.float32), bias=np.zeros(10, np.float32))
    nir.write(str(tmp_path / "g.nir"), graph)
    network = read_network(tmp_path / "g.nir", (8, 8, 1))
    assert network["tokens"] == ("c2k5p2", "c2k3s2p1")
    assert network["layers"][0]["weight"].shape == (2, 1, 5, 5) and network["layers"][1]["stride"] == 2
    seq = nir.NIRGraph(
        nodes={
            "input": nir.Input(input_type=np.array([2, 16])),
            "c0": nir.Conv1d(16, np.ones((4, 2, 5), np.float32), 2, 2, 1, 1, np.zeros(4, np.float32)),
            "n0": _conv_lif((4, 8)),
            "flat": nir.Flatten(input_type={"input": np.array([4, 8])}, start_dim=0),
            "fc": nir.Affine(weight=np.ones((3, 32), np.float32), bias=np.zeros(3, np.float32)),
            "lif": nir.LIF(tau=np.full(3, 1e-3), r=np.ones(3), v_leak=np.zeros(3), v_threshold=np.ones(3)),
            "output": nir.Output(output_type=np.array([3])),
        },
        edges=[("input", "c0"), ("c0", "n0"), ("n0", "flat"), ("flat", "fc"), ("fc", "lif"), ("lif", "output")],
        type_check=False,
    )
    nir.write(str(tmp_path / "s.nir"), seq)
    assert read_network(tmp_path / "s.nir", (16, 2))["tokens"] == ("c4k5s2p2",)


def test_snntorch_kernel_per_layer_same_padding_and_stride_2_import(digits, tmp_path):
    """snnTorch's exporter on a conv 5 x 5 padding 'same' -> Leaky -> conv 3 x 3 stride 2 padding 1 -> Leaky ->
    Flatten -> Linear -> Leaky (the shapes the importer used to refuse): imported as --layers c4k5p2,c8k3s2p1, the
    float counts equal snnTorch's within the dense import's tolerance (0.5 % of counts, as snnTorch fires on
    v > threshold and this project on v >= theta; measured: all 3,600 equal), and at 8 bits every level through
    C-sim has 0 mismatches."""

    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(1, 4, 5, padding="same"),
        _leaky((4, 8, 8)),
        torch.nn.Conv2d(4, 8, 3, stride=2, padding=1),
        _leaky((8, 4, 4)),
        torch.nn.Flatten(),
        torch.nn.Linear(128, 10),
        _leaky(10),
    )

    _snntorch_conv_to_csim(net, digits, tmp_path, epochs=6)
    config = json.loads((tmp_path / "f" / "config.json").read_text())["config"]
    assert config["model"]["layers"] == ["c4k5p2", "c8k3s2p1"]


@pytest.fixture(scope="module")
def rleaky_model(digits, tmp_path_factory):
    """A 64-32-10 snnTorch network whose hidden layer is an RLeaky (all-to-all recurrent Linear, with bias), trained on
    digits and written by snnTorch's own export_to_nir: the hidden LIF node and its w_rec Affine in a loop."""
    from snntorch.export_nir import export_to_nir

    torch.manual_seed(1)
    rleaky = snn.RLeaky(
        beta=torch.full((32,), 0.9),
        threshold=torch.ones(32),
        linear_features=32,
        init_hidden=True,
        reset_mechanism="zero",
        reset_delay=False,
    )
    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 32), rleaky, torch.nn.Linear(32, 10), _leaky(10))
    train_snntorch(net, digits, epochs=15)
    graph = export_to_nir(net, torch.zeros(1, 64), ignore_dims=[0])
    loop = {(a, b) for a, b in graph.edges if "w_rec" in a or "w_rec" in b}
    assert len(loop) == 2, graph.edges  # snnTorch's own form: <k>.lif -> <k>.w_rec -> <k>.lif
    path = tmp_path_factory.mktemp("nir") / "rleaky.nir"
    nir.write(str(path), graph)
    ref = snntorch_counts(net, digits.x_test)
    assert np.mean(ref.argmax(1) == digits.y_test) > 0.85
    return path, ref


def test_snntorch_rleaky_imports_with_its_recurrence(rleaky_model, tmp_path):
    """snnTorch's RLeaky through NIR: at float precision the spike counts equal snnTorch's (tolerance as for Leaky:
    0.5 % of the counts, the threshold comparison and float32 summation order; the recurrent bias is folded into
    the layer's bias, added every step as snnTorch's recurrent Linear adds it); at 8 bits every ladder level down to
    the RTL simulation is exact against the golden model, and the recurrence is not dropped (without it the counts
    differ)."""
    path, ref = rleaky_model
    _import(path, tmp_path / "f", "--weight-bits", "float")
    ours = _counts(tmp_path / "f")
    assert np.mean(ours != ref) <= 0.005, np.mean(ours != ref)
    print(f"RLeaky at float: {int(np.sum(ours != ref))} of {ours.size} counts differ from snnTorch's")
    config = json.loads((tmp_path / "f" / "config.json").read_text())["config"]
    assert config["model"]["layers"] == ["r32"]
    m8 = _import(path, tmp_path / "q8", "--weight-bits", "8")
    assert m8["mismatches"] == 0 and m8["top1"] >= np.mean(ref.argmax(1) == _labels()) - 0.03
    print(f"RLeaky top-1: snnTorch {np.mean(ref.argmax(1) == _labels()):.4f}, imported at 8 bits {m8['top1']:.4f}")
    from toolchain.golden import GoldenModel

    golden = GoldenModel.load(tmp_path / "q8" / "golden.npz")
    assert golden.layers[0].recurrent is not None and np.any(golden.layers[0].recurrent)
    out = tmp_path / "b"
    run_build(BuildConfig(run_dir=str(tmp_path / "q8"), out_dir=str(out), until="csim", target_cycles=64), log=None)
    levels = json.loads((out / "build_state.json").read_text())["verification"]
    assert all(levels[k]["mismatches"] == 0 and levels[k]["samples"] == 360 for k in ("qonnx", "finn_hw", "hls_csim"))
    skip_without_verilator()
    rtl = tmp_path / "r"
    cfg = BuildConfig(run_dir=str(tmp_path / "q8"), out_dir=str(rtl), backend="rtl", until="rtlsim", target_cycles=64)
    v = run_build(cfg, log=None)["verification"]["rtl_sim"]
    assert v["mismatches"] == 0 and v["samples"] == 360


def test_a_recurrent_run_exports_to_nir_and_back(tmp_path):
    """qsnn export of a recurrent run writes the loop as snnTorch does (lif <-> rec Affine); importing it back at
    16 bits gives the same integer network's predictions."""
    run = tmp_path / "run"
    argv = ["train", "--dataset", "digits", "--hidden", "16", "--recurrent", "--weight-bits", "8"]
    assert main([*argv, "--membrane-bits", "auto", "--epochs", "2", "--steps", str(T), "--out", str(run)]) == 0
    path = tmp_path / "rec.nir"
    assert main(["export", str(run), "--nir", str(path)]) == 0
    graph = nir.read(str(path))
    assert ("lif0", "rec0") in graph.edges and ("rec0", "lif0") in graph.edges
    m = _import(path, tmp_path / "back", "--weight-bits", "16")  # the reset from the graph's metadata
    assert m["mismatches"] == 0
    before = json.loads((run / "metrics.json").read_text())["top1"]
    assert abs(m["top1"] - before) <= 0.01
