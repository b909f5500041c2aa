"""The verification ladder during a build: each level's class scores (the run's readout of the last layer's
outputs: spike counts, final membrane or first spike) against the golden model's.

Levels: ``qonnx`` (2: the exported graph through qonnx's execute_onnx), ``finn_hw`` (3: the FINN HW
graph, each HW op's Python execution), ``hls_csim`` (4: every HLS node in g++ C-simulation: the LIF kernel, and
FINN's own nodes compiled from FINN's code against finn-hlslib where it is found, toolchain.hls.finn_csim; what is
left in Python is named per node, with the reason). Inputs are the run's test set, encoded as the golden model does.
"""

from __future__ import annotations

import copy
import functools
from pathlib import Path

import numpy as np
from onnx import helper
from qonnx.core.onnx_exec import execute_onnx
from qonnx.custom_op.registry import getCustomOp
from qonnx.util.basic import get_by_name
from tqdm.auto import tqdm

from toolchain.custom_op.lif import frame_steps
from toolchain.errors import QsnnError
from toolchain.golden import GoldenModel, readout

BATCH = 120
BATCHED_ATTRS = ("numInputVectors", "inShape", "outShape")
NOTES = {
    "rtl_sim": "the whole network's Verilog (RTL backend) in Verilator, random stalls on both streams",
    "qonnx": "exported QONNX graph, qonnx execute_onnx (LIF op's numpy execution)",
    "finn_hw": "FINN HW graph before specialization: MVAU and LIF Python execution",
    "hls_csim": "HLS nodes in g++ C-simulation (open ap_int headers): the LIF kernel, and FINN's own nodes "
    "from FINN's cppsim code with finn-hlslib, FINN's RTL sliding windows in Verilator; nodes and python_why "
    "say which ran where and why the rest ran in Python",
}


@functools.lru_cache(maxsize=4)
def golden_vectors(run_dir: str, samples: int | None, stamp: int):
    """(encoded inputs (N, T, ...), golden scores (N, classes), the readout) of a run's test set, computed once per
    process and golden model (``stamp``: golden.npz's mtime, so a retrained run is reloaded): every
    ladder level of a build compares against the same arrays (read-only)."""
    from toolchain.data import load_dataset
    from toolchain.runs import run_config

    run_cfg = run_config(run_dir)
    ds = load_dataset(run_cfg.data)
    golden = GoldenModel.load(Path(run_dir) / "golden.npz")
    x = ds.x_test if samples is None else ds.x_test[:samples]
    return golden.encode(x), golden.run(x), golden.readout


def synapse_inputs(run_dir: str, samples: int | None) -> list[np.ndarray]:
    """Each synaptic layer's input frames, (frames, features) integers, on the run's test vectors (the golden
    model's encoded inputs and its layers' spikes; at most 1,000 samples): what an event-driven synapse's cycles
    follow."""
    from toolchain.data import load_dataset
    from toolchain.runs import run_config

    golden = GoldenModel.load(Path(run_dir) / "golden.npz")
    x = load_dataset(run_config(run_dir).data).x_test[: min(samples or 1000, 1000)]
    trace = golden.run(x, record=True)[1]
    return [np.asarray(h).reshape(h.shape[0] * h.shape[1], -1) for h in [golden.encode(x), *trace[:-1]]]


def mismatches(model, run_dir, samples, desc: str, prepare=None) -> tuple[int, int]:
    """(samples whose class scores differ from the golden model's, samples checked)."""
    stamp = (Path(run_dir) / "golden.npz").stat().st_mtime_ns
    x, expected, kind = golden_vectors(str(run_dir), samples, stamp)
    got = class_scores(model, x, desc, kind, prepare)
    return int(np.sum(np.any(got != expected, axis=1))), int(len(x))


