"""Structural check of the compiled engine's generated code: :func:`check_engine_source`.

The engine (:mod:`sdkit.engine.codegen`) writes Python from the abstract
model; its code holds only sdkit-made identifiers, numbers and a fixed set
of strings (model text travels as data). Code kept in the cache
(:mod:`sdkit.engine.compiled_cache`) is checked against this allow-list
every time it is read back, before it is compiled, and fresh code before it
is kept. The check requires the vocabulary codegen writes, measured on every
model of the conformance suite, the test models and IIS, with Euler and RK4:

* **node types** :data:`ALLOWED_NODES` (no imports, classes, lambdas,
  comprehensions, ``with``, ``try``, ``global``, f-strings);
* **top level**: only the functions :data:`FUNCTIONS`, plain positional
  arguments from :data:`ARGUMENTS`, no decorators or defaults; no function
  inside a function;
* **names**: :data:`NAMES` and sdkit-made ones (``v12``, ``C3``, ``T4_x``);
  ``np`` and ``rt`` only to read one of their functions (never as a value,
  which could be given another name), the helpers of :data:`HELPERS` only
  called;
* **assignments**: only to the engine's own locals, :data:`LOCALS` and node
  values (``v12``), as a whole or an item of them (``S[3] = ...``); never to
  ``np``, ``rt``, a helper, a constant or an attribute;
* **attributes**: only read; a numpy function of :data:`NUMPY`, a function the
  engine's runtime defines (``rt.lookup``), or one of :data:`ARRAY_ATTRS` of a
  value (a name, a call's result, an item, an operator's result: never an
  ``if``-``else`` expression, a ``dict`` or a ``list``, which could hide
  ``np`` or ``rt`` from the test); never a dunder;
* **keyword arguments**: those of :data:`KEYWORDS`;
* **constants**: numbers, ``None``, booleans and the strings of :data:`STRINGS`.

Text that is too deeply nested to parse is refused like any other.
"""

from __future__ import annotations

import ast
import re
import types
from typing import NamedTuple

from sdkit.engine import runtime

__all__ = ["check_engine_source", "EngineSourceError"]

ALLOWED_NODES = frozenset({
    "Module", "FunctionDef", "arguments", "arg", "Assign", "Return", "If", "IfExp",
    "Name", "Load", "Store", "Attribute", "Subscript", "Slice", "Tuple", "List", "Dict",
    "Call", "keyword", "Constant", "BinOp", "UnaryOp", "Compare", "BoolOp",
    "Add", "Sub", "Mult", "Div", "FloorDiv", "Mod", "Pow", "USub", "UAdd", "Not", "And", "Or",
    "Eq", "NotEq", "Lt", "LtE", "Gt", "GtE",
})
FUNCTIONS = frozenset({"control", "init_fixed", "init", "step", "step_lean", "rates"})
ARGUMENTS = frozenset({"t", "t_in", "dt", "S", "K", "N", "OV", "save", "update"})
NAMES = ARGUMENTS | frozenset({
    "np", "rt", "_full", "_mat", "_override", "_kept_order", "_lowered_order", "_fixed_order",
    "_chain", "_order", "D", "S2", "out", "_x", "_o", "_tm", "_p", "_b", "_out",
    "len", "int", "float", "range", "slice", "True", "False", "None",
})
#: names that stand only as what they are for: ``np.<f>``/``rt.<f>``, ``_full(...)``
MODULES = frozenset({"np", "rt"})
HELPERS = frozenset({"_full", "_mat", "_override", "_kept_order", "_lowered_order",
                     "_fixed_order", "_chain", "_order", "len", "int", "float", "range", "slice"})
SDKIT_MADE = re.compile(r"^(v\d+|C\d+|T\d+_[xy])$")
#: what codegen assigns to besides node values ``v<n>``: the states and their next values
#: (``S``, ``S2``), rates (``D``), the values that never change (``K``), the outputs, the
#: time settings of ``control`` (``t``, ``dt``) and the scratch names of the state updates
LOCALS = frozenset({"S", "S2", "D", "K", "out", "t", "dt", "_x", "_o", "_tm", "_p", "_b",
                    "_out"})
NODE_VALUE = re.compile(r"^v\d+$")
#: what an attribute may be read from (``(v1 + v2).transpose(...)``, ``_p[0].copy()``)
ATTRIBUTE_BASES = (ast.Name, ast.Call, ast.BinOp, ast.UnaryOp, ast.Compare)
NUMPY = frozenset({
    "abs", "any", "arange", "arccos", "arcsin", "arctan", "array", "asarray", "broadcast_to",
    "concatenate", "cos", "cosh", "diff", "exp", "full", "interp", "isnan", "ix_", "log",
    "logical_and", "logical_not", "logical_or", "max", "maximum", "min", "minimum", "nan",
    "ones", "pi", "power", "prod", "reshape", "round", "searchsorted", "sin", "sinh", "sqrt",
    "stack", "sum", "tan", "tanh", "unique", "where", "inf",
})
#: the functions the engine's runtime module itself defines (not what it imports)
RUNTIME = frozenset(
    k for k, v in vars(runtime).items()
    if not k.startswith("_") and isinstance(v, types.FunctionType)
    and v.__module__ == runtime.__name__)
ARRAY_ATTRS = frozenset({"shape", "ndim", "T", "transpose", "reshape", "copy"})
STRINGS = frozenset({"initial_time", "final_time", "time_step", "saveper",
                     "interpolate", "extrapolate", "hold_backward", "look_forward"})
