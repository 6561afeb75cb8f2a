"""A small report built once from the mini IIS model (two cities, fast engine)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sdkit.report import figures as F
from sdkit.workflow.pipeline import run_pipeline
from sdkit.workflow.study import Study

ROOT = Path(__file__).resolve().parents[2]
README = ROOT.parent / "shared" / "data" / "README.md"

CONFIG = """
[report]
title = "Mini IIS test report"
model = "{model}"
projection_start = 2021
summary_years = [2035, 2060]
data_readme = "{readme}"
colors = {{ Yichang = "#1f77b4", Jingzhou = "#ff7f0e" }}
assumptions = ["Mini model: numbers are illustrative only."]

summary = ["GDP", "CO2 emissions", "Carbon intensity", "Coordination degree"]
growth = "GDP"
dimension = "City"

[[report.peaks]]
variable = "CO2 emissions"
label = "CO2"
before = 2030

[[report.changes]]
variable = "Carbon intensity"
label = "intensity"
base = 2020

[[report.changes]]
variable = "Carbon intensity"
label = "intensity"
base = 2005
until = 2035
backcast_from = 2010
decline = 0.055
note = "ASSUMPTION: 2005 intensity back-cast from 2010 at 5.5 %/yr (test)."

[[report.levers]]
variable = "Lever green transition"
label = "green transition"
scenario = "green"

[report.tradeoff]
benefit = "GDP"
burden = "CO2 emissions"
sensitivity_outcome = "GDP 2035"

[report.target]
variable = "CO2 emissions"
year = 2060
scenario = "green"
label = "net zero"
reference = 2021

[[report.totals]]
variable = "GDP"
label = "GDP"

[[report.totals]]
variable = "CO2 emissions"
label = "CO2"

[[report.totals]]
variable = "CO2 emissions"
label = "cumulative CO2"
statistic = "cumulative"

[[indicators]]
variable = "GDP"
label = "GDP"
units = "100 million CNY/yr"

[[indicators]]
variable = "CO2 emissions"
label = "CO2 emissions"
units = "Mt/yr"

[uncertainty]
scenarios = ["baseline", "green"]
members = 24
seed = 5

[[uncertainty.parameters]]
name = "Intensity decline rate"
lower = 0.01
upper = 0.03
source = "test range (synthetic)"

[[uncertainty.parameters]]
name = "Growth rate"
lower = 0.04
upper = 0.07
source = "test range (synthetic)"

[sensitivity]
method = "sobol"
n = 8
seed = 2
scenario = "baseline"

[[sensitivity.factors]]
name = "Lever green transition"
lower = 0
upper = 1
label = "green lever"
source = "lever strength 0-1"

[[sensitivity.factors]]
name = "Lever innovation"
lower = 0
upper = 1
label = "innovation lever"
source = "lever strength 0-1"

[[sensitivity.outcomes]]
name = "GDP 2035"
variable = "GDP"
year = 2035

[[sensitivity.outcomes]]
name = "peak year"
variable = "CO2 emissions"
statistic = "peak_year"
start = 2021

[specialization]
data = "{data}"
year = 2021
region_column = "city"
regions = ["Yichang", "Jingzhou"]
[specialization.industries]
primary = "gdp_primary_industry"
secondary = "gdp_secondary_industry"
tertiary = "gdp_tertiary_industry"
"""

SCENARIO = """
[scenario]
name = "{name}"
title = "{title}"

[levers.green]
variable = "Lever green transition"
strength = {strength}
start_year = 2026
ramp_years = 5
"""


@pytest.fixture(scope="session")
def mini_setup(tmp_path_factory, models_dir):
    base = tmp_path_factory.mktemp("mini_report")
    scen = base / "scenarios"
    scen.mkdir()
    (scen / "baseline.toml").write_text(SCENARIO.format(name="baseline", title="Baseline",
                                                        strength=0))
    (scen / "green.toml").write_text(SCENARIO.format(name="green", title="Green lever",
                                                     strength=1))
    config = base / "mini.toml"
    config.write_text(CONFIG.format(model=models_dir / "mini_iis.mdl", readme=README,
                                    data=ROOT / "calibration" / "data" / "city_stats.csv"))
    return base, scen, config


@pytest.fixture(scope="session")
def mini_report(mini_setup):
    """(report folder, config path, scenario folder) of a pipeline run on the mini model."""

    base, scen, config = mini_setup
    out = base / "reports" / "mini"
    study = Study(report=config, scenarios=scen, out=out, uncertainty=config,
                  sensitivity=config, calibrate=False)
    index = run_pipeline(study, log=None)
    assert index == out / "index.html"
    return out, config, scen


@pytest.fixture
def undrawn(monkeypatch):
    """Figures are built but not drawn to PNG/SVG (drawing is most of a render's time):
    for tests about a report's text, tables and files; drawing is tested in
    test_report_figures and the browser tests."""
    monkeypatch.setattr(F, "figure_bytes", lambda fig: (b"\x89PNG undrawn", "<svg/>"))
