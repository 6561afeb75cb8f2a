"""Partial pooling and an observation-side level shift, read from a spec (SYNTHETIC data)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sdkit.calibration.bayes_fit import calibrate_bayes
from sdkit.calibration.bayes_spec import read_bayes
from sdkit.calibration.spec import read_problem
from sdkit.errors import SpecError

MODEL = "tests/models/decay_city.mdl"
CITIES = ("Yichang", "Jingzhou", "Jingmen", "Enshi")
RATES = (0.10, 0.08, 0.09, 0.12)  # the model's own growth rates: the truth
INITIAL = (1500, 800, 700, 350)
YEARS = np.arange(2010.0, 2022.0)
SHIFT = 0.8  # Enshi's series restated from 2016 on (SYNTHETIC revision)


def _spec(tmp_path, *, observations: bool = True,
          pooled: str = "pooled = true\npool_scale = 0.05") -> str:
    rows = ["year," + ",".join(f"Output[{c}]" for c in CITIES)]
    for y in YEARS:
        vals = [x0 * (1 + r / 4) ** (4 * (y - 2010)) for x0, r in zip(INITIAL, RATES)]
        if y >= 2016:
            vals[3] *= SHIFT
        rows.append(f"{y:g}," + ",".join(f"{v:.6f}" for v in vals))
    (tmp_path / "synthetic.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    obs = """
[[observations]]
variable = "Output"
from = 2016
factor = { Enshi = 0.8 }
note = "SYNTHETIC restatement from 2016"
""" if observations else ""
    text = f"""
model = "{Path(MODEL).resolve().as_posix()}"
elements = {list(CITIES)!r}
[data]
file = "{(tmp_path / 'synthetic.csv').as_posix()}"
format = "wide"
source = "SYNTHETIC: the model's own run (test)"
[fit]
method = "map"
[[parameters]]
variable = "Growth Rate"
per_element = true
lower = 0.0
upper = 0.3
initial = 0.05
prior = {{ distribution = "normal", mu = 0.1, sigma = 0.05, source = "test" }}
{pooled}
[[targets]]
variable = "Output"
likelihood = {{ log = true, sigma_prior = 0.05 }}
{obs}"""
    path = tmp_path / "spec.toml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_pooled_spec_samples_a_shared_location_and_scale(tmp_path):
    bp = read_bayes(read_problem(_spec(tmp_path)))
    (pool,) = bp.pools
    assert pool.members == tuple(f"Growth Rate[{c}]" for c in CITIES)
    assert "Growth Rate::mu" in bp.names and "Growth Rate::tau" in bp.names
    assert pool.tau_scale == 0.05


def test_map_with_the_level_shift_recovers_every_city_and_without_it_biases_one(tmp_path):
    # no pooling here: a MAP of a pooled model sits at tau -> 0 (the funnel); see bayes_fit
    shifted = calibrate_bayes(read_problem(_spec(tmp_path, pooled="")), method="map")
    rates = dict(zip(shifted.names, shifted.point))
    for city, rate in zip(CITIES, RATES):
        assert rates[f"Growth Rate[{city}]"] == pytest.approx(rate, rel=0.02)
    (tmp_path / "b").mkdir()
    plain = calibrate_bayes(read_problem(_spec(tmp_path / "b", observations=False,
                                               pooled="")), method="map")
    enshi = dict(zip(plain.names, plain.point))["Growth Rate[Enshi]"]
    assert enshi < RATES[3] * 0.9  # the restatement read as slower growth


def test_pooled_on_a_scalar_parameter_is_refused(tmp_path):
    text = open(_spec(tmp_path), encoding="utf-8").read().replace("per_element = true\n", "")
    path = tmp_path / "scalar.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SpecError, match=r"parameters\[0\]: pooled = true needs a per-element"):
        read_bayes(read_problem(path))
