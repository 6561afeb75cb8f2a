"""The report folder: contents, tables, refusal to overwrite, re-rendering."""

from __future__ import annotations

import base64
import dataclasses
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from sdkit import OutputError
from sdkit.cli import main
from sdkit.workflow.pipeline import run_pipeline
from sdkit.workflow.study import Study


def test_report_folder_contents(mini_report):
    out, _, _ = mini_report
    names = {p.name for p in (out / "figures").iterdir()}
    for slug in ("scenarios_gdp", "scenarios_co2_emissions", "fan_gdp", "fan_co2_emissions",
                 "peak_probability", "sensitivity_levers", "tradeoff", "specialization"):
        assert f"{slug}.png" in names and f"{slug}.svg" in names
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")]  # no temp left
    md = (out / "report.md").read_text()
    assert "## Findings" in md and "### Trade-off of the levers" in md
    assert "| Green lever | Yichang |" in md
    assert "GDP revision" in md or "economic census revision" in md  # data README caveats
    assert "pandemic" in md.lower()
    assert "ASSUMPTION" in md and "Mini model: numbers are illustrative only." in md
    assert "model_sha256" in md
    assert "Calibration skipped" in md


def test_summary_and_data_tables(mini_report):
    out, _, _ = mini_report
    summary = pd.read_csv(out / "data" / "summary.csv")
    assert len(summary) == 2 * 2
    assert {"GDP 2035 [100 million CNY/yr]", "CO2 peak year"} <= set(summary.columns)
    green = summary[(summary["scenario"] == "Green lever") & (summary["City"] == "Yichang")]
    base = summary[(summary["scenario"] == "Baseline") & (summary["City"] == "Yichang")]
    assert green["CO2 peak year"].item() == "2029"
    assert base["CO2 peak year"].item() == "not by horizon"
    bands = pd.read_parquet(out / "data" / "bands.parquet")
    wide = bands.reset_index().pivot_table(index=["variable", "scenario", "City", "time"],
                                           columns="quantile", values="value")
    assert (wide[0.05] <= wide[0.5]).all() and (wide[0.5] <= wide[0.95]).all()
    scen = pd.read_parquet(out / "data" / "scenarios.parquet")
    assert scen.attrs["model_sha256"] and scen.attrs["sdkit_version"]
    head = pd.read_csv(out / "data" / "headline.csv", index_col=0)
    assert head.loc["Baseline", "GDP 2035 vs baseline [%]"] == 0
    # the green lever lowers cumulative emissions of both cities together
    assert head.loc["Green lever", "cumulative CO2 2021-2060 vs baseline [%]"] < 0
    total = summary[summary["scenario"] == "Green lever"]["GDP 2035 [100 million CNY/yr]"].sum()
    assert head.loc["Green lever", "GDP 2035"] == pytest.approx(total)
    probs = pd.read_csv(out / "data" / "peak_probability.csv")
    shares = probs[["share peaking before 2030", "share already peaked"]]
    assert len(probs) == 2 * 2 and ((shares >= 0) & (shares <= 1)).all().all()
    # a member peaks in the projection or had already peaked, never both
    assert (shares.sum(axis=1) <= 1).all()


def test_images_are_embedded_pngs(mini_report):
    html = (mini_report[0] / "index.html").read_text()
    srcs = re.findall(r'<img src="([^"]+)"', html)
    assert len(srcs) >= 7
    for src in srcs:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    assert 'id="summary-table"' in html and "<table" in html
    assert "http://" not in html and "https://" not in html  # opens offline


def test_never_overwrites_without_permission(mini_report, mini_setup):
    out, config, scen = mini_report
    before = (out / "index.html").stat().st_mtime_ns
    with pytest.raises(OutputError, match="exists"):
        run_pipeline(Study(report=config, scenarios=scen, out=out, calibrate=False),
                     log=None, members=0, sensitivity_n=0)
    assert (out / "index.html").stat().st_mtime_ns == before


