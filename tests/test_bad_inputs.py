"""The error contract, over a corpus of bad inputs generated per command and per file kind.

Every case must end with exit code 2 and an ``error:`` line naming the problem (argparse's own usage
errors are ``qsnn <cmd>: error: ...``), never a Python traceback, and must write nothing it should not.
The cases run in-process through ``toolchain.cli.main`` (an escaping exception fails the case).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from toolchain.cli import main

# quick training options, so a case that wrongly passes validation still ends fast
QUICK = ["--epochs", "1", "--limit", "40", "--hidden", "8"]


def corrupt_truncate(path: Path):
    data = path.read_bytes()
    path.write_bytes(data[: max(1, len(data) // 3)])


def corrupt_flip(path: Path):
    data = bytearray(path.read_bytes())
    for k in range(len(data) // 2, min(len(data), len(data) // 2 + 64)):
        data[k] ^= 0xFF
    path.write_bytes(bytes(data))


def corrupt_empty(path: Path):
    path.write_bytes(b"")


def corrupt_not_utf8(path: Path):
    path.write_bytes(b"\xff\xfe\x00garbage\x80\x81")


def corrupt_delete(path: Path):
    path.unlink()


def corrupt_json_list(path: Path):
    path.write_text("[1, 2, 3]")


REQUIRED_KEYS = ("config", "run", "points", "steps_done", "key", "metrics", "run_dir", "verification")


def corrupt_json_missing_key(path: Path):
    d = json.loads(path.read_text())
    d.pop(next((k for k in REQUIRED_KEYS if k in d), next(iter(d))))
    path.write_text(json.dumps(d))


FILE_CORRUPTIONS = {
    "truncated": corrupt_truncate,
    "bitflip": corrupt_flip,
    "empty": corrupt_empty,
    "not-utf8": corrupt_not_utf8,
    "deleted": corrupt_delete,
}
JSON_CORRUPTIONS = {**FILE_CORRUPTIONS, "json-list": corrupt_json_list, "missing-key": corrupt_json_missing_key}


def train_cases():
    bad = {
        "--batch-size": ["0", "-1", "abc"],
        "--limit": ["0", "-5", "1.5"],
        "--lr": ["-1", "0", "nan", "inf"],
        "--seed": ["-1", "99999999999"],
        "--threshold": ["inf", "nan", "-1", "0"],
        "--epochs": ["-1", "x"],
        "--steps": ["0", "-3", "5000"],
        "--hidden": [",", "0", "65536,65536", "-4", "a,b"],
        "--beta": ["nan", "2", "-0.5"],
        "--beta-frac-bits": ["0", "99"],
        "--leak-shift": ["0", "40"],
        "--weight-bits": ["0", "17", "x"],
        "--membrane-bits": ["1", "33", "x"],
        "--membrane-shift": ["-1", "17", "x"],
        "--neuron": ["izhikevich"],
        "--alpha": ["nan", "2", "-0.5"],
        "--init-from": ["{tmp}/nothing"],
        "--rounding": ["up"],
        "--scheme": ["both"],
        "--leak": ["exp"],
        "--reset": ["none"],
        "--arch": ["transformer"],
        "--encoding": ["delta", "events"],  # events: the frames of an event dataset, not digits
        "--dataset": ["cifar99", "shd", "nmnist", "dvsgesture"],  # the event datasets: no --data-path given
        "--bin-ms": ["0", "-1", "nan", "x"],
        "--event-pool": ["0", "200", "x"],
        "--event-bits": ["0", "9"],
        "--prune": ["1", "-0.1", "nan"],
        "--prune-mode": ["random"],
        "--snrs": [",", "x"],
        # malformed, out of range, out of place (a pool first or after a dense layer, a conv after a dense
        # layer), a layout that leaves no output on the digits' 8 x 8 images
        "--layers": [
            ",",
            "c8",
            "c8k3x",
            "c0k3",
            "c8k3p3",
            "c8k3s9",
            "mp2,f8",
            "f8,mp2",
            "f8,c8k3",
            "c8k7,c8k3",
            "sp9,f8",
            "f8,sp2",
            "sp2,mp2",
            "c8k3p1,sp3,c8k3p1",
            "c8k3s2p1,sp8,f16",  # a sum-pool larger than its input
            "r0",
            "r16,c8k3",  # a conv after a (recurrent) dense layer
            "r16x",
        ],
        "--device": ["gpu", "cuda:", "cpu:0"],
    }
    for opt, values in bad.items():
        for v in values:
            yield f"train {opt} {v}", ["train", "--out", "{tmp}/run", *QUICK, opt, v], None
    yield (
        "train binary weights after a sum-pool that drops rows",
        ["train", "--out", "{tmp}/run", *QUICK, "--layers", "c4k2,sp2,f8", "--weight-bits", "1"],
        None,
    )
    yield (
        "train --membrane-shift without a membrane width",
        ["train", "--out", "{tmp}/run", *QUICK, "--membrane-shift", "3", "--membrane-bits", "auto"],
        None,
    )
    for name in ("shd", "nmnist", "dvsgesture"):  # a folder without the dataset's files
        yield (
            f"train {name} without files",
            ["train", "--out", "{tmp}/run", "--dataset", name, "--data-path", "{tmp}"],
            None,
        )
    yield (
        "train --recurrent binary weights",
        ["train", "--out", "{tmp}/run", *QUICK, "--recurrent", "--weight-bits", "1"],
        None,
    )
    yield (
        "train --recurrent with conv",
        ["train", "--out", "{tmp}/run", *QUICK, "--arch", "conv", "--hidden", "4", "--recurrent"],
        None,
    )
    yield (
        "train mnist without files",
        ["train", "--out", "{tmp}/run", "--dataset", "mnist", "--data-path", "{tmp}/nope"],
        None,
    )
    yield (
        "train radioml without --trust-pickle",
        ["train", "--out", "{tmp}/run", "--dataset", "radioml2016", "--data-path", "{tmp}/evil.pkl"],
        "pickle",
    )


def run_file_cases():
    for kind, fn in JSON_CORRUPTIONS.items():
        yield f"eval config.json {kind}", ["eval", "{run}"], ("config.json", fn)
    for kind, fn in FILE_CORRUPTIONS.items():
        yield f"eval --integer golden.npz {kind}", ["eval", "{run}", "--integer"], ("golden.npz", fn)
        yield f"eval model.pt {kind}", ["eval", "{run}"], ("model.pt", fn)
        yield (
            f"export golden.npz {kind}",
            ["export", "{run}", "--out", "{tmp}/m.onnx", "--verify-samples", "5"],
            (
                "golden.npz",
                fn,
            ),
        )
        yield f"build golden.npz {kind}", ["build", "{run}", "--out", "{tmp}/b", "--until", "hw"], ("golden.npz", fn)
    yield "eval missing run", ["eval", "{tmp}/nothing"], None
    yield "eval --device mps", ["eval", "{run}", "--device", "mps"], None
    yield "eval wrong-shape weight", ["eval", "{run}"], ("model.pt", "wrong-shape")
    yield "eval --integer golden wrong shape", ["eval", "{run}", "--integer"], ("golden.npz", "wrong-shape")
    for v in ("0", "-1", "x"):
        yield f"export --verify-samples {v}", ["export", "{run}", "--out", "{tmp}/m.onnx", "--verify-samples", v], None
    yield "export --out not onnx", ["export", "{run}", "--out", "{tmp}/m.txt"], None


def build_option_cases():
    bad = {
        "--target-cycles": ["0", "-1", "x"],
        "--clock-mhz": ["0", "nan", "inf", "-5", "5000"],
        "--verify-samples": ["0", "-1"],
        "--board": ["Pynq-Z9", ""],
        "--until": ["bitstreams"],
        "--from": ["nowhere"],
        "--folding": ["{tmp}/missing.json"],
        "--out": ["{tmp}/a[exec touch pwned]", "{tmp}/with space", "{tmp}/x$HOME"],
        "--finn-deps": ["{tmp}/d;rm"],
    }
    for opt, values in bad.items():
        for v in values:
            args = ["build", "{run}", "--out", "{tmp}/b", opt, v] if opt != "--out" else ["build", "{run}", opt, v]
            yield f"build {opt} {v!r}", args, None
    folds = {
        "not-json": "{{{",
        "a-list": "[1]",
        "simd-7": json.dumps({"MVAU_hls_0": {"SIMD": 7, "PE": 1}}),
        "pe-3": json.dumps({"MVAU_hls_0": {"SIMD": 1, "PE": 3}}),
        "stream-wider-than-finn-ap-int": json.dumps({"MVAU_hls_0": {"SIMD": 64, "PE": 128}}),  # 32,768-bit weights
        "pe-zero": json.dumps({"LIFLayer_hls_0": {"PE": 0}}),
        "pe-string": json.dumps({"LIFLayer_hls_0": {"PE": "four"}}),
        "unknown-node": json.dumps({"NoSuchNode": {"PE": 2}}),
        "node-not-dict": json.dumps({"LIFLayer_hls_0": 4}),
        "not-utf8": b"\xff\xfe",
    }
    for kind, text in folds.items():
        yield (
            f"build --folding {kind}",
            ["build", "{run}", "--out", "{tmp}/b", "--until", "estimate", "--folding", "{tmp}/fold.json"],
            ("fold", text),
        )
    rtl_ae = ["build", "{run}", "--out", "{tmp}/b", "--until", "fold", "--backend", "rtl", "--address-event"]
    for kind, args, fold in (
        ("out_lanes without --address-event", ["build", "{run}", "--out", "{tmp}/b", "--until", "fold"], "MVAU_hls_1"),
        ("out_lanes not dividing PE", rtl_ae, "MVAU_hls_1"),
        ("out_lanes on a multi-bit input", rtl_ae, "MVAU_hls_0"),
        ("rows 3", rtl_ae, "MVAU_hls_1"),
    ):
        lanes = 3 if "dividing" in kind else 1
        folding = {fold: {"SIMD": 1, "PE": 2, "out_lanes": lanes, **({"rows": 3} if kind == "rows 3" else {})}}
        yield f"build --folding {kind}", [*args, "--folding", "{tmp}/fold.json"], ("fold", json.dumps(folding))
    yield "build --from without earlier build", ["build", "{run}", "--out", "{tmp}/empty", "--from", "fold"], None
    yield (
        "build --target-cycles with --folding",
        ["build", "{run}", "--out", "{tmp}/b", "--target-cycles", "4", "--folding", "{tmp}/fold.json"],
        ("fold", "{}"),
    )
    yield (
        "build --address-event without the RTL backend",
        ["build", "{run}", "--out", "{tmp}/b", "--address-event"],
        None,
    )
    yield (
        "build --address-event with --event-driven",
        ["build", "{run}", "--out", "{tmp}/b", "--backend", "rtl", "--address-event", "--event-driven"],
        None,
    )
    yield "build missing run", ["build", "{tmp}/nothing", "--out", "{tmp}/b"], None


def build_dir_cases():
    """Corrupted files of an existing build folder, resumed with --from."""
    for kind, fn in JSON_CORRUPTIONS.items():
        yield (
            f"build --from build_state.json {kind}",
            ["build", "{run}", "--out", "{build}", "--from", "estimate"],
            (
                "build_state.json",
                fn,
            ),
        )
    for kind, fn in FILE_CORRUPTIONS.items():
        yield (
            f"build --from fold model {kind}",
            ["build", "{run}", "--out", "{build}", "--from", "estimate"],
            (
                "intermediate/04_fold.onnx",
                fn,
            ),
        )
        yield (
            f"deploy build_config.json {kind}",
            ["deploy", "{build}", "--out", "{tmp}/z.zip"],
            (
                "build_config.json",
                fn,
            ),
        )
        yield f"deploy report.json {kind}", ["deploy", "{build}", "--out", "{tmp}/z.zip"], ("report.json", fn)
        yield (
            f"deploy final model {kind}",
            ["deploy", "{build}", "--out", "{tmp}/z.zip"],
            (
                "intermediate/05_estimate.onnx",
                fn,
            ),
        )
    for v in ("0", "-1", "x"):
        yield f"deploy --vectors {v}", ["deploy", "{build}", "--out", "{tmp}/z.zip", "--vectors", v], None
    yield "deploy --out not zip", ["deploy", "{build}", "--out", "{tmp}/z.tar"], None
    yield "deploy not a build dir", ["deploy", "{tmp}", "--out", "{tmp}/z.zip"], None


def sweep_cases():
    bad = {
        "--weight-bits": [",", "0,4", "x"],
        "--membrane-bits": ["x", "1"],
        "--rounding": ["up", ","],
        "--scheme": ["x"],
        "--jobs": ["0", "-2", "x"],
        "--prune": ["1.5", "nan"],
        "--prune-mode": ["x"],
        "--lr": ["nan"],
        "--hidden": ["65536,65536"],
    }
    for opt, values in bad.items():
        for v in values:
            yield f"sweep {opt} {v!r}", ["sweep", "--out", "{tmp}/s", *QUICK, "--no-estimate", opt, v], None
    for cmd in ("select", "report"):
        for kind, fn in JSON_CORRUPTIONS.items():
            if kind != "deleted":  # a point without result.json is not computed yet: not an error
                yield f"{cmd} result.json {kind}", [cmd, "{sweep}"], ("points/*/result.json", fn)
            yield f"{cmd} sweep.json {kind}", [cmd, "{sweep}"], ("sweep.json", fn)
        yield f"{cmd} missing dir", [cmd, "{tmp}/nothing"], None
    for v in ("nan", "inf", "-1", "x"):
        yield f"select --mu {v}", ["select", "{sweep}", "--mu", v], None
        yield f"report --mu {v}", ["report", "{sweep}", "--mu", v], None
    for opt in ("--max-lut", "--max-bram"):
        for v in ("-1", "0", "x"):
            yield f"select {opt} {v}", ["select", "{sweep}", opt, v], None


CASES = [*train_cases(), *run_file_cases(), *build_option_cases(), *build_dir_cases(), *sweep_cases()]


def test_the_corpus_is_large():
    assert len(CASES) >= 200, len(CASES)


@pytest.fixture(scope="module")
def built(demo_run, tmp_path_factory):
    out = tmp_path_factory.mktemp("built") / "b"
    assert main(["build", str(demo_run), "--out", str(out), "--until", "estimate", "--verify-samples", "10"]) == 0
    return out


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    out = tmp_path_factory.mktemp("swept") / "s"
    args = ["sweep", "--out", str(out), "--weight-bits", "2,4", "--no-estimate", "--jobs", "1", *QUICK]
    assert main(args) == 0
    return out


def _materialize(case_files, tmp, run, build, sweep):
    """Copy the fixture a case corrupts into tmp and apply the corruption; returns the placeholders."""
    where = {"tmp": str(tmp), "run": str(run), "build": str(build), "sweep": str(sweep)}
    if case_files is None:
        return where
    if case_files == "pickle":
        (tmp / "evil.pkl").write_bytes(b"\x80\x04\x95not really a pickle")
        return where
    target, how = case_files
    if target == "fold":
        data = how.encode() if isinstance(how, str) else how
        (tmp / "fold.json").write_bytes(data)
        return where
    for key, src in (("run", run), ("build", build), ("sweep", sweep)):
        if src is not None and (Path(src) / target.split("/")[0]).exists() or "*" in target and key == "sweep":
            copy = tmp / key
            shutil.copytree(src, copy, symlinks=True)
            where[key] = str(copy)
            if key == "build":  # a build folder records its run; point it at a run copy of its own
                pass
            files = sorted(copy.glob(target))
            assert files, f"fixture has no {target}"
            for f in files:
                if how == "wrong-shape":
                    _wrong_shape(f)
                else:
                    how(f)
            return where
    raise AssertionError(f"no fixture holds {target}")


def _wrong_shape(path: Path):
    if path.suffix == ".pt":
        import torch

        state = torch.load(path, weights_only=True)
        k = next(k for k, v in state.items() if v.ndim == 2)
        state[k] = torch.zeros(3, 3)
        torch.save(state, path)
    else:
        import numpy as np

        with np.load(path) as z:
            arrays = dict(z)
        arrays["w0"] = np.zeros((3, 3), dtype=arrays["w0"].dtype)
        np.savez(path, **arrays)


@pytest.mark.slow
@pytest.mark.parametrize("name,argv,files", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_a_clean_error(name, argv, files, demo_run, built, swept, tmp_path, capsys):
    needs = " ".join(argv) + str(files)
    where = _materialize(
        files,
        tmp_path,
        demo_run,
        built if "{build}" in needs or "build_" in needs or "intermediate" in needs else None,
        swept if "{sweep}" in needs or "result.json" in needs or "sweep.json" in needs else None,
    )
    args = [a.format(**where) if "{" in a and not a.startswith("{{") else a for a in argv]
    try:
        code = main(args)
    except SystemExit as e:  # argparse usage errors
        code = e.code
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2, f"{name}: exit {code}; stderr: {err[-3:]}"
    assert err and ("error:" in err[-1]), f"{name}: no error line: {err[-3:]}"
    assert not (tmp_path / "pwned").exists()


# -- output paths, damaged records, shared sweep failures (checked before any work; nothing written) ----------
def _clean_error(argv, capsys, words):
    try:
        code = main(argv)
    except SystemExit as e:
        code = e.code
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2, f"{argv}: exit {code}; stderr: {err[-3:]}"
    assert len(err) >= 1 and err[-1].startswith("error:") and words in err[-1], err[-3:]
    assert not any("Traceback" in line for line in err)
    return err[-1]


def _tree(folder: Path) -> dict:
    return {str(p.relative_to(folder)): p.read_bytes() if p.is_file() else None for p in sorted(folder.rglob("*"))}


OUTPUTS = {  # command -> (argv with {out}, the flag, what it writes)
    "train": (["train", "--out", "{out}", *QUICK], "--out", "dir"),
    "import": (["import", "{tmp}/m.nir", "--out", "{out}"], "--out", "dir"),
    "build": (["build", "{run}", "--out", "{out}", "--until", "hw"], "--out", "dir"),
    "sweep": (["sweep", "--out", "{out}", *QUICK, "--no-estimate", "--weight-bits", "4"], "--out", "dir"),
    "search": (["search", "--out", "{out}", *QUICK, "--no-estimate", "--trials", "1"], "--out", "dir"),
    "export --out": (["export", "{run}", "--out", "{out}"], "--out", "file"),
    "export --nir": (["export", "{run}", "--nir", "{out}"], "--nir", "file"),
    "deploy": (["deploy", "{build}", "--out", "{out}"], "--out", "file"),
}


@pytest.mark.slow
@pytest.mark.parametrize("hazard", ["is-the-other-kind", "under-a-file"])
@pytest.mark.parametrize("command", sorted(OUTPUTS))
def test_output_paths_are_checked_before_any_work(command, hazard, demo_run, built, tmp_path, capsys):
    argv, flag, kind = OUTPUTS[command]
    (tmp_path / "afile").write_text("keep me")
    name = {"export --out": "x.onnx", "export --nir": "x.nir", "deploy": "x.zip"}.get(command, "x")
    if hazard == "under-a-file":
        out = tmp_path / "afile" / name
    elif kind == "dir":
        out = tmp_path / "afile"
    else:
        out = tmp_path / name
        out.mkdir()
    before = _tree(tmp_path)
    where = {"out": str(out), "tmp": str(tmp_path), "run": str(demo_run), "build": str(built)}
    _clean_error([a.format(**where) for a in argv], capsys, flag)
    assert _tree(tmp_path) == before, "nothing may be written"


@pytest.mark.parametrize("command", ["report", "sweep"])
def test_a_report_folder_taken_by_a_file_is_refused_before_work(command, swept, tmp_path, capsys):
    sweep = tmp_path / "s"
    shutil.copytree(swept, sweep)
    shutil.rmtree(sweep / "report", ignore_errors=True)
    (sweep / "report").write_text("a file where the report folder goes")
    before = _tree(sweep)
    argv = ["report", str(sweep)] if command == "report" else ["sweep", "--out", str(sweep), *QUICK, "--no-estimate"]
    _clean_error(argv, capsys, "report folder")
    assert _tree(sweep) == before


def _without_privileges(argv):
    """`qsnn argv` in a subprocess for which permission bits hold: as root, with every capability dropped
    (setpriv), since root's CAP_DAC_OVERRIDE would read and write through them. Returns (exit code, stderr)."""
    import os
    import subprocess
    import sys

    prefix = []
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip(
                "running as root without setpriv (util-linux): no way to drop the capabilities that "
                "override permission bits"
            )
        prefix = [setpriv, "--bounding-set=-all", "--inh-caps=-all"]
    cmd = [*prefix, sys.executable, "-m", "toolchain.cli", *map(str, argv)]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    return r.returncode, r.stderr.strip().splitlines()


