"""A new user's study on a model and data that are not in the repository (issue 14).

The model is the Lotka-Volterra sample of the SDXorg conformance suite
(``../shared/conformance/samples/Lotka_Volterra``: two stocks, hares and
foxes); the observations are SYNTHETIC, made here by :func:`synthetic_observations`
from known "true" parameters plus 5 % lognormal noise. Every spec below is
written from ``docs/specs.md`` alone, and every step is the documented
command: ``calibrate`` (wide CSV, ``[fixed]`` initial populations) ->
``scenarios run`` (constants only, no levers) -> ``uncertainty``
(``from_calibration``) -> ``sensitivity`` -> ``pipeline`` (the report).
A second, smaller study fits one element of a subscripted conformance model
to a Vensim data export.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sdkit
from sdkit.cli import main
from sdkit.edit.cin import read_cin

CONFORMANCE = Path(__file__).resolve().parents[2] / "shared" / "conformance"
LV = CONFORMANCE / "samples" / "Lotka_Volterra" / "Lotka_Volterra.mdl"
FLOWS = CONFORMANCE / "tests" / "subscripted_flows" / "test_subscripted_flows.mdl"

#: the initial populations of the study (the model's own 1000 hares / 20 foxes crash the prey)
START = {"Initial Prey Population": 150.0, "Initial Predator Population": 250.0}
#: the "true" parameters the SYNTHETIC observations are made with (the model's: 3, 0.2, 10)
TRUE = {"Prey Reproduction Ratio": 2.7, "Reference Fractional Predation Rate": 0.22,
        "Predator Lifespan": 11.0}
SEED = 7
SOURCE = f"synthetic: tests/test_study_any_model.py, seed {SEED}, 5 % lognormal noise"
#: 25 yearly points with 5 % noise, three parameters: each recovered within this share
PARAM_TOL = 0.05

CALIBRATION = f"""# Lotka-Volterra on SYNTHETIC data (tests/test_study_any_model.py)
model = "lv.mdl"
notes = "The observations are SYNTHETIC."

[data]
file = "observed.csv"
format = "wide"
source = "{SOURCE}"

[fit]
start = 0
stop = 24
method = "least_squares"

[fixed]
"Initial Prey Population" = 150
"Initial Predator Population" = 250

[[parameters]]
variable = "Prey Reproduction Ratio"
lower = 1
upper = 5
initial = 3

[[parameters]]
variable = "Reference Fractional Predation Rate"
lower = 0.05
upper = 0.5
initial = 0.2

[[parameters]]
variable = "Predator Lifespan"
lower = 5
upper = 20
initial = 10

[[targets]]
variable = "Prey"

[[targets]]
variable = "Predators"
"""

SCENARIOS = {
    "baseline": """[scenario]
model = "../lv.mdl"
title = "No change"

[outputs]
variables = ["Prey", "Predators"]
""",
    "hunting": """[scenario]
model = "../lv.mdl"
title = "Fox hunting shortens the predators' lifespan"

[constants]
"Predator Lifespan" = 6

[outputs]
variables = ["Prey", "Predators"]
""",
}

UNCERTAINTY = """[uncertainty]
model = "lv.mdl"
members = 200
seed = 3
outputs = ["Prey", "Predators"]
times = [10, 30, 50]
peaks = ["Prey"]
scenarios = ["baseline", "hunting"]
from_calibration = "cal/calibration.json"
"""

SENSITIVITY = """[sensitivity]
model = "lv.mdl"
method = "sobol"
n = 16
seed = 5
scenario = "baseline"

[[sensitivity.factors]]
name = "Prey Reproduction Ratio"
lower = 2
upper = 3.5
source = "assumed for the test"

[[sensitivity.factors]]
name = "Predator Lifespan"
lower = 8
upper = 14
source = "assumed for the test"

[[sensitivity.factors]]
name = "Reference Fractional Predation Rate"
lower = 0.15
upper = 0.3
source = "assumed for the test"

[[sensitivity.outcomes]]
name = "prey at time 30"
variable = "Prey"
year = 30
units = "Hares"

[[sensitivity.outcomes]]
name = "peak predators"
variable = "Predators"
statistic = "max"
units = "Foxes"
"""

REPORT = """[report]
title = "Hares and foxes on SYNTHETIC data"
model = "lv.mdl"
summary_years = [10, 30, 50]
caveats = ["SYNTHETIC DATA: observed.csv is made by tests/test_study_any_model.py."]

