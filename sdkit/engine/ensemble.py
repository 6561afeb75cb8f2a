"""The front door: :func:`simulate_ensemble`."""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import pandas as pd

from sdkit.engine.chunks import ChunkSpec, FallbackNote, run_chunk
from sdkit.engine.simulate import (
    check_run_size,
    check_time_setting,
    coerce_number,
    split_subscripted,
)
from sdkit.errors import InvalidValueError, UnknownVariableError
from sdkit.model.load import Model, load_model

__all__ = ["simulate_ensemble", "simulate_all", "member_frame", "FallbackNote"]

CHUNK = 2048  # members per chunk (at most)
_CONTROL = {"time", "initial_time", "final_time", "time_step", "saveper"}


def _columns(model: Model, table: pd.DataFrame):
    """Resolve parameter columns to (python name, element index, label)."""
    out = []
    for col in table.columns:
        base, elems = split_subscripted(str(col))
        py = model.py_name(base)
        if py in _CONTROL:
            raise InvalidValueError(
                f"column {col!r}: set time settings with start/stop/dt/saveper")
        dims = model.dims_of(py)
        if elems and len(elems) != len(dims):
            raise InvalidValueError(
                f"column {col!r}: {model._real[py]!r} has {len(dims)} subscript(s) {dims}, "
                f"got {len(elems)}")
        index = []
        subs = model.subscripts
        for dim, elem in zip(dims, elems):
            choices = {str(e).lower(): i for i, e in enumerate(subs[dim])}
            if elem.lower() not in choices:
                raise UnknownVariableError(
                    f"column {col!r}: {elem!r} is not an element of {dim!r} "
                    f"(elements: {', '.join(subs[dim])})")
            index.append(choices[elem.lower()])
        out.append((py, tuple(index), str(col)))
    return tuple(out)


def _values(table: pd.DataFrame) -> np.ndarray:
    cols = []
    for col in table.columns:
        series = table[col]
        if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
            arr = series.to_numpy(dtype=float)
            bad = ~np.isfinite(arr)
            if bad.any():
                i = int(np.argmax(bad))
                raise InvalidValueError(
                    f"column {col!r}, row {table.index[i]!r} must be finite: {arr[i]}")
        else:
            arr = np.array([coerce_number(v, what=f"column {col!r}, row {r!r}")
                            for r, v in series.items()], dtype=float)
        cols.append(arr)
    return np.column_stack(cols) if cols else np.empty((len(table), 0))


def _outputs(model: Model, outputs) -> tuple[list[str], list[tuple[str, tuple]]]:
    if isinstance(outputs, str):
        outputs = [outputs]
    if not outputs:
        raise InvalidValueError("'outputs' must name at least one variable")
    bases, picks = [], []
    for name in outputs:
        base, elems = split_subscripted(name)
        py = model.py_name(base)
        if py == "time":
            raise InvalidValueError("'time' is the time coordinate, not an output")
        if py not in bases:
            bases.append(py)
        picks.append((py, elems))
    return bases, picks


