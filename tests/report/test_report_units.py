"""Units: ``sdkit run``'s summary and the report show the same numbers in the same units.

The report configuration's ``[[indicators]]`` give carbon intensity a shown unit
and a scale (x100: Mt per 100 million CNY -> t per 10,000 CNY); the model's
sidecar points ``sdkit run`` at that configuration. Both convert through
:mod:`sdkit.report.units`.
"""

from __future__ import annotations

import re
import shutil

import pandas as pd
import pytest

from sdkit.cli import main
from sdkit.errors import SpecError
from sdkit.report import read_report_config, write_report
from sdkit.report.render import ReportInputs
from sdkit.scenarios.projection import run_scenarios
from sdkit.scenarios.spec import Scenario
from sdkit.workflow.run_summary import read_summary_spec

UNITS = "t CO2 per 10,000 CNY"
CONFIG = f"""
[report]
title = "units"
model = "mini_iis.mdl"
dimension = "City"
projection_start = 2021
summary_years = [2035, 2060]
summary = ["Carbon intensity", "CO2 emissions"]

[[report.peaks]]
variable = "CO2 emissions"
label = "CO2"
start = 2021

[[indicators]]
variable = "Carbon intensity"
label = "Carbon intensity"
units = "{UNITS}"
scale = 100.0
"""
SIDECAR = """
[summary]
variables = ["Carbon intensity", "CO2 emissions"]
times = [2035, 2060]
peak = ["CO2 emissions"]
report = "report.toml"
"""


def _printed_table(text: str) -> pd.DataFrame:
    """The summary block ``Carbon intensity (units)`` as a table (city x year)."""
    lines = text.strip().split("\n\n")[0].splitlines()
    header = lines[1].split()
    rows = {ln.split()[0]: [float(v.replace(",", "")) for v in ln.split()[1:]]
            for ln in lines[2:]}
    return pd.DataFrame(rows, index=header).T


def test_cli_summary_and_report_print_the_same_numbers(models_dir, tmp_path, capsys):
    model = tmp_path / "mini_iis.mdl"
    shutil.copy(models_dir / "mini_iis.mdl", model)
    (tmp_path / "report.toml").write_text(CONFIG, encoding="utf-8")
    (tmp_path / "mini_iis.sdkit.toml").write_text(SIDECAR, encoding="utf-8")
    assert main(["run", str(model)]) == 0
    printed = capsys.readouterr().out
    assert printed.splitlines()[0] == f"Carbon intensity ({UNITS})"
    cli = _printed_table(printed)

    cfg = read_report_config(tmp_path / "report.toml")
    runs = run_scenarios(model, [Scenario(name="baseline", title="Baseline")],
                         outputs=["Carbon intensity", "CO2 emissions"])
    write_report(ReportInputs(config=cfg, scenarios=runs, titles={"baseline": "Baseline"}),
                 tmp_path / "r")
    summary = pd.read_csv(tmp_path / "r" / "data" / "summary.csv").set_index("City")
    for year in ("2035", "2060"):
        column = f"Carbon intensity {year} [{UNITS}]"
        assert column in summary.columns
        for city, value in summary[column].items():  # the CLI prints 4 significant digits
            assert cli.loc[city, year] == pytest.approx(value, rel=6e-4), (city, year)
    raw = runs["Carbon intensity"].sel(scenario="baseline", time=2035.0)
    shown = summary[f"Carbon intensity 2035 [{UNITS}]"]
    for city in shown.index:  # the report's number is the model's x100, not the model's
        assert shown[city] == pytest.approx(100 * float(raw.sel(City=city)), rel=1e-12)
    peaks = printed.split("\n\n")[1].splitlines()  # CO2 block: peaks counted as the report does
    assert peaks[0] == "CO2 emissions (Mt)" and peaks[1].split()[-3:] == ["peak", "after", "2021"]
    assert len(peaks) == 2 + len(summary)
    for line in peaks[2:]:
        city, cell = line.split()[0], " ".join(line.split()[3:])
        assert cell == summary.loc[city, "CO2 peak year"], city
    html = (tmp_path / "r" / "index.html").read_text(encoding="utf-8")
    assert UNITS in html and "Mt/Cyuan" not in printed


def test_sidecar_report_must_exist(models_dir, tmp_path):
    model = tmp_path / "mini_iis.mdl"
    shutil.copy(models_dir / "mini_iis.mdl", model)
    (tmp_path / "mini_iis.sdkit.toml").write_text(SIDECAR, encoding="utf-8")
    with pytest.raises(SpecError, match=re.escape("[summary].report must name a report")):
        read_summary_spec(model)
