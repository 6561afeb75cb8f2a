"""The IIS calibration spec reads against the real data and runs the model."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sdkit import read_problem
from sdkit.calibration.objective import Objective

SPEC = Path(__file__).resolve().parents[2] / "calibration" / "iis.toml"
CITIES = ("Yichang", "Jingzhou", "Jingmen", "Enshi")


def test_iis_spec_targets_and_first_run():
    problem = read_problem(SPEC)
    names = {t.name for t in problem.targets}
    for city in CITIES:
        assert {f"GDP[{city}]", f"Value added secondary[{city}]", f"Patents[{city}]"} <= names
    # no Enshi loans or EDGAR CO2 in the data: nothing to fit there
    assert "Loans[Enshi]" not in names and "CO2 emissions[Enshi]" not in names
    gdp = next(t for t in problem.targets if t.name == "GDP[Enshi]")
    assert gdp.indicator == "gdp_real" and gdp.times[0] == 2010 and gdp.times[-1] == 2021
    assert gdp.values[0] == 351.13  # nominal 2010 = real 2010
    assert (problem.start, problem.stop) == (2010.0, 2018.0)
    objective = Objective(problem)
    r = objective.residuals(problem.initial)
    # 4 GDP-like series x 4 cities + CO2 and loans x 3 cities, 9 years each, + 4 patents
    assert r.size == (16 + 6) * 9 + 4
    assert np.all(np.isfinite(r)) and np.all(np.abs(r) < 1)
    # the model's 2010 GDP is built from the 2010 data; the free parameters move it a little
    first = objective.simulate(problem.initial)["GDP[Yichang]"][0]
    assert abs(first / 1547.32 - 1) < 0.05


def test_census_revision_is_an_observation_term_not_a_model_change():
    """The 2018/2019 sector restatement shifts the compared values, never GDP or 2018."""
    problem = read_problem(SPEC)
    assert {o.variable for o in problem.observations} == {
        "Value added primary", "Value added secondary", "Value added tertiary"}
    objective = Objective(problem)
    x = problem.initial
    shifted = objective.simulate(x)
    # model output before the observation model
    raw = objective._at_targets(objective._run(objective._table(x[None, :]), "auto").dataset)
    for city in CITIES:
        name = f"Value added secondary[{city}]"
        target = next(t for t in problem.targets if t.name == name)
        times = np.asarray(target.times)
        ratio = shifted[name] / raw[name][0]
        factor = next(o for o in problem.observations
                      if o.variable == "Value added secondary").factors[city]
        assert np.allclose(ratio[times < 2019], 1.0)
        assert np.allclose(ratio[times >= 2019], factor) and factor < 1
        assert np.allclose(shifted[f"GDP[{city}]"], raw[f"GDP[{city}]"][0])


def test_committed_calibration_record_is_identified():
    """No fitted parameter on a bound and no pair with |r| >= 0.95 (issue 13)."""
    import json

    record = json.loads((SPEC.parent / "results" / "iis" / "calibration.json")
                        .read_text(encoding="utf-8"))
    for name, p in record["parameters"].items():
        span = p["upper"] - p["lower"]
        assert p["lower"] + 1e-3 * span < p["value"] < p["upper"] - 1e-3 * span, name
    corr = record["correlation"]
    names = list(corr)
    worst = max(abs(corr[a][b]) for i, a in enumerate(names) for b in names[i + 1:])
    assert worst < 0.95
