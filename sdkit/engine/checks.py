"""Checks shared by single runs and ensembles, whichever engine runs them."""

from __future__ import annotations

import math
from numbers import Real

import numpy as np
import pandas as pd

from sdkit.errors import InvalidValueError, SimulationError
from sdkit.model.load import Model
from sdkit.model.timesettings import check_output_size, check_time_value

__all__ = ["coerce_number", "check_time_setting", "check_run_size", "run_time_settings",
           "raise_if_not_finite"]


def coerce_number(value: object, *, what: str) -> float:
    """Return `value` as a finite float or raise :class:`InvalidValueError` naming `what`."""
    if isinstance(value, bool):
        raise InvalidValueError(f"{what} must be a number, got a boolean: {value!r}")
    if isinstance(value, Real | np.number):
        out = float(value)
    elif isinstance(value, str):
        try:
            out = float(value.strip())
        except ValueError:
            raise InvalidValueError(f"{what} must be a number: {value!r}") from None
    else:
        raise InvalidValueError(f"{what} must be a number, got {type(value).__name__}")
    if not math.isfinite(out):
        raise InvalidValueError(f"{what} must be finite: {value!r}")
    return out


def check_time_setting(name: str, value: float | None, *, positive: bool) -> float | None:
    """Return a time setting as a float (None stays None); `positive` requires > 0.

    See :func:`sdkit.model.timesettings.check_time_value`, which this calls.
    """
    return check_time_value(name, value, positive=positive)


def check_run_size(model: Model, start: float | None, stop: float | None, dt: float | None,
                   saveper: float | None, n_values: int, *, members: int = 1,
                   limit: int | None = None) -> None:
    """Refuse a run of `model` too long to step or too large to hold, before it starts.

    `start`/`stop`/`dt`/`saveper` are the caller's overrides (None: the
    model's own; a SAVEPER defined as TIME STEP follows a new `dt`). See
    :func:`sdkit.model.timesettings.check_output_size`.

    Raises
    ------
    InvalidValueError
        Naming the model file, the number of steps or the bytes the saved
        output would take (saved times x values x members x 8).
    """
    s, e, d, sp = run_time_settings(model, start, stop, dt, saveper)
    check_output_size(s, e, d, sp, n_values, members=members, where=str(model.path),
                      limit=limit)


def run_time_settings(model: Model, start: float | None, stop: float | None,
                      dt: float | None, saveper: float | None) -> tuple[float, float, float, float]:
    """``(start, stop, dt, saveper)`` of a run: the caller's overrides, else the model's own.

    A SAVEPER defined as TIME STEP follows a new `dt`.
    """
    ts = model.time_settings
    s = ts.start if start is None else start
    e = ts.stop if stop is None else stop
    d = ts.dt if dt is None else dt
    if saveper is not None:
        sp = saveper
    elif dt is not None and model.saveper_follows_dt:
        sp = dt  # SAVEPER = TIME STEP follows the new step
    else:
        sp = ts.saveper
    return s, e, d, sp


def raise_if_not_finite(frame: pd.DataFrame, model: Model, params, inputs=None) -> None:
    """Raise :class:`SimulationError` naming the first NaN/inf value of a run, and when."""
    values = frame.select_dtypes(include=[np.number])
    bad = ~np.isfinite(values.to_numpy(dtype=float))
    if not bad.any():
        return
    rows, cols = np.nonzero(bad)
    first = rows.argmin()
    t = frame.index[rows[first]]
    col = values.columns[cols[first]]
    val = values.iat[rows[first], cols[first]]
    given = f" with params {dict(params)}" if params else ""
    given += "".join(f", {k}={v:g}" for k, v in (inputs or {}).items() if v is not None)
    raise SimulationError(
        f"{model.path}: {col!r} became {val} at time {t}{given}; "
        "check divisions, logs and the time step (pass check_finite=False to keep the run)"
    )
