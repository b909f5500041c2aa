"""NIR in and out: ``qsnn import MODEL.nir`` makes a run directory from a network trained elsewhere (snnTorch,
Norse, Sinabs, ... write NIR): ``reader``; ``qsnn export RUN --nir OUT.nir`` writes a run back as NIR: ``writer``.
What both sides agree on is in ``conventions``.

The graph is read and written by the ``nir`` package; what is written here is the mapping between NIR's
continuous-time nodes and this project's discrete network, which no library does.

Conventions (NIR does not record them; the options of ``qsnn import`` set them):

- Time: a neuron node is discretised by forward Euler with step ``dt`` (``--dt``, default 1e-4, the step
  snnTorch's exporter assumes). LIF ``tau dv/dt = (v_leak - v) + R I`` becomes ``v <- beta v + g I`` with
  ``beta = 1 - dt / tau`` and input gain ``g = R dt / tau``; IF ``dv/dt = R I`` becomes ``v <- v + R dt I``.
  CubaLIF adds ``J <- alpha J + (w_in dt / tau_syn) S`` with ``alpha = 1 - dt / tau_syn`` before the membrane.
  The gains are folded into the synapse before them (exactly, per neuron).
- Reset: NIR's neurons reset *to* ``v_reset`` (= 0 here): ``--reset zero``, the default, and what snnTorch's
  own importer builds. snnTorch's default reset by subtraction is not recorded in NIR: pass ``--reset subtract``
  for such a network (a graph ``qsnn export`` wrote carries its reset in the neuron nodes' metadata). NIR fires
  on ``v > v_threshold``; this project fires on ``v >= theta`` (DESIGN.md), which differs only when the membrane
  equals the threshold exactly.
- Data: the graph's input is one sample in PyTorch's channel-first layout ((C, H, W), (C, L) or (F,)), scaled as
  the project feeds its first layer: ``x_int / 2^bits`` (unsigned) or ``x_int / 2^(bits - 1)`` (signed), the same
  value at each of the T steps (direct encoding). Dense weights that follow a channel-first flatten are permuted
  to the project's channels-last order.
- Networks: a feed-forward chain of synapses (Linear, Affine, Conv1d, Conv2d with their own kernel, stride and
  zero-padding, "valid" or "same"; dilation 1, one group, square in 2-D), each followed by one neuron node (LIF, IF,
  CubaLIF; LI as the last, a membrane readout), with Scale nodes folded into the synapse before them and Flatten
  between the conv and dense parts; they become the run's ``--layers``. A SumPool2d / AvgPool2d (a pool is linear)
  before a conv is that conv's sum-pool (``spK``; stride = window; an average's 1 / K^2 goes into the conv's
  weights), and before a dense layer it folds into the dense weights (any kernel and stride). The readout is the
  last layer's spike count, or an LI layer's final membrane. All layers share one neuron model; thresholds, betas
  and CubaLIF's alphas that differ between layers or neurons are kept per neuron (``--per-neuron``; one per
  channel in conv layers), else the run has one of each. A hidden dense layer's neuron node may have a synapse
  from its own output (a Linear / Affine in a loop with it: snnTorch's RLeaky, ``1.lif`` <-> ``1.w_rec``): a
  recurrent layer (``rN``), ``V s[t-1]`` added to its input, the loop's bias with the layer's (added every step).
"""
