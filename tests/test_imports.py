"""The package's layers only look down: no import cycle anywhere in toolchain/, at module level or inside
functions, and the golden model imports nothing else of the project (STYLE.md 15).

The graph is read from the source with ``ast`` (nothing is imported), so an import inside a function counts
as much as one at the top of a file.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "toolchain"


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """The project modules ``name`` imports anywhere in its body (``from a import b`` counts a.b if a.b is a
    module, else a)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            targets = [f"{mod}.{alias.name}" if f"{mod}.{alias.name}" in known else mod for alias in node.names]
        else:
            continue
        for target in targets:
            while target and target not in known:  # `import toolchain.a.b` imports toolchain.a.b
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def import_graph() -> dict[str, set[str]]:
    mods = modules()
    known = set(mods)
    graph = {name: imports_of(name, path, known) for name, path in mods.items()}
    # a package's __init__ runs before any of its modules: importing toolchain.a.b imports toolchain.a too,
    # but that edge is implied by Python, not written by us; only the written edges are checked
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle as a list of modules (first == last), or None; iterative DFS with colours."""
    colour = dict.fromkeys(graph, 0)
    for start in graph:
        if colour[start]:
            continue
        stack = [(start, iter(sorted(graph[start])))]
        path = [start]
        colour[start] = 1
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                colour[node] = 2
                stack.pop()
                path.pop()
            elif colour.get(child) == 1:
                return path[path.index(child) :] + [child]
            elif colour.get(child) == 0:
                colour[child] = 1
                stack.append((child, iter(sorted(graph[child]))))
                path.append(child)
    return None


def test_no_import_cycle():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_golden_is_a_leaf():
    graph = import_graph()
    golden = {m for m in graph if m == "toolchain.golden" or m.startswith("toolchain.golden.")}
    assert golden, "toolchain.golden not found"
    outside = {(m, t) for m in golden for t in graph[m] if t not in golden and t != "toolchain"}
    assert not outside, f"the golden model imports the rest of the project: {sorted(outside)}"


def test_the_cycle_finder_finds_cycles():
    """The test of the test: a made-up graph with a cycle through a function-level import is caught."""
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_function_level_imports_are_read(tmp_path):
    src = tmp_path / "m.py"
    src.write_text("def f():\n    from toolchain.x import y\n")
    assert imports_of("toolchain.m", src, {"toolchain.x", "toolchain.x.y", "toolchain.m"}) == {"toolchain.x.y"}


def test_no_symlinks_in_the_repository():
    links = [
        p.relative_to(ROOT)
        for p in ROOT.rglob("*")
        if p.is_symlink() and not {".venv", ".git", "build", "runs"} & set(p.relative_to(ROOT).parts)
    ]
    if not (ROOT / ".git").exists():
        pytest.skip("not a source checkout")
    assert not links, f"symlinks in the repository: {links}"
