"""sdkit info: values, equations, ranges, units, filters, JSON, plurals."""

from __future__ import annotations

import json

import pytest

from sdkit.cli import main
from sdkit.errors import InvalidValueError
from sdkit.structure.info import model_info, plural


@pytest.mark.parametrize(("n", "kind", "text"), [
    (1, "stock", "1 stock"), (2, "stock", "2 stocks"), (58, "auxiliary", "58 auxiliaries"),
    (1, "auxiliary", "1 auxiliary"), (3, "data", "3 data variables"),
])
def test_plural(n, kind, text):
    assert plural(n, kind) == text


def test_teacup_values_equations_ranges(teacup_path):
    info = model_info(teacup_path)
    by = {v.name: v for v in info.variables}
    assert by["Characteristic Time"].value == 10.0
    assert by["Characteristic Time"].range == (0.0, None)
    assert by["Teacup Temperature"].range == (32.0, 212.0)
    assert by["Teacup Temperature"].value is None
    assert by["Teacup Temperature"].equations == ("INTEG ( -Heat Loss to Room, 180)",)
    assert by["Heat Loss to Room"].equations == (
        "(Teacup Temperature - Room Temperature) / Characteristic Time",)
    assert by["Heat Loss to Room"].units == "Degrees Fahrenheit/Minute"


def test_xmile_equations(models_dir):
    info = model_info(models_dir / "teacup.xmile")
    by = {v.name: v for v in info.variables}
    assert by["Room Temperature"].equations == ("70",)
    assert by["Room Temperature"].value == 70.0


def test_subscripted_constant_value(models_dir):
    info = model_info(models_dir / "mini_iis.mdl").select(names=["GDP initial"])
    (v,) = info.variables
    assert v.subscripts == ("City",)
    assert v.value == [100.0, 60.0]
    assert v.equations == ("100, 60",)


def test_select_by_glob_and_kind(models_dir):
    info = model_info(models_dir / "mini_iis.mdl")
    gdp = info.select(names=["gdp*"])
    assert sorted(v.name for v in gdp.variables) == ["GDP", "GDP initial"]
    assert [v.name for v in info.select(names=["gdp*"], kinds=["stock"]).variables] == ["GDP"]
    aux = info.select(kinds=["aux"])
    assert aux.variables and {v.kind for v in aux.variables} == {"auxiliary"}
    assert "of 19 shown" in aux.summary()
    with pytest.raises(InvalidValueError, match="unknown kind 'bogus'"):
        info.select(kinds=["bogus"])


def test_cli_info_text(teacup_path, capsys):
    assert main(["info", str(teacup_path)]) == 0
    out = capsys.readouterr().out
    assert "variables: 1 stock, 1 flow, 2 constants (4 in all)" in out
    assert "range [32, 212]" in out
    assert "= (Teacup Temperature - Room Temperature) / Characteristic Time" in out
    assert "stocks" not in out.splitlines()[2]


def test_cli_info_doc_prints_all_lines(teacup_path, capsys):
    assert main(["info", str(teacup_path), "--name", "teacup*"]) == 0
    short = capsys.readouterr().out
    assert main(["info", str(teacup_path), "--name", "teacup*", "--doc"]) == 0
    full = capsys.readouterr().out
    assert "standard sea-level conditions" in full
    assert "standard sea-level conditions" not in short


def test_cli_info_json(teacup_path, capsys):
    assert main(["info", str(teacup_path), "--json", "--kind", "constant"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["time"]["dt"] == 0.125
    assert {v["name"]: v["value"] for v in data["variables"]} == {
        "Characteristic Time": 10.0, "Room Temperature": 70.0}
    rt = next(v for v in data["variables"] if v["name"] == "Room Temperature")
    assert rt["range"] == [-459.67, None]
    assert rt["units"] == "Degrees Fahrenheit"


def test_cli_info_unknown_kind_is_exit_2(teacup_path, capsys):
    with pytest.raises(SystemExit) as e:
        main(["info", str(teacup_path), "--kind", "bogus"])
    assert e.value.code == 2
