"""What a calibration returns: the frozen :class:`CalibrationResult`.

Calibration only returns results. :meth:`CalibrationResult.to_record` gives
them as plain data (JSON types only: numbers, text, lists, dicts; NaN as
None), which is what everything downstream reads: the report renders the
record (:func:`sdkit.report.calibration.fit_report`, which may not import
calibration), the workflow layer writes it as ``calibration.json``
(:func:`sdkit.workflow.calibration.write_outputs`), and a stored record is
read back by the one reader :func:`sdkit.io.calibration_record.read_calibration_record`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version

import numpy as np
import pandas as pd
import scipy

from sdkit.calibration.objective import Objective, _column
from sdkit.calibration.problem import CalibrationProblem
from sdkit.calibration.stats import covariance, fit_statistics, profile_interval
from sdkit.engine import simulate_ensemble
from sdkit.engine.ensemble import member_frame
from sdkit.engine.simulate import simulate
from sdkit.errors import SdkitError
from sdkit.io.calibration_record import RECORD_VERSION, json_safe
from sdkit.model.translate import file_hash

__all__ = ["CalibrationResult", "build_result"]

#: correlations above this (in absolute value) are reported as a warning
HIGH_CORRELATION = 0.95


@dataclass(frozen=True, eq=False)
class CalibrationResult:
    """The outcome of :func:`sdkit.calibrate`.

    Attributes
    ----------
    problem : CalibrationProblem
    method : str
    seed : int or None
    values : dict
        Best value of each parameter, by parameter name.
    payoff : float
        Sum of squared weighted residuals at the best point.
    n_residuals : int
        Residuals in the payoff (observed points in the fit window).
    stderr : dict
        Standard error of each parameter from the Jacobian (NaN if not
        identified).
    correlation : pandas.DataFrame
        Parameter correlation matrix.
    intervals : dict
        95 % profile-likelihood interval ``(low, high)`` of each parameter
        marked ``profile``.
    statistics : pandas.DataFrame
        One row per target and sample (``"fit"`` inside the fit window,
        ``"holdout"`` after it, ``"shown"`` for a weight-0 target): n, MAPE,
        RMSE, R², Theil U, U_M, U_S, U_C.
    observed_vs_simulated : pandas.DataFrame
        Long table ``target, time, observed, simulated, sample``.
    trajectories : pandas.DataFrame
        The best run of every target variable, indexed by time.
    warnings : tuple of str
        Parameters at a bound, strongly correlated pairs, an interrupted fit.
    n_evaluations : int
    elapsed : float
        Seconds spent fitting (not counting statistics).
    interrupted : bool
        The fit was stopped (Ctrl-C); values are the best point seen.
    model_sha256, data_sha256, scipy_version : str
        Provenance.
    """

    problem: CalibrationProblem
    method: str
    seed: int | None
    values: dict
    payoff: float
    n_residuals: int
    stderr: dict
    correlation: pd.DataFrame
    intervals: dict
    statistics: pd.DataFrame
    observed_vs_simulated: pd.DataFrame
    trajectories: pd.DataFrame
    warnings: tuple
    n_evaluations: int
    elapsed: float
    interrupted: bool
    model_sha256: str
    data_sha256: str
    scipy_version: str

    @property
    def x(self) -> np.ndarray:
        """Best values as a vector, in the problem's parameter order."""
        return np.array([self.values[p.name] for p in self.problem.parameters])

    def changes(self) -> dict[str, float]:
        """``{model constant: value}`` to write into a ``.cin`` file: the spec's ``[fixed]``
        constants (the fit assumed them), then the fitted values."""
        fitted = {p.key: float(self.values[p.name]) for p in self.problem.parameters}
        return {**{str(k): float(v) for k, v in self.problem.fixed.items()}, **fitted}

    def to_frame(self) -> pd.DataFrame:
        """Parameters: value, bounds, standard error and interval, by name."""
        rows = []
        for p in self.problem.parameters:
            low, high = self.intervals.get(p.name, (math.nan, math.nan))
            rows.append({"parameter": p.name, "variable": p.key, "value": self.values[p.name],
                         "stderr": self.stderr[p.name], "ci_low": low, "ci_high": high,
                         "lower": p.lower, "upper": p.upper, "initial": p.initial})
        return pd.DataFrame(rows).set_index("parameter")

    def summary(self) -> str:
        """A plain-text summary: parameters, fit by series, warnings."""
        lines = [f"calibration of {self.problem.model} by {self.method}"
                 f"{' (INTERRUPTED)' if self.interrupted else ''}: payoff {self.payoff:.6g}, "
                 f"{self.n_evaluations} runs, {self.elapsed:.1f} s"]
        lines.append(self.to_frame()[["value", "stderr", "ci_low", "ci_high"]]
                     .to_string(float_format=lambda v: f"{v:.6g}"))
        stats = self.statistics.set_index(["target", "sample"])[["n", "mape", "r2", "theil_u"]]
        lines.append(stats.to_string(float_format=lambda v: f"{v:.3g}"))
        lines += [f"warning: {w}" for w in self.warnings]
        return "\n".join(lines)

    def _target_records(self, max_points: int = 600) -> tuple[list, list[float]]:
        """Targets with the best run (every k-th saved time, at most ~`max_points`)."""
        traj = self.trajectories
        if len(traj) > max_points:
            step = math.ceil(len(traj) / max_points)
            keep = sorted({*range(0, len(traj), step), len(traj) - 1})
            traj = traj.iloc[keep]
        time = [float(t) for t in traj.index] if not traj.empty else []
        out = []
        for t in self.problem.targets:
            try:
                line = list(t.scale * traj[_column(traj, t.variable)].to_numpy(float))
            except (SdkitError, KeyError):
                line = []
            out.append({"name": t.name, "variable": t.variable, "indicator": t.indicator,
                        "unit": t.unit, "source": t.source, "scale": t.scale,
                        "weight": t.weight, "derived": t.derived, "origin": t.origin,
                        "trajectory": line if len(line) == len(time) else []})
        return out, time

    def to_record(self) -> dict:
        """The result as plain data: values, uncertainty, fit, series, provenance.

        JSON types only (NaN and inf become None). Keys: ``model``,
        ``data``, ``spec`` and their ``*_sha256``; ``method``, ``seed``,
        ``fit_window``, versions; ``payoff``, ``n_residuals``,
        ``n_evaluations``, ``elapsed_s``, ``interrupted``; ``parameters``
        (name -> variable, value, stderr, lower, upper, initial,
        interval_95); ``correlation``; ``statistics`` (rows); ``targets``
        (name, variable, unit, source, scale, weight, derived, the best
        run's ``trajectory`` at ``trajectory_time``);
        ``observed_vs_simulated`` (rows); ``notes``; ``warnings``.
        """
        problem = self.problem
        try:
            sdkit_version = version("sdkit")
        except PackageNotFoundError:
            sdkit_version = ""
        targets, time = self._target_records()
        return json_safe({
            "record_version": RECORD_VERSION,
            "model": problem.model, "model_sha256": self.model_sha256,
            "data": problem.data_path, "data_sha256": self.data_sha256,
            "spec": problem.spec_path, "method": self.method, "seed": self.seed,
            "fit_window": [problem.start, problem.stop],
            "scipy_version": self.scipy_version, "sdkit_version": sdkit_version,
            "payoff": self.payoff, "n_residuals": self.n_residuals,
            "n_evaluations": self.n_evaluations, "elapsed_s": self.elapsed,
            "interrupted": self.interrupted,
            "parameters": {
                p.name: {"variable": p.key, "value": self.values[p.name],
                         "stderr": self.stderr[p.name], "lower": p.lower, "upper": p.upper,
                         "initial": p.initial,
                         "interval_95": list(self.intervals.get(p.name, (None, None)))}
                for p in problem.parameters
            },
            "fixed": dict(problem.fixed),
            "correlation": self.correlation.to_dict(orient="index"),
            "statistics": self.statistics.to_dict(orient="records"),
            "targets": targets, "trajectory_time": time,
            "observed_vs_simulated": self.observed_vs_simulated.to_dict(orient="records"),
            "notes": problem.notes, "warnings": list(self.warnings),
        })


