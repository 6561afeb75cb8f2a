"""The command line: output, exit codes, one-line errors, nothing written on failure."""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

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
    assert "1 stock, 1 flow, 2 constants" in out


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


# -- output paths (issue 12) ----------------------------------------------------------------

def test_set_in_place_through_a_symlink_edits_the_real_file(teacup_path, tmp_path, capsys):
    real = tmp_path / "models" / "teacup.mdl"
    real.parent.mkdir()
    shutil.copyfile(teacup_path, real)
    link = tmp_path / "link.mdl"
    link.symlink_to(real)
    original = real.read_bytes()
    assert main(["set", str(link), "Room Temperature=33", "--in-place"]) == 0
    assert link.is_symlink() and Path(os.readlink(link)) == real  # the link is kept
    assert b"Room Temperature=\n\t33" in real.read_bytes()  # the real file is edited
    backup = real.with_name("teacup.mdl.bak")
    assert backup.read_bytes() == original  # the backup sits beside the real file
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.mdl", "models"]
    assert f"original kept as {backup}" in capsys.readouterr().out


@pytest.mark.parametrize("source, out", [("teacup.mdl", "edited.mdl"),
                                         ("teacup.xmile", "edited.xml"),
                                         ("teacup.xmile", "edited.stmx")])
def test_set_out_keeps_the_model_format(models_dir, tmp_path, source, out):
    target = tmp_path / out
    assert main(["set", str(models_dir / source), "Room Temperature=33", "--out",
                 str(target)]) == 0
    assert b"33" in target.read_bytes()


FSIZE_SCRIPT = """
import resource, signal, sys
from sdkit.cli import main
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes then fail with EFBIG, as on a quota
resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.parametrize("out", ["out.csv", "out.parquet", "out.nc"])
def test_file_size_limit_gives_one_line_and_no_partial_file(teacup_path, tmp_path, out):
    env = {**os.environ, "SDKIT_CACHE_DIR": str(tmp_path / "cache")}
    warm = [sys.executable, "-m", "sdkit", "info", str(teacup_path)]  # cache written unlimited
    assert subprocess.run(warm, capture_output=True, env=env, timeout=120).returncode == 0
    (tmp_path / "work").mkdir()
    target = tmp_path / "work" / out
    target.write_bytes(b"old results")
    proc = subprocess.run([sys.executable, "-c", FSIZE_SCRIPT, "run", str(teacup_path),
                           "--out", str(target), "--overwrite"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.startswith(f"sdkit: error: {target}: cannot write")
    assert re.search(r"File too large|HDF error", proc.stderr)
    assert target.read_bytes() == b"old results"
    assert sorted(p.name for p in target.parent.iterdir()) == [out]


def test_unwrapped_os_error_is_one_line(teacup_path, monkeypatch, capsys):
    import sdkit.cli.run

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied", "/somewhere/out.csv")

    monkeypatch.setattr(sdkit.cli.run, "run_and_summarize", denied)
    assert main(["run", str(teacup_path)]) == 2
    err = capsys.readouterr().err
    assert err == "sdkit: error: /somewhere/out.csv: Permission denied\n"


def test_run_out_dash_writes_csv_to_stdout(teacup_path, capsys):
    assert main(["run", str(teacup_path), "--columns", "Teacup Temperature",
                 "--out", "-"]) == 0
    out = capsys.readouterr().out
    frame = pd.read_csv(io.StringIO(out), index_col=0)
    assert list(frame.columns) == ["Teacup Temperature"]
    assert frame.index.name == "time" and frame.iloc[0, 0] == 180


def test_run_out_tab(teacup_path, tmp_path):
    target = tmp_path / "out.tab"
    assert main(["run", str(teacup_path), "--columns", "Teacup Temperature",
                 "--out", str(target)]) == 0
    first, second = target.read_text().splitlines()
    assert first.startswith("Time\t0\t0.125\t")
    assert second.startswith("Teacup Temperature\t180\t")
