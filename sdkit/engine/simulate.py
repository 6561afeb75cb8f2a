"""Single runs: :func:`simulate` and the xarray view of its result."""

from __future__ import annotations

import math
import os
import re
import warnings
from collections.abc import Mapping, Sequence
from numbers import Real

import numpy as np
import pandas as pd

from sdkit.errors import InvalidValueError, SdkitWarning, SimulationError, UnknownVariableError
from sdkit.model.load import Model, load_model
from sdkit.model.timesettings import (
    MODEL_NAMES,
    check_output_size,
    check_time_settings,
    check_time_value,
    warn_run_end,
)

__all__ = ["simulate", "to_dataset", "split_subscripted", "coerce_number", "check_time_setting",
           "check_run_size"]

_SUBSCRIPTED = re.compile(r"^\s*(?P<name>[^\[\]]+?)\s*\[(?P<elems>[^\[\]]*)\]\s*$")


def split_subscripted(key: str) -> tuple[str, tuple[str, ...]]:
    """Split ``"Name[a, b]"`` into ``("Name", ("a", "b"))``; plain names give ``()``."""
    m = _SUBSCRIPTED.match(str(key))
    if not m:
        return str(key).strip(), ()
    elems = tuple(e.strip() for e in m.group("elems").split(",") if e.strip())
    return m.group("name"), elems


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


def _resolve_params(model: Model, params: Mapping[str, object] | None) -> dict[str, object]:
    """Turn user params (names, ``name[elem]`` keys, numbers) into PySD params."""
    if not params:
        return {}
    pysd_model = model._pysd
    out: dict[str, object] = {}
    for key, value in params.items():
        base, elems = split_subscripted(key)
        py = model.py_name(base)
        real = model._real[py]
        if py in {"time", "initial_time", "final_time", "time_step", "saveper"}:
            raise InvalidValueError(
                f"{key!r}: set time settings with start/stop/dt/saveper, not as a parameter"
            )
        if isinstance(value, pd.Series):  # a time series: PySD takes it as is
            out[real] = value
            continue
        try:
            import xarray as xr

            if isinstance(value, xr.DataArray):
                out[real] = value
                continue
        except ImportError:  # pragma: no cover - xarray is a dependency
            pass
        number = coerce_number(value, what=f"parameter {key!r}")
        if not elems:
            out[real] = number
            continue
        dims = model.dims_of(real)
        if len(elems) != len(dims):
            raise InvalidValueError(
                f"{key!r}: {real!r} has {len(dims)} subscript(s) {dims}, got {len(elems)}"
            )
        current = out.get(real)
        if current is None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                current = pysd_model[real].copy()
        loc = {}
        for dim, elem in zip(dims, elems):
            choices = {str(e).lower(): e for e in current.coords[dim].values}
            if elem.lower() not in choices:
                raise UnknownVariableError(
                    f"{key!r}: {elem!r} is not an element of {dim!r} "
                    f"(elements: {', '.join(map(str, current.coords[dim].values))})"
                )
            loc[dim] = choices[elem.lower()]
        current.loc[loc] = number
        out[real] = current
    return out


def _resolve_outputs(model: Model, outputs: Sequence[str] | str | None) -> list[str] | None:
    if outputs is None:
        return None
    if isinstance(outputs, str):
        outputs = [outputs]
    cols = []
    for name in outputs:
        base, elems = split_subscripted(name)
        real = model.real_name(base)
        cols.append(f"{real}[{','.join(elems)}]" if elems else real)
    return cols


def check_time_setting(name: str, value: float | None, *, positive: bool) -> float | None:
    """Return a time setting as a float (None stays None); `positive` requires > 0.

    See :func:`sdkit.model.timesettings.check_time_value`, which this calls.
    """
    return check_time_value(name, value, positive=positive)


def _n_values(model: Model, columns: list[str] | None) -> int:
    """Values PySD saves at each save time (one per element of each output)."""
    subs = {k: len(v) for k, v in model.subscripts.items()}
    names = ([split_subscripted(c) for c in columns] if columns is not None
             else [(n, ()) for n in model.names])
    total = 0
    for name, elems in names:
        if elems:
            total += 1
            continue
        dims = model.dims_of(name)
        total += math.prod(subs.get(d, 1) for d in dims) if dims else 1
    return total


