"""SNNAccelerator: run a deployed spiking network on a PYNQ board, or emulate it bit-exactly.

One generic driver for every board (boards are data in the bundle's manifest). numpy only; ``pynq``
is imported lazily by the ``pynq`` backend. The ``emulate`` backend runs the bundled integer model
behind the same API: same input checks, same encoding, same stream packing, same readout.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
import zipfile
import zlib
from pathlib import Path

import numpy as np

from .golden import GoldenModel, QsnnError, readout
from .streams import beat_bytes, pack, unpack


class DriverError(ValueError):
    """Bad input, a bundle that does not fit, or a board that does not match."""


def file_sha256(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


class SNNAccelerator:
    """Entry point. ``SNNAccelerator(bundle_folder, backend="pynq" | "emulate")``."""

    def __init__(self, bundle_folder=".", backend="pynq", timeout_s=10.0):
        if backend not in ("pynq", "emulate"):
            raise DriverError(f"backend {backend!r} is not 'pynq' or 'emulate'")
        if not (isinstance(timeout_s, (int, float)) and 0 < timeout_s < 1e6):
            raise DriverError(f"timeout_s={timeout_s!r} must be a positive number of seconds")
        self.folder = Path(bundle_folder).resolve()
        self.manifest = _read_manifest(self.folder)
        _check_files(self.folder, self.manifest)
        try:
            self.model = GoldenModel.load(self.folder / self.manifest["model_file"])
        except QsnnError as e:
            raise DriverError(str(e)) from None
        self.stream = _check_stream(self.manifest["stream"], self.model)
        self.backend = backend
        self._hw = None
        self._closed = False
        if backend == "pynq":
            self._hw = _PynqBackend(self.folder, self.manifest, timeout_s)

    # -- data path ------------------------------------------------------------------------------------
    @property
    def input_shape(self):
        return tuple(self.model.input_shape)

    def check_input(self, x) -> np.ndarray:
        x = np.asarray(x)
        if x.ndim == len(self.input_shape):
            x = x[None]
        if tuple(x.shape[1:]) != self.input_shape:
            raise DriverError(
                f"input shape {tuple(x.shape)} does not match (N, {', '.join(map(str, self.input_shape))})"
            )
        if not np.issubdtype(x.dtype, np.integer):
            raise DriverError(
                f"input dtype {x.dtype} is not an integer type; pass the raw integer samples "
                f"({'int' if self.model.input_signed else 'uint'}{self.model.input_bits})"
            )
        try:
            return self.model.check_input(x)
        except QsnnError as e:
            raise DriverError(str(e)) from None

    def encode(self, x) -> np.ndarray:
        """(N, *input_shape) integers -> (N, T, features) exactly as the toolchain encodes them."""
        enc = self.model.encode(self.check_input(x))
        return enc.reshape(enc.shape[0], enc.shape[1], int(np.prod(enc.shape[2:])))  # -1 fails on N = 0

    def pack_input(self, encoded) -> np.ndarray:
        s = self.stream
        beats = encoded.reshape(encoded.shape[0], encoded.shape[1], -1, s["in_lanes"])
        return pack(beats, s["in_bits"])

    def unpack_output(self, data, n) -> np.ndarray:
        """The output stream -> (N, T, classes): spikes, or an LI readout layer's membrane (``out_bits`` > 1)."""
        s = self.stream
        bits, lanes = s["out_bits"], s["out_lanes"]
        outs = unpack(data.reshape(n, self.model.steps, -1, beat_bytes(lanes, bits)), lanes, bits, s["out_signed"])
        return outs.reshape(n, self.model.steps, -1)

    def execute(self, x) -> np.ndarray:
        """Class scores (N, classes) for integer inputs x: the model's readout (spike counts unless it says
        otherwise) of the accelerator's output stream, decoded by the golden model's own ``readout``."""
        if self._closed:
            raise DriverError("this SNNAccelerator is closed; create a new one")
        enc = self.encode(x)
        if len(enc) == 0:  # an empty batch: nothing to stream, an empty result
            return np.zeros((0, int(np.prod(self.model.layers[-1].out_shape))), dtype=np.int64)
        packed = self.pack_input(enc)
        out = self._hw.run(packed, len(enc)) if self._hw else self._emulate(packed, len(enc))
        return readout(self.unpack_output(out, len(enc)), self.model.readout)

    def predict(self, x) -> np.ndarray:
        return np.argmax(self.execute(x), axis=1)  # ties to the lowest index

    def _emulate(self, packed, n):
        """What the accelerator computes, from the packed input stream to the packed output stream."""
        s = self.stream
        enc = unpack(packed, s["in_lanes"], s["in_bits"], s["in_signed"]).reshape(n, self.model.steps, -1)
        h = enc.reshape((n, self.model.steps) + tuple(self.model.layers[0].in_shape))
        for layer in self.model.layers:
            h = layer.output(_lif(layer.current(h), layer.neuron))
        outs = h.reshape(n, self.model.steps, -1, s["out_lanes"])
        return pack(outs, s["out_bits"])

    # -- checks and figures -----------------------------------------------------------------------------
    def _vectors(self):
        """(x, expected counts, labels) of the bundled golden vectors (hash-checked when the driver opened)."""
        try:
            with np.load(self.folder / "test_vectors.npz", allow_pickle=False) as v:
                x, counts, labels = v["x"], v["counts"], v["labels"]
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, zlib.error) as e:
            raise DriverError(f"test_vectors.npz is damaged ({type(e).__name__}); re-create the bundle") from None
        n_out = int(np.prod(self.model.layers[-1].out_shape))
        if len(x) == 0 or counts.shape != (len(x), n_out) or labels.shape != (len(x),):
            raise DriverError("test_vectors.npz does not fit the bundled model; re-create the bundle")
        return x, counts, labels

    def self_test(self) -> int:
        """Run the bundled golden vectors; returns the number of samples whose class scores differ."""
        x, expected, _ = self._vectors()
        return int(np.sum(np.any(self.execute(x) != expected, axis=1)))

    def accuracy(self) -> float:
        x, _, labels = self._vectors()
        return float(np.mean(self.predict(x) == labels))

    def benchmark(self, batch=100, repeats=5) -> dict:
        if not (isinstance(batch, int) and batch >= 1 and isinstance(repeats, int) and repeats >= 1):
            raise DriverError(f"benchmark(batch={batch!r}, repeats={repeats!r}): both must be positive integers")
        x = self._vectors()[0][:batch]
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            self.execute(x)
            times.append(time.perf_counter() - t0)
        best = min(times)
        return {
            "backend": self.backend,
            "batch": len(x),
            "latency_ms_per_batch": best * 1e3,
            "latency_us_per_inference": best / len(x) * 1e6,
            "inferences_per_s": len(x) / best,
            "estimated_latency_us": (self.manifest.get("estimate") or {}).get("latency_us"),
        }

    def resource_report(self) -> list[dict]:
        """Vivado's utilization (when the bundle has the report) beside the toolchain's estimate."""
        est = self.manifest.get("estimate") or {}
        measured = _parse_utilization(self._utilization_report())
        rows = []
        for key, name in (("lut", "LUT"), ("ff", "FF"), ("bram18", "BRAM_18K"), ("uram", "URAM"), ("dsp", "DSP")):
            rows.append(
                {
                    "resource": name,
                    "estimate": est.get(key),
                    "vivado": measured.get(name),
                    "available": (self.manifest.get("board_resources") or {}).get(name),
                }
            )
        return rows

    def _utilization_report(self):
        """Vivado's post-route utilization report as FINN's Zynq project leaves it (impl_1 run)."""
        for name in self.manifest.get("reports") or []:
            if name.endswith("utilization_placed.rpt"):
                return self.folder / "reports" / name
        return self.folder / "reports" / "missing.rpt"

    def energy(self, meter=None, batch=100, idle_s=2.0, active_s=5.0, interval_s=0.05, power_w=None) -> dict:
        """Measured energy per inference, as the CSE237C report measured it: the board's power over an idle window,
        then over an inference window (``batch`` samples at a time, repeated for ``active_s``); energy per inference
        = (active - idle power) x the time per inference, with its spread over the repeats.

        The power comes from PYNQ's rails (summed, sampled every ``interval_s`` in a thread; boards with PMBus rails,
        the manifest's power_rails: ZCU102, ZCU104, ZCU111), or ``power_w`` (a callable returning watts: another
        sensor), or, on boards without rails (Pynq-Z1/Z2), an external meter's readings ``meter={"idle_w": ...,
        "active_w": ...}`` (the report's USB meter: 2.375 W idle); then only the inference time is measured here."""
        source = "the power_w sensor given, sampled by the driver"
        if meter is None and power_w is None:
            rails = self.power()
            if not rails["available"]:
                raise DriverError(
                    f"no power readings: {rails['why']}; pass an external meter's readings, e.g. energy(meter="
                    "{'idle_w': 2.375, 'active_w': 2.61}), read between the supply and the board"
                )
            power_w, source = self._hw.total_power_w, "PYNQ's power rails, summed, sampled by the driver"
        for name, v in (("batch", batch), ("idle_s", idle_s), ("active_s", active_s), ("interval_s", interval_s)):
            if not (isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0):
                raise DriverError(f"energy({name}={v!r}): must be a positive number")
        x = self._vectors()[0][: int(batch)]
        if meter is not None:
            idle, active = _meter_watts(meter)
            idle_samples, active_samples = np.array([idle]), np.array([active])
            per_inference = self._inference_times(x, active_s)
            source = "external meter readings (idle and active watts given), inference time measured by the driver"
        else:
            idle_samples = _sample(power_w, idle_s, interval_s)
            per_inference, active_samples = self._inference_times(x, active_s, power_w, interval_s)
        idle, active = float(np.mean(idle_samples)), float(np.mean(active_samples))
        energy_uj = (active - idle) * per_inference * 1e6  # W x s -> uJ
        return {
            "source": source,
            "idle_w": idle,
            "active_w": active,
            "dynamic_w": active - idle,
            "latency_us_per_inference": float(np.median(per_inference) * 1e6),
            "energy_uj_per_inference": float(np.median(energy_uj)),
            "energy_uj_spread": [float(energy_uj.min()), float(energy_uj.max())],
            "repeats": int(len(per_inference)),
            "power_trace_w": {"idle": idle_samples.tolist(), "active": active_samples.tolist()},
        }

    def _inference_times(self, x, active_s, power_w=None, interval_s=0.05):
        """Seconds per inference of each repeat of ``x`` over ``active_s`` seconds (and, with ``power_w``, the power
        sampled meanwhile)."""
        times, sampler = [], _Sampler(power_w, interval_s) if power_w is not None else None
        end = time.monotonic() + active_s
        with sampler or contextlib.nullcontext():
            while not times or time.monotonic() < end:
                t0 = time.perf_counter()
                self.execute(x)
                times.append((time.perf_counter() - t0) / len(x))
        times = np.array(times)
        return times if sampler is None else (times, np.array(sampler.samples or [power_w()]))

    def power(self) -> dict:
        if not self.manifest.get("power_rails"):
            return {"available": False, "why": f"{self.manifest['board']} has no PMBus rails PYNQ can read"}
        if self.backend != "pynq":
            return {"available": False, "why": "power rails are read on the board (backend='pynq')"}
        return self._hw.power()

    def close(self):
        self._closed = True
        if self._hw is not None:
            hw, self._hw = self._hw, None
            hw.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _inside(folder: Path, name) -> Path:
    """A path named by the manifest, confined to the bundle folder."""
    if not isinstance(name, str) or not name:
        raise DriverError(f"manifest names a file as {name!r}; re-create the bundle with 'qsnn deploy'")
    path = (folder / name).resolve()
    if not path.is_relative_to(folder):
        raise DriverError(f"manifest names {name!r}, outside the bundle {folder}; refusing it")
    return path


