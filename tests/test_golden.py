"""The golden integer model: hand-computed cases, and equality with the PyTorch integer mode."""

import itertools

import numpy as np
import pytest
import torch
from helpers import random_net

from toolchain.errors import QsnnError
from toolchain.golden import GoldenModel, NeuronParams, encode, fmix32, hash_table, rate_encode, run_neurons
from toolchain.models.lif import QuantLIF

M32 = 0xFFFFFFFF


def ref_fmix32(h):
    """DESIGN.md's fmix32 in plain Python integers (independent of numpy's uint32 wrap-around)."""
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & M32
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & M32
    return h ^ (h >> 16)


def test_fmix32_and_hash_table_match_plain_python():
    keys = [0, 1, 2, 0xDEADBEEF, M32, 123456789]
    assert fmix32(np.array(keys, dtype=np.uint32)).tolist() == [ref_fmix32(k) for k in keys]
    seed, table = 0xC0FFEE, hash_table(0xC0FFEE, 5, 7)
    for t, i in itertools.product(range(5), range(7)):
        key = seed ^ ((t * 0x9E3779B1) & M32) ^ ((i * 0x85EBCA77) & M32)
        assert int(table[t, i]) == ref_fmix32(key)


def test_lif_hand_computed_subtract_reset_and_saturation():
    # B = 4 (range -8..7), theta = 5, no leak: U = sat(V + I)
    p = NeuronParams(membrane_bits=4, threshold=5)
    s, v = run_neurons(np.array([[3, 3, 3, 10, -20, 2]]), p, return_membrane=True)
    assert s.tolist() == [[0, 1, 0, 1, 0, 0]]
    assert v.tolist() == [[3, 1, 4, 2, -8, -6]]  # 7 - 5 = 2 after saturating 14; -18 saturates to -8


def test_lif_hand_computed_beta_leak_roundings_and_zero_reset():
    # beta = 3/4 (beta_int 3, F 2); V = 7 -> V * 3 = 21 -> floor 5, nearest (21 + 2) >> 2 = 5; V = -7 -> -21
    base = dict(membrane_bits=8, threshold=100, leak_mode="beta", beta_int=3, beta_frac_bits=2)
    for rounding, expected in (("floor", [7, 5 + 0, -2]), ("nearest", [7, 5, -1])):
        _, v = run_neurons(np.array([[7, 0, -7]]), NeuronParams(**base, rounding=rounding), return_membrane=True)
        # t1: leak(7) = 21 >> 2 = 5 (floor) / 23 >> 2 = 5 (nearest); t2: leak(5) = 15 >> 2 = 3 / 17 >> 2 = 4
        assert v[0, 1] == expected[1]
    _, v = run_neurons(np.array([[-7, 0]]), NeuronParams(**base, rounding="floor"), return_membrane=True)
    assert v[0, 1] == (-21) >> 2 == -6  # arithmetic shift floors towards -inf
    _, v = run_neurons(np.array([[-7, 0]]), NeuronParams(**base, rounding="nearest"), return_membrane=True)
    assert v[0, 1] == (-21 + 2) >> 2 == -5
    s, v = run_neurons(
        np.array([[9, 1]]), NeuronParams(membrane_bits=8, threshold=5, reset="zero"), return_membrane=True
    )
    assert s.tolist() == [[1, 0]] and v.tolist() == [[0, 1]]


def test_lif_shift_leak_floors_negative_values():
    _, v = run_neurons(
        np.array([[-9, 0]]),
        NeuronParams(membrane_bits=8, threshold=50, leak_mode="shift", leak_shift=2),
        return_membrane=True,
    )
    assert v[0, 1] == -9 - ((-9) >> 2) == -6


