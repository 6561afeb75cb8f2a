"""Unbounded sampling coordinates: the map, its Jacobian, and the draws it gives."""

from __future__ import annotations

import numpy as np
import pytest

from sdkit.calibration.mcmc import run_mcmc
from sdkit.calibration.unbounded import Unbounded

LOWER = np.array([0.0, -1.0, 0.0, -np.inf, -np.inf])
UPPER = np.array([1.0, 1.5, np.inf, 2.0, np.inf])


def test_map_round_trips_and_its_jacobian_is_the_derivative():
    free = Unbounded(LOWER, UPPER)
    rng = np.random.default_rng(0)
    x = np.column_stack([rng.uniform(0, 1, 50), rng.uniform(-1, 1.5, 50),
                         rng.exponential(1.0, 50), 2.0 - rng.exponential(1.0, 50),
                         rng.normal(0, 3, 50)])
    z = free.to_z(x)
    assert np.all(np.isfinite(z))
    np.testing.assert_allclose(free.to_x(z), x, rtol=1e-12, atol=1e-12)
    h = 1e-6
    numeric = np.zeros(len(z))
    for j in range(z.shape[1]):  # the map is diagonal: log |dx_j / dz_j| summed
        step = np.zeros(z.shape[1])
        step[j] = h
        numeric += np.log(np.abs((free.to_x(z + step)[:, j] - free.to_x(z - step)[:, j])
                                 / (2 * h)))
    np.testing.assert_allclose(free.log_jacobian(z), numeric, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(free.log_jacobian_terms(z).sum(axis=1), free.log_jacobian(z),
                               rtol=1e-12)
    assert np.all(np.isfinite(free.log_jacobian(np.full((1, 5), 700.0))))  # no overflow


def test_points_on_a_bound_are_moved_inside_and_apart():
    free = Unbounded(LOWER, UPPER)
    x = np.tile([0.0, 1.5, 0.0, 2.0, 5.0], (8, 1))
    inside = free.inside(x, np.random.default_rng(1))
    assert np.all(np.isfinite(free.to_z(inside)))
    assert np.all(inside[:, :4] != x[:, :4]) and np.all(inside[:, 4] == 5.0)
    assert len(np.unique(inside[:, 0])) == 8  # distinct: an ensemble started there has spread
    assert np.all(inside[:, 0] - 0.0 <= 2e-3) and np.all(1.5 - inside[:, 1] <= 2 * 2.5e-3)


class _PressedAgainstZero:
    """A SYNTHETIC posterior on [0, 1], density proportional to exp(-8 x): its mode is
    the bound (no model: the simulator is never asked for anything)."""

    names = ("x",)
    lower = np.array([0.0])
    upper = np.array([1.0])

    def log_prob(self, theta, simulate):
        simulate(theta[:, :0])
        x = theta[:, 0]
        return np.where((x >= 0) & (x <= 1), -8.0 * x, -np.inf)


@pytest.mark.parametrize("unbounded", [True, False])
def test_draws_follow_a_posterior_that_presses_against_its_bound(unbounded):
    bp = _PressedAgainstZero()
    start = np.random.default_rng(2).uniform(0.0, 0.01, (32, 1))
    chain = run_mcmc(bp, lambda x: {}, start, steps=1500, seed=3, unbounded=unbounded)
    draws = np.sort(chain.samples[300::5].ravel())
    assert draws.min() >= 0.0 and draws.max() <= 1.0
    exact = (1 - np.exp(-8 * draws)) / (1 - np.exp(-8.0))  # the CDF at each draw
    ks = np.max(np.abs(exact - np.arange(1, draws.size + 1) / draws.size))
    assert ks < 0.05, ks
    # the stored log density is the posterior's own, without the map's Jacobian
    x = chain.samples[-1, :, 0]
    np.testing.assert_allclose(chain.log_prob[-1], -8.0 * x, rtol=1e-9, atol=1e-9)
