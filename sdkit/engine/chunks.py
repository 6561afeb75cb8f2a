"""One chunk of an ensemble: the picklable task every executor runs.

:func:`run_chunk` simulates a block of members with the compiled engine, or,
if the model uses something the engine does not compile, with PySD one
member at a time; either way it returns the same arrays.
"""

from __future__ import annotations

import logging
import threading
import warnings
from dataclasses import dataclass

import numpy as np

from sdkit.engine.compiled_cache import Unsupported, compiled_for
from sdkit.engine.run import control_overrides, run_compiled

__all__ = ["ChunkSpec", "ChunkResult", "FallbackNote", "run_chunk"]

log = logging.getLogger("sdkit.engine")

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


@dataclass(frozen=True)
class ChunkResult:
    """Save times and ``{output: (members, times, *dims)}`` of one chunk."""

    times: np.ndarray
    values: dict
    engine: str  # "fast" or "pysd"
    note: str = ""


def _model(spec: ChunkSpec, model=None):
    if model is not None:
        return model
    from sdkit.model.load import load_model

    key = (spec.model_path, spec.sha256)
    with _MODELS_LOCK:
        if key not in _MODELS:
            _MODELS[key] = load_model(spec.model_path)
        return _MODELS[key]


def run_chunk(spec: ChunkSpec, values: np.ndarray, model=None) -> ChunkResult:
    """Simulate ``len(values)`` members (rows of parameter values)."""
    model = _model(spec, model)
    values = np.asarray(values, dtype=float).reshape(len(values), len(spec.columns))
    n = len(values)
    overrides: dict[str, list] = {}
    for j, (node, index, _label) in enumerate(spec.columns):
        overrides.setdefault(node, []).append((index, values[:, j]))
    overrides.update(control_overrides(n, stop=spec.stop, dt=spec.dt, saveper=spec.saveper))
    try:
        compiled = compiled_for(model, spec.outputs, frozenset(overrides))
        times, out = run_compiled(compiled, n, overrides, start=spec.start, stop=spec.stop,
                                  dt=spec.dt, saveper=spec.saveper)
        return ChunkResult(times, out, "fast")
    except (Unsupported, ZeroDivisionError, IndexError, ValueError, TypeError) as e:
        what = str(e) if isinstance(e, Unsupported) else f"run failed ({type(e).__name__}: {e})"
        note = str(FallbackNote(model.path.name, " ".join(what.split())[:200]))
        log.info(note)
        times, out = _run_pysd(model, spec, values)
        return ChunkResult(times, out, "pysd", note)


def _run_pysd(model, spec: ChunkSpec, values: np.ndarray):
    from sdkit.engine.simulate import simulate

    names = [model._real[o] for o in spec.outputs]
    out: dict[str, np.ndarray] = {}
    times = None
    for i, row in enumerate(values):
        params = {label: float(v) for (_n, _i, label), v in zip(spec.columns, row)}
        with warnings.catch_warnings():  # the fall-back note is the one message
            warnings.simplefilter("ignore")
            frame = simulate(model, params, outputs=names, start=spec.start, stop=spec.stop,
                             dt=spec.dt, saveper=spec.saveper, check_finite=False)
        times = frame.index.to_numpy(float)
        for o, name, dims, coords in zip(spec.outputs, names, spec.out_dims, spec.out_coords):
            if o not in out:
                shape = (len(values), len(times)) + tuple(len(c) for c in coords)
                out[o] = np.empty(shape)
            if not dims:
                out[o][i] = frame[name].to_numpy(float)
                continue
            for elems in np.ndindex(*(len(c) for c in coords)):
                col = f"{name}[{','.join(c[k] for c, k in zip(coords, elems))}]"
                out[o][(i, slice(None)) + elems] = frame[col].to_numpy(float)
    return times, out
