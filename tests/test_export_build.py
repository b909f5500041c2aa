"""QONNX export with the LIF op, the FINN lowering, folding, estimates and the build's bad inputs."""

import json

import numpy as np
import pytest
from onnx import TensorProto, helper
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.core.onnx_exec import execute_onnx
from qonnx.util.basic import qonnx_make_model

import toolchain  # noqa: F401
from toolchain.errors import QsnnError
from toolchain.flow.build_config import BuildConfig
from toolchain.flow.runner import run_build
from toolchain.golden import NeuronParams, run_neurons


def lif_graph(shape=(2, 5, 4), **attrs):
    inp = helper.make_tensor_value_info("x", TensorProto.FLOAT, list(shape))
    out = helper.make_tensor_value_info("y", TensorProto.FLOAT, list(shape))
    node = helper.make_node("LIF", ["x"], ["y"], domain="toolchain.custom_op", name="LIF_test", **attrs)
    return ModelWrapper(qonnx_make_model(helper.make_graph([node], "g", [inp], [out])))


def test_lif_op_executes_golden_semantics_after_import_toolchain():
    attrs = dict(
        membrane_bits=8,
        threshold=20,
        leak_mode="beta",
        beta_int=200,
        beta_frac_bits=8,
        rounding="stochastic",
        seed=3,
        reset="zero",
        input_scale=0.25,
    )
    model = lif_graph(**attrs)
    current = np.random.default_rng(0).integers(-60, 60, (2, 5, 4))
    got = execute_onnx(model, {"x": (current * 0.25).astype(np.float32)})["y"]
    params = NeuronParams(**{k: v for k, v in attrs.items() if k != "input_scale"})
    assert np.array_equal(got, run_neurons(current, params))


@pytest.mark.parametrize(
    "attrs,match",
    [
        (dict(membrane_bits=8, threshold=300), "LIF_test.*threshold=300 does not fit a 8-bit membrane"),
        (dict(membrane_bits=8, threshold=3, leak_mode="exp"), "LIF_test.*leak_mode"),
        (dict(membrane_bits=40, threshold=3), "LIF_test.*membrane_bits=40"),
    ],
)
def test_lif_op_invalid_attributes_name_the_node_and_attribute(attrs, match):
    with pytest.raises(QsnnError, match=match):
        execute_onnx(lif_graph(**attrs), {"x": np.zeros((2, 5, 4), np.float32)})


def test_lif_op_rejects_inputs_off_the_scale_grid():
    model = lif_graph(membrane_bits=8, threshold=3, input_scale=0.5)
    with pytest.raises(QsnnError, match="not an exact integer multiple of input_scale"):
        execute_onnx(model, {"x": np.full((2, 5, 4), 0.3, np.float32)})


def build(run_dir, out, until="csim", **kw):
    return run_build(BuildConfig(run_dir=str(run_dir), out_dir=str(out), until=until, **kw), log=None)


def test_demo_build_whole_ladder_zero_mismatches(demo_run, tmp_path):
    report = build(demo_run, tmp_path / "b", target_cycles=32)
    saved = json.loads((tmp_path / "b" / "report.json").read_text())
    assert saved["board"] == "Pynq-Z2" and saved["part"] == "xc7z020clg400-1" and saved["clock_mhz"] == 100.0
    est = saved["estimate"]
    for key in (
        "lut",
        "bram18",
        "uram",
        "dsp",
        "cycles_per_step",
        "cycles_per_inference",
        "latency_us",
        "inferences_per_s",
        "per_layer",
    ):
        assert key in est
    ops = [layer["op"] for layer in est["per_layer"] if not layer["op"].startswith("StreamingDataWidthConverter")]
    assert ops == ["MVAU_hls", "LIFLayer_hls", "MVAUSpike_hls", "LIFLayer_hls"]
    assert set(saved["verification"]) == {"qonnx", "finn_hw", "hls_csim"}
    for level in saved["verification"].values():
        assert level["mismatches"] == 0 and level["samples"] == 360
    assert est["fit"]["fits"] and report["estimate"]["lut"] == est["lut"]
    assert (tmp_path / "b" / "report.md").read_text().count("| 360 | 0 |") == 3
    hls = tmp_path / "b" / "hls"
    assert (hls / "LIFLayer_hls_0" / "run_hls.tcl").is_file() and (hls / "MVAU_hls_0" / "top_MVAU_hls_0.cpp").is_file()