def simulate_ensemble(
    model: Model | str | os.PathLike,
    param_table: pd.DataFrame | None,
    *,
    outputs: Sequence[str] | str,
    saveper: float | None = None,
    start: float | None = None,
    stop: float | None = None,
    dt: float | None = None,
    executor=None,
):
    """Run one simulation per row of `param_table`, all members stepped together.

    The model is compiled from PySD's abstract model into numpy code whose
    variables carry a leading member axis; it integrates with Euler and saves
    exactly as PySD does. Models using something the engine does not compile
    run with PySD (member by member); ``ds.attrs["sdkit_fallback"]`` then
    says which construct, in one line.

    Parameters
    ----------
    model : Model or path-like
    param_table : pandas.DataFrame or None
        One row per member. Columns are constant names (``"Room Temperature"``)
        or one element (``"Population[Paris]"``); a plain name of a subscripted
        constant sets every element. ``None`` runs one member with the model's
        own values.
    outputs : sequence of str
        Variables to keep (only these, only at save times).
    saveper, start, stop, dt : float, optional
        Override the model's time settings.
    executor : sdkit.executors.Executor, optional
        Where chunks run (default: in this process, one chunk).

    Returns
    -------
    xarray.Dataset
        One variable per output with dims ``(member, time, *subscripts)``;
        ``member`` takes the table's index. ``attrs["sdkit_engine"]`` is
        ``"fast"`` or ``"pysd"``.

    Raises
    ------
    UnknownVariableError
        A column or output the model does not define, or an unknown element.
    InvalidValueError
        A non-numeric or non-finite value, or a bad time setting.

    Examples
    --------
    >>> table = pd.DataFrame({"Contact Infectivity": [0.2, 0.3]})
    >>> ds = simulate_ensemble("tests/models/SIR.mdl", table, outputs=["Infectious"])
    >>> ds["Infectious"].dims
    ('member', 'time')
    """
    import xarray as xr

    from sdkit.engine.executors import InProcessExecutor

    if not isinstance(model, Model):
        model = load_model(model)
    if param_table is None:
        param_table = pd.DataFrame(index=pd.RangeIndex(1, name="member"))
    if not isinstance(param_table, pd.DataFrame):
        raise InvalidValueError(
            f"'param_table' must be a pandas DataFrame, got {type(param_table).__name__}")
    if len(param_table) == 0:
        raise InvalidValueError("'param_table' has no rows")
    start = check_time_setting("start", start, positive=False)
    stop = check_time_setting("stop", stop, positive=False)
    dt = check_time_setting("dt", dt, positive=True)
    saveper = check_time_setting("saveper", saveper, positive=True)
    ts = model.time_settings
    if (ts.stop if stop is None else stop) < (ts.start if start is None else start):
        raise InvalidValueError(f"'stop' is before 'start' in {model.path}")
    columns = _columns(model, param_table)
    values = _values(param_table)
    bases, picks = _outputs(model, outputs)
    dims = tuple(tuple(model.dims_of(b)) for b in bases)
    subs = model.subscripts
    coords = tuple(tuple(tuple(subs[d]) for d in ds_) for ds_ in dims)
    check_run_size(model, start, stop, dt, saveper, members=len(values),  # before allocating
                   n_values=sum(int(np.prod([len(c) for c in cs])) for cs in coords))
    spec = ChunkSpec(str(model.path), model.sha256, tuple(bases), dims, coords, columns,
                     start, stop, dt, saveper)
    own = executor is None
    executor = executor or InProcessExecutor()
    try:
        # chunks of a few thousand members keep arrays in cache; at least one per worker
        n_chunks = max(1, min(len(values), max(executor.n_workers, -(-len(values) // CHUNK))))
        blocks = np.array_split(values, n_chunks)
        if own:
            results = [run_chunk(spec, b, model) for b in blocks]
        else:
            results = executor.map(run_chunk, [(spec, b) for b in blocks])
    finally:
        if own:
            executor.close()
    times = results[0].times
    member = param_table.index.copy()
    member.name = "member"
    data = {}
    for b, d, c in zip(bases, dims, coords):
        parts = [r.values.pop(b) for r in results]  # freed output by output
        arr = parts[0] if len(parts) == 1 else np.concatenate(parts, axis=0)
        del parts
        data[b] = xr.DataArray(arr, dims=("member", "time", *d),
                               coords={"member": member.to_numpy(), "time": times,
                                       **{k: list(v) for k, v in zip(d, c)}})
    out = {}
    for py, elems in picks:
        da = data[py]
        real = model._real[py]
        if elems:
            d = model.dims_of(py)
            if len(elems) != len(d):
                raise InvalidValueError(f"output {real!r} has {len(d)} subscript(s) {d}")
            sel = {}
            for dim, e in zip(d, elems):
                choices = {str(x).lower(): x for x in subs[dim]}
                if e.lower() not in choices:
                    raise UnknownVariableError(f"output {real}[{','.join(elems)}]: "
                                               f"{e!r} is not an element of {dim!r}")
                sel[dim] = choices[e.lower()]
            out[f"{real}[{','.join(sel.values())}]"] = da.sel(sel, drop=True)
        else:
            out[real] = da
    engines = {r.engine for r in results}
    ds = xr.Dataset(out)
    ds.attrs["sdkit_engine"] = "fast" if engines == {"fast"} else "pysd"
    notes = [r.note for r in results if r.note]
    if notes:
        ds.attrs["sdkit_fallback"] = notes[0]
    ds.attrs["sdkit_model"] = str(model.path)
    return ds


def member_frame(ds, member=None) -> pd.DataFrame:
    """One member of an ensemble as :func:`sdkit.engine.simulate` returns a run.

    Columns are ``"Name"`` or ``"Name[elem,elem]"``; the index is time.
    """
    member = ds["member"].values[0] if member is None else member
    cols = {}
    for name, da in ds.data_vars.items():
        da = da.sel(member=member)
        extra = [d for d in da.dims if d != "time"]
        if not extra:
            cols[name] = da.to_numpy()
            continue
        arr = da.transpose("time", *extra).to_numpy()
        for idx in np.ndindex(*arr.shape[1:]):
            elems = [str(da[d].values[i]) for d, i in zip(extra, idx)]
            cols[f"{name}[{','.join(elems)}]"] = arr[(slice(None),) + idx]
    frame = pd.DataFrame(cols, index=pd.Index(ds["time"].to_numpy().astype(float), name="time"))
    return frame


def simulate_all(model: Model | str | os.PathLike) -> tuple[pd.DataFrame, str]:
    """One run of every variable with the fast engine (PySD if it falls back).

    Returns the frame (as :func:`sdkit.engine.simulate` gives it) and the engine
    used, ``"fast"`` or ``"pysd"``. Used by the conformance harness.
    """
    from sdkit.engine.compiled_cache import Unsupported, program_for
    from sdkit.engine.simulate import simulate

    if not isinstance(model, Model):
        model = load_model(model)
    try:
        program = program_for(model)
    except Unsupported:
        return simulate(model, check_finite=False), "pysd"
    names = [model._real[n] for n in program.nodes if n in model._real and n != "time"]
    ds = simulate_ensemble(model, None, outputs=names)
    if ds.attrs["sdkit_engine"] != "fast":
        return simulate(model, check_finite=False), "pysd"
    return member_frame(ds), "fast"
