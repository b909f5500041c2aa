"""Named build steps ``step_*(model, cfg, state) -> model`` (FINN builder style, short steps).

``state`` is the build's running record (verification results, timings, paths) that the runner saves
after every step, so a build resumes with ``--from`` and a failure points at one step.
"""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import numpy as np
from finn.transformation.general import ApplyConfig
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.custom_op.registry import getCustomOp
from qonnx.transformation.general import GiveReadableTensorNames, GiveUniqueNodeNames
from qonnx.transformation.infer_datatypes import InferDataTypes
from qonnx.transformation.infer_shapes import InferShapes

import toolchain.custom_op.fpgadataflow  # noqa: F401  (plugs this project's HW ops into FINN)
from toolchain.custom_op.lif import graph_steps
from toolchain.errors import QsnnError
from toolchain.flow import verify
from toolchain.flow.build_config import ADDRESS_EVENT, STEPS
from toolchain.fsutil import read_json
from toolchain.transform import (
    AbsorbScaleIntoLIF,
    InferLIFLayer,
    UseRTLBackend,
    UseSpikeOps,
    check_stream_widths,
)
from toolchain.vivado.environment import finn_settings

HW_OPS = {"MVAU", "LIFLayer", "ConvolutionInputGenerator", "FMPadding", "Pool"}
# a conv graph (one frame per run) adds Conv, MaxPool on spikes, the NHWC<->NCHW Transposes around them, Flatten
QONNX_OPS = {"Quant", "BipolarQuant", "MatMul", "Mul", "Add", "LIF", "Conv", "MaxPool", "Transpose", "Flatten"}


def _quiet(model, *transforms):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for t in transforms:
            model = model.transform(t)
    return model


def step_export(model, cfg, state):
    """Trained run -> QONNX with LIF nodes; level 2 (QONNX execution) checked against the golden model."""
    from toolchain.export import export_model
    from toolchain.runs import load_run, run_record

    run_cfg, net, ds = load_run(cfg.run_dir)
    meta = run_record(cfg.run_dir)[1]["dataset"]
    model = export_model(net, run_cfg, meta, cfg.out / "model.onnx")
    state.steps_per_sample = run_cfg.data.steps
    state.verification["qonnx"] = verify.level(model, cfg, "qonnx")
    return model


def step_streamline(model, cfg, state):
    """ConvertQONNXtoFINN, convs lowered to Im2Col + MatMul, scales and biases folded into the LIF nodes.

    The lowering's NHWC/NCHW transposes cancel pairwise; the graph left is pure integer."""
    from finn.transformation.qonnx.convert_qonnx_to_finn import ConvertQONNXtoFINN
    from finn.transformation.streamline.absorb import AbsorbConsecutiveTransposes
    from finn.transformation.streamline.reorder import MoveScalarLinearPastInvariants
    from qonnx.transformation.lower_convs_to_matmul import LowerConvsToMatMul

    check_ops(model, QONNX_OPS, "QONNX")
    model = _quiet(
        model,
        ConvertQONNXtoFINN(),
        LowerConvsToMatMul(),
        MoveScalarLinearPastInvariants(),  # the weight scale's Mul past the Transpose, next to its LIF
        AbsorbConsecutiveTransposes(),
        AbsorbScaleIntoLIF(),
        InferShapes(),
        InferDataTypes(),
        GiveUniqueNodeNames(),
        GiveReadableTensorNames(),
    )
    return model


def step_hw(model, cfg, state):
    """MatMul -> MVAU, LIF -> LIFLayer, Im2Col -> ConvolutionInputGenerator, MaxPool -> window + Pool; level 3.

    MVAUs take spikes as BINARY (integers on the first layer), integer weights and no activation; FINN's own
    InferPool / InferConvInpGen lower the conv graph's sliding windows."""
    from finn.transformation.fpgadataflow.convert_to_hw.conv_inp_gen import InferConvInpGen
    from finn.transformation.fpgadataflow.convert_to_hw.pool import InferPool
    from finn.transformation.fpgadataflow.convert_to_hw.quantized_matrix_vector_activation import (
        InferQuantizedMatrixVectorActivation,
    )
    from finn.transformation.move_reshape import RemoveCNVtoFCFlatten
    from finn.transformation.streamline.absorb import AbsorbConsecutiveTransposes

    model = _quiet(
        model,
        InferPool(),  # MaxPool -> Transpose, Im2Col, Pool, Transpose
        AbsorbConsecutiveTransposes(),
        InferConvInpGen(),
        InferQuantizedMatrixVectorActivation(),
        InferLIFLayer(),
        RemoveCNVtoFCFlatten(),  # the Flatten before a dense layer: the MVAU reads the NHWC stream as it comes
        InferShapes(),
        InferDataTypes(),
        GiveUniqueNodeNames(),
    )
    check_ops(model, HW_OPS, "hardware", domain="finn.custom_op.fpgadataflow")
    state.verification["finn_hw"] = verify.level(model, cfg, "finn_hw")
    return model


