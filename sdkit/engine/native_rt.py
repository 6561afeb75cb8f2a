"""The functions the native engine's code calls, written for Numba's nopython mode.

Each gives, on one scalar, what the numpy function or the function of
:mod:`sdkit.engine.runtime` it stands for gives elementwise: ``np.minimum``
and ``np.maximum`` propagate nan, lookups interpolate as ``np.interp`` does
and hold or extrapolate their ends as :func:`sdkit.engine.runtime.lookup`
does. They are plain Python here; :mod:`sdkit.engine.native_run` compiles
them with Numba when the native engine is first used.
"""

from __future__ import annotations

import numpy as np

__all__ = ["FUNCTIONS"]


def _rt_min(a, b):
    if a != a:
        return a
    if b != b:
        return b
    return a if a <= b else b


def _rt_max(a, b):
    if a != a:
        return a
    if b != b:
        return b
    return a if a >= b else b


def _rt_and(a, b):
    return bool(a) and bool(b)


def _rt_or(a, b):
    return bool(a) or bool(b)


def _rt_not(a):
    return not bool(a)


def _lk_interpolate(x, xs, ys):
    return np.interp(x, xs, ys)


def _lk_extrapolate(x, xs, ys):
    if len(xs) > 1 and x < xs[0]:
        return ys[0] + (ys[1] - ys[0]) / (xs[1] - xs[0]) * (x - xs[0])
    if len(xs) > 1 and x > xs[-1]:
        return ys[-1] + (ys[-1] - ys[-2]) / (xs[-1] - xs[-2]) * (x - xs[-1])
    return np.interp(x, xs, ys)


def _lk_hold(x, xs, ys):
    i = np.searchsorted(xs, x, side="right") - 1
    return ys[min(max(i, 0), len(xs) - 1)]


def _pow(a, b):
    return a ** b


#: every helper the native loop may call, by the name it calls it
FUNCTIONS = {f.__name__: f for f in (
    _rt_min, _rt_max, _rt_and, _rt_or, _rt_not, _lk_interpolate, _lk_extrapolate, _lk_hold,
    _pow)}