[[report.peaks]]
variable = "Prey"
label = "hares"

[[indicators]]
variable = "Prey"
units = "hares"

[[indicators]]
variable = "Predators"
units = "foxes"
"""

STUDY = """[study]
name = "lv"
model = "lv.mdl"
scenarios = "scenarios"
uncertainty = "uncertainty.toml"
sensitivity = "sensitivity.toml"
report = "report.toml"
out = "report"
"""


def synthetic_observations(model: Path, seed: int = SEED) -> pd.DataFrame:
    """SYNTHETIC yearly Prey and Predators, years 0-30: the run with :data:`TRUE`
    times lognormal noise (sd 5 %)."""
    run = sdkit.simulate(model, {**START, **TRUE}, outputs=["Prey", "Predators"])
    table = run[["Prey", "Predators"]].reindex(np.arange(0.0, 31.0))
    table = table * np.exp(np.random.default_rng(seed).normal(0, 0.05, table.shape))
    table.index.name = "time"
    return table.round(3)


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    """Write the study's files beside a copy of the model and run the five steps."""
    root = tmp_path_factory.mktemp("lv")
    shutil.copyfile(LV, root / "lv.mdl")
    synthetic_observations(root / "lv.mdl").to_csv(root / "observed.csv")
    (root / "scenarios").mkdir()
    for name, text in SCENARIOS.items():
        (root / "scenarios" / f"{name}.toml").write_text(text, encoding="utf-8")
    for name, text in (("calibration", CALIBRATION), ("uncertainty", UNCERTAINTY),
                       ("sensitivity", SENSITIVITY), ("report", REPORT), ("study", STUDY)):
        (root / f"{name}.toml").write_text(text, encoding="utf-8")
    record = str(root / "cal" / "calibration.json")
    steps = [
        ["calibrate", str(root / "calibration.toml"), "--out", str(root / "cal"), "--no-plots"],
        ["scenarios", "run", str(root / "scenarios"), "--params", record,
         "--out", str(root / "scen")],
        ["uncertainty", str(root / "uncertainty.toml"), "--out", str(root / "unc"),
         "--no-progress"],
        ["sensitivity", str(root / "sensitivity.toml"), "--params", record, "--out",
         str(root / "sens"), "--no-progress"],
        # no calibration and no --params: the uncertainty spec's record serves the whole study
        ["pipeline", str(root / "study.toml"), "--members", "20", "--sensitivity-n", "8",
         "--no-progress"],
    ]
    for argv in steps:
        assert main(argv) == 0, argv
    return root


def _record(root: Path) -> dict:
    return json.loads((root / "cal" / "calibration.json").read_text(encoding="utf-8"))


def test_calibration_recovers_the_true_parameters(study):
    fitted = {k: v["value"] for k, v in _record(study)["parameters"].items()}
    assert set(fitted) == set(TRUE)
    for name, value in TRUE.items():
        assert fitted[name] == pytest.approx(value, rel=PARAM_TOL), name
    # the data's source travels with the fit
    assert all(t["source"] == SOURCE for t in _record(study)["targets"])


def test_fixed_constants_travel_with_the_fit(study):
    """The spec's [fixed] initial populations are part of the fit: written to the record and
    fitted.cin, and applied by --params (before: dropped, the prey crashed downstream)."""
    assert _record(study)["fixed"] == START
    cin = read_cin(study / "cal" / "fitted.cin")
    assert {k: cin[k] for k in START} == START
    fitted = {k: v["value"] for k, v in _record(study)["parameters"].items()}
    reference = sdkit.simulate(study / "lv.mdl", {**START, **fitted},
                               outputs=["Prey", "Predators"])
    table = pd.read_parquet(study / "scen" / "baseline.parquet")
    for var in ("Prey", "Predators"):
        got = table.loc[var].set_index("time")["value"]
        np.testing.assert_allclose(got.to_numpy(), reference[var].reindex(got.index), rtol=1e-9)


def test_scenario_constants_win_over_the_fitted_values(study):
    hunting = pd.read_parquet(study / "scen" / "hunting.parquet")
    fitted = {k: v["value"] for k, v in _record(study)["parameters"].items()}
    reference = sdkit.simulate(study / "lv.mdl", {**START, **fitted, "Predator Lifespan": 6},
                               outputs=["Prey"])
    got = hunting.loc["Prey"].set_index("time")["value"]
    np.testing.assert_allclose(got.to_numpy(), reference["Prey"].reindex(got.index), rtol=1e-9)