def check_ops(model, allowed, stage, domain=None):
    """Raise QsnnError listing every node the flow cannot lower, with its position and tensors."""
    bad = [
        (i, n)
        for i, n in enumerate(model.graph.node)
        if n.op_type not in allowed or (domain is not None and not n.domain.startswith(domain))
    ]
    if bad:
        where = "; ".join(
            f"#{i} {n.op_type} '{n.name}' ({', '.join(n.input)} -> {', '.join(n.output)})" for i, n in bad
        )
        raise QsnnError(
            f"the flow cannot lower {len(bad)} {stage} node(s) to hardware: {where}. Supported: "
            "dense and conv spiking layers (MatMul / Conv + LIF), max-pooling of spikes, Flatten"
        )


def step_specialize(model, cfg, state):
    """Dataflow partition, then SpecializeLayers for the board's part (MVAU_hls, LIFLayer_hls)."""
    from finn.transformation.fpgadataflow.create_dataflow_partition import CreateDataflowPartition
    from finn.transformation.fpgadataflow.specialize_layers import SpecializeLayers

    parts = cfg.out / "partitions"
    shutil.rmtree(parts, ignore_errors=True)
    parent = _quiet(model, CreateDataflowPartition(partition_model_dir=str(parts)))
    parent.save(str(cfg.out / "intermediate" / "dataflow_parent.onnx"))
    sdp = [n for n in parent.graph.node if n.op_type == "StreamingDataflowPartition"]
    if len(sdp) != 1 or len(parent.graph.node) != 1:
        raise QsnnError(
            f"expected the whole graph in one dataflow partition, got {[n.op_type for n in parent.graph.node]}"
        )
    child = ModelWrapper(getCustomOp(sdp[0]).get_nodeattr("model"))
    for node in child.graph.node:
        if node.op_type in ("MVAU", "LIFLayer"):
            # HLS first, for every backend: FINN's SetFolding folds MVAU_hls (it would pick MVAU_rtl for some and
            # LIFLayer_rtl for all); the RTL backend swaps in this project's RTL layers after folding (UseRTLBackend)
            getCustomOp(node).set_nodeattr("preferred_impl_style", "hls")
        elif node.op_type == "FMPadding":  # a padded conv's zeros: in the backend's own language (both are FINN's)
            getCustomOp(node).set_nodeattr("preferred_impl_style", cfg.backend)
    return _quiet(child, SpecializeLayers(cfg.board_info.part), GiveUniqueNodeNames())


def step_fold(model, cfg, state):
    """Fold (a folding JSON, or a target in cycles per time step), then match every stream width."""
    from finn.transformation.fpgadataflow.insert_dwc import InsertDWC
    from finn.transformation.fpgadataflow.minimize_accumulator_width import MinimizeAccumulatorWidth
    from finn.transformation.fpgadataflow.set_folding import SetFolding
    from finn.transformation.fpgadataflow.specialize_layers import SpecializeLayers

    model = _quiet(model, MinimizeAccumulatorWidth(), InferDataTypes())
    steps = state.steps_per_sample
    ae = {}  # the address-event synapse's own attributes: set once the node is one (UseRTLBackend)
    if cfg.folding:
        folding = read_folding(cfg.folding, model)
        for name, fold in folding.items():
            own = {key: fold.pop(key) for key in AE_FOLDING if key in fold}
            if own:
                ae[name] = own
        if ae and cfg.synapse_mode != ADDRESS_EVENT:
            raise QsnnError(
                f"folding file {cfg.folding}: {' and '.join(AE_FOLDING)} (on {', '.join(ae)}) are the address-event "
                "synapse's; build with --backend rtl --address-event, or drop them"
            )
        model = _quiet(model, ApplyConfig(folding))
    elif cfg.target_cycles:
        # LIF first: SetFolding's second pass relaxes its target to the slowest node it sees
        fold_lif(model, cfg.target_cycles)
        model = _quiet(model, SetFolding(target_cycles_per_frame=cfg.target_cycles * graph_steps(model, steps)))
    if cfg.backend == "rtl":  # each layer takes its producer's width: no converters needed
        model = _quiet(model, UseRTLBackend(cfg.synapse_mode, ae))
    elif not cfg.folding:
        meet_hls_rules(model)
    check_folding(model)
    save_folding(model, cfg.out / "folding.json")  # named as --folding finds the nodes: before the RTL names
    if cfg.backend == "rtl":  # RTL nodes named by their own op (MVAUSynapse_rtl_0, LIFLayer_rtl_0), not the HLS one
        model = _quiet(model, GiveUniqueNodeNames())
    if cfg.backend == "hls":  # width converters where a consumer takes another width (FINN's own), in HLS: what
        model = _quiet(model, InsertDWC())  # the HLS backend ships is what level 4 compiles (finn-hlslib's)
        for node in model.graph.node:
            if node.op_type == "StreamingDataWidthConverter":
                getCustomOp(node).set_nodeattr("preferred_impl_style", "hls")
        model = _quiet(model, SpecializeLayers(cfg.board_info.part), UseSpikeOps())
    check_stream_widths(model)
    return model