def _check_size(model: Model, columns, start, stop, dt, saveper, limit) -> None:
    """Refuse, before the run, one too long to step or too large to hold in memory."""
    check_run_size(model, start, stop, dt, saveper, _n_values(model, columns), limit=limit)


_CONTROL = ("initial_time", "final_time", "time_step", "saveper")


def _check_params_time(model: Model, pysd_model, pysd_params: dict, overrides: tuple) -> None:
    """Check the time settings again when `params` set a constant they are computed from.

    ``TIME STEP = Step Size`` with ``Step Size = 0`` (or -1) would make PySD's
    loop run for ever. The constants are set on the (fresh) PySD model here,
    as PySD's run sets them again, and the four settings evaluated.
    """
    deps = pysd_model.dependencies
    reach, stack = set(), list(_CONTROL)
    while stack:
        for name in deps.get(stack.pop()) or {}:
            if name not in reach:
                reach.add(name)
                stack.append(name)
    touched = [real for real in pysd_params if model._names.get(real) in reach]
    if not touched:
        return
    pysd_model.set_components(pysd_params)
    pysd_model.clean_caches()
    values = []
    for name, py, given in zip(MODEL_NAMES, _CONTROL, overrides):
        try:
            with np.errstate(all="raise"):
                values.append(given if given is not None
                              else float(getattr(pysd_model.components, py)()))
        except (ArithmeticError, TypeError, ValueError) as e:
            raise InvalidValueError(f"{model.path}: with {', '.join(map(repr, touched))} as "
                                    f"given, {name} cannot be evaluated: {e}") from None
    pysd_model.clean_caches()
    check_time_settings(*values, names=MODEL_NAMES,
                        where=f"{model.path}: with {', '.join(map(repr, touched))} as given")


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
    ts = model.time_settings
    s = ts.start if start is None else start
    e = ts.stop if stop is None else stop
    d = ts.dt if dt is None else dt
    if saveper is not None:
        sp = saveper
    elif dt is not None and "time_step" in model._pysd.dependencies.get("saveper", {}):
        sp = dt  # SAVEPER = TIME STEP follows the new step
    else:
        sp = ts.saveper
    check_output_size(s, e, d, sp, n_values, members=members, where=str(model.path),
                      limit=limit)


