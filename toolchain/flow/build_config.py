"""Typed, JSON-serialisable build configuration (``qsnn build``), the step registry and the build state."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from pathlib import Path

from toolchain.boards import get_board
from toolchain.errors import QsnnError
from toolchain.fsutil import require_keys

UNSAFE_PATH = re.compile(r"""[\s$\[\]{}\\"';&|<>`()*?]""")
BACKENDS = ("hls", "rtl")
# the RTL synapse's modes for spike inputs, by their code (MVAUSynapse_rtl's event_driven, SynapseSpec.event)
SYNAPSE_MODES = ("dense", "event-driven", "address-event")
ADDRESS_EVENT = SYNAPSE_MODES.index("address-event")


def check_synapse_options(name: str, mode: int, spikes: bool, pe: int, out_lanes: int, rows: int) -> None:
    """An RTL synapse's output lanes (0: PE) and weight rows a cycle, the address-event core's own options, as the
    graph (UseRTLBackend) and the generator (SynapseSpec) both take them: a QsnnError naming the fix."""
    if out_lanes in (0, pe) and rows == 1:
        return
    if mode != ADDRESS_EVENT or not spikes:
        raise QsnnError(
            f"{name}: out_lanes={out_lanes} and rows={rows} are the address-event synapse's, for spike inputs; "
            "build with --backend rtl --address-event, or drop them on this layer"
        )
    if out_lanes < 0 or pe % (out_lanes or pe):
        raise QsnnError(f"{name}: out_lanes={out_lanes} must divide its PE={pe}; pick a divisor of {pe}")
    if rows not in (1, 2):
        raise QsnnError(f"{name}: rows={rows}: the address-event synapse adds 1 or 2 weight rows a cycle")


@dataclass(frozen=True)
class Step:
    """A build step, declared once: the runner, ``--from``/``--until`` and invalidation read this. Its function is
    ``step_<name>`` in toolchain/flow/steps.py."""

    name: str
    backend: str | None = None  # the backend it belongs to; None: both
    outputs: tuple[str, ...] = ()  # the build-state keys it leaves ("verification.<level>": a ladder level)
    folder: str | None = None  # the subfolder of the build folder it writes (removed when it is re-run)
    folded: bool = False  # its saved model is the folded HW graph (the one qsnn deploy bundles)

    def applies(self, backend: str) -> bool:
        return self.backend in (None, backend)


PIPELINE = (
    Step("export", outputs=("verification.qonnx", "steps_per_sample")),
    Step("streamline"),
    Step("hw", outputs=("verification.finn_hw",)),
    Step("specialize"),
    Step("fold", folded=True),
    Step("estimate", outputs=("estimate",), folded=True),
    Step("hls", "hls", ("hls_dir",), folder="hls", folded=True),
    Step("csim", "hls", ("verification.hls_csim",), folder="csim", folded=True),
    Step("rtl", "rtl", ("rtl_dir", "rtl_network"), folder="rtl", folded=True),
    Step("fifos", "rtl", ("fifos",), folded=True),
    Step("rtlsim", "rtl", ("verification.rtl_sim", "energy", "saif_path"), folded=True),
    Step("synth", "rtl", ("synthesis",), folded=True),  # after the simulation: what is counted was verified
    Step("ip", outputs=("ip_dir",)),
    Step("bitstream", outputs=("bitfile_path", "hwh_path", "reports_dir"), folder="bitstream"),
)
STEP = {s.name: s for s in PIPELINE}
STEPS = [s.name for s in PIPELINE]


@dataclass
class BuildState:
    """What a build folder records in build_state.json: the run it was made from (the run folder and the hash of
    its golden model), the steps done with their timings and the hashes of the models they saved, the ladder
    levels checked, and each step's declared outputs (``Step.outputs``; None: not made)."""

    run: dict
    steps_done: list = field(default_factory=list)
    timings: dict = field(default_factory=dict)
    models: dict = field(default_factory=dict)  # step -> sha256 of BUILD_DIR/intermediate/NN_step.onnx
    verification: dict = field(default_factory=dict)  # ladder level -> {mismatches, samples, hashes, ...}
    steps_per_sample: int | None = None
    estimate: dict | None = None
    hls_dir: str | None = None
    rtl_dir: str | None = None
    rtl_network: dict | None = None
    fifos: dict | None = None
    synthesis: dict | None = None
    energy: dict | None = None  # the activity-based estimate of an RTL build (toolchain/estimate/energy.py)
    saif_path: str | None = None  # the RTL simulation's switching (SAIF), for Vivado's report_power
    ip_dir: str | None = None
    bitfile_path: str | None = None
    hwh_path: str | None = None
    reports_dir: str | None = None

    def has(self, output: str) -> bool:
        """Whether a step's declared output is there ("verification.<level>": that ladder level)."""
        section, _, level = output.partition(".")
        return level in self.verification if section == "verification" else getattr(self, output) is not None

    def drop(self, output: str) -> None:
        section, _, level = output.partition(".")
        if section == "verification":
            self.verification.pop(level, None)
        else:
            setattr(self, output, None)

    @property
    def artifacts(self) -> dict[str, str]:
        """The folders and files the steps made: {name: path}."""
        return {k: v for k, v in self.to_dict().items() if k.endswith(("_dir", "_path"))}

    def to_dict(self) -> dict:
        return {k: v for k, v in dataclasses.asdict(self).items() if v is not None}

    @classmethod
    def from_dict(cls, d, where, fix) -> BuildState:
        """The state a build_state.json holds; a missing, unknown or mistyped record is a QsnnError naming it."""
        if not isinstance(d, dict):
            raise QsnnError(f"build state {where} is damaged (not a JSON object); {fix}")
        require_keys(d, ("run", "verification", "timings", "steps_done"), where, "build state", fix)
        unknown = sorted(set(d) - {f.name for f in dataclasses.fields(cls)})
        if unknown:
            raise QsnnError(
                f"build state {where} has unknown records {unknown} (damaged or from another version); {fix}"
            )
        kinds = {"run": dict, "steps_done": list, "timings": dict, "models": dict, "verification": dict}
        bad = [k for k, kind in kinds.items() if k in d and not isinstance(d[k], kind)]
        if bad:
            raise QsnnError(f"build state {where} is damaged ({', '.join(bad)} of the wrong type); {fix}")
        return cls(**d)


