"""Write the HLS sources of a folded HW graph into BUILD_DIR/hls, ready for Vitis HLS.

Each HLS node gets FINN's top function and synthesis tcl (``code_generation_ipgen``, what FINN's
PrepareIP calls, pointed at our folder), and a stand-alone Vitis HLS project for csim / csynth / cosim
(``vitis_hls -f run_hls.tcl``, what ``make cosim`` runs): a testbench, its vectors and the tcl. A LIF node's
expected outputs are the golden model's; those of FINN's own nodes (MVAU, width converters, pooling) are FINN's
Python execution of the node's abstract op. FINN writes no testbench for its HLS nodes (its own checks run
them in Python, C++ or pyverilator, never under Vitis co-simulation), so the project writes one: a template
(hls_templates/tb_stream.cpp.j2) that streams beats in FINN's packing (finn.util.data_packing) through FINN's
top function.
"""

from __future__ import annotations

import copy
import re
import tempfile
from pathlib import Path

import numpy as np
from qonnx.custom_op.registry import getCustomOp

from toolchain import assets
from toolchain.errors import QsnnError
from toolchain.fsutil import write_text
from toolchain.golden import run_neurons

TB_SAMPLES = 4
# a stream port of a FINN top function: hls::stream<ap_uint<W> > &in0_V, or of N elements of E bits,
# hls::stream<hls::vector<ap_uint<E>, N> > &in0_V (FINN's pool); FINN's port names are in<i>_V, out<i>_V
STREAM_PORT = re.compile(
    r"hls::stream<\s*(?:ap_uint<(\d+)>|hls::vector<\s*ap_uint<(\d+)>\s*,\s*(\d+)\s*>)\s*>\s*&\s*((?:in|out)\d+_V)"
)


def write_hls(model, cfg) -> Path:
    """Generate every HLS node's sources under FINN's environment (its tcl bakes in FINN_DEPS)."""
    from toolchain.vivado.environment import deps_dir, finn_environment, finn_variables, write_env_script

    variables = finn_variables(cfg.out, deps_dir(cfg), None)
    write_env_script(cfg.out / "finn_env.sh", variables, None)
    with finn_environment(variables, None):
        return _write_hls(model, cfg, variables)


def _write_hls(model, cfg, variables: dict) -> Path:
    root = Path(cfg.out).resolve() / "hls"  # absolute: FINN's ipgen.sh cd's into it before calling the tool
    clk_ns = 1000.0 / cfg.clock_mhz
    # the include folders FINN's synthesis scripts give Vitis HLS for these nodes (finn-hlslib, FINN's custom_hls)
    finn_cflags = f"-std=c++14 -I{Path(variables['FINN_DEPS']) / 'finn-hlslib'} -I{variables['FINN_CUSTOM_HLS']}"
    for node in model.graph.node:
        if not node.op_type.endswith("_hls"):
            continue
        op = getCustomOp(node)
        folder = root / node.name
        folder.mkdir(parents=True, exist_ok=True)
        op.set_nodeattr("code_gen_dir_ipgen", str(folder))
        op.code_generation_ipgen(model, cfg.board_info.part, clk_ns)
        if node.op_type == "LIFLayer_hls":
            write_lif_testbench(op, model, folder, cfg.board_info.part, clk_ns)
        else:
            write_node_testbench(op, model, folder, cfg.board_info.part, clk_ns, finn_cflags)
    return root


def write_lif_testbench(op, model, folder: Path, part: str, clk_ns: float, seed: int = 0) -> None:
    """tb_<name>.cpp, tb_in.bin / tb_expected.bin (golden model) and run_hls.tcl for one LIF layer."""
    spec = op.layer_spec(model.get_initializer(op.onnx_node.input[1]))
    rng = np.random.default_rng(seed)
    dt = op.get_input_datatype(0)
    lo, hi = int(dt.min()), int(dt.max())
    x = rng.integers(lo, hi + 1, (TB_SAMPLES, spec.steps, spec.channels), dtype=np.int64)
    x[0] = hi  # saturate upwards
    if lo < 0:
        x[1] = lo  # and downwards
    expected = np.ascontiguousarray(run_neurons(x + spec.neuron_bias(), spec.params), dtype="<i8")
    (folder / "tb_in.bin").write_bytes(np.ascontiguousarray(x, dtype="<i8").tobytes())
    (folder / "tb_expected.bin").write_bytes(expected.tobytes())
    ctx = dict(name=spec.name, samples=TB_SAMPLES)
    write_text(folder / f"tb_{spec.name}.cpp", assets.render("hls_templates", "tb_lif.cpp.j2", **ctx))
    tcl = dict(what="LIF layer", name=spec.name, part=part, clk_ns=f"{clk_ns:.3f}", cflags="-std=c++14 -I.")
    tcl["tb_files"] = ["tb_in.bin", "tb_expected.bin"]
    write_text(folder / "run_hls.tcl", assets.render("hls_templates", "run_hls.tcl.j2", **tcl))


