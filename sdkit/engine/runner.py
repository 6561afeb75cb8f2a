"""One way to run many simulations: :func:`run_ensemble` and :class:`EnsembleResult`.

Every ensemble in sdkit (calibration batches, projections, Monte Carlo,
sensitivity) runs here. The model is compiled from PySD's abstract model into
numpy code with a leading member axis (:mod:`sdkit.engine.codegen`); PySD
runs it only when the engine meets a construct it does not compile
(:class:`~sdkit.engine.expressions.Unsupported`), never because a run failed.

``engine`` is one vocabulary everywhere in sdkit:

``"auto"``
    The compiled engine; PySD, with a one-line note, where it cannot compile.
``"fast"``
    The compiled engine or :class:`~sdkit.errors.UnsupportedConstructError`.
``"pysd"``
    PySD, one member at a time.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

from sdkit.engine.chunks import ChunkSpec, engine_of, run_chunk
from sdkit.engine.executors import Executor, InProcessExecutor
from sdkit.engine.methods import refuse_pysd, resolve_method
from sdkit.engine.runspec import (
    RunTimes,
    element_index,
    native_threads_per_chunk,
    param_table,
    param_values,
    run_spec,
)
from sdkit.engine.shared import run_shared
from sdkit.errors import InvalidValueError
from sdkit.io.progress import Progress
from sdkit.io.tidy import describe
from sdkit.model.load import Model, load_model

__all__ = ["ENGINES", "EnsembleResult", "run_ensemble", "check_engine", "member_frame", "RawRun",
           "run_raw", "open_run"]

log = logging.getLogger("sdkit.engine")

#: the engine names every sdkit entry point accepts
ENGINES = ("auto", "fast", "pysd", "native")  # native: opt-in, sdkit.engine.native_run
CHUNK = 10_000  # members per chunk (at most): larger chunks spend less per step in Python


@dataclass(frozen=True)
class EnsembleResult:
    """What :func:`run_ensemble` returns.

    Attributes
    ----------
    dataset : xarray.Dataset
        One variable per output, dims ``(member, time, *subscripts)``.
    engine : str
        ``"fast"`` (the compiled engine) or ``"pysd"``.
    fallback : str or None
        Why PySD ran where the compiled engine was asked for (one line naming
        the unsupported construct); None otherwise.
    """

    dataset: xr.Dataset
    engine: str
    fallback: str | None = None


def check_engine(engine: str) -> str:
    """Return `engine` if it is one of :data:`ENGINES`, else raise :class:`InvalidValueError`."""
    if engine not in ENGINES:
        raise InvalidValueError(f"engine must be one of {', '.join(ENGINES)}: {engine!r}")
    return engine


def _run_chunks(spec: ChunkSpec, values: np.ndarray, model: Model, executor: Executor | None):
    workers = 1 if executor is None else executor.n_workers
    # chunks of up to CHUNK members (faster than a few thousand), at least one per worker
    blocks = np.array_split(values, max(1, min(len(values),
                                               max(workers, -(-len(values) // CHUNK)))))
    if executor is None and len(values) > 1:  # a line on stderr every few seconds if it runs long
        with Progress(len(values), desc="ensemble", lines=True) as bar:
            return [_run_counted(spec, b, model, bar) for b in blocks]
    if executor is None or executor.in_process:
        return (executor or InProcessExecutor()).map(run_chunk, [(spec, b, model) for b in blocks])
    if executor.shares_memory:  # local processes: outputs come back through shared memory
        return run_shared(executor, model, spec, blocks)
    return executor.map(run_chunk, [(spec, b) for b in blocks])


def _run_counted(spec: ChunkSpec, block: np.ndarray, model: Model, bar: Progress):
    """:func:`run_chunk` on `block`, counting its members on `bar` as its steps go by."""
    done = 0

    def tick(fraction: float) -> None:
        nonlocal done
        now = int(len(block) * fraction)
        bar.update(now - done)
        done = now

    result = run_chunk(spec, block, model, tick)
    bar.update(len(block) - done)
    return result


def _select(model: Model, data: dict, picks) -> dict:
    out = {}
    for py, elems in picks:
        da = data[py]
        real = model.real_name(py)
        if not elems:
            out[real] = da
            continue
        dims = model.dims_of(py)
        if len(elems) != len(dims):
            raise InvalidValueError(f"output {real!r} has {len(dims)} subscript(s) {dims}")
        what = f"output {real}[{','.join(elems)}]"
        sel = {d: model.subscripts[d][element_index(model, d, e, what)]
               for d, e in zip(dims, elems)}
        out[f"{real}[{','.join(sel.values())}]"] = da.sel(sel, drop=True)
    return out


def run_ensemble(
    model: Model | str | os.PathLike,
    table: pd.DataFrame | None,
    outputs: Sequence[str] | str,
    *,
    engine: str = "auto",
    executor: Executor | None = None,
    start: float | None = None,
    stop: float | None = None,
    dt: float | None = None,
    saveper: float | None = None,
    max_output_bytes: int | None = None,
    method: str | None = None,
) -> EnsembleResult:
    """Run one simulation per row of `table`, all members stepped together.

    Parameters
    ----------
    model : Model or path-like
    table : pandas.DataFrame or None
        One row per member. Columns are constant names (``"Room Temperature"``)
        or one element (``"Population[Paris]"``); a plain name of a subscripted
        constant sets every element. ``None`` runs one member with the model's
        own values.
    outputs : sequence of str
        Variables to keep (``"Name"`` or ``"Name[elem]"``), only at save times.
    engine : {"auto", "fast", "pysd"}, default "auto"
        See the module docstring.
    executor : sdkit.engine.executors.Executor, optional
        Where chunks of members run (in-process, process pool, Dask); default:
        in this process, one chunk.
    start, stop, dt, saveper : float, optional
        Override the model's time settings.
    max_output_bytes : int, optional
        Refuse, before running, an output larger than this (see
        :func:`sdkit.model.timesettings.check_output_size`).
    method : {"euler", "rk2", "rk4"}, optional
        Integration method (see :mod:`sdkit.engine.methods`); default: the
        model's own (an XMILE file's ``<sim_specs method>``, else Euler).
        PySD integrates with Euler only: it is never used for another method.

    Returns
    -------
    EnsembleResult
        ``dataset`` has one variable per output with dims
        ``(member, time, *subscripts)``; ``member`` takes the table's index.

    Raises
    ------
    UnknownVariableError
        A column or output the model does not define, or an unknown element.
    InvalidValueError
        A non-numeric or non-finite value, a bad time setting, engine or method name.
    UnsupportedConstructError
        With ``engine="fast"`` or a method other than Euler, a model the
        compiled engine cannot run; with ``engine="pysd"``, a method other
        than Euler.

    Examples
    --------
    >>> table = pd.DataFrame({"Contact Infectivity": [0.2, 0.3]})
    >>> res = run_ensemble("tests/models/SIR.mdl", table, ["Infectious"])
    >>> res.engine, res.dataset["Infectious"].dims
    ('fast', ('member', 'time'))
    """
    raw = run_raw(model, table, outputs, engine=engine, executor=executor, start=start,
                  stop=stop, dt=dt, saveper=saveper, max_output_bytes=max_output_bytes,
                  method=method)
    return _assemble(raw.model, raw.spec, raw.picks, raw.results, raw.index, raw.method)


@dataclass(frozen=True)
class RawRun:
    """What the chunks of a run returned, before it becomes a dataset."""

    model: Model
    spec: ChunkSpec
    picks: list  # (python name, elements asked for) per output, in the caller's order
    results: list  # ChunkResult per chunk, in member order
    index: pd.Index
    method: str


def run_raw(model, table, outputs, *, engine: str = "auto", executor: Executor | None = None,
            start=None, stop=None, dt=None, saveper=None, max_output_bytes=None,
            method=None) -> RawRun:
    """:func:`run_ensemble` up to the chunks' arrays (same parameters and errors)."""
    model, method = open_run(model, engine, method)
    table = param_table(table)
    times = RunTimes.checked(model, start, stop, dt, saveper)
    values = param_values(table)
    spec, picks = run_spec(model, table, outputs, times, engine, max_output_bytes, method,
                           members=len(values),
                           threads=native_threads_per_chunk(engine, executor))
    results = _run_chunks(spec, values, model, executor)
    return RawRun(model, spec, picks, results, table.index, method)


