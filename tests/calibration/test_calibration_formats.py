"""Calibration data layouts for any model: SIR fitted to SYNTHETIC data.

The data are made here, by running tests/models/SIR.mdl with known
parameters and adding seeded 1 % noise: synthetic, not observed. Each layout
(wide CSV, long CSV, Vensim tab export, Vensim comma export) is written from
the same synthetic points, fitted with ``sdkit calibrate``, and must recover
the known parameters.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from sdkit import DataError, SpecError, read_problem
from sdkit.calibration.data import DataSpec, load_data
from sdkit.cli import main
from sdkit.engine.simulate import simulate

MODELS = Path(__file__).resolve().parents[1] / "models"
SIR = MODELS / "SIR.mdl"
TRUE = {"Contact Infectivity": 0.42, "Duration": 4.0}
SOURCE = "synthetic: SIR.mdl run with Contact Infectivity 0.42, Duration 4, 1 % noise (seed 14)"
TIMES = np.arange(0.0, 61.0, 2.0)
VARIABLES = ("Infectious", "Recovered")


@pytest.fixture(scope="module")
def synthetic() -> dict[str, np.ndarray]:
    """SYNTHETIC observations: the model at known parameters, times (1 + 1 % noise)."""
    run = simulate(SIR, TRUE, outputs=list(VARIABLES))
    rng = np.random.default_rng(14)
    out = {}
    for v in VARIABLES:
        exact = np.interp(TIMES, run.index.to_numpy(float), run[v].to_numpy(float))
        out[v] = exact * (1 + 0.01 * rng.standard_normal(TIMES.size))
    return out


def write_wide(folder: Path, data) -> Path:
    lines = ["time," + ",".join(VARIABLES)]
    lines += [f"{t:g}," + ",".join(f"{data[v][i]:.6f}" for v in VARIABLES)
              for i, t in enumerate(TIMES)]
    path = folder / "sir_synthetic_wide.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_long(folder: Path, data, unit: str = "Persons") -> Path:
    lines = ["time,variable,value,unit,source"]
    lines += [f'{t:g},{v},{data[v][i]:.6f},{unit},"{SOURCE}"'
              for v in VARIABLES for i, t in enumerate(TIMES)]
    path = folder / "sir_synthetic_long.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_vensim(folder: Path, data, sep: str = "\t") -> Path:
    lines = [sep.join(["Time", *(f"{t:g}" for t in TIMES)])]
    lines += [sep.join([v, *(f"{x:.6f}" for x in data[v])]) for v in VARIABLES]
    path = folder / ("sir_synthetic.tab" if sep == "\t" else "sir_synthetic_vensim.csv")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_spec(folder: Path, data_file: Path, fmt: str, extra: str = "") -> Path:
    source = "" if fmt == "long" else f', source = "{SOURCE}"'
    spec = folder / "sir_synthetic.toml"
    spec.write_text(f"""# SIR fitted to SYNTHETIC data (made by the test from the model itself)
model = "{SIR}"
data = {{ file = "{data_file.name}", format = "{fmt}"{source} }}
notes = "Synthetic data: {SOURCE}."

[fit]
method = "least_squares"

[[parameters]]
variable = "Contact Infectivity"
lower = 0.1
upper = 1.0
initial = 0.3