def test_ternary_stochastic_network_ladder(ternary_stochastic_run, tmp_path):
    build(ternary_stochastic_run, tmp_path / "t")
    saved = json.loads((tmp_path / "t" / "report.json").read_text())
    assert {k: v["mismatches"] for k, v in saved["verification"].items()} == {"qonnx": 0, "finn_hw": 0, "hls_csim": 0}
    import onnx

    onnx.checker.check_model(onnx.load(str(tmp_path / "t" / "model.onnx")))  # a valid ONNX file (Netron opens it)
    model = ModelWrapper(str(tmp_path / "t" / "model.onnx"))
    quants = [n for n in model.graph.node if n.op_type == "Quant"]
    assert quants and all(int(model.get_initializer(q.input[3])) == 2 for q in quants)  # 2-bit (ternary)
    assert any(a.s == b"stochastic" for n in model.graph.node if n.op_type == "LIF" for a in n.attribute)


def _cycles(report):
    return {layer["name"]: layer["cycles_per_step"] for layer in report["estimate"]["per_layer"]}


def test_doubling_pe_halves_cycles(demo_run, tmp_path):
    base = {
        "Defaults": {},
        "MVAU_hls_0": {"PE": 2, "SIMD": 4},
        "LIFLayer_hls_0": {"PE": 2},
        "MVAU_hls_1": {"PE": 1, "SIMD": 4},
        "LIFLayer_hls_1": {"PE": 1},
    }
    double = {
        "Defaults": {},
        "MVAU_hls_0": {"PE": 4, "SIMD": 4},
        "LIFLayer_hls_0": {"PE": 4},
        "MVAU_hls_1": {"PE": 2, "SIMD": 4},
        "LIFLayer_hls_1": {"PE": 2},
    }
    cycles = []
    for name, fold in (("a", base), ("b", double)):
        (tmp_path / f"{name}.json").write_text(json.dumps(fold))
        cycles.append(
            _cycles(build(demo_run, tmp_path / name, until="estimate", folding=str(tmp_path / f"{name}.json")))
        )
    for layer in ("MVAU_hls_0", "MVAU_hls_1"):
        assert cycles[1][layer] == cycles[0][layer] / 2
    from toolchain.custom_op.fpgadataflow.lif_layer import PIPELINE_DEPTH

    fill = PIPELINE_DEPTH / 8  # the LIF's fixed pipeline depth, spread over T = 8 steps
    for layer in ("LIFLayer_hls_0", "LIFLayer_hls_1"):
        assert cycles[1][layer] - fill == (cycles[0][layer] - fill) / 2


def test_resume_from_a_step(demo_run, tmp_path):
    build(demo_run, tmp_path / "r", until="hw")
    report = run_build(
        BuildConfig(run_dir=str(demo_run), out_dir=str(tmp_path / "r"), start="specialize", until="estimate"),
        log=None,
    )
    assert report["steps_done"] == ["export", "streamline", "hw", "specialize", "fold", "estimate"]
    assert report["verification"]["finn_hw"]["mismatches"] == 0


def test_resume_without_earlier_build_is_a_clear_error(demo_run, tmp_path):
    with pytest.raises(QsnnError, match="no earlier build"):
        run_build(BuildConfig(run_dir=str(demo_run), out_dir=str(tmp_path / "x"), start="fold"))


def test_unknown_board_lists_the_known_ones(demo_run, tmp_path):
    with pytest.raises(QsnnError, match="unknown board 'Pynq-Z9'.*Pynq-Z1, Pynq-Z2, .*KV260_SOM, AUP-ZU3_8GB"):
        BuildConfig(run_dir=str(demo_run), out_dir=str(tmp_path), board="Pynq-Z9")


def test_boards_come_from_finns_maps_with_one_table_of_additions():
    from finn.util.basic import pynq_native_port_width, pynq_part_map

    from toolchain.boards import board_names, get_board

    assert board_names() == list(pynq_part_map)
    for name in pynq_part_map:  # every board FINN's ZynqBuild knows resolves, with FINN's part and port width
        b = get_board(name)
        assert (b.part, b.axi_port_width) == (pynq_part_map[name], pynq_native_port_width[name])
        assert b.resources["LUT"] > 0 and b.clock_mhz > 0
    assert get_board("KV260").name == "KV260_SOM" and get_board("aup-zu3").name == "AUP-ZU3_8GB"


