"""When to stop sampling: :class:`Stopper` and the burn-in of a chain checked as it grows.

:func:`~sdkit.calibration.bayes_fit.calibrate_bayes` with ``until_converged``
looks at the chain every :data:`CHECK_EVERY` steps and stops once the chain
after its burn-in (:func:`burn_in`) passes every convergence check
(:mod:`sdkit.calibration.diagnostics`); ``max_seconds`` stops it after that
many seconds. The checks cost more than sampling between two looks (ArviZ
sorts every parameter's draws), so they run in two stages:

1. a screen, once the chain has grown by :data:`SCREEN_GROWTH` since the last
   one: the burn-in, the kept steps against :data:`TAU_FACTOR` autocorrelation
   times (the second half's, as for the burn-in, measured again once the
   chain has grown by :data:`TAU_GROWTH`) and the classic split R-hat
   (:func:`~sdkit.calibration.diagnostics.split_rhat`, numpy moments) below
   ``RHAT_MAX + SCREEN_MARGIN``;
2. the checks themselves, when the screen passes (or, once the chain is
   long enough, at the latest when it has grown by :data:`CHECK_GROWTH`
   since they last ran): on at most
   :data:`CHECK_STEPS` evenly thinned steps a walker, then, if those pass, on
   every kept step. Their statistics are kept (:meth:`Stopper.stats_for`), so
   the record does not compute them again.

The screen only decides when to check: a chain is called converged only by
the checks, on every kept step.
"""

from __future__ import annotations

from time import perf_counter

import numpy as np

from sdkit.calibration.bayes import BayesProblem
from sdkit.calibration.diagnostics import (
    RHAT_MAX,
    TAU_FACTOR,
    autocorr_time,
    chain_stats,
    diagnose,
    split_rhat,
)

__all__ = ["Stopper", "stopper_for", "burn_in", "CHECK_EVERY", "CHECK_STEPS", "BURN_SHARE",
           "BURN_TAUS", "TAU_STEPS", "TAU_GROWTH", "SCREEN_GROWTH", "CHECK_GROWTH", "SCREEN_MARGIN"]

#: with ``until_converged``, the stopper looks at the chain every this many steps
CHECK_EVERY = 50
#: ... and screens it once it has grown by this factor since the last screen
SCREEN_GROWTH = 1.05
#: ... and runs the checks when the screen passes, or once the chain has grown by
#: this factor since they last ran
CHECK_GROWTH = 1.5
#: the screen passes when every classic split R-hat is below ``RHAT_MAX`` plus this
#: (on the IIS posterior the two differ by up to 0.005 for a skewed parameter)
SCREEN_MARGIN = 0.005
#: with ``until_converged``, the burn-in is :data:`BURN_TAUS` autocorrelation times
#: (the largest, measured on the chain's second half), at most this share of the
#: chain. The walkers start in a small ball around the MAP point and spread over the
#: posterior in a few autocorrelation times (emcee's tutorial discards two); the
#: checks (split R-hat, which compares each walker's two halves, and the
#: autocorrelation time) run on the rest, so a burn-in too short to reach
#: stationarity fails them. Discarding half, as with a fixed step count, would need
#: more steps for the same kept length.
BURN_SHARE = 0.25
#: ... and the burn-in in autocorrelation times
BURN_TAUS = 10
#: a convergence check while sampling reads at most this many steps a walker (the
#: chain thinned evenly); a pass is confirmed on every kept step before stopping
CHECK_STEPS = 1000
#: the screen measures the autocorrelation times again once the chain has grown by
#: this factor (and before the checks); between, it uses the last estimate
TAU_GROWTH = 1.2
#: the burn-in's autocorrelation times are measured on at most this many steps a
#: walker (thinned further, a chain mixing in fewer steps than the thinning would
#: look slower than it is)
TAU_STEPS = 2000