@pytest.fixture(scope="module")
def locked_copies(demo_run, built, tmp_path_factory):
    """A copy of the demo run and of its build, to lock parts of."""
    top = tmp_path_factory.mktemp("perm")
    shutil.copytree(demo_run, top / "run")
    shutil.copytree(built, top / "build")
    cfg = json.loads((top / "build" / "build_config.json").read_text())
    cfg["run_dir"] = str(top / "run")
    (top / "build" / "build_config.json").write_text(json.dumps(cfg))
    return top


PERMISSION_CASES = {  # name -> (what to lock: a file made unreadable, or None: the folder made read-only; argv; words)
    "eval: model.pt unreadable": ("run/model.pt", ["eval", "{top}/run"], "cannot be read (permission denied)"),
    "export: model.pt unreadable": (
        "run/model.pt",
        ["export", "{top}/run", "--out", "{other}/m.onnx"],
        "cannot be read (permission denied)",
    ),
    "deploy: golden.npz unreadable": (
        "run/golden.npz",
        ["deploy", "{top}/build", "--out", "{other}/x.zip"],
        "cannot be read (permission denied)",
    ),
    "build: --out in a read-only folder": (None, ["build", "{top}/run", "--out", "{top}/b2"], "permission denied"),
    "export: --out in a read-only folder": (None, ["export", "{top}/run", "--out", "{top}/m.onnx"], "permission"),
    "deploy: --out in a read-only folder": (None, ["deploy", "{top}/build", "--out", "{top}/x.zip"], "permission"),
    "train: --out in a read-only folder": (None, ["train", "--out", "{top}/r2", *QUICK], "permission denied"),
}


