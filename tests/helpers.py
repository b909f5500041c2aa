"""Small seeded networks and datasets shared by the tests."""

import numpy as np
import torch

from toolchain.config import RunConfig
from toolchain.data.base import Dataset
from toolchain.models import SpikingNet


def tiny_dataset(shape=(4, 4, 1), n_classes=5, n_train=64, n_test=40, seed=0, signed=False, bits=8):
    rng = np.random.default_rng(seed)
    lo, hi = (-(1 << (bits - 1)), 1 << (bits - 1)) if signed else (0, 1 << bits)
    return Dataset(
        "tiny",
        rng.integers(lo, hi, (n_train, *shape)),
        rng.integers(0, n_classes, n_train),
        rng.integers(lo, hi, (n_test, *shape)),
        rng.integers(0, n_classes, n_test),
        shape,
        [f"c{k}" for k in range(n_classes)],
        input_bits=bits,
        input_signed=signed,
    )


def random_net(
    weight_bits=4,
    leak="beta",
    rounding="floor",
    reset="subtract",
    arch="mlp",
    hidden=(12,),
    membrane_bits=16,
    steps=6,
    encoding="direct",
    seed=0,
    shape=(4, 4, 1),
    n_classes=5,
    threshold=0.05,
    readout="count",
):
    """A seeded random network in eval mode with mostly positive biases, so every layer spikes."""
    cfg = RunConfig()
    cfg.model.arch, cfg.model.hidden, cfg.model.readout = arch, hidden, readout
    cfg.quant.weight_bits, cfg.quant.membrane_bits, cfg.quant.rounding = weight_bits, membrane_bits, rounding
    cfg.neuron.leak, cfg.neuron.reset, cfg.neuron.threshold = leak, reset, threshold
    cfg.data.steps, cfg.data.encoding = steps, encoding
    torch.manual_seed(seed)
    net = SpikingNet(cfg, shape, n_classes)
    with torch.no_grad():
        for syn in net.synapses:
            syn.bias.copy_((0.6 + 0.5 * torch.randn_like(syn.bias)) * threshold)
    return cfg, net.eval()


def skip_without_verilator():
    """pytest.skip, saying why, where Verilator (the RTL level's simulator) is not installed."""
    import pytest

    from toolchain.errors import ToolNotFound
    from toolchain.rtl.sim import verilator

    try:
        verilator()
    except ToolNotFound:
        pytest.skip("needs Verilator ('make install' installs it) for the RTL level")
