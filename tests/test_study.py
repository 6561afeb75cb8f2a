"""Studies described by files, on SIR (no subscripts): scenarios, uncertainty, sensitivity."""

from __future__ import annotations

import pandas as pd
import pytest

from sdkit.cli import main

UNC = """[uncertainty]
model = "{model}"
members = 8
seed = 1
outputs = ["Infectious"]
times = [{time}]
peaks = ["Infectious"]
[[uncertainty.parameters]]
name = "{name}"
lower = 0.2
upper = 0.4
source = "synthetic test range"
"""

SENS = """[sensitivity]
model = "{model}"
n = 4
seed = 3
[[sensitivity.factors]]
name = "Contact Infectivity"
lower = 0.2
upper = 0.4
source = "synthetic test range"
[[sensitivity.factors]]
name = "Duration"
lower = 4
upper = 6
source = "synthetic test range"
[[sensitivity.outcomes]]
name = "peak"
variable = "Infectious"
statistic = "max"
"""


def test_sir_scenarios_run_with_outputs_in_the_file(tmp_path, models_dir, capsys):
    (tmp_path / "base.toml").write_text(
        f'[scenario]\nmodel = "{models_dir / "SIR.mdl"}"\n[outputs]\nvariables = ["Infectious"]\n')
    assert main(["scenarios", "run", str(tmp_path / "base.toml"), "--out",
                 str(tmp_path / "o")]) == 0
    table = pd.read_parquet(tmp_path / "o" / "base.parquet")
    assert set(table.index) == {"Infectious"} and table["value"].max() > 0


def test_uncertainty_bands_are_ordered(tmp_path, models_dir):
    spec = tmp_path / "u.toml"
    spec.write_text(UNC.format(model=models_dir / "SIR.mdl", time=20, name="Contact Infectivity"))
    assert main(["uncertainty", str(spec), "--out", str(tmp_path / "o"), "--no-progress"]) == 0
    bands = pd.read_csv(tmp_path / "o" / "bands.csv").set_index("quantile")["value"]
    lo, mid, hi = (float(bands.loc[q]) for q in (0.05, 0.5, 0.95))
    assert lo < mid < hi
    assert len(pd.read_csv(tmp_path / "o" / "samples.csv")) == 8


def test_sensitivity_ranks_factors(tmp_path, models_dir):
    spec = tmp_path / "s.toml"
    spec.write_text(SENS.format(model=models_dir / "SIR.mdl"))
    assert main(["sensitivity", str(spec), "--out", str(tmp_path / "o"), "--no-progress"]) == 0
    table = pd.read_csv(tmp_path / "o" / "indices.csv")
    assert sorted(table["rank"]) in ([1, 2], [1, 1])


@pytest.mark.parametrize("time, name, message", [
    (500, "Contact Infectivity", "uncertainty.times: time 500 is outside the run"),
    (20, "No such constant", "uncertainty.parameters:"),
])
def test_bad_uncertainty_spec_is_one_line_exit_2(tmp_path, models_dir, capsys, time, name,
                                                 message):
    spec = tmp_path / "u.toml"
    spec.write_text(UNC.format(model=models_dir / "SIR.mdl", time=time, name=name))
    assert main(["uncertainty", str(spec), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1 and str(spec) in err
    assert not (tmp_path / "o").exists()


def test_pipeline_without_a_study_file(tmp_path, models_dir, monkeypatch, capsys):
    """In a folder without ./study.toml, --config, --scenarios and --out describe the study;
    the report's summary equals the scenario run (the same model, the same constants)."""
    (tmp_path / "scen").mkdir()
    (tmp_path / "scen" / "baseline.toml").write_text(
        '[scenario]\nname = "baseline"\n[constants]\n"Duration" = 4\n'
        '[outputs]\nvariables = ["Infectious"]\n')
    (tmp_path / "report.toml").write_text(
        f'[report]\ntitle = "SIR"\nmodel = "{models_dir / "SIR.mdl"}"\nsummary_years = [20]\n'
        '[[indicators]]\nvariable = "Infectious"\n')
    monkeypatch.chdir(tmp_path)
    assert main(["pipeline", "--config", "report.toml", "--scenarios", "scen", "--out", "rep",
                 "--no-calibrate", "--no-progress"]) == 0
    assert main(["scenarios", "run", "scen", "--model", str(models_dir / "SIR.mdl"), "--out",
                 "runs"]) == 0
    run = pd.read_parquet(tmp_path / "runs" / "baseline.parquet").set_index("time")["value"]
    summary = pd.read_csv(tmp_path / "rep" / "data" / "summary.csv")
    column = next(c for c in summary.columns if c.startswith("Infectious 20"))
    assert float(summary[column].iloc[0]) == pytest.approx(run[20.0], rel=1e-3)


def test_scenario_names_of_a_spec_are_not_dropped_silently(tmp_path, models_dir, capsys):
    """``scenario = "..."`` is a name of the study's scenario folder: on its own, the command
    says it is not used (and the run equals the one without it)."""
    spec = tmp_path / "s.toml"
    spec.write_text(SENS.format(model=models_dir / "SIR.mdl").replace(
        "seed = 3", 'seed = 3\nscenario = "combined"'))
    assert main(["sensitivity", str(spec), "--out", str(tmp_path / "o"), "--no-progress"]) == 0
    err = capsys.readouterr().err
    assert err.count("sdkit: warning:") == 1
    assert "sensitivity.scenario 'combined': read by sdkit pipeline only" in err
