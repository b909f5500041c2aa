"""FINN's own HLS nodes in C-simulation (toolchain.hls.finn_csim): FINN's cppsim code compiled with g++ against
finn-hlslib (the copy in ../shared/finn-deps) and the open ap_int headers. Each node is checked against an
independent numpy computation; whole builds (ladder level 4) against the golden model. Without that copy these
tests skip, saying so."""

import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from onnx import TensorProto, helper
from qonnx.core.datatype import DataType
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.core.onnx_exec import execute_onnx
from qonnx.custom_op.registry import getCustomOp
from qonnx.util.basic import qonnx_make_model

from toolchain.cli import main
from toolchain.flow import verify
from toolchain.flow.build_config import BuildConfig
from toolchain.flow.runner import run_build
from toolchain.hls import finn_csim

FINN_DEPS = Path(__file__).resolve().parents[1].parent / "shared" / "finn-deps"
HLSLIB = FINN_DEPS / "finn-hlslib"
needs_hlslib = pytest.mark.skipif(
    not (HLSLIB / "bnn-library.h").is_file(),
    reason=f"needs finn-hlslib in {FINN_DEPS} (a plain copy for C-simulation; users fetch it with 'finn deps update')",
)


def mvau_model(mw, mh, simd, pe, idt, wdt, vectors, op_type="MVAU_hls"):
    """One FINN MVAU node (no activation, weights streamed as FINN's internal_decoupled mode does)."""
    odt = DataType["INT24"]
    inp = helper.make_tensor_value_info("inp", TensorProto.FLOAT, [1, vectors, mw])
    out = helper.make_tensor_value_info("out", TensorProto.FLOAT, [1, vectors, mh])
    node = helper.make_node(
        op_type,
        ["inp", "weights"],
        ["out"],
        name="MVAU_hls_0",
        domain="finn.custom_op.fpgadataflow.hls",
        backend="fpgadataflow",
        MW=mw,
        MH=mh,
        SIMD=simd,
        PE=pe,
        inputDataType=idt.name,
        weightDataType=wdt.name,
        outputDataType=odt.name,
        noActivation=1,
        binaryXnorMode=0,
        numInputVectors=[1, vectors],
        mem_mode="internal_decoupled",
        exec_mode="cppsim",
    )
    model = ModelWrapper(qonnx_make_model(helper.make_graph([node], "mvau", [inp], [out]), producer_name="test"))
    rng = np.random.default_rng(mw * mh + simd)
    w = rng.integers(wdt.min(), wdt.max() + 1, size=(mw, mh)).astype(np.float32)
    model.set_initializer("weights", w)
    model.set_tensor_datatype("inp", idt)
    model.set_tensor_datatype("weights", wdt)
    model.set_tensor_datatype("out", odt)
    return model, w


@needs_hlslib
@pytest.mark.parametrize(
    "mw, mh, simd, pe, idt, op_type",
    [
        (64, 32, 8, 4, "UINT8", "MVAU_hls"),  # the direct-encoded first layer: integer inputs
        (36, 12, 6, 3, "INT4", "MVAU_hls"),
        (128, 10, 16, 2, "BINARY", "MVAUSpike_hls"),  # spikes: this project's op on FINN's MVAU code
        (4608, 16, 8, 1, "BINARY", "MVAUSpike_hls"),  # a conv net's flattened layer, SIMD >= MW / 1024
    ],
)
def test_finn_mvau_in_cpp_equals_the_matrix_product(mw, mh, simd, pe, idt, op_type, tmp_path):
    model, w = mvau_model(mw, mh, simd, pe, DataType[idt], DataType["INT4"], vectors=5, op_type=op_type)
    finn_csim.prepare_graph(model, tmp_path, HLSLIB)
    dt = DataType[idt]
    x = np.random.default_rng(1).integers(dt.min(), dt.max() + 1, size=(1, 5, mw)).astype(np.float32)
    got = execute_onnx(model, {"inp": x})["out"]
    assert (tmp_path / "MVAU_hls_0" / "output_0.npy").is_file()  # FINN's binary ran and wrote its output
    assert int(np.sum(got != x @ w)) == 0


