"""The RTL backend: the LIF core over every mode and several widths, the synapse dense vs event-driven, and
the whole demo network in Verilator (0 mismatches, backpressure) with Yosys counts."""

import json

import numpy as np
import pytest

from toolchain.custom_op.layer_spec import LayerSpec
from toolchain.flow.build_config import BuildConfig
from toolchain.flow.runner import run_build
from toolchain.golden import NeuronParams, neurons, run_neurons
from toolchain.hls.matrix import MODES  # every (leak, rounding, reset) combination

try:
    from toolchain.rtl.sim import verilator

    verilator()
    HAVE_VERILATOR = True
except Exception:  # noqa: BLE001
    HAVE_VERILATOR = False

needs_verilator = pytest.mark.skipif(not HAVE_VERILATOR, reason="needs Verilator ('make install' installs it)")


SHAPES = [(4, 6, 6, "registers"), (11, 8, 2, "lutram"), (16, 12, 4, "bram"), (24, 10, 1, "lutram")]


@needs_verilator
@pytest.mark.slow
@pytest.mark.parametrize("k", range(len(MODES)), ids=["-".join(m) for m in MODES])
def test_rtl_lif_equals_golden(k, tmp_path):
    """Each leak x rounding x reset mode, at one of four widths (4..24 bits, PE 1..6, every memory style), each
    registered neuron model (LIF, CubaLIF, the LI readout), per-layer and per-neuron threshold, beta and alpha, on
    random and saturating inputs with random stalls on both streams."""
    from toolchain.custom_op.fpgadataflow.lif_layer import PIPELINE_DEPTH
    from toolchain.rtl.generate import write_lif_alone
    from toolchain.rtl.sim import build, run, timing

    leak, rounding, reset = MODES[k]
    b, channels, pe, style = SHAPES[k % len(SHAPES)]
    rng = np.random.default_rng(k)
    model = neurons.get(neurons.names()[(k // 2) % len(neurons.names())])  # each registered model, 6 modes each
    p = NeuronParams(
        membrane_bits=b,
        threshold=max(1, (1 << (b - 1)) // 3),
        leak_mode=leak,
        leak_shift=2,
        beta_int=230,
        beta_frac_bits=8,
        rounding=rounding,
        seed=11 + k,
        reset=reset,
        input_shift=(0, 3, 1)[k % 3],  # the membrane in 2^k accumulator units, R(I, k) by the same rounding
        neuron_model=model.name,
        extra=model.sample_attrs(rng, 8),
    )
    if k % 4 == 1:  # a threshold (and a beta) per channel: LIF, CubaLIF and LI, two of them with beta
        p.thresholds = tuple(int(v) for v in rng.integers(1, (1 << (b - 1)), channels))
        if leak == "beta":
            p.beta_ints = tuple(int(v) for v in rng.integers(0, 257, channels))
        for vector in model.vectors:  # CubaLIF's alpha per channel
            p.extra[vector] = tuple(int(v) for v in rng.integers(0, 257, channels))
    in_bits = b + 2
    spec = LayerSpec(
        "L0",
        p,
        channels=channels,
        steps=5,
        bias=rng.integers(-3, 4, channels),
        in_bits=in_bits,
        in_signed=True,
        pe=pe,
        mem_style=style,
    )
    net = write_lif_alone(spec, tmp_path)
    x = rng.integers(-(1 << (in_bits - 1)), 1 << (in_bits - 1), (24, 5, channels))
    x[0], x[1] = (1 << (in_bits - 1)) - 1, -(1 << (in_bits - 1))  # saturate both ways
    binary = build(tmp_path, net)
    y, _ = run(binary, net, x, seed=k + 1)
    assert int(np.sum(y != run_neurons(x + spec.bias, p))) == 0
    # the block's cycles against the op's estimate (LIFLayer.get_exp_cycles: T * C / PE beats, plus its fill):
    # without stalls one sample every T * C / PE cycles, each within the estimate's fill
    t = timing(run(binary, net, x, in_stall=0, out_stall=0)[1])
    assert t["interval_cycles"] == spec.steps * (channels // pe)
    assert t["latency_cycles_max"] <= spec.steps * (channels // pe) + PIPELINE_DEPTH


SYNAPSES = [  # MW, MH, SIMD, PE, input bits, signed input, weight bits, mode (0 dense, 1 event-driven, 2 address-event)
    # [, lanes a beat out (address-event: through the output register; 0: PE) [, weight rows a cycle]]
    (32, 8, 4, 2, 1, False, 4, 0),  # spikes: gated adds
    (32, 8, 4, 2, 1, False, 4, 1),  # spikes, silent chunks skipped
    (18, 6, 9, 3, 8, False, 4, 0),  # a direct-encoded first layer: uint8 x int4 products
    (24, 10, 1, 5, 4, True, 3, 0),  # signed inputs, one lane
    (64, 32, 8, 4, 1, False, 4, 2),  # spikes walked one by one, each adding its weight row
    (48, 8, 16, 8, 1, False, 3, 2),  # address-event, SIMD 16 chunks, PE 8
    (32, 4, 1, 4, 1, False, 2, 2),  # address-event, one lane a beat: the lister is the slower stage
    (64, 32, 16, 16, 1, False, 4, 2, 4),  # address-event, 16 lanes walked, shifted out 4 a beat
    (24, 16, 8, 16, 1, False, 3, 2, 1),  # ... one a beat: the output register, not the walk, sets the pace
    (64, 32, 16, 16, 1, False, 4, 2, 4, 2),  # two spikes listed and two weight rows added a cycle (dual-port ROM)
    (56, 8, 7, 4, 1, False, 2, 2, 0, 2),  # ... odd chunks, PE 4 a beat
]


def _exp_cycles(mw, mh, simd, pe):
    """The op's own cycle estimate (MVAUSynapse_rtl.get_exp_cycles) for one frame."""
    from onnx import helper
    from qonnx.custom_op.registry import getCustomOp

    import toolchain.custom_op.fpgadataflow  # noqa: F401

    attrs = {"MW": mw, "MH": mh, "SIMD": simd, "PE": pe, "numInputVectors": [1]}
    attrs |= {"inputDataType": "INT8", "weightDataType": "INT4", "outputDataType": "INT32"}
    node = helper.make_node("MVAUSynapse_rtl", ["x", "w"], ["y"], domain="finn.custom_op.fpgadataflow.rtl", **attrs)
    return getCustomOp(node).get_exp_cycles()


def address_event_schedule(frames: np.ndarray, simd: int, nf: int, beats: int = 1, rows: int = 1) -> np.ndarray:
    """The cycle at which qsnn_synapse_ae emits each frame's last beat, frames offered back to back with no stalls:
    the cycle-level schedule of its two stages, written from their handshakes (not from the Verilog), so the test
    holds the simulation to it. The lister takes a beat with p spikes in max(1, p) cycles, the next beat entering
    in the cycle the last spike is listed; the frame's list closes in that cycle X and is seen a cycle later; a
    frame's first beat waits for its bank (the one of two frames before) to be released (at that frame's last
    emit R, free a cycle later). The walker starts a frame the cycle after its release of the previous one when
    the list was seen by then, else after a cycle in WAIT; each fold takes n + 3 cycles (2 with no spikes). With an
    output register of ``beats`` beats (PE / OUT_LANES > 1), a fold's emit moves the accumulators into it when it
    holds at most its last beat, taken that cycle, so emits are at least ``beats`` cycles apart, and the frame's last
    beat leaves ``beats`` cycles after its emit. With ``rows`` spikes a cycle, a beat takes max(1, ceil(p / rows))
    cycles and a fold ceil(n / rows) + 3."""
    n_frames, mw = frames.shape
    a = x_close = 0
    release, last_emit, done = [], -(10**9), []
    for i in range(n_frames):
        if i >= 2:
            a = max(a, release[i - 2] + 1)
        beats_in = frames[i].reshape(mw // simd, simd).sum(1)
        x_close = a + int(np.maximum(-(-beats_in // rows), 1).sum())
        n = int(frames[i].sum())
        if i == 0:
            t = x_close + 2
        elif x_close + 1 <= release[i - 1]:
            t = release[i - 1] + 1
        else:
            t = max(release[i - 1] + 1, x_close + 1) + 1
        for _ in range(nf):  # t: the fold's first RUN cycle; its emit comes after the walk, and after the last one's
            emit = t + (-(-n // rows) + 3 if n else 2) - 1  # beats when the output register holds them
            if beats > 1:
                emit = max(emit, last_emit + beats)
            last_emit, t = emit, emit + 1
        release.append(last_emit)
        done.append(last_emit + (beats if beats > 1 else 0))
        a = x_close
    return np.asarray(done)


@needs_verilator
@pytest.mark.slow
@pytest.mark.parametrize("k", range(len(SYNAPSES)))
def test_rtl_synapse_block_equals_the_matrix_product_in_the_estimated_cycles(k, tmp_path):
    """The synapse core alone: every frame's accumulators equal numpy's x @ W.T (random weights and inputs, stalls
    on both streams), and without stalls it takes the op's estimate per frame (dense) or fewer (event-driven on
    sparse spikes)."""
    from toolchain.rtl.generate import SynapseSpec, write_synapse_alone
    from toolchain.rtl.sim import build, run, timing

    mw, mh, simd, pe, in_bits, signed, w_bits, event, *out = SYNAPSES[k]
    rng = np.random.default_rng(100 + k)
    w = rng.integers(-(1 << (w_bits - 1)), 1 << (w_bits - 1), (mh, mw))
    lo, hi = (-(1 << (in_bits - 1)), 1 << (in_bits - 1)) if signed else (0, 1 << in_bits)
    x = rng.integers(lo, hi, (40, 1, mw))
    if in_bits == 1:
        x[rng.random(x.shape) < 0.8] = 0  # 80 % silent inputs, as spike trains are
    want = x[:, 0, :] @ w.T
    acc_bits = int(np.abs(want).max()).bit_length() + 3
    spec = SynapseSpec("S0", w, simd, pe, in_bits, signed, w_bits, acc_bits, event, *out)
    net = write_synapse_alone(spec, tmp_path)
    binary = build(tmp_path, net)
    y, _ = run(binary, net, x, seed=k + 1)
    assert int(np.sum(y[:, 0, :] != want)) == 0
    stats = run(binary, net, x, in_stall=0, out_stall=0)[1]
    interval = timing(stats)["interval_cycles"]
    bound = _exp_cycles(mw, mh, simd, pe)
    assert bound == mw // simd + (mh // pe) * (mw // simd + 2)  # load the frame, then each neuron fold
    if event == 2:  # the lister and the walker overlap: each sample completes when the schedule says
        want = address_event_schedule(x[:, 0, :], simd, mh // pe, pe // spec.lanes_out, spec.rows)
        assert np.array_equal(np.diff(np.asarray(stats["done"])), np.diff(want)), (stats["done"][:5], want[:5])
        lister = mw // simd + x[:, 0, :].sum(1)  # an upper bound per frame (a beat costs max(1, its spikes))
        walker = (mh // pe) * np.maximum(-(-x[:, 0, :].sum(1) // spec.rows) + 3, pe // spec.lanes_out)
        assert interval <= np.maximum(lister, walker).mean() + 2 < (lister + walker).mean(), interval
    elif event:
        assert interval < bound, (interval, bound)
    else:
        assert interval == bound, (interval, bound)


@needs_verilator
@pytest.mark.slow
def test_demo_network_in_rtl_dense_and_event_driven(demo_run, tmp_path):
    out = tmp_path / "b"
    dense = run_build(
        BuildConfig(run_dir=str(demo_run), out_dir=str(out), backend="rtl", until="synth", target_cycles=32),
        log=None,
    )
    d = dense["verification"]["rtl_sim"]
    assert d["mismatches"] == 0 and d["samples"] == 360 and not d["event_driven"]
    # simulated throughput against the estimate's formula: one sample per T * (the slowest layer's cycles a step)
    bottleneck = dense["estimate"]["cycles_per_step"] * dense["steps_per_sample"]
    assert abs(d["interval_cycles"] - bottleneck) <= 0.01 * bottleneck, (d["interval_cycles"], bottleneck)
    assert {"qonnx", "finn_hw", "rtl_sim"} == set(dense["verification"]) and dense["backend"] == "rtl"
    syn = dense["synthesis"]
    assert "no place and route" in syn["label"] and syn["network"]["LUT"] > 0
    for name, c in syn["per_layer"].items():  # the timing sanity check: a path per layer, flagged over 10 ns
        t = c["timing"]
        assert t["critical_path_ns"] > t["cell_delay_ns"] > 0 and t["over_clock"] == (t["critical_path_ns"] > 10.0)
        assert (name in syn["over_clock"]) == t["over_clock"]
    layers = syn["per_layer"]
    assert set(layers) == {n["name"] for n in dense["estimate"]["per_layer"]}
    for key in ("LUT", "FF", "CARRY4", "LUTRAM", "RAMB18", "RAMB36", "DSP48E1"):
        assert syn["network"][key] == sum(layer[key] for layer in layers.values())
    # the spiking synapse needs no multipliers: only the direct-encoded first layer may use DSPs
    spiking = [n["name"] for n in dense["estimate"]["per_layer"] if n["op"] == "MVAUSynapse_rtl"][1:]
    assert all(layers[name]["DSP48E1"] == 0 for name in spiking)
    assert json.loads((out / "report.json").read_text())["synthesis"]["network"]["LUT"] == syn["network"]["LUT"]
    # the RTL layers' estimates are calibrated against Yosys (the matrix test below): each layer within 20 %
    for layer in dense["estimate"]["per_layer"]:
        ratio = layer["lut"] / max(1, layers[layer["name"]]["LUT"])
        assert 0.8 <= ratio <= 1.2, (layer["name"], layer["lut"], layers[layer["name"]]["LUT"])
    event = run_build(
        BuildConfig(
            run_dir=str(demo_run),
            out_dir=str(out),
            backend="rtl",
            until="rtlsim",
            target_cycles=32,
            event_driven=True,
            start="fold",
        ),
        log=None,
    )
    e = event["verification"]["rtl_sim"]
    assert e["mismatches"] == 0 and e["event_driven"]  # the same spikes ...
    assert e["cycles_per_inference"] < d["cycles_per_inference"]  # ... in fewer cycles
    print("dense", d["cycles_per_inference"], "event-driven", e["cycles_per_inference"])
    check_energy(demo_run, dense["energy"], event["energy"], d["samples"])


def check_energy(run_dir, dense: dict, event: dict, samples: int) -> None:
    """The events the RTL layers counted in Verilator against the golden model's own spikes (an independent count),
    and the activity-based energy built from them: static + dynamic, and the event-driven synapse doing less."""
    from toolchain.data import load_dataset
    from toolchain.golden import GoldenModel
    from toolchain.runs import run_config

    golden = GoldenModel.load(run_dir / "golden.npz")
    x = load_dataset(run_config(run_dir).data).x_test[:samples]
    trace = golden.run(x, record=True)[1]
    inputs = [golden.encode(x), *trace[:-1]]  # each synapse's input: the encoded frames, then the spikes before it
    for energy in (dense, event):
        ev = energy["events_per_inference"]
        assert list(ev) == ["MVAUSynapse_rtl_0", "LIFLayer_rtl_0", "MVAUSynapse_rtl_1", "LIFLayer_rtl_1"]
        for k in range(2):
            neurons = trace[k].shape[-1]
            assert ev[f"LIFLayer_rtl_{k}"]["spikes"] * samples == pytest.approx(trace[k].sum(), abs=1e-6)
            assert ev[f"LIFLayer_rtl_{k}"]["updates"] * samples == pytest.approx(trace[k].size, abs=1e-6)
            nonzero = np.count_nonzero(inputs[k])
            assert ev[f"MVAUSynapse_rtl_{k}"]["synops"] * samples == pytest.approx(nonzero * neurons, abs=1e-6)
        assert energy["per_inference_uj"] == pytest.approx(energy["dynamic_uj"] + energy["static_uj"])
        assert energy["static_uj"] == pytest.approx(energy["static_mw"] * energy["interval_us"] * 1e-3)
        assert energy["static_mw"] > 0 and "not Vivado" in energy["source"]
        assert energy["compared"]["per_operation_model_uj"] > 0
    reads = [
        ev["MVAUSynapse_rtl_1"]["weight_reads"] for ev in (dense["events_per_inference"], event["events_per_inference"])
    ]
    assert reads[1] < reads[0]  # the event-driven synapse reads the weights of active chunks only
    assert event["dynamic_uj"] < dense["dynamic_uj"]


@needs_verilator
@pytest.mark.slow
def test_fifos_sized_in_verilator_let_the_unfolded_demo_run_at_its_slowest_layer(demo_run, tmp_path):
    """PE = SIMD = 1: the hidden synapse (1,428 cycles a step) stalls the LIF layer before it while it computes,
    so the first synapse (8,512 cycles a step) waits without a FIFO there. The measured FIFO lets it run: one
    sample per bottleneck interval, the estimate's T * max_l c_l (an independent formula)."""
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.custom_op.registry import getCustomOp

    out = tmp_path / "b"
    r = run_build(
        BuildConfig(run_dir=str(demo_run), out_dir=str(out), backend="rtl", until="rtlsim", verify_samples=40),
        log=None,
    )
    edges = r["fifos"]["edges"]
    assert {k: e["depth"] for k, e in edges.items() if e["depth"]}.keys() == {"LIFLayer_rtl_0"}
    depth = edges["LIFLayer_rtl_0"]["depth"]
    assert depth > 2 and edges["LIFLayer_rtl_0"]["consumer"] == "MVAUSynapse_rtl_1"
    # the graph FINN stitches holds that FIFO, FINN's own op, at that depth, between those two layers
    model = ModelWrapper(str(next((out / "intermediate").glob("*_fifos.onnx"))))
    fifos = [n for n in model.graph.node if n.op_type == "StreamingFIFO_rtl"]
    assert len(fifos) == 1 and model.find_producer(fifos[0].input[0]).name == "LIFLayer_rtl_0"
    assert model.find_consumer(fifos[0].output[0]).name == "MVAUSynapse_rtl_1"
    assert getCustomOp(fifos[0]).get_nodeattr("depth") == depth
    v = r["verification"]["rtl_sim"]
    assert v["mismatches"] == 0 and v["without_fifos"]["mismatches"] == 0
    assert v["fifo_peaks"][0] <= depth  # the real FIFO (finn-rtllib's fifo.sv) held at most its depth
    bottleneck = r["estimate"]["cycles_per_step"] * r["steps_per_sample"]
    assert abs(v["interval_cycles"] - bottleneck) <= 0.01 * bottleneck
    assert v["without_fifos"]["interval_cycles"] > v["interval_cycles"]  # the stalls the FIFO removes
    print("interval", v["interval_cycles"], "without FIFOs", v["without_fifos"]["interval_cycles"], "depth", depth)


def test_rtl_steps_need_the_rtl_backend(demo_run, tmp_path):
    from toolchain.errors import QsnnError

    with pytest.raises(QsnnError, match="--until rtlsim belongs to the rtl backend; add --backend rtl"):
        BuildConfig(run_dir=str(demo_run), out_dir=str(tmp_path), until="rtlsim")
    with pytest.raises(QsnnError, match="--event-driven is a mode of the RTL synapse"):
        BuildConfig(run_dir=str(demo_run), out_dir=str(tmp_path), event_driven=True)


@needs_verilator
@pytest.mark.slow
def test_network_through_cocotb_axi_stream_with_backpressure(demo_run, tmp_path):
    """cocotb 2 + cocotbext-axi (source and sink pausing at random) drive the demo network's RTL in
    Verilator; bulk equality runs in the C++ harness, this checks the AXI-Stream protocol end to end."""
    import os
    import shutil
    import sys
    from pathlib import Path

    pytest.importorskip("cocotb_tools.runner", reason="needs cocotb 2 ('make install')")
    import verilator as verilator_pkg
    from cocotb_tools.runner import get_runner

    from toolchain.flow.verify import golden_vectors

    out = tmp_path / "b"
    report = run_build(
        BuildConfig(
            run_dir=str(demo_run), out_dir=str(out), backend="rtl", until="rtl", target_cycles=64, verify_samples=12
        ),
        log=None,
    )
    net = json.loads((out / "rtl" / "network.json").read_text())
    stamp = (Path(demo_run) / "golden.npz").stat().st_mtime_ns
    x, expected, _ = golden_vectors(str(Path(demo_run).resolve()), 12, stamp)
    x = x.reshape(len(x), net["steps"], -1, net["in_lanes"])
    mask = (1 << net["in_bits"]) - 1
    beats = [
        sum((int(v) & mask) << (k * net["in_bits"]) for k, v in enumerate(beat))
        for beat in x.reshape(-1, net["in_lanes"])
    ]
    vectors = tmp_path / "vectors.json"
    vectors.write_text(
        json.dumps(
            {
                "beats": [f"{b:x}" for b in beats],
                "counts": expected.tolist(),
                "out_lanes": net["out_lanes"],
                "steps": net["steps"],
                "out_beats": net["classes"] // net["out_lanes"],
            }
        )
    )
    root = Path(verilator_pkg.__file__).resolve().parent
    env = {
        "VERILATOR_ROOT": str(root),
        "PATH": f"{root / 'bin'}:{os.environ['PATH']}",
        "MAKEFLAGS": "CFG_CXXFLAGS_COROUTINES=-fcoroutines CFG_CXXFLAGS_STD=-std=c++20 CFG_CXXFLAGS_PCH_I=-include",
    }
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        runner = get_runner("verilator")
        runner.build(
            sources=[out / "rtl" / f for f in net["files"]],
            hdl_toplevel=net["top"],
            build_dir=tmp_path / "sim_build",
            always=True,
            build_args=["-Wno-fatal", "-Wno-lint", "-Wno-style"],
        )
        results = runner.test(
            hdl_toplevel=net["top"],
            test_module="axis_network",
            test_dir=Path(__file__).resolve().parent / "cocotb_tests",
            extra_env={"QSNN_COCOTB_VECTORS": str(vectors), "PYTHONPATH": ":".join(sys.path)},
            build_dir=tmp_path / "sim_build",
        )
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    from cocotb_tools.runner import get_results

    total, failed = get_results(results)
    assert total == 1 and failed == 0
    assert report["steps_done"][-1] == "rtl"
    shutil.rmtree(tmp_path / "sim_build", ignore_errors=True)


@needs_verilator
@pytest.mark.slow
def test_cubalif_network_with_a_narrow_membrane_in_rtl(tmp_path):
    """A trained CubaLIF network with a 10-bit membrane (--membrane-shift auto) through every level to RTL
    simulation with 0 mismatches, with Yosys counts for every layer."""
    from toolchain.config import RunConfig
    from toolchain.golden import GoldenModel
    from toolchain.train import run

    cfg = RunConfig()
    cfg.model.hidden, cfg.train.epochs = (32,), 3
    cfg.neuron.model, cfg.neuron.params = "cubalif", {"alpha": 0.5}
    cfg.quant.membrane_bits, cfg.quant.membrane_shift = 10, "auto"
    m = run(cfg, tmp_path / "run", progress=False)
    assert m["mismatches"] == 0 and m["top1"] > 0.5
    layers = GoldenModel.load(tmp_path / "run" / "golden.npz").layers
    assert all(layer.neuron.neuron_model == "cubalif" and layer.neuron.membrane_bits == 10 for layer in layers)
    state = run_build(
        BuildConfig(run_dir=str(tmp_path / "run"), out_dir=str(tmp_path / "b"), backend="rtl", until="synth"),
        log=None,
    )
    assert {k: v["mismatches"] for k, v in state["verification"].items()} == {"qonnx": 0, "finn_hw": 0, "rtl_sim": 0}
    synth = state["synthesis"]["per_layer"]
    assert all(synth[layer["name"]]["LUT"] > 0 for layer in state["estimate"]["per_layer"])


@needs_verilator
def test_address_event_network_follows_its_spikes_in_verilator_and_the_estimate(rate_run, tmp_path):
    """`--address-event` on a rate-encoded network (both synapses take spikes): every level equals the golden model,
    the estimate's cycles (at the input activity the estimate step measures) are within 5 % of the simulated
    interval, and the synapses, one adder per lane instead of PE x SIMD, are within 20 % of Yosys' LUT count and
    smaller than the dense core's estimate."""
    out = tmp_path / "ae"
    cfg = BuildConfig(run_dir=str(rate_run), out_dir=str(out), backend="rtl", until="synth", target_cycles=64)
    cfg.address_event, cfg.verify_samples = True, 200
    r = run_build(cfg, log=None)
    v = r["verification"]["rtl_sim"]
    assert v["mismatches"] == 0 and v["samples"] == 200 and v["event_driven"] == 2
    est = r["estimate"]["cycles_per_step"] * r["steps_per_sample"]
    assert abs(v["interval_cycles"] - est) <= 0.05 * v["interval_cycles"], (v["interval_cycles"], est)
    synapses = [n for n in r["estimate"]["per_layer"] if n["op"] == "MVAUSynapse_rtl"]
    assert len(synapses) == 2
    for layer in synapses:
        yosys = r["synthesis"]["per_layer"][layer["name"]]["LUT"]
        assert 0.8 <= layer["lut"] / yosys <= 1.2, (layer["name"], layer["lut"], yosys)
    dense = BuildConfig(run_dir=str(rate_run), out_dir=str(tmp_path / "d"), backend="rtl", until="estimate")
    dense.target_cycles = 64
    d = run_build(dense, log=None)["estimate"]["per_layer"]
    assert sum(n["lut"] for n in synapses) < sum(n["lut"] for n in d if n["op"] == "MVAUSynapse_rtl")
    # event-driven (silent chunks skipped): the estimate counts the active chunks measured on the test vectors
    event = BuildConfig(run_dir=str(rate_run), out_dir=str(tmp_path / "e"), backend="rtl", until="rtlsim")
    event.target_cycles, event.event_driven, event.verify_samples = 64, True, 200
    r = run_build(event, log=None)
    v = r["verification"]["rtl_sim"]
    assert v["mismatches"] == 0 and v["event_driven"] == 1
    est = r["estimate"]["cycles_per_step"] * r["steps_per_sample"]
    assert abs(v["interval_cycles"] - est) <= 0.05 * v["interval_cycles"], (v["interval_cycles"], est)


STA_TEXT = """
Latest arrival time in 'm' is 2000:
    2000 (<unknown>)
    2000 a (LUT3.I1->O)
           n1
    1700 b (CARRY4.CI->O)
           n2
    1500 c (CARRY4.CI->CO)
           n3
    1300 d (CARRY4.S->CO)
           n4
     700 e (LUT6.I2->O)
       0   \\x [0] (<primary input>)

Arrival histogram:
    1300 z (LUT2.I0->O)
"""


def test_timing_estimate_counts_routed_hops_and_flags_a_slow_layer():
    """Yosys sta's critical path: 2.0 ns of cell delay over 5 cells, 3 of them entered over general routing (the
    carry chain's CI inputs are dedicated), so 2.0 + 3 x 0.5 + 0.5 = 4.0 ns: 250 MHz; over a 300 MHz clock."""
    from toolchain.rtl.synth import layer_timing, parse_sta

    paths = parse_sta(STA_TEXT)
    assert paths == {"m": {"cell_ps": 2000, "hops": 3, "cells": 5}}
    modules = {"wrapper": {"m": 1, "FDRE": 4}, "m": {"LUT3": 1}}
    t = layer_timing(paths, modules, "wrapper", 100.0)
    assert t["critical_path_ns"] == 4.0 and t["fmax_estimate_mhz"] == 250.0 and not t["over_clock"]
    assert layer_timing(paths, modules, "wrapper", 300.0)["over_clock"]
    assert layer_timing(paths, {"other": {}}, "other", 100.0) is None


def test_synapse_modes_are_one_at_a_time_and_rtl_only(demo_run, tmp_path):
    from toolchain.errors import QsnnError

    base = {"run_dir": str(demo_run), "out_dir": str(tmp_path / "b")}
    with pytest.raises(QsnnError, match="two modes of the synapse; choose one"):
        BuildConfig(**base, backend="rtl", event_driven=True, address_event=True)
    with pytest.raises(QsnnError, match="--address-event is a mode of the RTL synapse; add --backend rtl"):
        BuildConfig(**base, address_event=True)
    assert BuildConfig(**base, backend="rtl", address_event=True).synapse_mode == 2


# The estimate matrix: each RTL layer kind's LUT estimate against Yosys over foldings, widths and modes (digits
# networks: spike and uint8 inputs, 2- and 4-bit weights, beta / stochastic leaks, conv with its pool; dense,
# event-driven and address-event synapses with and without an output register, one or two rows a cycle). The
# ternary network and most of these foldings were not among those the estimates were fitted to.
def _fold(p0, s0, p1, s1, o0=None, o1=None, rows=None) -> dict:
    out0, out1 = ({"out_lanes": o0} if o0 else {}), ({"out_lanes": o1} if o1 else {})
    if rows:
        out0, out1 = {**out0, "rows": rows}, {**out1, "rows": rows}
    return {
        "MVAU_hls_0": {"PE": p0, "SIMD": s0, **out0},
        "LIFLayer_hls_0": {"PE": o0 or p0},
        "MVAU_hls_1": {"PE": p1, "SIMD": s1, **out1},
        "LIFLayer_hls_1": {"PE": o1 or p1},
    }


ESTIMATE_MATRIX = [  # (fixture, build options, folding); the demo's and the AE test's builds check more
    ("rate_run", {"address_event": True}, _fold(32, 8, 10, 4, 4, 2)),  # spikes walked, an output register
    ("rate_run", {"address_event": True}, _fold(8, 16, 5, 8, None, 1, rows=2)),  # two rows a cycle
    ("demo_run", {}, _fold(16, 4, 2, 16)),  # uint8 products, a dense spike synapse, LIF membranes in registers
    ("conv_run", {"target_cycles": 8}, None),  # a conv's products, its pool, a LIF in LUTRAM
    ("ternary_stochastic_run", {"event_driven": True}, _fold(1, 4, 2, 1)),  # 2-bit, chunks skipped, stochastic
]


@pytest.mark.slow
@pytest.mark.parametrize("k", range(len(ESTIMATE_MATRIX)))
def test_rtl_estimates_within_20_percent_of_yosys_over_a_matrix(k, request, tmp_path):
    """Every RTL layer's LUT estimate (the op's lut_estimation, as the estimate step reports it) within 0.8..1.2 of
    Yosys' post-synthesis count of the Verilog the same build writes (counted without simulating: the counts, not
    the behaviour, are under test here)."""
    from qonnx.core.modelwrapper import ModelWrapper

    from toolchain.errors import QsnnError
    from toolchain.rtl.synth import synthesize_network, yosys

    try:
        yosys()
    except QsnnError as e:
        pytest.skip(str(e))
    fixture, options, folding = ESTIMATE_MATRIX[k]
    cfg = BuildConfig(run_dir=str(request.getfixturevalue(fixture)), out_dir=str(tmp_path / "b"), backend="rtl")
    cfg.until, cfg.verify_samples = "rtl", 20
    for key, value in options.items():
        setattr(cfg, key, value)
    if folding:
        (tmp_path / "folding.json").write_text(json.dumps(folding))
        cfg.folding = str(tmp_path / "folding.json")
    r = run_build(cfg, log=None)
    rtl = tmp_path / "b" / "rtl"
    model = ModelWrapper(str(sorted((tmp_path / "b" / "intermediate").glob("*_rtl.onnx"))[-1]))
    counts = synthesize_network(rtl, json.loads((rtl / "network.json").read_text()), model, cfg.board_info.part)
    layers = [layer for layer in r["estimate"]["per_layer"] if layer["name"] in counts["per_layer"]]
    assert {layer["op"] for layer in layers} >= {"MVAUSynapse_rtl", "LIFLayer_rtl"}
    for layer in layers:
        yosys_lut = counts["per_layer"][layer["name"]]["LUT"]
        print(layer["name"], layer["folding"], "estimate", layer["lut"], "Yosys", yosys_lut)
        assert 0.8 <= layer["lut"] / yosys_lut <= 1.2, (layer["name"], layer["folding"], layer["lut"], yosys_lut)
