"""Helpers the compiled engine's generated code calls (``_full``, ``_mat``, ...).

:func:`sdkit.engine.codegen.bind` puts them in the generated code's namespace;
:data:`sdkit.engine.sourcecheck.HELPERS` allows only calls of them.
"""

from __future__ import annotations

import numpy as np

from sdkit.engine import runtime as rt
from sdkit.engine.expressions import Unsupported

__all__ = ["_full", "_mat", "_override", "_uniform", "_delay_order", "_fixed_order",
           "_order", "_chain"]


def _full(x, sizes):
    x = np.asarray(x, dtype=float)
    if x.ndim == 0:
        return np.full((1,) + sizes, float(x))
    return np.broadcast_to(x, (x.shape[0],) + sizes)


def _mat(x, N):
    x = np.asarray(x, dtype=float)
    return np.array(np.broadcast_to(x, (N,) + x.shape[1:]))


def _override(x, spec, N):
    """Apply ``[(index, values (N,)), ...]`` to a node value."""
    out = _mat(x, N)
    for index, values in spec:
        target = out[(slice(None),) + index]
        out[(slice(None),) + index] = np.reshape(values, (N,) + (1,) * (target.ndim - 1))
    return out


def _uniform(values, what):
    values = np.unique(np.asarray(values))
    if values.size != 1:
        raise Unsupported(f"{what} differs between members")
    return values.item()


def _delay_order(order, dt, delay_time):
    """DELAY N's order, lowered while ``order * dt`` exceeds the delay time (PySD, Vensim)."""
    base, per_member = int(order), []
    for row in np.asarray(delay_time).reshape(len(delay_time), -1):
        o = base
        while o * dt > np.min(row):
            o -= 1
        per_member.append(o)
    return int(_uniform(per_member, "a delay's order (delay time below order * TIME STEP)"))


def _fixed_order(delay_time, dt):
    order = np.maximum(np.asarray(delay_time) / dt, 1)
    return int(_uniform(np.round(order + rt.SMALL_VENSIM), "a DELAY FIXED delay time"))


def _order(value):
    return float(_uniform(np.asarray(value, float).ravel(), "a SMOOTH N / DELAY N order"))


def _chain(first, rest):
    return np.concatenate([np.broadcast_to(first, rest.shape[1:])[None], rest[:-1]])