def spike_pool_model(channels, pe, k, odim, batch):
    """One max-pool of spikes as the HLS backend builds it (PoolSpikes_hls), on FINN's Pool input: per output
    pixel the window's K positions x C channels (FINN's Im2Col layout)."""
    ishape, oshape = [batch, odim, odim, k * k * channels], [batch, odim, odim, channels]
    node = helper.make_node(
        "PoolSpikes_hls",
        ["inp"],
        ["out"],
        name="PoolSpikes_hls_0",
        domain="finn.custom_op.fpgadataflow.hls",
        backend="fpgadataflow",
        Channels=channels,
        PE=pe,
        KernelSize=[k, k],
        Function="MaxPool",
        OutImgDims=[odim, odim],
        InputDataType="BINARY",
        OutputDataType="BINARY",
        BatchSize=batch,
        exec_mode="cppsim",
    )
    graph = helper.make_graph(
        [node],
        "pool",
        [helper.make_tensor_value_info("inp", TensorProto.FLOAT, ishape)],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, oshape)],
    )
    model = ModelWrapper(qonnx_make_model(graph, producer_name="test"))
    model.set_tensor_datatype("inp", DataType["BINARY"])
    model.set_tensor_datatype("out", DataType["BINARY"])
    return model


@needs_hlslib
@pytest.mark.parametrize("channels, pe, k, odim, batch", [(4, 4, 2, 3, 1), (8, 2, 2, 4, 3), (6, 1, 3, 2, 2)])
def test_spike_pool_in_cpp_equals_an_or_over_each_window(channels, pe, k, odim, batch, tmp_path):
    """PoolSpikes_hls in C++ (FINN's pool top and cppsim harness around the project's kernel) equals the max over
    each window computed in numpy, with its channels folded below PE and several frames per call."""
    model = spike_pool_model(channels, pe, k, odim, batch)
    finn_csim.prepare_graph(model, tmp_path, HLSLIB)
    rng = np.random.default_rng(channels * pe + k)
    x = (rng.random((batch, odim, odim, k * k * channels)) < 0.2).astype(np.float32)
    got = execute_onnx(model, {"inp": x})["out"]
    assert (tmp_path / "PoolSpikes_hls_0" / "output_0.npy").is_file()  # the compiled binary ran
    want = x.reshape(batch, odim, odim, k * k, channels).max(axis=3)
    assert 0 < want.sum() < want.size and int(np.sum(got != want)) == 0


@needs_hlslib
def test_one_binary_serves_every_folder_with_the_same_code(tmp_path):
    """Compiled once per source: a second folder with the same node reuses the cached binary."""
    first, _ = mvau_model(32, 8, 4, 2, DataType["UINT4"], DataType["INT4"], vectors=3)
    second, _ = mvau_model(32, 8, 4, 2, DataType["UINT4"], DataType["INT4"], vectors=3)
    finn_csim.prepare_graph(first, tmp_path / "a", HLSLIB)
    finn_csim.prepare_graph(second, tmp_path / "b", HLSLIB)
    runners = [Path(getCustomOp(m.graph.node[0]).get_nodeattr("executable_path")) for m in (first, second)]
    assert (
        runners[0] != runners[1]
        and runners[0].read_text().split("exec")[-1] == runners[1].read_text().split("exec")[-1]
    )


@needs_hlslib
def test_a_compile_error_names_its_log(tmp_path):
    model, _ = mvau_model(32, 8, 4, 2, DataType["UINT4"], DataType["INT4"], vectors=3)
    op = getCustomOp(model.graph.node[0])
    op.set_nodeattr("code_gen_dir_cppsim", str(tmp_path))
    op.code_generation_cppsim(model)
    src = next(tmp_path.glob("*.cpp"))
    src.write_text(src.read_text() + "\nthis is not C++;\n")
    with pytest.raises(Exception, match="csim_compile.log"):
        finn_csim.compile_node(op, HLSLIB)


