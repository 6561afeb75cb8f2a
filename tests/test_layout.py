"""The package layout and its import contract.

sdkit is layered; data flow one way::

    errors → io → model → {structure, edit, engine} → {calibration, scenarios}
           → analysis → report → {workflow, conformance} → cli

This test walks every module's AST (no import needed) and checks:

* each package imports only the packages :data:`ALLOWED` lists for it (so
  edit and structure never import the engine, the report never runs a model,
  nothing imports the CLI);
* the module import graph has no cycle;
* an import inside a function names a third-party dependency that is
  optional or heavy, and says so in a comment on that line;
* modules stay under 400 lines and functions under 80 (not counting the
  docstring), except the few table-like ones listed in :data:`LONG` with the reason.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SDKIT = Path(__file__).resolve().parents[1] / "sdkit"

#: package -> packages it may import (besides itself); "" is the top-level package
ALLOWED: dict[str, set[str]] = {
    "errors": set(),
    "version": set(),
    "lazy": set(),
    "io": {"errors"},
    "model": {"errors", "io"},
    "structure": {"errors", "io", "model"},
    "edit": {"errors", "io", "model"},
    "engine": {"errors", "io", "model"},
    "calibration": {"errors", "io", "model", "structure", "edit", "engine"},  # units (pint)
    "scenarios": {"errors", "io", "model", "edit", "engine", "calibration"},
    "analysis": {"errors", "io", "model", "scenarios", "calibration"},
    "report": {"errors", "io", "analysis"},
    "workflow": {"errors", "io", "model", "structure", "edit", "engine", "calibration",
                 "scenarios", "analysis", "report"},
    "conformance": {"errors", "io", "model", "engine"},
    "cli": {"errors", "io", "model", "structure", "edit", "engine", "calibration",
            "scenarios", "analysis", "report", "workflow", "conformance", ""},
    "": {"errors", "io", "model", "structure", "edit", "engine", "calibration",
         "scenarios", "analysis", "report", "workflow", "conformance"},
    "__main__": {"cli"},
}

#: module -> why it may be long
LONG: dict[str, str] = {}


def _modules() -> dict[str, Path]:
    out = {}
    for p in sorted(SDKIT.rglob("*.py")):
        parts = list(p.relative_to(SDKIT.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = p
    return out


MODULES = _modules()


def _package(mod: str) -> str:
    parts = mod.split(".")
    return parts[1] if len(parts) > 1 else ""


#: modules every package may import
BASE = {"errors", "version", "lazy"}


def _imports(mod: str, path: Path) -> list[tuple[str, int, bool]]:
    """(imported sdkit module, line, inside a function) for every import of sdkit."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    pkg = mod if path.name == "__init__.py" else mod.rsplit(".", 1)[0]
    funcs = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
    inner = {id(c) for f in funcs for c in ast.walk(f) if c is not f}
    typing_only = {id(c) for n in ast.walk(tree) if isinstance(n, ast.If)
                   and ast.unparse(n.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING")
                   for c in ast.walk(n)}
    out = []
    for node in ast.walk(tree):
        if id(node) in typing_only:  # annotations only: no import at run time
            continue
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = pkg.split(".")[: len(pkg.split(".")) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "sdkit":
                continue
            for a in node.names:
                full = f"{target}.{a.name}"
                out.append((full if full in MODULES else target, node.lineno, id(node) in inner))
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.split(".")[0] == "sdkit":
                    out.append((a.name, node.lineno, id(node) in inner))
    return out


EDGES = {mod: _imports(mod, path) for mod, path in MODULES.items()}


def test_packages_import_only_what_the_layers_allow():
    bad = []
    for mod, edges in EDGES.items():
        src = _package(mod)
        for target, line, _ in edges:
            dst = _package(target)
            if dst != src and dst not in ALLOWED[src] | BASE:
                bad.append(f"{mod}:{line} imports {target}")
    assert bad == []


def test_nothing_imports_the_cli():
    bad = [f"{m}:{line}" for m, edges in EDGES.items() for t, line, _ in edges
           if _package(t) == "cli" and _package(m) not in ("cli", "__main__")]
    assert bad == []


def test_no_import_cycles():
    graph = {m: {t for t, _, _ in edges if t in MODULES and t != m} for m, edges in EDGES.items()}
    # a package's __init__ importing its own modules is not a cycle of concepts
    for m in graph:
        graph[m] = {t for t in graph[m] if not (MODULES[t].name == "__init__.py"
                                                 and m.startswith(t + "."))}
    state: dict[str, int] = {}
    cycles = []

    def visit(n, stack):
        state[n] = 1
        stack.append(n)
        for t in sorted(graph[n]):
            if state.get(t) == 1:
                cycles.append(stack[stack.index(t):] + [t])
            elif t not in state:
                visit(t, stack)
        stack.pop()
        state[n] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m, [])
    assert cycles == []


def test_imports_inside_functions_are_optional_dependencies_with_a_reason():
    bad = []
    for mod, path in MODULES.items():
        lines = path.read_text(encoding="utf-8").split("\n")
        tree = ast.parse("\n".join(lines))
        for f in [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)]:
            for node in ast.walk(f):
                if isinstance(node, ast.Import | ast.ImportFrom):
                    names = [a.name for a in node.names] if isinstance(node, ast.Import) \
                        else [node.module or "."]
                    if getattr(node, "level", 0) or any(n.split(".")[0] == "sdkit" for n in names):
                        bad.append(f"{mod}:{node.lineno} imports sdkit inside a function")
                    elif "#" not in lines[node.lineno - 1]:
                        bad.append(f"{mod}:{node.lineno} imports {names} inside a function "
                                   "without a comment saying why")
    assert bad == []


def _code_lines(fn: ast.FunctionDef) -> int:
    """Lines of a function without its docstring (numpydoc docstrings are long by design)."""
    total = fn.end_lineno - fn.lineno + 1
    first = fn.body[0] if fn.body else None
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) \
            and isinstance(first.value.value, str):
        total -= first.end_lineno - first.lineno + 1
    return total


@pytest.mark.parametrize("mod", sorted(MODULES))
def test_modules_and_functions_are_small(mod):
    path = MODULES[mod]
    text = path.read_text(encoding="utf-8")
    if mod in LONG:
        return
    assert text.count("\n") <= 400, f"{mod} has {text.count(chr(10))} lines"
    tree = ast.parse(text)
    long = [f"{n.name} ({_code_lines(n)} lines)" for n in ast.walk(tree)
            if isinstance(n, ast.FunctionDef) and _code_lines(n) > 80]
    assert long == []
