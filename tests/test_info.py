"""sdkit info: values, equations, ranges, units, filters, JSON, plurals."""

from __future__ import annotations

import json
import unicodedata

import pytest

from sdkit.cli import main
from sdkit.errors import InvalidValueError
from sdkit.io.terminal import printable, printable_json
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


# -- terminal escapes from the model (R1 finding 5) ---------------------------------------
TITLE, CLEAR, RED, CSI = "\x1b]0;TITLE\x07", "\x1b[2J", "\x1b[31mRED\x1b[0m", "\x9b"
ESCAPES_MODEL = (  # units and documentation retitle the window, clear it, colour, ring
    "{UTF-8}\n"
    f"Stock = INTEG(Flow, 1) ~ u{TITLE}{CLEAR} ~ doc {RED} {CSI}2J end |\n"
    "Flow = Stock * rate ~ u/Month ~ |\n"
    "rate = 0.1 ~ 1/Month ~ a\x07bell |\n"
    "INITIAL TIME = 0 ~ Month ~ |\nFINAL TIME = 2 ~ Month ~ |\n"
    "TIME STEP = 1 ~ Month ~ |\nSAVEPER = TIME STEP ~ Month ~ |\n"
)
SHOWN_UNITS = "u\\x1b]0;TITLE\\x07\\x1b[2J"


def _controls(text: str) -> list[str]:
    """Control characters (Unicode category Cc) in `text`, newline and tab excepted."""
    return [c for c in text if unicodedata.category(c) == "Cc" and c not in "\n\t"]


@pytest.fixture
def escapes_model(tmp_path):
    path = tmp_path / "escapes.mdl"
    path.write_text(ESCAPES_MODEL, encoding="utf-8")
    return path


def test_printable_escapes_exactly_the_control_characters():
    """Against Unicode's own list: category Cc is C0, DEL and C1."""
    for code in range(0x250):
        ch = chr(code)
        shown = printable(ch)
        if unicodedata.category(ch) == "Cc" and ch not in "\n\t":
            assert shown == f"\\x{code:02x}" and json.loads(f'"{printable_json(ch)}"') == ch
        else:
            assert shown == ch == printable_json(ch)


@pytest.mark.parametrize("doc", [False, True])
def test_info_shows_escapes_from_the_model_visibly(escapes_model, capsys, doc):
    assert main(["info", str(escapes_model)] + (["--doc"] if doc else [])) == 0
    out = capsys.readouterr().out
    assert _controls(out) == []
    assert f"({SHOWN_UNITS})" in out
    assert "doc \\x1b[31mRED\\x1b[0m \\x9b2J end" in out and "a\\x07bell" in out


def test_info_json_keeps_the_text_and_escapes_every_control(escapes_model, capsys):
    assert main(["info", str(escapes_model), "--json"]) == 0
    out = capsys.readouterr().out
    assert _controls(out) == []
    by = {v["name"]: v for v in json.loads(out)["variables"]}
    assert by["Stock"]["units"] == f"u{TITLE}{CLEAR}"
    assert by["Stock"]["documentation"] == f"doc {RED} {CSI}2J end"
    assert by["rate"]["documentation"] == "a\x07bell"


def test_check_shows_escapes_from_the_model_visibly(escapes_model, capsys):
    assert main(["check", str(escapes_model)]) == 1  # the odd units do not match the flow
    out = capsys.readouterr().out
    assert _controls(out) == [] and f"'{SHOWN_UNITS}'" in out


def test_loops_and_diff_show_a_control_character_in_a_name_visibly(tmp_path, capsys):
    model = ("{UTF-8}\n\"St\x9bock\" = INTEG(Flow, 1) ~ u ~ |\n"
             "Flow = \"St\x9bock\" * rate ~ u/Month ~ |\nrate = 0.1 ~ 1/Month ~ |\n"
             "INITIAL TIME = 0 ~ Month ~ |\nFINAL TIME = 2 ~ Month ~ |\n"
             "TIME STEP = 1 ~ Month ~ |\nSAVEPER = TIME STEP ~ Month ~ |\n")
    a, b = tmp_path / "a.mdl", tmp_path / "b.mdl"
    a.write_text(model, encoding="utf-8")
    b.write_text(model.replace("0.1", "0.2").replace("~ u ~", "~ u\x1b[2J ~"), encoding="utf-8")
    for argv in (["loops", str(a)], ["loops", str(a), "--dominance"]):
        assert main(argv) == 0
        out = capsys.readouterr().out
        assert _controls(out) == [] and '"St\\x9bock" -' in out
    assert main(["diff", str(a), str(b)]) == 1
    out = capsys.readouterr().out
    assert _controls(out) == [] and "\\x1b[2J" in out


def test_an_error_echoing_model_text_shows_escapes_visibly(tmp_path, capsys):
    path = tmp_path / "bad.mdl"
    path.write_text(ESCAPES_MODEL.replace("rate = 0.1", "ra\x1b[1mte = 0.1"), encoding="utf-8")
    assert main(["info", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("sdkit: error: ") and err.count("\n") == 1
    assert _controls(err) == [] and "\\x1b[1m" in err