#: ``np.sum(..., axis=...)``; ``rt.pulse(..., width=...)`` and ``magnitude=`` (PULSE and
#: XMILE's PULSE)
KEYWORDS = frozenset({"axis", "width", "magnitude"})


class EngineSourceError(ValueError):
    """Generated engine code that is not made of codegen's vocabulary."""


def _refuse(node: ast.AST, what: str) -> None:
    raise EngineSourceError(f"line {getattr(node, 'lineno', '?')}: {what}")


def _check_top(tree: ast.Module) -> None:
    for fn in tree.body:
        if not isinstance(fn, ast.FunctionDef) or fn.name not in FUNCTIONS:
            _refuse(fn, "only the engine's functions may stand at the top level")
        a = fn.args
        if fn.decorator_list or fn.returns or a.defaults or a.kw_defaults or a.vararg \
                or a.kwarg or a.kwonlyargs or a.posonlyargs:
            _refuse(fn, f"function {fn.name!r} is not as the engine writes it")
        if any(arg.arg not in ARGUMENTS or arg.annotation for arg in a.args):
            _refuse(fn, f"function {fn.name!r} has an argument the engine never writes")


def _assignable(name: str) -> bool:
    return name in LOCALS or bool(NODE_VALUE.match(name))


def _check_store(node: ast.AST) -> None:
    """An assignment's target: an engine local, or an item of one (``_p[0][_p[1]]``)."""
    if isinstance(node, ast.Name) and not _assignable(node.id):
        _refuse(node, f"assignment to {node.id!r}, which the engine never assigns to")
    elif isinstance(node, ast.Subscript):
        root = node.value
        while isinstance(root, ast.Subscript):
            root = root.value
        if not (isinstance(root, ast.Name) and _assignable(root.id)):
            _refuse(node, "assignment to an item of something other than an engine local")
    elif isinstance(node, ast.Attribute):
        _refuse(node, f"assignment to the attribute {node.attr!r}")


def _check_attribute(node: ast.Attribute) -> None:
    if not isinstance(node.ctx, ast.Load):
        _check_store(node)
    root = node.value
    while isinstance(root, ast.Subscript):
        root = root.value
    if not isinstance(root, ATTRIBUTE_BASES):
        _refuse(node, f"attribute {node.attr!r} read from {type(root).__name__} (the engine "
                "reads attributes of names, calls, items and operators' results only)")
    base = node.value.id if isinstance(node.value, ast.Name) else None
    ok = (base == "np" and node.attr in NUMPY) or (base == "rt" and node.attr in RUNTIME) \
        or (base not in ("np", "rt") and node.attr in ARRAY_ATTRS)
    if not ok:
        _refuse(node, f"attribute {node.attr!r} is not one the engine writes")


class _Where(NamedTuple):
    """Node ids by where they stand: top-level functions, attribute bases, called names."""

    top: frozenset[int]
    bases: frozenset[int]
    called: frozenset[int]


def _check_name(node: ast.Name, where: _Where) -> None:
    if node.id not in NAMES and not SDKIT_MADE.match(node.id):
        _refuse(node, f"name {node.id!r} is not one the engine writes")
    if not isinstance(node.ctx, ast.Load):
        _check_store(node)
    elif node.id in MODULES and id(node) not in where.bases:
        _refuse(node, f"{node.id!r} used other than to read one of its functions")
    elif node.id in HELPERS and id(node) not in where.called:
        _refuse(node, f"{node.id!r} used other than to call it")


def _check_node(node: ast.AST, where: _Where) -> None:
    kind = type(node).__name__
    if kind not in ALLOWED_NODES:
        _refuse(node, f"{kind} is not part of generated engine code")
    if isinstance(node, ast.Name):
        _check_name(node, where)
    elif isinstance(node, ast.Subscript):
        if not isinstance(node.ctx, ast.Load):
            _check_store(node)
    elif isinstance(node, ast.Attribute):
        _check_attribute(node)
    elif isinstance(node, ast.FunctionDef):
        if id(node) not in where.top:
            _refuse(node, "a function inside a function")
    elif isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, str):
            if value not in STRINGS:
                _refuse(node, "a string constant the engine never writes")
        elif not (value is None or isinstance(value, bool | int | float)):
            _refuse(node, f"a {type(value).__name__} constant")
    elif isinstance(node, ast.keyword):
        if node.arg not in KEYWORDS:
            _refuse(node, f"keyword argument {node.arg!r}")
    elif isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name | ast.Attribute):
            _refuse(node, "a call of something that is neither a name nor an attribute")


def check_engine_source(text: str) -> ast.Module:
    """Refuse generated engine code that codegen would not have written.

    Returns the checked syntax tree: compiling it (:func:`~sdkit.engine.codegen.bind`)
    runs exactly what was checked, without parsing the text a second time.

    Raises
    ------
    EngineSourceError
        The first construct outside the allow-list, with its line; or text
        that is not Python, or too deeply nested for the parser.
    """
    try:
        tree = ast.parse(text, mode="exec")
    except SyntaxError as e:
        raise EngineSourceError(f"line {e.lineno or '?'}: not valid Python") from None
    except (ValueError, MemoryError, RecursionError) as e:  # null bytes; nesting
        raise EngineSourceError(f"not Python the engine writes ({type(e).__name__})") from None
    _check_top(tree)
    nodes = list(ast.walk(tree))
    where = _Where(frozenset(map(id, tree.body)),
                   frozenset(id(n.value) for n in nodes if isinstance(n, ast.Attribute)),
                   frozenset(id(n.func) for n in nodes if isinstance(n, ast.Call)))
    for node in nodes:
        _check_node(node, where)
    return tree
