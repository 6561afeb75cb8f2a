"""Units and structure checks: seeded errors are found, clean models pass."""

from __future__ import annotations

import pytest

import sdkit
from sdkit.cli import main
from sdkit.structure.unitexpr import UnitSpace, UnitsSyntaxError
from sdkit.structure.units import CheckReport, Finding, check_model


@pytest.fixture(scope="module")
def seeded(models_dir) -> CheckReport:
    return check_model(models_dir / "check" / "seeded_errors.mdl")


def test_unit_space_algebra():
    space = UnitSpace()
    assert space.parse("Persons/Persons/Day") == space.parse("1/Days")
    assert space.parse("Year^-1") == space.parse("1/year")
    assert space.parse("(Person*Year)^2/$") == (space.parse("Person") * space.parse("Year")) ** 2 \
        / space.parse("$")
    for dimensionless in ("Dmnl", "dimensionless", "1", "%"):
        assert space.parse(dimensionless) == space.dimensionless
    assert space.parse("") is None
    # display keeps the first spelling seen
    assert space.format(space.parse("Degrees Fahrenheit/Minutes")) == "Degrees Fahrenheit/Minutes"
    assert space.format(space.parse("Minute*Degrees Fahrenheit")) == "Minutes*Degrees Fahrenheit"
    for bad in ("Person/", "(Year", "Year^x"):
        with pytest.raises(UnitsSyntaxError):
            space.parse(bad)


def test_seeded_units_errors(seeded):
    errors = {(f.variable, f.message) for f in seeded.errors}
    assert errors == {
        ("Deaths", "units: '+' of 'Person/Year' and '1/Year'"),
        ("Density", "units: declared 'Person/km2', equation gives 'Person*km2'"),
        ("Growth factor", "units: EXP needs a dimensionless argument, got 'Year'"),
        ("Wealth", "units: stock in '$' needs flows in '$/Year', net flow is '$/Person'"),
        ("Income", "units: declared '$/Person', equation gives '$/Year'"),
        ("Loop a", "algebraic loop (simultaneous equations without a stock): Loop a -> Loop b"),
        ("Bad comparison", "units: comparison '>' of 'Person' and 'Year'"),
        ("Used elsewhere", "units: '+' of '1/Year' and 'Dmnl'"),
    }
    assert not seeded.ok


def test_seeded_warnings(seeded):
    warnings = {(f.code, f.variable) for f in seeded.warnings}
    assert warnings == {("no-units", "Undocumented constant"), ("no-doc", "Undocumented constant")}
    # computed and never read: a reporting output, a note rather than a warning
    assert {(f.code, f.variable) for f in seeded.notes} == {("output", "Used elsewhere")}
    frame = seeded.to_frame()
    assert list(frame.columns) == ["severity", "code", "variable", "message"]
    assert len(frame) == len(seeded) == 11
    assert seeded.summary().splitlines()[0].endswith("8 error(s), 2 warning(s), 1 note(s)")
    assert isinstance(seeded.findings[0], Finding)


def test_undefined_variable_found_without_building(models_dir):
    path = models_dir / "check" / "undefined.mdl"
    with pytest.raises(sdkit.TranslationError):
        sdkit.load_model(path)  # PySD cannot build it, the checker still reads it
    report = check_model(path)
    assert [(f.variable, f.message) for f in report.errors] == [
        ("Output", "uses undefined variable 'missing input'")]
    assert ("unused-input", "Spare") in {(f.code, f.variable) for f in report.warnings}
    assert ("output", "Output") in {(f.code, f.variable) for f in report.notes}


@pytest.mark.parametrize("name", ["teacup.mdl", "SIR.mdl", "teacup.xmile"])
def test_clean_models_pass(models_dir, name):
    report = check_model(models_dir / name)
    assert report.ok, report.summary()


def test_sir_only_doc_warnings(sir_path):
    report = check_model(sir_path)
    assert {(f.code, f.variable) for f in report.findings} == {
        ("no-doc", "Recovering"), ("no-doc", "Succumbing")}
    assert check_model(sir_path, docs=False).findings == ()


def test_iis_model_passes(models_dir):
    iis = models_dir.parents[1] / "models" / "iis.mdl"
    report = check_model(iis)
    assert report.ok, report.summary()


def test_conformance_units_error_found(conformance_dir):
    # the SDXorg model declares People/year flows into a stock of People in Months
    report = check_model(conformance_dir / "tests/subscript_mapping_simple/"
                                           "test_subscript_mapping_simple.mdl")
    assert [f.message for f in report.errors] == [
        "units: stock in 'People' needs flows in 'People/Month', net flow is 'People/year'"]


def test_check_cli_exit_codes(models_dir, teacup_path, capsys):
    assert main(["check", str(teacup_path)]) == 0
    assert "0 error(s)" in capsys.readouterr().out
    assert main(["check", str(models_dir / "SIR.mdl")]) == 0  # warnings only
    assert "no documentation" in capsys.readouterr().out
    assert main(["check", str(models_dir / "check" / "seeded_errors.mdl"), "--errors-only"]) == 1
    out = capsys.readouterr().out
    assert "Density" in out and "warning" not in out.split("\n", 1)[1]


SPELLING = """{UTF-8}
Population = INTEG(Births, 100) ~ persons ~ People. |
Births = Population * Rate ~ persons/(Year*Area unit) ~ Declared per area by mistake. |
Rate = 0.03 ~ 1/Year ~ A rate. |
Share = Population / Population + Rate ~ dmnl ~ Adds a rate to a ratio. |
Unread = 7 ~ dmnl ~ Nothing reads it. |
Report = Population * 2 ~ persons ~ Only shown in graphs. |
INITIAL TIME = 0 ~ Year ~~|
FINAL TIME = 1 ~ Year ~~|
TIME STEP = 1 ~ Year ~~|
SAVEPER = TIME STEP ~ Year ~~|
"""


def test_units_spelled_as_the_model_declares(tmp_path):
    path = tmp_path / "spelling.mdl"
    path.write_text(SPELLING)
    report = check_model(path)
    messages = {f.variable: f.message for f in report.errors}
    assert messages["Births"] == ("units: declared 'persons/(Year*Area unit)', "
                                  "equation gives 'persons/Year'")
    assert messages["Share"] == "units: '+' of 'dmnl' and '1/Year'"
    assert {(f.code, f.variable, f.severity) for f in report.findings
            if f.code in ("unused-input", "output")} == {
        ("unused-input", "Unread", "warning"), ("output", "Report", "note"),
        ("output", "Share", "note")}