def _read_manifest(folder: Path) -> dict:
    path = folder / "manifest.json"
    if not path.is_file():
        raise DriverError(f"{path} not found: point SNNAccelerator at an unpacked qsnn bundle")
    try:
        m = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise DriverError(f"{path} is damaged ({type(e).__name__}); re-create the bundle with 'qsnn deploy'") from None
    need = ("model_file", "model_sha256", "files", "stream", "board")
    if not isinstance(m, dict) or any(k not in m for k in need) or not isinstance(m["files"], dict):
        raise DriverError(f"{path} lacks {', '.join(need)}; re-create the bundle with 'qsnn deploy'")
    return m


def _check_files(folder: Path, manifest: dict) -> None:
    """Every file the manifest lists exists inside the bundle with its recorded hash, and every file the
    driver reads (model, test vectors, bitstream, .hwh, reports) is listed."""
    files = manifest["files"]
    needed = [manifest["model_file"], "test_vectors.npz"]
    if manifest.get("bitfile"):
        needed += [manifest["bitfile"], str(Path(manifest["bitfile"]).with_suffix(".hwh"))]
    needed += [f"reports/{r}" for r in manifest.get("reports") or []]
    for name in needed:
        if not _inside(folder, name).is_file():
            raise DriverError(f"{name} is missing from the bundle {folder}; re-create it with 'qsnn deploy'")
        if name not in files:
            raise DriverError(
                f"{name} is not listed with a hash in the manifest; re-create the bundle with 'qsnn deploy'"
            )
    for name, digest in files.items():
        path = _inside(folder, name)
        if not path.is_file():
            raise DriverError(f"{name} is missing from the bundle {folder}; re-create it with 'qsnn deploy'")
        if file_sha256(path) != digest:
            raise DriverError(
                f"{name} does not match its hash in the manifest: the bundle mixes files from another model or was "
                "modified; re-create it with 'qsnn deploy'"
            )
    if files[manifest["model_file"]] != manifest["model_sha256"]:
        raise DriverError("the manifest's model hash disagrees with its file list; re-create the bundle")


