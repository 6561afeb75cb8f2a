"""The PySD backend: the only module that touches a model's PySD object.

sdkit runs models with its compiled engine (:mod:`sdkit.engine.runner`);
PySD runs them where that engine meets a construct it does not compile, or
when asked (``engine="pysd"``). This module alone resets and reloads the
PySD model, so every run starts from the state the file defines:
:func:`fresh_pysd` reloads it (after checking the cached translation again)
when a previous run changed it.
"""

from __future__ import annotations

import warnings
import weakref
from contextlib import contextmanager, nullcontext

import numpy as np
import pandas as pd
import xarray as xr

from sdkit.engine.checks import coerce_number, raise_if_not_finite
from sdkit.errors import InvalidValueError, SdkitWarning, SimulationError, UnknownVariableError
from sdkit.io.progress import Progress
from sdkit.model.cached import verify_translation
from sdkit.model.load import Model
from sdkit.model.names import canonical, split_subscripted
from sdkit.model.timesettings import MODEL_NAMES, check_time_settings, warn_run_end
from sdkit.model.translate import importing_without_bytecode

__all__ = ["fresh_pysd", "constant_value", "resolve_params", "touches_time_settings",
           "run_pysd", "run_pysd_members", "unrequested_stocks"]

_DIRTY: weakref.WeakSet = weakref.WeakSet()  # models whose PySD object a run changed
_CONTROL = ("initial_time", "final_time", "time_step", "saveper")
_MAX_TAU_CHECKS = 40  # stocks probed after a run (two flow evaluations each)


def _pysd(model: Model):
    return model._pysd_object  # set by load_model; read only here


def fresh_pysd(model: Model):
    """The model's PySD object, reloaded if a previous run changed it."""
    pysd_model = _pysd(model)
    if model in _DIRTY:
        verify_translation(model.translation, model.path, trusted=model.trusted)
        with warnings.catch_warnings(), importing_without_bytecode():
            warnings.simplefilter("ignore")
            pysd_model.reload()
        _DIRTY.discard(model)
    return pysd_model


