"""Global sensitivity: outcomes, Sobol' and Morris on the mini model, input checks."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from sdkit import InvalidValueError, load_model
from sdkit.analysis.sensitivity import Outcome, outcome_values, sensitivity_analysis
from sdkit.scenarios.sensitivity import Factor

FACTORS = [Factor("Lever green transition", 0, 1, "green"),
           Factor("Lever innovation", 0, 1, "innovation"),
           Factor("Intensity decline rate", 0.01, 0.03, "decline")]
OUTCOMES = [Outcome("GDP 2035", "GDP", year=2035),
            Outcome("CI 2035", "CO2 emissions", statistic="ratio", denominator="GDP",
                    year=2035),
            Outcome("cumulative", "CO2 emissions", statistic="cumulative", start=2021,
                    stop=2060),
            Outcome("peak", "CO2 emissions", statistic="peak_year", start=2021)]


@pytest.fixture(scope="module")
def mini(models_dir):
    return load_model(models_dir / "mini_iis.mdl")


def test_outcome_values_by_hand():
    t = np.arange(2020, 2026)
    gdp = np.ones((2, 6, 2))
    co2 = np.zeros((2, 6, 2))
    co2[0, :, 0] = [1, 2, 3, 2, 1, 0]  # member 0 peaks in 2022
    co2[1, :, :] = np.arange(6)[:, None]  # member 1 still rising
    ds = xr.Dataset({"GDP": (("member", "time", "City"), gdp),
                     "CO2": (("member", "time", "City"), co2)},
                    coords={"member": [0, 1], "time": t, "City": ["a", "b"]})
    y = outcome_values(ds, [Outcome("g", "GDP", year=2023),
                            Outcome("r", "CO2", statistic="ratio", denominator="GDP",
                                    year=2022),
                            Outcome("c", "CO2", statistic="cumulative", start=2021, stop=2023),
                            Outcome("p", "CO2", statistic="peak_year")])
    assert y["g"].tolist() == [2, 2]
    assert y["r"].tolist() == [1.5, 2.0]
    assert y["c"].tolist() == [7, 12]
    assert y["p"].tolist() == [2022, 2025]  # not peaked: the last year
    with pytest.raises(InvalidValueError, match="no variable 'X'"):
        outcome_values(ds, [Outcome("x", "X", year=2020)])


def test_sobol_ranks_the_lever_that_drives_each_outcome(mini):
    res = sensitivity_analysis(mini, FACTORS, OUTCOMES, method="sobol", n=16, seed=3)
    t = res.to_frame().set_index(["outcome", "label"])
    assert res.runs == 16 * (3 + 2)
    # GDP does not depend on the green lever nor the decline rate at all
    assert t.loc[("GDP 2035", "innovation"), "rank"] == 1
    assert t.loc[("GDP 2035", "green"), "ST"] == 0
    assert t.loc[("GDP 2035", "decline"), "ST"] == 0
    assert t.loc[("peak", "green"), "rank"] == 1
    assert set(t.columns) >= {"S1", "S1_conf", "ST", "ST_conf", "index", "rank"}
    assert "GDP 2035: innovation" in res.summary()


def test_morris_runs_and_ranks(mini):
    res = sensitivity_analysis(mini, FACTORS, OUTCOMES[:2], method="morris", n=4, seed=1)
    assert res.runs == 4 * (3 + 1)
    t = res.to_frame().set_index(["outcome", "label"])
    assert t.loc[("GDP 2035", "innovation"), "rank"] == 1
    assert t.loc[("GDP 2035", "green"), "mu_star"] == 0


@pytest.mark.parametrize("kwargs, match", [
    (dict(method="fast"), "method must be one of"),
    (dict(n=12), "power of two"),
    (dict(factors=FACTORS[:1]), "at least two factors"),
    (dict(factors=[FACTORS[0], FACTORS[0]]), "duplicate"),
])
def test_bad_arguments(mini, kwargs, match):
    args = dict(factors=FACTORS, method="sobol", n=8)
    args.update(kwargs)
    factors = args.pop("factors")
    with pytest.raises(InvalidValueError, match=match):
        sensitivity_analysis(mini, factors, OUTCOMES, **args)


def test_bad_descriptions():
    with pytest.raises(InvalidValueError, match="lower < upper"):
        Factor("x", 1, 1)
    with pytest.raises(InvalidValueError, match="needs 'year'"):
        Outcome("x", "GDP")
    with pytest.raises(InvalidValueError, match="statistic must be one of"):
        Outcome("x", "GDP", statistic="mean", year=1)