[[parameters]]
variable = "Duration"
lower = 1.0
upper = 10.0
initial = 6.0
{extra}""", encoding="utf-8")
    return spec


WRITERS = {
    "wide": lambda f, d: write_wide(f, d),
    "long": lambda f, d: write_long(f, d),
    "vensim": lambda f, d: write_vensim(f, d),
    "vensim-comma": lambda f, d: write_vensim(f, d, ","),
}


@pytest.mark.parametrize("layout", sorted(WRITERS))
def test_sir_synthetic_fit_recovers_known_parameters(layout, synthetic, tmp_path, capsys):
    data_file = WRITERS[layout](tmp_path, synthetic)
    spec = write_spec(tmp_path, data_file, layout.split("-")[0])
    out = tmp_path / "out"
    assert main(["calibrate", str(spec), "--out", str(out), "--no-plots", "--no-profile"]) == 0
    record = json.loads((out / "calibration.json").read_text(encoding="utf-8"))
    values = {k: p["value"] for k, p in record["parameters"].items()}
    assert values["Contact Infectivity"] == pytest.approx(TRUE["Contact Infectivity"], rel=0.02)
    assert values["Duration"] == pytest.approx(TRUE["Duration"], rel=0.02)
    assert [t["name"] for t in record["targets"]] == list(VARIABLES)
    sources = {t["source"] for t in record["targets"]}
    assert sources == {SOURCE}  # every number keeps its (synthetic) source
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "| Infectious | fit | 31 |" in report and SOURCE in report


def test_the_layouts_read_the_same_points(synthetic, tmp_path):
    tables = {name: load_data(DataSpec(str(w(tmp_path, synthetic)))) for name, w in
              WRITERS.items()}  # format "auto": told from the header
    assert {name: t.format for name, t in tables.items()} == {
        "wide": "wide", "long": "long", "vensim": "vensim", "vensim-comma": "vensim"}
    for t in tables.values():
        inf = t.find("Infectious")[0]
        assert inf.times == tuple(TIMES)
        assert inf.values == pytest.approx(synthetic["Infectious"], rel=1e-6)
    assert tables["long"].find("Infectious")[0].unit == "Persons"
    assert tables["wide"].find("Recovered")[0].at[3] == "line 5, column 3"


def test_wide_columns_with_elements_and_missing_cells(tmp_path):
    path = tmp_path / "w.csv"
    path.write_text("year,Output[A],Output[B]\n2010,1,\n2011,2,5\n", encoding="utf-8")
    table = load_data(DataSpec(str(path)))
    a, b = table.series
    assert (a.name, a.element, a.times, a.values) == ("Output", "A", (2010.0, 2011.0), (1, 2))
    assert (b.element, b.times) == ("B", (2011.0,))  # the empty cell is a missing point
    assert a.source == "file w.csv"


def test_variables_map_data_series_to_model_variables(synthetic, tmp_path):
    path = tmp_path / "cases.csv"
    path.write_text("day,cases\n" + "".join(
        f"{t:g},{x:.6f}\n" for t, x in zip(TIMES, synthetic["Infectious"])), encoding="utf-8")
    spec = write_spec(tmp_path, path, "wide")
    text = spec.read_text(encoding="utf-8").replace(
        'format = "wide"', 'format = "wide", variables = { cases = "Infectious" }')
    spec.write_text(text, encoding="utf-8")
    problem = read_problem(spec)
    assert [(t.name, t.indicator) for t in problem.targets] == [("Infectious", "cases")]


def test_ambiguous_layout_is_refused_naming_the_columns(tmp_path):
    path = tmp_path / "city.csv"
    path.write_text("city,year,indicator,value,unit,source\nA,2010,gdp,1,x,s\n",
                    encoding="utf-8")
    with pytest.raises(DataError, match=r"city\.csv: line 1: cannot tell the layout from the "
                                        r"columns \(city, year, indicator, value, unit, source"):
        load_data(DataSpec(str(path)))


def test_bad_data_table_in_spec(tmp_path):
    path = write_spec(tmp_path, tmp_path / "x.csv", "wide").read_text(encoding="utf-8")
    bad = tmp_path / "bad.toml"
    bad.write_text(path.replace('format = "wide"', 'format = "xlsx"'), encoding="utf-8")
    with pytest.raises(SpecError, match=r"bad\.toml: data: format 'xlsx' unknown"):
        read_problem(bad)


def test_vensim_export_with_trailing_tabs(synthetic, tmp_path):
    path = write_vensim(tmp_path, synthetic)
    path.write_text("".join(line + "\t\n" for line in path.read_text().splitlines()))
    table = load_data(DataSpec(str(path), format="vensim"))
    assert table.find("Recovered")[0].times == tuple(TIMES)


@pytest.mark.parametrize("unit, ok", [
    ("Persons/Day", True),   # the flow's own units
    ("Persons", True),       # its total over one time unit (a daily count)
    ("Days", False),
])
def test_unit_of_a_flow_against_the_model(unit, ok, tmp_path):
    """Data of SYNTHETIC values for the flow Succumbing (Persons/Day) in three units."""
    from sdkit.calibration.fit import check_names

    path = tmp_path / "flow.csv"
    path.write_text("time,variable,value,unit,source\n" + "".join(
        f"{t},Succumbing,{v},{unit},synthetic\n" for t, v in ((0, 1.5), (5, 4.0), (10, 9.0))),
        encoding="utf-8")
    spec = tmp_path / "flow.toml"
    spec.write_text(f'model = "{SIR}"\ndata = "flow.csv"\n\n[[parameters]]\n'
                    'variable = "Duration"\nlower = 1.0\nupper = 10.0\n', encoding="utf-8")
    problem = read_problem(spec)
    if ok:
        check_names(problem)
    else:
        with pytest.raises(DataError, match=r"flow\.csv: line 2: unit 'Days' of Succumbing does "
                                            r"not match the model's units 'Persons/Day'"):
            check_names(problem)
