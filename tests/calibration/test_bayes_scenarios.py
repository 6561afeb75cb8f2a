"""Posterior-driven Monte Carlo: members are posterior draws, from the same model only."""

from __future__ import annotations

import json

import numpy as np
import pytest
import xarray as xr

from sdkit.calibration.bayes_fit import calibrate_bayes
from sdkit.calibration.posterior import PosteriorDraws, read_posterior, write_bayes_outputs
from sdkit.calibration.problem import CalibrationProblem, Parameter, Target
from sdkit.calibration.spec import read_problem
from sdkit.errors import SdkitWarning, SpecError
from sdkit.scenarios.uncertainty import ParameterUncertainty, monte_carlo, read_uncertainty
from sdkit.workflow.pipeline import run_pipeline

TIMES = tuple(np.arange(0.0, 21.0, 4.0))


@pytest.fixture(scope="module")
def record(tmp_path_factory):
    values = tuple(120 * np.exp(-0.25 * np.asarray(TIMES)) * (1 + 0.03 * np.cos(TIMES)))
    problem = CalibrationProblem(
        "tests/models/decay.mdl",
        (Parameter("k", "Decay Rate", 0.01, 1.0, 0.2),
         Parameter("s0", "Initial Stock", 10.0, 300.0, 100.0)),
        (Target("Stock", "Stock", TIMES, values, source="SYNTHETIC: decay x (1 + 3 % cos t)"),),
        dt=0.125)
    with pytest.warns(SdkitWarning, match="not converged"):
        result = calibrate_bayes(problem, method="mcmc", seed=1, walkers=8, steps=40, burn=10)
    out = tmp_path_factory.mktemp("posterior")
    paths = write_bayes_outputs(result, out)
    return paths["json"], result


def test_a_record_with_a_posterior_gives_posterior_draws(record):
    path, result = record
    unc = read_uncertainty(path)
    assert isinstance(unc, PosteriorDraws)
    ds = monte_carlo("tests/models/decay.mdl", unc, outputs=["Stock"], members=60, seed=2)
    assert ds.attrs["sampling"] == "posterior"
    drawn = np.column_stack([ds["param:Decay Rate"].values, ds["param:Initial Stock"].values])
    kept = {tuple(row) for row in result.draws[:, :2]}
    assert all(tuple(row) in kept for row in drawn)  # every member is a posterior draw
    stock0 = ds["Stock"].isel(time=0).values
    np.testing.assert_allclose(stock0, drawn[:, 1])  # and the model ran with it


def test_a_posterior_from_another_model_is_refused(record):
    path, _ = record
    unc = read_uncertainty(path)
    with pytest.raises(SpecError, match="posterior is from another model"):
        monte_carlo("tests/models/decay_city.mdl", unc, outputs=["Stock"], members=5, seed=1)


def test_a_record_without_posterior_keeps_the_jacobian_sampler(record, tmp_path):
    path, _ = record
    rec = json.loads(path.read_text(encoding="utf-8"))
    rec["posterior_file"] = None
    plain = tmp_path / "calibration.json"
    plain.write_text(json.dumps(rec), encoding="utf-8")
    assert isinstance(read_uncertainty(plain), ParameterUncertainty)


def test_the_pipeline_with_a_posterior_record_draws_every_member_from_it(tmp_path):
    """The SIR study (SYNTHETIC data) reported from an MCMC record: the Monte Carlo
    members' parameters are rows of posterior.nc, and the report says so."""
    problem = read_problem("examples/sir/calibration.toml")
    with pytest.warns(SdkitWarning, match="not converged"):
        result = calibrate_bayes(problem, method="mcmc", seed=1, walkers=8, steps=60, burn=20)
    paths = write_bayes_outputs(result, tmp_path / "posterior")
    index = run_pipeline("examples/sir/study.toml", params=paths["json"], out=tmp_path / "rep",
                         members=40, sensitivity_n=0, log=None)
    text = (index.parent / "report.md").read_text()
    assert "Monte Carlo members are draws of the MCMC posterior" in text
    post = read_posterior(paths["posterior"])
    stored = post.samples.reshape(-1, post.samples.shape[-1])
    with xr.open_dataset(index.parent / "data" / "ensemble_baseline.nc") as ds:
        assert ds.attrs["monte_carlo_sampling"] == "posterior"
        members = np.column_stack([ds["param_transmission_rate"].to_numpy(),
                                   ds["param_infectious_duration"].to_numpy()])
    cols = [post.keys.index(k) for k in ("Transmission rate", "Infectious duration")]
    # every member is a stored draw (not a draw of a fitted normal around the median)
    dist = np.abs(members[:, None, :] - stored[None, :, cols]).max(axis=2).min(axis=1)
    assert len(members) == 40 and np.all(dist < 1e-9)