def _check_stream(s, model) -> dict:
    """The stream format must describe this model's input and output (else packing would misread them)."""
    keys = ("in_bits", "in_signed", "in_lanes", "in_features", "out_lanes", "out_features", "steps")
    if isinstance(s, dict):
        s = {"out_bits": 1, "out_signed": False, **s}  # bundles from before readouts: 1-bit spikes
    if not isinstance(s, dict) or any(not isinstance(s.get(k), (int, bool)) for k in (*keys, "out_bits", "out_signed")):
        raise DriverError(f"the manifest's stream format {s!r} is incomplete; re-create the bundle")
    n_in, n_out = int(np.prod(model.input_shape)), int(np.prod(model.layers[-1].out_shape))
    ok = (
        s["in_features"] == n_in
        and s["out_features"] == n_out
        and s["steps"] == model.steps
        and 1 <= s["in_bits"] <= 32
        and s["in_lanes"] >= 1
        and s["out_lanes"] >= 1
        and n_in % s["in_lanes"] == 0
        and n_out % s["out_lanes"] == 0
        and s["out_bits"] == model.layers[-1].neuron.model.out_bits(model.layers[-1].neuron)
    )
    if not ok:
        raise DriverError(f"the manifest's stream format {s} does not fit the bundled model; re-create the bundle")
    return s


