"""Symbols for the native engine's trace: scalars whose operations write code.

A :class:`Sym` is one scalar expression of the native code; a
:class:`SymArray` an array of them (and numbers). numpy's broadcasting,
slicing and sums work on them as on numbers; comparisons give expressions
rather than truth values; ``np.minimum``, ``np.where``, ``np.exp``... of the
trace's numpy (:func:`_np_shim`) write the calls of
:data:`sdkit.engine.native.CALLS`. Numbers are written exactly
(``repr(float)``). Used by :mod:`sdkit.engine.native_trace`.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np

from sdkit.engine.expressions import Unsupported

__all__ = ["Sym", "SymArray"]

def _c(x) -> str:
    """The code of a scalar: a symbol's expression, or a number written exactly."""
    if isinstance(x, Sym):
        return x.code
    if isinstance(x, bool | np.bool_):
        return "True" if x else "False"
    if isinstance(x, int | float | np.integer | np.floating):
        v = float(x)
        if math.isnan(v):
            return "np.nan"
        if math.isinf(v):
            return "np.inf" if v > 0 else "(-np.inf)"
        return repr(v) if v >= 0 else f"({v!r})"
    raise Unsupported(f"the native engine: a value of type {type(x).__name__}")


#: the ufunc each operator stands for (an operation with an array of symbols runs through it)
_UFUNCS = {"+": np.add, "-": np.subtract, "*": np.multiply, "/": np.true_divide,
           "**": np.power, "%": np.remainder, "//": np.floor_divide, "<": np.less,
           "<=": np.less_equal, ">": np.greater, ">=": np.greater_equal, "==": np.equal,
           "!=": np.not_equal, "&": np.bitwise_and, "|": np.bitwise_or}
#: ufuncs whose result must stay an expression (numpy would ask an object for its truth)
_OBJECT_RESULT = frozenset({np.less, np.less_equal, np.greater, np.greater_equal, np.equal,
                            np.not_equal, np.logical_and, np.logical_or, np.logical_not})


class SymArray(np.ndarray):
    """An array of symbols (and numbers): comparisons give expressions, not truth values."""

    def __array_ufunc__(self, ufunc, method, *inputs, **kw):
        args = [x.view(np.ndarray) if isinstance(x, SymArray) else _box(x) for x in inputs]
        if ufunc in _OBJECT_RESULT and method == "__call__":
            kw["dtype"] = object
        return _wrap(getattr(ufunc, method)(*args, **kw))


def _box(x):
    """A symbol as a 0-d object array (numpy refuses it as a bare operand)."""
    if isinstance(x, Sym):
        box = np.empty((), dtype=object)
        box[()] = x
        return box
    return x


def _wrap(result):
    if isinstance(result, np.ndarray) and result.dtype == object:
        return result.view(SymArray)
    if isinstance(result, tuple):
        return tuple(_wrap(r) for r in result)
    return result


def _binary(op: str, reflected: bool = False):
    ufunc = _UFUNCS[op]

    def method(self, other):
        if isinstance(other, np.ndarray):
            a, b = (other, _box(self)) if reflected else (_box(self), other)
            return SymArray.__array_ufunc__(None, ufunc, "__call__", a, b)
        a, b = (other, self) if reflected else (self, other)
        if op == "**":  # a call: CPython's ** would give a complex number, math.pow raises
            return Sym(f"_pow({_c(a)}, {_c(b)})")
        return Sym(f"({_c(a)} {op} {_c(b)})")
    return method


