"""Graph helpers of :mod:`.codegen`: node order, reachable nodes, equal node code."""

from __future__ import annotations

import re
import sys

import numpy as np

from sdkit.engine.expressions import Unsupported

__all__ = ["same_code", "topo", "closure"]

_CONST_REF = re.compile(r"(?<![.\w])([CT]\d+(?:_[xy])?)\b")  # a constant of the program


def same_code(a: list[str], b: list[str], constants: dict) -> bool:
    """Whether two node codes compute the same: equal text, up to constants (each pass
    compiles its own copy of a literal, ``C12`` in one and ``C13`` in the other) that
    hold equal arrays."""
    if a == b:
        return True
    pa, pb = _CONST_REF.split("\n".join(a)), _CONST_REF.split("\n".join(b))
    if len(pa) != len(pb) or pa[0::2] != pb[0::2]:
        return False
    for x, y in zip(pa[1::2], pb[1::2]):
        cx, cy = constants.get(x), constants.get(y)
        if cx is None or cy is None or np.shape(cx) != np.shape(cy) \
                or np.asarray(cx).dtype != np.asarray(cy).dtype \
                or not np.array_equal(cx, cy, equal_nan=True):
            return False
    return True


def topo(names: set[str], deps_of) -> list[str]:
    """`names` ordered so that each comes after its dependencies among them.

    Raises
    ------
    Unsupported
        A circular definition.
    """
    order, state = [], {}

    def visit(n, stack):
        mark = state.get(n)
        if mark == 2:
            return
        if mark == 1:
            raise Unsupported(f"circular definition through {n!r}")
        state[n] = 1
        for d in sorted(deps_of(n)):
            if d in names:
                visit(d, stack)
        state[n] = 2
        order.append(n)

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 10 * len(names) + 1000))
    try:
        for n in sorted(names):
            visit(n, None)
    finally:
        sys.setrecursionlimit(limit)
    return order


def closure(start, deps_of) -> set[str]:
    """`start` and every node it depends on, directly or not."""
    seen, todo = set(), list(start)
    while todo:
        n = todo.pop()
        if n in seen:
            continue
        seen.add(n)
        todo.extend(deps_of(n))
    return seen
