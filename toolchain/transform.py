"""Graph transformations of the lowering, qonnx style: ``apply(model) -> (model, changed)``.

Written here because neither qonnx nor FINN knows the LIF op: they fold the synapse's scale and bias
into the neuron so the HW graph is pure integer (MVAU -> LIFLayer), the way FINN absorbs scales into
MultiThreshold for ANNs.
"""

from __future__ import annotations

import numpy as np
from onnx import helper
from qonnx.core.datatype import DataType
from qonnx.transformation.base import Transformation
from qonnx.util.basic import get_by_name

from toolchain.errors import QsnnError
from toolchain.flow.build_config import check_synapse_options

FINN_DOMAIN = "finn.custom_op.fpgadataflow"


def _scalar(model, name):
    v = model.get_initializer(name)
    if v is None or v.size != 1:
        return None
    return float(v.reshape(-1)[0])


def _set_attr(node, name, value):
    attr = get_by_name(node.attribute, name)
    if attr is not None:
        node.attribute.remove(attr)
    node.attribute.append(helper.make_attribute(name, value))


class AbsorbScaleIntoLIF(Transformation):
    """MatMul -> Mul(c) [-> Add(b)] -> LIF(input_scale s)  =>  MatMul [-> Add(b/c)] -> LIF(input_scale s/c).

    Exact for the power-of-two scales this project exports; refuses (QsnnError) a bias that is not an
    integer number of accumulator units after the move.
    """

    def apply(self, model):
        for mul in list(model.graph.node):
            if mul.op_type != "Mul":
                continue
            c = _scalar(model, mul.input[1])
            cons = model.find_consumer(mul.output[0])
            if c is None or c == 0 or cons is None:
                continue
            add = cons if cons.op_type == "Add" and model.get_initializer(cons.input[1]) is not None else None
            lif = model.find_consumer(add.output[0]) if add is not None else cons
            if lif is None or lif.op_type != "LIF":
                continue
            if add is not None:
                b = model.get_initializer(add.input[1]).astype(np.float64) / c
                if np.abs(b - np.rint(b)).max(initial=0) > 1e-6:
                    raise QsnnError(f"{add.name}: bias is not a whole number of accumulator units ({c})")
                model.set_initializer(add.input[1], np.rint(b).astype(np.float32))
            s = get_by_name(lif.attribute, "input_scale")
            _set_attr(lif, "input_scale", (s.f if s is not None else 1.0) / c)
            # bypass the Mul
            first = add if add is not None else lif
            first.input[0] = mul.input[0]
            model.graph.node.remove(mul)
            return model, True
        return model, False


class InferLIFLayer(Transformation):
    """[Add(bias) ->] LIF(input_scale 1) on an integer (N, T, C) tensor, or on one frame (1, ..., C) of a conv graph
    (``frame_steps`` > 0)  =>  FINN HW node ``LIFLayer``."""

    def apply(self, model):
        for node in list(model.graph.node):
            if node.op_type != "LIF" or node.domain != "toolchain.custom_op":
                continue
            s = get_by_name(node.attribute, "input_scale")
            if s is not None and s.f != 1.0:
                raise QsnnError(
                    f"{node.name}: input_scale={s.f} is not 1 after absorbing scales; "
                    "the synapse before it is not an integer MatMul with a power-of-two scale"
                )
            prod = model.find_producer(node.input[0])
            bias, src = None, node.input[0]
            if prod is not None and prod.op_type == "Add" and model.get_initializer(prod.input[1]) is not None:
                bias, src = model.get_initializer(prod.input[1]), prod.input[0]
            shape = model.get_tensor_shape(src)
            frames = get_by_name(node.attribute, "frame_steps")
            if len(shape) != 3 and not (frames is not None and frames.i > 0 and len(shape) >= 2):
                raise QsnnError(f"{node.name}: HW LIF takes (N, T, C) tensors or frames, got shape {shape}")
            idt = model.get_tensor_datatype(src)
            if not idt.is_integer():
                raise QsnnError(f"{node.name}: input {src} is {idt.name}, not an integer type")
            c = shape[-1]
            b = np.zeros(c, dtype=np.float32) if bias is None else np.broadcast_to(bias, (c,)).astype(np.float32)
            # smallest signed type holding every bias (at least INT2)
            bdt = DataType.get_smallest_possible(-int(np.abs(b).max(initial=1)) - 1)
            bname = model.make_new_valueinfo_name()
            model.set_initializer(bname, b)
            model.set_tensor_datatype(bname, bdt)
            attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute if a.name != "input_scale"}
            attrs = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in attrs.items()}
            hw = helper.make_node(
                "LIFLayer",
                [src, bname],
                [node.output[0]],
                domain=FINN_DOMAIN,
                name=node.name,
                backend="fpgadataflow",
                NumChannels=c,
                PE=1,
                numInputVectors=list(shape[:-1]),
                inputDataType=idt.name,
                biasDataType=bdt.name,
                **attrs,
            )
            idx = list(model.graph.node).index(node)
            model.graph.node.insert(idx, hw)
            model.graph.node.remove(node)
            if bias is not None:
                model.graph.node.remove(prod)
            return model, True
        return model, False


