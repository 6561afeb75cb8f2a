"""Run a compiled model on one chunk of ensemble members (Euler, PySD's clock)."""

from __future__ import annotations

import numpy as np

from .codegen import Compiled, _uniform
from .expressions import Unsupported

__all__ = ["save_times", "control_overrides", "run_compiled"]

RPREC = 1e-5  # PySD's relative precision for the final time and save times


def save_times(start: float, stop: float, dt: float, saveper: float) -> tuple[list, list]:
    """Step times and which of them are saved, exactly as PySD's loop finds them.

    Returns ``(steps, saved)``: every time the loop visits (the last one is
    only evaluated, not stepped from) and a parallel list of booleans.
    """
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


def run_compiled(compiled: Compiled, n: int, overrides: dict, *, start=None, stop=None,
                 dt=None, saveper=None) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Simulate `n` members; return save times and ``{output: (n, times, *dims)}``.

    `overrides` maps node names to ``[(index, values), ...]`` (time settings
    other than the start included, see :func:`control_overrides`).
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
        steps, saved = save_times(first, settings["final_time"], step_dt, settings["saveper"])
        n_saved = sum(saved)
        out = {o: np.empty((n, n_saved) + tuple(len(c) for c in compiled.shapes[o][1]))
               for o in compiled.outputs}
        S, K = compiled.init(t0, step_dt, n, ov)
        step = compiled.step
        k = 0
        last = len(steps) - 1
        for i, t in enumerate(steps):
            values, S = step(t, step_dt, S, K, n, saved[i], i < last)
            if saved[i]:
                for o, v in zip(compiled.outputs, values):
                    out[o][:, k] = v
                k += 1
    decimals = -int(np.log10(step_dt * RPREC))
    times = np.round(np.asarray(steps)[np.asarray(saved, bool)], decimals)
    return times, out
