"""Posterior-driven Monte Carlo: members are posterior draws, from the same model only."""

from __future__ import annotations

import json

import numpy as np
import pytest

from sdkit.calibration.bayes_fit import calibrate_bayes
from sdkit.calibration.posterior import PosteriorDraws, write_bayes_outputs
from sdkit.calibration.problem import CalibrationProblem, Parameter, Target
from sdkit.errors import SdkitWarning, SpecError
from sdkit.scenarios.uncertainty import ParameterUncertainty, monte_carlo, read_uncertainty

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
