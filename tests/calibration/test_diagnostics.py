"""Convergence statistics (sdkit/calibration/diagnostics.py) against their references:
emcee's autocorrelation time, ArviZ's rank-normalised R-hat. SYNTHETIC chains."""

from __future__ import annotations

import emcee
import numpy as np

from sdkit.calibration.diagnostics import autocorr_time, chain_stats, split_rhat


def _ar1(phi: float, shape: tuple[int, int, int], seed: int = 3) -> np.ndarray:
    """SYNTHETIC AR(1) walkers with unit variance."""
    e = np.random.default_rng(seed).standard_normal(shape)
    x = np.empty_like(e)
    x[0] = e[0]
    for t in range(1, len(e)):
        x[t] = phi * x[t - 1] + np.sqrt(1 - phi * phi) * e[t]
    return x


def test_autocorr_time_is_emcees_estimate():
    """The same numbers as emcee.autocorr.integrated_time (tol=0), for chains of a
    power-of-two length and not, fast and slow mixing; NaN for a walker that never
    moves."""
    for phi, steps in ((0.5, 512), (0.9, 1500), (0.98, 777)):
        x = _ar1(phi, (steps, 12, 3))
        np.testing.assert_allclose(autocorr_time(x),
                                   emcee.autocorr.integrated_time(x, tol=0), rtol=1e-10)
    x = _ar1(0.9, (3000, 16, 2))
    assert 15 < autocorr_time(x)[0] < 23  # (1 + phi) / (1 - phi) = 19
    x[:, 3, 1] = 1.0
    assert np.isnan(autocorr_time(x)[1]) and np.isfinite(autocorr_time(x)[0])


def test_split_rhat_agrees_with_arviz_and_sees_walkers_apart_and_spread_apart():
    """SYNTHETIC AR(1) walkers (phi 0.9): the classic split R-hat (draws and folded
    draws) is within 0.002 of ArviZ's rank-normalised one; walkers whose means
    differ, or whose spreads differ, push both above 1.01."""
    x = _ar1(0.9, (3000, 32, 3))
    quick, rank = split_rhat(x), chain_stats(x)[0]
    assert np.all(np.abs(quick - rank) < 0.002) and np.all(quick < 1.01)
    apart = x.copy()
    apart[:, :16, 0] += 0.5  # means apart
    apart[:, :16, 1] *= 2.0  # spreads apart, same means: the folded draws see it
    quick, rank = split_rhat(apart), chain_stats(apart)[0]
    assert np.all(quick[:2] > 1.01) and np.all(rank[:2] > 1.01) and quick[2] < 1.01
