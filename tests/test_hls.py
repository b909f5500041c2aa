"""The HLS LIF kernel: C-simulation == golden over the mode matrix, the generated Vitis project, errors."""

import subprocess
from pathlib import Path

import numpy as np
import pytest

from toolchain import assets
from toolchain.custom_op.layer_spec import LayerSpec
from toolchain.errors import QsnnError, ToolNotFound
from toolchain.flow.build_config import BuildConfig
from toolchain.flow.runner import run_build
from toolchain.golden import NeuronParams
from toolchain.hls import csim
from toolchain.hls.csim import compile_csim
from toolchain.hls.matrix import MODES, run_matrix


@pytest.mark.slow
def test_kernel_csim_equals_golden_for_every_mode_and_width(tmp_path):
    rows = run_matrix(folder=tmp_path)
    assert len(rows) == 126 and {r["bits"] for r in rows} == set(range(4, 25)) and {r["pe"] for r in rows} == {1, 3}
    per_mode = {}
    for r in rows:
        per_mode.setdefault((r["leak"], r["rounding"], r["reset"]), set()).add(r["bits"])
    assert len(per_mode) == len(MODES) == 18
    assert all(len(bits) == 7 and min(bits) <= 6 and max(bits) >= 21 for bits in per_mode.values())
    assert sum(r["mismatches"] for r in rows) == 0
    assert sum(r["updates"] for r in rows) > 35000


@pytest.fixture(scope="module")
def demo_build(demo_run, tmp_path_factory):
    out = tmp_path_factory.mktemp("hlsbuild") / "b"
    run_build(BuildConfig(run_dir=str(demo_run), out_dir=str(out), until="hls", target_cycles=16), log=None)
    return out


def test_generated_vitis_testbench_passes_with_gxx(demo_build, tmp_path):
    """The project written for Vitis HLS (top function + testbench + golden vectors) also runs under g++."""
    for layer in ("LIFLayer_hls_0", "LIFLayer_hls_1"):
        folder = demo_build / "hls" / layer
        exe = tmp_path / layer
        cmd = [
            csim.gxx(),
            *csim.CXXFLAGS,
            "-I",
            str(folder),
            "-I",
            str(csim.ap_headers()),
            str(folder / f"top_{layer}.cpp"),
            str(folder / f"tb_{layer}.cpp"),
            "-o",
            str(exe),
        ]
        subprocess.run(cmd, check=True, capture_output=True)
        r = subprocess.run([str(exe)], cwd=folder, capture_output=True, text=True)
        assert r.returncode == 0, r.stdout + r.stderr
        assert f"{layer}: 0 mismatches" in r.stdout
        tcl = (folder / "run_hls.tcl").read_text()
        assert "csim_design" in tcl and "csynth_design" in tcl and "cosim_design" in tcl
        assert "xc7z020clg400-1" in tcl


def test_generated_sources_have_no_placeholders(demo_build):
    import re

    files = [f for f in (demo_build / "hls").rglob("*") if f.suffix in (".cpp", ".hpp", ".tcl")]
    assert len(files) >= 10
    for f in files:
        text = f.read_text()
        # neither Jinja2's nor FINN's ($NAME$) placeholders survive rendering
        assert "{{" not in text and "{%" not in text and not re.search(r"\$[A-Z_]+\$", text), f


def test_lif_top_partitions_the_bias_rom_along_pe_and_raises_ap_int_max_w():
    """II = 1 for every PE needs one bias bank per lane; streams over 1024 bits need AP_INT_MAX_W."""
    import re

    wide = LayerSpec(
        "Lw",
        NeuronParams(membrane_bits=16, threshold=10),
        channels=128,
        steps=2,
        bias=np.arange(128) % 7,
        in_bits=20,
        pe=64,
    )
    top = assets.render("hls_templates", "lif_top.cpp.j2", **wide.validate().context())
    assert re.search(r"#pragma HLS ARRAY_PARTITION variable = Lw_bias complete dim = 2", top)
    assert "#define AP_INT_MAX_W 1280" in top and top.index("AP_INT_MAX_W") < top.index("#include")
    assert "ap_uint<1280>" in top