def with_batch(model, n: int):
    """A copy of the model whose leading (batch) dimension is n (graphs here carry no Reshape): n samples of a
    (N, T, features) graph, or n frames of a one-frame conv graph."""
    if model.get_tensor_shape(model.graph.input[0].name)[0] == n:
        return model
    m = copy.deepcopy(model)
    # the activations: every tensor downstream of the graph input (not the weights, nor Quant nodes' outputs)
    batched = {m.graph.input[0].name}
    for node in m.graph.node:  # topologically sorted
        if any(i in batched for i in node.input):
            batched.update(node.output)
    for vi in list(m.graph.input) + list(m.graph.output) + list(m.graph.value_info):
        dims = vi.type.tensor_type.shape.dim
        if vi.name in batched and len(dims) >= 2:
            dims[0].dim_value = n
    for node in m.graph.node:
        for name in BATCHED_ATTRS:  # shapes FINN's HW ops keep as attributes (MVAU/LIF, width converters)
            attr = get_by_name(node.attribute, name)
            if attr is not None:
                vec = list(attr.ints)
                vec[0] = n
                node.attribute.remove(attr)
                node.attribute.append(helper.make_attribute(name, vec))
        if node.domain.startswith("finn.custom_op.fpgadataflow"):  # FINN's Pool keeps its batch as one integer
            op = getCustomOp(node)
            if "BatchSize" in op.get_nodeattr_types():
                op.set_nodeattr("BatchSize", n)
    return m


