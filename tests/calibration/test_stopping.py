"""When to stop sampling (sdkit/calibration/stopping.py): the checks as the chain
grows, and the burn-in. SYNTHETIC chains; the decay model of test_bayes_mcmc."""

from __future__ import annotations

from time import perf_counter

import numpy as np
from test_bayes_mcmc import _bayes

from sdkit.calibration import stopping
from sdkit.calibration.diagnostics import diagnose


def test_until_converged_stops_when_the_second_half_passes_every_check(monkeypatch):
    """The stopper on SYNTHETIC chains: independent draws pass, a chain whose walkers
    sit apart does not; the full checks run only on a chain a fifth longer than at
    the last check."""
    bp = _bayes()
    opts = {"max_seconds": None, "until_converged": True}
    stop = stopping.stopper_for(bp, opts, perf_counter())
    rng = np.random.default_rng(5)
    good = rng.standard_normal((4000, 8, 3))

    def at(chain):  # the stopper's arguments: steps taken, the chain on demand
        return len(chain), lambda discard=0, thin=1: chain[discard::thin]

    assert not stop(*at(good[:99]))  # too short to check
    assert stop(*at(good))
    apart = good.copy()
    apart[:, :4, 1] += 3.0
    checks = []
    monkeypatch.setattr(stopping, "diagnose", lambda *a, **k: checks.append(1) or diagnose(*a, **k))
    stop = stopping.stopper_for(bp, opts, perf_counter())
    assert not any(stop(*at(apart[:n])) for n in (2000, 2300, 2400))
    assert len(checks) == 2  # 2000 and 2400 (>= 1.2 x 2000); 2300 skipped
    assert stopping.stopper_for(bp, {"max_seconds": None, "until_converged": False}, 0.0) is None


def test_burn_in_is_ten_autocorrelation_times_at_most_a_quarter_of_the_chain():
    """SYNTHETIC AR(1) walkers: autocorrelation time (1 + phi) / (1 - phi), 9 steps for
    phi = 0.8, so the burn-in of a long chain is about 90 steps."""
    def walkers(phi: float, steps: int) -> np.ndarray:
        e = np.random.default_rng(1).standard_normal((steps, 16, 2))
        x = np.empty_like(e)
        x[0] = e[0]
        for t in range(1, steps):
            x[t] = phi * x[t - 1] + np.sqrt(1 - phi * phi) * e[t]
        return x

    x = walkers(0.8, 20000)
    assert 75 <= stopping.burn_in(len(x), lambda d=0, t=1: x[d::t]) <= 105
    slow = walkers(0.95, 400)  # tau 39 steps: ten of them are more than a quarter
    assert stopping.burn_in(len(slow), lambda d=0, t=1: slow[d::t]) == 100