def test_stochastic_rounding_uses_the_hash_offsets():
    p = NeuronParams(
        membrane_bits=12, threshold=2000, leak_mode="beta", beta_int=5, beta_frac_bits=3, rounding="stochastic", seed=99
    )
    current = np.zeros((1, 3, 4), dtype=np.int64)
    current[0, 0] = [101, -77, 13, 1]
    _, v = run_neurons(current, p, return_membrane=True)
    for i, v0 in enumerate(current[0, 0]):
        key = 99 ^ ((1 * 0x9E3779B1) & M32) ^ ((i * 0x85EBCA77) & M32)
        r = ref_fmix32(key) % 8
        assert v[0, 1, i] == (int(v0) * 5 + r) >> 3


@pytest.mark.parametrize("bits", [4, 8, 16, 24])
def test_saturation_at_both_ends_matches_torch(bits):
    rng = np.random.default_rng(bits)
    big = 1 << (bits + 1)
    current = rng.integers(-big, big, (5, 10, 7))
    current[:, :3] = big  # drive to the top
    current[:, 5:8] = -big  # and to the bottom
    for leak, rounding in itertools.product(("none", "shift", "beta"), ("floor", "nearest", "stochastic")):
        p = NeuronParams(
            membrane_bits=bits,
            threshold=(1 << (bits - 1)) - 1,
            leak_mode=leak,
            leak_shift=3,
            beta_int=200,
            beta_frac_bits=8,
            rounding=rounding,
            seed=3,
        )
        s, v = run_neurons(current, p, return_membrane=True)
        # driven to the top, the membrane saturates at v_max (= the threshold), fires, and the reset subtracts it
        assert s[:, :3].all() and (v[:, :3] == p.v_max - p.threshold).all(), "the membrane must saturate at the top"
        assert v.max() < p.v_max, "a membrane at the threshold fires and is reset"
        assert v.min() == p.v_min, "the membrane must saturate at -2^(B-1)"
        q = QuantLIF(_neuron(leak), bits, rounding, seed=3)
        q.params = lambda scale, p=p: p  # use exactly these integer parameters
        ours = q(torch.from_numpy(current)).numpy()
        assert int((ours != s).sum()) == 0


def _neuron(leak):
    from toolchain.config import NeuronConfig

    return NeuronConfig(leak=leak, leak_shift=3)


GRID = list(
    itertools.product(
        [1, 2, 4, 8, 16], ["none", "shift", "beta"], ["floor", "nearest", "stochastic"], ["subtract", "zero"]
    )
)


@pytest.mark.parametrize("weight_bits,leak,rounding,reset", GRID)
def test_golden_equals_torch_integer_mode_on_random_networks(weight_bits, leak, rounding, reset):
    # binary and ternary weights have a coarse scale, so they need a larger real threshold
    cfg, net = random_net(
        weight_bits,
        leak,
        rounding,
        reset,
        membrane_bits=20 if weight_bits == 16 else 16,
        seed=weight_bits,
        threshold={1: 0.5, 2: 0.25}.get(weight_bits, 0.05),
    )
    x = np.random.default_rng(1).integers(0, 256, (24, 4, 4, 1))
    x[:4] = 255  # saturating inputs
    xe = encode(x, cfg.data.steps, "direct", 8, 1)
    ours, trace = net(torch.from_numpy(xe), integer=True, record=True)
    golden = net.to_golden()
    counts, gtrace = golden.run(x, record=True)
    assert int((ours.numpy() != counts).sum()) == 0
    for a, b in zip(trace, gtrace):
        assert int((a.numpy() != b).sum()) == 0  # every layer's spikes, not only the counts
    assert all(t.sum() > 0 for t in gtrace), "a silent layer proves nothing"


