"""Calibration problems: dataclasses and TOML specs, good and bad."""

from __future__ import annotations

from pathlib import Path

import pytest

from sdkit import CalibrationProblem, Parameter, SpecError, read_problem
from sdkit.calibration import Target

MODELS = Path(__file__).resolve().parents[1] / "models"
CITIES = ("Yichang", "Jingzhou", "Jingmen", "Enshi")


def write_data(folder: Path) -> Path:
    """A small synthetic table in the city_stats format (not observed data)."""
    rows = ["city,year,indicator,value,unit,source"]
    for i, city in enumerate(CITIES):
        for year in range(2010, 2022):
            rows.append(f"{city},{year},gdp,{100 * (i + 1) * 1.05 ** (year - 2010):.6f},"
                        "亿元,synthetic test data")
    path = folder / "data.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


SPEC = f"""
model = "{MODELS / 'decay_city.mdl'}"
data = "data.csv"
notes = "Synthetic data grow 5 %/yr."
elements = ["Yichang", "Jingzhou", "Jingmen", "Enshi"]

[fit]
start = 2010
stop = 2018
method = "multistart"
options = {{ n_starts = 3 }}

[fixed]
Intensity = 0.03

[[parameters]]
name = "g"
variable = "Growth Rate"
per_element = true
lower = 0.0
upper = 0.3
initial = 0.05
profile = true

[[parameters]]
variable = "Initial Output"
elements = ["Yichang", "Jingzhou", "Jingmen", "Enshi"]
lower = 10.0
upper = 1000.0

[[targets]]
variable = "Output"
indicator = "gdp"
scale = 1.0
"""


def spec_file(tmp_path: Path, text: str = SPEC) -> Path:
    write_data(tmp_path)
    path = tmp_path / "spec.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_read_problem_expands_per_element_parameters(tmp_path):
    problem = read_problem(spec_file(tmp_path))
    assert problem.names == [*(f"g[{c}]" for c in CITIES),
                             *(f"Initial Output[{c}]" for c in CITIES)]
    assert problem.parameters[0].key == "Growth Rate[Yichang]"
    assert problem.parameters[0].profile
    assert problem.parameters[7].initial == pytest.approx(505.0)  # midpoint by default
    assert [t.name for t in problem.targets] == [f"Output[{c}]" for c in CITIES]
    assert problem.targets[1].values[0] == pytest.approx(200.0)
    assert problem.method == "multistart" and problem.options == {"n_starts": 3}
    assert problem.fixed == {"Intensity": 0.03}
    assert (problem.start, problem.stop) == (2010.0, 2018.0)


@pytest.mark.parametrize("old, new, message", [
    ("lower = 0.0\nupper = 0.3", "lower = 0.3\nupper = 0.0",
     r"parameters\[0\]: lower \(0.3\) must be < upper \(0.0\); bounds are never swapped"),
    ("initial = 0.05", "initial = 0.5", r"parameters\[0\]: initial 0.5 is outside"),
    ('method = "multistart"', 'method = "annealing"', "method 'annealing' unknown"),
    ('indicator = "gdp"', 'indicator = "gdp_nominal"', r"targets\[0\]: indicator 'gdp_nominal'"),
    ('lower = 10.0', 'lower = "ten"', r"parameters\[1\]: 'lower' must be float"),
    ('variable = "Output"', 'varable = "Output"', r"targets\[0\]: unknown key\(s\) 'varable'"),
    ('profile = true', 'profile = true\nstep = 2', r"parameters\[0\]: unknown key\(s\) 'step'"),
    ('stop = 2018', 'stop = 2000', "fit stop 2000.0 is before start 2010.0"),
])
def test_bad_specs_name_file_and_key(tmp_path, old, new, message):
    assert old in SPEC
    path = spec_file(tmp_path, SPEC.replace(old, new, 1))
    with pytest.raises(SpecError, match=message) as info:
        read_problem(path)
    assert str(path) in str(info.value)


def test_not_toml_and_missing_file(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("model = \n", encoding="utf-8")
    with pytest.raises(SpecError, match="not valid TOML"):
        read_problem(bad)
    with pytest.raises(SpecError, match="no such file"):
        read_problem(tmp_path / "none.toml")


def test_parameter_rejects_bad_bounds_in_python():
    with pytest.raises(SpecError, match="lower \\(2\\) must be < upper \\(1\\)"):
        Parameter("k", "K", 2, 1, 1.5)
    with pytest.raises(SpecError, match="initial 5 is outside"):
        Parameter("k", "K", 0, 1, 5)
    with pytest.raises(SpecError, match="must be finite"):
        Parameter("k", "K", 0, float("inf"), 0.5)


def test_problem_checks_names_and_point_count():
    p = Parameter("k", "K", 0, 1, 0.5)
    t = Target("y", "Y", (1.0,), (2.0,))
    with pytest.raises(SpecError, match="given twice"):
        CalibrationProblem("m.mdl", (p, p), (t,))
    with pytest.raises(SpecError, match="1 observed points in the fit window for 2"):
        CalibrationProblem("m.mdl", (p, Parameter("j", "J", 0, 1, 0.5)), (t,))
    with pytest.raises(SpecError, match="weight must be >= 0: -1"):
        Target("y", "Y", (1.0,), (2.0,), weight=-1)
    with pytest.raises(SpecError, match="every target has weight 0"):
        CalibrationProblem("m.mdl", (p,), (Target("y", "Y", (1.0,), (2.0,), weight=0),))