def _lif(current, params):
    from .golden import run_neurons

    return run_neurons(current, params)


def _parse_utilization(path) -> dict:
    """LUT / FF / BRAM / DSP 'Used' columns of a Vivado utilization report, if present."""
    if not Path(path).is_file():
        return {}
    found = {}
    names = {
        "Slice LUTs": "LUT",
        "CLB LUTs": "LUT",
        "Slice Registers": "FF",
        "CLB Registers": "FF",
        "Block RAM Tile": "BRAM_18K",
        "URAM": "URAM",
        "DSPs": "DSP",
    }
    for line in Path(path).read_text().splitlines():
        cells = [c.strip() for c in line.split("|")]
        if len(cells) > 3 and cells[1] in names and names[cells[1]] not in found:
            try:
                used = float(cells[2])
            except ValueError:
                continue
            found[names[cells[1]]] = used * 2 if cells[1] == "Block RAM Tile" else used  # tiles are 36K
    return found


class _PynqBackend:
    """The overlay, its IODMAs and DMA buffers (allocated once per batch size, reused); close() frees all."""

    def __init__(self, folder: Path, manifest: dict, timeout_s: float):
        bit = folder / (manifest.get("bitfile") or "missing.bit")
        hwh = bit.with_suffix(".hwh")
        if not manifest.get("bitfile") or not bit.is_file():
            raise DriverError(
                "this bundle has no bitstream (built without Vivado); run 'make bitstream' on a "
                "machine with Vivado and deploy again, or use backend='emulate'"
            )
        if not hwh.is_file():
            raise DriverError(f"{hwh.name} is missing beside {bit.name}: PYNQ needs the hardware handoff file")
        try:
            import pynq
        except ImportError:
            raise DriverError(
                "backend='pynq' needs the pynq package (on a PYNQ board); use backend='emulate' off-board"
            ) from None
        check_board(manifest, os.environ.get("BOARD"))
        self.pynq = pynq
        self.timeout_s = timeout_s
        self.buffers = {}  # batch size -> (input buffer, output buffer)
        s = manifest["stream"]
        beat = beat_bytes(s["out_lanes"], s.get("out_bits", 1))
        self.out_bytes_per_sample = s["steps"] * (s["out_features"] // s["out_lanes"]) * beat
        self.overlay = pynq.Overlay(str(bit))
        try:
            self.idma, self.odma = self.overlay.idma0, self.overlay.odma0
        except AttributeError:
            self.close()
            raise DriverError(f"{bit.name} has no idma0/odma0 (FINN's IODMAs): not a qsnn/FINN bitstream") from None

    def _buffers(self, shape, n):
        if n not in self.buffers:
            ibuf = self.pynq.allocate(shape=shape, dtype=np.uint8)
            try:
                obuf = self.pynq.allocate(shape=(n * self.out_bytes_per_sample,), dtype=np.uint8)
            except BaseException:
                ibuf.freebuffer()
                raise
            self.buffers[n] = (ibuf, obuf)
        return self.buffers[n]

    def run(self, packed: np.ndarray, n: int) -> np.ndarray:
        """FINN IODMA protocol (as FINN's driver_base): address at 0x10/0x14, count at 0x1C, start at 0x00."""
        ibuf, obuf = self._buffers(packed.shape, n)
        if self.odma.read(0x00) & 0x4 == 0:
            raise DriverError("the output DMA is not idle (a previous run did not finish); reload the overlay")
        ibuf[:] = packed
        ibuf.flush()
        for dma, buf in ((self.odma, obuf), (self.idma, ibuf)):  # output first, as FINN's driver_base
            dma.write(0x10, buf.device_address & 0xFFFFFFFF)
            dma.write(0x14, (buf.device_address >> 32) & 0xFFFFFFFF)
            dma.write(0x1C, n)
            dma.write(0x00, 1)
        deadline = time.monotonic() + self.timeout_s
        while (self.odma.read(0x00) & 0x2) == 0:
            if time.monotonic() > deadline:
                raise DriverError(
                    f"the accelerator did not finish {n} samples within {self.timeout_s} s (output DMA never "
                    "reported done); check the bitstream matches this bundle, then reload the overlay"
                )
        obuf.invalidate()
        return np.array(obuf)

    def total_power_w(self) -> float:
        """The sum of the board's rails' power now (W)."""
        return float(sum(v for v in self.power()["rails_w"].values()))

    def power(self) -> dict:
        rails = self.pynq.get_rails()
        return {
            "available": True,
            "rails_w": {
                name: rail.power.value for name, rail in rails.items() if getattr(rail, "power", None) is not None
            },
        }

    def close(self):
        buffers, self.buffers = self.buffers, {}
        try:
            for bufs in buffers.values():
                for b in bufs:
                    b.freebuffer()
        finally:
            if getattr(self, "overlay", None) is not None:
                overlay, self.overlay = self.overlay, None
                overlay.free()


def _meter_watts(meter) -> tuple[float, float]:
    try:
        idle, active = float(meter["idle_w"]), float(meter["active_w"])
    except (TypeError, KeyError, ValueError):
        raise DriverError(
            f"meter={meter!r}: give the meter's readings as {{'idle_w': W, 'active_w': W}} (watts)"
        ) from None
    if not (0 < idle <= active < 1000):
        raise DriverError(f"meter readings idle {idle} W, active {active} W: need 0 < idle <= active (watts)")
    return idle, active


def _sample(power_w, seconds: float, interval_s: float) -> np.ndarray:
    """Power readings every ``interval_s`` for ``seconds`` (at least one)."""
    out, end = [], time.monotonic() + seconds
    while not out or time.monotonic() < end:
        out.append(float(power_w()))
        time.sleep(interval_s)
    return np.array(out)


class _Sampler:
    """Reads ``power_w`` every ``interval_s`` in a thread while the inference window runs."""

    def __init__(self, power_w, interval_s):
        import threading

        self.power_w, self.interval_s, self.samples = power_w, interval_s, []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self):
        while not self.stop.is_set():
            self.samples.append(float(self.power_w()))
            self.stop.wait(self.interval_s)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()


def _norm(name: str) -> str:
    return "".join(c for c in name.lower() if c.isalnum())


def check_board(manifest: dict, board_env: str | None) -> None:
    """PYNQ images name their board in the BOARD environment variable; it must be one this build targets."""
    ids = manifest.get("pynq_ids") or [manifest["board"]]
    if board_env is None:
        raise DriverError(
            "the BOARD environment variable is not set (PYNQ images set it to the board's name); "
            f"this bitstream is for {manifest['board']}: set BOARD={ids[0]} if that is this board"
        )
    if _norm(board_env) not in {_norm(i) for i in ids}:
        raise DriverError(f"this bitstream is for {manifest['board']} ({', '.join(ids)}), but BOARD={board_env}")