AE_FOLDING = ("out_lanes", "rows")  # what a folding file may set on an address-event synapse beside PE and SIMD


def read_folding(path, model) -> dict:
    """A folding JSON ({node: {"PE": int, "SIMD": int}}), checked against the graph before FINN applies it."""
    from toolchain.fsutil import read_json

    fix = 'give {node name: {"PE": int, "SIMD": int}} for nodes of the graph (see a build\'s folding.json)'
    folding = read_json(path, "folding file", fix)
    names = {n.name: n for n in model.graph.node}
    for name, fold in folding.items():
        if name == "Defaults":
            if not isinstance(fold, dict):
                raise QsnnError(f"folding file {path}: 'Defaults' is not an object; {fix}")
            continue
        if name not in names:
            raise QsnnError(
                f"folding file {path} names node {name!r}, which the graph does not have (nodes: {', '.join(names)})"
            )
        if not isinstance(fold, dict):
            raise QsnnError(f"folding file {path}: {name} is {fold!r}, not an object; {fix}")
        allowed = {k for k in ("PE", "SIMD") if k in getCustomOp(names[name]).get_nodeattr_types()}
        if names[name].op_type.startswith("MVAU"):
            allowed.update(AE_FOLDING)  # the address-event synapse's output lanes and rows a cycle (RTL backend)
        for key, value in fold.items():
            if key not in allowed:
                raise QsnnError(f"folding file {path}: {name} has no attribute {key!r} (it takes {sorted(allowed)})")
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise QsnnError(f"folding file {path}: {name}.{key} = {value!r} is not a positive integer")
    return folding


def hls_min_simd(mw: int) -> int:
    """The smallest SIMD that divides MW and meets FINN's HLS MVAU rule SIMD >= MW / 1024."""
    return next(s for s in range(1, mw + 1) if mw % s == 0 and s * 1024 >= mw)


def meet_hls_rules(model) -> None:
    """Raise an HLS MVAU's SIMD to the smallest that FINN's code generation accepts (SIMD >= MW / 1024, which FINN
    asserts only when it writes the node's HLS); a folding chosen by the project never breaks it."""
    for node in model.graph.node:
        if node.op_type.startswith("MVAU") and node.op_type.endswith("_hls"):
            op = getCustomOp(node)
            op.set_nodeattr("SIMD", max(op.get_nodeattr("SIMD"), hls_min_simd(op.get_nodeattr("MW"))))


