"""The command line: output, exit codes, one-line errors, nothing written on failure."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest

from sdkit.cli import main


def test_run_prints_table(teacup_path, capsys):
    assert main(["run", str(teacup_path), "--columns", "Teacup Temperature",
                 "--saveper", "10"]) == 0
    out = capsys.readouterr().out
    assert "Teacup Temperature" in out and "110.21" in out


def test_run_set_and_csv_out(teacup_path, tmp_path, capsys):
    target = tmp_path / "out.csv"
    assert main(["run", str(teacup_path), "--set", "Room Temperature=20",
                 "--columns", "Teacup Temperature", "--out", str(target)]) == 0
    frame = pd.read_csv(target, index_col=0)
    assert frame["Teacup Temperature"].iloc[-1] < 40
    assert "wrote" in capsys.readouterr().out


@pytest.mark.parametrize("suffix", [".nc", ".parquet"])
def test_run_other_formats(teacup_path, tmp_path, suffix):
    target = tmp_path / f"out{suffix}"
    assert main(["run", str(teacup_path), "--columns", "Teacup Temperature",
                 "--out", str(target)]) == 0
    assert target.stat().st_size > 0


def test_out_is_not_overwritten_without_permission(teacup_path, tmp_path, capsys):
    target = tmp_path / "out.csv"
    target.write_text("precious")
    assert main(["run", str(teacup_path), "--out", str(target)]) == 2
    assert target.read_text() == "precious"
    assert "--overwrite" in capsys.readouterr().err
    assert main(["run", str(teacup_path), "--out", str(target), "--overwrite"]) == 0
    assert target.read_text() != "precious"


def test_info(teacup_path, capsys):
    assert main(["info", str(teacup_path)]) == 0
    out = capsys.readouterr().out
    assert "stock     Teacup Temperature" in out
    assert "flow      Heat Loss to Room" in out
    assert "time: 0 to 30 Minute, dt 0.125" in out
    assert "1 stocks" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "{teacup}", "--set", "Room Temp=3"], "no variable named 'Room Temp'"),
        (["run", "{teacup}", "--set", "Room Temperature=abc"], "must be a number: 'abc'"),
        (["run", "{teacup}", "--set", "Room Temperature"], "expected NAME=VALUE"),
        (["run", "{teacup}", "--columns", "Nope"], "no variable named 'Nope'"),
        (["run", "{teacup}", "--out", "{tmp}/x.xlsx"], "expected a file ending in"),
        (["run", "{tmp}/none.mdl"], "none.mdl: no such file"),
        (["info", "{tmp}/model.txt"], "unknown model format '.txt'"),
        (["conformance", "{tmp}/nosuite"], "not a folder"),
    ],
)
def test_bad_input_exits_2_with_one_line(args, message, teacup_path, tmp_path, capsys):
    (tmp_path / "model.txt").write_text("x")
    argv = [a.format(teacup=teacup_path, tmp=tmp_path) for a in args]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "x.xlsx").exists()


def test_argparse_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as info:
        main(["run"])
    assert info.value.code == 2


def test_console_script_entry_point(teacup_path):
    proc = subprocess.run([sys.executable, "-m", "sdkit", "run", str(teacup_path), "--set",
                           "Characteristic Time=oops"], capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.startswith("sdkit: error:") and "Traceback" not in proc.stderr