def _statistics(objective: Objective, sim: dict[str, np.ndarray]):
    problem = objective.problem
    rows, points = [], []
    for target in problem.targets:
        t = np.asarray(target.times, float)
        obs = np.asarray(target.values, float)
        s = sim[target.name]
        fitted = objective._window[target.name]
        after = ~fitted & (t > problem.stop if problem.stop is not None else False)
        samples = (("fit", fitted), ("holdout", after))
        if target.weight == 0:
            fitted = after = np.zeros(t.shape, bool)
            samples = (("shown", ~fitted),)
        for sample, keep in samples:
            if not keep.any():
                continue
            st = fit_statistics(s[keep], obs[keep])
            rows.append({"target": target.name, "indicator": target.indicator,
                         "sample": sample, **st.__dict__})
        for ti, oi, si, fi, ai in zip(t, obs, s, fitted, after):
            outside = "shown" if target.weight == 0 else "outside"
            points.append({"target": target.name, "time": ti, "observed": oi, "simulated": si,
                           "sample": "fit" if fi else ("holdout" if ai else outside)})
    return pd.DataFrame(rows), pd.DataFrame(points)


def _trajectories(objective: Objective, x: np.ndarray) -> pd.DataFrame:
    """The best run of the target variables at every saved time (for plots)."""
    problem = objective.problem
    try:
        if objective.engine == "auto":
            table = pd.DataFrame({k: [v] for k, v in objective.params(x).items()})
            ds = simulate_ensemble(objective.model, table, outputs=objective.variables,
                                   stop=objective.stop, dt=problem.dt)
            return member_frame(ds)
        return simulate(objective.model, objective.params(x), stop=objective.stop,
                        dt=problem.dt, outputs=objective.variables, check_finite=False)
    except Exception:  # noqa: BLE001 - plots only; the statistics already ran
        return pd.DataFrame()


