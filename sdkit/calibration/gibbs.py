"""Differential evolution within Gibbs: :class:`DEGibbsMove` (moves ``"de-gibbs"``).

Only the model parameters need a model run. The other sampled quantities
(the noise scale and AR(1) coefficient of each target group, the location
and spread of each pool) enter the posterior through the simulated series
and the model parameters alone, and a ``prior_only`` model parameter
changes no fitted point; given the rest, their blocks are conditionally
independent (:attr:`BayesProblem.cheap_blocks
<sdkit.calibration.bayes.BayesProblem.cheap_blocks>`). So each half-step of
this move:

1. proposes new model parameters for its half of the walkers with emcee's
   differential-evolution proposal (``DEMove``, written out here so that it
   can skip coordinates and keep each walker's residuals) restricted to the
   parameters that need a run
   (:attr:`BayesProblem.expensive <sdkit.calibration.bayes.BayesProblem.expensive>`;
   the other coordinates are kept; the scale ``2.38 / sqrt(2 n)`` is that
   of this block), runs them as ONE ensemble and accepts or rejects each
   walker (Metropolis);
2. then updates every cheap block of the same walkers :data:`SWEEPS` times
   by differential evolution within the block (the difference of two
   walkers of the other half, scale ``2.38 / sqrt(2 block size)``),
   accepting each block of each walker by its own Metropolis ratio, which
   needs only the walker's cached residuals: no model run.

Each part is a Metropolis update of a conditional of the posterior whose
proposal depends only on the other half of the ensemble, so the chain keeps
the posterior invariant (Metropolis-within-Gibbs; ter Braak 2006, Stat.
Comput. 16:239-249, for the DE proposal). Output scales (parameters that
only multiply an output nothing reads; :mod:`sdkit.calibration.scales`)
leave step 1's DE block: they follow each of its proposals along the ridge
they form with the model, and get their own update after step 2. What it buys: the expensive
ensemble move works in the dimension of the parameters that need a run, and the noise
parameters, which an ensemble move over all coordinates mixes as slowly as
the rest, are refreshed every half-step for the cost of two density
evaluations. The acceptance fraction reported is that of step 1.
"""

from __future__ import annotations

import numpy as np

from sdkit.calibration.bayes import BayesProblem
from sdkit.calibration.scales import OutputScale, ScaleMoves
from sdkit.calibration.unbounded import Unbounded

__all__ = ["DEGibbsMove", "SWEEPS"]

#: Metropolis updates of every cheap block after each half-step's model move
SWEEPS = 1


def _pairs(n: int, size: int, random) -> tuple[np.ndarray, np.ndarray]:
    """`size` ordered pairs of distinct indices below `n`, uniform over all such pairs."""
    j = random.randint(n, size=size)
    return j, (j + 1 + random.randint(n - 1, size=size)) % n


