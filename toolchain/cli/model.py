"""`qsnn train`, `eval`, `export`, `import` and `datasets`: a run directory made, measured, written out or read in."""

from __future__ import annotations

import json

from toolchain import argtypes
from toolchain.errors import QsnnError
from toolchain.fsutil import check_output
from toolchain.nir_io.conventions import DISCRETIZATIONS
from toolchain.options import add_train_options, config_from_args

from .common import add_trust_pickle

IMPORT_OPTIONS = ("dataset", "path", "steps", "snrs", "readout", "weight_bits", "membrane_bits", "rounding")
IMPORT_OPTIONS += ("beta_frac_bits", "lr", "batch_size", "seed", "device")


def cmd_train(a):
    from toolchain.data import get
    from toolchain.train import run

    get(a.dataset)  # unknown names fail before anything is built
    check_output(a.out, "--out")
    cfg = config_from_args(a)
    m = run(cfg, a.out, force=a.force)
    _print_summary(m, a.out)
    return 0


def _print_summary(m, where):
    print(
        f"top-1 {m['top1']:.4f}  top-5 {m['top5']:.4f}  "
        f"memory {m['memory_bits']:,} bits ({m['memory_ratio']:.3f} of float)"
    )
    if "float_top1" in m:
        print(f"float model before PTQ: top-1 {m['float_top1']:.4f}")
    if "mismatches" in m:
        print(
            f"golden integer model agreement {m['integer_agreement']:.4f} ({m['mismatches']} mismatches "
            f"over {m['samples']} test samples)"
        )
    print(f"written to {where}")


def cmd_eval(a):
    from toolchain.device import resolve
    from toolchain.runs import load_run
    from toolchain.train import evaluate, golden_agreement

    cfg, net, ds = load_run(a.run_dir)
    net.to(resolve(a.device))
    m = evaluate(net, cfg, ds, integer=a.integer and cfg.quantized)
    out = {k: m[k] for k in ("top1", "top5", "memory_bits", "memory_ratio", "per_class")}
    if "per_snr" in m:
        out["per_snr"] = m["per_snr"]
    if a.integer:
        if not cfg.quantized:
            raise QsnnError(f"{a.run_dir} holds a float network; --integer needs a quantized run")
        from pathlib import Path

        from toolchain.golden import GoldenModel

        out.update(golden_agreement(net, GoldenModel.load(Path(a.run_dir) / "golden.npz"), cfg, ds))
    if not a.json:
        print(f"top-1 {out['top1']:.4f}  top-5 {out['top5']:.4f}  memory ratio {out['memory_ratio']:.4f}")
        if a.integer:
            print(f"integer agreement {out['integer_agreement']:.4f}, mismatches {out['mismatches']}")
    if a.json:
        print(json.dumps(out))
    return 0


def cmd_datasets(a):
    from toolchain.data import dataset_table

    rows = dataset_table(a.data_path)
    w = max(len(r[0]) for r in rows)
    for name, ok, why, desc in rows:
        print(f"{name:<{w}}  {'available' if ok else 'missing  '}  {desc}\n{'':<{w}}  {'':9}  ({why})")
    return 0


def cmd_export(a):
    from toolchain.export import export_model
    from toolchain.flow.verify import mismatches
    from toolchain.runs import load_run, run_record

    if a.out is None and a.nir is None:
        raise QsnnError("give --out MODEL.onnx (QONNX), --nir MODEL.nir, or both")
    if a.out is not None and not a.out.endswith(".onnx"):
        raise QsnnError(f"--out {a.out} should name an .onnx file")
    if a.nir is not None and not a.nir.endswith(".nir"):
        raise QsnnError(f"--nir {a.nir} should name a .nir file")
    for flag, path in (("--out", a.out), ("--nir", a.nir)):
        if path is not None:
            check_output(path, flag, "file")
    cfg, net, _ = load_run(a.run_dir)
    if a.nir is not None:
        from toolchain.nir_io.writer import write

        write(net, cfg, a.nir, a.dt)
        print(f"wrote {a.nir}: NIR graph of {len(net.synapses)} layers (dt {a.dt:g} s)")
        if a.out is None:
            return 0
    meta = run_record(a.run_dir)[1]["dataset"]
    model = export_model(net, cfg, meta, a.out)
    bad, n = mismatches(model, a.run_dir, a.verify_samples, "verify qonnx")
    print(
        f"wrote {a.out}: {sum(n.op_type == 'LIF' for n in model.graph.node)} LIF nodes; readout (spike count "
        f"over T, argmax) is host-side"
    )
    print(f"execute_onnx vs golden model: {bad} mismatches over {n} test samples")
    return 0 if bad == 0 else 1


