"""The integer reference model: the law every backend of this project must match bit for bit.

A leaf package: pure numpy, and it imports nothing else of the project, so `qsnn deploy` copies it whole into
the board driver (``qsnn_driver/golden``). It computes the fixed-point neuron of DESIGN.md:

    V[-1] = 0
    L     = leak(V[t-1])                 none: V;  shift: V - (V >> k);  beta: R(V * beta_int, F)
    U     = sat_B(L + I[t])              I[t] = W x[t] + b, integer
    s[t]  = U >= theta
    V[t]  = U - theta (subtract) | 0 (zero)   if s[t],   U otherwise

with R the floor / nearest / stochastic rounding of x / 2^F, stochastic offsets from the stateless
fmix32 hash of (seed, t, i). That is the ``lif`` model; every neuron model (LIF, CubaLIF, LI) is one module of
``golden/neurons``, and ``run_neurons()`` runs whichever a layer names. The readout (``readout``) is the
per-class spike count over the T steps, an LI readout layer's final membrane, or the first spike; the prediction
is the argmax of its scores, ties to the lowest index.

Layouts are channels-last: a conv layer's activations are (N, T, H, W, C) and a neuron's flat index
``i`` is row-major over (H, W, C). Weights keep PyTorch's layout ((out, in) and (out, in, kh, kw)); a
dense layer after a conv layer takes its input flattened in (H, W, C) order.

Modules: ``errors`` (QsnnError), ``modes`` (the mode enums and their hardware codes), ``arith`` (hash, encodings,
exact products), ``neurons`` (the models and their registry), ``params`` (NeuronParams), ``network`` (layers,
the network, its npz file).
"""

from .arith import encode, exact_matmul, fmix32, hash_table, im2col, max_pool, rate_encode
from .errors import QsnnError
from .modes import LEAK, LEAK_MODES, READOUT, READOUTS, RESET, RESETS, ROUNDING, ROUNDINGS
from .network import GoldenModel, Layer, readout, run_neurons
from .params import MAX_INPUT_SHIFT, NeuronParams

__all__ = [
    "LEAK",
    "LEAK_MODES",
    "MAX_INPUT_SHIFT",
    "READOUT",
    "READOUTS",
    "RESET",
    "RESETS",
    "ROUNDING",
    "ROUNDINGS",
    "GoldenModel",
    "Layer",
    "NeuronParams",
    "QsnnError",
    "encode",
    "exact_matmul",
    "fmix32",
    "hash_table",
    "im2col",
    "max_pool",
    "rate_encode",
    "readout",
    "run_neurons",
]
