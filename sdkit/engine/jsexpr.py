"""Translate the compiled engine's numpy expressions into JavaScript.

The program's node code (:mod:`.program`) is Python over numpy arrays with a
leading member axis. In the page a run has one member, so every array has a
shape ``(1, *sizes)`` known when the code is written. Each expression becomes
a :class:`Sym`: its shape and a function giving the JavaScript text of one
element at given index expressions (broadcasting, transposes, ``[:, [0, 2]]``
selections and ``None`` axes resolved here, once). Assignments then loop over
the elements; a value of one element is a plain JavaScript number.

Only generated names reach the output: nodes as ``v<key>``, constants as
``C<n>``/``T<n>_x``, runtime helpers as ``R.<name>`` and loop indices.
Anything outside the engine's vocabulary raises :class:`Unsupported`.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from sdkit.engine.expressions import Unsupported

__all__ = ["Sym", "Translator", "num", "flat_index"]

_MATH = {"abs": "Math.abs", "exp": "Math.exp", "sin": "Math.sin", "cos": "Math.cos",
         "tan": "Math.tan", "arcsin": "Math.asin", "arccos": "Math.acos",
         "arctan": "Math.atan", "sinh": "Math.sinh", "cosh": "Math.cosh",
         "tanh": "Math.tanh", "sqrt": "Math.sqrt", "log": "Math.log", "power": "Math.pow",
         "minimum": "Math.min", "maximum": "Math.max"}
_RT = {"xidz": "R.xidz", "zidz": "R.zidz", "integer": "Math.trunc", "modulo": "R.modulo"}
_OPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}
_CMP = {ast.Gt: ">", ast.Lt: "<", ast.GtE: ">=", ast.LtE: "<=", ast.Eq: "===",
        ast.NotEq: "!=="}
_MODES = {"interpolate": 0, "extrapolate": 1, "hold_backward": 2}
_REDUCE = {"sum": ("0", "{a} + {x}"), "prod": ("1", "{a} * {x}"),
           "max": ("-Infinity", "R.max({a}, {x})"), "min": ("Infinity", "R.min({a}, {x})")}


def num(value: float) -> str:
    """A float as JavaScript reads it back exactly."""
    value = float(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return repr(value)


def flat_index(idx: list[str], shape: tuple[int, ...]) -> str:
    """Row-major flat index of `idx` (index expressions) in `shape`."""
    terms, const, stride = [], 0, 1
    for i, size in zip(reversed(idx), reversed(shape)):
        if size != 1:
            if i.lstrip("-").isdigit():
                const += int(i) * stride
            else:
                terms.append(i if stride == 1 else f"{i} * {stride}")
        stride *= size
    if const or not terms:
        terms.append(str(const))
    return " + ".join(reversed(terms))


@dataclass
class Sym:
    """An expression's shape and its element at index expressions."""

    shape: tuple[int, ...]
    at: Callable[[list[str]], str]
    boolean: bool = False

    def elem(self, out_shape: tuple[int, ...], idx: list[str]) -> str:
        """The element broadcast to `out_shape` at `idx`."""
        off = len(out_shape) - len(self.shape)
        if off < 0:
            raise Unsupported(f"cannot broadcast {self.shape} to {out_shape}")
        return self.at([("0" if s == 1 else idx[j + off]) for j, s in enumerate(self.shape)])

    def truth(self, out_shape, idx) -> str:
        e = self.elem(out_shape, idx)
        return e if self.boolean else f"({e} !== 0)"  # numpy: NaN is true


def broadcast_shape(*shapes: tuple[int, ...]) -> tuple[int, ...]:
    try:
        return tuple(np.broadcast_shapes(*shapes))
    except ValueError as e:
        raise Unsupported(f"shapes {shapes} do not broadcast") from e


