"""Time settings, checked in one place wherever they come from.

Every route that sets INITIAL TIME, FINAL TIME, TIME STEP or SAVEPER calls
:func:`check_time_settings`: the model file when it is loaded (Vensim and
XMILE), the ``start``/``stop``/``dt``/``saveper`` of :func:`sdkit.engine.simulate`
and the ensemble engine (and so ``sdkit run``), ``sdkit set`` / ``.cin``
edits of a model file, calibration specs and scenario files.

Rules
-----
* every value is a finite number;
* TIME STEP and SAVEPER are > 0 (a zero or negative step never ends);
* FINAL TIME >= INITIAL TIME.

Warnings (:class:`~sdkit.errors.SdkitWarning`, see :func:`warn_uneven`)
-----------------------------------------------------------------------
* the step does not divide the horizon: the Euler loop (PySD's, and Vensim's)
  steps past FINAL TIME, and the warning states the actual end time;
* the final time is not a save time (SAVEPER longer than the run, or not
  dividing it). sdkit keeps Vensim's and PySD's save times (the initial
  time and every SAVEPER after it, so results stay comparable with theirs)
  and does not add the final time; instead it warns, naming the last
  saved time, so the final time is never lost silently.

:func:`check_output_size` refuses, before anything is allocated, a run whose
saved output (saved times x saved values x members x 8 bytes) exceeds a
limit (:data:`DEFAULT_MAX_OUTPUT_BYTES`, or the environment variable
``SDKIT_MAX_OUTPUT_BYTES``), or whose step count exceeds :data:`MAX_STEPS`.
"""

from __future__ import annotations

import math
import os
import re
import warnings
from numbers import Real
from pathlib import Path

import numpy as np

from sdkit.errors import InvalidValueError, SdkitError, SdkitWarning, TranslationError
from sdkit.model.names import canonical

__all__ = [
    "RPREC",
    "MAX_STEPS",
    "DEFAULT_MAX_OUTPUT_BYTES",
    "check_time_value",
    "time_setting_name",
    "check_time_settings",
    "check_model_time_settings",
    "run_end",
    "warn_uneven",
    "warn_run_end",
    "max_output_bytes",
    "check_output_size",
]

#: PySD's relative precision (of `dt`) for the final time and the save times
RPREC = 1e-5
#: a run longer than this many Euler steps is refused (it would hang, not fail)
MAX_STEPS = 10_000_000
#: default limit on the saved output of one call (2 GiB)
DEFAULT_MAX_OUTPUT_BYTES = 2 * 1024**3
_ENV = "SDKIT_MAX_OUTPUT_BYTES"

#: names used in messages: the keyword names of :func:`sdkit.engine.simulate`
KEYWORDS = ("start", "stop", "dt", "saveper")
#: names used in messages: the model's own names
MODEL_NAMES = ("INITIAL TIME", "FINAL TIME", "TIME STEP", "SAVEPER")


def time_setting_name(key: str) -> str | None:
    """The time setting (``"TIME STEP"``, ...) a variable name means, or None.

    Names compare as models match them: case, underscores and runs of
    spaces do not matter (``"time_step"`` is ``"TIME STEP"``).
    """
    norm = canonical(key).upper()
    return norm if norm in MODEL_NAMES else None


def _prefix(where: str) -> str:
    return f"{where}: " if where else ""


def check_time_value(name: str, value: object, *, positive: bool, where: str = "",
                     error: type[SdkitError] = InvalidValueError) -> float | None:
    """Return one time setting as a finite float (``None`` stays ``None``).

    Parameters
    ----------
    name : str
        The setting's name, for the message (``"dt"``, ``"TIME STEP"``).
    value : object
        A number or a numeric string.
    positive : bool
        Require ``value > 0`` (TIME STEP, SAVEPER).
    where : str, optional
        File (and line or key) prefixed to the message.
    error : type, default InvalidValueError
        The :class:`SdkitError` subclass raised.

    Raises
    ------
    SdkitError
        (of type `error`) not a number, not finite, or not > 0 when required.
    """
    if value is None:
        return None
    p = _prefix(where)
    if isinstance(value, bool):
        raise error(f"{p}{name} must be a number, got a boolean: {value!r}")
    if isinstance(value, Real | np.number):
        v = float(value)
    elif isinstance(value, str):
        try:
            v = float(value.strip())
        except ValueError:
            raise error(f"{p}{name} must be a number: {value!r}") from None
    else:
        raise error(f"{p}{name} must be a number, got {type(value).__name__}")
    if not math.isfinite(v):
        raise error(f"{p}{name} must be finite: {value!r}")
    if positive and v <= 0:
        raise error(f"{p}{name!r} must be > 0: {value}")
    return v