@pytest.mark.slow
@pytest.mark.parametrize("case", list(PERMISSION_CASES))
def test_unreadable_inputs_and_unwritable_outputs(case, locked_copies, tmp_path):
    """Where the permission bits hold: one error line naming the problem, exit 2, nothing written."""
    lock, argv, words = PERMISSION_CASES[case]
    top = locked_copies
    target = top / lock if lock else top
    mode = target.stat().st_mode
    before = _tree(top)
    target.chmod(0o000 if lock else 0o555)
    try:
        code, err = _without_privileges([a.format(top=top, other=tmp_path) for a in argv])
    finally:
        target.chmod(mode)
    assert code == 2, f"{case}: exit {code}; stderr: {err[-3:]}"
    assert err and err[-1].startswith("error:") and words in err[-1], err[-3:]
    assert not any("Traceback" in line for line in err)
    assert _tree(top) == before and not any(tmp_path.iterdir())


def test_a_build_state_missing_a_steps_record_is_damaged_not_a_keyerror(demo_run, built, tmp_path, capsys):
    build = tmp_path / "b"
    shutil.copytree(built, build)
    state = json.loads((build / "build_state.json").read_text())
    del state["steps_per_sample"]
    (build / "build_state.json").write_text(json.dumps(state))
    line = _clean_error(["build", str(demo_run), "--out", str(build), "--from", "fold"], capsys, "steps_per_sample")
    assert "damaged or from another version" in line and "step 'export'" in line