def simulate(
    model: Model | str | os.PathLike,
    params: Mapping[str, object] | None = None,
    *,
    start: float | None = None,
    stop: float | None = None,
    dt: float | None = None,
    saveper: float | None = None,
    outputs: Sequence[str] | str | None = None,
    check_finite: bool = True,
    max_output_bytes: int | None = None,
) -> pd.DataFrame:
    """Run a model once from a fresh state and return its results.

    Parameters
    ----------
    model : Model or path-like
        A loaded model, or a model file to load.
    params : mapping, optional
        ``{name: value}``. Names are as in the model (case-insensitive);
        ``"Name[elem, elem]"`` sets one element of a subscripted constant.
        Values are numbers, or an ``xarray.DataArray`` / ``pandas.Series``
        (time series) passed to PySD as they are. Nothing set here carries
        over to the next run.
    start, stop, dt, saveper : float, optional
        Override INITIAL TIME, FINAL TIME, TIME STEP and SAVEPER.
    outputs : sequence of str, optional
        Variables to return (``"Name"`` or ``"Name[elem]"``). Default: all.
        Asking only for what you need is much faster on large models.
    check_finite : bool, default True
        Raise :class:`SimulationError` if an output, or any stock (even one
        not in `outputs`), becomes NaN or inf; and warn with
        :class:`~sdkit.errors.SdkitWarning` when `dt` exceeds the time
        constant of a stock at the end of the run, or when PySD shortens
        a delay because `dt` is too large for it.
    max_output_bytes : int, optional
        Refuse (before running) a run whose saved output, saved times x
        saved values x 8 bytes, exceeds this; default
        ``$SDKIT_MAX_OUTPUT_BYTES`` or 2 GiB.

    Returns
    -------
    pandas.DataFrame
        Indexed by time (``"time"``); subscripted variables become
        ``"Name[elem,elem]"`` columns. ``frame.attrs["sdkit_dims"]`` maps
        each subscripted name to its dimensions, for :func:`to_dataset`.

    Raises
    ------
    UnknownVariableError
        A name in `params` or `outputs` the model does not define.
    InvalidValueError
        A non-numeric or non-finite value, a bad time setting (a TIME STEP
        or SAVEPER that is not > 0, a stop before the start), or a run too
        long (more than :data:`sdkit.model.timesettings.MAX_STEPS` steps) or too
        large (see `max_output_bytes`).
    SimulationError
        PySD failed during the run, or (with `check_finite`) produced NaN/inf.

    Warns
    -----
    SdkitWarning
        `dt` does not divide the run (the last step overshoots the final
        time; the message states the actual end time), or the final time
        is not a save time (SAVEPER longer than the run or not dividing it).
        The saved times stay Vensim's and PySD's: the initial time and every
        SAVEPER after it; the final time is not added, and the warning names
        the last saved time. See :mod:`sdkit.model.timesettings`.

    Examples
    --------
    >>> out = simulate("tests/models/teacup.mdl", {"Room Temperature": 20},
    ...                outputs=["Teacup Temperature"], saveper=1)
    >>> out.index[-1]
    30.0
    """
    if not isinstance(model, Model):
        model = load_model(model)
    start = check_time_setting("start", start, positive=False)
    stop = check_time_setting("stop", stop, positive=False)
    dt = check_time_setting("dt", dt, positive=True)
    saveper = check_time_setting("saveper", saveper, positive=True)
    ts = model.time_settings
    if (stop if stop is not None else ts.stop) < (start if start is not None else ts.start):
        raise InvalidValueError(
            f"'stop' ({stop if stop is not None else ts.stop}) is before "
            f"'start' ({start if start is not None else ts.start})"
        )
    pysd_model = model._fresh_pysd()
    pysd_params = _resolve_params(model, params)
    columns = _resolve_outputs(model, outputs)
    _check_params_time(model, pysd_model, pysd_params, (start, stop, dt, saveper))
    _check_size(model, columns, start, stop, dt, saveper, max_output_bytes)
    extra = _unrequested_stocks(model, columns) if check_finite and columns is not None else []
    kwargs = {}
    if start is not None:
        kwargs["initial_condition"] = (start, {})
    model._dirty = True  # whatever happens below, reset before the next run
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            frame = pysd_model.run(
                params=pysd_params or None,
                return_columns=columns + extra if columns is not None else None,
                final_time=stop,
                time_step=dt,
                saveper=saveper,
                **kwargs,
            )
    except (LookupError, ValueError, TypeError, ArithmeticError, AttributeError,
            NameError, RuntimeError) as e:  # ArithmeticError: overflow, 1/0 in PySD
        raise SimulationError(f"{model.path}: run failed: {type(e).__name__}: {e}") from e
    frame.index = frame.index.astype(float)
    frame.index.name = "time"
    frame.attrs["sdkit_dims"] = {
        name: model.dims_of(name)
        for name in {split_subscripted(c)[0] for c in frame.columns if "[" in str(c)}
    }
    frame.attrs["sdkit_model"] = str(model.path)
    _warn_end(model, pysd_model, frame)
    if check_finite:
        inputs = {"dt": dt, "start": start, "stop": stop}
        _raise_if_not_finite(frame, model, params, inputs)
        if extra:
            frame = frame.drop(columns=[c for c in frame.columns
                                        if split_subscripted(c)[0] in set(extra)])
        _warn_time_step(model, pysd_model, caught)
    return frame


def _warn_end(model: Model, pysd_model, frame: pd.DataFrame) -> None:
    """Warn if the run overshot its final time or did not save it (see :func:`warn_run_end`)."""
    clock = pysd_model.time
    try:
        start, stop = float(clock.initial_time()), float(clock.final_time())
        dt, saveper = float(clock.time_step()), float(clock.saveper())
        end = float(clock())
    except (AttributeError, TypeError, ValueError):  # pragma: no cover - PySD internals
        return
    last = float(frame.index[-1]) if len(frame.index) else None
    warn_run_end(start, stop, dt, saveper, end, last, where=str(model.path), stacklevel=4)


def _unrequested_stocks(model: Model, columns: list[str]) -> list[str]:
    """Stocks (INTEG) not among `columns`: NaN in them must not go unseen."""
    asked = {split_subscripted(c)[0] for c in columns or []}
    comps = model._pysd.components
    out = []
    for real, py in model._names.items():
        fn = getattr(comps, py, None)
        if getattr(fn, "type", None) == "Stateful" and getattr(fn, "subtype", None) == "Integ" \
                and real not in asked:
            out.append(real)
    return out


