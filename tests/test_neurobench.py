"""NeuroBench's metrics in metrics.json, computed by the neurobench package on a mirror of the golden model,
checked against figures computed here independently from the golden model's integers and spikes."""

import json

import numpy as np
import pytest

pytest.importorskip("neurobench", reason="neurobench (requirements/nodeps.txt) is not installed")


def test_neurobench_metrics_equal_an_independent_count(demo_run):
    from toolchain.data import load_dataset
    from toolchain.golden import GoldenModel
    from toolchain.runs import run_config

    nb = json.loads((demo_run / "metrics.json").read_text())["neurobench"]
    golden = GoldenModel.load(demo_run / "golden.npz")
    ds = load_dataset(run_config(demo_run).data)
    x, y = ds.x_test[: nb["samples"]], ds.y_test[: nb["samples"]]
    counts, trace = golden.run(x, record=True)
    n = len(x)

    # activation sparsity: the fraction of zero spikes over every layer, step and sample
    spikes = sum(int(np.count_nonzero(s)) for s in trace)
    total = sum(s.size for s in trace)
    assert nb["activation_sparsity"] == pytest.approx(1 - spikes / total, abs=1e-12)

    # synaptic operations: each nonzero input times the nonzero weights it feeds; MACs where the input is not
    # binary (the first layer's integers), ACs where it is spikes; dense: every weight at every step
    inputs = [golden.encode(x)] + trace[:-1]
    macs = acs = 0
    for layer, h in zip(golden.layers, inputs):
        fan_out = np.count_nonzero(layer.weight.reshape(layer.weight.shape[0], -1), axis=0)  # per input j
        ops = int(((h.reshape(n * golden.steps, -1) != 0).astype(np.int64) @ fan_out).sum())
        if np.isin(h, (0, 1)).all():
            acs += ops
        else:
            macs += ops
    assert nb["synaptic_ops_effective_macs"] == pytest.approx(macs / n)
    assert nb["synaptic_ops_effective_acs"] == pytest.approx(acs / n)
    n_weights = sum(layer.weight.size for layer in golden.layers)
    assert nb["synaptic_ops_dense"] == pytest.approx(n_weights * golden.steps)

    zeros = sum(int(np.sum(layer.weight == 0)) for layer in golden.layers)
    assert nb["connection_sparsity"] == pytest.approx(zeros / n_weights, abs=5e-4)  # neurobench rounds it
    n_bias = sum(layer.bias.size for layer in golden.layers)
    assert nb["parameter_count"] == n_weights + n_bias
    # 4-bit weights held as int8: one byte each; biases in the narrowest whole-byte integer holding them
    assert n_weights + n_bias <= nb["footprint_bytes"] <= n_weights + 4 * n_bias
    assert nb["accuracy"] == pytest.approx(np.mean(np.argmax(counts, axis=1) == y), abs=1e-6)
