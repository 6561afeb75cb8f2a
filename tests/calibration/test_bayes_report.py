"""Figures of a Bayesian calibration (plain data) and posterior predictive coverage."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.figure import Figure

from sdkit.calibration.bayes import BayesProblem, TargetGroup
from sdkit.calibration.likelihood import Likelihood
from sdkit.calibration.predictive import (
    PredictiveBand,
    band_coverage,
    holdout_coverage,
    holdout_misses,
    posterior_predictive,
    prior_predictive,
)
from sdkit.calibration.problem import CalibrationProblem, Parameter, Target
from sdkit.report.bayes_figures import (
    most_correlated_pairs,
    pair_figure,
    predictive_figure,
    prior_posterior_figure,
    rank_figure,
    trace_figure,
)


def _visible(fig: Figure) -> int:
    return sum(ax.get_visible() for ax in fig.axes)


def test_figures_have_one_panel_per_parameter_or_pair():
    rng = np.random.default_rng(0)
    samples = rng.standard_normal((50, 8, 4))
    names = ["a", "b", "c", "d"]
    assert _visible(trace_figure(samples, names)) == 4
    assert _visible(rank_figure(samples, names)) == 4
    prior = rng.standard_normal((500, 4)) * 3
    assert _visible(prior_posterior_figure(prior, samples.reshape(-1, 4), names)) == 4
    assert _visible(pair_figure(samples.reshape(-1, 4), names, k=2)) == 2


def test_a_long_trace_is_drawn_thinned_on_the_steps_own_numbers():
    samples = np.random.default_rng(2).standard_normal((5000, 3, 2))
    fig = trace_figure(samples, ["a", "b"], max_steps=100)
    lines = fig.axes[0].get_lines()
    assert len(lines) == 3  # one a walker
    x, y = lines[1].get_data()
    assert len(x) == 100 and x[0] == 0 and x[-1] == 4950  # every 50th step, numbered
    np.testing.assert_array_equal(y, samples[::50, 1, 0])


def test_most_correlated_pair_is_found():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((1000, 3))
    x[:, 2] = -x[:, 0] + 0.01 * rng.standard_normal(1000)
    (i, j, r), *_ = most_correlated_pairs(x, 1)
    assert (i, j) == (0, 2) and r < -0.99


def test_predictive_figure_states_hold_out_coverage():
    t = np.arange(10.0)
    obs = t.copy()
    obs[8] = 100.0  # one hold-out point outside the band
    fig = predictive_figure(t, t - 1, t, t + 1, obs, t < 6, title="x")
    assert "hold-out coverage 75% of 4" in fig.axes[0].get_title()
    assert band_coverage(t - 1, t + 1, obs) == pytest.approx(0.9)


def test_band_of_the_true_model_covers_about_90_percent_of_new_noise():
    times = tuple(np.arange(0.0, 40.0))
    problem = CalibrationProblem(
        "tests/models/decay.mdl", (Parameter("k", "Decay Rate", 0.01, 1.0, 0.1),),
        (Target("Stock", "Stock", times, tuple(np.ones(40)), source="SYNTHETIC"),),
        stop=19.0)
    bp = BayesProblem(problem, {}, (TargetGroup("Stock", ("Stock",),
                                                Likelihood(log=True, sigma=0.1)),))
    clean = 100 * np.exp(-0.1 * np.asarray(times))

    def simulate(x):  # the exact solution, one row per draw
        return {"Stock": np.tile(clean, (len(x), 1))}

    draws = np.full((2000, 1), 0.1)
    (band,) = posterior_predictive(bp, draws, simulate, level=0.9, seed=3)
    rng = np.random.default_rng(4)
    new = clean * np.exp(0.1 * rng.standard_normal((200, 40)))  # SYNTHETIC
    coverage = np.mean([band_coverage(band.low, band.high, row) for row in new])
    assert coverage == pytest.approx(0.9, abs=0.02)
    c_fit, c_out, n_fit, n_out = holdout_coverage([band])
    assert (n_fit, n_out) == (20, 20)


def test_holdout_misses_name_the_points_outside_their_band_and_agree_with_coverage():
    """A hand-made band (SYNTHETIC values): the two hold-out points outside it are
    listed, the fitted point outside it is not, and the count agrees with coverage."""
    band = PredictiveBand("Stock", np.array([1.0, 2.0, 3.0, 4.0, 5.0]),
                          observed=np.array([5.0, 1.0, 2.0, 9.0, 0.5]),
                          low=np.full(5, 1.0), median=np.full(5, 2.0), high=np.full(5, 3.0),
                          fitted=np.array([True, True, False, False, False]), level=0.9)
    missed = holdout_misses([band])
    assert [(m["target"], m["time"], m["observed"]) for m in missed] == [
        ("Stock", 4.0, 9.0), ("Stock", 5.0, 0.5)]
    assert missed[0]["low"] == 1.0 and missed[0]["median"] == 2.0 and missed[0]["high"] == 3.0
    _, c_out, _, n_out = holdout_coverage([band])
    assert round((1 - c_out) * n_out) == len(missed)


def test_prior_predictive_band_is_wider_than_the_posterior_one():
    times = tuple(np.arange(0.0, 20.0, 2.0))
    problem = CalibrationProblem(
        "tests/models/decay.mdl", (Parameter("k", "Decay Rate", 0.01, 1.0, 0.1),),
        (Target("Stock", "Stock", times, tuple(np.ones(10)), source="SYNTHETIC"),))
    bp = BayesProblem(problem, {}, (TargetGroup("Stock", ("Stock",),
                                                Likelihood(log=True, sigma=0.05)),))

    def simulate(x):  # the exact solution for each k
        return {"Stock": 100 * np.exp(-x[:, :1] * np.asarray(times))}

    (prior,) = prior_predictive(bp, simulate, n=500, seed=1)
    (post,) = posterior_predictive(bp, np.full((500, 1), 0.1), simulate, seed=1)
    assert np.all(prior.high - prior.low >= post.high - post.low)
    assert prior.high[-1] - prior.low[-1] > 10 * (post.high[-1] - post.low[-1])


def test_ar1_hold_out_band_continues_the_last_fitted_residual():
    """With AR(1) residuals, the first hold-out point's band is centred on phi times
    the residual at the last fitted point, with the innovation's width; far ahead it
    relaxes to the process's stationary band. Points are SYNTHETIC."""
    times = tuple(np.arange(0.0, 40.0))
    clean = 100 * np.exp(-0.1 * np.asarray(times))
    resid = np.zeros(40)
    resid[19] = 0.3  # the last fitted point (fit window 0-19)
    problem = CalibrationProblem(
        "tests/models/decay.mdl", (Parameter("k", "Decay Rate", 0.01, 1.0, 0.1),),
        (Target("Stock", "Stock", times, tuple(clean * np.exp(resid)), source="SYNTHETIC"),),
        stop=19.0)
    bp = BayesProblem(problem, {}, (TargetGroup("Stock", ("Stock",),
                                                Likelihood(log=True, sigma=0.1, ar1=True)),))
    assert bp.names == ("k", "phi::Stock")

    def simulate(x):  # the exact solution, one row per draw
        return {"Stock": np.tile(clean, (len(x), 1))}

    draws = np.column_stack([np.full(8000, 0.1), np.full(8000, 0.8)])
    (band,) = posterior_predictive(bp, draws, simulate, level=0.9, seed=5)
    z = 1.6449
    for h, j in ((1, 20), (2, 21)):
        mean = 0.8 ** h * 0.3
        sd = 0.1 * np.sqrt(sum(0.8 ** (2 * i) for i in range(h)))
        assert band.median[j] == pytest.approx(clean[j] * np.exp(mean), rel=0.01)
        assert band.low[j] == pytest.approx(clean[j] * np.exp(mean - z * sd), rel=0.015)
        assert band.high[j] == pytest.approx(clean[j] * np.exp(mean + z * sd), rel=0.015)
    stationary = z * 0.1 / np.sqrt(1 - 0.64)
    assert band.high[39] / clean[39] == pytest.approx(np.exp(stationary), rel=0.02)
    assert band.median[39] == pytest.approx(clean[39], rel=0.01)
    # the replicated fit points are the process's own, not conditioned: centred on the model
    assert band.median[10] == pytest.approx(clean[10], rel=0.01)
