"""cocotb test (runs inside the simulator): the generated network driven through cocotbext-axi AXI-Stream
source and sink with random pauses on both sides (backpressure), its spike counts against the golden
counts the pytest side wrote to QSNN_COCOTB_VECTORS (JSON: packed input beats in hex, expected counts)."""

import json
import os
import random

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles
from cocotbext.axi import AxiStreamBus, AxiStreamFrame, AxiStreamSink, AxiStreamSource


def pauses(seed, percent):
    rng = random.Random(seed)
    while True:
        yield rng.randrange(100) < percent


@cocotb.test()
async def network_under_backpressure(dut):
    with open(os.environ["QSNN_COCOTB_VECTORS"]) as f:
        v = json.load(f)
    beats, expected, out_lanes = [int(b, 16) for b in v["beats"]], np.array(v["counts"]), v["out_lanes"]
    n, steps, out_beats = expected.shape[0], v["steps"], v["out_beats"]
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    # one lane per beat: the streams are not byte-organised (a beat is SIMD inputs or PE spikes)
    bus_in, bus_out = AxiStreamBus.from_prefix(dut, "s_axis"), AxiStreamBus.from_prefix(dut, "m_axis")
    source = AxiStreamSource(bus_in, dut.clk, dut.rst_n, reset_active_level=False, byte_lanes=1)
    sink = AxiStreamSink(bus_out, dut.clk, dut.rst_n, reset_active_level=False, byte_lanes=1)
    source.set_pause_generator(pauses(1, 30))
    sink.set_pause_generator(pauses(2, 30))
    dut.rst_n.value = 0
    await ClockCycles(dut.clk, 4)
    dut.rst_n.value = 1
    await source.send(AxiStreamFrame(beats))
    got = []
    while len(got) < n * steps * out_beats:
        frame = await sink.recv()
        got += [int(w) for w in frame.tdata]
    spikes = np.array([[(w >> p) & 1 for p in range(out_lanes)] for w in got]).reshape(n, steps, -1)
    counts = spikes.sum(axis=1)
    mismatches = int(np.sum(np.any(counts != expected, axis=1)))
    dut._log.info(f"{n} samples, {mismatches} mismatches")
    assert mismatches == 0