_MAX_TAU_CHECKS = 40  # stocks probed after a run (two flow evaluations each)


def _warn_time_step(model: Model, pysd_model, caught) -> None:
    """Warn when dt exceeds a stock's time constant (Euler overshoots) or PySD cut a delay.

    The time constant of stock i is estimated as ``-1 / (d flow_i / d stock_i)``
    at the end of the run (a one-sided difference); stocks whose own feedback
    is positive have none. Skipped for models with many stocks.
    """
    for w in caught:
        if "Delay time very small" in str(w.message):
            name = _owner_name(model, str(w.message).split("\n", 1)[0])
            warnings.warn(f"{model.path}: time step too large for delay {name!r}; PySD "
                          "lowered its order (use a smaller dt)", SdkitWarning, stacklevel=3)
    stocks = [e for e in pysd_model._dynamicstateful_elements
              if type(e).__name__ in ("Integ", "NonNegativeInteg")]
    if not stocks or len(stocks) > _MAX_TAU_CHECKS:
        return
    dt = float(pysd_model.time.time_step())
    worst = None
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        for stock in stocks:
            tau = _time_constant(pysd_model, stock)
            if tau is not None and dt > tau and (worst is None or tau < worst[1]):
                worst = (stock.py_name, tau)
    if worst is not None:
        name = _owner_name(model, worst[0])
        warnings.warn(
            f"{model.path}: dt {dt:g} is larger than the time constant of {name!r} "
            f"(about {worst[1]:.3g} at time {float(pysd_model.time()):g}); Euler "
            "integration overshoots and may oscillate; use dt at most a quarter of it",
            SdkitWarning, stacklevel=3,
        )


def _owner_name(model: Model, object_name: str) -> str:
    """The model variable a PySD object (``_integ_x``, ``_delayn_x``) belongs to."""
    owners = [py for py in model._real if object_name.endswith("_" + py)]
    return model._real[max(owners, key=len)] if owners else object_name


def _time_constant(pysd_model, stock) -> float | None:
    state = stock.state
    try:
        base = np.asarray(state, dtype=float)
        if not np.isfinite(base).all():
            return None
        step = 1e-6 * np.maximum(np.abs(base), 1.0)
        pysd_model.clean_caches()
        f0 = np.asarray(stock.ddt(), dtype=float)
        stock.state = state + step
        pysd_model.clean_caches()
        f1 = np.asarray(stock.ddt(), dtype=float)
    except Exception:  # noqa: BLE001 - a heuristic; never fail a finished run
        return None
    finally:
        stock.state = state
        pysd_model.clean_caches()
    slope = (f1 - f0) / step
    taus = -1.0 / slope[np.isfinite(slope) & (slope < 0)]
    return float(taus.min()) if taus.size else None


def _raise_if_not_finite(frame: pd.DataFrame, model: Model, params, inputs=None) -> None:
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


def to_dataset(frame: pd.DataFrame):
    """Return an ``xarray.Dataset`` view of a :func:`simulate` result.

    Scalars become ``(time,)`` variables and subscripted variables
    ``(time, dim, ...)`` variables, with dimension names from the model.
    """
    import xarray as xr

    dims_of = frame.attrs.get("sdkit_dims", {})
    data_vars: dict[str, xr.DataArray] = {}
    grouped: dict[str, list[tuple[tuple[str, ...], str]]] = {}
    for col in frame.columns:
        base, elems = split_subscripted(col)
        if elems:
            grouped.setdefault(base, []).append((elems, col))
        else:
            data_vars[base] = xr.DataArray(frame[col].to_numpy(), dims=("time",))
    for base, items in grouped.items():
        dims = list(dims_of.get(base) or [f"{base}_dim{i}" for i in range(len(items[0][0]))])
        coords = [list(dict.fromkeys(e[i] for e, _ in items)) for i in range(len(dims))]
        arr = np.full((len(frame),) + tuple(len(c) for c in coords), np.nan)
        for elems, col in items:
            idx = tuple(coords[i].index(e) for i, e in enumerate(elems))
            arr[(slice(None),) + idx] = frame[col].to_numpy()
        data_vars[base] = xr.DataArray(
            arr, dims=["time", *dims], coords=dict(zip(dims, coords))
        )
    return xr.Dataset(data_vars, coords={"time": frame.index.to_numpy()})