def class_scores(model, x_encoded: np.ndarray, desc: str, kind: str = "count", prepare=None) -> np.ndarray:
    """Execute the graph over all inputs in batches; returns the class scores (N, classes) by readout ``kind``.
    ``prepare(model, rows)``, if given, readies each batched copy of the graph (code compiled for its batch) and
    returns the nodes run by a simulator instead, {node name: run(input) -> output}."""
    iname, oname = model.graph.input[0].name, model.graph.output[0].name
    in_shape = model.get_tensor_shape(iname)
    steps = x_encoded.shape[1]
    frames = frame_steps(model)  # a conv graph runs one frame at a time: a batch of n samples is n*T frames
    if frames and frames != steps:
        raise QsnnError(f"the graph's LIF nodes keep state over {frames} frames, the inputs have {steps} steps")
    counts = []
    batched, runners = {}, {}
    step = max(1, BATCH // steps) if frames else BATCH
    for s in tqdm(range(0, len(x_encoded), step), desc=desc, unit="batch", leave=False, disable=None):
        chunk = x_encoded[s : s + step]
        n = len(chunk)
        rows = n * steps if frames else n
        if rows not in batched:
            batched[rows] = with_batch(model, rows)
            runners[rows] = prepare(batched[rows], rows) if prepare is not None else {}
        x = chunk.reshape((rows, *in_shape[1:])).astype(np.float32)
        out = (
            execute_frames(batched[rows], x, runners[rows])
            if frames
            else execute_onnx(batched[rows], {iname: x})[oname]
        )
        counts.append(readout(np.rint(out).astype(np.int64).reshape(n, steps, -1), kind))
    return np.concatenate(counts)


# ops whose execution is exact for one image only (qonnx's Im2Col reshapes a batch wrongly; FINN graphs are batch 1)
ONE_IMAGE_OPS = ("ConvolutionInputGenerator", "Im2Col")


def execute_frames(model, x: np.ndarray, runners=None) -> np.ndarray:
    """Execute a conv graph (one frame per run) over a batch of frames: each node by its own execution, as
    execute_onnx does, on the whole batch, except the sliding-window ops, which run frame by frame. The LIF
    nodes see every frame of their samples at once and keep state over ``frame_steps`` of them. ``runners``: nodes
    run by a simulator instead ({name: run(input batch) -> output batch})."""
    from qonnx.core.onnx_exec import execute_node

    graph = model.graph
    ctx = model.make_empty_exec_context()
    ctx[graph.input[0].name] = x
    opset = model.model.opset_import[0].version
    for node in graph.node:
        if runners and node.name in runners:
            ctx[node.output[0]] = runners[node.name](ctx[node.input[0]])
            continue
        if not node.op_type.startswith(ONE_IMAGE_OPS):
            execute_node(node, ctx, graph, opset)
            continue
        out = node.output[0]
        frames = []
        for f in range(len(x)):
            one = {name: ctx[name][f : f + 1] for name in node.input}
            one[out] = np.zeros((1, *ctx[out].shape[1:]), dtype=np.float32)
            execute_node(node, one, graph, opset)
            frames.append(one[out])
        ctx[out] = np.concatenate(frames)
    return ctx[graph.output[0].name]


def csim_model(model, cfg):
    """The folded HW graph for level 4: LIFLayer_hls nodes compiled for g++ C-simulation, FINN's HLS nodes set to
    cppsim where finn-hlslib is found (compiled per batch by the returned ``prepare``), FINN's RTL sliding windows
    in Verilator (FINN has no HLS one), every other node as its abstract FINN op (Python execution). Returns
    (model, prepare or None, record): the record maps each node to "cpp", "verilator" or "python", says why for
    those in Python, and names the finn-hlslib compiled."""
    from toolchain.hls import finn_csim
    from toolchain.rtl.generate import FINN_RTL_ONLY
    from toolchain.vivado.environment import deps_dir, fetch_command

    m = copy.deepcopy(model)
    deps = deps_dir(cfg)
    verilator, verilator_missing = _verilator()
    hlslib = finn_csim.hlslib_record(deps)
    nodes, why = {}, {}
    folder = Path(cfg.out) / "csim"
    for node in m.graph.node:
        if node.op_type == "LIFLayer_hls":
            op = getCustomOp(node)
            op.set_nodeattr("code_gen_dir_cppsim", str(folder / node.name))
            op.code_generation_cppsim(m)
            op.compile_singlenode_code()
            op.set_nodeattr("exec_mode", "cppsim")
            nodes[node.name] = "cpp"
        elif node.op_type.endswith("_hls") and hlslib is not None:
            getCustomOp(node).set_nodeattr("exec_mode", "cppsim")
            nodes[node.name] = "cpp"
        elif node.op_type in FINN_RTL_ONLY and verilator is not None:
            nodes[node.name] = "verilator"  # FINN has no HLS sliding window or padding: its RTL ones, in Verilator
            finn_csim.abstract_op(node)
        elif node.op_type.endswith(("_hls", "_rtl")):
            if node.op_type.endswith("_rtl"):
                why[node.name] = "an RTL node: " + (
                    f"FINN has no HLS variant, and {verilator_missing}"
                    if verilator_missing
                    else f"of FINN's RTL nodes level 4 simulates {', '.join(FINN_RTL_ONLY)} only"
                )
            else:
                why[node.name] = (
                    f"finn-hlslib not found in {deps} (its {finn_csim.HLSLIB_HEADER}); pass --finn-deps DIR, or fetch "
                    f"it: {fetch_command(deps)}"
                )
            finn_csim.abstract_op(node)
            nodes[node.name] = "python"
    windows = {name: rtl_runner(model, name, folder / name, cfg) for name, v in nodes.items() if v == "verilator"}
    prepare = None
    if windows or hlslib is not None:

        def prepare(batched, rows):
            if hlslib is not None:
                left = finn_csim.prepare_graph(batched, folder / f"batch_{rows}", Path(hlslib["path"]))
                nodes.update(dict.fromkeys(left, "python"))
                why.update(left)
            return windows

    return m, prepare, {"nodes": nodes, "python_why": why, "finn_hlslib": hlslib}


def _verilator():
    """(Verilator's command, None) or (None, why it is missing)."""
    from toolchain.errors import ToolNotFound
    from toolchain.rtl.sim import verilator

    try:
        return verilator()[0], None
    except ToolNotFound as e:
        return None, str(e)


def rtl_runner(model, name: str, folder: Path, cfg):
    """FINN's RTL-only node ``name`` of ``model`` (a sliding window or a padding), alone in Verilator (random
    stalls on both streams): a function from a batch of frames (rows, H, W, C) to its outputs."""
    from toolchain.rtl.generate import write_finn_layer_alone
    from toolchain.rtl.sim import build, run
    from toolchain.vivado.environment import finn_settings

    node = model.get_node_from_name(name)
    with finn_settings(cfg):
        net = write_finn_layer_alone(node, model, folder, cfg.board_info.part)
    binary = build(folder, net)
    op = getCustomOp(node)
    out_shape = op.get_normal_output_shape()[1:]
    regroup = False
    if node.op_type == "ConvolutionInputGenerator_rtl":
        k = int(np.prod(op.get_nodeattr("ConvKernelDim")))
        ch, simd = op.get_nodeattr("IFMChannels"), op.get_nodeattr("SIMD")
        # a depthwise window folded below its channels streams each channel fold's K positions together; the
        # graph's tensors (FINN's op semantics, its Python execution: Im2Col) hold K positions x C channels
        regroup = bool(op.get_nodeattr("depthwise")) and simd < ch

    def execute(x):
        y, _ = run(binary, net, np.rint(x).astype(np.int64).reshape(len(x), 1, -1))
        y = y.reshape(len(x), *out_shape)
        if regroup:
            y = y.reshape(*y.shape[:-1], ch // simd, k, simd).swapaxes(-3, -2).reshape(y.shape)
        return y.astype(np.float32)

    return execute


def level(model, cfg, name: str) -> dict:
    """Run one ladder level over the test vectors; returns {mismatches, samples, note} and the hashes of
    the golden model and of the graph it checked (so a result is never mistaken for another graph's)."""
    import hashlib

    from toolchain.fsutil import sha256_file

    graph = hashlib.sha256(model.model.SerializeToString()).hexdigest()
    prepare, record = None, {}
    if name == "hls_csim":
        model, prepare, record = csim_model(model, cfg)
    bad, n = mismatches(model, cfg.run_dir, cfg.verify_samples, f"verify {name}", prepare)
    return {
        "mismatches": bad,
        "samples": n,
        "note": NOTES[name],
        "golden_sha256": sha256_file(Path(cfg.run_dir) / "golden.npz"),
        "graph_sha256": graph,
        **record,
    }


def rtl_vectors(cfg, net: dict):
    """golden_vectors of the build, the inputs shaped (N, T, features) as the RTL harness streams them."""
    stamp = (Path(cfg.run_dir) / "golden.npz").stat().st_mtime_ns
    x, expected, kind = golden_vectors(str(cfg.run_dir), cfg.verify_samples, stamp)
    return x.reshape(len(x), net["steps"], -1), expected, kind


SAIF_SAMPLES = 50  # samples in the SAIF file of a build's switching (tracing slows the simulation ~10x)


def rtl_level(model, cfg, state) -> dict:
    """Level 5: the whole network's RTL in Verilator over the test vectors, with random stalls on both streams;
    then without stalls (toolchain.rtl.sim.measure): the steady-state interval (throughput) and the latency per
    sample, with the FIFOs and, for comparison, with the layers chained directly (the same Verilog without the
    FIFO nodes)."""
    import hashlib

    from toolchain.fsutil import sha256_file
    from toolchain.rtl.generate import write_network
    from toolchain.rtl.sim import build, measure, run

    net = state.rtl_network
    graph = hashlib.sha256(model.model.SerializeToString()).hexdigest()
    binary = build(Path(state.rtl_dir), net)
    x, expected, kind = rtl_vectors(cfg, net)

    def wrong(outputs) -> int:  # samples whose class scores differ from the golden model's
        return int(np.sum(np.any(readout(outputs, kind) != expected, axis=1)))

    outputs, stats = run(binary, net, x)
    figures, free, _ = measure(binary, net, x)  # the cycles when the streams never wait
    saif = Path(state.rtl_dir) / "activity.saif"  # the switching of the first samples, for Vivado's report_power
    if not np.array_equal(
        run(binary, net, x[:SAIF_SAMPLES], in_stall=0, out_stall=0, saif=saif)[0], outputs[:SAIF_SAMPLES]
    ):
        raise QsnnError("the RTL simulation gave other outputs while writing its SAIF file (a bug; report it)")
    result = {
        "mismatches": wrong(outputs),
        "samples": int(len(x)),
        "note": NOTES["rtl_sim"],
        "golden_sha256": sha256_file(Path(cfg.run_dir) / "golden.npz"),
        "graph_sha256": graph,
        "cycles_per_inference": free["cycles"] / len(x),
        "first_inference_cycles": free["done"][0] - free["start"][0] + 1,
        "cycles_with_stalls": stats["cycles"],
        "event_driven": net["event"],
        **figures,
        "fifo_peaks": free["fifo_maxcount"],
        "activity": free["activity"],  # the layers' event counts over the samples back to back (build state: energy)
        "saif": str(saif),
    }
    if net["fifos"]:
        folder = Path(state.rtl_dir) / "without_fifos"
        chain = write_network(model, folder, net["event"], fifos=False, part=cfg.board_info.part)
        chain_binary = build(folder, chain)
        result["without_fifos"] = {
            "mismatches": wrong(run(chain_binary, chain, x)[0]),
            **measure(chain_binary, chain, x)[0],
        }
    return result