class Translator:
    """Turns one expression at a time into a :class:`Sym`.

    `names` maps a Python name of the generated code (``n_x``, ``C3``) to its
    JavaScript name and shape; `scalar(name)` says whether it is held as a
    number; `pre` collects statements an expression needs first (reductions).
    """

    def __init__(self, names: dict[str, tuple[str, tuple[int, ...]]], constants: dict,
                 new_constant: Callable[[np.ndarray], str]):
        self.names = names
        self.constants = constants
        self.new_constant = new_constant
        self.pre: list[str] = []
        self.counter = 0

    def fresh(self, stem: str) -> str:
        self.counter += 1
        return f"{stem}{self.counter}"

    # -- leaves ---------------------------------------------------------------------
    def name(self, py: str) -> Sym:
        if py in ("t", "dt"):
            return Sym((), lambda idx, py=py: py)
        if py not in self.names:
            raise Unsupported(f"name {py!r} in the engine's code")
        js, shape = self.names[py]
        if int(np.prod(shape)) == 1:
            return Sym(shape, lambda idx: js)
        return Sym(shape, lambda idx: f"{js}[{flat_index(idx, shape)}]")

    def expr(self, node: ast.AST) -> Sym:
        method = getattr(self, "_" + type(node).__name__, None)
        if method is None:
            raise Unsupported(f"{type(node).__name__} in the engine's code")
        return method(node)

    def _Constant(self, node):
        if isinstance(node.value, bool) or not isinstance(node.value, int | float):
            raise Unsupported(f"constant {node.value!r}")
        text = num(node.value)
        return Sym((), lambda idx: text)

    def _Name(self, node):
        return self.name(node.id)

    def _Attribute(self, node):
        full = ast.unparse(node)
        if full == "np.nan":
            return Sym((), lambda idx: "NaN")
        if full == "np.pi":
            return Sym((), lambda idx: num(np.pi))
        raise Unsupported(f"attribute {full}")

    # -- operators ------------------------------------------------------------------
    def _BinOp(self, node):
        a, b = self.expr(node.left), self.expr(node.right)
        shape = broadcast_shape(a.shape, b.shape)
        if isinstance(node.op, ast.Pow):
            return Sym(shape, lambda idx: f"Math.pow({a.elem(shape, idx)}, {b.elem(shape, idx)})")
        op = _OPS.get(type(node.op))
        if op is None:
            raise Unsupported(f"operator {type(node.op).__name__}")
        return Sym(shape, lambda idx: f"({a.elem(shape, idx)} {op} {b.elem(shape, idx)})")

    def _UnaryOp(self, node):
        a = self.expr(node.operand)
        if isinstance(node.op, ast.USub):
            return Sym(a.shape, lambda idx: f"(-{a.at(idx)})")
        if isinstance(node.op, ast.UAdd):
            return a
        raise Unsupported(f"unary {type(node.op).__name__}")

    def _Compare(self, node):
        if len(node.ops) != 1 or type(node.ops[0]) not in _CMP:
            raise Unsupported("chained comparison")
        a, b = self.expr(node.left), self.expr(node.comparators[0])
        shape = broadcast_shape(a.shape, b.shape)
        op = _CMP[type(node.ops[0])]
        return Sym(shape, lambda idx: f"({a.elem(shape, idx)} {op} {b.elem(shape, idx)})",
                   boolean=True)

    # -- indexing -------------------------------------------------------------------
    def _Subscript(self, node):
        base = self.expr(node.value)
        sl = node.slice
        if isinstance(sl, ast.BinOp):  # (slice(None),) + np.ix_([..], [..])
            lists = [ast.literal_eval(e) for e in sl.right.args]
            return self._select(base, [None] + lists)
        items = sl.elts if isinstance(sl, ast.Tuple) else [sl]
        spec = []
        for it in items:
            if isinstance(it, ast.Slice):
                if it.lower or it.upper or it.step:
                    raise Unsupported("a partial slice")
                spec.append(None)
            elif isinstance(it, ast.Constant) and it.value is None:
                spec.append("new")
            else:
                spec.append(ast.literal_eval(it))
        return self._select(base, spec)

    def _select(self, base: Sym, spec: list) -> Sym:
        """Index `base` by ``:`` (None), ``None`` ("new"), ints and lists of ints."""
        shape, plan, axis = [], [], 0
        for s in spec:
            if s == "new":
                shape.append(1)
                plan.append(("new", None))
                continue
            if s is None:
                shape.append(base.shape[axis])
                plan.append(("keep", axis))
            elif isinstance(s, int):
                plan.append(("int", s))
            else:
                shape.append(len(s))
                plan.append(("list", s))
            axis += 1
        shape += list(base.shape[axis:])
        plan += [("keep", a) for a in range(axis, len(base.shape))]
        maps = {}
        for kind, s in plan:
            if kind == "list" and list(s) != list(range(s[0], s[0] + len(s))):
                maps[id(s)] = self.new_constant(np.asarray(s, dtype=float))

        def at(idx):
            out, k = [], 0
            for kind, s in plan:
                if kind == "int":
                    out.append(str(s))
                    continue
                i = idx[k]
                k += 1
                if kind == "keep":
                    out.append(i)
                elif kind == "list":
                    if id(s) in maps:
                        out.append(f"{maps[id(s)]}[{i}]")
                    else:
                        out.append(i if s[0] == 0 else (str(int(i) + s[0]) if i.isdigit()
                                                         else f"({i} + {s[0]})"))
            return base.at(out)
        return Sym(tuple(shape), at, base.boolean)

    # -- calls ----------------------------------------------------------------------
    def _Call(self, node):
        fn = ast.unparse(node.func)
        args = node.args
        kw = {k.arg: k.value for k in node.keywords}
        if isinstance(node.func, ast.Attribute) and node.func.attr == "transpose":
            base = self.expr(node.func.value)
            perm = ast.literal_eval(args[0])
            inv = [perm.index(i) for i in range(len(perm))]
            return Sym(tuple(base.shape[p] for p in perm),
                       lambda idx: base.at([idx[inv[i]] for i in range(len(perm))]),
                       base.boolean)
        if fn == "float":
            return self.expr(args[0])
        if fn == "_full":
            x = self.expr(args[0])
            sizes = ast.literal_eval(args[1])
            shape = (1 if not x.shape else x.shape[0],) + tuple(sizes)
            return Sym(shape, lambda idx: x.elem(shape, idx), x.boolean)
        if fn.startswith("np.") and fn[3:] in _MATH:
            return self._elementwise(_MATH[fn[3:]], [self.expr(a) for a in args])
        if fn.startswith("rt.") and fn[3:] in _RT:
            return self._elementwise(_RT[fn[3:]], [self.expr(a) for a in args])
        if fn in ("np.where", "rt.if_then_else"):
            c, a, b = (self.expr(x) for x in args)
            shape = broadcast_shape(c.shape, a.shape, b.shape)
            return Sym(shape, lambda idx: f"({c.truth(shape, idx)} ? {a.elem(shape, idx)} : "
                                          f"{b.elem(shape, idx)})")
        if fn in ("np.logical_and", "np.logical_or"):
            a, b = self.expr(args[0]), self.expr(args[1])
            shape = broadcast_shape(a.shape, b.shape)
            op = "&&" if fn.endswith("and") else "||"
            return Sym(shape, lambda idx: f"({a.truth(shape, idx)} {op} {b.truth(shape, idx)})",
                       boolean=True)
        if fn == "np.logical_not":
            a = self.expr(args[0])
            return Sym(a.shape, lambda idx: f"(!{a.truth(a.shape, idx)})", boolean=True)
        if fn in ("np.sum", "np.prod", "np.max", "np.min"):
            return self._reduce(fn[3:], self.expr(args[0]), ast.literal_eval(kw["axis"]))
        if fn in ("rt.lookup", "np.interp"):
            mode = _MODES[ast.literal_eval(args[3])] if fn == "rt.lookup" else 0
            return self._lookup(args[0], args[1], args[2], mode)
        if fn in ("rt.step", "rt.ramp", "rt.pulse", "rt.pulse_train",
                  "rt.pulse_train_magnitude"):
            return self._time_function(fn[3:], args, kw)
        raise Unsupported(f"function {fn} in the engine's code")

    def _elementwise(self, js: str, syms: list[Sym]) -> Sym:
        shape = broadcast_shape(*(s.shape for s in syms))
        return Sym(shape, lambda idx: f"{js}(" + ", ".join(s.elem(shape, idx) for s in syms)
                   + ")")

    def _time_function(self, name: str, args, kw) -> Sym:
        # STEP, RAMP and PULSE read the time at the start of the step (``t_in``), as the
        # engine's Runge-Kutta rates do; under Euler ``t_in`` is ``t``
        first = Sym((), lambda idx: "t_in") if ast.unparse(args[0]) == "t" else None
        syms = [first or self.expr(args[0])] + [self.expr(a) for a in args[1:]]
        if name == "pulse":
            syms += [self.expr(kw[k]) if k in kw else Sym((), lambda idx: "undefined")
                     for k in ("width", "magnitude")]
        elif name == "ramp" and len(syms) == 3:
            syms.append(Sym((), lambda idx: "undefined"))
        return self._elementwise(f"R.{name}", syms)

    def _reduce(self, kind: str, arg: Sym, axes: tuple[int, ...]) -> Sym:
        """A reduction is computed first, into a temporary array, by explicit loops."""
        shape = tuple(s for i, s in enumerate(arg.shape) if i not in axes)
        size = int(np.prod(shape))
        tmp = self.fresh("r")
        start, combine = _REDUCE[kind]
        idx = [self.fresh("i") for _ in arg.shape]
        keep = [idx[i] for i in range(len(arg.shape)) if i not in axes]
        lines = [f"const {tmp} = new Float64Array({size}).fill({start});"]
        for i, s in zip(idx, arg.shape):
            lines.append(f"for (let {i} = 0; {i} < {s}; {i}++)")
        cell = f"{tmp}[{flat_index(keep, shape)}]"
        lines.append(f"  {cell} = " + combine.format(a=cell, x=arg.at(idx)) + ";")
        self.pre.append("\n".join(lines))
        return Sym(shape, lambda i: f"{tmp}[{flat_index(i, shape)}]")

    def _lookup(self, x_node, xs_node, ys_node, mode: int) -> Sym:
        x = self.expr(x_node)
        xs = self._table(xs_node)
        ys_value = self._eval(ys_node)
        if ys_value.ndim == 1:
            ys = self.new_constant(ys_value)
            return Sym(x.shape, lambda idx: f"R.lookup({x.at(idx)}, {xs}, {ys}, {mode})")
        rest = tuple(ys_value.shape[1:])
        lead = x.shape[0] if x.shape else 1
        out = (lead,) + broadcast_shape(x.shape[1:], rest)
        ncol = int(np.prod(rest))
        ys = self.new_constant(ys_value)

        def at(idx):
            col = flat_index([("0" if s == 1 else idx[1 + j + len(out) - 1 - len(rest)])
                              for j, s in enumerate(rest)], rest)
            xe = x.elem(out, idx) if x.shape else x.at([])
            return f"R.lookupCol({xe}, {xs}, {ys}, {col}, {ncol}, {mode})"
        return Sym(out, at)

    def _table(self, node) -> str:
        if not isinstance(node, ast.Name) or node.id not in self.constants:
            raise Unsupported("a lookup table that is not a constant")
        return self.names[node.id][0]

    def _eval(self, node) -> np.ndarray:
        """Value of an expression over constants only (a lookup's table, selected)."""
        free = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
        if not free <= set(self.constants):
            raise Unsupported("a lookup table that is not a constant")
        code = compile(ast.Expression(node), "<sdkit.jsgen>", "eval")
        value = eval(code, {"np": np, **self.constants})  # noqa: S307 - the engine's own code
        return np.ascontiguousarray(np.asarray(value, dtype=float))
