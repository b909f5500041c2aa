"""Atomic file and folder writes: a reader never sees a half-written output, a failure or a kill leaves
the old one, and the temporaries a killed process left behind are removed by the next writer.

Temporaries are named ``.<name>.<pid>.<random>.tmp`` beside their target, so a later process can tell
a dead writer's leftovers (its pid no longer runs) from a live writer's work in progress.
"""

import ctypes
import json
import os
import re
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path


def sha256_file(path) -> str:
    import hashlib

    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_stale(path) -> list[Path]:
    """Remove ``.<name>.<pid>.*.tmp`` temporaries of ``path`` whose writing process is gone."""
    path = Path(path)
    pattern = re.compile(rf"^\.{re.escape(path.name)}\.(\d+)\..*\.tmp$")
    removed = []
    if not path.parent.is_dir():
        return removed
    for p in path.parent.iterdir():
        m = pattern.match(p.name)
        if m and int(m.group(1)) != os.getpid() and not pid_alive(int(m.group(1))):
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p, ignore_errors=True)
            else:
                p.unlink(missing_ok=True)
            removed.append(p)
    return removed


def temp_name(path) -> str:
    return f".{Path(path).name}.{os.getpid()}."


@contextmanager
def atomic_path(path):
    """Yield a temporary path beside ``path``; on success it is renamed over ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    clean_stale(path)
    fd, tmp = tempfile.mkstemp(prefix=temp_name(path), suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def exchange(a, b) -> bool:
    """Atomically swap two paths (Linux renameat2 RENAME_EXCHANGE); False where the kernel or libc lacks it.

    Hand-written: Python's os module has no renameat2, and no library here wraps it."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    rc = renameat2(at_fdcwd, os.fsencode(str(a)), at_fdcwd, os.fsencode(str(b)), rename_exchange)
    return rc == 0


def replace_dir(new, target) -> None:
    """Put the finished folder ``new`` at ``target``, replacing an existing one without a moment where
    neither is complete: swap them atomically, then delete the old one (now at ``new``'s name)."""
    new, target = Path(new), Path(target)
    if target.exists():
        if not exchange(new, target):  # no atomic swap: move the old one aside first (a short window)
            aside = target.parent / f"{temp_name(target)}old.tmp"
            os.rename(target, aside)
            os.rename(new, target)
            new = aside
        shutil.rmtree(new, ignore_errors=True)
    else:
        os.rename(new, target)


def make_temp_dir(target) -> Path:
    """A fresh temporary folder beside ``target`` (named so the next writer can clean it if we die)."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    clean_stale(target)
    return Path(tempfile.mkdtemp(prefix=temp_name(target), suffix=".tmp", dir=target.parent))


def write_text(path, text):
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def write_json(path, obj):
    write_text(path, json.dumps(obj, indent=2, sort_keys=True) + "\n")


def read_json(path, what: str, fix: str, expect=dict):
    """A JSON file the user's workflow wrote (config, state, results); any damage is a QsnnError that
    names the file, what it is and the fix."""
    from toolchain.errors import QsnnError

    path = check_readable(path, what, fix)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise QsnnError(f"{what} {path} is unreadable or corrupted ({type(e).__name__}); {fix}") from None
    if expect is not None and not isinstance(data, expect):
        raise QsnnError(f"{what} {path} holds a JSON {type(data).__name__}, not a {expect.__name__}; {fix}")
    return data


def require_keys(data: dict, keys, path, what: str, fix: str) -> dict:
    from toolchain.errors import QsnnError

    missing = [k for k in keys if k not in data]
    if missing:
        raise QsnnError(f"{what} {path} lacks {', '.join(map(repr, missing))}; {fix}")
    return data


def load_onnx(path, what: str, fix: str):
    """A qonnx ModelWrapper from an ONNX file the flow wrote; a damaged file is a QsnnError."""
    from toolchain.errors import QsnnError

    path = check_readable(path, what, fix)
    import onnx
    from google.protobuf.message import DecodeError
    from qonnx.core.modelwrapper import ModelWrapper

    try:
        proto = onnx.load(str(path))
    except (DecodeError, OSError, ValueError, RuntimeWarning) as e:
        raise QsnnError(f"{what} {path} is corrupted ({type(e).__name__}); {fix}") from None
    if not proto.graph.node:
        raise QsnnError(f"{what} {path} holds no graph; {fix}")
    return ModelWrapper(proto)


def check_output(path, flag: str, kind: str = "dir") -> Path:
    """Check before any work that ``path`` can be written as a ``kind`` ("dir" or "file"): it is not the other
    kind, no parent of it is a file, and its nearest existing folder is writable. ``flag`` names the option in
    the error (e.g. "--out"). Returns the path."""
    from toolchain.errors import QsnnError

    path = Path(path)
    if kind == "dir" and path.exists() and not path.is_dir():
        raise QsnnError(f"{flag} {path} is an existing file, not a folder; choose a folder name")
    if kind == "file" and path.is_dir():
        raise QsnnError(f"{flag} {path} is a folder; give a file name inside it, like {path / 'out'}{path.suffix}")
    parent = path.absolute().parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise QsnnError(f"{flag} {path} lies under {parent}, which is a file, not a folder; choose another path")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise QsnnError(f"{flag} {path}: cannot write in {parent} (permission denied); choose a writable folder")
    return path


def check_readable(path, what: str, fix: str) -> Path:
    """``path`` exists as a file this process may read, else a QsnnError naming it and the problem."""
    from toolchain.errors import QsnnError

    path = Path(path)
    if not path.is_file():
        raise QsnnError(f"{what} {path} not found; {fix}")
    if not os.access(path, os.R_OK):
        raise QsnnError(f"{what} {path} cannot be read (permission denied); give this user read access (chmod u+r)")
    return path