@needs_hlslib
def test_demo_build_every_node_in_cpp_zero_mismatches(demo_run, tmp_path):
    out = tmp_path / "b"
    cfg = BuildConfig(run_dir=str(demo_run), out_dir=str(out), until="csim", target_cycles=64, finn_deps=str(FINN_DEPS))
    report = run_build(cfg, log=None)
    level = report["verification"]["hls_csim"]
    assert level["mismatches"] == 0 and level["samples"] > 0
    assert set(level["nodes"].values()) == {"cpp"} and not level["python_why"], level["nodes"]
    kinds = {name.rsplit("_", 1)[0] for name in level["nodes"]}
    assert {"MVAU_hls", "LIFLayer_hls"} <= kinds  # FINN's MVAUs (the spike one too) and the project's LIF
    assert level["finn_hlslib"]["path"] == str(HLSLIB.resolve()) and level["finn_hlslib"]["revision"]
    assert list((out / "csim").rglob("MVAU_hls_1/output_0.npy")), "FINN's spike MVAU binary did not run"


@needs_hlslib
def test_conv_build_runs_every_node_below_python(conv_run, tmp_path):
    """A conv build with a max-pool of spikes: FINN's MVAUs, the spike pool (PoolSpikes_hls: FINN's pool top around
    the project's OR kernel) and the LIFs in C++, FINN's RTL-only sliding windows in Verilator, none in Python."""
    out = tmp_path / "b"
    cfg = BuildConfig(
        run_dir=str(conv_run), out_dir=str(out), until="csim", finn_deps=str(FINN_DEPS), verify_samples=40
    )
    level = run_build(cfg, log=None)["verification"]["hls_csim"]
    assert level["mismatches"] == 0 and level["samples"] == 40
    where = level["nodes"]
    assert all(v == "verilator" for n, v in where.items() if n.startswith("ConvolutionInputGenerator_rtl"))
    ops = {n.name: n.op_type for n in ModelWrapper(str(out / "intermediate" / "07_csim.onnx")).graph.node}
    assert {ops[n] for n, v in where.items() if v == "cpp"} >= {"MVAUSpike_hls", "LIFLayer_hls", "PoolSpikes_hls"}
    assert "python" not in where.values() and not level["python_why"], level
    pool = next(n for n, t in ops.items() if t == "PoolSpikes_hls")
    assert list((out / "csim").rglob(f"{pool}/output_0.npy")), "the spike pool's binary did not run"

    # the sliding window in Verilator against FINN's own Python execution of it, frame by frame, on random frames
    model = ModelWrapper(str(out / "intermediate" / "07_csim.onnx"))
    window = next(n for n in model.graph.node if n.op_type == "ConvolutionInputGenerator_rtl")
    run = verify.rtl_runner(model, window.name, tmp_path / "w", cfg)
    op = getCustomOp(window)
    dt = op.get_input_datatype()
    x = np.random.default_rng(3).integers(dt.min(), dt.max() + 1, (6, *op.get_normal_input_shape()[1:]))
    got = run(x.astype(np.float32))
    python = helper.make_node(
        "ConvolutionInputGenerator", list(window.input), list(window.output), domain="finn.custom_op.fpgadataflow"
    )
    python.attribute.extend(window.attribute)
    ref = []
    for frame in x:
        ctx = {window.input[0]: frame[None].astype(np.float32)}
        ctx[window.output[0]] = np.zeros(op.get_normal_output_shape(), dtype=np.float32)
        getCustomOp(python).execute_node(ctx, model.graph)
        ref.append(ctx[window.output[0]][0])
    assert got.shape == (6, *op.get_normal_output_shape()[1:]) and int(np.sum(got != np.stack(ref))) == 0


def test_without_finn_hlslib_the_report_names_the_nodes_left_in_python(demo_run, tmp_path):
    empty = tmp_path / "deps"
    empty.mkdir()
    cfg = BuildConfig(
        run_dir=str(demo_run), out_dir=str(tmp_path / "b"), until="csim", target_cycles=64, finn_deps=str(empty)
    )
    level = run_build(cfg, log=None)["verification"]["hls_csim"]
    assert level["mismatches"] == 0 and level["finn_hlslib"] is None
    assert {n for n, v in level["nodes"].items() if v == "cpp"} == {"LIFLayer_hls_0", "LIFLayer_hls_1"}
    for name, why in level["python_why"].items():
        assert "finn-hlslib not found" in why and "--finn-deps" in why, (name, why)


