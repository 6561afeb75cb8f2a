"""What a run is, before it runs: the parameter table's columns, the outputs, the
time settings, checked and resolved into the picklable
:class:`~sdkit.engine.chunks.ChunkSpec` every chunk gets (:func:`run_spec`).

The names resolve the same way on every call with the same model, columns and
outputs; a sampler makes thousands of such calls, so they are resolved once
per process (a :class:`~sdkit.engine.memo.Memo`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from sdkit.engine.checks import check_run_size, check_time_setting, coerce_number
from sdkit.engine.chunks import ChunkSpec
from sdkit.engine.executors import Executor
from sdkit.engine.memo import Memo
from sdkit.engine.native_run import native_threads
from sdkit.errors import InvalidValueError, UnknownVariableError
from sdkit.model.load import Model
from sdkit.model.names import canonical, split_subscripted

__all__ = ["RunTimes", "element_index", "param_table", "param_values", "run_spec",
           "native_threads_per_chunk"]

_CONTROL = {"time", "initial_time", "final_time", "time_step", "saveper"}
_RESOLVED = Memo()  # (model, columns, outputs) -> resolved columns, output names and picks


def element_index(model: Model, dim: str, elem: str, what: str) -> int:
    """Position of element `elem` in subscript range `dim` (`what` names the asker)."""
    elems = model.subscripts[dim]
    choices = {canonical(e): i for i, e in enumerate(elems)}
    if canonical(elem) not in choices:
        raise UnknownVariableError(f"{what}: {elem!r} is not an element of {dim!r} "
                                   f"(elements: {', '.join(elems)})")
    return choices[canonical(elem)]


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
                f"column {col!r}: {model.real_name(py)!r} has {len(dims)} subscript(s) {dims}, "
                f"got {len(elems)}")
        index = tuple(element_index(model, d, e, f"column {col!r}") for d, e in zip(dims, elems))
        out.append((py, index, str(col)))
    return tuple(out)


def param_values(table: pd.DataFrame) -> np.ndarray:
    """The table's values as floats (members x columns), each checked finite.

    Raises
    ------
    InvalidValueError
        A value that is not a finite number, naming its column and row.
    """
    if len(table.columns) and all(pd.api.types.is_float_dtype(d) for d in table.dtypes):
        arr = table.to_numpy(dtype=float)  # the common case in one piece (a sampler's rows)
        if np.isfinite(arr).all():
            return arr
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


def param_table(table) -> pd.DataFrame:
    """The caller's parameter table, checked (None: one member with the model's values)."""
    if table is None:
        return pd.DataFrame(index=pd.RangeIndex(1, name="member"))
    if not isinstance(table, pd.DataFrame):
        raise InvalidValueError(
            f"'param_table' must be a pandas DataFrame, got {type(table).__name__}")
    if len(table) == 0:
        raise InvalidValueError("'param_table' has no rows")
    return table


@dataclass(frozen=True)
class RunTimes:
    """The caller's time settings, checked (None keeps the model's own)."""

    start: float | None
    stop: float | None
    dt: float | None
    saveper: float | None

    @classmethod
    def checked(cls, model: Model, start, stop, dt, saveper) -> RunTimes:
        out = cls(check_time_setting("start", start, positive=False),
                  check_time_setting("stop", stop, positive=False),
                  check_time_setting("dt", dt, positive=True),
                  check_time_setting("saveper", saveper, positive=True))
        ts = model.time_settings
        first = ts.start if out.start is None else out.start
        last = ts.stop if out.stop is None else out.stop
        if last < first:
            raise InvalidValueError(f"{model.path}: 'stop' ({last}) is before 'start' ({first})")
        return out


def native_threads_per_chunk(engine: str, executor: Executor | None) -> int:
    """Threads per chunk for the native engine: this machine's CPUs shared among the
    local workers (1 for other engines and for workers elsewhere, e.g. Dask)."""
    if engine != "native":
        return 1
    if executor is not None and not (executor.in_process or executor.shares_memory):
        return 1
    return max(1, native_threads() // (1 if executor is None else executor.n_workers))


def run_spec(model: Model, table: pd.DataFrame, outputs, times: RunTimes, engine: str,
             max_output_bytes: int | None, method: str, *, members: int, threads: int = 1):
    """The picklable description of the run every chunk gets, and the output picks."""
    key = (model.sha256, str(model.path), tuple(map(str, table.columns)),
           outputs if isinstance(outputs, str) else tuple(outputs))
    # the names resolve the same way every call (a sampler makes thousands): once per model
    columns, (bases, picks) = _RESOLVED.get(
        key, lambda: (_columns(model, table), _outputs(model, outputs)))
    dims = tuple(tuple(model.dims_of(b)) for b in bases)
    coords = tuple(tuple(tuple(model.subscripts[d]) for d in ds_) for ds_ in dims)
    check_run_size(model, times.start, times.stop, times.dt, times.saveper,  # before allocating
                   members=members,
                   n_values=sum(int(np.prod([len(c) for c in cs])) for cs in coords),
                   limit=max_output_bytes)
    spec = ChunkSpec(str(model.path), model.sha256, tuple(bases), dims, coords, columns,
                     times.start, times.stop, times.dt, times.saveper, engine,
                     max_output_bytes, method, threads)
    return spec, picks
