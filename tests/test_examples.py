"""The SIR example study (examples/sir/) run end to end through the command line.

Every step is the documented command a user would type (``sdkit calibrate``,
``scenarios run``, ``uncertainty``, ``sensitivity``, ``pipeline``, ``report``),
with small sample sizes; everything is written under ``tmp_path`` and nothing
into ``examples/``. The data are SYNTHETIC (examples/sir/make_synthetic_data.py).
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sdkit.cli import main

SIR = Path(__file__).resolve().parents[1] / "examples" / "sir"
SCENARIOS = ("baseline", "school_closure", "vaccination", "combined")
OUTPUTS = {"Reported cases", "Infectious", "Cumulative infections", "Susceptible", "Recovered"}
#: relative tolerance on each recovered parameter: 40 noisy points, two correlated parameters
PARAM_TOL = 0.10
#: relative tolerance on R0 = Transmission rate x Infectious duration, which the data pin best
R0_TOL = 0.05


def _generator():
    spec = importlib.util.spec_from_file_location("make_synthetic_data",
                                                  SIR / "make_synthetic_data.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _snapshot() -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(SIR)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(SIR.rglob("*"))}


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    """Run the five steps once; return the output folders (and check examples/ is untouched)."""
    before = _snapshot()
    out = tmp_path_factory.mktemp("sir")
    cal, scen, unc, sens, rep, fit = (out / n for n in ("cal", "scen", "unc", "sens", "report",
                                                        "unc-fit"))
    record = str(cal / "calibration.json")
    steps = [
        ["calibrate", str(SIR / "calibration.toml"), "--out", str(cal), "--no-plots"],
        ["scenarios", "run", str(SIR / "scenarios"), "--params", record, "--out", str(scen)],
        ["uncertainty", str(SIR / "uncertainty.toml"), "--params", record, "--members", "40",
         "--out", str(unc), "--no-progress"],
        # 3b: the same spec, the parameters drawn from the fit's covariance
        ["uncertainty", str(SIR / "uncertainty.toml"), "--from-calibration", record,
         "--members", "200", "--out", str(fit), "--no-progress"],
        ["sensitivity", str(SIR / "sensitivity.toml"), "--params", record, "--scenario",
         str(SIR / "scenarios" / "combined.toml"), "--n", "32", "--out", str(sens),
         "--no-progress"],
        # the pipeline chains the same steps; --params reuses the calibration above
        ["pipeline", str(SIR / "study.toml"), "--params", record, "--out", str(rep),
         "--members", "20", "--sensitivity-n", "8", "--no-progress"],
        ["report", "--name", "rerendered", "--results", str(rep / "data"), "--config",
         str(SIR / "report.toml"), "--root", str(out)],
    ]
    for argv in steps:
        assert main(argv) == 0, argv
    assert _snapshot() == before, "the study wrote into examples/sir"
    return {"cal": cal, "scen": scen, "unc": unc, "sens": sens, "report": rep,
            "rerendered": out / "rerendered", "unc-fit": fit}


def test_shipped_data_are_what_the_script_makes():
    gen = _generator()
    shipped = pd.read_csv(SIR / "synthetic_cases.csv")
    made = gen.synthetic_cases()
    pd.testing.assert_frame_equal(shipped, made, check_dtype=False)
    assert shipped["source"].str.startswith("synthetic: examples/sir/make_synthetic_data.py, "
                                            f"seed {gen.SEED}").all()


def test_calibration_recovers_the_true_parameters(study):
    true = _generator().TRUE
    fitted = {k: v["value"] for k, v in
              json.loads((study["cal"] / "calibration.json").read_text())["parameters"].items()}
    assert set(fitted) == set(true)
    for name, value in true.items():
        assert fitted[name] == pytest.approx(value, rel=PARAM_TOL), name
    r0 = fitted["Transmission rate"] * fitted["Infectious duration"]
    assert r0 == pytest.approx(true["Transmission rate"] * true["Infectious duration"],
                               rel=R0_TOL)


def test_scenario_tables_hold_the_named_outputs(study):
    final = {}
    for name in SCENARIOS:
        table = pd.read_parquet(study["scen"] / f"{name}.parquet")
        assert set(table.index) == OUTPUTS
        cum = table.loc["Cumulative infections"].set_index("time")["value"]
        final[name] = float(cum.iloc[-1])
    # each intervention lowers the number ever infected; both together lower it most
    assert final["combined"] < min(final["school_closure"], final["vaccination"])
    assert max(final["school_closure"], final["vaccination"]) < final["baseline"]


def test_uncertainty_bands_are_ordered(study):
    bands = pd.read_csv(study["unc"] / "bands.csv")
    wide = bands.pivot_table(index=["variable", "time"], columns="quantile", values="value")
    assert set(wide.index.get_level_values("variable")) == {
        "Reported cases", "Infectious", "Cumulative infections"}
    assert (wide[0.05] <= wide[0.5]).all() and (wide[0.5] <= wide[0.95]).all()
    assert (wide[0.05] < wide[0.95]).any()          # the parameters do vary
    assert len(pd.read_csv(study["unc"] / "samples.csv")) == 40


def test_uncertainty_from_the_calibration_record(study):
    """``--from-calibration``: members follow the fit's joint covariance (the strong negative
    correlation of the two parameters survives), so the bands are narrower than those of the
    independent uniform ranges of the spec (about +-3 standard errors each)."""
    rec = json.loads((study["cal"] / "calibration.json").read_text())
    samples = pd.read_csv(study["unc-fit"] / "samples.csv", index_col="member")
    a, b = "Transmission rate", "Infectious duration"
    r = rec["correlation"][a][b]
    assert r < -0.9
    assert samples[a].corr(samples[b]) == pytest.approx(r, abs=0.05)
    for name in (a, b):
        p = rec["parameters"][name]
        assert samples[name].std() == pytest.approx(p["stderr"], rel=0.25)
    assert "calibration.json" in (study["unc-fit"] / "provenance.txt").read_text()

    def width(folder):
        bands = pd.read_csv(study[folder] / "bands.csv")
        cum = bands[(bands["variable"] == "Cumulative infections") & (bands["time"] == 120)]
        q = cum.set_index("quantile")["value"]
        return q[0.95] - q[0.05]

    assert width("unc-fit") < width("unc")


def test_sobol_indices_are_in_range_and_transmission_dominates(study):
    table = pd.read_csv(study["sens"] / "indices.csv")
    for col in ("S1", "ST"):
        # estimates with N = 32 scatter: each lies in [0, 1] up to its own 95 % half-width
        assert (table[col] >= -table[f"{col}_conf"]).all(), col
        assert (table[col] <= 1 + table[f"{col}_conf"]).all(), col
    for outcome in ("peak infectious", "ever infected by day 120"):
        rows = table[table["outcome"] == outcome]
        assert rows.loc[rows["rank"] == 1, "factor"].tolist() == ["Transmission rate"]


@pytest.mark.parametrize("folder", ["report", "rerendered"])
def test_report_names_the_data_synthetic(study, folder):
    html = (study[folder] / "index.html").read_text(encoding="utf-8")
    assert "SIR example on SYNTHETIC data" in html
    assert "SYNTHETIC DATA: the observed cases (synthetic_cases.csv) are NOT observations" in html
    assert np.isfinite(pd.read_csv(study["report"] / "data" / "summary.csv")
                       .select_dtypes("number").to_numpy()).all()