def constant_value(model: Model, name: str):
    """The value PySD gives `name` in a fresh model (a float or an ``xarray.DataArray``)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fresh_pysd(model)[model.real_name(name)]


def resolve_params(model: Model, params) -> dict[str, object]:
    """Turn user params (names, ``name[elem]`` keys, numbers, series) into PySD params."""
    out: dict[str, object] = {}
    for key, value in (params or {}).items():
        base, elems = split_subscripted(key)
        py = model.py_name(base)
        real = model.real_name(py)
        if py in {"time", *_CONTROL}:
            raise InvalidValueError(
                f"{key!r}: set time settings with start/stop/dt/saveper, not as a parameter")
        if isinstance(value, pd.Series | xr.DataArray):  # a time series: PySD takes it as is
            out[real] = value
            continue
        number = coerce_number(value, what=f"parameter {key!r}")
        if not elems:
            out[real] = number
            continue
        dims = model.dims_of(real)
        if len(elems) != len(dims):
            raise InvalidValueError(
                f"{key!r}: {real!r} has {len(dims)} subscript(s) {dims}, got {len(elems)}")
        current = out.get(real)
        if current is None:
            current = constant_value(model, real).copy()
        loc = {}
        for dim, elem in zip(dims, elems):
            choices = {canonical(e): e for e in current.coords[dim].values}
            if canonical(elem) not in choices:
                raise UnknownVariableError(
                    f"{key!r}: {elem!r} is not an element of {dim!r} "
                    f"(elements: {', '.join(map(str, current.coords[dim].values))})")
            loc[dim] = choices[canonical(elem)]
        current.loc[loc] = number
        out[real] = current
    return out


def touches_time_settings(model: Model, params) -> bool:
    """True if `params` set a constant a time setting is computed from."""
    return any(model.py_name(split_subscripted(k)[0]) in model.time_inputs for k in params or {})


def _check_params_time(model: Model, pysd_model, pysd_params: dict, overrides: tuple) -> None:
    """Check the time settings again when `params` set a constant they are computed from.

    ``TIME STEP = Step Size`` with ``Step Size = 0`` (or -1) would make PySD's
    loop run for ever. The constants are set on the (fresh) PySD model here,
    as PySD's run sets them again, and the four settings evaluated.
    """
    touched = [real for real in pysd_params if model.py_name(real) in model.time_inputs]
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


def unrequested_stocks(model: Model, columns: list[str] | None) -> list[str]:
    """Stocks (INTEG) not among `columns`: NaN in them must not go unseen."""
    asked = {split_subscripted(c)[0] for c in columns or []}
    return [v.name for v in model.variables if v.kind == "stock" and v.name not in asked]


@contextmanager
def _counting_steps(pysd_model, desc: str):
    """Count PySD's integration steps on a :class:`Progress` while the block runs.

    A bar on a terminal, a log line every few seconds elsewhere (nothing for a
    short run). The total is read from PySD's clock at the first step, once
    the run has set its time settings.
    """
    step, bars = pysd_model._integrate_step, []

    def counted():
        if not bars:
            clock = pysd_model.time
            total = int(round((clock.final_time() - clock()) / clock.time_step()))
            bars.append(Progress(max(total, 1), desc=desc, unit="step"))
        step()
        bars[0].update()

    pysd_model._integrate_step = counted  # an instance attribute over PySD's method
    try:
        yield
    finally:
        del pysd_model._integrate_step
        for bar in bars:
            bar.close()


def run_pysd(model: Model, params=None, *, columns: list[str] | None = None,
             start: float | None = None, stop: float | None = None, dt: float | None = None,
             saveper: float | None = None, check_finite: bool = True,
             progress: bool = False) -> pd.DataFrame:
    """One PySD run from a fresh state (see :func:`sdkit.engine.simulate.simulate`).

    The caller has checked the time settings and the output size. `progress`
    reports the integration steps (PySD runs of large models take minutes).
    """
    pysd_model = fresh_pysd(model)
    pysd_params = resolve_params(model, params)
    _check_params_time(model, pysd_model, pysd_params, (start, stop, dt, saveper))
    extra = unrequested_stocks(model, columns) if check_finite and columns is not None else []
    kwargs = {"initial_condition": (start, {})} if start is not None else {}
    _DIRTY.add(model)  # whatever happens below, reset before the next run
    try:
        with warnings.catch_warnings(record=True) as caught, (
                _counting_steps(pysd_model, f"{model.path.name} on PySD") if progress
                else nullcontext()):
            warnings.simplefilter("always")
            frame = pysd_model.run(
                params=pysd_params or None,
                return_columns=columns + extra if columns is not None else None,
                final_time=stop, time_step=dt, saveper=saveper, **kwargs)
    except (LookupError, ValueError, TypeError, ArithmeticError, AttributeError,
            NameError, RuntimeError) as e:  # ArithmeticError: overflow, 1/0 in PySD
        raise SimulationError(f"{model.path}: run failed: {type(e).__name__}: {e}") from e
    frame.index = frame.index.astype(float)
    frame.index.name = "time"
    _warn_end(model, pysd_model, frame)
    if check_finite:
        raise_if_not_finite(frame, model, params, {"dt": dt, "start": start, "stop": stop})
        if extra:
            frame = frame.drop(columns=[c for c in frame.columns
                                        if split_subscripted(c)[0] in set(extra)])
        _warn_time_step(model, pysd_model, caught)
    return frame


def run_pysd_members(model: Model, spec, values: np.ndarray):
    """Ensemble members one PySD run each: save times and ``{output: (members, times, *dims)}``.

    `spec` is a :class:`sdkit.engine.chunks.ChunkSpec`.
    """
    names = [model.real_name(o) for o in spec.outputs]
    out: dict[str, np.ndarray] = {}
    times = None
    for i, row in enumerate(values):
        params = {label: float(v) for (_n, _i, label), v in zip(spec.columns, row)}
        with warnings.catch_warnings():  # the fall-back note is the one message
            warnings.simplefilter("ignore")
            frame = run_pysd(model, params, columns=names, start=spec.start, stop=spec.stop,
                             dt=spec.dt, saveper=spec.saveper, check_finite=False)
        times = frame.index.to_numpy(float)
        for o, name, dims, coords in zip(spec.outputs, names, spec.out_dims, spec.out_coords):
            if o not in out:
                out[o] = np.empty((len(values), len(times)) + tuple(len(c) for c in coords))
            if not dims:
                out[o][i] = frame[name].to_numpy(float)
                continue
            for elems in np.ndindex(*(len(c) for c in coords)):
                col = f"{name}[{','.join(c[k] for c, k in zip(coords, elems))}]"
                out[o][(i, slice(None)) + elems] = frame[col].to_numpy(float)
    return times, out


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
    warn_run_end(start, stop, dt, saveper, end, last, where=str(model.path), stacklevel=5)


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
                          "lowered its order (use a smaller dt)", SdkitWarning, stacklevel=4)
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
            SdkitWarning, stacklevel=4,
        )


def _owner_name(model: Model, object_name: str) -> str:
    """The model variable a PySD object (``_integ_x``, ``_delayn_x``) belongs to."""
    owners = [v for v in model.variables if object_name.endswith("_" + v.py_name)]
    return max(owners, key=lambda v: len(v.py_name)).name if owners else object_name


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