def _half_tau(n: int, chain) -> np.ndarray:
    """The autocorrelation times (steps) of a chain of `n` steps, on its second half
    thinned to at most :data:`TAU_STEPS` steps. `chain(discard, thin)` gives the chain."""
    thin = max(1, (n - n // 2) // TAU_STEPS)
    return autocorr_time(chain(n // 2, thin)) * thin


def _burn(n: int, tau: np.ndarray) -> int:
    cap = int(n * BURN_SHARE)
    return cap if not np.all(np.isfinite(tau)) else min(cap, int(np.ceil(BURN_TAUS * tau.max())))


def burn_in(n: int, chain) -> int:
    """The burn-in of an ``until_converged`` chain of `n` steps: :data:`BURN_TAUS`
    times its largest autocorrelation time on the second half, at most
    :data:`BURN_SHARE` of it. `chain(discard, thin)` gives the chain."""
    return _burn(n, _half_tau(n, chain))


def _screen(kept: np.ndarray, steps: int, tau: np.ndarray) -> tuple[bool, bool]:
    """The cheap stage: whether the `steps` kept are :data:`TAU_FACTOR`
    autocorrelation times `tau` (the second half's), and whether every classic
    split R-hat of `kept` (the kept steps, thinned) is low."""
    if not np.all(steps >= TAU_FACTOR * tau):
        return False, False
    return True, bool(np.all(split_rhat(kept) < RHAT_MAX + SCREEN_MARGIN))


def _checked(bp: BayesProblem, kept: np.ndarray) -> tuple | None:
    """:func:`~sdkit.calibration.diagnostics.chain_stats` of `kept` when it passes
    every check but the acceptance (checked on the whole chain afterwards), else None."""
    stats = chain_stats(kept)
    ok = diagnose(kept, bp.names, np.full(kept.shape[1], 0.3), stats=stats).converged
    return stats if ok else None


class Stopper:
    """``stop_when`` for :func:`~sdkit.calibration.mcmc.run_mcmc`.

    True once the chain after its burn-in passes the convergence checks
    (``until_converged``) or ``max_seconds`` have passed since `started`;
    :attr:`reason` says which (None while sampling goes on) and :attr:`burn`
    the burn-in the checks passed with.
    """

    def __init__(self, bp: BayesProblem, opts: dict, started: float):
        self.bp, self.started = bp, started
        self.limit, self.until = opts["max_seconds"], opts["until_converged"]
        self.screened = self.checked = 0  # chain lengths at the last screen and check
        self.reason: str | None = None
        self.burn: int | None = None
        self._stats: tuple | None = None  # (steps, chain_stats of the kept steps)
        self._tau, self._tau_at = np.full(len(bp.names), np.nan), 0  # and the chain's length

    def __call__(self, n: int, chain) -> bool:
        if self.limit is not None and perf_counter() - self.started > self.limit:
            self.reason = f"stopped after max_seconds = {self.limit}"
        elif self.until and n >= max(2 * CHECK_EVERY, SCREEN_GROWTH * self.screened):
            self.screened = n
            if n >= TAU_GROWTH * self._tau_at:  # between, the last estimate will do
                self._tau, self._tau_at = _half_tau(n, chain), n
            long_enough, low_rhat, kept, burn, thin = self._look(n, chain)
            if long_enough and (low_rhat or n >= CHECK_GROWTH * self.checked):
                if self._tau_at != n:  # the checks use the burn-in of the chain as it is
                    self._tau, self._tau_at = _half_tau(n, chain), n
                    _, _, kept, burn, thin = self._look(n, chain)
                self.checked = n
                stats = _checked(self.bp, kept)
                if stats is not None and thin > 1:
                    stats = _checked(self.bp, chain(burn, 1))
                if stats is not None:
                    self.burn, self._stats = burn, (n, stats)
                    self.reason = "stopped when the checks passed"
        return self.reason is not None

    def _look(self, n: int, chain) -> tuple:
        """The screen of the chain of `n` steps with the current autocorrelation times:
        ``(long enough, low R-hat, kept steps thinned, burn-in, thinning)``."""
        burn = _burn(n, self._tau)
        thin = max(1, (n - burn) // CHECK_STEPS)
        kept = chain(burn, thin)
        return (*_screen(kept, n - burn, self._tau), kept, burn, thin)

    def stats_for(self, n: int, burn: int) -> tuple | None:
        """The statistics of the checks that stopped a chain of `n` steps with this
        `burn` (for :func:`~sdkit.calibration.diagnostics.diagnose`), else None."""
        if self._stats is None or (self._stats[0], self.burn) != (n, burn):
            return None
        return self._stats[1]


def stopper_for(bp: BayesProblem, opts: dict, started: float) -> Stopper | None:
    """A :class:`Stopper`, or None when neither ``until_converged`` nor
    ``max_seconds`` is set."""
    if opts["max_seconds"] is None and not opts["until_converged"]:
        return None
    return Stopper(bp, opts, started)