class DEGibbsMove:
    """An emcee move (its ``propose(model, state)`` protocol): DE on the parameters that
    need a run, then Gibbs sweeps of the cheap blocks.

    Parameters
    ----------
    bp : BayesProblem
    logp : callable
        The sampler's log density (:class:`sdkit.calibration.mcmc._LogProb`),
        made with ``keep=True``: after each call its ``last_ok`` marks the
        rows inside the prior and ``last_residuals`` holds their residuals.
    free : Unbounded or None
        The sampling coordinates' map (None: the parameters' own).
    sweeps : int
    scales : sequence of OutputScale, optional
        Output scales (:mod:`sdkit.calibration.scales`): they leave the DE
        block, follow each of its moves and get a conditional update after
        the cheap blocks.
    """

    #: emcee's DE jitter: the stretch factor is ``g0 * (1 + SIGMA * N(0, 1))``
    SIGMA = 1e-5

    def __init__(self, bp: BayesProblem, logp, free: Unbounded | None, sweeps: int = SWEEPS,
                 scales: tuple[OutputScale, ...] = ()):
        self.bp, self.logp, self.free, self.sweeps = bp, logp, free, sweeps
        self.blocks = bp.cheap_blocks
        self.columns = bp.cheap_columns
        self.scales = ScaleMoves(bp, scales, free) if scales else None
        #: the coordinates the DE proposal keeps: the cheap blocks' and the scales'
        self.kept = np.concatenate([self.columns, [s.column for s in scales]]).astype(int)
        n = len(bp.expensive) - len(scales)  # the DE block (empty: every parameter a scale)
        self.g0 = 2.38 / np.sqrt(2 * n) if n else 0.0
        self.residuals: list | None = None  # per group, per target: (walkers, points)
        self.at: np.ndarray | None = None  # the coordinates the residuals belong to

    def _x(self, z: np.ndarray) -> np.ndarray:
        return z if self.free is None else self.free.to_x(z)

    def _refresh(self, model, state) -> None:
        """Residuals of every walker's current position: one ensemble run."""
        model.compute_log_prob_fn(state.coords)
        self.residuals = self._last_residuals(np.ones(len(state.coords), bool))

    def _last_residuals(self, rows: np.ndarray) -> list:
        """Residuals of the last log-density call's `rows` (a mask over its rows;
        NaN for a row outside the prior, which was not run)."""
        ok, kept = self.logp.last_ok, self.logp.last_residuals
        if ok[rows].all():  # the usual case: no row outside the prior
            at = (np.cumsum(ok) - 1)[rows]
            return [[r[at] for r in group] for group in kept]
        where = np.flatnonzero(ok[rows])
        at = (np.cumsum(ok) - 1)[rows][where]
        out = []
        for g, group in enumerate(self.bp.groups):
            series = []
            for t, name in enumerate(group.targets):
                r = np.full((int(rows.sum()), len(self.bp.fit_indices(name))), np.nan)
                if kept is not None:
                    r[where] = kept[g][t][at]
                series.append(r)
            out.append(series)
        return out

    def _cached(self, rows: np.ndarray) -> list:
        """The cached residuals of the walkers `rows` (copies), per group, per target."""
        return [[r[rows] for r in group] for group in self.residuals]

    def _store(self, rows: np.ndarray, residuals: list) -> None:
        """Cache `residuals` (per group, per target) as those of the walkers `rows`."""
        for cached, new in zip(self.residuals, residuals):
            for c, n in zip(cached, new):
                c[rows] = n

    def _proposal(self, s: np.ndarray, c: np.ndarray, random) -> np.ndarray:
        """emcee's DE proposal for the walkers `s` from the other half `c`, in the
        expensive coordinates only."""
        j, k = _pairs(len(c), len(s), random)
        gamma = self.g0 * (1 + self.SIGMA * random.randn(len(s), 1))
        q = s + gamma * (c[j] - c[k])
        q[:, self.kept] = s[:, self.kept]
        return q

    def propose(self, model, state):
        """One step: each half of the walkers in turn (emcee's red-blue scheme)."""
        if self.residuals is None or self.at is None or not np.array_equal(self.at, state.coords):
            self._refresh(model, state)
        random = model.random
        accepted = np.zeros(len(state.coords), bool)
        split = np.arange(len(state.coords)) % 2
        random.shuffle(split)
        for half in (0, 1):
            rows, other = np.flatnonzero(split == half), np.flatnonzero(split != half)
            q = self._proposal(state.coords[rows], state.coords[other], random)
            lp, _ = model.compute_log_prob_fn(q)
            jacobian = 0.0
            if self.scales is not None:  # the scales follow the move (and its Jacobian)
                fresh = self._last_residuals(np.ones(len(rows), bool))
                q, lp, fresh, jacobian = self.scales.follow(q, lp, self._cached(rows), fresh)
            with np.errstate(invalid="ignore"):  # -inf - -inf: never accepted
                take = lp - state.log_prob[rows] + jacobian > np.log(random.rand(len(rows)))
            if take.any():
                fresh = (self._last_residuals(take) if self.scales is None
                         else [[r[take] for r in group] for group in fresh])
                self._store(rows[take], fresh)
                state.coords[rows[take]] = q[take]
                state.log_prob[rows[take]] = lp[take]
                accepted[rows[take]] = True
            if self.blocks:
                self._sweep(state, rows, other, random)
            if self.scales is not None:
                res = self._cached(rows)
                state.coords[rows], change = self.scales.sweep(state.coords[rows], res, random)
                state.log_prob[rows] += change
                self._store(rows, res)
        self.at = state.coords.copy()
        return state, accepted

    def _density(self, z: np.ndarray, walkers: np.ndarray) -> np.ndarray:
        """(walkers, blocks): each cheap block's log density, in the sampling coordinates."""
        out = self.bp.block_log_density(self._x(z), self._cached(walkers))
        if self.free is not None:
            out += self.free.log_jacobian_terms(z, self.columns) @ self.bp.cheap_membership
        return out

    def _sweep(self, state, half: np.ndarray, other: np.ndarray, random) -> None:
        """Metropolis updates of every cheap block of the walkers `half`."""
        z = state.coords[half].copy()
        pool = state.coords[other]
        current = self._density(z, half)
        n = len(half)
        for _ in range(self.sweeps):
            proposal = z.copy()
            for block in self.blocks:
                j, k = _pairs(len(other), n, random)
                gamma = 2.38 / np.sqrt(2 * len(block))
                proposal[:, block] += gamma * (pool[j][:, block] - pool[k][:, block])
            new = self._density(proposal, half)
            with np.errstate(invalid="ignore"):  # a block at -inf (a failed run) stays
                gain = new - current
                take = (gain > np.log(random.rand(*new.shape))) & np.isfinite(current)
            for b, block in enumerate(self.blocks):
                z[np.ix_(take[:, b], block)] = proposal[np.ix_(take[:, b], block)]
            state.log_prob[half] += np.where(take, gain, 0.0).sum(axis=1)
            current = np.where(take, new, current)
        state.coords[half] = z