@pytest.mark.parametrize("board,finn_name", [("KV260", "KV260_SOM"), ("AUP-ZU3", "AUP-ZU3_8GB")])
def test_kv260_and_aup_zu3_estimate_and_reach_the_tool_step(demo_run, tmp_path, board, finn_name):
    from toolchain.errors import ToolNotFound

    report = build(demo_run, tmp_path / "e", until="estimate", board=board, verify_samples=20, target_cycles=64)
    assert report["board"] == finn_name and report["estimate"]["fit"]["fits"]
    with pytest.raises(ToolNotFound, match="stopped at step 'ip'"):
        build(
            demo_run,
            tmp_path / "e",
            start="hls",
            until="bitstream",
            board=board,
            verify_samples=20,
            target_cycles=64,
            vivado=str(tmp_path / "no_vivado"),
        )


@pytest.mark.parametrize("target", [64, 16, 4])
def test_every_stream_edge_has_matching_widths(demo_run, tmp_path, target):
    """Walk every edge of the folded HW graph: producer's output width == consumer's input width."""
    from qonnx.custom_op.registry import getCustomOp

    build(demo_run, tmp_path / "w", until="fold", target_cycles=target, verify_samples=20)
    model = ModelWrapper(str(tmp_path / "w" / "intermediate" / "04_fold.onnx"))
    edges = 0
    for prod in model.graph.node:
        for cons in model.find_consumers(prod.output[0]) or []:
            out_w = getCustomOp(prod).get_outstream_width()
            in_w = getCustomOp(cons).get_instream_width(list(cons.input).index(prod.output[0]))
            assert out_w == in_w, f"{prod.name} -> {cons.name}: {out_w} bits out, {in_w} bits in"
            edges += 1
    assert edges == len(model.graph.node) - 1


def test_build_paths_that_tcl_would_interpret_are_refused(demo_run, tmp_path):
    with pytest.raises(QsnnError, match="unquoted into tcl"):
        BuildConfig(run_dir=str(demo_run), out_dir=str(tmp_path / "a[exec touch pwned]"))


def test_unlowerable_graph_lists_the_ops_and_where(conv_run, tmp_path):
    from toolchain.flow.steps import QONNX_OPS, check_ops

    build(conv_run, tmp_path / "c", until="export")
    model = ModelWrapper(str(tmp_path / "c" / "model.onnx"))
    conv = next(n for n in model.graph.node if n.op_type == "Conv")
    conv.op_type = "ConvTranspose"  # an op the flow has no lowering for
    with pytest.raises(QsnnError, match=r"cannot lower 1 QONNX node\(s\) to hardware: #\d+ ConvTranspose .*Supported"):
        check_ops(model, QONNX_OPS, "QONNX")


def test_bitstream_stops_with_the_missing_tool_and_the_finishing_command(demo_run, tmp_path, monkeypatch):
    from conftest import vendor_tool

    if vendor_tool():
        pytest.skip("Vivado is installed here: the vivado-marked tests build for real")
    from toolchain.errors import ToolNotFound

    with pytest.raises(ToolNotFound) as e:
        build(demo_run, tmp_path / "v", until="bitstream")
    msg = str(e.value)
    assert "vivado not found" in msg and "stopped at step 'ip'" in msg and "--from ip --until bitstream" in msg
    assert not list((tmp_path / "v").rglob("*.bit"))


def hw_lif(channels, pe, **attrs):
    from qonnx.custom_op.registry import getCustomOp

    node = helper.make_node(
        "LIFLayer",
        ["x", "b"],
        ["y"],
        domain="finn.custom_op.fpgadataflow",
        name="LIFLayer_est",
        backend="fpgadataflow",
        NumChannels=channels,
        PE=pe,
        numInputVectors=[1, 8],
        inputDataType="INT20",
        biasDataType="INT8",
        **attrs,
    )
    return getCustomOp(node)


