"""Single runs without numpy's per-call overhead: the traced step, run by CPython on floats.

The numpy engine's step costs hundreds of numpy calls per time step whatever
the number of members; with one member nearly all of it is call overhead
(IIS: about 760 calls a step). The traced code of the same step
(:func:`~sdkit.engine.traced.traced_source`: a few hundred scalar lines over
one work array) does the same arithmetic on Python floats in a fraction of
that time. :func:`run_scalar` runs it for a few members, one after another,
and writes the numpy engine's output buffers.

Python's floats and numpy's differ where IEEE arithmetic leaves the real
numbers: Python raises (``1.0 / 0.0``, ``math.log(0.0)``, ``math.exp(1000)``,
``math.pow(-8.0, 0.5)``) where numpy gives ``inf`` or ``nan``. So the code is
run with its ``_pow`` as :func:`math.pow` (Python's ``**`` would return a
complex number for a negative base) and with the :mod:`math` functions; when any of
these raises, :func:`run_scalar` returns ``False`` and the caller runs the
numpy engine, whose results are then the only ones written. Where neither
raises, the two agree to the last bit or within the rounding of ``exp``,
``log`` and ``pow`` (tests compare them on the conformance models and IIS).

Only sdkit's own code runs: :func:`~sdkit.engine.native.check_native_source`
passes the very tree that CPython compiles here.
"""

from __future__ import annotations

import bisect
import math
from types import SimpleNamespace

import numpy as np

from sdkit.engine.codegen import Compiled
from sdkit.engine.expressions import Unsupported
from sdkit.engine.memo import Memo
from sdkit.engine.native import NativeSource, check_native_source
from sdkit.engine.native_rt import FUNCTIONS
from sdkit.engine.traced import traced_inputs, traced_source

__all__ = ["run_scalar", "SCALAR_MEMBERS"]

#: the scalar path runs ensembles of at most this many members (measured crossover with
#: the numpy engine on IIS and teacup: docs/native_engine.md)
SCALAR_MEMBERS = 4

#: numpy's functions of one float, as :mod:`math` gives them (raising where numpy gives
#: inf or nan: the caller then runs the numpy engine)
_MATH = SimpleNamespace(
    exp=math.exp, log=math.log, sqrt=math.sqrt, sin=math.sin, cos=math.cos, tan=math.tan,
    arcsin=math.asin, arccos=math.acos, arctan=math.atan, sinh=math.sinh, cosh=math.cosh,
    tanh=math.tanh, trunc=lambda x: float(math.trunc(x)), nan=math.nan, inf=math.inf)
#: what Python's floats do differently from numpy's: the run goes to the numpy engine
_DIFFERS = (ArithmeticError, ValueError)

_LOOPS = Memo()  # the traced code's text -> its chunk functions, by group


def _interpolate(x, xs, ys):
    """``np.interp(x, xs, ys)`` of one float (the ends held, as numpy holds them)."""
    if x != x:
        return x
    if x <= xs[0]:
        return ys[0]
    if x >= xs[-1]:
        return ys[-1]
    j = bisect.bisect_right(xs, x) - 1  # xs[j] <= x < xs[j + 1]: never a zero width
    return (ys[j + 1] - ys[j]) / (xs[j + 1] - xs[j]) * (x - xs[j]) + ys[j]


def _extrapolate(x, xs, ys):
    """:func:`sdkit.engine.native_rt._lk_extrapolate` on floats."""
    if len(xs) > 1 and x < xs[0]:
        return ys[0] + (ys[1] - ys[0]) / (xs[1] - xs[0]) * (x - xs[0])
    if len(xs) > 1 and x > xs[-1]:
        return ys[-1] + (ys[-1] - ys[-2]) / (xs[-1] - xs[-2]) * (x - xs[-1])
    return _interpolate(x, xs, ys)


def _hold(x, xs, ys):
    """:func:`sdkit.engine.native_rt._lk_hold` on floats."""
    i = bisect.bisect_right(xs, x) - 1
    return ys[min(max(i, 0), len(xs) - 1)]


def _compile(src: NativeSource) -> tuple[tuple, ...]:
    tree = check_native_source(src.text)  # what runs is what is checked
    namespace = {"np": _MATH, **FUNCTIONS, "_pow": math.pow, "_lk_interpolate": _interpolate,
                 "_lk_extrapolate": _extrapolate, "_lk_hold": _hold}
    exec(compile(tree, "<sdkit.engine.scalar>", "exec"), namespace)  # noqa: S102 - checked
    return tuple(tuple(namespace[c] for c in group) for group in src.groups)


def _functions(src: NativeSource) -> tuple[tuple, ...]:
    """The chunk functions of `src`, compiled for CPython, in their three groups
    (memoised per process).

    Raises
    ------
    Unsupported
        The text is not what :func:`~sdkit.engine.native.write_loop` writes.
    """
    return _LOOPS.get(src.text, lambda: _compile(src))


def _member(fns, w: list, steps: list, saved: list, dt: float, pairs, outs, tables) -> list:
    """Step one member from the work array `w`; the output slots' values at each save."""
    lean, rest, update = fns
    tx, ty = tables
    rows = []
    last = len(steps) - 1
    for i, t in enumerate(steps):
        for c in lean:
            c(w, t, dt, tx, ty)
        if saved[i]:
            for c in rest:
                c(w, t, dt, tx, ty)
            rows.append([w[o] for o in outs])
        if i < last:
            for c in update:
                c(w, t, dt, tx, ty)
            for s, new in pairs:
                w[s] = w[new]
    return rows


def run_scalar(compiled: Compiled, n: int, S: dict, K: dict, steps: list, saved: list,
               dt: float, out: dict[str, np.ndarray]) -> bool:
    """Run `n` members of ``compiled`` from ``init``'s `S` and `K` on floats, into `out`.

    `out` maps each output to its buffer ``(saved times, members, *dims)``, as
    :func:`~sdkit.engine.run.run_compiled` allocates it. Returns ``False``,
    having written nothing the caller keeps, when the step cannot be traced
    (the numpy engine runs it) or when Python's floats raised where numpy's
    would give inf or nan (the numpy engine runs it again, from the start).
    """
    try:
        src = traced_source(compiled, S, K)
        fns = _functions(src)
    except Unsupported:
        return False
    kin, sin = traced_inputs(src, S, K, n)
    tables = (tuple(x.tolist() for x, _ in src.tables), tuple(y.tolist() for _, y in src.tables))
    k_slots, s_slots = src.k_slots.tolist(), src.s_slots.tolist()
    pairs = list(zip(s_slots, src.n_slots.tolist()))
    outs, steps, saved = src.o_slots.tolist(), list(steps), list(saved)
    blocks = []
    for m in range(n):
        w = src.w0.tolist()
        for slot, v in zip(k_slots, kin[min(m, len(kin) - 1)].tolist()):
            w[slot] = v
        for slot, v in zip(s_slots, sin[m].tolist()):
            w[slot] = v
        try:
            rows = _member(fns, w, steps, saved, dt, pairs, outs, tables)
            blocks.append(np.asarray(rows, dtype=float).reshape(len(rows), len(outs)))
        except _DIFFERS:
            return False
    at = 0
    for o in compiled.outputs:  # the traced outputs' order
        buf = out[o]
        size = int(np.prod(buf.shape[2:], dtype=np.int64))
        for m, block in enumerate(blocks):
            buf[:, m] = block[:, at:at + size].reshape((len(block),) + buf.shape[2:])
        at += size
    return True
