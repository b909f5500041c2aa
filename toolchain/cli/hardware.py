"""`qsnn build`, `qsnn cosim` and `qsnn deploy`: a run lowered to hardware, its HLS nodes through Vitis HLS, and
the bundle for the board."""

from __future__ import annotations

from toolchain import argtypes
from toolchain.fsutil import check_output

from .common import add_trust_pickle

LEVEL4_WHERE = {"cpp": "C++", "verilator": "Verilator", "python": "Python"}  # verification.hls_csim.nodes


def cmd_build(a):
    from toolchain.flow.build_config import BuildConfig
    from toolchain.flow.runner import run_build

    check_output(a.out, "--out")
    cfg = BuildConfig(
        run_dir=a.run_dir,
        out_dir=a.out,
        board=a.board,
        clock_mhz=a.clock_mhz,
        target_cycles=a.target_cycles,
        folding=a.folding,
        verify_samples=a.verify_samples,
        start=getattr(a, "from"),
        until=a.until,
        vivado=a.vivado,
        name=a.name,
        finn_deps=a.finn_deps,
        backend=a.backend,
        event_driven=a.event_driven,
        address_event=a.address_event,
    )
    report = run_build(cfg)
    est = report.get("estimate")
    if est:
        print(
            f"{report['board']} @ {report['clock_mhz']} MHz: LUT {est['lut']:,}  BRAM_18K {est['bram18']}  "
            f"DSP {est['dsp']}  latency {est['latency_us']:.2f} us  {est['inferences_per_s']:,.0f} inf/s  "
            f"fits: {'yes' if est['fit']['fits'] else 'NO'}"
        )
    for name, v in report["verification"].items():
        where = v.get("nodes", {})
        ran = {shown: list(where.values()).count(kind) for kind, shown in LEVEL4_WHERE.items()}
        ran = "; nodes: " + ", ".join(f"{n} in {shown}" for shown, n in ran.items() if n) if where else ""
        print(f"verification {name}: {v['mismatches']} mismatches over {v['samples']} samples{ran}")
    if report.get("synthesis"):
        n = report["synthesis"]["network"]
        print(
            f"Yosys (post-synthesis, no place & route): LUT {n['LUT']:,}  FF {n['FF']:,}  LUTRAM {n['LUTRAM']}  "
            f"RAMB18 {n['RAMB18']}  RAMB36 {n['RAMB36']}  DSP48E1 {n['DSP48E1']}"
        )
    print(f"report: {cfg.out / 'report.md'}")
    return 0 if all(v["mismatches"] == 0 for v in report["verification"].values()) else 1


def cmd_cosim(a):
    from toolchain.hls.cosim import find_hls, run_cosim

    if a.check:
        tools = find_hls(a.vivado)
        print(f"Vitis HLS found: {tools.hls / 'bin' / tools.hls_command} (Vivado {tools.vivado})")
        return 0
    if a.build_dir is None:
        from toolchain.errors import QsnnError

        raise QsnnError("qsnn cosim: give BUILD_DIR (a build that 'qsnn build RUN --out BUILD_DIR --until hls' wrote)")
    report = run_cosim(a.build_dir, a.vivado, [s for s in a.stages.split(",") if s])
    for name, n in report["nodes"].items():
        status = "ok" if n["ok"] else f"FAILED (exit {n['exit_code']})"
        print(f"{name}: {status}, {n['mismatches']} mismatches over {n['testbench_runs']} testbench runs; {n['log']}")
    print(f"{report['tool']}: {'all passed' if report['passed'] else 'FAILED'}; {a.build_dir}/cosim.json")
    return 0 if report["passed"] else 1


def cmd_deploy(a):
    from toolchain.deploy import deploy

    check_output(a.out, "--out", "file")
    out = deploy(a.build_dir, a.out, vectors=a.vectors)
    print(
        f"wrote {out}: unzip it on the board, then open notebooks/qsnn_on_board.ipynb, or in Python: "
        "from qsnn_driver import SNNAccelerator"
    )
    return 0


def cmd_doctor(a):
    import json

    from toolchain.doctor import as_json, checks

    rows = checks(a.vivado, a.finn_deps)
    if a.json:
        print(json.dumps(as_json(rows)))
        return 0
    width = max(len(r.what) for r in rows)
    for r in rows:
        print(f"{'yes' if r.ok else 'no ':<4}{r.what:<{width}}  {r.found}")
        print(f"{'':<4}{'':<{width}}  enables: {r.enables}")
        if r.fix:
            print(f"{'':<4}{'':<{width}}  {'to get it' if not r.ok else 'note'}: {r.fix}")
    return 0