def test_rerender_from_stored_results(mini_report, tmp_path, capsys):
    out, config, _ = mini_report
    args = ["report", "--name", "again", "--root", str(tmp_path), "--results",
            str(out / "data"), "--config", str(config)]
    assert main(args) == 0
    again = tmp_path / "again"
    md = (again / "report.md").read_text()
    assert "re_rendered_from" in md and "| Green lever | Yichang |" in md
    assert main(args) == 2 and "exists" in capsys.readouterr().err


def test_overwrite_replaces_the_whole_folder(mini_report, tmp_path, undrawn):
    from sdkit.report import read_report_config, write_report
    from sdkit.report.results import load_inputs

    out, config, _ = mini_report
    full = load_inputs(out / "data", read_report_config(config))
    small = dataclasses.replace(full, ensembles={}, sensitivity=None, specialization=None,
                                config=dataclasses.replace(full.config,
                                                           indicators=full.config.indicators[:1]))
    target = tmp_path / "r"
    write_report(small, target)
    (target / "stale.txt").write_text("from an older report")
    with pytest.raises(OutputError):
        write_report(small, target)
    write_report(small, target, overwrite=True)
    assert not (target / "stale.txt").exists()
    assert sorted(p.name for p in (target / "figures").iterdir()) == [
        "scenarios_gdp.png", "scenarios_gdp.svg", "tradeoff.png", "tradeoff.svg"]
    assert "No Monte Carlo run in this report." in (target / "report.md").read_text()
    assert [p.name for p in tmp_path.iterdir()] == ["r"]  # no temporary folders left


def test_calibration_section_and_fit_figure(mini_report, tmp_path):
    from types import SimpleNamespace

    from sdkit.report import read_report_config, write_report
    from sdkit.report.results import load_inputs

    out, config, _ = mini_report
    full = load_inputs(out / "data", read_report_config(config))
    params = pd.DataFrame({"value": [0.061], "stderr": [0.004]},
                          index=pd.Index(["Growth rate[Yichang]"], name="parameter"))
    stats = pd.DataFrame({"target": ["GDP[Yichang]"], "sample": ["fit"], "MAPE": [0.021]})
    ovs = pd.DataFrame({"target": ["GDP[Yichang]"] * 3 + ["Patents[Yichang]"],
                        "time": [2010.0, 2011.0, 2012.0, 2021.0],
                        "observed": [100.0, 107.0, 111.0, 7093.0],
                        "simulated": [100.0, 106.0, 112.4, 7093.0],
                        "sample": ["fit", "fit", "holdout", "fit"]})
    calib = SimpleNamespace(to_frame=lambda: params, statistics=stats,
                            observed_vs_simulated=ovs)
    small = dataclasses.replace(full, ensembles={}, sensitivity=None, specialization=None,
                                calibration=calib,
                                config=dataclasses.replace(full.config,
                                                           indicators=full.config.indicators[:1]))
    write_report(small, tmp_path / "c")
    md = (tmp_path / "c" / "report.md").read_text()
    assert "### Parameters" in md and "| Growth rate[Yichang] | 0.061 | 0.004 |" in md
    assert "### Statistics" in md and "0.021" in md
    assert list((tmp_path / "c" / "figures").glob("calibration*.png"))
    again = load_inputs(tmp_path / "c" / "data", small.config)
    assert again.calibration.to_frame().loc["Growth rate[Yichang]", "value"] == 0.061


def test_folder_gets_the_usual_permissions(mini_report, tmp_path, undrawn):
    import os
    import stat

    from sdkit.report import read_report_config, write_report
    from sdkit.report.results import load_inputs

    out, config, _ = mini_report
    full = load_inputs(out / "data", read_report_config(config))
    small = dataclasses.replace(full, ensembles={}, sensitivity=None, specialization=None)
    old = os.umask(0o027)
    try:
        write_report(small, tmp_path / "p")
    finally:
        os.umask(old)
    # mkdtemp makes 0700; the renamed folder must follow the umask like any mkdir
    assert stat.S_IMODE((tmp_path / "p").stat().st_mode) == 0o750
    assert stat.S_IMODE(out.stat().st_mode) == 0o777 & ~old


