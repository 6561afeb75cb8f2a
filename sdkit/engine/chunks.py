"""One chunk of an ensemble: the picklable task every executor runs.

:func:`run_chunk` simulates a block of members with the compiled engine, or
with PySD one member at a time (asked for, or, with ``engine="auto"``, where
the engine meets a construct it does not compile: an
:class:`~sdkit.engine.expressions.Unsupported`, never any other error);
either way it returns the same arrays.

The compiled engine's states are kept stored member-innermost (each
element's members side by side in memory, :func:`member_innermost`): numpy
gives a new array the memory order of its inputs, so the whole step follows
the states, and its many broadcasts against per-element constants then run
as long loops over the members. Left to itself numpy settles on that order
only from about 8,200 members up; below, the states end up member-major and
IIS costs about 1.3 times as much per member (``benchmarks/split_cost.py
--layout``). The order changes no value.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, replace
from functools import partial

import numpy as np

from sdkit.engine.codegen import Compiled
from sdkit.engine.compiled_cache import Unsupported, compiled_for
from sdkit.engine.native_run import run_native
from sdkit.engine.pysd_backend import run_pysd_members
from sdkit.engine.run import control_overrides, run_compiled
from sdkit.errors import UnsupportedConstructError
from sdkit.model.load import load_model

__all__ = ["ChunkSpec", "ChunkResult", "FallbackNote", "engine_of", "member_innermost",
           "run_chunk"]

log = logging.getLogger("sdkit.engine")

#: chunks of at least this many members keep their states member-innermost (smaller
#: ones gain nothing measurable: IIS at 100-500 members, ``benchmarks/split_cost.py``)
INNERMOST_FROM = 1_000

_MODELS: dict = {}
_MODELS_LOCK = threading.Lock()


@dataclass(frozen=True)
class FallbackNote:
    """Why a run used PySD instead of the compiled engine (one line)."""

    model: str
    construct: str

    def __str__(self) -> str:
        return f"{self.model}: ran with PySD (the fast engine does not support: {self.construct})"


@dataclass(frozen=True)
class ChunkSpec:
    """Everything a worker needs besides the parameter values.

    `columns` holds, per parameter column, the node it sets, the element
    index inside that node and the column's own spelling (for PySD).
    """

    model_path: str
    sha256: str
    outputs: tuple[str, ...]  # PySD python names
    out_dims: tuple[tuple[str, ...], ...]
    out_coords: tuple[tuple[tuple[str, ...], ...], ...]
    columns: tuple[tuple[str, tuple[int, ...], str], ...]
    start: float | None = None
    stop: float | None = None
    dt: float | None = None
    saveper: float | None = None
    engine: str = "auto"  # "auto", "fast", "pysd" or "native" (see sdkit.engine.runner)
    max_output_bytes: int | None = None
    method: str = "euler"  # see sdkit.engine.methods; PySD runs Euler only
    threads: int = 1  # the native engine's threads per chunk (sdkit.engine.native_run)


@dataclass(frozen=True)
class ChunkResult:
    """Save times and ``{output: (members, times, *dims)}`` of one chunk.

    ``shared`` is True when the worker wrote the values into the caller's
    shared memory instead (:mod:`sdkit.engine.shared`); `values` is then empty.
    """

    times: np.ndarray
    values: dict
    engine: str  # "fast", "native" or "pysd"
    note: str = ""
    shared: bool = False


def engine_of(results: list[ChunkResult]) -> str:
    """The engine that ran every chunk, or ``"pysd"`` when some fell back to PySD."""
    used = {r.engine for r in results}
    return used.pop() if len(used) == 1 else "pysd"


def _innermost(states: dict, n: int) -> dict:
    """`states` (changed in place) with each ``(n, *dims)`` array stored member-innermost."""
    for k, a in states.items():
        if isinstance(a, np.ndarray) and a.ndim > 1 and a.shape[0] == n \
                and a.strides[0] != a.itemsize:
            states[k] = np.moveaxis(np.ascontiguousarray(np.moveaxis(a, 0, -1)), -1, 0)
    return states


def member_innermost(compiled: Compiled) -> Compiled:
    """`compiled` whose states are stored member-innermost after init and every step.

    Euler only (the Runge-Kutta stages combine states outside the step); the
    values are the same, bit for bit, in any memory order.
    """
    if compiled.method != "euler":
        return compiled

    def init(t, dt, N, OV):
        S, K = compiled.init(t, dt, N, OV)
        return _innermost(S, N), K

    def kept(step):
        def run(t, dt, S, K, N, save, update):
            out, S2 = step(t, dt, S, K, N, save, update)
            return out, _innermost(S2, N)
        return run

    lean = compiled.step_lean
    return replace(compiled, init=init, step=kept(compiled.step),
                   step_lean=None if lean is None else kept(lean))


def _model(spec: ChunkSpec, model=None):
    if model is not None:
        return model
    key = (spec.model_path, spec.sha256)
    with _MODELS_LOCK:
        if key not in _MODELS:
            _MODELS[key] = load_model(spec.model_path)
        return _MODELS[key]


def run_chunk(spec: ChunkSpec, values: np.ndarray, model=None, tick=None) -> ChunkResult:
    """Simulate ``len(values)`` members (rows of parameter values).

    `tick` (in-process runs only) is called with the fraction of the run done,
    as :func:`sdkit.engine.run.run_compiled` says.

    Raises
    ------
    UnsupportedConstructError
        With ``spec.engine == "fast"``, a construct the engine does not compile.
    """
    model = _model(spec, model)
    values = np.asarray(values, dtype=float).reshape(len(values), len(spec.columns))
    if spec.engine == "pysd":
        times, out = run_pysd_members(model, spec, values)
        return ChunkResult(times, out, "pysd")
    n = len(values)
    overrides: dict[str, list] = {}
    for j, (node, index, _label) in enumerate(spec.columns):
        overrides.setdefault(node, []).append((index, values[:, j]))
    overrides.update(control_overrides(n, stop=spec.stop, dt=spec.dt, saveper=spec.saveper))
    try:
        compiled = compiled_for(model, spec.outputs, frozenset(overrides), spec.method)
        if spec.engine == "native":  # opt-in
            runner = partial(run_native, threads=spec.threads)
        else:
            runner = run_compiled
            if n >= INNERMOST_FROM:
                compiled = member_innermost(compiled)
        times, out = runner(compiled, n, overrides, start=spec.start, stop=spec.stop,
                            dt=spec.dt, saveper=spec.saveper, limit=spec.max_output_bytes,
                            where=str(model.path), tick=tick)
        return ChunkResult(times, out, "native" if spec.engine == "native" else "fast")
    except Unsupported as e:  # a construct the engine does not compile; nothing else
        construct = " ".join(str(e).split())[:200]
        if spec.engine in ("fast", "native") or spec.method != "euler":  # no PySD then
            hint = "(use engine 'auto' or 'pysd')" if spec.method == "euler" else \
                "(PySD integrates with Euler only; use method 'euler')"
            err = UnsupportedConstructError(
                f"{model.path}: the fast engine does not support: {construct} {hint}")
            err.construct = construct
            raise err from None
        note = str(FallbackNote(model.path.name, construct))
        log.info(note)
    times, out = run_pysd_members(model, spec, values)
    return ChunkResult(times, out, "pysd", note)
