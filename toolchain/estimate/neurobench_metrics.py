"""NeuroBench's metrics of a quantized run, computed by neurobench itself (PyPI ``neurobench``).

NeuroBench measures a PyTorch module through hooks on its connection layers (``nn.Linear``, ``nn.Conv2d``) and
its activation layers. The project's training network computes its synapses functionally (Brevitas), so the
metrics are taken on a mirror of the *golden integer model*: ``nn.Linear`` / ``nn.Conv2d`` subclasses that hold
the integer weights (int8 or int16, so NeuroBench's footprint counts the stored bytes) and compute exactly in
float64, and one LIF activation module per layer that runs the golden model's own neuron update. The mirror's
spike counts are checked against ``GoldenModel.run`` before any figure is returned, so the metrics describe the
network the ladder verified. What NeuroBench does not know: widths below a byte (each weight and bias is counted in
the narrowest of int8/int16/int32 holding it); the project's own ``memory_bits`` is exact on those.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from toolchain.errors import QsnnError
from toolchain.golden import GoldenModel, readout, run_neurons

SAMPLES = 1000  # test samples measured (the metrics are per-sample averages)
BATCH = 100


def _int_param(values: np.ndarray) -> nn.Parameter:
    """Integer weights in the narrowest torch integer type (a Parameter may hold integers without gradients)."""
    width = int(max(1, np.abs(values).max(initial=0))).bit_length() + 1
    dtype = torch.int8 if width <= 8 else torch.int16 if width <= 16 else torch.int32
    return nn.Parameter(torch.from_numpy(values.astype(np.int64)).to(dtype), requires_grad=False)


class _Dense(nn.Linear):
    """nn.Linear (so NeuroBench counts it) holding integers and computing exactly in float64."""

    def __init__(self, weight, bias):
        super().__init__(weight.shape[1], weight.shape[0])
        self.weight, self.bias = _int_param(weight), _int_param(bias.astype(np.int32))

    def forward(self, x):
        return F.linear(x.double(), self.weight.double(), self.bias.double())


class _Conv(nn.Conv2d):
    def __init__(self, weight, bias, stride, padding):
        super().__init__(weight.shape[1], weight.shape[0], tuple(weight.shape[2:]), tuple(stride), tuple(padding))
        self.weight, self.bias = _int_param(weight), _int_param(bias.astype(np.int32))

    def forward(self, x):  # x: (N, C, H, W)
        return F.conv2d(x.double(), self.weight.double(), self.bias.double(), self.stride, self.padding)


class _Neurons(nn.Module):
    """The golden model's neuron update of one layer."""

    def __init__(self, params, recurrent=None):
        super().__init__()
        self.params = params
        self.recurrent = recurrent

    def forward(self, current):  # (N, T, *neurons), integer values
        spikes = run_neurons(np.rint(current.numpy()).astype(np.int64), self.params, recurrent=self.recurrent)
        return torch.from_numpy(np.asarray(spikes, dtype=np.float64))


class _LIF(_Neurons):
    """A spiking layer: an activation module NeuroBench hooks."""


class _Readout(_Neurons):
    """An LI readout layer (``--readout membrane``): its membrane is no activation, so NeuroBench does not hook it."""


class GoldenMirror(nn.Module):
    """The golden model as a PyTorch module NeuroBench can hook: encoded input (N, T, *shape) -> scores (N, C)."""

    def __init__(self, golden: GoldenModel):
        super().__init__()
        self.golden = golden
        self.synapses = nn.ModuleList(
            (
                _Dense(layer.weight, layer.bias)
                if layer.kind == "dense"
                else _Conv(layer.weight, layer.bias, layer.stride, layer.padding)
            )
            for layer in golden.layers
        )
        self.neurons = nn.ModuleList(
            (_LIF if layer.neuron.model.spiking else _Readout)(layer.neuron, layer.recurrent) for layer in golden.layers
        )
        # a recurrent layer's V as a layer NeuroBench sees: its footprint, and its synaptic ops on s[t-1]
        self.recurrent = nn.ModuleDict(
            {
                str(k): _Dense(layer.recurrent, np.zeros(len(layer.recurrent), np.int64))
                for k, layer in enumerate(golden.layers)
                if layer.recurrent is not None
            }
        )

    def forward(self, x):
        h = x.double()
        n, steps = h.shape[:2]
        for k, (layer, syn, neuron) in enumerate(zip(self.golden.layers, self.synapses, self.neurons)):
            flat = h.reshape((n * steps, *layer.in_shape))
            if layer.kind == "dense":
                current = syn(flat.reshape(n * steps, -1))
            else:
                current = syn(flat.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)
            spikes = neuron(current.reshape((n, steps, *layer.neuron_shape)))
            if str(k) in self.recurrent:  # the products V s[t-1] the neurons added (t >= 1), for NeuroBench's count
                self.recurrent[str(k)](spikes[:, :-1].reshape(n * (steps - 1), -1))
            h = torch.from_numpy(np.asarray(layer.output(spikes.numpy()), dtype=np.float64))
        return readout(h.reshape(n, steps, -1), self.golden.readout)


def measure(golden: GoldenModel, x: np.ndarray, y: np.ndarray, samples: int = SAMPLES) -> dict:
    """NeuroBench's footprint, connection sparsity, activation sparsity, synaptic operations (effective ACs / MACs
    per sample) and accuracy of ``golden`` on the first ``samples`` of (x, y)."""
    from neurobench.benchmarks import Benchmark
    from neurobench.metrics.static import ConnectionSparsity, Footprint, ParameterCount
    from neurobench.metrics.workload import ActivationSparsity, ClassificationAccuracy, SynapticOperations
    from neurobench.models import TorchModel

    x, y = x[:samples], y[:samples]
    encoded = torch.from_numpy(golden.encode(x).astype(np.float64))
    mirror = GoldenMirror(golden)
    model = TorchModel(mirror)
    model.add_activation_module(_LIF)
    with torch.no_grad():
        counts = np.concatenate([mirror(encoded[s : s + BATCH]).numpy() for s in range(0, len(x), BATCH)])
    bad = int(np.sum(np.any(counts.astype(np.int64) != golden.run(x), axis=1)))
    if bad:
        raise QsnnError(f"NeuroBench mirror: {bad} of {len(x)} samples differ from the golden model (a bug; report it)")
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(encoded, torch.from_numpy(y.astype(np.int64))), batch_size=BATCH
    )
    bench = Benchmark(
        model,
        loader,
        [],
        [lambda counts: torch.from_numpy(np.argmax(counts.numpy(), axis=1))],  # ties to the lowest index
        [
            [Footprint, ParameterCount, ConnectionSparsity],
            [ClassificationAccuracy, ActivationSparsity, SynapticOperations],
        ],
    )
    with torch.no_grad():
        r = bench.run(quiet=True)
    ops = r["SynapticOperations"]
    return {
        "source": "neurobench " + _version() + " on the golden integer model",
        "samples": len(x),
        "footprint_bytes": int(r["Footprint"]),
        "parameter_count": int(r["ParameterCount"]),
        "connection_sparsity": float(r["ConnectionSparsity"]),
        "activation_sparsity": float(r["ActivationSparsity"]),
        "synaptic_ops_effective_macs": float(ops["Effective_MACs"]),
        "synaptic_ops_effective_acs": float(ops["Effective_ACs"]),
        "synaptic_ops_dense": float(ops["Dense"]),
        "accuracy": float(r["ClassificationAccuracy"]),
    }


def _version() -> str:
    from importlib.metadata import version

    return version("neurobench")