def test_wide_stream_kernel_compiles_and_matches_golden(tmp_path):
    from toolchain.golden import run_neurons

    p = NeuronParams(membrane_bits=12, threshold=40, leak_mode="shift", leak_shift=2)
    s = LayerSpec("Lw", p, channels=96, steps=3, bias=np.arange(96) % 5 - 2, in_bits=12, pe=96)  # 1152-bit beats
    binary = compile_csim([s], tmp_path)
    x = np.random.default_rng(1).integers(-2048, 2048, (4, 3, 96))
    got = csim.run_csim(binary, 0, x)
    assert int(np.sum(got != run_neurons(x + s.bias, p))) == 0


def spec(**kw):
    p = NeuronParams(membrane_bits=8, threshold=10)
    return LayerSpec("L", kw.pop("params", p), channels=4, steps=3, bias=np.zeros(4), in_bits=8, **kw)


def test_missing_compiler_is_a_clear_error(tmp_path):
    with pytest.raises(ToolNotFound, match="g\\+\\+ not found"):
        compile_csim([spec()], tmp_path, compiler=str(tmp_path / "no-such-g++"))


def test_missing_headers_are_a_clear_error(monkeypatch):
    monkeypatch.setattr("importlib.util.find_spec", lambda name: None)
    with pytest.raises(ToolNotFound, match="ap_int.*hls4ml"):
        csim.ap_headers()


def test_compile_error_names_the_log(tmp_path, monkeypatch):
    monkeypatch.setattr(csim, "CXXFLAGS", ["-std=c++14", "-DQSNN_FORCE_ERROR=1", "-include", "no_such_header.h"])
    with pytest.raises(QsnnError, match="see .*csim_compile.log"):
        compile_csim([spec()], tmp_path)
    assert "no_such_header.h" in (tmp_path / "csim_compile.log").read_text()


def test_configuration_the_kernel_cannot_take():
    with pytest.raises(QsnnError, match="threshold=200 does not fit a 8-bit membrane"):
        compile_csim([spec(params=NeuronParams(membrane_bits=8, threshold=200))], Path("/tmp"))
    with pytest.raises(QsnnError, match="PE=3 must divide 4"):
        compile_csim([spec(pe=3)], Path("/tmp"))


@pytest.mark.vivado
def test_vitis_hls_csim_csynth_cosim(demo_build):
    from conftest import vendor_tool

    tool = vendor_tool()
    if tool == "vivado":
        pytest.skip("only vivado found: csim/csynth/cosim need vitis_hls or vivado_hls")
    folder = demo_build / "hls" / "LIFLayer_hls_0"
    r = subprocess.run([tool, "-f", "run_hls.tcl"], cwd=folder, capture_output=True, text=True, timeout=3600)
    assert r.returncode == 0, r.stdout[-3000:]
    assert "0 mismatches" in r.stdout


def test_cppsim_compile_works_on_a_fresh_op_instance(demo_build, tmp_path):
    """FINN's CompileCppSim calls compile_singlenode_code on a new instance (in a worker pool)."""
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.custom_op.registry import getCustomOp

    model = ModelWrapper(str(demo_build / "intermediate" / "04_fold.onnx"))
    node = next(n for n in model.graph.node if n.op_type == "LIFLayer_hls")
    first = getCustomOp(node)
    first.set_nodeattr("code_gen_dir_cppsim", str(tmp_path))
    first.code_generation_cppsim(model)
    fresh = getCustomOp(node)
    fresh.compile_singlenode_code()
    assert Path(fresh.get_nodeattr("executable_path")).is_file()


def test_lif_hls_interface_matches_its_top_function(demo_build):
    """FINN stitches IP by these names: one AXI stream in, one out; the bias is inside the kernel."""
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.custom_op.registry import getCustomOp

    model = ModelWrapper(str(demo_build / "intermediate" / "04_fold.onnx"))
    for node in (n for n in model.graph.node if n.op_type == "LIFLayer_hls"):
        op = getCustomOp(node)
        intf = op.get_verilog_top_module_intf_names()
        assert [name for name, _ in intf["s_axis"]] == ["in0_V"] and [name for name, _ in intf["m_axis"]] == ["out0_V"]
        top = (demo_build / "hls" / node.name / f"top_{node.name}.cpp").read_text()
        assert (
            f"ap_uint<{op.get_instream_width()}>> &in0_V" in top
            and f"ap_uint<{op.get_outstream_width()}>> &out0_V" in top
        )