def check_time_settings(start: object, stop: object, dt: object, saveper: object, *,
                        where: str = "", names: tuple[str, str, str, str] = KEYWORDS,
                        error: type[SdkitError] = InvalidValueError,
                        warn: bool = False) -> tuple[float | None, ...]:
    """Check a set of time settings; return them as floats (``None`` stays ``None``).

    Parameters
    ----------
    start, stop, dt, saveper : number or None
        INITIAL TIME, FINAL TIME, TIME STEP and SAVEPER; ``None`` means
        "not given here" and is not checked (the order of start and stop is
        checked when both are given).
    where : str, optional
        File (and line or key) prefixed to messages.
    names : tuple of 4 str
        The names used in messages (:data:`KEYWORDS` or :data:`MODEL_NAMES`).
    error : type, default InvalidValueError
        The :class:`SdkitError` subclass raised.
    warn : bool, default False
        Also call :func:`warn_uneven` when all four are given.

    Returns
    -------
    tuple
        ``(start, stop, dt, saveper)`` as floats or ``None``.

    Raises
    ------
    SdkitError
        (of type `error`) a value that is not a finite number, a TIME STEP or
        SAVEPER that is not > 0, or FINAL TIME before INITIAL TIME.

    Examples
    --------
    >>> check_time_settings(0, 30, 0.25, 1)
    (0.0, 30.0, 0.25, 1.0)
    >>> check_time_settings(0, 30, 0, 1)
    Traceback (most recent call last):
    ...
    sdkit.errors.InvalidValueError: 'dt' must be > 0: 0
    """
    s = check_time_value(names[0], start, positive=False, where=where, error=error)
    e = check_time_value(names[1], stop, positive=False, where=where, error=error)
    d = check_time_value(names[2], dt, positive=True, where=where, error=error)
    sp = check_time_value(names[3], saveper, positive=True, where=where, error=error)
    if s is not None and e is not None and e < s:
        raise error(f"{_prefix(where)}{names[1]!r} ({e}) is before {names[0]!r} ({s})")
    if warn and None not in (s, e, d, sp):
        warn_uneven(s, e, d, sp, where=where, names=names, stacklevel=3)
    return s, e, d, sp


def check_model_time_settings(path: str | os.PathLike, components) -> None:
    """Check the time settings a loaded model gives, naming the file and the line.

    Called when a model is loaded, before any run: a TIME STEP of 0 would
    make PySD's loop run for ever.

    Parameters
    ----------
    path : path-like
        The model file (for messages).
    components : object
        PySD's components: ``initial_time()``, ``final_time()``,
        ``time_step()`` and ``saveper()`` are evaluated here.

    Raises
    ------
    TranslationError
        A time setting that cannot be evaluated (``1/0``) or that
        :func:`check_time_settings` refuses; the message names the file and
        the line of the setting in it (when found).
    """
    values = []
    for name, py in zip(MODEL_NAMES, ("initial_time", "final_time", "time_step", "saveper")):
        try:
            with np.errstate(all="raise"):
                values.append(float(getattr(components, py)()))
        except (ArithmeticError, TypeError, ValueError) as e:  # 1/0, overflow, not a number
            raise TranslationError(f"{path}: {_line_of(path, name)}{name} cannot be evaluated: "
                                   f"{type(e).__name__}: {e}; expected a finite number") from None
    try:
        check_time_settings(*values, names=MODEL_NAMES, error=TranslationError)
    except TranslationError as e:
        name = next((n for n in MODEL_NAMES if str(e).lstrip("'").startswith(n)), "TIME STEP")
        raise TranslationError(f"{path}: {_line_of(path, name)}{e}") from None


def _line_of(path: str | os.PathLike, name: str) -> str:
    """``"line N: "`` for the definition of `name` in a model file, or ``""``."""
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    if Path(path).suffix.lower() == ".mdl":
        words = r"[\s_]+".join(map(re.escape, name.split()))
        pattern = re.compile(rf"^[ \t]*{words}\s*=", re.IGNORECASE | re.MULTILINE)
    else:
        tag = {"INITIAL TIME": "start", "FINAL TIME": "stop", "TIME STEP": "dt",
               "SAVEPER": "save_step"}[name]
        pattern = re.compile(rf"<{tag}\b", re.IGNORECASE)
    m = pattern.search(text)
    return f"line {text.count(chr(10), 0, m.start()) + 1}: " if m else ""


def _n_steps(start: float, stop: float, dt: float) -> int:
    """Euler steps PySD's loop takes: it steps while ``t + dt * RPREC < stop``."""
    return max(0, math.ceil((stop - start) / dt - RPREC))


def run_end(start: float, stop: float, dt: float) -> float:
    """The last time the Euler loop reaches (``>= stop``; ``> stop`` if dt does not divide)."""
    return start + _n_steps(start, stop, dt) * dt


def _saved(delay: float, saveper: float, prec: float) -> bool:
    return delay % saveper < prec or -delay % saveper < prec


