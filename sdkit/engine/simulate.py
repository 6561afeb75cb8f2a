"""Single runs: :func:`simulate` and the xarray view of its result.

A single run is a one-member ensemble of :func:`sdkit.engine.runner.run_ensemble`
(sdkit's compiled engine), with PySD (:mod:`sdkit.engine.pysd_backend`) where
the engine cannot honour it, said in one line, or when asked for.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import xarray as xr

from sdkit.engine.checks import (
    check_run_size,
    check_time_setting,
    coerce_number,
    raise_if_not_finite,
)
from sdkit.engine.chunks import FallbackNote, engine_of
from sdkit.engine.compiled_cache import Unsupported, simulated_names
from sdkit.engine.pysd_backend import run_pysd, touches_time_settings, unrequested_stocks
from sdkit.engine.runner import RawRun, open_run, run_raw
from sdkit.engine.runspec import RunTimes, element_index
from sdkit.errors import InvalidValueError, UnsupportedConstructError
from sdkit.io.tidy import to_dataset_from_wide
from sdkit.model.load import Model
from sdkit.model.names import split_subscripted

__all__ = ["simulate", "to_dataset", "split_subscripted", "coerce_number", "check_time_setting",
           "check_run_size"]

log = logging.getLogger("sdkit.engine")


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


def _n_values(model: Model, columns: list[str] | None) -> int:
    """Values saved at each save time (one per element of each output)."""
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


def _all_outputs(model: Model) -> list[str]:
    """What a run returns by default: every variable the engine simulates, no lookups."""
    simulated = simulated_names(model)
    kinds = {v.py_name: v.kind for v in model.variables}
    out = []
    for name in model.names:  # PySD's order: the model's namespace
        py = model.py_name(name)
        if py in simulated and kinds.get(py) not in ("lookup", "data"):
            out.append(name)
    return out


def _first_member(raw: RawRun) -> pd.DataFrame:
    """The first member of a run as :func:`sdkit.engine.runner.member_frame` gives it
    (columns ``"Name"`` or ``"Name[elem,elem]"``, index time), without a dataset."""
    model, first = raw.model, raw.results[0]
    cols: dict[str, np.ndarray] = {}
    for py, elems in raw.picks:
        arr = first.values[py][0]  # (times, *dims)
        real = model.real_name(py)
        dims = model.dims_of(py)
        if elems:
            if len(elems) != len(dims):
                raise InvalidValueError(f"output {real!r} has {len(dims)} subscript(s) {dims}")
            what = f"output {real}[{','.join(elems)}]"
            index = tuple(element_index(model, d, e, what) for d, e in zip(dims, elems))
            names = [model.subscripts[d][i] for d, i in zip(dims, index)]
            cols.setdefault(f"{real}[{','.join(names)}]", arr[(slice(None),) + index])
        elif not dims:
            cols.setdefault(real, arr)
        else:
            for index in np.ndindex(*arr.shape[1:]):
                names = [model.subscripts[d][i] for d, i in zip(dims, index)]
                cols.setdefault(f"{real}[{','.join(names)}]", arr[(slice(None),) + index])
    times = pd.Index(np.asarray(first.times, dtype=float), name="time")
    # one block of floats: much faster to build than one array per column
    block = np.column_stack(list(cols.values())) if cols else np.empty((len(times), 0))
    frame = pd.DataFrame(block, index=times, columns=list(cols), copy=False)
    frame.attrs["sdkit_engine"] = engine_of(raw.results)  # what ran, as ensembles say it
    return frame


def _fast_obstacle(model: Model, params: Mapping[str, object] | None) -> str | None:
    """Why the compiled engine cannot honour these options (None: it can)."""
    for key, value in (params or {}).items():
        if isinstance(value, pd.Series | xr.DataArray):
            return f"time-series parameter {key!r}"
    if touches_time_settings(model, params):  # PySD checks them, naming the constant
        return "a parameter that a time setting is computed from"
    return None


def _run_fast(model: Model, params, columns, check_finite: bool, times: dict,
              method: str, engine: str = "fast") -> pd.DataFrame:
    """One member of the compiled engine, as PySD's frame (may raise :class:`Unsupported`)."""
    outputs = list(columns) if columns is not None else _all_outputs(model)
    extra = unrequested_stocks(model, columns) if check_finite and columns is not None else []
    checked = {k: coerce_number(v, what=f"parameter {k!r}") for k, v in (params or {}).items()}
    table = pd.DataFrame({k: [v] for k, v in checked.items()},
                         index=pd.RangeIndex(1, name="member"))
    # the caller checked the size of what it returns; the stocks added here are dropped
    raw = run_raw(model, table, outputs + extra, engine=engine if engine == "native" else "fast",
                  max_output_bytes=2**62,
                  method=method, **times)
    frame = _first_member(raw)
    if check_finite:
        raise_if_not_finite(frame, model, params,
                            {k: times[k] for k in ("dt", "start", "stop")})
        frame = frame.drop(columns=[c for c in frame.columns
                                    if split_subscripted(c)[0] in set(extra)])
    return frame


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
    engine: str = "auto",
    method: str | None = None,
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
    engine : {"auto", "fast", "pysd", "native"}, default "auto"
        ``"auto"`` runs sdkit's compiled engine, and PySD where the engine
        cannot honour the run (a construct it does not compile, a time-series
        parameter); the reason is logged on the ``sdkit.engine`` logger and
        kept in ``frame.attrs["sdkit_fallback"]``. ``"fast"`` refuses such a
        run; ``"pysd"`` always runs PySD. Both engines agree to 1e-9.
        ``"native"`` (opt-in, the ``fast`` extra) runs the compiled engine's
        code compiled by Numba (:mod:`sdkit.engine.native_run`): it compiles
        once per process (seconds; tens of seconds for a model the size of
        IIS), then runs a single run many times faster; it never falls back.
    method : {"euler", "rk2", "rk4"}, optional
        Integration method (see :mod:`sdkit.engine.methods`); default: the
        model's own (an XMILE file's ``<sim_specs method>``, else Euler).
        Only the compiled engine integrates with RK2 or RK4: such a run
        never falls back to PySD, which has Euler only.

    Returns
    -------
    pandas.DataFrame
        Indexed by time (``"time"``); subscripted variables become
        ``"Name[elem,elem]"`` columns. ``frame.attrs["sdkit_dims"]`` maps
        each subscripted name to its dimensions, for :func:`to_dataset`;
        ``frame.attrs["sdkit_engine"]`` is ``"fast"`` or ``"pysd"``.

    Raises
    ------
    UnknownVariableError
        A name in `params` or `outputs` the model does not define.
    InvalidValueError
        A non-numeric or non-finite value, a bad time setting (a TIME STEP
        or SAVEPER that is not > 0, a stop before the start), or a run too
        long (more than :data:`sdkit.model.timesettings.MAX_STEPS` steps) or too
        large (see `max_output_bytes`).
    UnsupportedConstructError
        With ``engine="fast"`` or a method other than Euler, a run the
        compiled engine cannot do; with ``engine="pysd"``, a method other
        than Euler.
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
    model, method = open_run(model, engine, method)
    checked = RunTimes.checked(model, start, stop, dt, saveper)
    start, stop, dt, saveper = checked.start, checked.stop, checked.dt, checked.saveper
    columns = _resolve_outputs(model, outputs)
    check_run_size(model, start, stop, dt, saveper, _n_values(model, columns),
                   limit=max_output_bytes)
    times = {"start": start, "stop": stop, "dt": dt, "saveper": saveper}
    frame, why = None, None
    if engine != "pysd":
        frame, why = _try_fast(model, params, columns, check_finite, times, method, engine)
    if frame is None:
        frame = run_pysd(model, params, columns=columns, check_finite=check_finite,
                         progress=True, **times)
    frame.attrs["sdkit_dims"] = {
        name: model.dims_of(name)
        for name in {split_subscripted(c)[0] for c in frame.columns if "[" in str(c)}
    }
    frame.attrs["sdkit_meta"] = variable_meta(model, frame.columns)
    frame.attrs["sdkit_model"] = str(model.path)
    frame.attrs.setdefault("sdkit_engine", "pysd")  # a compiled run says which engine ran it
    frame.attrs["sdkit_method"] = method
    if why:
        frame.attrs["sdkit_fallback"] = str(FallbackNote(model.path.name, why))
    return frame


