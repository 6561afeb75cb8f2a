"""Run a compiled model on one chunk of ensemble members (PySD's clock).

Euler steps as PySD does. The Runge-Kutta methods (see
:mod:`sdkit.engine.methods`) take the same steps and save at the same times;
within a step they evaluate the model's rates at stage states and combine
them (:func:`rk_step`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from sdkit.engine.codegen import Compiled
from sdkit.engine.codehelpers import _uniform
from sdkit.engine.expressions import Unsupported
from sdkit.engine.scalar import SCALAR_MEMBERS, run_scalar
from sdkit.errors import SimulationError
from sdkit.model.timesettings import RPREC, check_output_size, check_time_settings, warn_run_end

__all__ = ["save_times", "control_overrides", "run_compiled", "rk_step", "RPREC"]


def save_times(start: float, stop: float, dt: float, saveper: float) -> tuple[list, list]:
    """Step times and which of them are saved, exactly as PySD's loop finds them.

    Returns ``(steps, saved)``: every time the loop visits (the last one is
    only evaluated, not stepped from) and a parallel list of booleans.

    As in Vensim and PySD, the saved times are the initial time and every
    `saveper` after it: when `saveper` does not divide the run (or exceeds
    it) the final time is not saved, and when `dt` does not divide it the
    last step passes `stop`. Neither is changed here;
    :func:`sdkit.model.timesettings.warn_run_end` warns about both.

    Raises
    ------
    InvalidValueError
        `dt` or `saveper` not > 0, a value not finite, or `stop` before
        `start` (a zero step would loop for ever).
    """
    check_time_settings(start, stop, dt, saveper)
    prec = dt * RPREC
    steps, saved = [], []
    t = start
    while True:
        delay = t - start
        saved.append(bool(delay % saveper < prec or -delay % saveper < prec))
        steps.append(t)
        if not t + dt * RPREC < stop:
            break
        t = t + dt
    return steps, saved


def control_overrides(n: int, *, stop=None, dt=None, saveper=None) -> dict:
    """Overrides that make FINAL TIME, TIME STEP and SAVEPER what the caller asked."""
    given = {"final_time": stop, "time_step": dt, "saveper": saveper}
    return {k: [((), np.full(n, float(v)))] for k, v in given.items() if v is not None}


def _stage(S: dict, D: dict, h: float) -> dict:
    """States `S` moved by ``h * D`` (continuous states only; the rest as they are)."""
    out = dict(S)
    for k, rate in D.items():
        out[k] = S[k] + h * rate
    return out


def rk_step(compiled: Compiled, t: float, dt: float, S: dict, K: dict, n: int, save: bool,
            update: bool):
    """One explicit Runge-Kutta step: ``(outputs at t, states at t + dt)``.

    ``"rk2"`` is the midpoint rule (Vensim's RK2); ``"rk4"`` the classic
    fourth-order method. Discrete states take their once-per-step update.
    """
    rates = compiled.rates
    out, k1, S2 = rates(t, t, dt, S, K, n, save, update)
    if not update:
        return out, S
    half = t + dt / 2
    k2 = rates(half, t, dt, _stage(S, k1, dt / 2), K, n, False, False)[1]
    if compiled.method == "rk2":
        combined = {k: S[k] + dt * k2[k] for k in k1}
    else:
        k3 = rates(half, t, dt, _stage(S, k2, dt / 2), K, n, False, False)[1]
        k4 = rates(t + dt, t, dt, _stage(S, k3, dt), K, n, False, False)[1]
        combined = {k: S[k] + dt / 6 * (k1[k] + 2 * k2[k] + 2 * k3[k] + k4[k]) for k in k1}
    S2.update(combined)
    return out, S2


def run_compiled(compiled: Compiled, n: int, overrides: dict, *, start=None, stop=None,
                 dt=None, saveper=None, limit=None, where: str = "",
                 tick: Callable[[float], None] | None = None,
                 ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Simulate `n` members; return save times and ``{output: (n, times, *dims)}``.

    `overrides` maps node names to ``[(index, values), ...]`` (time settings
    other than the start included, see :func:`control_overrides`). `tick`, if
    given, is called with the fraction of the run done, about a hundred times.
    """
    ov = dict(overrides)
    with np.errstate(all="ignore"):
        ctl = compiled.control(n, ov)
        settings = {k: float(_uniform(np.asarray(v, float).ravel(), k)) for k, v in ctl.items()}
        t0 = settings["initial_time"]
        step_dt = settings["time_step"]
        first = t0 if start is None else float(start)
        if first != t0 and compiled.reads_initial_time:
            raise Unsupported("a new start time in a model whose equations read INITIAL TIME")
        n_values = sum(int(np.prod([len(c) for c in compiled.shapes[o][1]], dtype=np.int64))
                       for o in compiled.outputs)
        check_time_settings(first, settings["final_time"], step_dt, settings["saveper"])
        check_output_size(first, settings["final_time"], step_dt, settings["saveper"], n_values,
                          members=n, limit=limit)  # before the loop below builds its lists
        steps, saved = save_times(first, settings["final_time"], step_dt, settings["saveper"])
        last_saved = max(t for t, keep in zip(steps, saved) if keep)
        warn_run_end(first, settings["final_time"], step_dt, settings["saveper"], steps[-1],
                     last_saved, where=where, stacklevel=3)
        n_saved = sum(saved)
        # time-major buffers: each save writes one contiguous block (all members at once);
        # the caller gets (members, times, *dims) views of them
        out = {o: np.empty((n_saved, n) + tuple(len(c) for c in compiled.shapes[o][1]))
               for o in compiled.outputs}
        try:
            _integrate(compiled, t0, step_dt, n, ov, steps, saved, out, tick)
        except ArithmeticError as e:  # Python floats (values of time and constants alone)
            raise SimulationError(f"{where or 'the model'}: the run failed ({e}): "
                                  + ("an equation of time and constants divided by zero"
                                     if isinstance(e, ZeroDivisionError) else
                                     "a value grew beyond the range of a float")) from None
    decimals = -int(np.log10(step_dt * RPREC))
    times = np.round(np.asarray(steps)[np.asarray(saved, bool)], decimals)
    return times, {o: a.swapaxes(0, 1) for o, a in out.items()}


def _integrate(compiled: Compiled, t0: float, step_dt: float, n: int, ov: dict,
               steps: list, saved: list, out: dict[str, np.ndarray], tick=None) -> None:
    """Initialise and step the compiled model, filling `out` (times first) at the save times."""
    S, K = compiled.init(t0, step_dt, n, ov)
    if n <= SCALAR_MEMBERS and compiled.method == "euler" \
            and run_scalar(compiled, n, S, K, steps, saved, step_dt, out):
        return  # a few members: the traced step on floats (sdkit.engine.scalar)
    step = compiled.step
    if compiled.method != "euler":
        def step(t, dt, S, K, n, save, update):
            return rk_step(compiled, t, dt, S, K, n, save, update)
    lean = compiled.step_lean or step  # between save times: only what the updates need
    k = 0
    last = len(steps) - 1
    buffers = [out[o] for o in compiled.outputs]
    every = max(1, len(steps) // 100) if tick is not None else len(steps) + 1
    for i, t in enumerate(steps):
        keep = saved[i]
        if i % every == 0 and i:
            tick(i / len(steps))
        values, S = (step if keep else lean)(t, step_dt, S, K, n, keep, i < last)
        if keep:
            for buf, v in zip(buffers, values):
                buf[k] = v
            k += 1
