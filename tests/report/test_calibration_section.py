"""The planner report's calibration section: readable labels, units, layout, warnings.

The section is rendered from the committed IIS calibration record
(calibration/results/iis/calibration.json) put into the mini report, so the
labels, units and sources are the real ones; warnings are added the way
``sdkit calibrate`` words them.
"""

from __future__ import annotations

import dataclasses
import re
import shutil
from itertools import combinations
from pathlib import Path

import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg

from sdkit.cli import main
from sdkit.report import read_report_config, write_report
from sdkit.report.calibration_figures import calibration_fit_figures
from sdkit.report.calibration_tables import (
    calibration_section,
    calibration_targets,
    guess_targets,
    targets_from_record,
)
from sdkit.report.figures import figure_bytes
from sdkit.report.fonts import figure_fonts
from sdkit.report.results import StoredCalibration, load_inputs

ROOT = Path(__file__).resolve().parents[2]
RECORD = ROOT / "calibration" / "results" / "iis" / "calibration.json"
WARNINGS = ("Catch up speed[Enshi] = 0.002 is at its lower bound",
            "Lending rate[Yichang] and Target compliance[Yichang] are strongly correlated "
            "(+0.971); the data may not separate them")


@pytest.fixture(scope="module")
def record():
    return StoredCalibration.from_record(RECORD)


def _indicators(calib) -> set[str]:
    """The data file's internal series names (e.g. ``co2_emissions_CEADs_city``)."""
    return {i for i in calib.targets["indicator"] if "_" in i}


def test_fit_figures_have_units_labels_and_no_overlapping_titles(record):
    ovs, targets = record.observed_vs_simulated, record.targets
    figures = calibration_fit_figures(ovs, targets)
    variables = list(dict.fromkeys(targets["variable"]))
    assert [title for _, title, _, _ in figures] == [
        f"Calibration fit: {v}" for v in variables]  # one figure per model variable
    internal = _indicators(record)
    assert internal  # the record does use internal names: the check below can fail
    for slug, _, caption, fig in figures:
        figure_bytes(fig)  # draws; filterwarnings=error catches a missing glyph
        texts = [t.get_text() for t in fig.findobj(lambda a: hasattr(a, "get_text"))]
        assert not any(name in t for t in texts + [caption] for name in internal), slug
        axes = [ax for ax in fig.axes if ax.get_visible()]
        units = set(targets.loc[targets["variable"] == slug_variable(slug, variables), "unit"])
        assert any(f"[{u}]" in axes[0].get_ylabel() for u in units), (slug, units)
        canvas = FigureCanvasAgg(fig)
        with figure_fonts(fig):
            canvas.draw()  # constrained layout runs here
        renderer = canvas.get_renderer()
        titles = [ax.title.get_window_extent(renderer) for ax in axes]
        panels = [ax.get_window_extent(renderer) for ax in axes]
        decorated = [ax.get_tightbbox(renderer) for ax in axes]  # with tick labels
        for a, b in combinations(titles, 2):
            assert not a.overlaps(b), slug
        for title in titles:
            assert not any(title.overlaps(p) for p in panels), slug
        legend = fig.legends[0].get_window_extent(renderer)
        assert not any(legend.overlaps(d) for d in decorated), slug


def slug_variable(slug: str, variables: list[str]) -> str:
    return next(v for v in variables
                if slug == "calibration_" + re.sub(r"[^a-z0-9]+", "_", v.lower()).strip("_"))


def test_target_labels_mark_the_second_source(record):
    table = targets_from_record([{"name": "CO2[a] vs x_y (not fitted)", "variable": "CO2[a]",
                                  "indicator": "x_y", "unit": "Mt", "weight": 0.0},
                                 {"name": "CO2[a]", "variable": "CO2[a]", "indicator": "z_w",
                                  "unit": "Mt", "weight": 1.0}])
    assert list(table["label"]) == ["CO2: second data source (not fitted)", "CO2"]
    assert list(table["element"]) == ["a", "a"] and list(table["fitted"]) == [False, True]
    assert calibration_targets(record) is record.targets
    guessed = guess_targets(record.observed_vs_simulated)  # results stored without labels
    assert list(guessed["target"]) == list(record.targets["target"])
    assert list(guessed["label"]) == list(record.targets["label"])
    assert list(guessed["element"]) == list(record.targets["element"])
    section = calibration_section(dataclasses.replace(record, targets=None))
    assert not any(name in " ".join(section["statistics"]["series"])
                   for name in _indicators(record))
    assert section["data series"] is None  # no units or sources to list


