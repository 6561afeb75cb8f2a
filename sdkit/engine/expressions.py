"""Compile PySD abstract-syntax nodes into numpy source code.

Every compiled value is a :class:`Val`: a Python expression string plus the
labels of its subscript axes. Arrays carry a leading ensemble axis (size N or
1), so a value with labels ``("City",)`` has shape ``(N, n_city)``; plain
numbers (literals, time) have no axis at all. Axes are matched by label, as
PySD's xarray code does, and reordered or expanded at compile time.

Stateful structures (INTEG, SMOOTH, DELAY, ...) are not compiled here: the
:class:`Component` context hands them to the program builder, which turns
them into hidden nodes.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

import numpy as np
from pysd.translators.structures import abstract_expressions as ae

__all__ = ["Unsupported", "Val", "Component", "compile_expr", "align", "FUNCTIONS"]


class Unsupported(Exception):
    """A construct the engine does not compile (the caller falls back to PySD)."""


@dataclass(frozen=True)
class Val:
    """A compiled expression: code, axis labels and their elements."""

    code: str
    labels: tuple[str, ...] = ()
    coords: tuple[tuple[str, ...], ...] = ()
    num: bool = False  # no ensemble axis (a literal or a function of time only)


@dataclass
class Component:
    """What an expression is compiled against: one component of one element.

    `program` is the builder (names, subscripts, lookups, hidden nodes); the
    compile records the nodes it reads in `deps` and whether it reads time.
    """

    program: object
    element: str
    def_subs: dict[str, list[str]]
    mode: str  # "run" or "init"
    deps: set[str] = field(default_factory=set)
    uses_time: bool = False
    counter: int = 0

    def next_id(self) -> int:
        self.counter += 1
        return self.counter


# -- axis handling --------------------------------------------------------------
def _index_code(labels: tuple[str, ...], target: tuple[str, ...]) -> str:
    idx = ", ".join(":" if lab in labels else "None" for lab in target)
    return f"[:, {idx}]"


def align(val: Val, target: tuple[str, ...]) -> str:
    """Code for `val` with its axes reordered and expanded to `target` labels."""
    if val.num or not target:
        if val.labels:
            raise Unsupported(f"cannot drop subscript axes {val.labels}")
        return val.code
    missing = [lab for lab in val.labels if lab not in target]
    if missing:
        raise Unsupported(f"subscripts {missing} do not match {list(target)}")
    code = val.code
    present = [lab for lab in target if lab in val.labels]
    if list(val.labels) != present:
        perm = [0] + [val.labels.index(lab) + 1 for lab in present]
        code = f"({code}).transpose({tuple(perm)})"
    if tuple(present) == tuple(target):
        return code
    return f"({code}){_index_code(tuple(present), target)}"


def broadcast(vals: list[Val]) -> tuple[list[str], tuple[str, ...], tuple, bool]:
    """Align several values to the union of their labels."""
    labels: list[str] = []
    coords: list[tuple[str, ...]] = []
    for v in vals:
        for lab, co in zip(v.labels, v.coords):
            if lab not in labels:
                labels.append(lab)
                coords.append(co)
            elif coords[labels.index(lab)] != co:
                raise Unsupported(f"axis {lab!r} with different elements")
    target = tuple(labels)
    codes = [v.code if v.num else f"({align(v, target)})" for v in vals]
    return codes, target, tuple(coords), all(v.num for v in vals)


# -- operators and functions ---------------------------------------------------
_BINARY = {"^": "**", "*": "*", "/": "/", "+": "+", "-": "-", "=": "==", "<>": "!=",
           ">=": ">=", ">": ">", "<=": "<=", "<": "<"}
_LOGIC = {":AND:": "np.logical_and", ":OR:": "np.logical_or"}

#: function name -> (template using {0}, {1}, ...; needs time; reduces over "!" axes)
FUNCTIONS = {
    "abs": "np.abs({0})", "power": "np.power({0}, {1})", "min": "np.minimum({0}, {1})",
    "max": "np.maximum({0}, {1})", "exp": "np.exp({0})", "sin": "np.sin({0})",
    "cos": "np.cos({0})", "tan": "np.tan({0})", "arcsin": "np.arcsin({0})",
    "arccos": "np.arccos({0})", "arctan": "np.arctan({0})", "sinh": "np.sinh({0})",
    "cosh": "np.cosh({0})", "tanh": "np.tanh({0})", "sqrt": "np.sqrt({0})",
    "ln": "np.log({0})", "log": "(np.log({0})/np.log({1}))",
    "integer": "rt.integer({0})", "modulo": "rt.modulo({0}, {1})",
    "xidz": "rt.xidz({0}, {1}, {2})", "zidz": "rt.zidz({0}, {1})",
    "if_then_else": "rt.if_then_else({0}, {1}, {2})",
    "quantum": "({0} - rt.modulo({0}, {1}))",
}
_TIME_FUNCTIONS = {
    "step": "rt.step(t, dt, {0}, {1})",
    "ramp": "rt.ramp(t, {0}, {1}, {2})",
    "Xramp": "rt.ramp(t, {0}, {1})",
    "pulse": "rt.pulse(t, dt, {0}, width={1})",
    "Xpulse": "rt.pulse(t, dt, {0}, magnitude={1})",
    "pulse_train": "rt.pulse_train(t, dt, {0}, {1}, {2}, {3})",
    "Xpulse_train": "rt.pulse_train_magnitude(t, dt, {0}, {1}, {2})",
}
_REDUCE = {"sum": "np.sum", "prod": "np.prod", "vmax": "np.max", "vmin": "np.min"}


def compile_expr(node, comp: Component) -> Val:
    """Compile one abstract-syntax node in the context of `comp`."""
    if isinstance(node, bool):
        return Val(repr(float(node)), num=True)
    if isinstance(node, int | float | np.integer | np.floating):
        return Val("np.nan" if np.isnan(node) else repr(float(node)), num=True)
    if isinstance(node, np.ndarray):
        return _array(node, comp)
    kind = type(node)
    if kind in (ae.ArithmeticStructure, ae.LogicStructure):
        return _operation(node, comp)
    if kind is ae.ReferenceStructure:
        return comp.program.reference(node, comp)
    if kind is ae.CallStructure:
        return _call(node, comp)
    if kind is ae.GameStructure:  # GAME(x) is x outside gaming sessions
        return compile_expr(node.expression, comp)
    if kind is ae.InlineLookupsStructure:
        arg = compile_expr(node.argument, comp)
        name = comp.program.add_table(as_pysd_writes(node.lookups.x),
                                      as_pysd_writes(node.lookups.y))
        return Val(f"np.interp({arg.code}, {name}_x, {name}_y)", arg.labels, arg.coords,
                   arg.num)
    return comp.program.stateful(node, comp)


def _array(node: np.ndarray, comp: Component) -> Val:
    labels = tuple(comp.def_subs)
    coords = tuple(tuple(v) for v in comp.def_subs.values())
    shape = tuple(len(c) for c in coords)
    if node.size != int(np.prod(shape)):
        raise Unsupported(f"array constant of shape {node.shape} for subscripts {shape}")
    # as PySD: reshaped row-major, then printed into the generated code
    value = as_pysd_writes(np.asarray(node, float).ravel()).reshape(shape)
    name = comp.program.add_constant(value[None])
    return Val(name, labels, coords)


def _operation(node, comp: Component) -> Val:
    ops = list(node.operators)
    args = [compile_expr(a, comp) for a in node.arguments]
    codes, labels, coords, num = broadcast(args)
    if len(args) == 1:
        op = ops[0]
        if op == "negative":
            return Val(f"(-{codes[0]})", labels, coords, num)
        if op == ":NOT:":
            return Val(f"np.logical_not({codes[0]})", labels, coords, num)
        raise Unsupported(f"unary operator {op!r}")
    if any(op in _LOGIC for op in ops):
        if len(set(ops)) != 1:
            raise Unsupported(f"mixed logical operators {ops}")
        fn = _LOGIC[ops[0]]
        code = codes[0]
        for c in codes[1:]:
            code = f"{fn}({code}, {c})"
        return Val(code, labels, coords, num)
    parts = [codes[0]]
    for op, c in zip(ops, codes[1:]):
        if op not in _BINARY:
            raise Unsupported(f"operator {op!r}")
        parts += [_BINARY[op], c]
    return Val("(" + " ".join(parts) + ")", labels, coords, num)


def _call(node, comp: Component) -> Val:
    fname = node.function.reference
    program = comp.program
    if program.is_lookup(fname):
        return program.lookup_call(node, comp)
    if fname == "active_initial":
        return compile_expr(node.arguments[1 if comp.mode == "init" else 0], comp)
    if fname in _REDUCE:
        arg = compile_expr(node.arguments[0], comp)
        axes = tuple(i + 1 for i, lab in enumerate(arg.labels) if lab.endswith("!"))
        if arg.num or not axes:
            raise Unsupported(f"{fname.upper()} without a '!' dimension")
        keep = [(lab, co) for lab, co in zip(arg.labels, arg.coords) if not lab.endswith("!")]
        return Val(f"{_REDUCE[fname]}({arg.code}, axis={axes})", tuple(k for k, _ in keep),
                   tuple(c for _, c in keep))
    if fname == "pi":
        return Val("np.pi", num=True)
    if fname == "get_time_value":
        return _get_time_value(node, comp)
    if fname == "elmcount":
        arg = node.arguments[0]
        ref = getattr(arg, "reference", None)
        found = program.subs.subscript2num.get(ref, (None, {}))[1]
        if len(found) != 1:
            raise Unsupported("ELMCOUNT of something other than a subscript range")
        return Val(repr(float(len(next(iter(found.values()))))), num=True)
    template = FUNCTIONS.get(fname) or _TIME_FUNCTIONS.get(fname)
    if template is None:
        raise Unsupported(f"function {fname.upper().replace('_', ' ')}")
    args = [compile_expr(a, comp) for a in node.arguments]
    if fname == "ramp" and len(args) == 3 and args[2].code == "None":
        raise Unsupported("RAMP with no end")
    codes, labels, coords, num = broadcast(args)
    if fname in _TIME_FUNCTIONS:
        comp.uses_time = True
    code = template.format(*codes)
    if num and fname in ("if_then_else", "xidz", "zidz", "modulo", "quantum", "pulse",
                         "Xpulse", "pulse_train", "Xpulse_train"):
        code = f"float({code})"
    return Val(code, labels, coords, num)


def _get_time_value(node, comp: Component) -> Val:
    """GET TIME VALUE(0, offset, 0): the current time plus `offset`, in the model's unit.

    Other reference times (the initial time, the computer clock) and
    calendar measures are left to PySD, which refuses what it cannot do.
    """
    relative_to, offset, measure = node.arguments
    if not (isinstance(relative_to, int | float) and isinstance(measure, int | float)
            and relative_to == 0 and measure == 0):
        raise Unsupported("GET TIME VALUE other than the current time in the model's units")
    arg = compile_expr(offset, comp)
    comp.uses_time = True
    return Val(f"(t + {arg.code})", arg.labels, arg.coords, arg.num)


def as_pysd_writes(values) -> np.ndarray:
    """Lookup points as PySD's generated code holds them (printed by array2string)."""
    arr = np.asarray(values, dtype=float)
    text = np.array2string(arr, separator=",", threshold=len(arr))
    return np.asarray(ast.literal_eval(text.replace("\n", "")), dtype=float)