_UNDECLARED = {o for s in PIPELINE for o in s.outputs if not o.startswith("verification.")} - {
    f.name for f in dataclasses.fields(BuildState)
}
if _UNDECLARED:
    raise RuntimeError(f"steps declare outputs that BuildState does not hold: {sorted(_UNDECLARED)}")


@dataclass
class BuildConfig:
    run_dir: str
    out_dir: str
    board: str = "Pynq-Z2"
    clock_mhz: float | None = None  # None: the board's default clock
    target_cycles: int | None = None  # cycles per time step per layer; None: PE = SIMD = 1 (smallest)
    folding: str | None = None  # FINN folding JSON ({node name: {"PE": .., "SIMD": ..}})
    verify_samples: int | None = None  # None: the whole test set
    start: str = "export"
    until: str = "estimate"
    vivado: str | None = None  # the Vivado install folder, e.g. /tools/Xilinx/Vivado/2023.2 (else XILINX_VIVADO, PATH)
    name: str | None = None  # the bitstream's name (BUILD_DIR/bitstream/<name>.bit); default: the run's name
    finn_deps: str | None = None  # FINN's dependencies (finn-hlslib, board files); default: FINN's own folder
    backend: str = (
        "hls"  # hls: HLS C++ (C-sim here, Vitis HLS / Vivado for the bitstream); rtl: Verilog (sim + Yosys here)
    )
    event_driven: bool = False  # RTL backend: spike-input synapses skip silent input chunks
    address_event: bool = False  # RTL backend: spike-input synapses walk the spikes, one weight row each

    def __post_init__(self):
        self.run_dir = str(Path(self.run_dir).resolve())  # the build may be resumed or deployed from elsewhere
        self.board_info = get_board(self.board)
        self.board = self.board_info.name  # FINN's name (KV260 -> KV260_SOM)
        # FINN pastes build paths unquoted into tcl and bash scripts: refuse what those would interpret
        for what, path in (("--out", self.out_dir), ("--finn-deps", self.finn_deps), ("--vivado", self.vivado)):
            if path is not None and UNSAFE_PATH.search(str(Path(path).resolve())):
                raise QsnnError(
                    f"{what} {path!r}: FINN writes this path unquoted into tcl and shell scripts, so it may not "
                    "contain spaces or any of $ [ ] { } \\ \" ' ; & | < > ` ( ) * ?; choose a plain path"
                )
        if self.name is None:
            self.name = Path(self.run_dir).name
        if self.clock_mhz is None:
            self.clock_mhz = self.board_info.clock_mhz
        for name in ("start", "until"):
            if getattr(self, name) not in STEPS:
                raise QsnnError(f"unknown build step {getattr(self, name)!r}; steps: {', '.join(STEPS)}")
        if self.backend not in BACKENDS:
            raise QsnnError(f"--backend {self.backend!r} is not one of {', '.join(BACKENDS)}")
        if not STEP[self.until].applies(self.backend):
            other = STEP[self.until].backend
            raise QsnnError(f"--until {self.until} belongs to the {other} backend; add --backend {other}")
        if (self.event_driven or self.address_event) and self.backend != "rtl":
            flag = "--event-driven" if self.event_driven else "--address-event"
            raise QsnnError(f"{flag} is a mode of the RTL synapse; add --backend rtl")
        if self.event_driven and self.address_event:
            raise QsnnError("--event-driven and --address-event are two modes of the synapse; choose one")
        if STEPS.index(self.start) > STEPS.index(self.until):
            raise QsnnError(f"--from {self.start} comes after --until {self.until}")
        if not 1.0 <= self.clock_mhz <= 1000.0:
            raise QsnnError(f"--clock-mhz {self.clock_mhz} is out of range 1..1000")
        if self.target_cycles is not None and self.target_cycles < 1:
            raise QsnnError(f"--target-cycles {self.target_cycles} must be a positive integer")
        if self.folding is not None and not Path(self.folding).is_file():
            raise QsnnError(f"folding file {self.folding} not found")
        if self.target_cycles is not None and self.folding is not None:
            raise QsnnError("give either --target-cycles or --folding, not both")

    @property
    def synapse_mode(self) -> int:
        """The RTL synapse's mode for spike inputs, its code in SYNAPSE_MODES."""
        return (
            ADDRESS_EVENT
            if self.address_event
            else SYNAPSE_MODES.index("event-driven" if self.event_driven else "dense")
        )

    @property
    def steps(self) -> list[str]:
        """The steps from --from to --until that apply to this backend."""
        span = STEPS[STEPS.index(self.start) : STEPS.index(self.until) + 1]
        return [s for s in span if STEP[s].applies(self.backend)]

    def previous_step(self, step: str) -> str:
        """The last step before ``step`` that applies to this backend (whose saved model ``step`` starts from)."""
        return [s for s in STEPS[: STEPS.index(step)] if STEP[s].applies(self.backend)][-1]

    @property
    def out(self) -> Path:
        return Path(self.out_dir)

    def to_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