def test_uncertainty_draws_from_the_calibration_covariance(study):
    rec = _record(study)
    samples = pd.read_csv(study / "unc" / "samples.csv", index_col="member")
    assert len(samples) == 200 and set(samples.columns) == set(TRUE)
    a, b = "Prey Reproduction Ratio", "Reference Fractional Predation Rate"
    r = rec["correlation"][a][b]
    assert abs(r) > 0.9  # the data do not separate the two
    assert samples[a].corr(samples[b]) == pytest.approx(r, abs=0.05)
    for name in TRUE:  # centred on the fit, spread by its standard error
        p = rec["parameters"][name]
        assert samples[name].mean() == pytest.approx(p["value"], abs=4 * p["stderr"] / 200 ** .5)
        assert samples[name].std() == pytest.approx(p["stderr"], rel=0.25)
    bands = pd.read_csv(study / "unc" / "bands.csv")
    wide = bands.pivot_table(index=["variable", "time"], columns="quantile", values="value")
    assert (wide[0.05] <= wide[0.5]).all() and (wide[0.5] <= wide[0.95]).all()
    # the record's fixed initial populations hold in every member: hares stay near 100, not 0
    assert wide.loc[("Prey", 10.0), 0.05] > 50
    assert "cal/calibration.json" in (study / "unc" / "provenance.txt").read_text()


def test_sensitivity_indices(study):
    table = pd.read_csv(study / "sens" / "indices.csv")
    assert set(table["outcome"]) == {"prey at time 30", "peak predators"}
    assert set(table["factor"]) == set(TRUE)
    assert (table["ST"] >= -table["ST_conf"]).all()
    assert len(pd.read_csv(study / "sens" / "samples.csv")) == 16 * (3 + 2)


def test_report_shows_the_study(study):
    """The report's runs use the record of uncertainty.from_calibration (the study file names
    no calibration): its summary equals the scenario table run with --params."""
    html = (study / "report" / "index.html").read_text(encoding="utf-8")
    assert "Hares and foxes on SYNTHETIC data" in html
    assert "SYNTHETIC DATA: observed.csv" in html
    summary = pd.read_csv(study / "report" / "data" / "summary.csv")
    scen = pd.read_parquet(study / "scen" / "baseline.parquet")
    prey = scen.loc["Prey"].set_index("time")["value"]
    row = summary[summary.iloc[:, 0].astype(str).str.contains("No change|baseline")]
    column = next(c for c in summary.columns if c.startswith("Prey 30"))
    assert float(row[column].iloc[0]) == pytest.approx(prey[30.0], rel=1e-3)


def test_one_element_of_a_subscripted_model_from_a_vensim_export(tmp_path):
    """``variable = "Stock A[Entry 1]"`` fits that element's row of a Vensim export
    (noise-free SYNTHETIC data: the true rate is recovered to 1e-6)."""
    shutil.copyfile(FLOWS, tmp_path / "flows.mdl")
    run = sdkit.simulate(tmp_path / "flows.mdl", {"Rate A[Entry 1]": 0.015}, outputs=["Stock A"])
    export = run.reindex(np.arange(0.0, 101.0, 10.0)).T
    export.index.name = "Time"
    export.to_csv(tmp_path / "obs.tab", sep="\t")
    (tmp_path / "cal.toml").write_text(
        'model = "flows.mdl"\n'
        'data = { file = "obs.tab", source = "synthetic: noise-free run, rate 0.015" }\n'
        '[[parameters]]\nvariable = "Rate A[Entry 1]"\nlower = 0.001\nupper = 0.1\n'
        '[[targets]]\nvariable = "Stock A[Entry 1]"\n', encoding="utf-8")
    assert main(["calibrate", str(tmp_path / "cal.toml"), "--out", str(tmp_path / "out"),
                 "--no-plots", "--no-profile"]) == 0
    rec = json.loads((tmp_path / "out" / "calibration.json").read_text())
    assert rec["parameters"]["Rate A[Entry 1]"]["value"] == pytest.approx(0.015, rel=1e-6)
    assert [t["variable"] for t in rec["targets"]] == ["Stock A[Entry 1]"]
