"""Vensim changes files: reading, writing, merging, and ``sdkit run --cin``."""

from __future__ import annotations

import pytest

import sdkit
from sdkit.cli import main
from sdkit.edit.cin import merge_changes, read_cin, write_cin
from sdkit.errors import OutputError, SpecError
from sdkit.model.names import canonical_key


def _write(tmp_path, text, name="changes.cin"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_read_cin_names_values_comments(tmp_path):
    path = _write(tmp_path, (
        "{ fitted parameters\n  spanning two lines }\n"
        "Room Temperature = 20\n"
        "\n"
        ": a comment line\n"
        "Characteristic  Time=1.5e+01   : trailing comment\n"
        "Capacity[ Yichang , a ] = -3\n"
    ))
    assert read_cin(path) == {
        "Room Temperature": 20.0,
        "Characteristic Time": 15.0,
        "Capacity[Yichang,a]": -3.0,
    }


@pytest.mark.parametrize(("text", "line", "fragment"), [
    ("A = 1\nB 2\n", 2, "expected 'name = value'"),
    ("A = 1\nB = abc\n", 2, "must be a number"),
    ("A = nan\n", 1, "must be finite"),
    ("A = inf\n", 1, "must be finite"),
    ("A = 1\n\na = 2\n", 3, "set twice (first on line 1)"),
    ("K[x] = 1\nk [ X ] = 2\n", 2, "set twice"),
    ("= 3\n", 1, "expected 'name = value'"),
    ("A = \n", 1, "expected 'name = value'"),
    ("{ open\nA = 1\n", 1, "never closed"),
    ("A = 1 }\n", 1, "without an opening"),
])
def test_read_cin_errors_name_file_and_line(tmp_path, text, line, fragment):
    path = _write(tmp_path, text)
    with pytest.raises(SpecError) as info:
        read_cin(path)
    message = str(info.value)
    assert str(path) in message
    assert f"line {line}:" in message
    assert fragment in message


def test_read_cin_missing_file(tmp_path):
    with pytest.raises(SpecError, match="not found"):
        read_cin(tmp_path / "nope.cin")


def test_round_trip(tmp_path):
    values = {"Room Temperature": 20.25, "Capacity[Yichang]": 1e-17, "Big": -3.3e12,
              "Third": 1 / 3}
    path = write_cin(tmp_path / "out.cin", values, header="fitted by test\nsecond line")
    assert read_cin(path) == values
    assert path.read_text().startswith("{ fitted by test")


def test_write_cin_refuses_overwrite_and_bad_input(tmp_path):
    path = write_cin(tmp_path / "out.cin", {"A": 1})
    with pytest.raises(OutputError, match="refusing to overwrite"):
        write_cin(path, {"A": 2})
    write_cin(path, {"A": 2}, overwrite=True)
    assert read_cin(path) == {"A": 2.0}
    for bad in ({"A=B": 1}, {"A": float("nan")}, {"A": "x"}, {"A": 1, "a": 2}, {"A:b": 1}):
        with pytest.raises(SpecError):
            write_cin(tmp_path / "bad.cin", bad)
    with pytest.raises(SpecError, match="braces"):
        write_cin(tmp_path / "bad.cin", {"A": 1}, header="{x}")
    assert not (tmp_path / "bad.cin").exists()


def test_merge_later_files_and_sets_win(tmp_path):
    first = _write(tmp_path, "A = 1\nB = 2\nC[x] = 3\n", "first.cin")
    second = _write(tmp_path, "b = 20\nc[X] = 30\n", "second.cin")
    merged = merge_changes([first, second], {"a": "100"})
    assert merged == {"a": "100", "b": 20.0, "c[X]": 30.0}
    assert merge_changes(None, None) == {}
    assert canonical_key("Room_Temperature") == canonical_key("room  temperature")


def test_run_cli_applies_cin(tmp_path, teacup_path, capsys):
    cin = _write(tmp_path, "Room Temperature = 20\nCharacteristic Time = 5\n")
    later = _write(tmp_path, "Characteristic Time = 1e9\n", "later.cin")
    out = tmp_path / "run.csv"
    code = main(["run", str(teacup_path), "--cin", str(cin), "--cin", str(later),
                 "--set", "Characteristic Time=10", "--stop", "2",
                 "--columns", "Room Temperature", "Characteristic Time", "--out", str(out)])
    assert code == 0
    capsys.readouterr()
    import pandas as pd

    frame = pd.read_csv(out, index_col=0)
    assert frame["Room Temperature"].iloc[-1] == 20
    assert frame["Characteristic Time"].iloc[-1] == 10
    # same result through the library
    model = sdkit.load_model(teacup_path)
    lib = sdkit.simulate(model, merge_changes([cin], {"Characteristic Time": 10}), stop=2,
                         outputs=["Teacup Temperature"])
    assert lib["Teacup Temperature"].iloc[-1] == pytest.approx(20 + 160 * 0.8187, rel=2e-3)


def test_run_cli_bad_cin_exits_2(tmp_path, teacup_path, capsys):
    cin = _write(tmp_path, "Room Temperature = warm\n")
    assert main(["run", str(teacup_path), "--cin", str(cin)]) == 2
    err = capsys.readouterr().err
    assert "line 1" in err and "warm" in err


@pytest.mark.parametrize(("text", "fragment"), [
    ("Room Temperature = 20\nRoom Temperatur = 21\n",
     "line 2: no variable named 'Room Temperatur'; did you mean 'Room Temperature'"),
    ("Room Temperature[hot] = 20\n", "line 1: 'Room Temperature' has 0 subscript(s) [], not 1"),
])
def test_run_cli_names_a_cin_typo_at_its_file_and_line(tmp_path, teacup_path, capsys, text,
                                                       fragment):
    cin = _write(tmp_path, text)
    out = tmp_path / "out.csv"
    assert main(["run", str(teacup_path), "--cin", str(cin), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"sdkit: error: {cin}: {fragment}")
    assert err[0].endswith(f"(in {teacup_path})") and not out.exists()


def test_a_cin_element_typo_names_the_dimension_and_a_close_element(tmp_path, models_dir):
    from sdkit.edit.cin import check_changes

    model = sdkit.load_model(models_dir / "mini_iis.mdl")
    dim, elems = next(iter(model.subscripts.items()))
    name = next(n for n in model.names if model.dims_of(n) == [dim])
    typo = elems[0][:-1]
    cin = _write(tmp_path, f"{name}[{elems[0]}] = 1\n{name}[{typo}] = 2\n")
    with pytest.raises(sdkit.UnknownVariableError,
                       match=rf"line 2: '{typo}' is not an element of '{dim}'.*did you mean "
                             rf"'{elems[0]}'"):
        check_changes(model, [cin])
    check_changes(model, [_write(tmp_path, f"{name}[{elems[-1]}] = 1\nFINAL TIME = 5\n")])
