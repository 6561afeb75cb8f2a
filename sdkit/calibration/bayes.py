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

Prior-only parameters (``prior_only = true``): a model constant that acts
on no fitted point, such as the size of a shock after the fit window. The
data cannot inform it, so its posterior is its prior; it is sampled like
any other (its draws carry its uncertainty into the predictive bands and the
projections), and :func:`~sdkit.calibration.bayes_fit.calibrate_bayes`
checks by simulation that it leaves every fitted point unchanged.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from sdkit.calibration.likelihood import PHI_LIMIT, GroupedLikelihood, Likelihood
from sdkit.calibration.priors import Prior, halfnormal_logpdf, truncnorm_logpdf, uniform_prior
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
        unseen = {q.name for q in p.parameters if q.prior_only}
        for pool in self.pools:
            if unseen & set(pool.members):
                raise SpecError(f"{p.spec_path or 'problem'}: pooled parameter "
                                f"{pool.name!r} cannot be prior_only")
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

    @cached_property
    def prior_only(self) -> np.ndarray:
        """Positions in ``theta`` of the ``prior_only`` model parameters."""
        return np.flatnonzero([q.prior_only for q in self.problem.parameters])

    @cached_property
    def expensive(self) -> np.ndarray:
        """Positions in ``theta`` of the parameters whose change needs a model run:
        the model parameters except the ``prior_only`` ones."""
        return np.setdiff1d(np.arange(self.n_model), self.prior_only)

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
            out += self._pool_term(theta, pool)
        for g in self.groups:
            out += self._noise_prior(theta, g)
        return np.where(inside & np.isfinite(out), out, -np.inf)

    def _pool_term(self, theta: np.ndarray, pool: Pool) -> np.ndarray:
        """The prior of a pool's mu and tau and of its members given them."""
        mu = theta[:, self.index(f"{pool.name}::mu")]
        tau = theta[:, self.index(f"{pool.name}::tau")]
        out = pool.mu_prior.logpdf(mu) + halfnormal_logpdf(tau, pool.tau_scale)
        for m in pool.members:
            j = self.index(m)
            q = self.problem.parameters[j]
            out = out + truncnorm_logpdf(theta[:, j], mu, tau, q.lower, q.upper)
        return out

    def _noise_prior(self, theta: np.ndarray, g: TargetGroup) -> np.ndarray:
        """The prior of a group's sampled noise scale and AR(1) coefficient."""
        out = np.zeros(len(theta))
        if g.likelihood.sigma is None:
            out += halfnormal_logpdf(theta[:, self.index(f"sigma::{g.name}")],
                                      g.likelihood.sigma_prior)
        if g.likelihood.ar1:
            out += -math.log(2 * PHI_LIMIT)
        return out

    def log_posterior(self, theta: np.ndarray, residuals) -> np.ndarray:
        """Log posterior of rows of `theta` whose :meth:`group_residuals` are
        `residuals`: no model run (``-inf`` outside the prior)."""
        theta = np.atleast_2d(np.asarray(theta, float))
        lp = self.log_prior(theta)
        ok = np.isfinite(lp)
        res = [[r[ok] for r in group] for group in residuals]
        lp[ok] += self._group_likelihoods(theta[ok], res).sum(axis=1)
        return lp

    @cached_property
    def _grouped(self) -> GroupedLikelihood:
        lengths = [[len(self._data[name][0]) for name in g.targets] for g in self.groups]
        return GroupedLikelihood([g.likelihood for g in self.groups], lengths)

    def _group_likelihoods(self, theta: np.ndarray, residuals) -> np.ndarray:
        """(rows, groups): each target group's log likelihood (``-inf`` where a
        residual is not finite); `residuals` as from :meth:`group_residuals`."""
        return self._grouped(residuals, [self.noise(theta, g) for g in self.groups])

    def group_residuals(self, sims: Mapping[str, np.ndarray]) -> list[list[np.ndarray]]:
        """Per group (in :attr:`groups` order), its targets' residual rows
        (:meth:`residuals`) of the simulated values `sims`."""
        return [[self.residuals(name, sims[name]) for name in g.targets] for g in self.groups]

    # -- blocks that need no model run ---------------------------------------------------
    @cached_property
    def cheap_blocks(self) -> tuple[np.ndarray, ...]:
        """Positions in ``theta`` of the blocks whose density needs no model run.

        One block per pool (its mu and tau), one per target group with a
        sampled noise scale or AR(1) coefficient, and one per ``prior_only``
        model parameter, in that order. Given the other model parameters and
        their simulated series the blocks are conditionally independent:
        :meth:`block_log_density` gives each one's share of the log posterior.
        """
        blocks = [np.array([self.index(f"{p.name}::mu"), self.index(f"{p.name}::tau")])
                  for p in self.pools]
        for g in self.groups:
            cols = [self.index(f"{k}::{g.name}") for k in g.likelihood.sampled]
            if cols:
                blocks.append(np.array(cols))
        blocks += [np.array([j]) for j in self.prior_only]
        return tuple(blocks)

    @cached_property
    def cheap_columns(self) -> np.ndarray:
        """The positions of :attr:`cheap_blocks`, in block order."""
        return np.concatenate(self.cheap_blocks) if self.cheap_blocks else np.zeros(0, int)

    def block_log_density(self, theta: np.ndarray, residuals) -> np.ndarray:
        """Each :attr:`cheap_blocks` block's terms of the log posterior, per row.

        Parameters
        ----------
        theta : ndarray (rows, len(names))
        residuals : list
            :meth:`group_residuals` of the rows' simulated series.

        Returns
        -------
        ndarray (rows, len(cheap_blocks))
            The terms that depend on the block's coordinates (``-inf`` outside
            their bounds); the log posterior is the sum of these and terms that
            do not depend on them.
        """
        theta = np.atleast_2d(np.asarray(theta, float))
        noisy = [j for j, g in enumerate(self.groups) if g.likelihood.sampled]
        out = np.empty((len(theta), len(self.cheap_blocks)))
        for b, p in enumerate(self.pools):
            out[:, b] = self._pool_term(theta, p)
        end = len(self.pools) + len(noisy)
        out[:, len(self.pools):end] = self._group_likelihoods(theta, residuals)[:, noisy]
        for b, j in enumerate(noisy, start=len(self.pools)):
            out[:, b] += self._noise_prior(theta, self.groups[j])
        for b, j in enumerate(self.prior_only, start=end):
            out[:, b] = self.priors[self.problem.parameters[j].name].logpdf(theta[:, j])
        cols = self.cheap_columns
        outside = ((theta[:, cols] < self.lower[cols]) | (theta[:, cols] > self.upper[cols])) \
            @ self.cheap_membership > 0
        return np.where(outside | ~np.isfinite(out), -np.inf, out)

    @cached_property
    def cheap_membership(self) -> np.ndarray:
        """(columns, blocks): 1 where the column is in the block; the columns are
        those of :attr:`cheap_blocks` in block order (``np.concatenate(cheap_blocks)``)."""
        of = np.concatenate([np.full(len(b), i) for i, b in enumerate(self.cheap_blocks)])
        return (of[:, None] == np.arange(len(self.cheap_blocks))).astype(float)

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
        if self._log[name]:
            with np.errstate(divide="ignore", invalid="ignore"):
                return np.where(s > 0, np.log(obs) - np.log(np.where(s > 0, s, 1.0)), np.nan)
        return (s - obs) / norm

    def fit_indices(self, name: str) -> np.ndarray:
        """Positions (in ``target.times``) of target `name`'s points in the fit window."""
        return self._data[name][0]

    def scale_of(self, name: str) -> float:
        """The series' scale: mean |observed| in the fit window (relative residuals)."""
        return self._data[name][2]

    @cached_property
    def _log(self) -> dict[str, bool]:  # per fitted target: compared on logs
        return {name: g.likelihood.log for g in self.groups for name in g.targets}

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
        return self.log_prob_residuals(theta, simulate)[0]

    def log_prob_residuals(self, theta: np.ndarray, simulate) -> tuple:
        """:meth:`log_prob`, and what it computed on the way.

        Returns
        -------
        lp : ndarray (rows,)
        ok : ndarray of bool (rows,)
            Rows inside the prior's support: only these were run.
        residuals : list
            :meth:`group_residuals` of the rows `ok` (None when there is none).
        """
        theta = np.atleast_2d(np.asarray(theta, float))
        lp = self.log_prior(theta)
        ok = np.isfinite(lp)
        sims = simulate(theta[ok, :self.n_model])  # called even with no rows (lockstep)
        residuals = None
        if ok.any():
            residuals = self.group_residuals(sims)
            lp[ok] += self._group_likelihoods(theta[ok], residuals).sum(axis=1)
        return lp, ok, residuals

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
