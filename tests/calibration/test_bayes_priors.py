"""Priors and likelihoods of Bayesian calibration, checked against scipy.stats."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, stats

from sdkit.calibration.likelihood import Likelihood, log_likelihood, read_likelihood
from sdkit.calibration.priors import Prior, read_prior
from sdkit.errors import SpecError

PRIORS = [
    ("normal", {"mu": 0.3, "sigma": 0.2}, 0.0, 1.0),
    ("truncnormal", {"mu": 0.3, "sigma": 0.2, "low": 0.1, "high": 0.9}, 0.0, 1.0),
    ("lognormal", {"mu": -1.0, "sigma": 0.5}, 0.01, 2.0),
    ("halfnormal", {"sigma": 0.5}, 0.0, 3.0),
    ("beta", {"alpha": 2.0, "beta": 3.0}, 0.0, 1.0),
    ("uniform", {"low": 0.2}, 0.0, 1.0),
]


@pytest.mark.parametrize(("dist", "params", "lower", "upper"), PRIORS)
def test_prior_density_integrates_to_one_on_the_bounds(dist, params, lower, upper):
    prior = Prior(dist, params, lower, upper, "test")
    low, high = prior.support
    total, _ = integrate.quad(lambda x: math.exp(prior.logpdf(x)), low, high, limit=200)
    assert total == pytest.approx(1.0, abs=1e-6)
    assert prior.logpdf(lower - 1.0) == -np.inf and prior.logpdf(upper + 1.0) == -np.inf


@pytest.mark.parametrize(("dist", "params", "lower", "upper"), PRIORS)
def test_prior_draws_match_the_density(dist, params, lower, upper):
    prior = Prior(dist, params, lower, upper, "test")
    draws = prior.sample(np.random.default_rng(3), 20000)
    low, high = prior.support
    assert draws.min() >= low and draws.max() <= high
    mean, _ = integrate.quad(lambda x: x * math.exp(prior.logpdf(x)), low, high, limit=200)
    assert draws.mean() == pytest.approx(mean, rel=0.02, abs=0.005)
    assert prior.quantile(0.5) == pytest.approx(np.median(draws), rel=0.03, abs=0.005)


def test_normal_prior_matches_scipy_truncnorm():
    prior = Prior("normal", {"mu": 0.3, "sigma": 0.2}, 0.0, 1.0, "test")
    x = np.linspace(0.01, 0.99, 9)
    ref = stats.truncnorm((0 - 0.3) / 0.2, (1 - 0.3) / 0.2, 0.3, 0.2).logpdf(x)
    np.testing.assert_allclose(prior.logpdf(x), ref, rtol=1e-10)


@pytest.mark.parametrize(("table", "message"), [
    ({"distribution": "gamma", "k": 2, "source": "s"}, "distribution 'gamma' unknown"),
    ({"distribution": "normal", "mu": 5.0, "sigma": 0.1, "source": "s"},
     "of its mass inside the bounds [0, 1]"),
    ({"distribution": "uniform", "low": -1.0, "source": "s"}, "low -1 is outside"),
    ({"distribution": "normal", "mu": 0.5, "sigma": 0.0, "source": "s"},
     "scale sigma must be > 0: 0.0"),
    ({"distribution": "beta", "alpha": -1.0, "beta": 2.0, "source": "s"},
     "scale alpha must be > 0"),
    ({"distribution": "normal", "mu": 0.5, "sigma": 0.1}, "prior needs 'source'"),
    ({"distribution": "normal", "mu": 0.5, "source": "s"}, "normal needs mu, sigma"),
])
def test_bad_prior_is_one_line_naming_the_table(table, message):
    with pytest.raises(SpecError) as err:
        read_prior(table, name="k", lower=0.0, upper=1.0, where="spec.toml: parameters[0]")
    text = str(err.value)
    assert text.startswith("spec.toml: parameters[0]") and message in text
    assert "\n" not in text


def test_gaussian_likelihood_matches_scipy():
    rng = np.random.default_rng(0)
    r = rng.normal(0, 0.1, (3, 7))
    sigma = np.array([0.05, 0.1, 0.2])
    got = log_likelihood(r, sigma, Likelihood())
    ref = stats.norm(0, sigma[:, None]).logpdf(r).sum(axis=1)
    np.testing.assert_allclose(got, ref)


def test_student_t_likelihood_matches_scipy():
    r = np.random.default_rng(1).standard_t(3, (2, 9)) * 0.1
    sigma = np.array([0.1, 0.3])
    got = log_likelihood(r, sigma, Likelihood(family="student_t", nu=3.0))
    ref = stats.t(3.0, 0, sigma[:, None]).logpdf(r).sum(axis=1)
    np.testing.assert_allclose(got, ref)


def test_ar1_likelihood_is_the_multivariate_normal_of_an_ar1_process():
    n, phi, sigma = 6, 0.6, 0.1
    r = np.random.default_rng(2).normal(0, 0.1, n)
    lags = np.abs(np.subtract.outer(np.arange(n), np.arange(n)))
    cov = sigma ** 2 / (1 - phi ** 2) * phi ** lags
    ref = stats.multivariate_normal(np.zeros(n), cov).logpdf(r)
    got = log_likelihood(r[None, :], np.array([sigma]), Likelihood(ar1=True), np.array([phi]))
    assert got[0] == pytest.approx(ref, rel=1e-10)


@pytest.mark.parametrize("family", ["normal", "student_t"])
def test_independent_series_are_the_sum_of_their_ar1_processes(family):
    """Series of different lengths in one call: each its own AR(1) process, the same
    law as the multivariate normal of each (normal family) and as separate calls."""
    rng = np.random.default_rng(3)
    series = [rng.normal(0, 0.1, (5, n)) for n in (6, 3, 1)]
    sigma, phi = rng.uniform(0.05, 0.2, 5), rng.uniform(-0.9, 0.9, 5)
    lik = Likelihood(family=family, nu=4.0, ar1=True)
    got = log_likelihood(series, sigma, lik, phi)
    separate = sum(log_likelihood(r, sigma, lik, phi) for r in series)
    np.testing.assert_allclose(got, separate, rtol=1e-12)
    if family == "normal":
        ref = np.zeros(5)
        for r in series:
            lags = np.abs(np.subtract.outer(np.arange(r.shape[1]), np.arange(r.shape[1])))
            for i in range(5):
                cov = sigma[i] ** 2 / (1 - phi[i] ** 2) * phi[i] ** lags
                ref[i] += stats.multivariate_normal(np.zeros(r.shape[1]), cov).logpdf(r[i])
        np.testing.assert_allclose(got, ref, rtol=1e-10)
    iid = Likelihood(family=family, nu=4.0)
    np.testing.assert_allclose(log_likelihood(series, sigma, iid),
                               log_likelihood(np.concatenate(series, axis=1), sigma, iid))


def test_non_finite_residuals_give_minus_infinity():
    r = np.array([[0.1, np.nan], [0.1, 0.2]])
    got = log_likelihood(r, np.array([0.1, 0.1]), Likelihood())
    assert got[0] == -np.inf and np.isfinite(got[1])


@pytest.mark.parametrize(("table", "message"), [
    ({"family": "cauchy"}, "likelihood family 'cauchy' unknown"),
    ({"sigma": -0.1}, "scale sigma must be a number > 0: -0.1"),
    ({"nu": 0}, "scale nu must be a number > 0"),
    ({"log": "yes"}, "log must be true or false"),
    ({"sd": 0.1}, "unknown key(s) 'sd'"),
])
def test_bad_likelihood_is_one_line(table, message):
    with pytest.raises(SpecError) as err:
        read_likelihood(table, where="spec.toml: targets[0]")
    assert str(err.value).startswith("spec.toml: targets[0]") and message in str(err.value)
