"""Test double of PYNQ's device layer (tests only): a ``pynq.Device`` over a simulated accelerator.

Runs inside a venv with the real ``pynq`` package; only the device layer is replaced, so the driver's
pynq code path (``pynq.Overlay``, ``pynq.allocate``, ``PynqBuffer.flush/invalidate/freebuffer``,
``DefaultIP.read/write`` through ``pynq.MMIO``) runs unchanged. The device:

- keeps DMA buffers in a simulated DDR at addresses above 4 GiB (the high address word matters) and
  moves data only on ``flush`` / ``invalidate``, as a non-coherent Zynq buffer does;
- models FINN's IODMA registers (0x00 control: bit 0 start, bit 1 done, bit 2 idle; 0x10/0x14 the
  buffer address; 0x1C the sample count) for ``idma0`` and ``odma0``;
- when both DMAs are started, runs the accelerator over the input stream it finds in the simulated DDR
  (unpacked with the bundle's stream format) and writes the output stream back: the network's RTL in
  Verilator when ``SIM_RTL_DIR`` names a build's rtl/ folder (its compiled harness, obj/sim), else the
  bundle's integer model.

The "metadata" of the bitstream is this module's (no .hwh is parsed: the test bundle's .bit/.hwh are
fixtures that say so). ``SIM_NEVER_FINISH=1`` models an accelerator that never completes.
"""

import json
import os
import sys
from pathlib import Path

import numpy as np
import pynq
from pynq.buffer import PynqBuffer
from pynq.pl_server.device import Device

IDMA, ODMA = 0xA000_0000, 0xA001_0000
CTRL, ADDR_LO, ADDR_HI, COUNT = 0x00, 0x10, 0x14, 0x1C


class SimParser:
    def __init__(self):
        def ip(addr, name):
            return {
                "fullpath": name,
                "phys_addr": addr,
                "addr_range": 0x1000,
                "type": "xilinx.com:hls:idma:1.0",
                "mem_id": "s_axi_control",
                "parameters": {},
                "registers": {},
                "state": None,
                "interrupts": {},
                "gpio": {},
                "driver": pynq.DefaultIP,
                "device": None,
            }

        self.ip_dict = {"idma0": ip(IDMA, "idma0"), "odma0": ip(ODMA, "odma0")}
        self.mem_dict, self.gpio_dict, self.interrupt_pins, self.interrupt_controllers = {}, {}, {}, {}
        self.hierarchy_dict, self.clock_dict = {}, {}
        self.systemgraph = None


