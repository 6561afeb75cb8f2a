"""Fit statistics and parameter uncertainty.

* :func:`fit_statistics`: MAPE, RMSE, R² and Theil's inequality statistics
  with the decomposition of the mean squared error into bias (U_M), unequal
  variation (U_S) and unequal covariation (U_C), as in Sterman (1984),
  "Appropriate summary statistics for evaluating the historical fit of
  system dynamics models", Dynamica 10(2).
* :func:`covariance`: standard errors and correlations from the Jacobian of
  the residuals at the optimum.
* :func:`profile_interval`: a profile-likelihood interval for one parameter.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["FitStatistics", "fit_statistics", "covariance", "profile_interval"]


@dataclass(frozen=True)
class FitStatistics:
    """Fit of one simulated series ``s`` to observed ``a`` (same length n).

    Attributes
    ----------
    n : int
    mape : float
        Mean absolute percentage error, ``100 * mean(|s - a| / |a|)``.
    rmse : float
        ``sqrt(mean((s - a)**2))``.
    r2 : float
        Coefficient of determination ``1 - SSE / SST`` (NaN for n < 2).
    theil_u : float
        ``rmse / (sqrt(mean(s**2)) + sqrt(mean(a**2)))``, 0 = perfect.
    u_m, u_s, u_c : float
        Shares of the MSE due to bias ``(mean(s) - mean(a))**2``, unequal
        variation ``(sd(s) - sd(a))**2`` and unequal covariation
        ``2 (1 - r) sd(s) sd(a)``, with population standard deviations; they
        add up to 1 (NaN when MSE is 0 or n < 2).
    """

    n: int
    mape: float
    rmse: float
    r2: float
    theil_u: float
    u_m: float
    u_s: float
    u_c: float


def fit_statistics(simulated, observed) -> FitStatistics:
    """Compare a simulated series with observed values.

    Examples
    --------
    >>> st = fit_statistics([2.0, 4.0], [1.0, 3.0])
    >>> round(st.mape, 6), st.u_m
    (66.666667, 1.0)
    """
    s = np.asarray(simulated, float)
    a = np.asarray(observed, float)
    n = int(a.size)
    if n == 0:
        nan = math.nan
        return FitStatistics(0, nan, nan, nan, nan, nan, nan, nan)
    err = s - a
    mse = float(np.mean(err**2))
    with np.errstate(divide="ignore", invalid="ignore"):
        mape = float(100 * np.mean(np.abs(err) / np.abs(a)))
    rmse = math.sqrt(mse)
    denom = math.sqrt(float(np.mean(s**2))) + math.sqrt(float(np.mean(a**2)))
    theil_u = rmse / denom if denom > 0 else math.nan
    if n < 2:
        return FitStatistics(n, mape, rmse, math.nan, theil_u, math.nan, math.nan, math.nan)
    sst = float(np.sum((a - a.mean()) ** 2))
    r2 = 1 - float(np.sum(err**2)) / sst if sst > 0 else math.nan
    sd_s, sd_a = float(s.std()), float(a.std())
    if mse == 0:
        return FitStatistics(n, mape, rmse, r2, theil_u, math.nan, math.nan, math.nan)
    # Sterman's shares, computed from the error itself: (1 - r) and sd_s - sd_a cancel
    # catastrophically when the fit is near exact, giving shares far outside [0, 1].
    bias = float(err.mean())
    dev = err - bias
    var_e = float(np.mean(dev**2))
    d_var = float(np.mean(dev * ((s - s.mean()) + (a - a.mean()))))  # var_s - var_a
    d_sd = d_var / (sd_s + sd_a) if sd_s + sd_a > 0 else 0.0
    total = bias**2 + var_e  # = mse, without rounding the shares apart
    u_m = bias**2 / total
    u_s = d_sd**2 / total
    u_c = max(var_e - d_sd**2, 0.0) / total  # 2 (1 - r) sd_s sd_a
    return FitStatistics(n, mape, rmse, r2, theil_u, u_m, u_s, u_c)


def covariance(jac: np.ndarray, ssr: float) -> tuple[np.ndarray, np.ndarray]:
    """Standard errors and correlation matrix from the Jacobian at the optimum.

    ``cov = s² (JᵀJ)⁻¹`` with ``s² = SSR / (n - p)``; NaN where the
    parameters are not identified (n <= p or a singular JᵀJ).

    Returns
    -------
    (stderr, corr) : (ndarray, ndarray)
    """
    n, p = jac.shape
    if n <= p:
        return np.full(p, np.nan), np.full((p, p), np.nan)
    jtj = jac.T @ jac
    if np.linalg.matrix_rank(jtj) < p:
        return np.full(p, np.nan), np.full((p, p), np.nan)
    cov = ssr / (n - p) * np.linalg.inv(jtj)
    stderr = np.sqrt(np.clip(np.diag(cov), 0, None))
    with np.errstate(divide="ignore", invalid="ignore"):
        corr = cov / np.outer(stderr, stderr)
    return stderr, corr


def _end(excess, start: float, bound: float, direction: int, step: float, xtol: float,
         max_steps: int) -> float:
    """Where `excess` crosses 0 walking from `start` towards `bound` (doubling steps)."""
    from scipy.optimize import brentq  # heavy: only for profile intervals

    inside = start
    for _ in range(max_steps):
        trial = start + direction * step
        if (trial - bound) * direction >= 0:
            if excess(bound) > 0:
                return float(brentq(excess, *sorted((inside, bound)), xtol=xtol))
            return bound
        if excess(trial) > 0:
            return float(brentq(excess, *sorted((inside, trial)), xtol=xtol))
        inside = trial
        step *= 2
    return bound


def profile_interval(objective, x_best: np.ndarray, k: int, *, n_obs: int,
                     level: float = 0.95, stderr: float = math.nan,
                     max_steps: int = 12) -> tuple[float, float]:
    """Profile-likelihood interval of parameter `k`.

    With Gaussian errors of unknown variance, the interval holds the values
    ``θ`` for which ``n * log(SSR(θ) / SSR_min) <= chi2_1(level)``, where
    ``SSR(θ)`` is minimised over the other parameters with parameter `k`
    held at ``θ``. An end that reaches a bound is reported as that bound.

    Parameters
    ----------
    objective : Objective
    x_best : ndarray
        The optimum.
    k : int
        Index of the parameter.
    n_obs : int
        Number of residuals.
    stderr : float, optional
        Jacobian standard error, used for the first step out.
    max_steps : int, default 12
        Doublings of the step before an end is taken to be the bound.

    Returns
    -------
    (low, high) : tuple of float
        Found to 1 % of ``2 * stderr``; inner fits start from the previous
        inner optimum.
    """
    from scipy.optimize import least_squares  # heavy: only for profile intervals
    from scipy.stats import chi2  # heavy: only for profile intervals

    problem = objective.problem
    lower, upper = problem.lower, problem.upper
    others = [j for j in range(len(x_best)) if j != k]
    r_best = objective.residuals(x_best)
    ssr_min = max(float(r_best @ r_best), 1e-300)
    limit = chi2.ppf(level, 1)
    warm = {"z": x_best[others]}  # the last inner optimum: the next fit starts there

    def excess(theta: float) -> float:
        x = x_best.copy()
        x[k] = theta
        if others:
            def sub(z):
                x[others] = z
                return objective.residuals(x)

            def sub_jac(z):
                x[others] = z
                return objective.jacobian(x)[:, others]

            fit = least_squares(sub, warm["z"], jac=sub_jac,
                                bounds=(lower[others], upper[others]),
                                method="trf", xtol=1e-7, ftol=1e-7,
                                x_scale=upper[others] - lower[others], max_nfev=100)
            warm["z"] = fit.x
            ssr = 2 * fit.cost
        else:
            r = objective.residuals(x)
            ssr = float(r @ r)
        return n_obs * math.log(max(ssr, 1e-300) / ssr_min) - limit

    width = upper[k] - lower[k]
    # first step out: about where a near-linear model puts the end (1.96 standard errors)
    first = 2 * stderr if math.isfinite(stderr) and stderr > 0 else 0.02 * width
    xtol = 1e-2 * min(first, width)
    ends = []
    for direction, bound in ((-1, lower[k]), (1, upper[k])):
        warm["z"] = x_best[others]
        ends.append(_end(excess, float(x_best[k]), float(bound), direction,
                         min(first, width), xtol, max_steps))
    return ends[0], ends[1]