def check_folding(model) -> None:
    """Every PE / SIMD divides what it folds (FINN's MVAU does not check this itself), and meets what FINN asserts
    only at code generation: an HLS MVAU's SIMD >= MW / 1024, a sliding window's SIMD dividing its channels (and equal
    to its pool's PE), HLS
    streams within FINN's widest ap_int (MAX_ALLOWED_AP_INT_W). A QsnnError names the node, the rule and the fix."""
    from finn.util.basic import MAX_ALLOWED_AP_INT_W

    for node in model.graph.node:
        op = getCustomOp(node)
        window = model.find_producer(node.input[0]) if node.op_type.startswith("Pool") else None
        if window is not None and window.op_type.startswith("Convolution"):
            simd, pe = getCustomOp(window).get_nodeattr("SIMD"), op.get_nodeattr("PE")
            if simd != pe:  # the depthwise window streams folds of SIMD channels; the pool reads PE at a time
                raise QsnnError(
                    f"{node.name}: PE={pe} differs from the SIMD={simd} of its sliding window {window.name}, which "
                    "streams each channel fold's window positions together; give both the same value"
                )
        if hasattr(op, "check_folding"):
            op.check_folding()
            continue
        attrs = op.get_nodeattr_types()
        for fold, dim in (("SIMD", "MW"), ("PE", "MH")):
            if fold in attrs and dim in attrs:
                f, d = op.get_nodeattr(fold), op.get_nodeattr(dim)
                if f < 1 or d % f:
                    raise QsnnError(f"{node.name}: {fold}={f} must divide {dim}={d}; choose a divisor of {d}")
        if node.op_type.startswith("MVAU") and node.op_type.endswith("_hls"):
            simd, mw = op.get_nodeattr("SIMD"), op.get_nodeattr("MW")
            if simd * 1024 < mw:
                raise QsnnError(
                    f"{node.name}: SIMD={simd} breaks FINN's HLS MVAU rule SIMD >= MW / 1024 (MW={mw}); "
                    f"use SIMD >= {hls_min_simd(mw)} (a divisor of {mw})"
                )
        if node.op_type.startswith("ConvolutionInputGenerator"):
            simd, ch = op.get_nodeattr("SIMD"), op.get_nodeattr("IFMChannels")
            if simd < 1 or ch % simd:
                raise QsnnError(f"{node.name}: SIMD={simd} must divide its {ch} input channels (FINN's sliding window)")
        if node.op_type.endswith("_hls"):
            widest = max(op.get_instream_width(), op.get_outstream_width())
            if node.op_type.startswith("MVAU"):
                widest = max(widest, op.get_instream_width(1))  # the weight stream
            if widest > MAX_ALLOWED_AP_INT_W:
                raise QsnnError(
                    f"{node.name}: a {widest}-bit stream exceeds FINN's widest HLS ap_int ({MAX_ALLOWED_AP_INT_W} "
                    "bits); lower its PE / SIMD"
                )