def test_indicator_scale_changes_shown_units_only(mini_report, tmp_path):
    from sdkit.report import read_report_config, write_report
    from sdkit.report.config import Indicator
    from sdkit.report.results import load_inputs

    out, config, _ = mini_report
    full = load_inputs(out / "data", read_report_config(config))
    shown = Indicator("Carbon intensity", "Carbon intensity", "t CO2 per 10,000 CNY", 100.0)
    cfg = dataclasses.replace(full.config, indicators=(*full.config.indicators, shown))
    write_report(dataclasses.replace(full, config=cfg, sensitivity=None), tmp_path / "s")
    summary = pd.read_csv(tmp_path / "s" / "data" / "summary.csv")
    col = "Carbon intensity 2035 [t CO2 per 10,000 CNY]"
    row = summary[(summary["scenario"] == "Green lever") & (summary["City"] == "Yichang")]
    model_value = float(full.scenarios["Carbon intensity"].sel(scenario="green", City="Yichang",
                                                               time=2035))
    assert row[col].item() == pytest.approx(100 * model_value)
    bands = pd.read_parquet(tmp_path / "s" / "data" / "bands.parquet").reset_index()
    b = bands[(bands["variable"] == "Carbon intensity") & (bands["scenario"] == "green")
              & (bands["City"] == "Yichang") & (bands["time"] == 2035)
              & (bands["quantile"] == 0.5)]["value"].item()
    ens = full.ensembles["green"]["Carbon intensity"].sel(City="Yichang", time=2035)
    assert b == pytest.approx(100 * float(ens.median("member")))
    # the stored runs keep the model's units, so re-rendering does not scale twice
    again = load_inputs(tmp_path / "s" / "data", cfg)
    assert float(again.scenarios["Carbon intensity"].sel(scenario="green", City="Yichang",
                                                         time=2035)) == pytest.approx(model_value)
    assert "Carbon intensity by scenario (t CO2 per 10,000 CNY)" in (
        tmp_path / "s" / "figures" / "scenarios_carbon_intensity.svg").read_text()


def _section(md: str, head: str) -> str:
    return md.split(f"## {head}\n", 1)[1].split("\n## ", 1)[0]


def test_rerender_without_members_keeps_every_section(mini_report, tmp_path, undrawn):
    """The committed data (no ensemble_*.nc) re-render every figure and the same findings."""
    out, config, _ = mini_report
    data = tmp_path / "data"
    shutil.copytree(out / "data", data, ignore=shutil.ignore_patterns("ensemble_*.nc"))
    assert not list(data.glob("ensemble_*"))
    assert main(["report", "--name", "lean", "--root", str(tmp_path), "--results", str(data),
                 "--config", str(config)]) == 0
    lean = tmp_path / "lean"
    assert sorted(p.name for p in (lean / "figures").iterdir()) == sorted(
        p.name for p in (out / "figures").iterdir())
    md, before = (lean / "report.md").read_text(), (out / "report.md").read_text()
    assert _section(md, "Findings") == _section(before, "Findings")
    assert "Monte Carlo members: Baseline: 24, Green lever: 24" in md
    for name in ("robustness.csv", "peak_probability.csv", "tradeoff.csv"):
        assert (pd.read_csv(lean / "data" / name).round(12)
                .equals(pd.read_csv(out / "data" / name).round(12))), name


def test_committed_iis_page_is_self_contained_and_under_5_mib():
    page = Path(__file__).resolve().parents[2] / "reports" / "iis" / "index.html"
    text = page.read_text(encoding="utf-8")
    assert page.stat().st_size < 5 * 2**20, f"{page}: {page.stat().st_size / 2**20:.1f} MiB"
    images = re.findall(r'<img[^>]*src="([^"]*)"', text)
    assert len(images) >= 20 and all(src.startswith("data:image/png;base64,") for src in images)
