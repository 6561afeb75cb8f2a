"""A small report built once from the mini IIS model (two cities, fast engine)."""

from __future__ import annotations

from pathlib import Path

import pytest

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

[report.variables]
gdp = "GDP"
emissions = "CO2 emissions"
intensity = "Carbon intensity"
coordination = "Coordination degree"

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

[[uncertainty.parameters]]
name = "Growth rate"
lower = 0.04
upper = 0.07

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

[[sensitivity.factors]]
name = "Lever innovation"
lower = 0
upper = 1
label = "innovation lever"

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
    from sdkit.workflow.pipeline import run_pipeline

    base, scen, config = mini_setup
    out = base / "reports" / "mini"
    index = run_pipeline(spec=None, scenarios=scen, out=out, config=config, calibrate=False,
                         log=None)
    assert index == out / "index.html"
    return out, config, scen