class UseSpikeOps(Transformation):
    """The HLS backend's ops for spikes, same attributes: MVAU_hls with {0, 1} spike input (BINARY, no XNOR mode)
    =>  ``MVAUSpike_hls`` (FINN's MVAU code, which refuses that input type); a max-pool of spikes (Pool_hls)  =>
    ``PoolSpikes_hls`` (an OR per lane, the project's kernel).

    Run after FINN's SetFolding (which folds only FINN's own op types); see mvau_spike_hls.py, pool_spikes_hls.py.
    """

    def apply(self, model):
        from qonnx.custom_op.registry import getCustomOp

        from toolchain.custom_op.fpgadataflow.pool_spikes import is_spike_max_pool

        changed = False
        for node in model.graph.node:
            if node.op_type == "MVAU_hls":
                op = getCustomOp(node)
                if op.get_input_datatype(0) == DataType["BINARY"] and not op.get_nodeattr("binaryXnorMode"):
                    node.op_type = "MVAUSpike_hls"
                    changed = True
            elif node.op_type == "Pool_hls" and is_spike_max_pool(getCustomOp(node)):
                node.op_type = "PoolSpikes_hls"
                changed = True
        return model, changed


class UseRTLBackend(Transformation):
    """The RTL backend of a folded HW graph: MVAU -> ``MVAUSynapse_rtl``, LIF -> ``LIFLayer_rtl``, a max-pool of
    spikes -> ``PoolSpikes_rtl``, FINN's own sliding window (ConvolutionInputGenerator_rtl) and padding (FMPadding_rtl)
    kept; with the RTL folding rule that needs no width converters: each node takes its producer's lanes (a
    synapse's, a sliding window's and a padding's SIMD, a LIF's and a pool's PE: divisors of what they fold, since
    the producer's lanes divide the channels). ``mode`` is the spike-input synapses' (0 dense, 1 event-driven, 2
    address-event: toolchain/rtl/generate.py); ``ae`` ({node name: {"out_lanes": K, "rows": R}}) the address-event
    synapses' output lanes (a divisor of their PE, which their consumers then take) and weight rows a cycle (1, 2)."""

    def __init__(self, mode: int = 0, ae: dict | None = None):
        super().__init__()
        self.mode = int(mode)
        self.ae = dict(ae or {})

    def apply(self, model):
        from qonnx.custom_op.registry import getCustomOp

        rtl = "finn.custom_op.fpgadataflow.rtl"
        for node in model.graph.node:
            if node.op_type in ("MVAU_hls", "MVAUSpike_hls", "MVAU_rtl"):
                node.op_type, node.domain = "MVAUSynapse_rtl", rtl
            elif node.op_type == "LIFLayer_hls":
                node.op_type, node.domain = "LIFLayer_rtl", rtl
            elif node.op_type == "Pool_hls":
                node.op_type, node.domain = "PoolSpikes_rtl", rtl
            elif node.op_type not in ("ConvolutionInputGenerator_rtl", "FMPadding_rtl") or node.domain != rtl:
                raise QsnnError(f"the RTL backend has no layer for {node.op_type} node {node.name}")
            # else FINN's own sliding window or padding, kept
        lanes = None
        for node in model.graph.node:
            op = getCustomOp(node)
            if node.op_type == "MVAUSynapse_rtl":
                if lanes is not None:
                    op.set_nodeattr("SIMD", lanes)
                spikes = op.get_input_datatype(0) == DataType["BINARY"]
                op.set_nodeattr("event_driven", self.mode if spikes else 0)
                own = self.ae.get(node.name, {})
                lanes_out, rows, pe = own.get("out_lanes", 0), own.get("rows", 1), op.get_nodeattr("PE")
                check_synapse_options(node.name, self.mode, spikes, pe, lanes_out, rows)
                for key, value in own.items():
                    op.set_nodeattr(key, value)
            elif node.op_type == "FMPadding_rtl":
                if lanes is not None:
                    op.set_nodeattr("SIMD", lanes)
            elif node.op_type == "ConvolutionInputGenerator_rtl":
                if lanes is not None:
                    op.set_nodeattr("SIMD", lanes)
                consumer = model.find_consumer(node.output[0])
                whole = op.get_nodeattr("SIMD") == op.get_nodeattr("IFMChannels") and not op.get_nodeattr("depthwise")
                # the whole window per beat only where FINN allows it and a synapse reads it (a pool reads one
                # window position per beat)
                if not whole or (consumer is not None and consumer.op_type == "PoolSpikes_rtl"):
                    op.set_nodeattr("parallel_window", 0)
            elif lanes is not None:
                op.set_nodeattr("PE", lanes)
            lanes = op.get_outstream_width() // op.get_output_datatype().bitwidth()
        return model, False


def stream_edges(model):
    """[(producer, consumer, out width, in width)] for every tensor that flows between two HW nodes."""
    from qonnx.custom_op.registry import getCustomOp

    edges = []
    for prod in model.graph.node:
        for out in prod.output:
            for cons in model.find_consumers(out) or []:
                k = list(cons.input).index(out)
                edges.append(
                    (
                        prod.name,
                        cons.name,
                        getCustomOp(prod).get_outstream_width(),
                        getCustomOp(cons).get_instream_width(k),
                    )
                )
    return edges


def check_stream_widths(model) -> None:
    bad = [f"{p} -> {c}: {wo} bits out, {wi} bits in" for p, c, wo, wi in stream_edges(model) if wo != wi]
    if bad:
        raise QsnnError(
            f"stream widths differ between layers ({'; '.join(bad)}); FINN's InsertDWC should have "
            "added width converters: report this as a bug"
        )