class SimDevice(Device):
    def __init__(self, bundle):
        super().__init__("sim0")
        self.capabilities = {"REGISTER_RW": True}
        self.bundle = Path(bundle)
        self.regs = {IDMA: {CTRL: 0x4}, ODMA: {CTRL: 0x4}}
        self.ddr = {}  # device address -> bytearray
        self.buffers = {}  # bo -> host PynqBuffer
        self.next_addr = 0x1_0000_0000
        self.allocations = self.frees = self.runs = 0
        self.downloads = []

    # -- bitstreams ---------------------------------------------------------------------------------
    def get_bitfile_metadata(self, bitfile_name, partial=False):
        return SimParser()

    def download(self, bitstream, parser=None):
        self.downloads.append(bitstream.bitfile_name)

    # -- memory -------------------------------------------------------------------------------------
    def allocate(self, shape, dtype, **kwargs):
        nbytes = int(np.prod(shape)) * np.dtype(dtype).itemsize
        addr, self.next_addr = self.next_addr, self.next_addr + ((nbytes + 4095) // 4096) * 4096
        self.ddr[addr] = bytearray(nbytes)
        buf = PynqBuffer(shape, dtype, device=self, device_address=addr, bo=addr, coherent=False)
        buf.memory, buf.pointer, buf.return_to = self, addr, self  # freebuffer() -> return_pointer()
        buf.freed = True  # after return_pointer, PYNQ's freebuffer must not munmap (no real mapping here)
        self.buffers[addr] = buf
        self.allocations += 1
        return buf

    def return_pointer(self, pointer):
        del self.ddr[pointer]
        self.buffers.pop(pointer)
        self.frees += 1

    def flush(self, bo, offset, vaddr, nbytes):
        self.ddr[bo][:] = self.buffers[bo].tobytes()

    def invalidate(self, bo, offset, vaddr, nbytes):
        host = self.buffers[bo]
        host.view(np.uint8).reshape(-1)[:] = np.frombuffer(bytes(self.ddr[bo]), np.uint8)

    def _read_ddr(self, addr, nbytes):
        base = max(a for a in self.ddr if a <= addr)
        return bytes(self.ddr[base][addr - base : addr - base + nbytes])

    def _write_ddr(self, addr, data):
        base = max(a for a in self.ddr if a <= addr)
        self.ddr[base][addr - base : addr - base + len(data)] = data

    # -- registers ----------------------------------------------------------------------------------
    def read_registers(self, address, length):
        base = IDMA if address < ODMA else ODMA
        value = self.regs[base].get(address - base, 0)
        return int(value).to_bytes(4, "little")[:length]

    def write_registers(self, address, data):
        base = IDMA if address < ODMA else ODMA
        off = address - base
        value = int.from_bytes(bytes(data), "little")
        self.regs[base][off] = value
        if off == CTRL and value & 1:
            self.regs[base][CTRL] = 0x0  # busy
            if self.regs[ODMA][CTRL] == 0 and self.regs[IDMA][CTRL] == 0 and not os.environ.get("SIM_NEVER_FINISH"):
                self._run()

    def _addr(self, base):
        return self.regs[base].get(ADDR_LO, 0) | (self.regs[base].get(ADDR_HI, 0) << 32)

    def _run(self):
        import time

        self.last_start = time.monotonic()
        sys.path.insert(0, str(self.bundle))
        from qsnn_driver.golden import GoldenModel, run_neurons
        from qsnn_driver.streams import beat_bytes, pack, unpack

        s = json.loads((self.bundle / "manifest.json").read_text())["stream"]
        model = GoldenModel.load(self.bundle / "model.npz")
        n = self.regs[IDMA][COUNT]
        assert n == self.regs[ODMA][COUNT], "idma and odma were given different sample counts"
        beats = s["steps"] * s["in_features"] // s["in_lanes"]
        data = self._read_ddr(self._addr(IDMA), n * beats * beat_bytes(s["in_lanes"], s["in_bits"]))
        packed = np.frombuffer(data, np.uint8).reshape(n, s["steps"], -1, beat_bytes(s["in_lanes"], s["in_bits"]))
        h = unpack(packed, s["in_lanes"], s["in_bits"], s["in_signed"]).reshape(
            (n, s["steps"]) + tuple(model.layers[0].in_shape)
        )
        if os.environ.get("SIM_RTL_DIR"):
            h = self._rtl(h.reshape(n, s["steps"], -1))
        else:
            for layer in model.layers:
                h = run_neurons(layer.current(h), layer.neuron)
        out = pack(h.reshape(n, s["steps"], -1, s["out_lanes"]), s.get("out_bits", 1))
        self._write_ddr(self._addr(ODMA), out.tobytes())
        self.regs[IDMA][CTRL] = self.regs[ODMA][CTRL] = 0x6  # done | idle
        self.runs += 1

    def _rtl(self, x):
        """The compiled RTL harness of the build (Verilator): int64 inputs in, int64 outputs (spikes) out."""
        import subprocess
        import tempfile

        folder = Path(os.environ["SIM_RTL_DIR"])
        with tempfile.TemporaryDirectory() as d:
            fin, fout = Path(d) / "in.bin", Path(d) / "out.bin"
            fin.write_bytes(np.ascontiguousarray(x, dtype="<i8").tobytes())
            subprocess.run(
                [str(folder / "obj" / "sim"), str(fin), str(fout), str(len(x)), "7", "10", "10"],
                check=True,
                capture_output=True,
            )
            self.rtl_runs = getattr(self, "rtl_runs", 0) + 1
            return np.frombuffer(fout.read_bytes(), "<i8").reshape(x.shape[0], x.shape[1], -1).astype(np.int64)


class SimRails:
    """PYNQ's ``get_rails()`` for a board with PMBus rails: one rail whose power reads 2.0 W idle and 2.5 W within
    50 ms of the accelerator's last start (so a window of back-to-back runs reads 2.5 W, an idle window 2.0 W)."""

    class _Power:
        def __init__(self, dev):
            self.dev = dev

        @property
        def value(self):
            import time

            return 2.5 if time.monotonic() - getattr(self.dev, "last_start", -1e9) < 0.05 else 2.0

    def __init__(self, dev):
        self.power = self._Power(dev)


def add_rails(dev):
    dev._rails = {"VCCINT": SimRails(dev)}
    pynq.get_rails = lambda: dev._rails


def install(bundle) -> SimDevice:
    dev = SimDevice(bundle)
    Device.active_device = dev
    return dev