@pytest.mark.parametrize("encoding", ["direct", "rate"])
def test_golden_equals_torch_on_conv_networks(encoding):
    cfg, net = random_net(
        4,
        "beta",
        "stochastic",
        "subtract",
        arch="conv",
        hidden=(3,),
        shape=(6, 6, 1),
        encoding=encoding,
        threshold=0.05 if encoding == "direct" else 1.0,
    )
    x = np.random.default_rng(2).integers(0, 256, (16, 6, 6, 1))
    xe = encode(x, cfg.data.steps, encoding, 8, 1)
    ours = net(torch.from_numpy(xe), integer=True).numpy()
    counts = net.to_golden().run(x)
    assert int((ours != counts).sum()) == 0 and counts.sum() > 0


def test_rate_encoding_is_seeded_bernoulli():
    x = np.full((1, 4000), 64)
    s = rate_encode(x, 20, 8, seed=5)
    assert abs(s.mean() - 0.25) < 0.01
    assert np.array_equal(s, rate_encode(x, 20, 8, seed=5))
    assert not np.array_equal(s, rate_encode(x, 20, 8, seed=6))
    assert rate_encode(np.zeros((1, 10)), 5, 8, 1).sum() == 0


def test_golden_save_load_roundtrip(tmp_path):
    _, net = random_net(3, "shift", "nearest", "zero")
    g = net.to_golden(meta={"k": 1})
    g.save(tmp_path / "g.npz")
    g2 = GoldenModel.load(tmp_path / "g.npz")
    x = np.random.default_rng(0).integers(0, 256, (10, 4, 4, 1))
    assert np.array_equal(g.run(x), g2.run(x)) and g2.meta == {"k": 1}


def test_golden_bad_inputs(tmp_path):
    _, net = random_net()
    g = net.to_golden()
    with pytest.raises(QsnnError, match="input shape"):
        g.run(np.zeros((2, 5, 5, 1), dtype=np.int64))
    with pytest.raises(QsnnError, match="non-integers"):
        g.run(np.full((2, 4, 4, 1), 0.5))
    with pytest.raises(QsnnError, match="outside"):
        g.run(np.full((2, 4, 4, 1), 300))
    with pytest.raises(QsnnError, match="not found"):
        GoldenModel.load(tmp_path / "missing.npz")
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(QsnnError, match="corrupted"):
        GoldenModel.load(tmp_path / "bad.npz")


@pytest.mark.parametrize(
    "field,value,match",
    [
        ("membrane_bits", 40, "membrane_bits"),
        ("threshold", 128, "does not fit a 8-bit membrane"),
        ("threshold", 0, "threshold"),
        ("leak_mode", "exp", "leak_mode"),
        ("rounding", "up", "rounding"),
        ("reset", "hard", "reset"),
        ("beta_int", 300, "beta_int"),
    ],
)
def test_lif_params_validation_names_the_attribute(field, value, match):
    p = NeuronParams(membrane_bits=8, threshold=10, leak_mode="beta", beta_int=100, beta_frac_bits=8)
    setattr(p, field, value)
    with pytest.raises(QsnnError, match=match):
        p.validate("node LIF_0")