def _file_sha(path: str) -> str:
    try:
        return file_hash(path) if path else ""
    except OSError:
        return ""


def build_result(objective: Objective, x: np.ndarray | None, *, method: str, seed,
                 elapsed: float, interrupted: bool, profile: bool) -> CalibrationResult:
    """Statistics, uncertainty and warnings at the best point `x`."""
    problem = objective.problem
    names = problem.names
    if x is None:  # interrupted before the first evaluation finished
        x = problem.initial
    x = np.asarray(x, float)
    n_evals = objective.n_evals
    r = objective.residuals(x)
    ssr = float(r @ r)
    jac = objective.jacobian(x)
    stderr, corr = covariance(jac, ssr)
    intervals = {}
    notes = []
    if profile:
        try:
            for k, p in enumerate(problem.parameters):
                if p.profile:
                    intervals[p.name] = profile_interval(objective, x, k, n_obs=r.size,
                                                         stderr=float(stderr[k]))
        except KeyboardInterrupt:
            notes.append("profile intervals interrupted: some are missing")
    sim = objective.simulate(x)
    statistics, points = _statistics(objective, sim)
    if interrupted:
        notes.append("fit interrupted: values are the best point seen so far")
    if objective.engine_note:
        notes.append(objective.engine_note)
    for p, value in zip(problem.parameters, x):
        span = p.upper - p.lower
        if value - p.lower <= 1e-6 * span or p.upper - value <= 1e-6 * span:
            side = "lower" if value - p.lower <= 1e-6 * span else "upper"
            notes.append(f"{p.name} = {value:.6g} is at its {side} bound")
    for i in range(len(names)):
        for j in range(i + 1, len(names)):
            if abs(corr[i, j]) > HIGH_CORRELATION:
                notes.append(f"{names[i]} and {names[j]} are strongly correlated "
                             f"({corr[i, j]:+.3f}); the data may not separate them")
    if np.isnan(stderr).any():
        notes.append("standard errors not available: the Jacobian is singular or "
                     "there are no more residuals than parameters")
    return CalibrationResult(
        problem=problem, method=method, seed=seed,
        values={n: float(v) for n, v in zip(names, x)}, payoff=ssr, n_residuals=int(r.size),
        stderr={n: float(s) for n, s in zip(names, stderr)},
        correlation=pd.DataFrame(corr, index=names, columns=names),
        intervals=intervals, statistics=statistics, observed_vs_simulated=points,
        trajectories=_trajectories(objective, x), warnings=tuple(notes),
        n_evaluations=n_evals, elapsed=float(elapsed), interrupted=interrupted,
        model_sha256=_file_sha(problem.model), data_sha256=_file_sha(problem.data_path),
        scipy_version=scipy.__version__,
    )
