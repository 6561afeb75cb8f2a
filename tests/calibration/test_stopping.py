"""When to stop sampling (sdkit/calibration/stopping.py): the checks as the chain
grows, and the burn-in. SYNTHETIC chains; the decay model of test_bayes_mcmc."""

from __future__ import annotations

from time import perf_counter

import numpy as np
import pytest
from test_bayes_mcmc import _bayes
from test_diagnostics import _ar1

from sdkit.calibration import stopping


def _walkers(phi: float, steps: int) -> np.ndarray:
    """SYNTHETIC AR(1) walkers (16 of them, 2 parameters), unit variance."""
    return _ar1(phi, (steps, 16, 2), seed=1)


def _at(chain):  # the stopper's arguments: steps taken, the chain on demand
    return len(chain), lambda discard=0, thin=1: chain[discard::thin]


def test_until_converged_stops_when_the_second_half_passes_every_check():
    """The stopper on SYNTHETIC chains: independent draws pass, a chain whose walkers
    sit apart does not."""
    bp = _bayes()
    opts = {"max_seconds": None, "until_converged": True}
    stop = stopping.stopper_for(bp, opts, perf_counter())
    good = np.random.default_rng(5).standard_normal((4000, 8, 3))
    assert not stop(*_at(good[:99]))  # too short to check
    assert stop(*_at(good)) and stop.burn is not None
    apart = good.copy()
    apart[:, :4, 1] += 3.0
    stop = stopping.stopper_for(bp, opts, perf_counter())
    assert not any(stop(*_at(apart[:n])) for n in (2000, 2400, 4000))
    assert stopping.stopper_for(bp, {"max_seconds": None, "until_converged": False}, 0.0) is None


@pytest.mark.parametrize(("shift", "checked", "measured"), [
    # R-hat fails the screen: the checks at the latest every 1.5 x, tau every 1.2 x
    (3.0, [2000, 3000], [2000, 2400, 3000]),
    # the screen passes: the checks at each screen, each with tau measured again
    (0.0, [2000, 2100, 2205, 2400, 3000], [2000, 2100, 2205, 2400, 3000]),
])
def test_checks_run_when_the_screen_passes_or_the_chain_grew_by_half(monkeypatch, shift,
                                                                    checked, measured):
    """SYNTHETIC chains. The screen runs every 5 % of growth (2000, 2100, 2205, 2400,
    3000; not 2150 or 2300); the ArviZ checks (made to fail here, to count them) run
    on a screen that passes, or at the latest once the chain is half as long again;
    the autocorrelation times are measured again every 1.2 x and before a check."""
    bp = _bayes()
    chain = np.random.default_rng(5).standard_normal((3000, 8, 3))
    chain[:, :4, 1] += shift
    checks = []

    def failing(kept):  # R-hat 1.5: never converged
        checks.append(len(kept))
        n = kept.shape[2]
        return np.full(n, 1.5), np.full(n, 1e4), np.full(n, 1e4), np.ones(n)

    monkeypatch.setattr(stopping, "chain_stats", failing)
    taus = []
    real_tau = stopping._half_tau
    monkeypatch.setattr(stopping, "_half_tau", lambda n, c: taus.append(n) or real_tau(n, c))
    stop = stopping.stopper_for(bp, {"max_seconds": None, "until_converged": True},
                                perf_counter())
    screens, seen = [], []
    for n in (2000, 2100, 2150, 2205, 2300, 2400, 3000):
        before = len(checks)
        assert not stop(*_at(chain[:n]))
        if stop.screened == n:
            screens.append(n)
        if len(checks) > before:
            seen.append(n)
    assert screens == [2000, 2100, 2205, 2400, 3000] and seen == checked
    assert taus == measured


def test_no_arviz_checks_before_fifty_autocorrelation_times_are_kept(monkeypatch):
    """SYNTHETIC AR(1) walkers (phi 0.95, tau 39 steps): up to 1,500 steps fewer than
    50 autocorrelation times are kept, so the screen stops there however often the
    chain is looked at."""
    bp = _bayes()
    monkeypatch.setattr(stopping, "chain_stats",
                        lambda kept: pytest.fail("ArviZ checks on a chain too short"))
    stop = stopping.stopper_for(bp, {"max_seconds": None, "until_converged": True},
                                perf_counter())
    x = _walkers(0.95, 1500)
    assert not any(stop(*_at(x[:n])) for n in range(100, 1501, 50))


def test_burn_in_is_ten_autocorrelation_times_at_most_a_quarter_of_the_chain():
    """SYNTHETIC AR(1) walkers: autocorrelation time (1 + phi) / (1 - phi), 9 steps for
    phi = 0.8, so the burn-in of a long chain is about 90 steps."""
    x = _walkers(0.8, 20000)
    assert 75 <= stopping.burn_in(len(x), lambda d=0, t=1: x[d::t]) <= 105
    slow = _walkers(0.95, 400)  # tau 39 steps: ten of them are more than a quarter
    assert stopping.burn_in(len(slow), lambda d=0, t=1: slow[d::t]) == 100