@pytest.mark.parametrize("rounding", ["floor", "nearest", "stochastic"])
def test_input_shift_rounds_the_synaptic_input_into_membrane_units(rounding):
    """R(I, k) before the input is added: floor I >> k, nearest (I + 2^(k-1)) >> k, stochastic (I + r) >> k with r
    the top k bits of the neuron's hash; checked against Python integers, and the torch neuron against golden."""
    k = 3
    p = NeuronParams(membrane_bits=12, threshold=2000, rounding=rounding, seed=99, input_shift=k)
    current = np.zeros((1, 2, 4), dtype=np.int64)
    current[0, 1] = [101, -77, 13, -1]
    _, v = run_neurons(current, p, return_membrane=True)
    for i, x in enumerate(current[0, 1]):
        x = int(x)
        key = 99 ^ ((1 * 0x9E3779B1) & M32) ^ ((i * 0x85EBCA77) & M32)
        want = {"floor": x // 8, "nearest": (x + 4) // 8, "stochastic": (x + (ref_fmix32(key) >> 29)) // 8}[rounding]
        assert v[0, 1, i] == want
    rng = np.random.default_rng(5)
    big = rng.integers(-(1 << 16), 1 << 16, (4, 6, 9))
    p = NeuronParams(membrane_bits=8, threshold=40, leak_mode="beta", beta_int=200, rounding=rounding, input_shift=9)
    q = QuantLIF(_neuron("beta"), 8, rounding, seed=0)
    q.params = lambda scale, p=p: p
    assert int((q(torch.from_numpy(big)).numpy() != run_neurons(big, p)).sum()) == 0


def test_input_shift_out_of_range_is_refused_by_name():
    with pytest.raises(QsnnError, match="input_shift"):
        NeuronParams(membrane_bits=8, threshold=3, input_shift=17).validate("LIF node 'x'")


def _cubalif_reference(current, p):
    """CubaLIF written out with Python integers, one neuron at a time: the independent check of golden.run_neurons."""
    n, steps, size = current.shape
    out = np.zeros_like(current)
    lo, hi, f = -(1 << (p.membrane_bits - 1)), (1 << (p.membrane_bits - 1)) - 1, p.beta_frac_bits

    def rnd(x, i, t, low):
        if p.rounding == "floor":
            return x >> f
        if p.rounding == "nearest":
            return (x + (1 << (f - 1))) >> f
        key = p.seed ^ ((t * 0x9E3779B1) & M32) ^ ((i * 0x85EBCA77) & M32)
        h = ref_fmix32(key)
        return (x + ((h if low else h >> f) & ((1 << f) - 1))) >> f

    for b in range(n):
        for i in range(size):
            v = j = 0
            for t in range(steps):
                j = min(max(rnd(j * p.alpha_int, i, t, False) + int(current[b, t, i]), lo), hi)
                leaked = {"none": v, "beta": rnd(v * p.beta_int, i, t, True)}[p.leak_mode]
                u = min(max(leaked + j, lo), hi)
                s = int(u >= p.threshold)
                v = (u - p.threshold if p.reset == "subtract" else 0) if s else u
                out[b, t, i] = s
    return out


@pytest.mark.parametrize("rounding", ["floor", "nearest", "stochastic"])
@pytest.mark.parametrize("leak", ["none", "beta"])
def test_cubalif_equals_a_python_reference_and_the_torch_neuron(rounding, leak):
    rng = np.random.default_rng(7)
    current = rng.integers(-300, 301, (3, 12, 5))
    current[0, :4] = 5000  # saturate the current and the membrane
    p = NeuronParams(
        membrane_bits=10,
        threshold=200,
        leak_mode=leak,
        beta_int=220,
        beta_frac_bits=8,
        rounding=rounding,
        seed=21,
        reset="subtract" if leak == "beta" else "zero",
        neuron_model="cubalif",
        extra={"alpha_int": 150},
    )
    want = _cubalif_reference(current, p)
    assert int((run_neurons(current, p) != want).sum()) == 0
    assert want.sum() > 0 and (want == 0).sum() > 0  # the case exercises both outcomes
    q = QuantLIF(_neuron(leak), 10, rounding, seed=21)
    q.params = lambda scale, p=p: p
    assert int((q(torch.from_numpy(current)).numpy() != want).sum()) == 0


def test_cubalif_parameters_out_of_range_are_refused_by_name():
    with pytest.raises(QsnnError, match="alpha_int"):
        NeuronParams.from_attrs(dict(membrane_bits=8, threshold=3, neuron_model="cubalif", alpha_int=300)).validate("x")
    with pytest.raises(QsnnError, match="has no attribute alpha_int"):
        NeuronParams.from_attrs(dict(membrane_bits=8, threshold=3, neuron_model="lif", alpha_int=3)).validate("x")
    with pytest.raises(QsnnError, match="neuron_model"):
        NeuronParams(membrane_bits=8, threshold=3, neuron_model="izhikevich").validate("LIF node 'x'")
