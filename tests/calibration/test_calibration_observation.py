"""The observation model of a calibration: level shifts of observed series."""

from __future__ import annotations

import numpy as np
import pytest

from sdkit.calibration.observation import Observation, apply_observations, read_observations
from sdkit.calibration.problem import Target
from sdkit.errors import SpecError


def _target(name: str, indicator: str = "x") -> Target:
    return Target(name=name, variable=name, times=(2017.0, 2018.0, 2019.0, 2020.0),
                  values=(1.0, 1.0, 1.0, 1.0), indicator=indicator)


def test_factor_applies_from_its_year_and_only_to_its_series():
    obs = read_observations([{"variable": "Output", "from": 2019,
                              "factor": {"A": 0.5}, "note": "revision"}],
                            where="spec.toml", elements=["A", "B"])
    targets = [_target("Output[A]"), _target("Output[B]"), _target("Other[A]")]
    sim = {t.name: np.ones((2, 4)) for t in targets}
    out = apply_observations(obs, targets, sim)
    assert np.allclose(out["Output[A]"], [[1, 1, 0.5, 0.5]] * 2)
    assert np.allclose(out["Output[B]"], 1.0) and np.allclose(out["Other[A]"], 1.0)
    assert np.allclose(sim["Output[A]"], 1.0)  # input untouched


def test_one_number_applies_to_every_element_and_indicator_filters():
    obs = read_observations([{"variable": "Output", "from": 2020, "factor": 2.0,
                              "indicator": "real"}], where="s.toml")
    targets = [_target("Output[A]", "real"), _target("Output[B]", "nominal")]
    out = apply_observations(obs, targets, {t.name: np.ones(4) for t in targets})
    assert np.allclose(out["Output[A]"], [1, 1, 1, 2])
    assert np.allclose(out["Output[B]"], 1.0)


@pytest.mark.parametrize("item, message", [
    ({"variable": "Y", "from": 2019}, "missing key 'factor'"),
    ({"variable": "Y", "from": 2019, "factor": 0.0}, "must be a finite number > 0"),
    ({"variable": "Y", "from": 2019, "factor": {"Z": 1.1}}, "unknown element"),
    ({"variable": "Y", "from": "2019", "factor": 1.1}, "'from' must be a number"),
    ({"variable": "Y", "from": 2019, "factor": 1.1, "shift": 2}, "unknown key"),
])
def test_bad_observations_are_refused_with_the_table_named(item, message):
    with pytest.raises(SpecError, match=message) as err:
        read_observations([item], where="spec.toml", elements=["A"])
    assert "spec.toml: observations[0]" in str(err.value)


def test_observation_is_frozen():
    obs = Observation("Y", 2019.0, {"A": 0.9})
    with pytest.raises(TypeError):
        obs.factors["A"] = 2.0  # type: ignore[index]