def _section(text: str, start: str, stop: str) -> str:
    begin = text.index(start)
    return text[begin:text.index(stop, begin + len(start))]


def test_section_shows_labels_units_warnings_and_rerenders(mini_report, record, tmp_path,
                                                         undrawn):
    out, config, _ = mini_report
    full = load_inputs(out / "data", read_report_config(config))
    calib = dataclasses.replace(record, warnings=WARNINGS)
    write_report(dataclasses.replace(full, calibration=calib), tmp_path / "c")
    html = (tmp_path / "c" / "index.html").read_text(encoding="utf-8")
    md = (tmp_path / "c" / "report.md").read_text(encoding="utf-8")
    part = _section(html, '<h2 id="calibration">', "<h2 ")
    assert 'id="calibration-warnings"' in part
    for w in WARNINGS:
        assert w in part and f"- {w}" in md
    for table in ("Fit overview", "Statistics"):  # readable series names, not data columns
        body = _section(part, f"<h3>{table}</h3>", "</table>")
        assert not any(name in body for name in _indicators(record)), table
        assert "second data source (not fitted)" in body or table == "Fit overview"
    assert "<h3>Data series</h3>" in part and "Mt CO2" in part and "亿元" in part
    assert len(re.findall(r'<figure id="fig-calibration_', part)) == record.targets[
        "variable"].nunique()
    # re-rendered from the report's own data/: the same section, warnings included
    again = load_inputs(tmp_path / "c" / "data", full.config)
    assert again.calibration.warnings == WARNINGS
    write_report(again, tmp_path / "d")
    html2 = (tmp_path / "d" / "index.html").read_text(encoding="utf-8")
    assert _section(html2, '<h2 id="calibration">', "<h2 ") == part


def test_without_stored_warnings_the_section_says_so(mini_report, record, tmp_path,
                                                     undrawn):
    out, config, _ = mini_report
    full = load_inputs(out / "data", read_report_config(config))
    write_report(dataclasses.replace(full, calibration=dataclasses.replace(
        record, warnings=None)), tmp_path / "n")
    html = (tmp_path / "n" / "index.html").read_text(encoding="utf-8")
    assert "warnings of the fit were not stored" in html
    write_report(dataclasses.replace(full, calibration=dataclasses.replace(
        record, warnings=())), tmp_path / "e")
    html = (tmp_path / "e" / "index.html").read_text(encoding="utf-8")
    assert "The fit gave no warnings" in html


def test_cli_names_every_section_it_cannot_render(mini_report, tmp_path, capsys, undrawn):
    out, config, _ = mini_report
    data = tmp_path / "data"
    shutil.copytree(out / "data", data, ignore=shutil.ignore_patterns(
        "ensemble_*.nc", "bands.parquet", "sensitivity.csv", "peak_probability.csv"))
    args = ["report", "--name", "gaps", "--root", str(tmp_path), "--results", str(data),
            "--config", str(config)]
    assert main(args) == 0
    err = capsys.readouterr().err.splitlines()
    lines = [line for line in err if line.startswith("sdkit report: ")]
    sections = [line.split(":")[1].strip() for line in lines]
    assert sections == ["Uncertainty", "Sensitivity", "Calibration"], err
    assert "bands.parquet" in lines[0] and "sensitivity.csv" in lines[1]
    assert "calibration_parameters.csv" in lines[2]
    assert not list((tmp_path / "gaps" / "figures").glob("fan_*"))
    # with the compact bands back, only the removed table is named
    shutil.copy(out / "data" / "bands.parquet", data / "bands.parquet")
    assert main([*args, "--overwrite"]) == 0
    lines = [line for line in capsys.readouterr().err.splitlines()
             if line.startswith("sdkit report: Uncertainty")]
    assert len(lines) == 1 and "peak_probability.csv missing" in lines[0]
