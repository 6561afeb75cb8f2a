"""Fit statistics against hand-computed values (Sterman 1984 decomposition)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sdkit.calibration.stats import covariance, fit_statistics


def test_theil_decomposition_by_hand():
    # s = (1, 2, 3), a = (2, 2, 4): MSE = 2/3, mean(s) - mean(a) = -2/3,
    # sd(s) = sqrt(6)/3, sd(a) = 2 sqrt(2)/3, r = sqrt(3)/2 (population moments)
    st = fit_statistics([1.0, 2.0, 3.0], [2.0, 2.0, 4.0])
    assert st.n == 3
    assert st.u_m == pytest.approx(2 / 3)
    assert st.u_s == pytest.approx((7 - 4 * math.sqrt(3)) / 3)
    assert st.u_c == pytest.approx((4 * math.sqrt(3) - 6) / 3)
    assert st.u_m + st.u_s + st.u_c == pytest.approx(1.0)
    assert st.mape == pytest.approx(25.0)  # (1/2 + 0 + 1/4) / 3
    assert st.rmse == pytest.approx(math.sqrt(2 / 3))
    assert st.r2 == pytest.approx(0.25)  # 1 - 2 / (8/3)
    assert st.theil_u == pytest.approx(math.sqrt(2 / 3) / (math.sqrt(14 / 3) + math.sqrt(8)))


def test_pure_bias_is_all_u_m():
    st = fit_statistics([2.0, 3.0, 4.0], [1.0, 2.0, 3.0])
    assert (st.u_m, st.u_s, st.u_c) == pytest.approx((1.0, 0.0, 0.0))


@pytest.mark.parametrize("size", [1e-9, 1e-6, 1e-3])
def test_near_exact_fit_keeps_the_shares_in_unit_interval(size):
    # a fit good to rounding level: the textbook (1 - r) form gave shares of 19 and 58 here
    actual = 100 * np.exp(0.05 * np.arange(9))
    wobble = size * np.array([1, -2, 0.5, 3, -1, 0, 2, -0.5, 1])
    st = fit_statistics(actual * (1 + 1e-3 * size) + wobble, actual)
    shares = np.array([st.u_m, st.u_s, st.u_c])
    assert np.all((shares >= 0) & (shares <= 1)) and shares.sum() == pytest.approx(1, abs=1e-9)
    e = actual * 1e-3 * size + wobble  # the bias share from the error's own mean
    assert st.u_m == pytest.approx(e.mean() ** 2 / np.mean(e**2), rel=1e-2)


def test_perfect_fit_and_single_point():
    st = fit_statistics([1.0, 2.0], [1.0, 2.0])
    assert st.mape == 0 and st.rmse == 0 and st.theil_u == 0 and st.r2 == 1
    assert math.isnan(st.u_m)
    one = fit_statistics([110.0], [100.0])
    assert one.mape == pytest.approx(10.0)
    assert math.isnan(one.r2)


def test_covariance_of_a_linear_model_matches_ols():
    # residuals r = J x - y: standard errors are those of ordinary least squares
    rng = np.random.default_rng(0)
    jac = np.column_stack([np.ones(20), np.arange(20.0)])
    y = 1 + 0.5 * np.arange(20) + rng.normal(0, 0.3, 20)
    beta, *_ = np.linalg.lstsq(jac, y, rcond=None)
    r = jac @ beta - y
    stderr, corr = covariance(jac, float(r @ r))
    s2 = float(r @ r) / 18
    expected = np.sqrt(np.diag(s2 * np.linalg.inv(jac.T @ jac)))
    assert stderr == pytest.approx(expected)
    assert corr[0, 0] == pytest.approx(1.0)
    assert -1 < corr[0, 1] < 0


def test_covariance_not_identified_gives_nan():
    stderr, _ = covariance(np.ones((3, 2)), 1.0)  # rank 1
    assert np.isnan(stderr).all()
