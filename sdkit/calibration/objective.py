"""The payoff: simulate parameter vectors and compare them with the targets.

:class:`Objective` turns a vector ``x`` (one value per free parameter, in the
problem's order) into weighted, normalised residuals. Many vectors at once
(a finite-difference Jacobian, a differential-evolution population) run as
one ensemble through :func:`sdkit.engine.runner.run_raw` (``run_ensemble`` up
to the engine's arrays: the compiled engine; PySD, said in
:attr:`Objective.engine_note`, only where the engine meets a construct it does
not compile; an error during a run is an error). The targets are read
straight from those arrays at time indices worked out once, without building
a dataset: inside a sampler the per-call overhead is what limits the rate.
The objective keeps the best
point it has seen, so a fit stopped with Ctrl-C still has an answer. It
pickles without its loaded model (a worker process loads its own).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np
import pandas as pd

from sdkit.calibration.observation import observation_factors
from sdkit.calibration.problem import CalibrationProblem
from sdkit.engine.runner import ENGINES, RawRun, run_ensemble, run_raw
from sdkit.engine.runspec import element_index
from sdkit.errors import SimulationError, SpecError
from sdkit.model.load import load_model
from sdkit.model.names import canonical_key

__all__ = ["Objective", "FAILED_RESIDUAL", "ENGINES"]

#: residual given to every point of a run that failed (NaN/inf or a PySD error)
FAILED_RESIDUAL = 1e3


def _column(frame, variable: str) -> str:
    """The column (or data variable) of ``"Name"`` / ``"Name[elem]"``, case and spaces ignored."""
    names = list(frame.columns if hasattr(frame, "columns") else frame.data_vars)
    wanted = canonical_key(variable)
    for col in names:
        if canonical_key(col) == wanted:
            return col
    raise SpecError(f"model output {variable!r} not in the run (have: "
                    f"{', '.join(map(str, names[:8]))})")


class Objective:
    """Residuals of a :class:`CalibrationProblem` as a function of ``x``.

    Parameters
    ----------
    problem : CalibrationProblem
    on_eval : callable, optional
        Called as ``on_eval(n_runs, best_payoff)`` after every batch of runs
        (progress bars).
    engine : {"auto", "fast", "pysd"}, default "auto"
        As for :func:`sdkit.engine.runner.run_ensemble`: ``"auto"`` runs
        batches with the compiled engine, and PySD from the first batch on
        if the engine cannot compile the model (:attr:`engine_note` says
        why); ``"pysd"`` runs each vector with PySD.
    executor : sdkit.engine.executors.Executor, optional
        Where batches of members run (in-process by default; Dask included).
    """

    def __init__(self, problem: CalibrationProblem, *, on_eval: Callable | None = None,
                 engine: str = "auto", executor=None):
        if engine not in ENGINES:
            raise SpecError(f"engine {engine!r} unknown; expected one of {ENGINES}")
        self.problem = problem
        self.on_eval = on_eval
        self.engine = engine
        self.executor = executor
        self.engine_note = ""
        self._model = None
        self.n_evals = 0
        self.best_x: np.ndarray | None = None
        self.best_payoff = np.inf
        self._norm = {}
        self._window = {}
        for target in problem.targets:
            t_fit, y_fit = problem.in_window(target)
            if target.always_fit:
                t_fit, y_fit = np.asarray(target.times), np.asarray(target.values)
            base = y_fit if y_fit.size else np.asarray(target.values)
            norm = float(np.mean(np.abs(base)))
            self._norm[target.name] = norm if norm > 0 else 1.0
            self._window[target.name] = np.isin(np.asarray(target.times), t_fit)
            if target.weight == 0:  # shown beside the fit, not fitted
                self._window[target.name][:] = False
        self.n_residuals = int(sum(w.sum() for w in self._window.values()))
        self.stop = max(max(t.times) for t in problem.targets)
        self.variables = sorted({t.variable for t in problem.targets})
        self._factors = observation_factors(getattr(problem, "observations", ()),
                                            problem.targets)
        self._plan: tuple | None = None  # (save times, {target: (output, index)})

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_model"] = None
        state["on_eval"] = None
        state["executor"] = None
        return state

    @property
    def model(self):
        if self._model is None:
            self._model = load_model(self.problem.model)
        return self._model

    def params(self, x: np.ndarray) -> dict[str, float]:
        """``{model key: value}`` for a run, fixed constants included."""
        out = {str(k): float(v) for k, v in self.problem.fixed.items()}
        for p, value in zip(self.problem.parameters, np.asarray(x, float)):
            out[p.key] = float(value)
        return out

    # -- running ---------------------------------------------------------------------
    def _at_times(self, time: np.ndarray, values: np.ndarray, target) -> np.ndarray:
        """`values` (members x times) at the target's observed times."""
        t = np.asarray(target.times, float)
        if t.min() < time[0] - 1e-9 or t.max() > time[-1] + 1e-9:
            raise SpecError(f"target {target.name!r}: observed times {t.min()}..{t.max()} "
                            f"outside the run {time[0]}..{time[-1]}")
        idx = np.clip(np.searchsorted(time, t), 0, len(time) - 1)
        if np.allclose(time[idx], t, rtol=0, atol=1e-9):
            return values[:, idx]
        return np.stack([np.interp(t, time, row) for row in values])

    def _table(self, xs: np.ndarray) -> pd.DataFrame:
        """Override table: fixed constants, then the parameters, as one float block."""
        keys = [p.key for p in self.problem.parameters]
        fixed = [(k, float(v)) for k, v in self.problem.fixed.items() if k not in keys]
        block = np.empty((len(xs), len(fixed) + len(keys)))
        block[:, :len(fixed)] = [v for _, v in fixed]
        block[:, len(fixed):] = xs
        return pd.DataFrame(block, columns=[k for k, _ in fixed] + keys)

    def _run(self, table: pd.DataFrame, engine: str):
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            return run_ensemble(self.model, table, self.variables, engine=engine,
                                executor=self.executor, stop=self.stop, dt=self.problem.dt)

    def _at_targets(self, ds) -> dict[str, np.ndarray]:
        time = np.asarray(ds["time"].values, float)
        out = {}
        for target in self.problem.targets:
            values = np.asarray(ds[_column(ds, target.variable)].values, float)
            out[target.name] = target.scale * self._at_times(time, values, target)
        return out

    def _make_plan(self, raw: RawRun) -> dict[str, tuple]:
        """Per target: the output array, the element index and the time indices to read."""
        times = np.asarray(raw.results[0].times, float)
        plan = {}
        for target in self.problem.targets:
            py, elems = raw.picks[self.variables.index(target.variable)]
            dims = self.model.dims_of(py)
            if len(elems) != len(dims):
                raise SpecError(f"target {target.name!r}: model output {target.variable!r} "
                                f"needs one element for each of its subscripts {dims}")
            where = f"target {target.name!r}"
            index = tuple(element_index(self.model, d, e, where) for d, e in zip(dims, elems))
            # time indices where the observed times are save times, else interpolation
            probe = self._at_times(times, np.arange(len(times), dtype=float)[None, :], target)
            exact = np.allclose(probe, np.round(probe), rtol=0, atol=0)
            plan[target.name] = (py, index, probe[0].astype(int) if exact else None)
        self._plan = (times, plan)
        return plan

    def _extract(self, raw: RawRun) -> dict[str, np.ndarray]:
        """Simulated values (times the target's scale) at the observed times, from the arrays."""
        times = np.asarray(raw.results[0].times, float)
        if self._plan is not None and np.array_equal(self._plan[0], times):
            plan = self._plan[1]
        else:
            plan = self._make_plan(raw)
        out = {}
        for target in self.problem.targets:
            py, index, idx = plan[target.name]
            parts = [r.values[py][(slice(None), slice(None)) + index] for r in raw.results]
            values = parts[0] if len(parts) == 1 else np.concatenate(parts)
            values = (values[:, idx] if idx is not None
                      else self._at_times(times, np.asarray(values, float), target))
            out[target.name] = target.scale * values
        return out

    def _run_pysd(self, xs: np.ndarray) -> dict[str, np.ndarray]:
        """One PySD run per vector; a run PySD cannot finish gives a NaN row."""
        rows = {t.name: [] for t in self.problem.targets}
        table = self._table(xs)
        for i in range(len(xs)):
            try:
                sim = self._at_targets(self._run(table.iloc[[i]], "pysd").dataset)
            except SimulationError:
                sim = {t.name: np.full((1, len(t.times)), np.nan) for t in self.problem.targets}
            for name, v in sim.items():
                rows[name].append(v[0])
        return {name: np.stack(v) for name, v in rows.items()}

    def simulate_many(self, xs: np.ndarray) -> dict[str, np.ndarray]:
        """Simulated values (times the target's scale) at the observed times.

        Returns ``{target name: array (len(xs), n_times)}``; rows of failed
        runs are NaN.
        """
        xs = np.atleast_2d(np.asarray(xs, float))
        if self.engine == "pysd":
            return self._observed(self._run_pysd(xs))
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            raw = run_raw(self.model, self._table(xs), self.variables, engine=self.engine,
                          executor=self.executor, stop=self.stop, dt=self.problem.dt)
        if any(r.engine == "pysd" for r in raw.results):  # not compiled: PySD from now on
            self.engine = "pysd"
            note = next((r.note for r in raw.results if r.note), None)
            self.engine_note = f"ensemble engine: {note}"
        return self._observed(self._extract(raw))

    def _observed(self, sim: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Simulated values as the data record them (observation model, e.g. level shifts)."""
        for name, factor in self._factors.items():
            if name in sim:
                sim[name] = np.asarray(sim[name], float) * factor
        return sim

    def simulate(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """Simulated values at the observed times for one vector."""
        return {k: v[0] for k, v in self.simulate_many(np.asarray(x, float)[None, :]).items()}

    # -- residuals ---------------------------------------------------------------------
    def residuals_many(self, xs: np.ndarray) -> np.ndarray:
        """Residual rows for many vectors, ``weight * (sim - obs) / scale_of_series``."""
        xs = np.atleast_2d(np.asarray(xs, float))
        sim = self.simulate_many(xs)
        parts = []
        for target in self.problem.targets:
            keep = self._window[target.name]
            obs = np.asarray(target.values, float)[keep]
            parts.append(target.weight * (sim[target.name][:, keep] - obs)
                         / self._norm[target.name])
        r = np.concatenate(parts, axis=1)
        bad = ~np.all(np.isfinite(r), axis=1)
        r[bad] = FAILED_RESIDUAL
        payoffs = np.einsum("ij,ij->i", r, r)
        self.n_evals += len(xs)
        i = int(np.argmin(payoffs))
        if payoffs[i] < self.best_payoff:
            self.best_payoff = float(payoffs[i])
            self.best_x = xs[i].copy()
        if self.on_eval is not None:
            self.on_eval(len(xs), self.best_payoff)
        return r

    def residuals(self, x: np.ndarray) -> np.ndarray:
        """Residuals of one vector in the fit window."""
        return self.residuals_many(np.asarray(x, float)[None, :])[0]

    def payoff(self, x: np.ndarray) -> float:
        """Sum of squared residuals (lower is better)."""
        r = self.residuals(x)
        return float(r @ r)

    def payoff_vectorized(self, xs_t: np.ndarray) -> np.ndarray:
        """Payoffs of the columns of `xs_t` (parameters x members), for SciPy's
        ``vectorized=True``."""
        r = self.residuals_many(np.asarray(xs_t, float).T)
        return np.einsum("ij,ij->i", r, r)

    def jacobian(self, x: np.ndarray, *, rel_step: float = 1e-6) -> np.ndarray:
        """Forward-difference Jacobian of the residuals, all columns in one batch.

        Steps stay inside the bounds (backward where a forward step would leave them).
        """
        x = np.asarray(x, float)
        lower, upper = self.problem.lower, self.problem.upper
        h = rel_step * np.maximum(np.abs(x), (upper - lower) * 1e-3)
        h = np.where(x + h > upper, -h, h)
        xs = np.vstack([x, x + np.diag(h)])
        r = self.residuals_many(xs)
        return (r[1:] - r[0]).T / h

    def _record(self, x: np.ndarray, payoff: float) -> None:
        if payoff < self.best_payoff:
            self.best_payoff = payoff
            self.best_x = np.asarray(x, float).copy()
