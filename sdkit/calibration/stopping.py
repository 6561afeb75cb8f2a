"""When to stop sampling: :class:`Stopper` and the burn-in of a chain checked as it grows.

:func:`~sdkit.calibration.bayes_fit.calibrate_bayes` with ``until_converged``
checks the chain every :data:`CHECK_EVERY` steps (the full checks once it is
a fifth longer than at the last check) and stops once the chain after its
burn-in (:func:`burn_in`) passes every convergence check
(:mod:`sdkit.calibration.diagnostics`); ``max_seconds`` stops it after that
many seconds. A check reads at most :data:`CHECK_STEPS` evenly thinned steps
a walker, and a pass is confirmed on every kept step before sampling stops.
"""

from __future__ import annotations

from time import perf_counter

import numpy as np

from sdkit.calibration.bayes import BayesProblem
from sdkit.calibration.diagnostics import TAU_FACTOR, autocorr_time, diagnose

__all__ = ["Stopper", "stopper_for", "burn_in", "CHECK_EVERY", "CHECK_STEPS", "BURN_SHARE",
           "BURN_TAUS"]

#: with ``until_converged``, the chain is checked every this many steps (the full
#: checks only once it has grown by a fifth since the last: ArviZ's cost grows with it)
CHECK_EVERY = 50
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
CHECK_STEPS = 4000


def burn_in(n: int, chain) -> int:
    """The burn-in of an ``until_converged`` chain of `n` steps: :data:`BURN_TAUS`
    times its largest autocorrelation time on the second half, at most
    :data:`BURN_SHARE` of it. `chain(discard, thin)` gives the chain."""
    thin = max(1, (n - n // 2) // CHECK_STEPS)
    tau = autocorr_time(chain(n // 2, thin)) * thin
    cap = int(n * BURN_SHARE)
    return cap if not np.all(np.isfinite(tau)) else min(cap, int(np.ceil(BURN_TAUS * tau.max())))


def _passes(bp: BayesProblem, kept: np.ndarray) -> bool:
    """The convergence checks on `kept` (the cheap one first; the acceptance is checked
    on the whole chain afterwards)."""
    return bool(np.all(len(kept) >= TAU_FACTOR * autocorr_time(kept))) and diagnose(
        kept, bp.names, np.full(kept.shape[1], 0.3)).converged


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
        self.last = 0
        self.reason: str | None = None
        self.burn: int | None = None

    def __call__(self, n: int, chain) -> bool:
        if self.limit is not None and perf_counter() - self.started > self.limit:
            self.reason = f"stopped after max_seconds = {self.limit}"
        elif self.until and n >= max(2 * CHECK_EVERY, 1.2 * self.last):
            self.last = n
            burn = burn_in(n, chain)
            thin = max(1, (n - burn) // CHECK_STEPS)
            if _passes(self.bp, chain(burn, thin)) and (thin == 1 or _passes(self.bp,
                                                                           chain(burn, 1))):
                self.burn = burn
                self.reason = "stopped when the checks passed"
        return self.reason is not None


def stopper_for(bp: BayesProblem, opts: dict, started: float) -> Stopper | None:
    """A :class:`Stopper`, or None when neither ``until_converged`` nor
    ``max_seconds`` is set."""
    if opts["max_seconds"] is None and not opts["until_converged"]:
        return None
    return Stopper(bp, opts, started)
