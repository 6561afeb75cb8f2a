"""Evaluate one element's equation over a whole run at once (numpy arrays).

Loop scores need each equation re-evaluated with one input moved forward a
step (*ceteris paribus*). :class:`VectorEvaluator` walks PySD's abstract
expression with every reference read as an array over time, so one call
gives the value at every step. It covers the arithmetic, logic and
functions feedback equations use (``MIN``, ``MAX``, ``ABS``, ``EXP``,
``LN``, ``SQRT``, ``XIDZ``, ``ZIDZ``, ``IF THEN ELSE``, ``SUM``/``PROD``/
``VMIN``/``VMAX`` over elements, ``STEP``, ``RAMP``, ``PULSE``, lookup
tables); anything else raises
:class:`~sdkit.errors.UnsupportedConstructError` naming the function.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
from pysd.translators.structures import abstract_expressions as ae

from sdkit.errors import UnsupportedConstructError
from sdkit.structure.elements import Resolver, node_name
from sdkit.structure.graph import name_key

__all__ = ["VectorEvaluator"]


def _min(*a):
    return np.minimum(a[0], a[1]) if len(a) == 2 else np.min(a[0], axis=0)


def _max(*a):
    return np.maximum(a[0], a[1]) if len(a) == 2 else np.max(a[0], axis=0)


def _ramp(t):
    def ramp(slope, start, end=None):
        stop = np.inf if end is None else end
        return np.where(t < start, 0.0, slope * (np.minimum(t, stop) - start))
    return ramp


_FUNCTIONS: dict[str, Callable] = {
    "min": _min, "max": _max, "abs": np.abs, "exp": np.exp, "ln": np.log, "sqrt": np.sqrt,
    "log": lambda x, base=10.0: np.log(x) / np.log(base),
    "integer": np.trunc, "int": np.trunc, "sin": np.sin, "cos": np.cos, "tan": np.tan,
    "arctan": np.arctan, "arcsin": np.arcsin, "arccos": np.arccos, "tanh": np.tanh,
    "power": np.power, "modulo": np.mod,
    "xidz": lambda a, b, x: np.where(b == 0, x, a / np.where(b == 0, 1.0, b)),
    "zidz": lambda a, b: np.where(b == 0, 0.0, a / np.where(b == 0, 1.0, b)),
    "if_then_else": lambda c, a, b: np.where(c != 0, a, b),
    "sum": lambda a: np.sum(a, axis=0) if np.ndim(a) > 1 else a,
    "prod": lambda a: np.prod(a, axis=0) if np.ndim(a) > 1 else a,
    "vmin": lambda a: np.min(a, axis=0) if np.ndim(a) > 1 else a,
    "vmax": lambda a: np.max(a, axis=0) if np.ndim(a) > 1 else a,
}
_TIMED = {
    "step": lambda t: (lambda height, start: np.where(t >= start, height, 0.0)),
    "pulse": lambda t: (lambda start, width: np.where((t >= start) & (t < start + width),
                                                        1.0, 0.0)),
    "ramp": _ramp,
}
_BINARY = {"+": np.add, "-": np.subtract, "*": np.multiply, "/": np.divide, "^": np.power}
_LOGIC = {"=": np.equal, "<>": np.not_equal, "<": np.less, ">": np.greater,
          "<=": np.less_equal, ">=": np.greater_equal,
          ":and:": np.logical_and, ":or:": np.logical_or}


class VectorEvaluator:
    """Evaluates element equations over arrays of values.

    Parameters
    ----------
    resolver : Resolver
        Maps references to the elements they read.
    lookups : mapping
        ``name_key -> LookupsStructure`` of the model's lookup tables.
    """

    def __init__(self, resolver: Resolver, lookups: Mapping[str, object]):
        self.resolver = resolver
        self.lookups = lookups

    def __call__(self, ast, binding, get: Callable[[str], np.ndarray], time: np.ndarray,
                 *, where: str = "") -> np.ndarray:
        """Value of `ast` at every step.

        Parameters
        ----------
        ast : object
            The expression (the flow of an ``INTEG``, not the ``INTEG`` itself).
        binding : tuple of (str, str)
            The element's ``(dimension, element)`` pairs.
        get : callable
            ``node -> array`` of the values the expression reads.
        time : numpy.ndarray
            The time of each step.
        where : str
            The element, for error messages.
        """
        with np.errstate(all="ignore"):
            out = _Walk(self, binding, get, time, where).eval(ast)
        return np.broadcast_to(np.asarray(out, dtype=float), time.shape)


class _Walk:
    def __init__(self, owner: VectorEvaluator, binding, get, time, where):
        self.owner, self.binding, self.get, self.time, self.where = (owner, binding, get,
                                                                    time, where)

    def fail(self, what: str):
        raise UnsupportedConstructError(f"loop scores: {self.where!r}: cannot evaluate {what}")

    def eval(self, node):
        if isinstance(node, bool | int | float | np.number):
            return float(node)
        if isinstance(node, ae.ReferenceStructure):
            return self.reference(node)
        if isinstance(node, ae.ArithmeticStructure):
            return self.arithmetic(node)
        if isinstance(node, ae.LogicStructure):
            args = [self.eval(a) for a in node.arguments]
            if len(args) == 1:
                return np.logical_not(args[0]).astype(float)
            return _LOGIC[node.operators[0].lower()](args[0], args[1]).astype(float)
        if isinstance(node, ae.CallStructure):
            return self.call(node)
        return self.fail(type(node).__name__.replace("Structure", "").upper())

    def reference(self, node):
        key = name_key(node.reference)
        if key == "time":
            return self.time
        variable = self.owner.resolver.variable(node.reference)
        if variable is None:
            return self.fail(f"the name {node.reference!r}")
        subs = node.subscripts.subscripts if node.subscripts else None
        elems = self.owner.resolver.elements(variable, subs, self.binding)
        values = [self.get(node_name(variable, e)) for e in elems]
        if len(values) == 1:
            return values[0]
        return np.stack([np.broadcast_to(v, self.time.shape) for v in values])

    def arithmetic(self, node):
        args = [self.eval(a) for a in node.arguments]
        if len(args) == 1:
            return -args[0] if node.operators and node.operators[0] == "negative" else args[0]
        acc = args[0]
        for op, arg in zip(node.operators, args[1:]):
            acc = _BINARY[op](acc, arg)
        return acc

    def call(self, node):
        fn = node.function.reference if isinstance(node.function, ae.ReferenceStructure) else ""
        table = self.owner.lookups.get(name_key(fn))
        args = [self.eval(a) for a in node.arguments]
        if table is not None:
            return np.interp(args[0], np.asarray(table.x, float), np.asarray(table.y, float))
        if fn in _FUNCTIONS:
            return _FUNCTIONS[fn](*args)
        if fn in _TIMED:
            return _TIMED[fn](self.time)(*args)
        return self.fail(f"the function {fn.upper()!r}")