@pytest.fixture(scope="module")
def wide_conv_run(tmp_path_factory):
    """A conv net whose dense layer takes 6 x 6 x 32 = 1152 inputs (above the 1024 of FINN's HLS MVAU rule)."""
    from conftest import _train

    return _train(tmp_path_factory, "wideconv", model__arch="conv", model__hidden=(32,), train__epochs=1)


@pytest.mark.slow
def test_a_folding_file_breaking_finn_s_hls_rule_is_refused_by_name(wide_conv_run, tmp_path, capsys):
    """FINN asserts SIMD >= MW / 1024 only when it writes an MVAU's HLS; the project's own folding meets it, and a
    --folding file that breaks it stops the build at the fold step with the node, the rule and the fix (exit 2,
    no traceback)."""
    out = tmp_path / "b"
    assert main(["build", str(wide_conv_run), "--out", str(out), "--until", "hls", "--verify-samples", "5"]) == 0
    folding = json.loads((out / "folding.json").read_text())
    graph = ModelWrapper(str(out / "intermediate" / "05_estimate.onnx"))
    wide = max(
        (n for n in graph.graph.node if n.op_type.startswith("MVAU")), key=lambda n: getCustomOp(n).get_nodeattr("MW")
    )
    mw = getCustomOp(wide).get_nodeattr("MW")
    assert mw > 1024 and folding[wide.name]["SIMD"] * 1024 >= mw  # the default folding raised SIMD to meet it
    folding[wide.name]["SIMD"] = 1
    bad = tmp_path / "folding.json"
    bad.write_text(json.dumps(folding))
    code = main(["build", str(wide_conv_run), "--out", str(tmp_path / "c"), "--until", "hls", "--folding", str(bad)])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert wide.name in err and "SIMD >= MW / 1024" in err and f"MW={mw}" in err


def test_a_folding_file_giving_a_pool_another_pe_than_its_window_is_refused(conv_run, tmp_path, capsys):
    """A depthwise sliding window streams each fold of SIMD channels with its window positions together, and the
    pool reads PE channels at a time: a --folding file that gives them different values would build a pool that
    ORs the wrong spikes, so the fold step refuses it naming both nodes (exit 2, no traceback)."""
    out = tmp_path / "b"
    assert main(["build", str(conv_run), "--out", str(out), "--until", "fold", "--verify-samples", "5"]) == 0
    folding = json.loads((out / "folding.json").read_text())
    pool = next(name for name in folding if name.startswith("Pool"))
    folding[pool]["PE"] = 1
    window = next(n for n in folding if n.startswith("ConvolutionInputGenerator") and folding[n].get("SIMD", 1) > 1)
    bad = tmp_path / "folding.json"
    bad.write_text(json.dumps(folding))
    code = main(["build", str(conv_run), "--out", str(tmp_path / "c"), "--until", "fold", "--folding", str(bad)])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err and not (tmp_path / "c" / "intermediate" / "04_fold.onnx").exists()
    assert f"{pool}: PE=1 differs from the SIMD={folding[window]['SIMD']} of its sliding window {window}" in err


@pytest.mark.parametrize("mw, mh", [(784, 512), (512, 10), (4608, 16), (9216, 64), (3, 8)])
@pytest.mark.parametrize("target", [1, 10, 1000, 100_000])
def test_folding_the_project_chooses_passes_finn_s_code_generation(mw, mh, target, tmp_path):
    """FINN's SetFolding at a target, then the project's rules (meet_hls_rules, check_folding): FINN's own HLS code
    generation of the node (what step hls runs) raises nothing, dense layers up to 784 x 512 and conv-sized inputs
    up to 9,216, targets 1 to 10^5 cycles."""
    from finn.transformation.fpgadataflow.set_folding import SetFolding

    from toolchain.flow.steps import check_folding, meet_hls_rules
    from toolchain.transform import UseSpikeOps
    from toolchain.vivado.environment import finn_environment, finn_variables

    model, _ = mvau_model(mw, mh, 1, 1, DataType["BINARY"], DataType["INT4"], vectors=8)
    model.graph.node[0].op_type = "MVAU_hls"  # FINN's SetFolding folds FINN's own type
    model = model.transform(SetFolding(target_cycles_per_frame=target)).transform(UseSpikeOps())  # as step fold
    meet_hls_rules(model)
    check_folding(model)
    op = getCustomOp(model.graph.node[0])
    op.set_nodeattr("code_gen_dir_ipgen", str(tmp_path))
    with finn_environment(finn_variables(tmp_path, tmp_path, None), None):  # FINN's settings, as step hls has them
        op.code_generation_ipgen(model, "xc7z020clg400-1", 10.0)
    assert op.get_nodeattr("SIMD") * 1024 >= mw and (tmp_path / f"top_{model.graph.node[0].name}.cpp").is_file()


