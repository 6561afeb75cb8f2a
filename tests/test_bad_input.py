"""Bad input to the CLI: one clear line, exit code 2, nothing written, nothing changed.

The matrix is a table (:data:`CASES`): each row builds its inputs in a fresh
folder and gives the arguments after ``sdkit``. Every row is checked the
same way: exit code 2, a single ``sdkit: error:`` line on stderr matching the
row's pattern (which names the file, line or key, and what was expected),
no traceback, no ``--out`` file, and every input file unchanged byte for
byte. New kinds of input (data CSVs, calibration specs, scenario files,
``.cin``) are new rows.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from sdkit.cli import main

MODELS = Path(__file__).resolve().parent / "models"


@dataclass(frozen=True)
class Case:
    """One row: `make(folder)` writes inputs into `folder` and returns argv."""

    id: str
    make: Callable[[Path], list[str]]
    expect: str  # regex searched in the error line


def _teacup(folder: Path, name: str = "teacup.mdl") -> Path:
    target = folder / name
    shutil.copyfile(MODELS / "teacup.mdl", target)
    return target


def _file(name: str, data: bytes) -> Callable[[Path], Path]:
    def write(folder: Path) -> Path:
        target = folder / name
        target.write_bytes(data)
        return target
    return write


def _run(model: Callable[[Path], Path], *extra: str,
         files: dict[str, bytes] | None = None) -> Callable[[Path], list[str]]:
    """``sdkit run MODEL *extra --out ../out.csv``; `files` are written beside the model."""
    def make(folder: Path) -> list[str]:
        for name, data in (files or {}).items():
            (folder / name).write_bytes(data)
        args = [a.replace("{folder}", str(folder)) for a in extra]
        return ["run", str(model(folder)), *args, "--out", str(folder.parent / "out.csv")]
    return make


def _info(model: Callable[[Path], Path]) -> Callable[[Path], list[str]]:
    return lambda folder: ["info", str(model(folder))]


TEACUP = MODELS.joinpath("teacup.mdl").read_bytes()
teacup = _teacup
# truncated in the middle of the stock's equation
truncated = _file("cut.mdl", TEACUP[: TEACUP.index(b"Teacup Temperature= INTEG") + 32])
latin1 = _file("latin1.mdl", TEACUP.replace(b"Minutes", "Minut\u00e9s".encode("latin-1")))
utf16 = _file("utf16.mdl", TEACUP.decode().encode("utf-16"))
junk = _file("junk.mdl", bytes(range(256)) * 4)
junk_no_nul = _file("junk2.mdl", bytes(range(128, 256)) * 8)
empty = _file("empty.mdl", b"")
blank = _file("blank.mdl", b" \n\t\n")
wrong_ext = _file("teacup.txt", TEACUP)
no_ext = _file("teacup", TEACUP)
xmile_junk = _file("bad.xmile", b"<xmile><model><variables><aux name='x'>")
not_a_model = _file("prose.mdl", b"This is not a model, just some words.\n")


def _missing(folder: Path) -> Path:
    return folder / "nowhere.mdl"


def _folder(folder: Path) -> Path:
    (folder / "sub.mdl").mkdir()
    return folder / "sub.mdl"


def _existing_out(folder: Path) -> list[str]:
    target = folder / "results.csv"
    target.write_text("keep me\n")
    return ["run", str(_teacup(folder)), "--out", str(target)]


CASES = [
    # -- the model file ------------------------------------------------------
    Case("run-empty", _run(empty), r"empty\.mdl: file is empty"),
    Case("run-blank", _run(blank), r"blank\.mdl: file is empty"),
    Case("run-truncated", _run(truncated),
         r"cut\.mdl: the model does not define INITIAL TIME, FINAL TIME, TIME STEP, SAVEPER"),
    Case("run-latin1", _run(latin1), r"latin1\.mdl: line 4: not valid UTF-8 \(byte 0xe9\)"),
    Case("run-utf16", _run(utf16), r"utf16\.mdl: .*UTF-16.*expected UTF-8"),
    Case("run-binary", _run(junk), r"junk\.mdl: line 1: binary content"),
    Case("run-binary-no-nul", _run(junk_no_nul), r"junk2\.mdl: line 1: not valid UTF-8"),
    Case("run-wrong-extension", _run(wrong_ext), r"teacup\.txt: unknown model format '\.txt'"),
    Case("run-no-extension", _run(no_ext), r"teacup: unknown model format '\(no extension\)'"),
    Case("run-missing", _run(_missing), r"nowhere\.mdl: no such file"),
    Case("run-folder", _run(_folder), r"sub\.mdl: is a folder"),
    Case("run-prose", _run(not_a_model), r"prose\.mdl: .*cannot translate"),
    Case("run-xmile-truncated", _run(xmile_junk), r"bad\.xmile: line 1: not valid XML"),
    Case("info-empty", _info(empty), r"empty\.mdl: file is empty"),
    Case("info-utf16", _info(utf16), r"utf16\.mdl: .*UTF-16"),
    Case("info-binary", _info(junk), r"junk\.mdl: line 1: binary content"),
    # -- --set ----------------------------------------------------------------
    Case("set-unknown-name", _run(teacup, "--set", "Room Temprature=20"),
         r"teacup\.mdl: no variable named 'Room Temprature'; did you mean 'Room Temperature'"),
    Case("set-not-a-number", _run(teacup, "--set", "Room Temperature=warm"),
         r"parameter 'Room Temperature' must be a number: 'warm'"),
    Case("set-nan", _run(teacup, "--set", "Room Temperature=nan"),
         r"parameter 'Room Temperature' must be finite: 'nan'"),
    Case("set-inf", _run(teacup, "--set", "Room Temperature=-inf"),
         r"parameter 'Room Temperature' must be finite"),
    Case("set-overflow", _run(teacup, "--set", "Room Temperature=1e400"),
         r"parameter 'Room Temperature' must be finite: '1e400'"),
    Case("set-huge-blows-up", _run(teacup, "--set", "Characteristic Time=1e-300"),
         r"teacup\.mdl: '.*' became (-?inf|nan) at time .* with params"),
    Case("set-no-equals", _run(teacup, "--set", "Room Temperature"),
         r"--set 'Room Temperature': expected NAME=VALUE"),
    Case("set-empty-value", _run(teacup, "--set", "Room Temperature="),
         r"--set 'Room Temperature=': expected NAME=VALUE"),
    Case("set-duplicate", _run(teacup, "--set", "Room Temperature=20",
                               "--set", "room_temperature=30"),
         r"--set 'room_temperature': 'Room Temperature' is already set"),
    Case("set-time-setting", _run(teacup, "--set", "FINAL TIME=5"),
         r"'FINAL TIME': set time settings with start/stop/dt/saveper"),
    Case("set-bad-element", _run(teacup, "--set", "Room Temperature[a]=5"),
         r"'Room Temperature\[a\]': 'Room Temperature' has 0 subscript"),
    # -- time options ------------------------------------------------------------
    Case("dt-zero", _run(teacup, "--dt", "0"), r"'dt' must be > 0: 0"),
    Case("dt-negative", _run(teacup, "--dt", "-0.5"), r"'dt' must be > 0: -0\.5"),
    Case("dt-nan", _run(teacup, "--dt", "nan"), r"dt must be finite"),
    Case("dt-not-a-number", _run(teacup, "--dt", "small"), r"argument --dt: invalid float"),
    Case("saveper-negative", _run(teacup, "--saveper", "-1"), r"'saveper' must be > 0"),
    Case("stop-before-start", _run(teacup, "--start", "10", "--stop", "5"),
         r"'stop' \(5.0\) is before 'start' \(10.0\)"),
    Case("stop-inf", _run(teacup, "--stop", "inf"), r"stop must be finite"),
    Case("too-many-steps", _run(teacup, "--stop", "1e12"),
         r"teacup\.mdl: .* steps .* at most"),
    # -- outputs ----------------------------------------------------------------
    Case("columns-unknown", _run(teacup, "--columns", "Teacup Temp"),
         r"teacup\.mdl: no variable named 'Teacup Temp'"),
    Case("out-bad-format", lambda f: ["run", str(_teacup(f)), "--out", str(f / "r.xlsx")],
         r"--out .*r\.xlsx: expected a file ending in \.csv"),
    Case("out-exists", _existing_out, r"results\.csv: exists; pass --overwrite"),
    # -- changes files (.cin) given to run --------------------------------------
    Case("cin-garbage", _run(teacup, "--cin", "{folder}/g.cin", files={"g.cin": b"garbage\n"}),
         r"g\.cin: line 1: expected 'name = value', got 'garbage'"),
    Case("cin-not-a-number",
         _run(teacup, "--cin", "{folder}/v.cin", files={"v.cin": b"Room Temperature = abc\n"}),
         r"v\.cin: line 1: value of 'Room Temperature' must be a number: 'abc'"),
    Case("cin-unknown-name",
         _run(teacup, "--cin", "{folder}/u.cin", files={"u.cin": b"Room Tempx = 20\n"}),
         r"teacup\.mdl: no variable named 'Room Tempx'"),
    Case("cin-binary", _run(teacup, "--cin", "{folder}/b.cin", files={"b.cin": b"\xff\xfe\x00"}),
         r"b\.cin: cannot read"),
    # -- conformance ----------------------------------------------------------
    Case("conformance-missing", lambda f: ["conformance", str(f / "nosuite")],
         r"nosuite: not a folder"),
    Case("conformance-empty", lambda f: ["conformance", str(f)],
         r"no tests/\*/ or samples/\*/ folders found"),
    Case("conformance-bad-timeout",
         lambda f: ["conformance", str(f), "--timeout", "-1"], r"--timeout must be > 0: -1"),
    Case("conformance-bad-jobs",
         lambda f: ["conformance", str(f), "--jobs", "-2"], r"--jobs must be >= 1: -2"),
    Case("conformance-bad-engine",
         lambda f: ["conformance", str(f), "--engine", "vensim"], r"invalid choice: 'vensim'"),
]


def _snapshot(folder: Path) -> dict[str, bytes | None]:
    return {str(p.relative_to(folder)): (p.read_bytes() if p.is_file() else None)
            for p in sorted(folder.rglob("*"))}


def _cli(argv: list[str], capsys) -> tuple[int, str, str]:
    try:
        code = main(argv)
    except SystemExit as e:  # argparse errors
        code = e.code
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_gives_one_clear_error(case: Case, tmp_path, capsys):
    folder = tmp_path / "in"
    folder.mkdir()
    argv = case.make(folder)
    before = _snapshot(folder)
    code, out, err = _cli(argv, capsys)
    assert code == 2, (out, err)
    assert "Traceback" not in err
    errors = [ln for ln in err.splitlines() if ln.startswith("sdkit: error:")]
    assert len(errors) == 1, err
    assert re.search(case.expect, errors[0]), errors[0]
    assert not (tmp_path / "out.csv").exists()
    assert _snapshot(folder) == before  # model (and any other input) unchanged
    assert not [p for p in tmp_path.rglob("*.tmp")]  # no temporary left behind


@pytest.mark.parametrize("make", [empty, utf16], ids=["empty", "utf16"])
def test_no_traceback_from_a_real_process(make, tmp_path):
    """The same guarantee through the installed entry point, in a child process."""
    model = make(tmp_path)
    env = dict(os.environ)
    proc = subprocess.run([sys.executable, "-m", "sdkit", "run", str(model)],
                          capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.startswith("sdkit: error:")
    assert "Traceback" not in proc.stderr
    assert proc.stdout == ""