def cmd_import(a):
    from toolchain.data import get
    from toolchain.nir_io.importer import import_run

    get(a.dataset)
    check_output(a.out, "--out")
    if a.finetune_epochs < 0:
        raise QsnnError(f"--finetune-epochs {a.finetune_epochs} must be 0 or more")
    cfg = config_from_args(a, reset=a.reset or "zero")
    m = import_run(
        a.model,
        a.out,
        cfg,
        dt=a.dt,
        finetune_epochs=a.finetune_epochs,
        force=a.force,
        reset_from_graph=a.reset is None,
        discretization=a.discretization,
    )
    _print_summary(m, a.out)
    return 0


def add(sub) -> None:
    t = sub.add_parser("train", help="train a spiking network (QAT or PTQ) into a run directory")
    t.add_argument("--out", required=True, help="run directory to create")
    t.add_argument("--force", action="store_true", help="replace an existing run directory")
    add_train_options(t)
    add_trust_pickle(t)
    t.set_defaults(func=cmd_train)

    e = sub.add_parser("eval", help="evaluate a run directory on its test set")
    e.add_argument("run_dir")
    e.add_argument("--integer", action="store_true", help="also run the integer model and the golden model")
    e.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    add_train_options(e, only=("device",))
    add_trust_pickle(e)
    e.set_defaults(func=cmd_eval)

    x = sub.add_parser("export", help="export a trained run to QONNX with LIF nodes, checked against the golden model")
    x.add_argument("run_dir")
    x.add_argument("--out", default=None, help="the .onnx file to write (QONNX)")
    x.add_argument("--nir", default=None, help="also or instead write the network as NIR to this .nir file")
    x.add_argument(
        "--dt", type=argtypes.positive_float, default=1e-4, help="NIR: the time step the taus assume (default 1e-4 s)"
    )
    x.add_argument(
        "--verify-samples", type=argtypes.positive_int, default=None, help="check this many test samples (default all)"
    )
    add_trust_pickle(x)
    x.set_defaults(func=cmd_export)

    im = sub.add_parser(
        "import",
        help="make a run directory from a NIR network (snnTorch, Norse, ...): quantize it, optionally fine-tune",
        description="Read a NIR graph (a chain of Linear/Affine/Conv1d/Conv2d synapses, each followed by LIF, IF "
        "or CubaLIF neurons, an LI readout last; Scale and Flatten nodes), quantize it post-training at the given "
        "widths on a dataset, optionally fine-tune it with QAT, and write a run directory that every other command "
        "takes. Thresholds and taus that differ between layers or neurons become per-neuron parameters. The graph's "
        "input is one sample channel-first, scaled to [0, 1) (unsigned data) or [-1, 1) (signed), the same at each "
        "time step.",
    )
    im.add_argument("model", help="the .nir file")
    im.add_argument("--out", required=True, help="run directory to create")
    im.add_argument("--force", action="store_true", help="replace an existing run directory")
    im.add_argument(
        "--dt",
        type=argtypes.positive_float,
        default=1e-4,
        help="time step the graph's taus assume: beta = 1 - dt/tau (default 1e-4 s, snnTorch's exporter)",
    )
    im.add_argument(
        "--discretization",
        choices=DISCRETIZATIONS,
        default="euler",
        help="how the neuron ODEs become steps: euler (NIR's forward Euler, beta = 1 - dt/tau: snnTorch, Norse, "
        "Sinabs) or rockpool (Rockpool's LIFTorch, written as CubaLIF: beta, alpha = exp(-dt/tau), the input added "
        "before the current decays) (default euler)",
    )
    im.add_argument("--finetune-epochs", type=int, default=0, help="QAT fine-tune epochs after quantizing (default 0)")
    add_trust_pickle(im)
    # the graph gives the layers and the neurons; these are the run's own options (the rest stay at defaults)
    add_train_options(
        im,
        only=IMPORT_OPTIONS,
        defaults={"weight_bits": 8, "membrane_bits": "auto", "lr": 5e-4},
        helps={
            "readout": "count or first-spike for a graph that ends in spiking neurons; a graph that ends in an LI "
            "node is read out by its membrane",
            "lr": "the fine-tune's learning rate",
        },
    )
    im.add_argument(
        "--reset",
        default=None,
        help="zero (NIR's reset to v_reset) or subtract (snnTorch's default, which NIR does not record); default: "
        "the neuron nodes' metadata['reset'] where qsnn export wrote it, else zero",
    )
    im.set_defaults(func=cmd_import)

    d = sub.add_parser("datasets", help="list datasets and whether they are available here")
    d.add_argument("--data-path", default=None)
    d.set_defaults(func=cmd_datasets)