def add(sub) -> None:
    from toolchain.flow.build_config import STEPS

    dr = sub.add_parser(
        "doctor",
        help="what this machine has for each stage (tools, FINN's dependencies, a GPU) and how to get the rest",
    )
    dr.add_argument("--vivado", default=None, help="the Vivado install folder to check (else XILINX_VIVADO, PATH)")
    dr.add_argument("--finn-deps", default=None, help="FINN's dependency folder to check (else FINN's default)")
    dr.add_argument("--json", action="store_true", help="print the rows as one JSON list")
    dr.set_defaults(func=cmd_doctor)

    b = sub.add_parser("build", help="lower a run through FINN: HW graph, folding, estimates, HLS, C-sim, bitstream")
    b.add_argument("run_dir")
    b.add_argument("--out", required=True, help="build directory")
    b.add_argument(
        "--board",
        default="Pynq-Z2",
        help="a board of FINN's Zynq flow: Pynq-Z1, Pynq-Z2, Ultra96(-V2), ZCU102, ZCU104, ZCU111, RFSoC2x2, "
        "RFSoC4x2, KV260_SOM (or KV260), AUP-ZU3_8GB (or AUP-ZU3) (default Pynq-Z2)",
    )
    b.add_argument("--until", default="estimate", choices=STEPS, help="last step (default estimate)")
    b.add_argument("--from", default="export", choices=STEPS, help="resume from this step")
    b.add_argument("--target-cycles", type=int, default=None, help="folding target: cycles per time step per layer")
    b.add_argument("--folding", default=None, help="FINN folding JSON: {node: {PE: .., SIMD: ..}}")
    b.add_argument("--clock-mhz", type=float, default=None, help="clock (default: the board's)")
    b.add_argument(
        "--verify-samples",
        type=argtypes.positive_int,
        default=None,
        help="verify on this many test samples (default all)",
    )
    add_trust_pickle(b)
    b.add_argument(
        "--vivado",
        default=None,
        help="the Vivado install folder, e.g. /tools/Xilinx/Vivado/2023.2; Vitis HLS is found beside it "
        "(default: XILINX_VIVADO, then vivado on PATH)",
    )
    b.add_argument(
        "--finn-deps",
        default=None,
        help="FINN's dependencies (finn-hlslib, board files) as 'finn deps update' fetches them "
        "(default: FINN's own folder)",
    )
    b.add_argument("--name", default=None, help="BUILD_DIR/bitstream/<name>.bit (default: the run directory's name)")
    b.add_argument(
        "--backend",
        default="hls",
        choices=("hls", "rtl"),
        help="hls: HLS C++ (C-sim here; Vitis HLS and Vivado for the bitstream); rtl: this project's Verilog "
        "(Verilator simulation and Yosys counts here; steps rtl, synth, rtlsim) (default hls)",
    )
    b.add_argument(
        "--event-driven",
        action="store_true",
        help="RTL backend: spike-input synapses skip silent input chunks (cycles follow the spike activity)",
    )
    b.add_argument(
        "--address-event",
        action="store_true",
        help="RTL backend: spike-input synapses walk the frame's spikes one by one, adding each spike's weight row "
        "(weights laid out by input row; cycles follow the number of spikes)",
    )
    b.set_defaults(func=cmd_build)

    c = sub.add_parser(
        "cosim", help="Vitis HLS csim, csynth and C/RTL co-simulation of every HLS node of a build (--until hls)"
    )
    c.add_argument("build_dir", nargs="?", help="a build directory that 'qsnn build ... --until hls' (or later) wrote")
    c.add_argument(
        "--stages", default="csim,csynth,cosim", help="comma-separated, of csim, csynth, cosim (default all three)"
    )
    c.add_argument("--vivado", default=None, help="the Vivado install folder (as for build); Vitis HLS beside it")
    c.add_argument("--check", action="store_true", help="only check that Vitis HLS is found (exit 2 naming it if not)")
    c.set_defaults(func=cmd_cosim)

    dp = sub.add_parser("deploy", help="bundle driver, model, golden vectors, notebook (and bitstream) into a zip")
    dp.add_argument("build_dir")
    dp.add_argument("--out", required=True, help="the .zip to write")
    dp.add_argument(
        "--vectors", type=argtypes.positive_int, default=300, help="golden test vectors to bundle (default 300)"
    )
    add_trust_pickle(dp)
    dp.set_defaults(func=cmd_deploy)