def warn_uneven(start: float, stop: float, dt: float, saveper: float, *, where: str = "",
                names: tuple[str, str, str, str] = KEYWORDS, stacklevel: int = 2) -> None:
    """Warn when a run with these settings will not end at `stop` or not save its end.

    Predicts what PySD's loop does (see :func:`warn_run_end` for the message).
    """
    n = _n_steps(start, stop, dt)
    end = start + n * dt
    if _saved(n * dt, saveper, dt * RPREC):
        last = end
    else:
        ratio = saveper / dt
        k = round(ratio)
        last = start + (n // k) * k * dt if abs(ratio - k) < RPREC and k >= 1 else None
    warn_run_end(start, stop, dt, saveper, end, last, where=where, names=names,
                 stacklevel=stacklevel + 1)


def warn_run_end(start: float, stop: float, dt: float, saveper: float, end: float,
                 last_saved: float | None, *, where: str = "",
                 names: tuple[str, str, str, str] = KEYWORDS, stacklevel: int = 2) -> None:
    """Warn when a run ended after `stop` or did not save the time it ended at.

    Parameters
    ----------
    start, stop, dt, saveper : float
        The run's settings.
    end : float
        The last time the loop reached.
    last_saved : float or None
        The last saved time (``None``: unknown, but not `end`).

    Warns
    -----
    SdkitWarning
        `dt` does not divide ``stop - start``: the message states the actual
        end time. The final time is not a save time: the message states the
        last saved time.
    """
    p = _prefix(where)
    prec = dt * RPREC
    if end - stop > prec:
        warnings.warn(
            f"{p}{names[2]} {dt:g} does not divide the run from {start:g} to {stop:g}; "
            f"the last step ends at {end:.10g}, not {stop:g} (choose a {names[2]} that "
            f"divides {stop - start:g})", SdkitWarning, stacklevel=stacklevel)
    if last_saved is not None and end - last_saved <= prec:
        return
    last = (f"the last saved time is {last_saved:.10g}" if last_saved is not None
            else f"{names[3]} is not a multiple of {names[2]} {dt:g}")
    warnings.warn(
        f"{p}{names[3]} {saveper:g} does not reach the final time {end:.10g}: {last}; the "
        f"output does not hold the final time (choose a {names[3]} that divides "
        f"{end - start:.10g})", SdkitWarning, stacklevel=stacklevel)


def max_output_bytes(limit: int | None = None) -> int:
    """The output limit: `limit`, else ``$SDKIT_MAX_OUTPUT_BYTES``, else 2 GiB.

    Raises
    ------
    InvalidValueError
        `limit` or the environment variable is not a positive integer.
    """
    if limit is None:
        text = os.environ.get(_ENV)
        if text is None or not text.strip():
            return DEFAULT_MAX_OUTPUT_BYTES
        try:
            limit = int(text.strip())
        except ValueError:
            raise InvalidValueError(
                f"environment variable {_ENV} must be a whole number of bytes: {text!r}"
            ) from None
        what = f"environment variable {_ENV}"
    else:
        what = "'max_output_bytes'"
    if isinstance(limit, bool) or not isinstance(limit, int | np.integer) or limit <= 0:
        raise InvalidValueError(f"{what} must be a positive whole number of bytes: {limit!r}")
    return int(limit)


def n_saved_times(start: float, stop: float, dt: float, saveper: float) -> int:
    """An upper bound on the number of saved times (without walking the loop)."""
    n = _n_steps(start, stop, dt)
    return min(n + 1, int((n * dt) // saveper) + 2)


def _size(n: int) -> str:
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= scale:
            return f"{n / scale:,.1f} {unit}"
    return f"{n} bytes"


def check_output_size(start: float, stop: float, dt: float, saveper: float, n_values: int, *,
                      members: int = 1, where: str = "", limit: int | None = None) -> None:
    """Refuse a run too long to step or too large to hold, before it starts.

    Parameters
    ----------
    start, stop, dt, saveper : float
        Checked time settings (see :func:`check_time_settings`).
    n_values : int
        Values saved at each save time (one per variable element).
    members : int, default 1
        Ensemble members run together.
    where : str, optional
        The model file, for the message.
    limit : int, optional
        Bytes allowed; default :func:`max_output_bytes`.

    Raises
    ------
    InvalidValueError
        More than :data:`MAX_STEPS` steps, or more than `limit` bytes of output;
        the message names the numbers.
    """
    p = _prefix(where)
    span = stop - start
    if span / dt > MAX_STEPS:
        raise InvalidValueError(
            f"{p}{span / dt:.3g} time steps from start to stop with dt {dt:g}; "
            f"expected at most {MAX_STEPS:.0e} (use a larger dt or a shorter run)")
    limit = max_output_bytes(limit)
    times = n_saved_times(start, stop, dt, saveper)
    size = times * max(int(n_values), 1) * max(int(members), 1) * 8
    if size > limit:
        who = f" x {members} members" if members > 1 else ""
        raise InvalidValueError(
            f"{p}the output would take {_size(size)} ({times} saved times x "
            f"{n_values} values{who} x 8 bytes); expected at most {_size(limit)} "
            f"(ask for fewer outputs, a larger saveper or a shorter run, or raise {_ENV})")
