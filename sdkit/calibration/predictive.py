"""Posterior predictive bands and their coverage on fit and hold-out points.

:func:`posterior_predictive` runs posterior draws (one ensemble run), adds
the likelihood's own noise (Gaussian or Student-t, relative or on the log
scale, AR(1) when sampled) and returns, per target, the central band at the
observed times. With AR(1) residuals, the points after the fit window are a
forecast: their noise continues each draw's own residual at the last fitted
point (``e_{T+1} = phi * r_T + innovation``, and so on), which the fit's
data fix, instead of starting afresh; replicated fit-window points (and any
before it) are drawn from the process itself. :func:`band_coverage` is the
share of observed points inside a band; the record reports it for the fit
window and for the hold-out points (observed points outside the fit window,
never fitted). :func:`prior_predictive` is the same with prior draws (the
prior predictive check).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sdkit.calibration.bayes import BayesProblem
from sdkit.calibration.likelihood import Likelihood

__all__ = ["PredictiveBand", "posterior_predictive", "prior_predictive", "band_coverage",
           "holdout_coverage", "holdout_misses"]


@dataclass(frozen=True, eq=False)
class PredictiveBand:
    """A target's posterior predictive band at its observed times.

    Attributes
    ----------
    target : str
    times, observed, low, median, high : ndarray
    fitted : ndarray of bool
        Points inside the fit window (the rest are hold-out).
    level : float
    """

    target: str
    times: np.ndarray
    observed: np.ndarray
    low: np.ndarray
    median: np.ndarray
    high: np.ndarray
    fitted: np.ndarray
    level: float


def band_coverage(low, high, observed) -> float:
    """Share of `observed` points inside ``[low, high]`` (NaN when there are none)."""
    observed = np.asarray(observed, float)
    if observed.size == 0:
        return float("nan")
    inside = (np.asarray(low) <= observed) & (observed <= np.asarray(high))
    return float(np.mean(inside))


def _noise(lik: Likelihood, sigma: np.ndarray, phi: np.ndarray | None, shape,
           rng: np.random.Generator, last: tuple[int, np.ndarray] | None = None) -> np.ndarray:
    """Relative noise rows (members x points) with the likelihood's law.

    `last` ``(j, r)``: with AR(1), the points after point ``j`` continue from
    the residuals `r` (one per member) observed at ``j``.
    """
    if lik.family == "student_t":
        e = rng.standard_t(lik.nu, shape)
    else:
        e = rng.standard_normal(shape)
    e = e * sigma[:, None]
    if phi is None:
        return e
    out = np.empty(shape)
    out[:, 0] = e[:, 0] / np.sqrt(1 - phi * phi)
    for t in range(1, shape[1]):
        before = last[1] if last is not None and t == last[0] + 1 else out[:, t - 1]
        out[:, t] = phi * before + e[:, t]
    return out


def _last_residual(bp: BayesProblem, name: str, sim: np.ndarray, observed: np.ndarray,
                   fitted: np.ndarray, log: bool) -> tuple[int, np.ndarray] | None:
    """The last fitted point (in time order) and each member's residual there, as noise
    (``observed = simulated * exp(e)`` or ``simulated + e * scale``); None without one."""
    if not fitted.any():
        return None
    j = int(np.flatnonzero(fitted)[-1])
    with np.errstate(divide="ignore", invalid="ignore"):
        r = (np.log(observed[j]) - np.log(sim[:, j]) if log
             else (observed[j] - sim[:, j]) / bp.scale_of(name))
    return j, r


def posterior_predictive(bp: BayesProblem, draws: np.ndarray, simulate, *,
                         level: float = 0.9, seed: int | None = 0) -> list[PredictiveBand]:
    """Bands of the observed series predicted by posterior `draws`.

    Parameters
    ----------
    bp : BayesProblem
    draws : ndarray (n, len(bp.names))
        Posterior draws (e.g. a thinned subset of the kept chain).
    simulate : callable
        ``simulate(x)`` as for :meth:`BayesProblem.log_prob` (one ensemble run).
    level : float
        Central probability of the band.
    seed : int, optional
        For the observation noise.

    Returns
    -------
    list of PredictiveBand
        One per fitted target, in the problem's order.
    """
    rng = np.random.default_rng(seed)
    sims = simulate(draws[:, :bp.n_model])
    q = (1 - level) / 2
    out = []
    for g in bp.groups:
        lik = g.likelihood
        sigma, phi = bp.noise(draws, g)
        for name in g.targets:
            target = next(t for t in bp.problem.targets if t.name == name)
            times = np.asarray(target.times, float)
            order = np.argsort(times, kind="stable")
            sim = np.asarray(sims[name], float)[:, order]
            observed = np.asarray(target.values, float)[order]
            fitted = np.zeros(times.size, bool)
            fitted[bp.fit_indices(name)] = True
            fitted = fitted[order]
            last = (None if phi is None
                    else _last_residual(bp, name, sim, observed, fitted, lik.log))
            e = _noise(lik, sigma, phi, sim.shape, rng, last)
            if lik.log:
                pred = sim * np.exp(e)
            else:
                pred = sim + e * bp.scale_of(name)
            low, med, high = np.nanquantile(pred, [q, 0.5, 1 - q], axis=0)
            out.append(PredictiveBand(name, times[order], observed, low, med, high, fitted,
                                      level))
    return out


def prior_predictive(bp: BayesProblem, simulate, *, n: int = 400, level: float = 0.9,
                     seed: int | None = 0) -> list[PredictiveBand]:
    """Prior predictive check: the bands the priors alone predict (`n` prior draws).

    Observations far outside these bands mean the priors (or the model)
    cannot produce the data; bands far wider than the data's range mean the
    priors say little.
    """
    draws = bp.sample_prior(np.random.default_rng(seed), n)
    return posterior_predictive(bp, draws, simulate, level=level, seed=seed)


def holdout_coverage(bands: list[PredictiveBand]) -> tuple[float, float, int, int]:
    """Coverage of the bands on fit points and on hold-out points, and their counts."""
    fit = [(b.low[b.fitted], b.high[b.fitted], b.observed[b.fitted]) for b in bands]
    out = [(b.low[~b.fitted], b.high[~b.fitted], b.observed[~b.fitted]) for b in bands]

    def pooled(parts):
        if not parts:
            return float("nan"), 0
        low, high, obs = (np.concatenate(p) for p in zip(*parts))
        return band_coverage(low, high, obs), int(obs.size)

    (c_fit, n_fit), (c_out, n_out) = pooled(fit), pooled(out)
    return c_fit, c_out, n_fit, n_out


def holdout_misses(bands: list[PredictiveBand]) -> list[dict]:
    """The hold-out points outside their band, in band and time order: each a dict of
    ``target``, ``time``, ``observed`` and the band's ``low``, ``median`` and ``high``."""
    out = []
    for b in bands:
        for t, o, lo, me, hi, f in zip(b.times, b.observed, b.low, b.median, b.high, b.fitted):
            if not f and not lo <= o <= hi:
                out.append({"target": b.target, "time": float(t), "observed": float(o),
                            "low": float(lo), "median": float(me), "high": float(hi)})
    return out