def _try_fast(model: Model, params, columns, check_finite: bool, times: dict, method: str,
              engine: str) -> tuple[pd.DataFrame | None, str | None]:
    """The run on the compiled engine, or ``(None, why)`` when PySD must run it.

    Falls back only for a construct the engine cannot compile (logged in one
    line); refuses instead where PySD cannot honour the request (a method
    other than Euler, or ``engine="fast"``).
    """
    why = _fast_obstacle(model, params)
    if why is None:
        try:
            with np.errstate(all="ignore"):
                return _run_fast(model, params, columns, check_finite, times, method,
                                 engine), None
        except (Unsupported, UnsupportedConstructError) as e:
            if engine == "native":  # asked for: never another engine
                raise
            why = getattr(e, "construct", None) or " ".join(str(e).split())[:200]
    if method != "euler":
        raise UnsupportedConstructError(
            f"{model.path}: {method.upper()} runs only on the fast engine, which does "
            f"not support: {why} (PySD integrates with Euler only; use method 'euler')")
    if engine in ("fast", "native"):
        raise UnsupportedConstructError(
            f"{model.path}: the {engine} engine does not support: {why} "
            "(use engine 'auto' or 'pysd')")
    log.info(str(FallbackNote(model.path.name, why)))
    return None, why


def variable_meta(model: Model, columns) -> dict[str, tuple[str, str]]:
    """``{name: (units, documentation)}`` of the variables behind `columns`."""
    wanted = {split_subscripted(str(c))[0] for c in columns}
    return {v.name: (v.units, v.documentation) for v in model.variables if v.name in wanted}


def to_dataset(frame: pd.DataFrame, model: Model | None = None) -> xr.Dataset:
    """Return an ``xarray.Dataset`` view of a :func:`simulate` result.

    Scalars become ``(time,)`` variables and subscripted variables
    ``(time, dim, ...)`` variables, with dimension names from the model.
    Every variable carries ``units`` and ``description`` attributes (from
    ``frame.attrs["sdkit_meta"]``, which :func:`simulate` sets, or from
    `model`). See :mod:`sdkit.io.tidy` for the shapes and conversions.
    """
    if model is not None and not frame.attrs.get("sdkit_meta"):
        frame = frame.copy()
        frame.attrs["sdkit_meta"] = variable_meta(model, frame.columns)
        frame.attrs.setdefault("sdkit_dims", {
            name: model.dims_of(name)
            for name in {split_subscripted(c)[0] for c in frame.columns if "[" in str(c)}})
    ds = to_dataset_from_wide(frame)
    if "time" in ds.coords:
        ds = ds.assign_coords(time=ds["time"].to_numpy().astype(float))
    return ds