def compile_testbench(folder: Path, exe: Path):
    """g++ of a node's Vitis HLS project (FINN's top function + the project's testbench), as Vitis HLS's csim
    compiles it, with the open ap_int headers and the project's stand-ins for Vitis's own headers."""
    name = folder.name
    cmd = [finn_csim.gxx(), *finn_csim.CXXFLAGS, *finn_csim._includes(HLSLIB), f"-I{folder}"]
    cmd += [str(folder / f"top_{name}.cpp"), str(folder / f"tb_{name}.cpp"), "-o", str(exe)]
    subprocess.run(cmd, check=True, capture_output=True)


def run_testbench(folder: Path, exe: Path):
    return subprocess.run([str(exe)], cwd=folder, capture_output=True, text=True)


@pytest.fixture(scope="module")
def hls_projects(demo_run, tmp_path_factory):
    """The demo network to --until hls with finn-hlslib: a Vitis HLS project per node (FINN's two MVAUs, the
    width converters that folding to 64 cycles needs, the two LIF layers)."""
    out = tmp_path_factory.mktemp("hlsproj") / "b"
    cfg = BuildConfig(run_dir=str(demo_run), out_dir=str(out), until="hls", target_cycles=64, finn_deps=str(FINN_DEPS))
    run_build(cfg, log=None)
    return out


@needs_hlslib
def test_every_hls_node_vitis_testbench_passes_under_gxx(hls_projects, tmp_path):
    """Each node's Vitis HLS project, FINN's own top function driven by the testbench qsnn build wrote, runs in
    g++: the outputs equal FINN's Python execution of the node (the LIF's: the golden model's) beat for beat."""
    folders = sorted(p.parent for p in (hls_projects / "hls").glob("*/run_hls.tcl"))
    kinds = {f.name.rsplit("_", 1)[0] for f in folders}
    assert {"MVAU_hls", "LIFLayer_hls", "StreamingDataWidthConverter_hls"} <= kinds, kinds
    assert len(folders) == len(list((hls_projects / "hls").glob("*/top_*.cpp")))  # every HLS node has a project
    for folder in folders:
        compile_testbench(folder, tmp_path / folder.name)
        r = run_testbench(folder, tmp_path / folder.name)
        assert r.returncode == 0 and f"{folder.name}: 0 mismatches over " in r.stdout, (folder.name, r.stdout)
        tcl = (folder / "run_hls.tcl").read_text()
        assert "csim_design" in tcl and "csynth_design" in tcl and "cosim_design" in tcl and "xc7z020clg400-1" in tcl
        if not folder.name.startswith("LIFLayer"):
            assert f"-I{HLSLIB.resolve()}" in tcl or f"-I{HLSLIB}" in tcl, tcl
    mvau = next(f for f in folders if f.name == "MVAU_hls_1")  # the spike MVAU: its weights stream in on in1_V
    assert (mvau / "tb_in1_V.hex").is_file()


@needs_hlslib
def test_of_the_test_a_node_testbench_fails_on_a_wrong_missing_or_extra_beat(hls_projects, tmp_path):
    src = hls_projects / "hls" / "MVAU_hls_0"
    folder = tmp_path / src.name
    shutil.copytree(src, folder)
    compile_testbench(folder, tmp_path / "tb")
    expected = (folder / "tb_out0_V.hex").read_text().splitlines()
    beat = int(expected[5], 16) ^ 1
    wrong = [*expected[:5], f"0x{beat:0{len(expected[5]) - 2}x}", *expected[6:]]
    (folder / "tb_out0_V.hex").write_text("\n".join(wrong) + "\n")
    r = run_testbench(folder, tmp_path / "tb")
    assert r.returncode == 1 and f"MVAU_hls_0: 1 mismatches over {len(expected)} output beats" in r.stdout, r.stdout
    (folder / "tb_out0_V.hex").write_text("\n".join(expected[:-1]) + "\n")
    r = run_testbench(folder, tmp_path / "tb")
    assert r.returncode == 1 and f"{len(expected) - 1} beats, expected {len(expected)}" in r.stdout, r.stdout
    (folder / "tb_out0_V.hex").write_text("\n".join(expected) + "\n")
    inputs = (folder / "tb_in0_V.hex").read_text().splitlines()
    (folder / "tb_in0_V.hex").write_text("\n".join(inputs[:-1]) + "\n")
    r = run_testbench(folder, tmp_path / "tb")
    assert r.returncode == 1 and "tb_in0_V.hex" in r.stdout, r.stdout


