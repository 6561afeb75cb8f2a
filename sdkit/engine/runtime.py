"""Numeric helpers the compiled models call, vectorised over the ensemble axis.

Each mirrors a function of :mod:`pysd.py_backend.functions` (same formula,
same order of operations) so results agree with PySD to rounding.
"""

from __future__ import annotations

import warnings

import numpy as np

from sdkit.errors import SdkitWarning

__all__ = [
    "SMALL_VENSIM", "step", "ramp", "pulse", "pulse_train", "pulse_train_magnitude", "xidz", "zidz",
    "integer", "modulo", "lookup", "if_then_else", "delay_order", "lowered_order",
]

SMALL_VENSIM = 1e-6


def step(t: float, dt: float, value, tstep):
    """STEP: `value` once ``t + dt/2 > tstep``."""
    return value * (t + dt / 2 > tstep)


def ramp(t: float, slope, start, finish=None):
    """RAMP: ``(min(t, finish) - start) * slope`` after `start`."""
    final = t if finish is None else np.minimum(finish, t)
    return (t + SMALL_VENSIM > start) * slope * (final - start)


def pulse(t: float, dt: float, start, width=None, magnitude=None):
    """PULSE (width) or the XMILE-style PULSE with a magnitude."""
    width = 0.5 * dt if width is None else width
    out = 1.0 if magnitude is None else magnitude / dt
    return np.where((start - SMALL_VENSIM <= t) & (t < start + width), out, 0.0)


def pulse_train(t: float, dt: float, start, repeat_time, width, end):
    """PULSE TRAIN as :func:`pysd.py_backend.functions.pulse` computes it."""
    with np.errstate(divide="ignore", invalid="ignore"):
        in_train = (start <= t) & (t < end)
        on = np.fmod(t - start + SMALL_VENSIM, repeat_time) < width
        single = (start - SMALL_VENSIM <= t) & (t < start + width)
    return np.where(repeat_time == 0, np.where(single, 1.0, 0.0),
                    np.where(in_train & on, 1.0, 0.0))


def pulse_train_magnitude(t: float, dt: float, start, repeat_time, magnitude):
    """The XMILE PULSE with a repeat time: `magnitude`/dt for half a step each time."""
    width = 0.5 * dt
    out = magnitude / dt
    with np.errstate(divide="ignore", invalid="ignore"):
        on = (start <= t) & (np.fmod(t - start + SMALL_VENSIM, repeat_time) < width)
        single = (start - SMALL_VENSIM <= t) & (t < start + width)
    return np.where(repeat_time == 0, np.where(single, out, 0.0), np.where(on, out, 0.0))


def xidz(num, den, x):
    """``num/den``, or `x` where ``|den| < 1e-6``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(np.abs(den) < SMALL_VENSIM, x, num / den)


def zidz(num, den):
    """``num/den``, or 0 where ``|den| < 1e-6``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(np.abs(den) < SMALL_VENSIM, 0, num / den)


def integer(x):
    """INTEGER: truncate towards zero (PySD's ``int(x)``)."""
    return np.trunc(x)


def modulo(x, m):
    """MODULO as PySD: ``x - quantum(x, m)``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        q = np.where(m < SMALL_VENSIM, x, m * np.trunc(x / m))
    return x - q


def if_then_else(cond, a, b):
    """IF THEN ELSE evaluated elementwise."""
    return np.where(cond, a, b)


def lookup(x, xs: np.ndarray, ys: np.ndarray, mode: str):
    """A lookup table on every member: linear, holding or extrapolating ends.

    `xs` is 1-d; `ys` is ``(K,)`` or ``(K, *element_shape)`` for subscripted
    tables (then `x` has shape ``(N, *element_shape)``).
    """
    x = np.asarray(x, dtype=float)
    if ys.ndim == 1:
        if mode == "hold_backward":
            idx = np.clip(np.searchsorted(xs, x, side="right") - 1, 0, len(xs) - 1)
            out = ys[idx]
        else:
            out = np.interp(x, xs, ys)
        if mode == "extrapolate" and len(xs) > 1:
            lo = ys[0] + (ys[1] - ys[0]) / (xs[1] - xs[0]) * (x - xs[0])
            hi = ys[-1] + (ys[-1] - ys[-2]) / (xs[-1] - xs[-2]) * (x - xs[-1])
            out = np.where(x < xs[0], lo, np.where(x > xs[-1], hi, out))
        return out
    if x.ndim == 0:  # a function of time only: one row for every member
        x = x.reshape(1)
    shape = np.broadcast_shapes(x.shape[1:], ys.shape[1:])
    flat_y = np.broadcast_to(ys, ys.shape[:1] + shape).reshape(len(xs), -1)
    xb = np.broadcast_to(x, x.shape[:1] + shape).reshape(x.shape[0], -1)
    out = np.empty(xb.shape)
    for j in range(flat_y.shape[1]):
        out[:, j] = lookup(xb[:, j], xs, flat_y[:, j], mode)
    return out.reshape(xb.shape[:1] + shape)


def delay_order(order, dt: float, delay_time, name: str) -> int:
    """The order of DELAY3 / DELAY N, kept as Vensim keeps it.

    Where a stage is shorter than TIME STEP (``order * dt > delay time``)
    PySD lowers the order; Vensim keeps it, and so does sdkit: the one
    deliberate departure from PySD (docs/conformance.md). It warns once,
    naming the variable `name`.
    """
    kept = int(order)
    shortest = float(np.min(delay_time))
    if kept * dt > shortest:
        warnings.warn(f"{name!r}: its delay's {kept} stages are shorter than TIME STEP "
                      f"({shortest:g} / {kept} < {dt:g}); the order is kept as Vensim keeps "
                      "it (PySD lowers it), so the delay's output oscillates and can turn "
                      f"negative: use a TIME STEP of at most {shortest / kept:g}",
                      SdkitWarning, stacklevel=3)
    return kept


def lowered_order(lowered: int, order, dt: float, delay_time, name: str) -> int:
    """DELAY N's order `lowered` (by the caller) from `order`; warns once when it was.

    Vensim and PySD lower DELAY N's order while ``order * dt`` exceeds the delay
    time; the run says so, as PySD's does, naming the variable `name`.
    """
    if lowered < int(order):
        warnings.warn(f"{name!r}: time step too large for DELAY N's order {int(order)} "
                      f"(delay time {float(np.min(delay_time)):g}, TIME STEP {dt:g}): its "
                      f"order was lowered to {lowered}, as Vensim and PySD do (use a smaller "
                      "TIME STEP)", SdkitWarning, stacklevel=3)
    return lowered
