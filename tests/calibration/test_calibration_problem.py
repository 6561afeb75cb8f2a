"""Calibration problems: dataclasses and TOML specs, good and bad."""

from __future__ import annotations

from pathlib import Path

import pytest

from sdkit import CalibrationProblem, Parameter, SpecError, read_problem
from sdkit.calibration import Target

MODELS = Path(__file__).resolve().parents[1] / "models"
CITIES = ("Yichang", "Jingzhou", "Jingmen", "Enshi")


def write_data(folder: Path) -> Path:
    """A small synthetic long table with city/year/indicator columns (not observed data)."""
    rows = ["city,year,indicator,value,unit,source"]
    for i, city in enumerate(CITIES):
        for year in range(2010, 2022):
            rows.append(f"{city},{year},gdp,{100 * (i + 1) * 1.05 ** (year - 2010):.6f},"
                        "Widgets,synthetic test data")
    path = folder / "data.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


SPEC = f"""
model = "{MODELS / 'decay_city.mdl'}"
data = {{ file = "data.csv", columns = {{ time = "year", element = "city", series = "indicator" }} }}
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
"""  # noqa: E501 - the data table is one TOML inline table


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


# -- issue 12: stocks, fit window, bounds and dt ------------------------------------------

def test_calibrating_a_stock_is_refused(tmp_path):
    from sdkit.calibration.fit import check_names

    text = SPEC.replace('variable = "Initial Output"', 'variable = "Output"', 1)
    problem = read_problem(spec_file(tmp_path, text))
    with pytest.raises(SpecError, match=r"parameter 'Output\[Yichang\]': 'Output' is a stock "
                                        r"\(INTEG\); .*calibrate the constant its initial "
                                        r"value reads") as info:
        check_names(problem)
    assert str(tmp_path / "spec.toml") in str(info.value)


def test_fixing_a_stock_is_refused(tmp_path):
    from sdkit.calibration.fit import check_names

    text = SPEC.replace("Intensity = 0.03", "Intensity = 0.03\nOutput = 5", 1)
    with pytest.raises(SpecError, match=r"fixed\.Output: 'Output' is a stock \(INTEG\)"):
        check_names(read_problem(spec_file(tmp_path, text)))


def test_fit_stop_after_final_time_is_refused(tmp_path):
    from sdkit.calibration.fit import check_names

    problem = read_problem(spec_file(tmp_path, SPEC.replace("stop = 2018", "stop = 2030")))
    with pytest.raises(SpecError, match=r"spec\.toml: fit\.stop 2030 is after the model's "
                                        r"FINAL TIME 2021 \(.*decay_city\.mdl\)"):
        check_names(problem)
    early = read_problem(spec_file(tmp_path, SPEC.replace("start = 2010", "start = 2000")))
    with pytest.raises(SpecError, match=r"fit\.start 2000 is before the model's INITIAL TIME"):
        check_names(early)


@pytest.mark.parametrize("old, new, message", [
    ("upper = 0.3", "upper = 1.7e308",
     r"parameters\[0\]: parameter 'g': upper 1\.7e\+308 is beyond \+/-1e\+15"),
    ("lower = 0.0", "lower = -1e16", r"parameters\[0\]: parameter 'g': lower -1e\+16 is beyond"),
    ("lower = 10.0\nupper = 1000.0", "lower = 1e10\nupper = 10000000001.0",
     r"parameters\[1\]: parameter 'Initial Output': bounds \[10000000000\.0, 10000000001\.0\] "
     r"span 1, less than 1e-09 of their size"),
    ("stop = 2018", "stop = 2018\ndt = 0", r"fit: 'dt' must be > 0: 0"),
    ("stop = 2018", "stop = 2018\ndt = -0.25", r"fit: 'dt' must be > 0: -0\.25"),
])
def test_unusable_bounds_and_dt_are_refused(tmp_path, old, new, message):
    assert old in SPEC
    path = spec_file(tmp_path, SPEC.replace(old, new, 1))
    with pytest.raises(SpecError, match=message) as info:
        read_problem(path)
    assert str(path) in str(info.value)


def test_parameter_refuses_huge_bounds_in_python():
    with pytest.raises(SpecError, match=r"parameter 'k': upper 1\.7e\+308 is beyond"):
        Parameter("k", "K", 0.0, 1.7e308, 0.5)
    with pytest.raises(SpecError, match=r"fit dt' must be > 0: 0"):
        CalibrationProblem("m.mdl", (Parameter("k", "K", 0, 1, 0.5),),
                           (Target("y", "Y", (1.0, 2.0), (2.0, 3.0)),), dt=0.0)
