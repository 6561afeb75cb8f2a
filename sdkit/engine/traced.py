"""The compiled engine's step as straight-line scalar code, traced once per process.

:func:`traced_source` runs the checked ``step`` of a :class:`Compiled` once on
symbols (:func:`~sdkit.engine.native_trace.trace_step`) and writes the scalar
lines as chunk functions over one work array
(:func:`~sdkit.engine.native.write_loop`). Two engines run that code, each
after :func:`~sdkit.engine.native.check_native_source` passed the very tree
it compiles: the native engine compiles it with Numba
(:mod:`sdkit.engine.native_run`), and the scalar path runs it in CPython for
single runs (:mod:`sdkit.engine.scalar`). The code holds sdkit-made slot
indices, numbers and a fixed set of functions only: no model text reaches it.
"""

from __future__ import annotations

import numpy as np

from sdkit.engine.codegen import Compiled
from sdkit.engine.expressions import Unsupported
from sdkit.engine.memo import Memo
from sdkit.engine.native import NativeSource, write_loop
from sdkit.engine.native_trace import stacked_states, trace_step
from sdkit.engine.sourcecheck import check_engine_source

__all__ = ["traced_source", "traced_inputs"]

_TRACED = Memo()  # (engine code, method) -> NativeSource, or the Unsupported that said why not


def _trace(compiled: Compiled, S: dict, K: dict) -> NativeSource:
    if compiled.method != "euler":
        raise Unsupported(f"{compiled.method.upper()} (the traced step integrates with "
                          "Euler only)")
    tree = compiled.tree  # what is traced is what the engine checked and compiled
    if tree is None:
        tree = check_engine_source(compiled.source)
    names = {k: v for k, v in compiled.step.__globals__.items()
             if k not in ("np", "rt", "__builtins__")}  # its constants and helpers (bind's)
    src = write_loop(*trace_step(tree, S, K, names))
    src.stacked = stacked_states(tree)
    return src


def traced_source(compiled: Compiled, S: dict, K: dict) -> NativeSource:
    """The scalar code of `compiled`'s Euler step (memoised per process and code).

    `S` and `K` are what ``compiled.init`` returned; only their shapes are
    traced, so the code serves any parameter values.

    Raises
    ------
    Unsupported
        A construct the scalar form cannot express (a DELAY N or DELAY FIXED
        state, a Runge-Kutta method, a branch on a changing value), named.
    """
    return _TRACED.get((compiled.source, compiled.method), lambda: _trace(compiled, S, K))


def _matrix(values: dict, keys, rows: int | None = None, stacked=frozenset()) -> np.ndarray:
    """Columns ``values[k].flat[e]`` of each member for each ``(k, e)`` in `keys`, `rows`
    rows (None: as many as the value with most members has; the members of the
    `stacked` values are on their axis 1).

    A value with one row (the same for every member) is gathered once and
    broadcast by the assignment, not copied per member first.
    """
    flats = {}
    for k in dict.fromkeys(k for k, _ in keys):  # each value once, flattened per member
        arr = np.asarray(values[k], dtype=float)
        arr = arr.reshape(1) if arr.ndim == 0 else arr
        arr = np.moveaxis(arr, 1, 0) if k in stacked else arr
        flats[k] = arr.reshape(len(arr), -1)
    if rows is None:
        rows = max([len(f) for f in flats.values()] + [1])
    out = np.empty((rows, len(keys)))
    parts: tuple[list, list] = ([], [])  # flattened values: one row; a row per member
    where, at = {}, [0, 0]
    for k, flat in flats.items():
        g = int(len(flat) != 1 or rows == 1)
        parts[g].append(flat)
        where[k] = (g, at[g])
        at[g] += flat.shape[1]
    group = np.fromiter((where[k][0] for k, _ in keys), dtype=np.int64, count=len(keys))
    column = np.fromiter((where[k][1] + e for k, e in keys), dtype=np.int64, count=len(keys))
    for g in (0, 1):
        if parts[g]:
            pick = group == g
            out[:, pick] = np.concatenate(parts[g], axis=1)[:, column[pick]]
    return out


def traced_inputs(src: NativeSource, S: dict, K: dict, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The values the traced code reads: ``(KIN, SIN)``.

    ``KIN`` has a row of the values that never change per member (one row
    when every member shares them); ``SIN`` the states' initial values, a row
    per member. Their columns are the slots ``src.k_slots`` and ``src.s_slots``.
    """
    return _matrix(K, src.k_keys), _matrix(S, src.s_keys, n, src.stacked)
