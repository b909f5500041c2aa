"""FIFOs between the RTL layers, their depths measured in Verilator, and FINN's FIFO nodes in the graph.

FINN sizes FIFOs by simulating the stitched IP in Vivado's simulator, which is not here. The rule used instead,
on the network's own test vectors:

1. after every layer but the last, FINN's StreamingFIFO_rtl, simulated as FINN's ``fifo_gauge`` (what its
   wrapper becomes when FINN_SIMULATION is defined: unbounded, never stalls its producer, counts its peak
   occupancy);
2. the vectors stream back to back: the interval between successive completions is the network's steady-state
   interval, set by its slowest layer, which no FIFO improves;
3. they stream again, sample k offered at cycle k * interval, so a FIFO holds what its consumer falls behind
   within that schedule and not the backlog of an input faster than the network;
4. each FIFO's depth is its peak occupancy in (3). As in FINN's InsertFIFO, a depth of 2 or less gets no FIFO
   (each layer's output register holds a beat).

The FIFOs enter the graph through FINN's InsertFIFO (the producers' outFIFODepths) and SpecializeLayers, so
CreateStitchedIP and ZynqBuild place the FIFOs the simulation ran; the Verilator top is written from that graph.
"""

from __future__ import annotations

import copy
import logging
from pathlib import Path

from qonnx.custom_op.registry import getCustomOp

from toolchain.estimate.hardware import node_resources
from toolchain.rtl.generate import is_fifo, write_network
from toolchain.rtl.sim import build, measure

GAUGE_DEPTH = 1 << 16  # the attribute of the gauged FIFOs (the gauge itself is unbounded)
SHALLOW = 2  # FINN's InsertFIFO creates no FIFO this shallow


def interior_producers(model) -> list[str]:
    """The nodes whose output feeds another node: where a FIFO can go."""
    return [n.name for n in model.graph.node if model.find_consumer(n.output[0]) is not None]


def with_fifos(model, depths: dict[str, int], part: str):
    """A copy of ``model`` with FINN's StreamingFIFO_rtl after each node named in ``depths`` deeper than SHALLOW."""
    from finn.transformation.fpgadataflow.insert_fifo import InsertFIFO
    from finn.transformation.fpgadataflow.specialize_layers import SpecializeLayers
    from qonnx.transformation.general import GiveUniqueNodeNames

    m = copy.deepcopy(model)
    for node in m.graph.node:
        if node.name in depths:
            getCustomOp(node).set_nodeattr("outFIFODepths", [int(depths[node.name])])
    finn_log = logging.getLogger("finn_logger")  # InsertFIFO warns of each depth-2 FIFO it leaves out, as asked
    level = finn_log.level
    finn_log.setLevel(logging.ERROR)
    try:
        m = m.transform(InsertFIFO(create_shallow_fifos=False))
    finally:
        finn_log.setLevel(level)
    m = m.transform(SpecializeLayers(part)).transform(GiveUniqueNodeNames())
    if part.startswith("xc7"):  # 7-series parts have no URAM, which FINN's fifo.sv ladder picks for deep FIFOs
        for node in m.graph.node:
            op = getCustomOp(node)
            if node.op_type.startswith("StreamingFIFO") and op.get_ram_style() == "ultra":
                op.set_nodeattr("ram_style", "block")
    return m


def size_fifos(model, folder: Path, x, event: int, part: str) -> tuple[object, dict]:
    """Measure the depths (the rule above) on inputs ``x`` (N, T, F) in ``folder``; returns the model with
    its FIFOs and the record: each FIFO's producer, consumer, peak and depth, and the intervals."""
    producers = interior_producers(model)
    gauged = with_fifos(model, dict.fromkeys(producers, GAUGE_DEPTH), part)
    net = write_network(gauged, folder, event, defines=["FINN_SIMULATION"], part=part)
    binary = build(folder, net)
    figures, free, paced = measure(binary, net, x)
    interval = figures["interval_cycles"]
    fifo_nodes = [n for n in gauged.graph.node if is_fifo(n)]
    edges = {}
    for node, peak, peak_free in zip(fifo_nodes, paced["fifo_maxcount"], free["fifo_maxcount"]):
        producer, consumer = gauged.find_producer(node.input[0]), gauged.find_consumer(node.output[0])
        edges[producer.name] = {
            "consumer": consumer.name,
            "peak": int(peak),
            "peak_back_to_back": int(peak_free),
            "depth": int(peak) if peak > SHALLOW else 0,
        }
    record = {
        "rule": "peak occupancy of FINN's fifo_gauge with the samples paced at the network's interval; "
        f"none where it is {SHALLOW} or less",
        "samples": int(len(x)),
        "interval_cycles": interval,
        "edges": edges,
    }
    model = with_fifos(model, {name: e["depth"] for name, e in edges.items() if e["depth"]}, part)
    for node in filter(is_fifo, model.graph.node):  # what each FIFO costs, as FINN estimates it (Yosys cannot read it)
        edges[model.find_producer(node.input[0]).name]["estimate"] = node_resources(node, part)
    return model, record