def fold_lif(model, target_cycles):
    """Smallest PE (a divisor of the C channels) with neurons / PE <= target cycles per time step, else PE = C
    (a conv layer's frame has pixels x C neurons); SetFolding skips LIF."""
    for node in model.graph.node:
        if node.op_type.startswith("LIF"):
            op = getCustomOp(node)
            c, n = op.channels, op.neurons
            op.set_nodeattr("PE", next((p for p in range(1, c + 1) if c % p == 0 and n // p <= target_cycles), c))


def save_folding(model, path):
    from toolchain.fsutil import write_json

    cfg = {"Defaults": {}}
    for node in model.graph.node:
        op = getCustomOp(node)
        folds = {k: op.get_nodeattr(k) for k in ("PE", "SIMD") if k in op.get_nodeattr_types()}
        if folds:
            cfg[node.name] = folds
    write_json(path, cfg)


def step_estimate(model, cfg, state):
    """Per-layer and total resources, cycles and latency at the board clock; writes report.json / .md."""
    from toolchain.estimate.hardware import estimate_model

    synapses = [n for n in model.graph.node if n.op_type == "MVAUSynapse_rtl"]
    if synapses and cfg.synapse_mode:  # event-driven cycles follow the inputs' activity, measured here
        for node, frames in zip(synapses, verify.synapse_inputs(cfg.run_dir, cfg.verify_samples)):
            op = getCustomOp(node)
            op.set_nodeattr("input_activity", float(np.mean(frames != 0)))
            mw, simd = op.get_nodeattr("MW"), op.get_nodeattr("SIMD")
            if frames.shape[1] == mw:  # the frame as the synapse streams it (a dense layer): its active chunks
                chunks = np.any(frames.reshape(len(frames), mw // simd, simd) != 0, axis=2)
                op.set_nodeattr("chunk_activity", float(np.mean(chunks)))
    state.estimate = estimate_model(model, cfg, state.steps_per_sample)
    return model


def step_hls(model, cfg, state):
    """Write each HLS node's top function and tcl (FINN's PrepareIP), ready for Vitis HLS."""
    from toolchain.hls.project import write_hls

    state.hls_dir = str(write_hls(model, cfg))
    return model


def step_csim(model, cfg, state):
    """Level 4: every HLS node in g++ C-simulation (FINN's with finn-hlslib where found); the report names the rest."""
    state.verification["hls_csim"] = verify.level(model, cfg, "hls_csim")
    return model


def step_rtl(model, cfg, state):
    """RTL backend: each layer's Verilog (FINN's generate_hdl), the network's top level and its harness."""
    from toolchain.rtl.generate import FINN_RTL_LAYERS, write_network

    folder = (cfg.out / "rtl").resolve()
    for node in model.graph.node:
        if node.op_type not in FINN_RTL_LAYERS:  # FINN's own layers record theirs in generate_hdl
            getCustomOp(node).record_hdl(folder)  # FINN's RTL contract: where its code is, its module's name
    with finn_settings(cfg):
        state.rtl_network = write_network(model, folder, cfg.synapse_mode, part=cfg.board_info.part)
    state.rtl_dir = str(folder)
    return model


def step_fifos(model, cfg, state):
    """FIFOs between the RTL layers (FINN's StreamingFIFO_rtl) as deep as their peak occupancy in Verilator over
    the test vectors (toolchain/rtl/fifos.py says the rule); the network's top rewritten with them."""
    from toolchain.rtl.fifos import size_fifos
    from toolchain.rtl.generate import write_network

    folder = Path(state.rtl_dir)
    x = verify.rtl_vectors(cfg, state.rtl_network)[0]
    part = cfg.board_info.part
    with finn_settings(cfg):
        model, state.fifos = size_fifos(model, folder / "fifo_sizing", x, cfg.synapse_mode, part)
        state.rtl_network = write_network(model, folder, cfg.synapse_mode, part=part)
    return model


def step_synth(model, cfg, state):
    """Yosys synth_xilinx of every layer and of the whole network: post-synthesis counts (no place & route)."""
    from toolchain.rtl.synth import synthesize_network

    state.synthesis = synthesize_network(cfg.out / "rtl", state.rtl_network, model, cfg.board_info.part, cfg.clock_mhz)
    return model


def step_rtlsim(model, cfg, state):
    """RTL level: the whole network in Verilator with backpressure, spike counts against the golden model; then the
    energy per inference from the events the simulation counted, beside the per-operation model, and a SAIF file
    of its switching (rtl/activity.saif) for Vivado's report_power."""
    from toolchain.estimate.energy import activity_energy, operation_energy
    from toolchain.runs import run_record

    with finn_settings(cfg):  # the comparison without FIFOs writes FINN's layers again
        result = verify.rtl_level(model, cfg, state)
    activity, state.saif_path = result.pop("activity"), result.pop("saif")
    state.verification["rtl_sim"] = result
    part = cfg.board_info.part
    energy = activity_energy(activity, result["samples"], result["interval_cycles"], cfg.clock_mhz, part)
    run_cfg = run_record(cfg.run_dir)[0]
    metrics = read_json(Path(cfg.run_dir) / "metrics.json", "run metrics", "train the run again")
    op = operation_energy(run_cfg, metrics, cfg.run_dir)
    nb = metrics.get("neurobench")
    energy["compared"] = {  # the same network by the other two counts
        "per_operation_model_uj": op["energy_pj"] * 1e-6,
        "per_operation_synaptic_ops": op["synaptic_ops"],
        "neurobench_synaptic_ops": None
        if not nb
        else nb["synaptic_ops_effective_acs"] + nb["synaptic_ops_effective_macs"],
    }
    state.energy = energy
    return model


def step_ip(model, cfg, state):
    """HLS synthesis of every node, and FINN's stitched IP when it is the last step (needs Vitis HLS and Vivado)."""
    from toolchain.vivado.steps import synthesize_ip

    return synthesize_ip(model, cfg, state)


def step_bitstream(model, cfg, state):
    """FIFO/DWC/IODMA insertion, the Zynq project and the bitstream (needs Vivado)."""
    from toolchain.vivado.steps import build_bitstream

    return build_bitstream(model, cfg, state)


STEP_FUNCTIONS = {name[5:]: fn for name, fn in dict(globals()).items() if name.startswith("step_")}
if set(STEP_FUNCTIONS) != set(STEPS):  # the declarations (flow/build_config.py PIPELINE) and the functions agree
    raise RuntimeError(f"build steps declared {sorted(STEPS)} but defined {sorted(STEP_FUNCTIONS)}")
