"""The house rules of DESIGN.md, checked on the source: no import cycle between the package's modules
(module-level and deferred imports alike), and Dagster only in the Dagster layer (defs/, definitions.py)."""

from __future__ import annotations

import ast
from pathlib import Path

PKG = Path(__file__).resolve().parents[1] / "hypertrack_pipeline"
ROOT = "hypertrack_pipeline"


def _modules() -> dict[str, Path]:
    out = {}
    for path in PKG.rglob("*.py"):
        rel = path.relative_to(PKG.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _imports(path: Path, module: str, known: set[str]) -> set[str]:
    """Modules of the package this file imports (anywhere in it, deferred imports included, annotations-only
    imports under ``if TYPE_CHECKING`` excluded); `from pkg import sub` counts sub."""
    tree = ast.parse(path.read_text())
    is_pkg = path.name == "__init__.py"
    found: set[str] = set()
    typing_only = {id(n) for block in ast.walk(tree) if isinstance(block, ast.If)
                   and getattr(block.test, "id", "") == "TYPE_CHECKING" for n in ast.walk(block)}
    for node in ast.walk(tree):
        if id(node) in typing_only:  # annotations only: never executed
            continue
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".") if is_pkg else module.split(".")[:-1]
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            names = [base] + [f"{base}.{a.name}" for a in node.names]
        else:
            continue
        for name in names:
            if name in known and name != module:
                found.add(name)
    return found


def _dagster_imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text())
    bad = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            bad += [a.name for a in node.names if a.name.split(".")[0].startswith("dagster")]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0].startswith("dagster"):
            bad.append(node.module or "")
    return bad


def test_no_import_cycle_in_the_package():
    mods = _modules()
    graph = {m: _imports(p, m, set(mods)) for m, p in mods.items()}
    # a package's __init__ importing its own submodules is how packages work, not a cycle between layers
    for m in graph:
        graph[m] = {d for d in graph[m] if not d.startswith(m + ".")}
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m: str) -> None:
        state[m] = 1
        stack.append(m)
        for d in sorted(graph[m]):
            if state.get(d) == 1:
                cycle = stack[stack.index(d):] + [d]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if d not in state:
                visit(d)
        stack.pop()
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m)


def test_dagster_is_imported_only_in_the_dagster_layer():
    offenders = {}
    for module, path in _modules().items():
        if module.startswith(f"{ROOT}.defs") or module == f"{ROOT}.definitions":
            continue
        found = _dagster_imports(path)
        if found:
            offenders[module] = found
    assert not offenders, f"Dagster imported outside defs/ and definitions.py: {offenders}"
