"""The posterior density of a calibration problem: :class:`BayesProblem`.

A :class:`BayesProblem` adds to a :class:`~sdkit.calibration.problem.CalibrationProblem`
a :class:`~sdkit.calibration.priors.Prior` per parameter, a
:class:`~sdkit.calibration.likelihood.Likelihood` per group of targets (one
``[[targets]]`` entry) and the partially pooled parameters. It lays out the
sampled vector ``theta``::

    [model parameters..., pool mu/tau per pooled group..., sigma/phi per target group...]

and evaluates :meth:`BayesProblem.log_prob` for many rows at once: the prior
first, then ONE ensemble run of the rows with finite prior (the model runs
through :class:`~sdkit.calibration.objective.Objective`, i.e. the compiled
vectorized engine, observation-side level shifts included).

Partial pooling (``pooled = true`` on a per-element parameter): the element
values are drawn from ``Normal(mu, tau)`` truncated to the bounds; ``mu`` has
the parameter's prior and ``tau`` a half-normal prior of scale
``pool_scale`` (default a quarter of the bounds' span).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import special

from sdkit.calibration.likelihood import PHI_LIMIT, Likelihood, log_likelihood
from sdkit.calibration.priors import Prior, uniform_prior
from sdkit.calibration.problem import CalibrationProblem
from sdkit.errors import SpecError

__all__ = ["BayesProblem", "Pool", "TargetGroup"]


@dataclass(frozen=True)
class Pool:
    """Per-element parameters drawn from one truncated normal with sampled mu, tau."""

    name: str
    members: tuple[str, ...]
    mu_prior: Prior
    tau_scale: float


@dataclass(frozen=True)
class TargetGroup:
    """Targets sharing one likelihood (and one noise scale)."""

    name: str
    targets: tuple[str, ...]
    likelihood: Likelihood = field(default_factory=Likelihood)


def _halfnormal_logpdf(x: np.ndarray, scale: float) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        out = 0.5 * math.log(2 / math.pi) - math.log(scale) - 0.5 * (x / scale) ** 2
    return np.where(x > 0, out, -np.inf)


def _truncnorm_logpdf(x, mu, tau, lower, upper) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        a, b = (lower - mu) / tau, (upper - mu) / tau
        mass = special.ndtr(b) - special.ndtr(a)
        out = -0.5 * ((x - mu) / tau) ** 2 - np.log(tau) - 0.5 * math.log(2 * math.pi) \
            - np.log(mass)
    ok = (tau > 0) & (x >= lower) & (x <= upper) & (mass > 0)
    return np.where(ok, out, -np.inf)


@dataclass(frozen=True, eq=False)
class BayesProblem:
    """A calibration problem with priors, likelihoods and pooling.

    Parameters
    ----------
    problem : CalibrationProblem
    priors : mapping of str to Prior, optional
        By parameter name; missing ones are uniform on the bounds.
    groups : sequence of TargetGroup, optional
        Default: one group per fitted target, Gaussian, sampled sigma.
    pools : sequence of Pool, optional
    """

    problem: CalibrationProblem
    priors: Mapping[str, Prior] = field(default_factory=dict)
    groups: Sequence[TargetGroup] = ()
    pools: Sequence[Pool] = ()

    def __post_init__(self):
        p = self.problem
        names = set(p.names)
        unknown = [n for n in self.priors if n not in names]
        if unknown:
            raise SpecError(f"{p.spec_path or 'problem'}: prior for unknown parameter(s) "
                            f"{', '.join(unknown)}")
        priors = {q.name: self.priors.get(q.name) or uniform_prior(q.name, q.lower, q.upper)
                  for q in p.parameters}
        object.__setattr__(self, "priors", priors)
        fitted = [t.name for t in p.targets if t.weight > 0]
        groups = tuple(self.groups) or tuple(TargetGroup(n, (n,)) for n in fitted)
        object.__setattr__(self, "groups", groups)
        object.__setattr__(self, "pools", tuple(self.pools))
        self._layout()
        self._windows()
        self._prior_plan()

    # -- layout ------------------------------------------------------------------------
    def _layout(self) -> None:
        p = self.problem
        names, low, high = list(p.names), list(p.lower), list(p.upper)
        for pool in self.pools:
            lo, hi = pool.mu_prior.support
            names += [f"{pool.name}::mu", f"{pool.name}::tau"]
            low += [lo, 0.0]
            high += [hi, math.inf]
        for g in self.groups:
            if g.likelihood.sigma is None:
                names.append(f"sigma::{g.name}")
                low.append(0.0)
                high.append(math.inf)
            if g.likelihood.ar1:
                names.append(f"phi::{g.name}")
                low.append(-PHI_LIMIT)
                high.append(PHI_LIMIT)
        object.__setattr__(self, "names", tuple(names))
        object.__setattr__(self, "lower", np.array(low, float))
        object.__setattr__(self, "upper", np.array(high, float))

    def _windows(self) -> None:
        p = self.problem
        by_name = {t.name: t for t in p.targets}
        data = {}
        for g in self.groups:
            for name in g.targets:
                if name not in by_name:
                    raise SpecError(f"{p.spec_path or 'problem'}: likelihood group {g.name!r}"
                                    f": unknown target {name!r}")
                t = by_name[name]
                t_fit, y_fit = p.in_window(t)
                if t.always_fit:
                    t_fit, y_fit = np.asarray(t.times, float), np.asarray(t.values, float)
                keep = np.isin(np.asarray(t.times, float), t_fit)
                order = np.argsort(np.asarray(t.times, float)[keep], kind="stable")
                norm = float(np.mean(np.abs(y_fit))) if y_fit.size else 1.0
                obs = np.asarray(t.values, float)[keep][order]
                if g.likelihood.log and np.any(obs <= 0):
                    raise SpecError(f"{p.spec_path or 'problem'}: target {name!r}: "
                                    "likelihood log = true needs observed values > 0")
                data[name] = (np.flatnonzero(keep)[order], obs, norm if norm > 0 else 1.0)
        object.__setattr__(self, "_data", data)

    def _prior_plan(self) -> None:
        """Uniform priors on the whole bounds add a constant inside the bounds (checked
        once for all parameters): summed once here, so the sampler's calls skip them."""
        pooled = {m for pool in self.pools for m in pool.members}
        const, others = 0.0, []
        for j, q in enumerate(self.problem.parameters):
            prior = self.priors[q.name]
            if q.name in pooled:
                continue
            if prior.distribution == "uniform" and prior.support == (q.lower, q.upper):
                const += float(prior.logpdf(np.array([q.lower]))[0])
            else:
                others.append((j, prior))
        object.__setattr__(self, "_prior_const", const)
        object.__setattr__(self, "_prior_others", tuple(others))

    @property
    def n_model(self) -> int:
        """Number of model parameters (the first entries of ``theta``)."""
        return len(self.problem.parameters)

    def index(self, name: str) -> int:
        """Position of `name` in ``theta``."""
        return self.names.index(name)

    # -- densities ---------------------------------------------------------------------
    def log_prior(self, theta: np.ndarray) -> np.ndarray:
        """Log prior density of rows of `theta` (``-inf`` outside the bounds)."""
        theta = np.atleast_2d(np.asarray(theta, float))
        inside = np.all((theta >= self.lower) & (theta <= self.upper), axis=1)
        out = np.full(len(theta), self._prior_const)
        for j, prior in self._prior_others:
            out += prior.logpdf(theta[:, j])
        for pool in self.pools:
            mu = theta[:, self.index(f"{pool.name}::mu")]
            tau = theta[:, self.index(f"{pool.name}::tau")]
            out += pool.mu_prior.logpdf(mu) + _halfnormal_logpdf(tau, pool.tau_scale)
            for m in pool.members:
                j = self.index(m)
                q = self.problem.parameters[j]
                out += _truncnorm_logpdf(theta[:, j], mu, tau, q.lower, q.upper)
        for g in self.groups:
            if g.likelihood.sigma is None:
                s = theta[:, self.index(f"sigma::{g.name}")]
                out += _halfnormal_logpdf(s, g.likelihood.sigma_prior)
            if g.likelihood.ar1:
                out += -math.log(2 * PHI_LIMIT)
        return np.where(inside & np.isfinite(out), out, -np.inf)

    def log_likelihood(self, theta: np.ndarray, sims: Mapping[str, np.ndarray]) -> np.ndarray:
        """Log likelihood of rows of `theta` given their simulated target values.

        `sims` maps target name to an array (rows, n_times) at the target's times.
        """
        theta = np.atleast_2d(np.asarray(theta, float))
        out = np.zeros(len(theta))
        for g in self.groups:
            sigma, phi = self.noise(theta, g)
            out += log_likelihood([self.residuals(name, sims[name]) for name in g.targets],
                                  sigma, g.likelihood, phi)  # one call a group
        return out

    def noise(self, theta: np.ndarray, group) -> tuple[np.ndarray, np.ndarray | None]:
        """Noise scale and AR(1) coefficient (None without AR(1)) of `group`, per row of
        `theta`: sampled (``sigma::``/``phi::`` columns) or the spec's fixed scale."""
        lik = group.likelihood
        sigma = (theta[:, self.index(f"sigma::{group.name}")] if lik.sigma is None
                 else np.full(len(theta), lik.sigma))
        phi = theta[:, self.index(f"phi::{group.name}")] if lik.ar1 else None
        return sigma, phi

    def residuals(self, name: str, sim: np.ndarray) -> np.ndarray:
        """Relative residuals of target `name` in the fit window, in time order."""
        idx, obs, norm = self._data[name]
        s = np.atleast_2d(np.asarray(sim, float))[:, idx]
        if self._group_of(name).likelihood.log:
            with np.errstate(divide="ignore", invalid="ignore"):
                return np.where(s > 0, np.log(obs) - np.log(np.where(s > 0, s, 1.0)), np.nan)
        return (s - obs) / norm

    def fit_indices(self, name: str) -> np.ndarray:
        """Positions (in ``target.times``) of target `name`'s points in the fit window."""
        return self._data[name][0]

    def scale_of(self, name: str) -> float:
        """The series' scale: mean |observed| in the fit window (relative residuals)."""
        return self._data[name][2]

    def _group_of(self, name: str) -> TargetGroup:
        return next(g for g in self.groups if name in g.targets)

    def log_prob(self, theta: np.ndarray,
                 simulate: Callable[[np.ndarray], Mapping[str, np.ndarray]]) -> np.ndarray:
        """Log posterior (up to a constant) of rows of `theta`.

        Parameters
        ----------
        theta : ndarray (rows, len(names))
        simulate : callable
            ``simulate(x)`` runs the model parameter rows `x` (rows, n_model)
            in one batch and returns ``{target name: (rows, n_times)}``. It
            is called once per call, also with zero rows.
        """
        theta = np.atleast_2d(np.asarray(theta, float))
        lp = self.log_prior(theta)
        ok = np.isfinite(lp)
        sims = simulate(theta[ok, :self.n_model])  # called even with no rows (lockstep)
        if ok.any():
            ll = self.log_likelihood(theta[ok], sims)
            lp[ok] = lp[ok] + np.where(np.isfinite(ll), ll, -np.inf)
        return lp

    def sample_prior(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """`size` rows of ``theta`` drawn from the prior (pooled elements via mu, tau)."""
        theta = np.empty((size, len(self.names)))
        for j, q in enumerate(self.problem.parameters):
            theta[:, j] = self.priors[q.name].sample(rng, size)
        for pool in self.pools:
            mu = pool.mu_prior.sample(rng, size)
            tau = np.abs(rng.normal(0, pool.tau_scale, size))
            theta[:, self.index(f"{pool.name}::mu")] = mu
            theta[:, self.index(f"{pool.name}::tau")] = tau
            for m in pool.members:
                j = self.index(m)
                q = self.problem.parameters[j]
                theta[:, j] = np.clip(rng.normal(mu, tau), q.lower, q.upper)
        for g in self.groups:
            if g.likelihood.sigma is None:
                theta[:, self.index(f"sigma::{g.name}")] = np.abs(
                    rng.normal(0, g.likelihood.sigma_prior, size))
            if g.likelihood.ar1:
                theta[:, self.index(f"phi::{g.name}")] = rng.uniform(-PHI_LIMIT, PHI_LIMIT,
                                                                     size)
        return theta
