"""Verilog of the spiking layers (RTL backend): each layer's wrapper (core + ROM contents) and the whole
network's top level and Verilator harness, rendered from rtl_templates/ with Jinja2 (strict).

The cores are hand-written Verilog (rtl_templates/lif, rtl_templates/synapse): no library offers a
spiking synapse that gates adds by spikes, nor DESIGN.md's LIF neuron. The layer parameters come from
the same places as for the HLS backend (``LayerSpec`` of the LIF op, FINN's MVAU attributes), so both
backends compute the same golden arithmetic.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from qonnx.custom_op.registry import getCustomOp

from toolchain import assets
from toolchain.custom_op.layer_spec import LayerSpec
from toolchain.custom_op.lif import output_datatype
from toolchain.errors import QsnnError
from toolchain.flow.build_config import ADDRESS_EVENT, SYNAPSE_MODES, check_synapse_options
from toolchain.fsutil import write_text
from toolchain.golden import LEAK, RESET, ROUNDING

CORES = {  # in rtl_templates/
    "lif": "lif/hdl/qsnn_lif.v",
    "synapse": "synapse/hdl/qsnn_synapse.v",
    "pool": "pool/hdl/qsnn_pool_or.v",
}
RAM_STYLE = {"registers": "registers", "lutram": "distributed", "bram": "block"}


def core(name: str) -> Path:
    """The Verilog file of a hand-written core (CORES)."""
    return assets.folder("rtl_templates") / CORES[name]


def _bits(n: int) -> int:
    return max(1, int(np.ceil(np.log2(n)))) if n > 1 else 1


def _word(values, width: int) -> str:
    """Pack integers (two's complement, ``width`` bits each) lane 0 first into one hex literal."""
    v = 0
    for k, x in enumerate(values):
        v |= (int(x) & ((1 << width) - 1)) << (k * width)
    return f"{v:0{(len(values) * width + 3) // 4}x}"


def lif_context(spec: LayerSpec) -> dict:
    ctx = spec.validate().context()
    p = spec.params
    nf = spec.channels // spec.pe
    # one ROM word per beat: a per-channel (conv) bias is repeated over the pixels (the RTL ROM is per neuron)
    b = spec.neuron_bias().reshape(nf, spec.pe)
    neuron_parameters = p.model.rtl_parameters(p)
    if neuron_parameters is None:
        raise QsnnError(
            f"LIF layer {spec.name}: the RTL core (rtl_templates/lif) has no neuron model {p.neuron_model}; "
            "build it with --backend hls"
        )

    def words(values, width):  # a per-channel vector as one ROM word per beat, repeated over a conv layer's pixels
        if not values:
            return []
        tiled = np.tile(np.asarray(values, dtype=np.int64), spec.channels // len(values)).reshape(nf, spec.pe)
        return [_word(row, width) for row in tiled]

    return {
        "neuron_parameters": neuron_parameters,
        # the core's per-neuron ports <name>_data, PER_NEURON_<NAME>: threshold, beta, alpha (CubaLIF's)
        "param_roms": [
            {"name": name, "bits": p.vector_bits(vec), "words": words(values, p.vector_bits(vec))}
            for name, vec, values in (
                ("threshold", "thresholds", p.thresholds),
                ("beta", "beta_ints", p.beta_ints),
                ("alpha", "alpha_ints", getattr(p, "alpha_ints", ())),
            )
        ],
        **ctx,
        "in_signed": int(spec.in_signed),
        "nf_bits": _bits(nf),
        "wide": max(ctx["wide_bits"], p.membrane_bits + p.beta_frac_bits + 3, 34),
        "leak": LEAK.code(p.leak_mode),
        "rounding": ROUNDING.code(p.rounding),
        "reset": RESET.code(p.reset),
        "ram_style": RAM_STYLE[ctx["mem_style"]],
        "bias_words": [_word(row, ctx["bias_bits"]) for row in b],
        **recurrent_context(spec),
    }


def recurrent_context(spec: LayerSpec) -> dict:
    """A recurrent layer's V ROM for qsnn_recurrent: word nf * CHANNELS + j holds V[nf*PE + p][j], lane p first; the
    input stage's output width holds any input plus any row's sum of V."""
    if spec.recurrent is None:
        return {"rec_out_bits": spec.in_bits}
    nf, c = spec.channels // spec.pe, spec.channels
    v = spec.recurrent.astype(np.int64).reshape(nf, spec.pe, c)
    out = max(spec.in_bits + (0 if spec.in_signed else 1), spec.recurrent_sum_bits) + 1
    return {
        "rec_out_bits": out,
        "v_words": [_word(v[f, :, j], spec.recurrent_bits) for f in range(nf) for j in range(c)],
        "v_addr_bits": _bits(nf * c),
    }


@dataclass
class SynapseSpec:
    """What the RTL synapse core needs to know about one MVAU (FINN's attributes and weights)."""

    name: str
    weights: np.ndarray  # (MH, MW) integers: I[i] = sum_j weights[i, j] * x[j]
    simd: int
    pe: int
    in_bits: int
    in_signed: bool
    w_bits: int
    acc_bits: int
    event: int = 0  # the synapse's mode, its code in SYNAPSE_MODES (address-event: the core qsnn_synapse_ae)
    out_lanes: int = 0  # lanes a beat out (0: PE); fewer: the address-event core shifts its accumulators out
    rows: int = 1  # address-event: weight rows added a cycle (2: both ports of the weight ROM)

    @property
    def lanes_out(self) -> int:
        return self.out_lanes or self.pe

    @property
    def mh(self) -> int:
        return self.weights.shape[0]

    @property
    def mw(self) -> int:
        return self.weights.shape[1]

    def context(self) -> dict:
        if self.mw % self.simd or self.mh % self.pe:
            raise QsnnError(f"{self.name}: SIMD={self.simd} must divide {self.mw} and PE={self.pe} divide {self.mh}")
        nf, sf = self.mh // self.pe, self.mw // self.simd
        check_synapse_options(self.name, self.event, self.in_bits == 1, self.pe, self.out_lanes, self.rows)
        if self.event == ADDRESS_EVENT:
            if self.in_bits != 1:
                raise QsnnError(
                    f"{self.name}: the address-event synapse takes spikes (1-bit inputs), not {self.in_bits}"
                )
            # word nf*MW + j: the weight row of input j, lane p = W[nf*PE + p][j]
            w = self.weights.reshape(nf, self.pe, self.mw).transpose(0, 2, 1).reshape(nf * self.mw, self.pe)
            lanes = self.pe
        else:
            # word nf*SF + sf: lane p, element s at [(p*SIMD + s)*W_BITS +: W_BITS] = W[nf*PE + p][sf*SIMD + s]
            w = self.weights.reshape(nf, self.pe, sf, self.simd).transpose(0, 2, 1, 3).reshape(nf * sf, -1)
            lanes = self.pe * self.simd
        depth = len(w)
        return {
            "name": self.name,
            "mw": self.mw,
            "mh": self.mh,
            "simd": self.simd,
            "pe": self.pe,
            "in_bits": self.in_bits,
            "in_signed": int(self.in_signed),
            "w_bits": self.w_bits,
            "acc_bits": self.acc_bits,
            "out_lanes": self.lanes_out,
            "rows": self.rows,
            "event": int(self.event),
            "mode": SYNAPSE_MODES[self.event],
            "w_addr_bits": _bits(depth),
            "word_bits": lanes * self.w_bits,
            # large ROMs in BRAM; small ones as LUT logic (Yosys maps no write-less memory to LUTRAM)
            "rom_style": "block" if depth * lanes * self.w_bits > 16384 and depth > 64 else "logic",
            "words": [_word(row, self.w_bits) for row in w],
        }


def synapse_spec(node, model, event: bool = False) -> SynapseSpec:
    op = getCustomOp(node)
    w = model.get_initializer(node.input[1])  # FINN's MVAU: (MW, MH), y = x @ W
    idt, wdt, odt = op.get_input_datatype(0), op.get_input_datatype(1), op.get_output_datatype()
    if not (idt.is_integer() and wdt.is_integer() and odt.is_integer()):
        raise QsnnError(f"{node.name}: the RTL synapse takes integer inputs and weights ({idt}, {wdt}, {odt})")
    return SynapseSpec(
        name=node.name,
        weights=np.asarray(w).astype(np.int64).T,
        simd=op.get_nodeattr("SIMD"),
        pe=op.get_nodeattr("PE"),
        in_bits=idt.bitwidth(),
        in_signed=idt.signed(),
        w_bits=wdt.bitwidth(),
        acc_bits=odt.bitwidth(),
        event=int(event) if idt.bitwidth() == 1 else 0,  # the multi-bit first layer stays dense
        out_lanes=op.get_nodeattr("out_lanes"),
        rows=op.get_nodeattr("rows"),
    )


def _pad(bits: int) -> int:
    """A stream's TDATA width as FINN and Vivado's AXI-Stream take it: whole bytes."""
    return -(-bits // 8) * 8


def _ports(in_w: int, out_w: int) -> dict:
    return {"in_width": in_w, "out_width": out_w, "in_pad": _pad(in_w), "out_pad": _pad(out_w)}


# Verilator (5.048) cannot evaluate a constant function returning an unpacked struct (verilator/verilator#3826,
# #6053), which finn-rtllib's fifo.sv declares for its address split (two ints). Packed, the struct holds the same
# values, so the simulation copy packs it; Vivado gets FINN's own file (its code_generation_ipi names finn-rtllib).
UNPACKED_STRUCT = "typedef struct {"


def verilator_compatible(path: Path) -> str:
    """A finn-rtllib source as this project simulates it in Verilator (the one change above, or none)."""
    text = path.read_text()
    if path.name != "fifo.sv":
        return text
    if text.count(UNPACKED_STRUCT) != 1:
        raise QsnnError(
            f"{path}: expected one '{UNPACKED_STRUCT}' (finn-rtllib's FIFO as qsnn-pynq knows it), found "
            f"{text.count(UNPACKED_STRUCT)}: this FINN version's FIFO needs a look before Verilator simulates it"
        )
    return text.replace(UNPACKED_STRUCT, "typedef struct packed {")


def is_fifo(node) -> bool:
    """A FIFO node of FINN's (StreamingFIFO, or its _rtl backend), as FINN's InsertFIFO tells them."""
    return node.op_type.startswith("StreamingFIFO")


# FINN's own RTL layers in this backend: FIFOs between layers, the sliding window of conv and pool layers, and the
# zero-padding of padded convs
FINN_RTL_LAYERS = ("StreamingFIFO_rtl", "ConvolutionInputGenerator_rtl", "FMPadding_rtl")
# the FINN RTL layers level 4 simulates alone for the HLS backend, which has no HLS variant of them in FINN
FINN_RTL_ONLY = ("ConvolutionInputGenerator_rtl", "FMPadding_rtl")


def write_finn_layer(node, model, folder: Path, part: str | None = None) -> dict:
    """One of FINN's own RTL layers (FINN_RTL_LAYERS): FINN's generate_hdl writes its wrapper and top into
    folder (a FIFO's wrapper is finn-rtllib's fifo.sv, or FINN's unbounded occupancy gauge fifo_gauge.sv when
    FINN_SIMULATION is defined; a sliding window's is rendered from finn-rtllib/swg); the finn-rtllib sources
    it names are copied beside them, so the folder simulates on its own."""
    op = getCustomOp(node)
    if node.op_type == "ConvolutionInputGenerator_rtl" and op.get_nodeattr("dynamic_mode"):
        raise QsnnError(f"{node.name}: the RTL backend builds fixed sliding windows (FINN's dynamic_mode is off)")
    op.set_nodeattr("code_gen_dir_ipgen", str(folder))
    op.generate_hdl(model, part, None)  # neither FINN's FIFO nor its sliding window uses the clock
    files = [Path(f) for f in op.get_rtl_file_list(abspath=True)]
    for f in files:
        if f.parent.resolve() != folder.resolve():
            write_text(folder / f.name, verilator_compatible(f))
    module = op.get_nodeattr("gen_top_module")
    layer = {
        "name": node.name,
        "module": module,
        **_ports(op.get_instream_width(), op.get_outstream_width()),
        "files": [f.name for f in files],
        # the plain-Verilog file defining the module's ports (Yosys reads FINN's layers as black boxes from it)
        "wrapper": next(f.name for f in files if f.name in (f"{module}.v", f"{module}_wrapper.v")),
    }
    if is_fifo(node):
        layer["depth"] = int(op.get_nodeattr("depth"))
    # FINN's padding keeps an AXI-lite port for its dynamic mode even when static: the top ties its inputs off
    layer["axilite"] = "s_axilite_AWVALID" in (folder / layer["wrapper"]).read_text()
    return layer


def _wrapper(folder: Path, name: str, module: str, kind: str, context: dict, ports: dict) -> dict:
    """A layer's wrapper (rtl_templates/<kind>/<kind>_layer.v.j2, module ``module``) and a copy of its core."""
    folder.mkdir(parents=True, exist_ok=True)
    text = assets.render("rtl_templates", f"{kind}/{kind}_layer.v.j2", **context, module=module, **ports)
    write_text(folder / f"{module}.v", text)
    write_text(folder / core(kind).name, core(kind).read_text())
    return {"name": name, "module": module, **ports, "files": [f"{module}.v", core(kind).name]}


def lif_layer(spec: LayerSpec, folder: Path, module: str) -> dict:
    odt = output_datatype(spec.params)
    return _wrapper(
        folder, spec.name, module, "lif", lif_context(spec), _ports(spec.pe * spec.in_bits, spec.pe * odt.bitwidth())
    )


def synapse_layer(spec: SynapseSpec, folder: Path, module: str) -> dict:
    ports = _ports(spec.simd * spec.in_bits, spec.lanes_out * spec.acc_bits)
    return _wrapper(folder, spec.name, module, "synapse", spec.context(), ports)


def write_layer(node, model, folder: Path, event: bool = False, module: str | None = None) -> dict:
    """Write one layer's wrapper (and a copy of its core) into folder; returns its stream description. The
    wrapper's module and file are named ``module`` (default: the node's name), which FINN's RTL ops keep in
    ``gen_top_module``, so a node renamed later (FINN's partitioning does) still finds its files."""
    op = getCustomOp(node)
    module = module or node.name
    if node.op_type.startswith("LIF"):
        return lif_layer(op.layer_spec(model.get_initializer(node.input[1])), folder, module)
    if node.op_type.startswith("MVAU"):
        return synapse_layer(synapse_spec(node, model, event), folder, module)
    if node.op_type == "PoolSpikes_rtl":
        op.check_spikes()
        pe = op.get_nodeattr("PE")
        ctx = {"name": node.name, "channels": op.get_nodeattr("Channels"), "k": op.window(), "pe": pe}
        return _wrapper(folder, node.name, module, "pool", ctx, _ports(pe, pe))
    raise QsnnError(f"the RTL backend has no layer for {node.op_type} node {node.name}")


def write_network(
    model, folder: Path, event: bool = False, top: str = "qsnn_top", defines=(), fifos=True, part=None
) -> dict:
    """Every layer (and FIFO node; ``fifos=False``: the layers chained without them), the top level and the
    Verilator harness; returns the network description (``defines``: Verilog macros its simulation takes).
    FINN's own layers (FINN_RTL_LAYERS) need FINN's settings (toolchain.vivado.environment.finn_environment)."""
    from toolchain.custom_op.lif import graph_steps

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    layers = []
    for n in model.graph.node:
        if is_fifo(n):
            if fifos:
                layers.append({**write_finn_layer(n, model, folder, part), "fifo": sum("fifo" in x for x in layers)})
        elif n.op_type in FINN_RTL_LAYERS:
            layers.append(write_finn_layer(n, model, folder, part))
        else:
            layers.append(write_layer(n, model, folder, event))
    first, last = getCustomOp(model.graph.node[0]), getCustomOp(model.graph.node[-1])
    idt, odt = first.get_input_datatype(0), last.get_output_datatype()
    steps = int(last.steps)  # the last node is a LIF layer
    stream = {
        "steps": steps,
        # one time step's input: a dense graph runs all T steps at once, a conv graph one frame
        "features": int(np.prod(first.get_normal_input_shape())) // graph_steps(model, steps),
        "classes": int(last.get_nodeattr("NumChannels")),
        "in_lanes": first.get_instream_width() // idt.bitwidth(),
        "in_bits": idt.bitwidth(),
        "out_lanes": int(last.get_nodeattr("PE")),
        "out_bits": odt.bitwidth(),
        "out_signed": int(odt.signed()),
    }
    net = _assemble(folder, top, layers, stream, event=int(event), defines=list(defines))
    write_text(folder / "network.json", json.dumps(net, indent=2) + "\n")  # for tools that drive the harness
    return net


def _assemble(folder: Path, top: str, layers: list, stream: dict, event=False, defines=()) -> dict:
    """The top level chaining ``layers`` (already written into folder) and the Verilator harness streaming
    ``stream`` (steps, features and classes per sample, lanes and bits of both ends); returns the description."""
    for a, b in zip(layers, layers[1:]):
        if a["out_width"] != b["in_width"]:
            raise QsnnError(f"{a['name']} -> {b['name']}: {a['out_width']} bits out, {b['in_width']} bits in")
    fifo_layers = [x for x in layers if "fifo" in x]
    top_text = assets.render("rtl_templates", "top.v.j2", top=top, layers=layers, fifos=fifo_layers)
    write_text(folder / f"{top}.v", top_text)
    net = {
        "top": top,
        "layers": layers,
        # each file once, in the order the layers name them (SystemVerilog packages before their users)
        "files": [f"{top}.v", *dict.fromkeys(f for layer in layers for f in layer["files"])],
        **stream,
        "event": int(event),  # the synapses' mode, its code in SYNAPSE_MODES
        "fifos": len(fifo_layers),
        "defines": list(defines),
    }
    write_text(folder / "harness.cpp", assets.render("rtl_templates", "harness.cpp.j2", **net))
    return net


def write_lif_alone(spec: LayerSpec, folder: Path, top: str = "qsnn_top") -> dict:
    """One LIF layer as a whole "network" (accumulators in, spikes out): the RTL matrix test's unit."""
    folder = Path(folder)
    layer = lif_layer(spec, folder, spec.name)
    odt = output_datatype(spec.params)
    stream = {"steps": spec.steps, "features": spec.channels, "classes": spec.channels, "in_lanes": spec.pe}
    stream |= {
        "in_bits": spec.in_bits,
        "out_lanes": spec.pe,
        "out_bits": odt.bitwidth(),
        "out_signed": int(odt.signed()),
    }
    return _assemble(folder, top, [layer], stream)


def write_finn_layer_alone(node, model, folder: Path, part: str, top: str = "qsnn_top") -> dict:
    """One of FINN's RTL-only layers (FINN_RTL_ONLY) as a whole "network": one frame in (H x W x C), its output out
    per sample (a sliding window's OH x OW x K x K x C, a padding's padded frame), in stream order: level 4
    simulates the HLS backend's windows and paddings."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    op = getCustomOp(node)
    layer = write_finn_layer(node, model, folder, part)
    bits, lanes = op.get_input_datatype().bitwidth(), op.get_nodeattr("SIMD")
    stream = {"steps": 1, "features": int(np.prod(op.get_normal_input_shape())), "in_lanes": lanes, "in_bits": bits}
    stream |= {"classes": int(np.prod(op.get_normal_output_shape())), "out_lanes": op.get_folded_output_shape()[-1]}
    stream |= {"out_bits": bits, "out_signed": int(op.get_input_datatype().signed())}
    return _assemble(folder, top, [layer], stream)


def write_synapse_alone(spec: SynapseSpec, folder: Path, top: str = "qsnn_top") -> dict:
    """One synaptic layer as a whole "network" (one frame of MW inputs in, MH accumulators out per sample): the
    synapse block test's unit."""
    folder = Path(folder)
    layer = synapse_layer(spec, folder, spec.name)
    stream = {"steps": 1, "features": spec.mw, "classes": spec.mh, "in_lanes": spec.simd, "in_bits": spec.in_bits}
    stream |= {"out_lanes": spec.lanes_out, "out_bits": spec.acc_bits, "out_signed": 1}
    return _assemble(folder, top, [layer], stream, event=spec.event)