@pytest.mark.parametrize("command", ["select", "report"])
def test_a_point_whose_hardware_record_lacks_figures_is_refused(command, swept, tmp_path, capsys):
    sweep = tmp_path / "s"
    shutil.copytree(swept, sweep)
    result = sorted(sweep.glob("points/*/result.json"))[0]
    r = json.loads(result.read_text())
    r["hardware"] = {"bram18": 1}  # no lut: select used to raise KeyError: 'lut'
    result.write_text(json.dumps(r))
    _clean_error([command, str(sweep)], capsys, "hardware figures lack lut")


def test_a_sweep_that_fails_on_what_every_point_shares_stops_before_any_point(tmp_path, capsys):
    data = tmp_path / "RML2016.10a_dict.pkl"
    data.write_bytes(b"\x80\x04not a pickle anyone should open")
    out = tmp_path / "s"
    argv = ["sweep", "--out", str(out), "--dataset", "radioml2016", "--data-path", str(data), *QUICK]
    _clean_error([*argv, "--weight-bits", "2,4", "--no-estimate"], capsys, "--trust-pickle")
    assert not out.exists(), "no point may have started"


def test_a_build_state_with_a_record_of_another_version_is_refused(demo_run, built, tmp_path, capsys):
    build = tmp_path / "b"
    shutil.copytree(built, build)
    state = json.loads((build / "build_state.json").read_text())
    state["bitstream_dir"] = "/somewhere"  # a record this version's BuildState does not have
    (build / "build_state.json").write_text(json.dumps(state))
    before = (build / "build_state.json").read_bytes()
    line = _clean_error(["build", str(demo_run), "--out", str(build), "--from", "fold"], capsys, "bitstream_dir")
    assert "damaged or from another version" in line and (build / "build_state.json").read_bytes() == before