class Sym:
    """A scalar expression of the native code (one element of one member)."""

    __slots__ = ("code",)
    __array_ufunc__ = None  # an array operand: the operators below run numpy's ufunc

    def __init__(self, code: str):
        self.code = code

    __add__, __radd__ = _binary("+"), _binary("+", True)
    __sub__, __rsub__ = _binary("-"), _binary("-", True)
    __mul__, __rmul__ = _binary("*"), _binary("*", True)
    __truediv__, __rtruediv__ = _binary("/"), _binary("/", True)
    __pow__, __rpow__ = _binary("**"), _binary("**", True)
    __mod__, __rmod__ = _binary("%"), _binary("%", True)
    __floordiv__, __rfloordiv__ = _binary("//"), _binary("//", True)
    __lt__, __le__ = _binary("<"), _binary("<=")
    __gt__, __ge__ = _binary(">"), _binary(">=")
    __eq__, __ne__ = _binary("=="), _binary("!=")
    __and__, __rand__ = _binary("&"), _binary("&", True)
    __or__, __ror__ = _binary("|"), _binary("|", True)
    __hash__ = None

    def __neg__(self):
        return Sym(f"(-{self.code})")

    def __pos__(self):
        return self

    def __abs__(self):
        return Sym(f"abs({self.code})")

    def __invert__(self):
        return Sym(f"(not {self.code})")

    def __bool__(self):
        raise Unsupported("the native engine: a branch on a value that changes during the run")


def _call(fn: str, compute):
    """A numpy-style function on symbols (``fn(x, ...)``) or numbers (`compute`)."""
    def scalar(*args):
        if not any(isinstance(a, Sym) for a in args):
            return compute(*args)
        return Sym(f"{fn}({', '.join(_c(a) for a in args)})")
    return scalar


def _vectorise(scalar, nin: int):
    uf = np.frompyfunc(scalar, nin, 1)

    def apply(*args, **kw):
        if kw:
            raise Unsupported(f"the native engine: keyword arguments {sorted(kw)}")
        out = uf(*[x.view(np.ndarray) if isinstance(x, SymArray) else _box(x) for x in args])
        return _wrap(out if isinstance(out, np.ndarray) else _box(out))
    return apply


def _select(c, a, b):
    if isinstance(c, Sym):
        return Sym(f"({_c(a)} if {c.code} else {_c(b)})")
    return a if c else b


def _unary(name: str):
    real = getattr(np, name)
    return _vectorise(_call(f"np.{name}", lambda x: real(float(x))), 1)


#: the numpy functions the traced code may call on symbols, and what they become
_NP_SCALAR = {
    "where": _vectorise(_select, 3),
    "minimum": _vectorise(_call("_rt_min", np.minimum), 2),
    "maximum": _vectorise(_call("_rt_max", np.maximum), 2),
    "power": _vectorise(lambda a, b: a ** b, 2),
    "abs": _vectorise(abs, 1),
    "logical_and": _vectorise(_call("_rt_and", np.logical_and), 2),
    "logical_or": _vectorise(_call("_rt_or", np.logical_or), 2),
    "logical_not": _vectorise(_call("_rt_not", np.logical_not), 1),
    **{k: _unary(k) for k in ("exp", "log", "sqrt", "sin", "cos", "tan", "arcsin", "arccos",
                              "arctan", "sinh", "cosh", "tanh")},
}
#: numpy functions that only move elements (they work on arrays of symbols as they are)
_NP_STRUCTURAL = ("arange", "array", "asarray", "broadcast_to", "concatenate", "full", "ix_",
                  "ones", "reshape", "stack", "sum", "prod", "pi", "inf", "nan")


def _extreme(name: str, real):
    """``np.max``/``np.min`` on symbols: a reduction by ``_rt_max``/``_rt_min`` (nan wins)."""
    pair = np.frompyfunc(_call(name, real), 2, 1)

    def apply(x, axis=None):
        x = np.asarray(x, dtype=object).view(np.ndarray)
        if axis is None:
            x, axis = x.ravel(), 0
        for ax in sorted(np.atleast_1d(axis) % max(x.ndim, 1), reverse=True):
            x = np.asarray(pair.reduce(x, axis=int(ax)), dtype=object)
        return _wrap(_box(x[()] if x.ndim == 0 else x))
    return apply


_NP_SCALAR["max"] = _extreme("_rt_max", np.maximum)
_NP_SCALAR["min"] = _extreme("_rt_min", np.minimum)


def _structural(fn):
    if not callable(fn):
        return fn  # pi, inf, nan

    def apply(*args, **kw):
        return _wrap(fn(*args, **kw))
    return apply


def _np_shim() -> SimpleNamespace:
    ns = SimpleNamespace(**_NP_SCALAR)
    for k in _NP_STRUCTURAL:
        setattr(ns, k, _structural(getattr(np, k)))
    return ns