def test_lif_estimate_formulas_by_hand():
    # B = 16, beta leak 240/256 (popcount 4 -> 3 shift-add adders of B + F bits), nearest rounding
    op = hw_lif(
        128, 2, membrane_bits=16, threshold=1000, leak_mode="beta", beta_int=240, beta_frac_bits=8, rounding="nearest"
    )
    lane = 16 + (16 + 2) + 8 + 16 + 3 * (16 + 8) + 8
    # membrane 32 bits x 64 deep = 2048 bits -> LUTRAM, 1 x 64-deep column per bit, x2 ports;
    # bias 16 bits x 64 deep = 1024 bits -> registers (no LUTs)
    assert op.lut_estimation() == 2 * lane + 40 + 1 * 32 * 2
    assert op.bram_estimation() == 0 and op.dsp_estimation() == 0
    assert op.get_exp_cycles() == 8 * 64 + 4
    # a big layer keeps its membranes in BRAM: 16 bits x 1024 deep fits one 18x1024 BRAM_18K, and the
    # 8-bit x 1024 bias ROM one 9x2048 BRAM_18K
    assert hw_lif(1024, 1, membrane_bits=16, threshold=9).bram_estimation() == 1 + 1
    # stochastic rounding's fmix32 hash costs two 32x32 constant products per lane (3 DSP48 each)
    assert (
        hw_lif(
            64, 4, membrane_bits=12, threshold=9, leak_mode="beta", beta_int=5, beta_frac_bits=3, rounding="stochastic"
        ).dsp_estimation()
        == 24
    )


# -- verification can never be stale --------------------------------------------------------------


def test_from_refuses_a_build_folder_made_from_another_run(demo_run, ternary_stochastic_run, tmp_path):
    build(demo_run, tmp_path / "b", until="fold", verify_samples=20)
    with pytest.raises(QsnnError, match="was built from .*not from .*start from export"):
        build(ternary_stochastic_run, tmp_path / "b", start="estimate", until="estimate", verify_samples=20)


def test_from_refuses_a_retrained_run(demo_run, tmp_path):
    import shutil

    run = tmp_path / "run"
    shutil.copytree(demo_run, run)
    build(run, tmp_path / "b", until="fold", verify_samples=20)
    from toolchain.golden import GoldenModel

    g = GoldenModel.load(run / "golden.npz")  # "retrain": a different golden model, hashes updated as train does
    g.layers[0].bias = g.layers[0].bias + 1
    g.save(run / "golden.npz")
    meta = json.loads((run / "config.json").read_text())
    from toolchain.fsutil import sha256_file

    meta["files"]["golden.npz"] = sha256_file(run / "golden.npz")
    (run / "config.json").write_text(json.dumps(meta))
    with pytest.raises(QsnnError, match="was built from"):
        build(run, tmp_path / "b", start="estimate", until="estimate", verify_samples=20)


def test_from_fold_with_a_new_folding_drops_the_old_levels_and_deploys_the_new_graph(demo_run, tmp_path):
    from toolchain.deploy import deploy, extract_bundle

    out = tmp_path / "b"
    first = build(demo_run, out, until="csim", verify_samples=30, target_cycles=64)
    assert set(first["verification"]) == {"qonnx", "finn_hw", "hls_csim"}
    old_graph = first["verification"]["hls_csim"]["graph_sha256"]
    fold = {
        "MVAU_hls_0": {"PE": 1, "SIMD": 1},
        "LIFLayer_hls_0": {"PE": 1},
        "MVAU_hls_1": {"PE": 1, "SIMD": 1},
        "LIFLayer_hls_1": {"PE": 1},
    }
    (tmp_path / "fold.json").write_text(json.dumps(fold))
    second = build(
        demo_run, out, start="fold", until="estimate", verify_samples=30, folding=str(tmp_path / "fold.json")
    )
    # the C-sim result belonged to the old graph: it is gone, not carried over
    assert set(second["verification"]) == {"qonnx", "finn_hw"} and "hls_csim" not in second["verification"]
    assert not (out / "intermediate" / "07_csim.onnx").exists() and not (out / "hls").exists()
    bundle = extract_bundle(deploy(out, tmp_path / "z.zip", vectors=10), tmp_path / "u")
    stream = json.loads((bundle / "manifest.json").read_text())["stream"]
    assert stream["in_lanes"] == 1 and stream["out_lanes"] == 1  # the new folding's, not the old C-sim graph's
    third = build(demo_run, out, start="hls", until="csim", verify_samples=30)
    assert third["verification"]["hls_csim"]["mismatches"] == 0
    assert third["verification"]["hls_csim"]["graph_sha256"] != old_graph


def test_a_modified_intermediate_model_is_refused(demo_run, tmp_path):
    out = tmp_path / "b"
    build(demo_run, out, until="fold", verify_samples=20)
    f = out / "intermediate" / "04_fold.onnx"
    model = ModelWrapper(str(f))  # a valid model with one weight changed
    w = model.graph.initializer[0]
    model.set_initializer(w.name, model.get_initializer(w.name) + 1)
    model.save(str(f))
    with pytest.raises(QsnnError, match="does not match the hash recorded"):
        build(demo_run, out, start="estimate", until="estimate", verify_samples=20)