def open_run(model: Model | str | os.PathLike, engine: str,
             method: str | None) -> tuple[Model, str]:
    """The loaded model and the integration method, after checking `engine` and `method`."""
    check_engine(engine)
    if not isinstance(model, Model):
        model = load_model(model)
    method = resolve_method(model, method)
    if engine == "pysd":
        refuse_pysd(model, method)
    return model, method


def _join_members(parts: list[np.ndarray]) -> np.ndarray:
    """Chunks ``(members, times, *dims)`` joined on members, in time-major memory."""
    return np.concatenate([p.swapaxes(0, 1) for p in parts], axis=1).swapaxes(0, 1)


def _assemble(model: Model, spec: ChunkSpec, picks, results, index: pd.Index,
              method: str) -> EnsembleResult:
    """Join the chunks into one dataset (member, time, *subscripts)."""
    member = index.copy()
    member.name = "member"
    data = {}
    for b, d, c in zip(spec.outputs, spec.out_dims, spec.out_coords):
        parts = [r.values.pop(b) for r in results]  # freed output by output
        arr = parts[0] if len(parts) == 1 else _join_members(parts)
        del parts
        data[b] = xr.DataArray(arr, dims=("member", "time", *d),
                               coords={"member": member.to_numpy(), "time": results[0].times,
                                       **{k: list(v) for k, v in zip(d, c)}})
    ds = xr.Dataset(_select(model, data, picks))
    describe(ds, {v.name: (v.units, v.documentation) for v in model.variables})  # units, text
    used = engine_of(results)
    note = next((r.note for r in results if r.note), None)
    ds.attrs["sdkit_engine"] = used
    ds.attrs["sdkit_method"] = method
    if note:
        ds.attrs["sdkit_fallback"] = note
    ds.attrs["sdkit_model"] = str(model.path)
    return EnsembleResult(ds, used, note)


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
