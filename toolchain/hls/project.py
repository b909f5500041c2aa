"""Write the HLS sources of a folded HW graph into BUILD_DIR/hls, ready for Vitis HLS.

Each HLS node gets FINN's top function and synthesis tcl (``code_generation_ipgen``, what FINN's
PrepareIP calls, pointed at our folder). Each LIF node also gets a stand-alone Vitis HLS project:
a testbench with a software golden function, its test vectors (from the golden model) and a tcl
script for csim / csynth / cosim (``vitis_hls -f run_hls.tcl``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from qonnx.custom_op.registry import getCustomOp

from toolchain import assets
from toolchain.fsutil import write_text
from toolchain.golden import run_neurons

TB_SAMPLES = 4


def write_hls(model, cfg) -> Path:
    """Generate every HLS node's sources under FINN's environment (its tcl bakes in FINN_DEPS)."""
    from toolchain.vivado.environment import deps_dir, finn_environment, finn_variables, write_env_script

    variables = finn_variables(cfg.out, deps_dir(cfg), None)
    write_env_script(cfg.out / "finn_env.sh", variables, None)
    with finn_environment(variables, None):
        return _write_hls(model, cfg)


def _write_hls(model, cfg) -> Path:
    root = Path(cfg.out).resolve() / "hls"  # absolute: FINN's ipgen.sh cd's into it before calling the tool
    clk_ns = 1000.0 / cfg.clock_mhz
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
    ctx = dict(name=spec.name, samples=TB_SAMPLES, part=part, clk_ns=f"{clk_ns:.3f}")
    write_text(folder / f"tb_{spec.name}.cpp", assets.render("hls_templates", "tb_lif.cpp.j2", **ctx))
    write_text(folder / "run_hls.tcl", assets.render("hls_templates", "run_hls.tcl.j2", **ctx))