def top_ports(top: Path) -> list[dict]:
    """The stream ports of the top function FINN wrote, in signature order: [{port, width, ctype, elem, n}] (a
    beat of ``width`` bits; for an hls::vector stream, ``n`` elements of ``elem`` bits, element 0 in the low bits
    as FINN packs them)."""
    ports = []
    for m in STREAM_PORT.finditer(top.read_text()):
        if m.group(1):
            w = int(m.group(1))
            ports.append(dict(port=m.group(4), width=w, ctype=f"ap_uint<{w}>", elem=None, n=None))
        else:
            e, n = int(m.group(2)), int(m.group(3))
            ctype = f"hls::vector<ap_uint<{e}>, {n}>"
            ports.append(dict(port=m.group(4), width=e * n, ctype=ctype, elem=e, n=n))
    if not ports or not any(p["port"].startswith("out") for p in ports):
        raise QsnnError(
            f"{top}: no hls::stream<ap_uint<W>> (or hls::vector) in/out ports found in FINN's top function; "
            "this FINN version's top functions are not ones the testbench template knows"
        )
    return ports


def python_frame(op, model, x: np.ndarray) -> np.ndarray:
    """One frame of ``op`` (a FINN HLS node) through FINN's Python execution of its abstract op."""
    from toolchain.hls.finn_csim import abstract_op

    node = copy.deepcopy(op.onnx_node)
    abstract_op(node)
    ctx = {name: model.get_initializer(name) for name in node.input[1:] if model.get_initializer(name) is not None}
    ctx[node.input[0]] = x.astype(np.float32)
    ctx[node.output[0]] = np.zeros(op.get_normal_output_shape(), dtype=np.float32)
    getCustomOp(node).execute_node(ctx, model.graph)
    return ctx[node.output[0]]


def stream_beats(op, model, port: str, frames: list[np.ndarray]) -> list[int]:
    """The beats a stream port of ``op`` carries over ``frames`` (FINN's packing, as its rtlsim feeds them)."""
    from finn.util.data_packing import npy_to_rtlsim_input

    index = int(port[len("in") if port.startswith("in") else len("out") : -2])
    if port.startswith("out"):
        shape, dt, width = op.get_folded_output_shape(), op.get_output_datatype(), op.get_outstream_width()
        return [b for f in frames for b in npy_to_rtlsim_input(f.reshape(shape), dt, width)]
    if index == 0:
        shape, dt, width = op.get_folded_input_shape(0), op.get_input_datatype(0), op.get_instream_width(0)
        order = getattr(op, "stream_order", lambda f: f)  # a pool's window positions, as the sliding window sends them
        return [b for f in frames for b in npy_to_rtlsim_input(order(f).reshape(shape), dt, width)]
    if index == 1 and op.get_nodeattr("mem_mode") in ("internal_decoupled", "external"):
        # the weight stream FINN's memstream plays (what FINN's MVAU rtlsim feeds in1): the weights once per vector
        w = model.get_initializer(op.onnx_node.input[1])
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "weights.npy"
            op.make_weight_file(w.reshape(-1, w.shape[-1]), "decoupled_npy", str(path))
            per_vector = npy_to_rtlsim_input(str(path), op.get_input_datatype(1), op.get_instream_width(1))
        return per_vector * int(np.prod(op.get_nodeattr("numInputVectors"))) * len(frames)
    raise QsnnError(f"node {op.onnx_node.name} ({op.onnx_node.op_type}): no testbench for its stream {port}")


def write_node_testbench(
    op, model, folder: Path, part: str, clk_ns: float, cflags: str, frames: int = TB_SAMPLES, seed: int = 0
) -> None:
    """tb_<name>.cpp, each stream's beats (tb_<port>.hex) and run_hls.tcl for one of FINN's HLS nodes: inputs
    random over the node's input type (the first frame at its maximum), the expected outputs FINN's Python
    execution of the node on them."""
    name = op.onnx_node.name
    ports = top_ports(folder / f"top_{name}.cpp")
    dt = op.get_input_datatype(0)
    if not dt.is_integer():
        raise QsnnError(f"node {name}: input type {dt.name} is not an integer type; no testbench written")
    rng = np.random.default_rng(seed)
    shape = op.get_normal_input_shape()
    xs = [rng.integers(int(dt.min()), int(dt.max()) + 1, shape).astype(np.float32) for _ in range(frames)]
    xs[0][...] = dt.max()
    ys = [python_frame(op, model, x) for x in xs]
    for p in ports:
        beats = stream_beats(op, model, p["port"], ys if p["port"].startswith("out") else xs)
        p["beats"] = len(beats)
        digits = (p["width"] + 3) // 4
        write_text(folder / f"tb_{p['port']}.hex", "".join(f"0x{b:0{digits}x}\n" for b in beats))
    top = (folder / f"top_{name}.cpp").read_text()
    max_w = re.search(r"#define AP_INT_MAX_W (\d+)", top)
    ctx = dict(
        name=name,
        op_type=op.onnx_node.op_type,
        frames=frames,
        ports=ports,
        inputs=[p for p in ports if p["port"].startswith("in")],
        output=next(p for p in ports if p["port"].startswith("out")),
        max_w=max_w.group(1) if max_w else None,
    )
    write_text(folder / f"tb_{name}.cpp", assets.render("hls_templates", "tb_stream.cpp.j2", **ctx))
    tcl = dict(what=f"FINN's {op.onnx_node.op_type} node", name=name, part=part, clk_ns=f"{clk_ns:.3f}")
    tcl.update(cflags=cflags, tb_files=[f"tb_{p['port']}.hex" for p in ports])
    write_text(folder / "run_hls.tcl", assets.render("hls_templates", "run_hls.tcl.j2", **tcl))
