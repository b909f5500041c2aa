"""Resource and latency estimates of a folded HW graph, without Vivado.

Per node: FINN's own estimates for FINN's ops (``node_res_estimation``, ``get_exp_cycles``: MVAU
LUT/BRAM/URAM/DSP by FINN's analytical models) and this project's documented formulas for the LIF op
(see toolchain/custom_op/fpgadataflow/lif.py). FF is reported where a model exists (the LIF op).

Timing of one inference (T time steps through a pipeline of L layers, each layer l needing c_l
cycles per time step = its expected cycles per graph run / T for dense graphs, which carry the time
axis, and its expected cycles per graph run for conv graphs, which are one time step):
    cycles_per_step      = max_l c_l                      (the bottleneck layer)
    cycles_per_inference = sum_l c_l + (T - 1) * max_l c_l (fill with frame 0, then one frame per
                                                           bottleneck interval)
    latency_us           = cycles_per_inference / f_MHz;  inferences_per_s = f / (T * max_l c_l)
"""

from __future__ import annotations

from qonnx.custom_op.registry import getCustomOp

RESOURCES = ("LUT", "FF", "BRAM_18K", "URAM", "DSP")


def node_resources(node, fpgapart: str) -> dict[str, int]:
    """One node's resources by its op's own estimate (FINN's ``node_res_estimation``): LUT, BRAM_18K, URAM, DSP."""
    res = getCustomOp(node).node_res_estimation(fpgapart)
    return {k: int(round(res.get(k, 0))) for k in ("LUT", "BRAM_18K", "URAM", "DSP")}


def modelled(node) -> bool:
    """Whether the node's op has a LUT model of its own: FINN's HWCustomOp answers 0 for ops without one (its
    FMPadding_rtl), which is no estimate, and the reports say so instead of showing 0 as a figure."""
    from finn.custom_op.fpgadataflow.hwcustomop import HWCustomOp

    return type(getCustomOp(node)).lut_estimation is not HWCustomOp.lut_estimation


def layer_estimate(node, fpgapart: str, steps: int) -> dict:
    op = getCustomOp(node)
    res = node_resources(node, fpgapart)
    cycles = int(op.get_exp_cycles())
    attrs = op.get_nodeattr_types()
    return {
        "name": node.name,
        "op": node.op_type,
        "lut": res["LUT"],
        "ff": int(op.ff_estimation()) if hasattr(op, "ff_estimation") else None,
        "bram18": res["BRAM_18K"],
        "uram": res["URAM"],
        "dsp": res["DSP"],
        "cycles_per_graph_run": cycles,
        "cycles_per_step": cycles / steps,
        "folding": {k: op.get_nodeattr(k) for k in ("PE", "SIMD") if k in attrs},
        "modelled": modelled(node),
    }


def timing(per_layer: list[dict], steps: int, clock_mhz: float) -> dict:
    c = [layer["cycles_per_step"] for layer in per_layer]
    bottleneck = max(c)
    latency = sum(c) + (steps - 1) * bottleneck
    return {
        "cycles_per_step": bottleneck,
        "cycles_per_inference": latency,
        "latency_us": latency / clock_mhz,
        "inferences_per_s": clock_mhz * 1e6 / (steps * bottleneck),
    }


def fit(totals: dict, board) -> dict:
    avail = board.resources
    used = {
        "LUT": totals["lut"],
        "FF": totals["ff"],
        "BRAM_18K": totals["bram18"],
        "URAM": totals["uram"],
        "DSP": totals["dsp"],
    }
    util = {k: (used[k] / avail[k] if avail[k] else (0.0 if not used[k] else float("inf"))) for k in RESOURCES}
    return {"available": avail, "utilization": util, "fits": all(v <= 1.0 for v in util.values())}


def estimate_model(model, cfg, steps: int) -> dict:
    from toolchain.custom_op.lif import graph_steps

    per_layer = [layer_estimate(n, cfg.board_info.part, graph_steps(model, steps)) for n in model.graph.node]
    totals = {k: sum(layer[k] or 0 for layer in per_layer) for k in ("lut", "ff", "bram18", "uram", "dsp")}
    est = {
        **totals,
        **timing(per_layer, steps, cfg.clock_mhz),
        "per_layer": per_layer,
        "ff_note": "FF counts only the LIF layers (FINN has no FF model for MVAU)",
    }
    est["fit"] = fit(totals, cfg.board_info)
    return est
