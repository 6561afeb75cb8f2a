"""Structural check of PySD-generated Python before it is imported.

PySD turns a model into a Python module and imports it. sdkit imports such a
module only after this check passes, right after generation and again on
every load from the cache. The check does not look for bad text: it
requires the module to be built from nothing but the vocabulary PySD's
builder emits, so text that escaped a template cannot form anything else.

The allow-list (measured on every PySD 3.14.3 translation of the
conformance suite, sdkit's test models and the IIS model, then closed over
the builder's own templates in ``pysd/builders/python``):

* **node types**: :data:`ALLOWED_NODES` (no classes, ``with``, ``try``,
  ``global``, f-strings, ``await``, ``yield``, walrus, ``del``, ``assert``);
* **imports**: ``numpy``/``xarray`` under their usual aliases, ``Path`` from
  ``pathlib``, ``Component`` from ``pysd`` and public names of
  ``pysd.py_backend`` modules (:data:`PYSD_MODULES`);
* **names**: only names the module itself defines (functions, assignments,
  arguments, imports), the macro parameters listed in its ``_params`` dict,
  and :data:`FREE_NAMES`; no dunder name but ``__file__``, ``__data`` and
  ``__pysd_version__``;
* **attributes**: :data:`ALLOWED_ATTRS` and never a dunder;
* **called things**: a name or an allowed attribute as above, or the
  ``__data["time"]`` accessor;
* **string constants** only where PySD writes labels and names
  (:data:`STRING_PLACES`); a file path handed to ``_root.joinpath`` must be a
  plain file name, and a path handed to an external-data object must be one
  of the copies sdkit made inside the cache entry (``_inputs/...``).

Anything else refuses the model with :class:`~sdkit.errors.UnsafeModelError`
naming the model file, the generated file, its line and the construct.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from sdkit.errors import UnsafeModelError

__all__ = ["check_generated_source", "check_generated_file", "INPUTS_FOLDER"]

#: folder (inside a cache entry) holding sdkit's copies of a model's data files
INPUTS_FOLDER = "_inputs"

ALLOWED_NODES = frozenset({
    "Module", "Expr", "Assign", "AugAssign", "Return", "FunctionDef", "For", "If", "Pass",
    "Import", "ImportFrom", "alias", "arguments", "arg", "keyword",
    "Constant", "Name", "Load", "Store", "Attribute", "Subscript", "Slice", "Starred",
    "Call", "Lambda", "IfExp", "Dict", "List", "Tuple", "Set",
    "ListComp", "DictComp", "GeneratorExp", "comprehension",
    "BinOp", "UnaryOp", "BoolOp", "Compare",
    "Add", "Sub", "Mult", "Div", "FloorDiv", "Mod", "Pow", "MatMult",
    "USub", "UAdd", "Not", "And", "Or",
    "Eq", "NotEq", "Lt", "LtE", "Gt", "GtE", "Is", "IsNot", "In", "NotIn",
})

#: names a generated module may use without defining them
FREE_NAMES = frozenset({
    "__file__", "True", "False", "None", "bool", "float", "int", "len", "abs", "min", "max",
    "range", "dict", "list", "tuple", "zip", "round", "sum",
})

#: dunder names PySD's templates assign or read
DUNDER_NAMES = frozenset({"__file__", "__data", "__pysd_version__"})

#: ``pysd.py_backend`` modules a generated module may import public names from
PYSD_MODULES = frozenset({
    "functions", "statefuls", "lookups", "external", "allocation", "utils", "model", "data",
    "cache", "components",
})

ALLOWED_ATTRS = frozenset({
    # numpy / xarray functions and constants the builder writes
    "DataArray", "abs", "add", "all", "arange", "arccos", "arcsin", "arctan", "array",
    "cos", "cosh", "empty", "exp", "expand_dims", "full", "inf", "interp", "inv", "isnan",
    "linalg", "log", "logical_and", "logical_not", "logical_or", "max", "maximum", "min",
    "minimum", "moveaxis", "nan", "ndarray", "ones_like", "pi", "power", "prod", "random",
    "sin", "sinh", "sqrt", "sum", "tan", "tanh", "tile", "uniform", "zeros_like",
    # xarray methods
    "loc", "values", "rename", "reset_coords", "transpose", "reshape", "copy", "squeeze",
    # pathlib (``_root = Path(__file__).parent``, ``_root.joinpath("macro.py")``)
    "parent", "joinpath",
    # PySD's Component decorator and control-variable accessors
    "stage", "initial_time", "final_time", "time_step", "saveper",
})

#: (parent node, field) where a string constant may stand
STRING_PLACES = frozenset({
    ("Assign", "value"), ("Call", "args"), ("Dict", "keys"), ("Dict", "values"),
    ("Expr", "value"), ("List", "elts"), ("Tuple", "elts"), ("Subscript", "slice"),
    ("keyword", "value"), ("Compare", "comparators"),
})

#: external-data classes whose first argument is a file path
_EXTERNAL_CLASSES = frozenset({"ExtData", "ExtLookup", "ExtConstant", "ExtSubscript"})
_PLAIN_FILE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*\.py$")
_INPUT_FILE = re.compile(rf"^{INPUTS_FOLDER}/[0-9]+_[A-Za-z0-9_.-]+$")
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def check_generated_file(py_file: Path, model_path: Path) -> None:
    """Check one generated file (see :func:`check_generated_source`)."""
    source = Path(py_file).read_text(encoding="utf-8")
    check_generated_source(source, model_path=model_path, label=Path(py_file).name)


def check_generated_source(source: str, *, model_path: Path, label: str = "<generated>") -> None:
    """Refuse generated code that uses anything outside PySD's builder vocabulary.

    Parameters
    ----------
    source : str
        The generated module's text.
    model_path : Path
        The user's model file, for messages.
    label : str
        The generated file's name, for messages.

    Raises
    ------
    UnsafeModelError
        ``"{model}: generated code {label} line N: {construct} is not something
        PySD's builder writes; ..."``.
    """
    try:
        tree = ast.parse(source, filename=label)
    except SyntaxError as e:
        raise UnsafeModelError(
            f"{model_path}: generated code {label} does not parse (line {e.lineno}); "
            "the model text breaks out of PySD's templates"
        ) from None
    _Checker(tree, model_path, label).run()


class _Checker:
    def __init__(self, tree: ast.Module, model_path: Path, label: str):
        self.tree = tree
        self.model_path = model_path
        self.label = label
        self.parents: dict[int, tuple[ast.AST, str]] = {}
        for node in ast.walk(tree):
            for field, value in ast.iter_fields(node):
                for child in value if isinstance(value, list) else [value]:
                    if isinstance(child, ast.AST):
                        self.parents[id(child)] = (node, field)
        self.defined = self._defined_names()

    def refuse(self, node: ast.AST, what: str) -> UnsafeModelError:
        line = getattr(node, "lineno", None)
        if line is None:
            parent = self.parents.get(id(node))
            line = getattr(parent[0], "lineno", "?") if parent else "?"
        return UnsafeModelError(
            f"{self.model_path}: generated code {self.label} line {line}: {what} is not "
            "something PySD's builder writes; the model's text reached the code"
        )

    def _defined_names(self) -> set[str]:
        names: set[str] = set()
        for node in ast.walk(self.tree):
            if isinstance(node, ast.FunctionDef):
                names.add(node.name)
            elif isinstance(node, ast.arg):
                names.add(node.arg)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
            elif isinstance(node, ast.alias):
                names.add(node.asname or node.name.split(".")[0])
        names |= self._macro_params()
        return names

    def _macro_params(self) -> set[str]:
        """Identifiers in a macro module's ``_params = {"x": "x_1"}`` (set by PySD's Macro)."""
        out: set[str] = set()
        for stmt in self.tree.body:
            if (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1
                    and isinstance(stmt.targets[0], ast.Name) and stmt.targets[0].id == "_params"
                    and isinstance(stmt.value, ast.Dict)):
                for v in stmt.value.values:
                    if isinstance(v, ast.Constant) and isinstance(v.value, str) \
                            and _IDENT.match(v.value) and not v.value.startswith("__"):
                        out.add(v.value)
        return out

    def run(self) -> None:
        for node in ast.walk(self.tree):
            kind = type(node).__name__
            if kind not in ALLOWED_NODES:
                raise self.refuse(node, f"a {kind} node")
            check = getattr(self, f"_check_{kind}", None)
            if check is not None:
                check(node)

    # -- one method per node kind with rules -----------------------------------
    def _check_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if (alias.name, alias.asname) not in {("numpy", "np"), ("xarray", "xr")}:
                raise self.refuse(node, f"'import {alias.name}'")

    def _check_ImportFrom(self, node: ast.ImportFrom) -> None:
        mod = node.module or ""
        names = [a.name for a in node.names]
        ok = (mod == "pathlib" and names == ["Path"]) or (mod == "pysd" and names == ["Component"])
        if mod.startswith("pysd.py_backend."):
            ok = (mod.split(".", 2)[2] in PYSD_MODULES
                  and all(_IDENT.match(n) and not n.startswith("_") for n in names))
        if not ok or any(a.asname for a in node.names) or node.level:
            raise self.refuse(node, f"'from {mod} import {', '.join(names)}'")

    def _check_Name(self, node: ast.Name) -> None:
        name = node.id
        if name.startswith("__") and name not in DUNDER_NAMES:
            raise self.refuse(node, f"the name {name!r}")
        if isinstance(node.ctx, ast.Load) and name not in self.defined \
                and name not in FREE_NAMES:
            raise self.refuse(node, f"the undefined name {name!r}")

    def _check_FunctionDef(self, node: ast.FunctionDef) -> None:
        if node.name.startswith("__"):
            raise self.refuse(node, f"a function named {node.name!r}")

    def _check_Attribute(self, node: ast.Attribute) -> None:
        if node.attr not in ALLOWED_ATTRS:
            raise self.refuse(node, f"the attribute '.{node.attr}'")

    def _check_Call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Subscript):  # __data["time"]()
            ok = (isinstance(func.value, ast.Name) and func.value.id == "__data"
                  and isinstance(func.slice, ast.Constant) and func.slice.value == "time")
            if not ok:
                raise self.refuse(node, "a call of a subscripted value")
        elif not isinstance(func, ast.Name | ast.Attribute):
            raise self.refuse(node, f"a call of a {type(func).__name__}")
        name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
        first = node.args[0] if node.args else None
        if name == "joinpath" and not (isinstance(first, ast.Constant)
                                       and isinstance(first.value, str)
                                       and _PLAIN_FILE.match(first.value)):
            raise self.refuse(node, "a path outside the cache entry")
        if name in _EXTERNAL_CLASSES and not (isinstance(first, ast.Constant)
                                              and isinstance(first.value, str)
                                              and _INPUT_FILE.match(first.value)):
            shown = first.value if isinstance(first, ast.Constant) else type(first).__name__
            raise self.refuse(node, f"an external data file {shown!r} that sdkit did not copy")

    def _check_Constant(self, node: ast.Constant) -> None:
        if not isinstance(node.value, str | bytes):
            return
        if isinstance(node.value, bytes):
            raise self.refuse(node, "a bytes constant")
        parent, field = self.parents.get(id(node), (None, ""))
        place = (type(parent).__name__, field)
        if place not in STRING_PLACES:
            raise self.refuse(node, f"a string constant in {place[0]}.{place[1]}")
