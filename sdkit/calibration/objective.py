"""The payoff: simulate parameter vectors and compare them with the targets.

:class:`Objective` turns a vector ``x`` (one value per free parameter, in the
problem's order) into weighted, normalised residuals. Many vectors at once
(a finite-difference Jacobian, a differential-evolution population) run as
one ensemble through :func:`sdkit.engine.simulate_ensemble` when the engine
can compile the model, else one PySD run each. The objective keeps the best
point it has seen, so a fit stopped with Ctrl-C still has an answer. It
pickles without its loaded model (a worker process loads its own).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np

from sdkit.calibration.problem import CalibrationProblem
from sdkit.errors import SdkitError, SimulationError, SpecError

__all__ = ["Objective", "FAILED_RESIDUAL", "ENGINES"]

#: residual given to every point of a run that failed (NaN/inf or a PySD error)
FAILED_RESIDUAL = 1e3
#: ``"auto"`` uses the compiled ensemble engine when it is there, ``"pysd"`` never
ENGINES = ("auto", "pysd")


def _norm_name(s: str) -> str:
    return "".join(str(s).replace("_", " ").lower().split())


def _column(frame, variable: str) -> str:
    """The column (or data variable) of ``"Name"`` / ``"Name[elem]"``, case and spaces ignored."""
    names = list(frame.columns if hasattr(frame, "columns") else frame.data_vars)
    wanted = _norm_name(variable)
    for col in names:
        if _norm_name(col) == wanted:
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
    engine : {"auto", "pysd"}, default "auto"
        ``"auto"`` runs batches with the compiled ensemble engine if it is
        installed and compiles the model; ``"pysd"`` runs each vector with
        :func:`sdkit.engine.simulate`.
    """

    def __init__(self, problem: CalibrationProblem, *, on_eval: Callable | None = None,
                 engine: str = "auto"):
        if engine not in ENGINES:
            raise SpecError(f"engine {engine!r} unknown; expected one of {ENGINES}")
        self.problem = problem
        self.on_eval = on_eval
        self.engine = engine
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

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_model"] = None
        state["on_eval"] = None
        return state

    @property
    def model(self):
        if self._model is None:
            from sdkit.model.load import load_model

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

    def _run_ensemble(self, xs: np.ndarray) -> dict[str, np.ndarray] | None:
        """All rows of `xs` in one compiled ensemble; None if the engine is not usable."""
        import pandas as pd

        try:
            from sdkit.engine import simulate_ensemble
        except ImportError:
            return None
        table = pd.DataFrame({k: [float(v)] * len(xs) for k, v in self.problem.fixed.items()})
        for j, p in enumerate(self.problem.parameters):
            table[p.key] = xs[:, j]
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            ds = simulate_ensemble(self.model, table, outputs=self.variables, stop=self.stop,
                                   dt=self.problem.dt)
        if ds.attrs.get("sdkit_engine") != "fast":
            self.engine = "pysd"  # the engine fell back to PySD: run PySD directly from now
            self.engine_note = f"ensemble engine: {ds.attrs.get('sdkit_fallback', 'fell back')}"
        time = np.asarray(ds["time"].values, float)
        out = {}
        for target in self.problem.targets:
            values = np.asarray(ds[_column(ds, target.variable)].values, float)
            out[target.name] = target.scale * self._at_times(time, values, target)
        return out

    def _run_pysd(self, xs: np.ndarray) -> dict[str, np.ndarray]:
        from sdkit.engine.simulate import simulate

        rows = {t.name: [] for t in self.problem.targets}
        for x in xs:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    frame = simulate(self.model, self.params(x), stop=self.stop,
                                     dt=self.problem.dt, outputs=self.variables)
            except SimulationError:
                for target in self.problem.targets:
                    rows[target.name].append(np.full(len(target.times), np.nan))
                continue
            time = frame.index.to_numpy(float)
            for target in self.problem.targets:
                values = frame[_column(frame, target.variable)].to_numpy(float)[None, :]
                rows[target.name].append(target.scale * self._at_times(time, values, target)[0])
        return {name: np.stack(v) for name, v in rows.items()}

    def simulate_many(self, xs: np.ndarray) -> dict[str, np.ndarray]:
        """Simulated values (times the target's scale) at the observed times.

        Returns ``{target name: array (len(xs), n_times)}``; rows of failed
        runs are NaN.
        """
        xs = np.atleast_2d(np.asarray(xs, float))
        if self.engine == "auto":
            try:
                out = self._run_ensemble(xs)
            except SpecError:
                raise
            except (SdkitError, ArithmeticError, ValueError, KeyError, TypeError,
                    IndexError, NotImplementedError) as e:
                # something the engine cannot do: PySD from now on, and say so in the result
                self.engine_note = f"ensemble engine failed ({type(e).__name__}: {e}); ran PySD"
                out = None
            if out is not None:
                return self._observed(out)
            self.engine = "pysd"
        return self._observed(self._run_pysd(xs))

    def _observed(self, sim: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Simulated values as the data record them (observation model, e.g. level shifts)."""
        from sdkit.calibration.observation import apply_observations

        return apply_observations(getattr(self.problem, "observations", ()),
                                  self.problem.targets, sim)

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