MAX_POOL_TOP = """// test only: an independent max-pool over FINN's Pool stream interface (not the project's kernel)
#include <ap_int.h>
#include <hls_stream.h>
#include <hls_vector.h>
SIGNATURE {
  for (unsigned o = 0; o < ISIZE / K; o++) {
    auto acc = in0_V.read();
    for (unsigned k = 1; k < K; k++) {
      const auto v = in0_V.read();
      for (unsigned i = 0; i < acc.size(); i++) if (v[i] CMP acc[i]) acc[i] = v[i];
    }
    out0_V.write(acc);
  }
}
"""


@needs_hlslib
def test_the_spike_pool_testbench_passes_and_agrees_with_an_independent_max_pool(conv_run, tmp_path):
    """The spike pool's Vitis HLS project (FINN's pool top around the project's OR kernel) passes its testbench in
    g++ with its channels folded (PE < C: the beats in the depthwise sliding window's order). The testbench itself
    is checked with an independent max-pool behind the same signature: the vector packing and FINN's Python
    execution of the node (the expected beats) agree with it, and a min-pool fails."""
    out = tmp_path / "b"
    common = dict(run_dir=str(conv_run), out_dir=str(out), until="hls", verify_samples=20, finn_deps=str(FINN_DEPS))
    run_build(BuildConfig(**common), log=None)
    model = ModelWrapper(str(out / "intermediate" / "06_hls.onnx"))
    pool = next(n for n in model.graph.node if n.op_type == "PoolSpikes_hls")
    # one channel per beat, in the pool and in the sliding windows (a depthwise window's SIMD is its pool's PE)
    folding = {n.name: {"SIMD": 1} for n in model.graph.node if n.op_type.startswith("ConvolutionInputGenerator")}
    folding[pool.name] = {"PE": 1}
    (tmp_path / "fold.json").write_text(json.dumps(folding))
    run_build(BuildConfig(**common, folding=str(tmp_path / "fold.json"), start="fold"), log=None)
    model = ModelWrapper(str(out / "intermediate" / "06_hls.onnx"))
    op = getCustomOp(model.get_node_from_name(pool.name))
    assert op.get_nodeattr("PE") == 1 < op.get_nodeattr("Channels")
    folder = out / "hls" / pool.name
    compile_testbench(folder, tmp_path / "own")
    r = run_testbench(folder, tmp_path / "own")
    assert r.returncode == 0 and f"{pool.name}: 0 mismatches over " in r.stdout, r.stdout
    top = folder / f"top_{folder.name}.cpp"
    text = top.read_text()
    assert "qsnn::pool_spikes<" in text
    signature = re.search(r"void \w+\(hls::stream<hls::vector<.*?\)", text).group(0)
    sizes = "".join(re.findall(r"constexpr unsigned\s+\w+ = \d+;\n", text))
    assert "ISIZE" in sizes and "K =" in sizes, text
    for cmp, want in ((">", 0), ("<", None)):
        top.write_text(sizes + MAX_POOL_TOP.replace("SIGNATURE", signature).replace("CMP", cmp))
        compile_testbench(folder, tmp_path / f"tb{want}")
        r = run_testbench(folder, tmp_path / f"tb{want}")
        bad = int(re.search(r": (\d+) mismatches over (\d+) output beats", r.stdout).group(1))
        if want == 0:
            assert r.returncode == 0 and bad == 0, r.stdout
        else:
            assert r.returncode == 1 and bad > 0, r.stdout
