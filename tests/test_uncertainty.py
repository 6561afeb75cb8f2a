"""Parameter uncertainty: sampling, records, Monte Carlo bands and peak probabilities."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from sdkit import InvalidValueError, SpecError, load_model
from sdkit.analysis.bands import bands, peak_probability
from sdkit.scenarios.uncertainty import (
    ParameterUncertainty,
    monte_carlo,
    read_parameters,
    sample_parameters,
)


def test_truncated_normal_sampling_respects_bounds_and_seed():
    cov = [[0.04, 0.018], [0.018, 0.01]]  # sd 0.2 and 0.1, correlation 0.9
    unc = ParameterUncertainty.from_covariance(["a", "b[x]"], [1.0, 0.5], cov,
                                               lower=[0.8, -np.inf], upper=[np.inf, 0.6])
    s = sample_parameters(unc, 2000, seed=0)
    assert list(s.columns) == ["a", "b[x]"] and len(s) == 2000
    assert s["a"].min() >= 0.8 and s["b[x]"].max() <= 0.6
    assert s.equals(sample_parameters(unc, 2000, seed=0))
    assert not s.equals(sample_parameters(unc, 2000, seed=1))
    # strong positive correlation survives truncation
    assert np.corrcoef(s["a"], s["b[x]"])[0, 1] > 0.6


def test_untruncated_sample_recovers_covariance():
    cov = np.array([[1.0, -0.3], [-0.3, 0.25]])
    unc = ParameterUncertainty.from_covariance(["a", "b"], [0, 10], cov)
    s = sample_parameters(unc, 20000, seed=5)
    np.testing.assert_allclose(np.cov(s.to_numpy().T), cov, atol=0.04)
    np.testing.assert_allclose(s.mean().to_numpy(), [0, 10], atol=0.03)


def test_intervals_are_uniform():
    unc = ParameterUncertainty.from_intervals({"k": (2.0, 4.0)})
    s = sample_parameters(unc, 4000, seed=2)["k"]
    assert 2.0 <= s.min() and s.max() <= 4.0
    assert s.mean() == pytest.approx(3.0, abs=0.05)
    assert unc.mean[0] == 3.0 and np.isnan(unc.stderr[0])


@pytest.mark.parametrize("kwargs, match", [
    (dict(names=["a"], mean=[1], cov=[[1]], lower=[2], upper=[1]), "above upper bound"),
    (dict(names=["a"], mean=[1], cov=[[1, 0]]), "must be 1x1"),
    (dict(names=["a", "a"], mean=[1, 1], cov=np.eye(2)), "duplicate"),
])
def test_bad_descriptions(kwargs, match):
    with pytest.raises(InvalidValueError, match=match):
        ParameterUncertainty.from_covariance(**kwargs)


def test_impossible_truncation_fails_clearly():
    unc = ParameterUncertainty.from_covariance(["a"], [0.0], [[1e-6]], lower=[5], upper=[6])
    with pytest.raises(InvalidValueError, match="outside the bounds"):
        sample_parameters(unc, 10, seed=0, method="rejection", max_rounds=3)
    # the copula keeps every draw inside the bounds, at the edge nearest the mean
    s = sample_parameters(unc, 10, seed=0)
    assert s.attrs["sampling"] == "copula" and s["a"].between(5, 5.001).all()
    with pytest.raises(InvalidValueError, match="method must be one of"):
        sample_parameters(unc, 10, method="lhs")
    with pytest.raises(InvalidValueError, match="positive integer"):
        sample_parameters(unc, 0)


def test_from_calibration_record(tmp_path):
    record = {"parameters": {
        "g": {"variable": "Growth rate[Yichang]", "value": 0.06, "stderr": 0.01,
              "lower": 0.0, "upper": 0.2},
        "d": {"variable": "Intensity decline rate", "value": 0.02, "stderr": None,
              "lower": 0.0, "upper": 0.1}}}
    path = tmp_path / "calibration.json"
    path.write_text(json.dumps(record))
    unc = ParameterUncertainty.from_record(path)
    assert unc.names == ("Growth rate[Yichang]", "Intensity decline rate")
    np.testing.assert_allclose(unc.cov, [[1e-4, 0], [0, 0]])
    assert "held fixed (no stderr): d" in unc.source
    s = sample_parameters(unc, 50, seed=1)
    assert (s["Intensity decline rate"] == 0.02).all()
    path.write_text('{"parameters": []}')
    with pytest.raises(SpecError, match="calibration.json: parameters"):
        ParameterUncertainty.from_record(path)


def test_record_parameters_apply_fixed_constants_first(tmp_path):
    """``--params calibration.json``: the spec's [fixed] constants the fit assumed, then the
    fitted values (which win for a name in both); a malformed ``fixed`` table is refused."""
    record = {"parameters": {"g": {"variable": "Growth rate", "value": 0.06, "stderr": 0.01}},
              "fixed": {"Initial output": 300, "Growth rate": 0.5}}
    path = tmp_path / "calibration.json"
    path.write_text(json.dumps(record))
    got = read_parameters(path)
    assert got == {"Initial output": 300.0, "Growth rate": 0.06}
    assert list(got) == ["Initial output", "Growth rate"]
    record["fixed"] = {"Initial output": "high"}
    path.write_text(json.dumps(record))
    with pytest.raises(SpecError, match=r"calibration\.json: fixed: expected a table of name "
                                        r"= number"):
        read_parameters(path)


def test_monte_carlo_bands_are_ordered_and_seeded(models_dir):
    model = load_model(models_dir / "mini_iis.mdl")
    unc = ParameterUncertainty.from_covariance(
        ["Growth rate[Yichang]", "Intensity decline rate"], [0.06, 0.02],
        np.diag([0.01 ** 2, 0.005 ** 2]), lower=[0, 0], upper=[0.2, 0.1])
    ens = monte_carlo(model, unc, outputs=["CO2 emissions", "GDP"], members=40, seed=11,
                      params={"Lever green transition": 1})
    assert ens.sizes["member"] == 40 and ens.attrs["seed"] == "11"
    q = bands(ens)
    assert "param:Intensity decline rate" not in q
    for var in ("CO2 emissions", "GDP"):
        lo, mid, hi = (q[var].sel(quantile=v) for v in (0.05, 0.5, 0.95))
        assert bool((lo <= mid).all()) and bool((mid <= hi).all())
        assert float((hi - lo).sel(time=2060, City="Yichang")) > 0
    # Jingzhou's parameters are not sampled except the shared decline rate
    again = monte_carlo(model, unc, outputs=["CO2 emissions"], members=40, seed=11,
                        params={"Lever green transition": 1})
    np.testing.assert_array_equal(again["CO2 emissions"], ens["CO2 emissions"])
    p = peak_probability(ens["CO2 emissions"], before=2030, start=2021)
    assert set(p["City"].values) == {"Yichang", "Jingzhou"}
    assert ((p >= 0) & (p <= 1)).all()


def test_peak_probability_by_hand():
    t = np.arange(2021, 2041)
    rising = t - 2020.0
    early = -((t - 2025.0) ** 2)
    late = -((t - 2035.0) ** 2)
    da = xr.DataArray(np.stack([early, late, rising, early]), dims=("member", "time"),
                      coords={"time": t})
    assert float(peak_probability(da, before=2030)) == pytest.approx(0.5)
    assert float(peak_probability(da, before=2036)) == pytest.approx(0.75)


def test_many_parameters_at_bounds_switch_to_copula():
    k = 30
    mean = np.zeros(k)  # every fitted value sits on its lower bound
    sd = np.full(k, 0.5)
    corr = np.full((k, k), 0.3)
    np.fill_diagonal(corr, 1.0)
    unc = ParameterUncertainty.from_covariance([f"p{i}" for i in range(k)], mean,
                                               corr * np.outer(sd, sd), lower=np.zeros(k),
                                               upper=np.full(k, 10.0))
    s = sample_parameters(unc, 4000, seed=4)
    assert s.attrs["sampling"] == "copula"
    assert (s.to_numpy() >= 0).all() and (s.to_numpy() <= 10).all()
    # half-normal marginal: mean sd * sqrt(2 / pi)
    np.testing.assert_allclose(s.mean().to_numpy(), 0.5 * np.sqrt(2 / np.pi), atol=0.03)
    assert np.corrcoef(s["p0"], s["p1"])[0, 1] > 0.15
    with pytest.raises(InvalidValueError, match="use method='copula'"):
        sample_parameters(unc, 10, seed=0, method="rejection", max_rounds=2)
    wide = ParameterUncertainty.from_covariance(["a"], [1.0], [[0.01]], lower=[0], upper=[2])
    assert sample_parameters(wide, 10, seed=0).attrs["sampling"] == "rejection"


def test_gibbs_matches_rejection_on_a_correlated_truncated_normal():
    # a truncated normal rejection can sample exactly: Gibbs must agree with it
    cov = np.array([[1.0, 0.8], [0.8, 1.0]]) * 0.04
    unc = ParameterUncertainty.from_covariance(["a", "b"], [0.1, 0.2], cov, lower=[0, 0],
                                               upper=[1, 1])
    exact = sample_parameters(unc, 20000, seed=1, method="rejection")
    s = sample_parameters(unc, 20000, seed=2, method="gibbs")
    assert s.attrs["sampling"] == "gibbs"
    assert ((s >= 0) & (s <= 1)).all().all()
    np.testing.assert_allclose(s.mean(), exact.mean(), atol=0.005)
    np.testing.assert_allclose(s.std(), exact.std(), atol=0.005)
    assert np.corrcoef(s["a"], s["b"])[0, 1] == pytest.approx(
        np.corrcoef(exact["a"], exact["b"])[0, 1], abs=0.03)
    again = sample_parameters(unc, 20000, seed=2, method="gibbs")
    pd.testing.assert_frame_equal(s, again)


def test_gibbs_keeps_what_the_data_pin_down():
    # a calibration that pins a + 3b down (sd 0.001) but not 3a - b (sd 1): a ridge across
    # the box [0, 0.1]^2, as for two intensity decline rates of one city. Independent
    # truncated marginals (the copula) spread a + 3b; the joint truncated normal keeps it.
    rot = np.array([[1, 3], [3, -1]]) / np.sqrt(10)
    cov = rot @ np.diag([0.001 ** 2, 1.0]) @ rot.T
    unc = ParameterUncertainty.from_covariance(["a", "b", "c"], [0.04, 0.06, 0.0],
                                               np.pad(cov, (0, 1)) + np.diag([0, 0, 0.04]),
                                               lower=[0, 0, 0], upper=[0.1, 0.1, 1])
    s = sample_parameters(unc, 2000, seed=3, method="gibbs")
    pinned = (s["a"] + 3 * s["b"]) / np.sqrt(10)
    assert abs(pinned.median() - 0.22 / np.sqrt(10)) < 0.002 and pinned.std() < 0.003
    assert s["a"].std() > 0.01  # the unidentified direction does vary
    assert (s["c"] == 0).all()  # fitted on its bound: held there
    copula = sample_parameters(unc, 2000, seed=3, method="copula")
    assert ((copula["a"] + 3 * copula["b"]) / np.sqrt(10)).std() > 0.01


def test_record_keeps_the_fitted_correlations(models_dir, tmp_path):
    # teacup data of the first two minutes barely separate room temperature and time constant:
    # their correlation must survive the JSON record, or Monte Carlo from a record ignores it
    import sdkit
    from sdkit import CalibrationProblem, Parameter, calibrate
    from sdkit.calibration import Target

    teacup = models_dir / "teacup.mdl"
    run = sdkit.simulate(teacup, {}, outputs=["Teacup Temperature"], stop=2, saveper=0.25)
    wiggle = 0.05 * (-1.0) ** np.arange(len(run))
    target = Target("T", "Teacup Temperature", tuple(run.index),
                    tuple(run["Teacup Temperature"] + wiggle))
    problem = CalibrationProblem(str(teacup), (
        Parameter("room", "Room Temperature", 0.0, 150.0, 50.0),
        Parameter("tau", "Characteristic Time", 1.0, 30.0, 5.0)), (target,))
    result = calibrate(problem, progress=False, profile=False)
    path = tmp_path / "calibration.json"
    path.write_text(json.dumps(result.to_record()))
    direct = ParameterUncertainty.from_result(result)
    stored = ParameterUncertainty.from_record(path)
    assert abs(direct.cov[0, 1]) / np.prod(direct.stderr) > 0.9
    np.testing.assert_allclose(stored.cov, direct.cov, rtol=1e-9)
