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
unknown_function = _file("unknown.mdl", TEACUP.replace(b"Characteristic Time=\n\t10",
                                                        b"Characteristic Time=\n\tFOOBAR(10)"))
bracket_element = _file("bracket.mdl", TEACUP.replace(
    b"Room Temperature=\n\t70", b'Room Temperature=\n\tSUM(Y[D!])\n\t~~|\n'
    b'D: "e]1", b ~~|\nY[D] = 70, 0'))


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
    Case("run-unknown-function", _run(unknown_function),
         r"unknown\.mdl: variable 'Characteristic Time': function 'FOOBAR' is not supported"),
    Case("run-bracket-element", _run(bracket_element),
         r"bracket\.mdl: subscript range 'D': element '\"e\]1\"' holds '\[', '\]' or ','"),
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
         r"u\.cin: line 1: no variable named 'Room Tempx'; did you mean 'Room Temperature'"),
    Case("cin-binary", _run(teacup, "--cin", "{folder}/b.cin", files={"b.cin": b"\xff\xfe\x00"}),
         r"b\.cin: line 1: text is UTF-16 encoded; expected UTF-8"),
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


# -- inputs beyond model files -----------------------------------------------------
# Small synthetic inputs (not observed data): a city table in the city_stats.csv
# format, a calibration spec, a scenario and a report configuration. Each row
# below breaks one thing in one of them.
CITIES4 = ("Yichang", "Jingzhou", "Jingmen", "Enshi")
HEADER = "city,year,indicator,value,unit,source"
SYNTH = [f"{c},{y},gdp,{100 * (i + 1) * 1.05 ** (y - 2010):.4f},亿元,synthetic test data"
         for i, c in enumerate(CITIES4) for y in range(2010, 2022)]
DATA = "\n".join([HEADER, *SYNTH]) + "\n"

SPEC = """model = "decay_city.mdl"
data = { file = "data.csv", columns = { time = "year", element = "city", series = "indicator", source = "source" }, check_units = false }
elements = ["Yichang", "Jingzhou", "Jingmen", "Enshi"]

[fit]
start = 2010
stop = 2018
method = "least_squares"

[[parameters]]
name = "g"
variable = "Growth Rate"
per_element = true
lower = 0.0
upper = 0.3
initial = 0.05

[[targets]]
variable = "Output"
indicator = "gdp"
"""  # noqa: E501 - the data table is one TOML inline table

SCENARIO = """[scenario]
name = "green"
title = "Green lever"

[levers.green]
variable = "Lever green transition"
strength = 1.0
start_year = 2026
ramp_years = 5
"""

REPORT = """[report]
title = "Bad-input test report"
model = "mini_iis.mdl"
dimension = "City"
summary = ["GDP", "CO2 emissions", "Carbon intensity"]
"""


def _data(*changes: tuple[int, str | None], extra: tuple[str, ...] = ()) -> str:
    """DATA with line `n` (1 = header) replaced (None deletes it) and `extra` lines appended."""
    lines = [HEADER, *SYNTH]
    for n, text in sorted(changes, reverse=True):
        if text is None:
            del lines[n - 1]
        else:
            lines[n - 1] = text
    return "\n".join([*lines, *extra]) + "\n"


def _bytes(text: str | bytes) -> bytes:
    return text if isinstance(text, bytes) else text.encode("utf-8")


def _calibrate(spec: str | bytes = SPEC, data: str | bytes = DATA, *extra: str,
               data_name: str = "data.csv") -> Callable[[Path], list[str]]:
    """``sdkit calibrate spec.toml --out ../out``, with decay_city.mdl and `data` beside it."""
    def make(folder: Path) -> list[str]:
        shutil.copyfile(MODELS / "decay_city.mdl", folder / "decay_city.mdl")
        (folder / data_name).write_bytes(_bytes(data))
        (folder / "spec.toml").write_bytes(_bytes(spec))
        return ["calibrate", str(folder / "spec.toml"), *extra, "--out",
                str(folder.parent / "out"), "--no-plots", "--no-profile"]
    return make


def _scenarios(*texts: str | bytes, extra: tuple[str, ...] = (),
               folder_run: bool = False) -> Callable[[Path], list[str]]:
    """``sdkit scenarios run s0.toml --model mini_iis.mdl --out ../out`` (or the folder)."""
    def make(folder: Path) -> list[str]:
        shutil.copyfile(MODELS / "mini_iis.mdl", folder / "mini_iis.mdl")
        scen = folder / "scenarios"
        scen.mkdir()
        for i, text in enumerate(texts):
            (scen / f"s{i}.toml").write_bytes(_bytes(text))
        spec = scen if folder_run else scen / "s0.toml"
        return ["scenarios", "run", str(spec), "--model", str(folder / "mini_iis.mdl"),
                "--columns", "GDP", *extra, "--out", str(folder.parent / "out")]
    return make


def _report_files(folder: Path, config: str | bytes) -> Path:
    shutil.copyfile(MODELS / "mini_iis.mdl", folder / "mini_iis.mdl")
    (folder / "report.toml").write_bytes(_bytes(config))
    scen = folder / "scenarios"
    scen.mkdir()
    (scen / "green.toml").write_text(SCENARIO, encoding="utf-8")
    return folder / "report.toml"


def _report(config: str | bytes = REPORT, *extra: str) -> Callable[[Path], list[str]]:
    """``sdkit report --config report.toml --results results --root .. --name out``."""
    def make(folder: Path) -> list[str]:
        cfg = _report_files(folder, config)
        (folder / "results").mkdir()
        return ["report", "--config", str(cfg), "--results", str(folder / "results"),
                "--root", str(folder.parent), "--name", "out", *extra]
    return make


def _pipeline(config: str | bytes = REPORT, *extra: str) -> Callable[[Path], list[str]]:
    """``sdkit pipeline --no-calibrate`` on the mini model, writing ``../out``."""
    def make(folder: Path) -> list[str]:
        cfg = _report_files(folder, config)
        args = [a.replace("{folder}", str(folder)) for a in extra]
        return ["pipeline", "--config", str(cfg), "--scenarios", str(folder / "scenarios"),
                "--no-calibrate", "--members", "0", "--sensitivity-n", "0", "--no-progress",
                *args, "--out", str(folder.parent / "out")]
    return make


def _command(name: str, *extra: str, model=teacup,
             files: dict[str, bytes] | None = None) -> Callable[[Path], list[str]]:
    """``sdkit NAME MODEL *extra`` (``{folder}`` and ``{out}`` are filled in)."""
    def make(folder: Path) -> list[str]:
        for fname, data in (files or {}).items():
            (folder / fname).write_bytes(data)
        args = [a.replace("{folder}", str(folder)).replace("{out}", str(folder.parent / "out"))
                for a in extra]
        return [name, str(model(folder)), *args]
    return make


def _spec(old: str, new: str) -> str:
    assert old in SPEC, old
    return SPEC.replace(old, new, 1)


def _scen(old: str, new: str) -> str:
    assert old in SCENARIO, old
    return SCENARIO.replace(old, new, 1)


def _rep(old: str, new: str) -> str:
    assert old in REPORT, old
    return REPORT.replace(old, new, 1)


JUNK = bytes(range(256)) * 4
LATIN1_DATA = DATA.replace("synthetic test data", "synth\u00e9tic", 2).encode("utf-8").replace(
    "synth\u00e9tic".encode(), "synth\u00e9tic".encode("latin-1"))

MORE_CASES = [
    # -- observed-data CSV (read by the calibration spec) -----------------------------
    Case("data-empty", _calibrate(data=b""), r"data\.csv: file is empty"),
    Case("data-header-only", _calibrate(data=HEADER + "\n"), r"data\.csv: no data rows"),
    Case("data-truncated", _calibrate(data=DATA[: DATA.index("Yichang,2014") + 15]),
         r"data\.csv: line 6: .*(expected 6 fields|missing)"),
    Case("data-latin1", _calibrate(data=LATIN1_DATA), r"data\.csv: line 2: not valid UTF-8"),
    Case("data-utf16", _calibrate(data=DATA.encode("utf-16")),
         r"data\.csv: .*UTF-16.*expected UTF-8"),
    Case("data-binary", _calibrate(data=JUNK), r"data\.csv: line 1: binary content"),
    Case("data-wrong-extension",
         _calibrate(_spec("data.csv", "data.xlsx"), data_name="data.xlsx"),
         r"data\.xlsx: unknown data format '\.xlsx'; expected \.csv"),
    Case("data-missing", _calibrate(_spec("data.csv", "nodata.csv")),
         r"nodata\.csv: no such file"),
    Case("data-missing-column",
         _calibrate(data="\n".join(ln.rsplit(",", 1)[0] for ln in DATA.splitlines())),
         r"data\.csv: missing column\(s\) source"),
    Case("data-unknown-city", _calibrate(data=_data((3, SYNTH[1].replace("Yichang", "Wuhan")))),
         r"data\.csv: line 3: unknown city 'Wuhan'"),
    Case("data-not-a-number",
         _calibrate(data=_data((5, "Yichang,2013,gdp,n/a,亿元,synthetic test data"))),
         r"data\.csv: line 5: gdp value must be a number: 'n/a'"),
    Case("data-bad-year",
         _calibrate(data=_data((5, "Yichang,20x3,gdp,1,亿元,synthetic test data"))),
         r"data\.csv: line 5: year must be a number: '20x3'"),
    Case("data-nan", _calibrate(data=_data((5, "Yichang,2013,gdp,nan,亿元,synthetic"))),
         r"data\.csv: line 5: gdp value must be finite: 'nan'"),
    Case("data-inf", _calibrate(data=_data((5, "Yichang,2013,gdp,-inf,亿元,synthetic"))),
         r"data\.csv: line 5: gdp value must be finite: '-inf'"),
    Case("data-huge", _calibrate(data=_data((5, "Yichang,2013,gdp,1e400,亿元,synthetic"))),
         r"data\.csv: line 5: gdp value must be finite: '1e400'"),
    Case("data-duplicate-city-year",
         _calibrate(data=_data(extra=("Yichang,2010,gdp,123,亿元,synthetic test data",))),
         r"data\.csv: line 50: duplicated gdp for Yichang 2010 \(first on line 2"),
    Case("data-wrong-unit", _calibrate(data=_data((5, "Yichang,2013,gdp,5,Mt CO2,synthetic"))),
         r"data\.csv: line 5: gdp unit 'Mt CO2' differs from '亿元' \(line 2\)"),
    # -- calibration spec (TOML) ---------------------------------------------------------
    Case("spec-empty", _calibrate(b""), r"spec\.toml: file is empty"),
    Case("spec-missing", lambda f: ["calibrate", str(f / "nospec.toml")],
         r"nospec\.toml: no such file"),
    Case("spec-folder", lambda f: ["calibrate", str(f)], r"in: is a folder"),
    Case("spec-truncated", _calibrate(SPEC[: SPEC.index("upper = 0.3") + 7]),
         r"spec\.toml: not valid TOML: .*line 15, end of document"),
    Case("spec-invalid-toml", _calibrate(_spec("lower = 0.0", "lower 0.0")),
         r"spec\.toml: not valid TOML: .*line 14"),
    Case("spec-binary", _calibrate(JUNK), r"spec\.toml: line 1: binary content"),
    Case("spec-latin1", _calibrate(("# Calibration \u00e9\n" + SPEC).encode("latin-1")),
         r"spec\.toml: line 1: not valid UTF-8"),
    Case("spec-duplicate-key", _calibrate(_spec("upper = 0.3", "upper = 0.3\nupper = 0.4")),
         r"spec\.toml: not valid TOML: .*line 16"),
    Case("spec-unknown-key", _calibrate(_spec("upper = 0.3", "uper = 0.3")),
         r"spec\.toml: parameters\[0\]: (missing key 'upper'|unknown key)"),
    Case("spec-unknown-parameter-variable", _calibrate(_spec("Growth Rate", "Growth Rat")),
         r"spec\.toml: parameter 'g\[Yichang\]': no variable named 'Growth Rat'; "
         r"did you mean 'Growth Rate'.* \(in .*decay_city\.mdl\)"),
    Case("spec-unknown-target-variable", _calibrate(_spec('"Output"', '"Outptu"')),
         r"spec\.toml: target 'Outptu\[Yichang\]': no variable named 'Outptu'"),
    Case("spec-unknown-fixed", _calibrate(SPEC + '\n[fixed]\n"Intensty" = 0.1\n'),
         r"spec\.toml: fixed: no variable named 'Intensty'"),
    Case("spec-unknown-element", _calibrate(_spec('"Enshi"]', '"Wuhan"]')),
         r"spec\.toml: parameter 'g\[Wuhan\]': 'Wuhan' is not an element of 'Growth Rate'"),
    Case("spec-unknown-indicator", _calibrate(_spec('indicator = "gdp"', 'indicator = "gpd"')),
         r"spec\.toml: targets\[0\]: indicator 'gpd' is not in .*data\.csv"),
    Case("spec-lower-above-upper", _calibrate(_spec("lower = 0.0", "lower = 0.5")),
         r"spec\.toml: parameters\[0\]: lower \(0\.5\) must be < upper \(0\.3\)"),
    Case("spec-initial-outside", _calibrate(_spec("initial = 0.05", "initial = 0.9")),
         r"spec\.toml: parameters\[0\]: initial 0\.9 is outside \[0\.0, 0\.3\]"),
    Case("spec-nan", _calibrate(_spec("lower = 0.0", "lower = nan")),
         r"spec\.toml: parameters\[0\]: 'lower' must be finite, got nan"),
    Case("spec-inf", _calibrate(_spec("upper = 0.3", "upper = inf")),
         r"spec\.toml: parameters\[0\]: 'upper' must be finite, got inf"),
    Case("spec-wrong-type", _calibrate(_spec("upper = 0.3", 'upper = "high"')),
         r"spec\.toml: parameters\[0\]: 'upper' must be float, got 'high'"),
    Case("spec-wrong-type-bool", _calibrate(_spec("upper = 0.3", "upper = true")),
         r"spec\.toml: parameters\[0\]: 'upper' must be float, got True"),
    Case("spec-unknown-method", _calibrate(_spec('"least_squares"', '"newton"')),
         r"spec\.toml: method 'newton' unknown"),
    Case("spec-fit-stop-before-start", _calibrate(_spec("stop = 2018", "stop = 2005")),
         r"spec\.toml: fit stop 2005.0 is before start 2010.0"),
    Case("spec-no-model", _calibrate(_spec('model = "decay_city.mdl"\n', "")),
         r"spec\.toml: missing key 'model'"),
    Case("spec-model-missing", _calibrate(_spec("decay_city.mdl", "nomodel.mdl")),
         r"nomodel\.mdl: no such file"),
    # -- calibrate arguments ---------------------------------------------------------------
    Case("calibrate-bad-seed", _calibrate(SPEC, DATA, "--seed", "-1"),
         r"seed must be >= 0: -1"),
    Case("calibrate-bad-workers", _calibrate(SPEC, DATA, "--workers", "0"),
         r"workers must be an integer >= 1: 0"),
    Case("calibrate-bad-method", _calibrate(SPEC, DATA, "--method", "newton"),
         r"argument --method: invalid choice: 'newton'"),
    # -- scenario files ------------------------------------------------------------------
    Case("scenario-empty", _scenarios(b""), r"s0\.toml: file is empty"),
    Case("scenario-missing", lambda f: ["scenarios", "run", str(f / "none.toml")],
         r"none\.toml: no such scenario file"),
    Case("scenario-truncated", _scenarios(SCENARIO[: SCENARIO.index("strength") + 10]),
         r"s0\.toml: not valid TOML: .*line 7"),
    Case("scenario-invalid-toml", _scenarios(_scen("ramp_years = 5", "ramp_years = ")),
         r"s0\.toml: not valid TOML: .*line 9"),
    Case("scenario-binary", _scenarios(JUNK), r"s0\.toml: line 1: binary content"),
    Case("scenario-duplicate-key", _scenarios(_scen("strength = 1.0", "strength = 1.0\n"
                                                    "strength = 0.5")),
         r"s0\.toml: not valid TOML: .*line 8"),
    Case("scenario-unknown-key", _scenarios(_scen("ramp_years", "ramp_yeras")),
         r"s0\.toml: levers\.green: unknown key\(s\) 'ramp_yeras'"),
    Case("scenario-unknown-variable", _scenarios(_scen("Lever green transition",
                                                       "Lever green transit")),
         r"s0\.toml: levers\.green\.variable: no variable named 'Lever green transit'"),
    Case("scenario-unknown-constant", _scenarios(SCENARIO + '\n[constants]\n"Growth rat" = 1\n'),
         r"s0\.toml: constants: no variable named 'Growth rat'"),
    Case("scenario-negative-ramp", _scenarios(_scen("ramp_years = 5", "ramp_years = -2")),
         r"s0\.toml: levers\.green\.ramp_years: expected a number >= 0, got -2"),
    Case("scenario-start-after-run", _scenarios(_scen("2026", "2100")),
         r"s0\.toml: levers\.green\.start_year: 2100 is outside the run \(2010 to 2060\) "
         r"of .*mini_iis\.mdl"),
    Case("scenario-start-before-run", _scenarios(_scen("2026", "1900")),
         r"s0\.toml: levers\.green\.start_year: 1900 is outside the run \(2010 to 2060\)"),
    Case("scenario-wrong-type", _scenarios(_scen("strength = 1.0", 'strength = "high"')),
         r"s0\.toml: levers\.green\.strength: expected a number, got 'high'"),
    Case("scenario-nan", _scenarios(_scen("strength = 1.0", "strength = nan")),
         r"s0\.toml: levers\.green\.strength: expected a finite number, got nan"),
    Case("scenario-no-table", _scenarios('name = "x"\n'),
         r"s0\.toml: \(top level\): unknown key\(s\) 'name'"),
    Case("scenario-second-file-bad",
         _scenarios(SCENARIO, _scen('"green"', '"other"').replace("2026", "2100"),
                    folder_run=True),
         r"s1\.toml: levers\.green\.start_year: 2100 is outside the run"),
    Case("scenarios-unknown-column", _scenarios(SCENARIO, extra=("--columns", "GPD")),
         r"no variable named 'GPD'"),
    Case("scenarios-params-missing",
         _scenarios(SCENARIO, extra=("--params", "nowhere.cin")),
         r"nowhere\.cin: changes file not found"),
    Case("scenarios-list-missing", lambda f: ["scenarios", "list", str(f / "nofolder")],
         r"nofolder: no such scenario folder"),
    # -- changes files (.cin) given to set -------------------------------------------------
    Case("set-cin-duplicate",
         _command("set", "--cin", "{folder}/d.cin",
                  files={"d.cin": b"Room Temperature = 20\nroom_temperature = 30\n"}),
         r"d\.cin: line 2: 'room_temperature' is set twice \(first on line 1\)"),
    Case("set-cin-not-a-number",
         _command("set", "--cin", "{folder}/v.cin", files={"v.cin": b"Room Temperature = x\n"}),
         r"v\.cin: line 1: value of 'Room Temperature' must be a number: 'x'"),
    Case("set-cin-unknown-name",
         _command("set", "--cin", "{folder}/u.cin", files={"u.cin": b"Room Tempx = 1\n"}),
         r"teacup\.mdl: no variable named 'Room Tempx'"),
    Case("set-cin-nan",
         _command("set", "--cin", "{folder}/n.cin", files={"n.cin": b"Room Temperature = nan\n"}),
         r"n\.cin: line 1: value of 'Room Temperature' must be finite: 'nan'"),
    Case("set-cin-missing", _command("set", "--cin", "{folder}/none.cin"),
         r"none\.cin: changes file not found"),
    Case("set-cin-open-comment",
         _command("set", "--cin", "{folder}/c.cin", files={"c.cin": b"{ note\nK = 1\n"}),
         r"c\.cin: line 1: '\{' comment is never closed"),
    # -- set ------------------------------------------------------------------------------
    Case("set-nothing", _command("set"), r"nothing to change; give NAME=VALUE or --cin FILE"),
    Case("set-cli-unknown-name", _command("set", "Room Temprature=20"),
         r"teacup\.mdl: no variable named 'Room Temprature'"),
    Case("set-cli-not-a-number", _command("set", "Room Temperature=warm"),
         r"'Room Temperature' must be a number: 'warm'"),
    Case("set-cli-no-equals", _command("set", "Room Temperature"),
         r"NAME=VALUE 'Room Temperature': expected NAME=VALUE"),
    Case("set-cli-missing-model", _command("set", "Room Temperature=20", model=_missing),
         r"nowhere\.mdl: no such file"),
    Case("set-cli-binary-model", _command("set", "Room Temperature=20", model=junk),
         r"junk\.mdl: line 1: binary content"),
    Case("set-cli-out-exists",
         _command("set", "Room Temperature=20", "--out", "{folder}/keep.mdl",
                  files={"keep.mdl": b"keep me\n"}),
         r"keep\.mdl: exists"),
    Case("set-cli-out-in-place", _command("set", "Room Temperature=20", "--out", "{out}",
                                          "--in-place"),
         r"argument --in-place: not allowed with argument --out"),
    # -- check, loops, diff -----------------------------------------------------------------
    Case("check-missing", _command("check", model=_missing), r"nowhere\.mdl: no such file"),
    Case("check-empty", _command("check", model=empty), r"empty\.mdl: file is empty"),
    Case("check-binary", _command("check", model=junk), r"junk\.mdl: line 1: binary content"),
    Case("check-utf16", _command("check", model=utf16), r"utf16\.mdl: .*UTF-16"),
    Case("check-wrong-extension", _command("check", model=wrong_ext),
         r"teacup\.txt: unknown model format '\.txt'"),
    Case("loops-missing", _command("loops", model=_missing), r"nowhere\.mdl: no such file"),
    Case("loops-binary", _command("loops", model=junk), r"junk\.mdl: line 1: binary content"),
    Case("loops-bad-max", _command("loops", "--max-loops", "0"), r"--max-loops must be >= 1: 0"),
    Case("loops-bad-out", _command("loops", "--out", "{out}.xlsx"),
         r"out\.xlsx: unknown output format '\.xlsx'"),
    Case("diff-missing", _command("diff", "{folder}/nowhere.mdl"), r"nowhere\.mdl: no such file"),
    Case("diff-empty", _command("diff", "{folder}/empty.mdl", files={"empty.mdl": b""}),
         r"empty\.mdl: file is empty"),
    Case("diff-binary", _command("diff", "{folder}/junk.mdl", model=utf16,
                                 files={"junk.mdl": JUNK}),
         r"utf16\.mdl: .*UTF-16"),
    # -- report configuration and sdkit report ----------------------------------------------
    Case("report-config-empty", _report(b""), r"report\.toml: file is empty"),
    Case("report-config-missing", lambda f: ["report", "--config", str(f / "none.toml"),
                                             "--root", str(f.parent), "--name", "out"],
         r"none\.toml: no such report configuration"),
    Case("report-config-binary", _report(JUNK), r"report\.toml: line 1: binary content"),
    Case("report-config-invalid", _report(_rep('title = "', 'title = ')),
         r"report\.toml: not valid TOML: .*line 2"),
    Case("report-config-duplicate-key", _report(_rep('model = "mini_iis.mdl"',
                                                     'model = "mini_iis.mdl"\nmodel = "x"')),
         r"report\.toml: not valid TOML: .*line 4"),
    Case("report-config-no-report-table", _report('title = "x"\n'),
         r"report\.toml: report: missing"),
    Case("report-config-wrong-type", _report(_rep('title = "Bad-input test report"',
                                                  "title = 3")),
         r"report\.toml: report: title: expected str, got 3"),
    Case("uncertainty-negative-members",
         lambda f: ["uncertainty", str(_report_files(
             f, REPORT + '\n[uncertainty]\nmodel = "mini_iis.mdl"\nmembers = -5\n'
             '[[uncertainty.parameters]]\nname = "Investment rate"\nlower = 0.1\nupper = 0.3\n'
             'source = "assumed"\n')),
             "--out", str(f.parent / "out")],
         r"report\.toml: uncertainty\.members: expected an integer >= 0, got -5"),
    Case("report-config-peak-before-start", _report(
        REPORT + '[[report.peaks]]\nvariable = "CO2 emissions"\nstart = 2030\nbefore = 2025\n'),
         r"report\.toml: report\.peaks\[0\]: before: expected a time after start \(2030\), "
         r"got 2025"),
    Case("report-config-peak-start-in-history", _report(
        REPORT.replace('summary = [', 'projection_start = 2021\nsummary = [')
        + '[[report.peaks]]\nvariable = "CO2 emissions"\nstart = 2012\n'),
         r"report\.toml: report\.peaks\[0\]: start: expected the last history year or a "
         r"projection year \(>= 2020"),
    Case("report-results-missing", _report(REPORT),
         r"results: not a report data folder"),
    Case("report-exists", lambda f: [*_report(REPORT)(f)[:-1], "in"],
         r"in: report folder exists; pass --overwrite"),
    # -- sdkit pipeline ------------------------------------------------------------------
    Case("pipeline-config-invalid", _pipeline(b"[report\n"),
         r"report\.toml: not valid TOML: .*line 1"),
    Case("pipeline-config-binary", _pipeline(JUNK), r"report\.toml: line 1: binary content"),
    Case("pipeline-unknown-output", _pipeline(_rep('"Carbon intensity"', '"Carbon intensty"')),
         r"no variable named 'Carbon intensty'"),
    Case("pipeline-scenarios-missing", _pipeline(REPORT, "--scenarios", "{folder}/none"),
         r"none: no such scenario folder"),
    Case("pipeline-model-missing", _pipeline(REPORT, "--model", "{folder}/none.mdl"),
         r"none\.mdl: no such file"),
    Case("pipeline-params-missing", _pipeline(REPORT, "--params", "{folder}/none.cin"),
         r"none\.cin: changes file not found"),
    Case("pipeline-params-bad-suffix", _pipeline(REPORT, "--params", "{folder}/report.toml"),
         r"report\.toml: expected a \.cin file or a calibration record"),
    Case("pipeline-negative-members", _pipeline(REPORT, "--members", "-3"),
         r"members must be >= 0: -3"),
    Case("pipeline-negative-sensitivity", _pipeline(REPORT, "--sensitivity-n", "-1"),
         r"sensitivity_n must be >= 0: -1"),
    Case("pipeline-bad-engine", _pipeline(REPORT, "--engine", "turbo"),
         r"argument --engine: invalid choice: 'turbo'"),
    Case("pipeline-out-exists", lambda f: [*_pipeline(REPORT)(f)[:-1], str(f)],
         r"in: report folder exists"),
]
CASES += MORE_CASES


# -- output paths (issue 12): never replace what is not ours, never escape --out ----------
def _special(name: str, kind: str) -> Callable[[Path], Path]:
    """An existing `kind` ("folder", "fifo", "dangling", "file") named `name` in the folder."""
    def make(folder: Path) -> Path:
        target = folder / name
        if kind == "folder":
            target.mkdir()
            (target / "keep.txt").write_text("keep me\n")
        elif kind == "fifo":
            os.mkfifo(target)
        elif kind == "dangling":
            target.symlink_to(folder / "nowhere")
        else:
            target.write_text("keep me\n")
        return target
    return make


def _run_out(kind: str, name: str = "res.csv", *extra: str) -> Callable[[Path], list[str]]:
    """``sdkit run teacup.mdl --out <existing kind> *extra``."""
    return lambda f: ["run", str(_teacup(f)), "--out", str(_special(name, kind)(f)), *extra]


def _calibrate_out(kind: str, name: str, *extra: str) -> Callable[[Path], list[str]]:
    def make(folder: Path) -> list[str]:
        args = _calibrate()(folder)
        args[args.index("--out") + 1] = str(_special(name, kind)(folder))
        return [*args, *extra]
    return make


def _calibrate_cin_folder(folder: Path) -> list[str]:
    args = _calibrate()(folder)
    out = folder / "results"
    out.mkdir()
    _special("fitted.cin", "folder")(out)
    args[args.index("--out") + 1] = str(out)
    return [*args, "--overwrite"]


def _scenarios_table(kind: str) -> Callable[[Path], list[str]]:
    def make(folder: Path) -> list[str]:
        args = _scenarios(SCENARIO)(folder)
        out = folder / "tables"
        out.mkdir()
        _special("green.parquet", kind)(out)
        args[args.index("--out") + 1] = str(out)
        return [*args, "--overwrite"]
    return make


def _report_out(kind: str) -> Callable[[Path], list[str]]:
    def make(folder: Path) -> list[str]:
        args = _report(REPORT)(folder)
        _special("target", kind)(folder)
        args[args.index("--root") + 1] = str(folder)
        args[args.index("--name") + 1] = "target"
        return [*args, "--overwrite"]
    return make


XMILE_TEACUP = MODELS.joinpath("teacup.xmile").read_bytes()
utf7_xmile = _file("utf7.xmile", XMILE_TEACUP.replace(b'encoding="UTF-8"', b'encoding="UTF-7"')
                   .replace(b"<xmile ", b"+ADw-!DOCTYPE x +AFs- +ADw-!ENTITY e SYSTEM "
                            b"+ACI-file:///etc/passwd+ACI- +AD4- +AF0- +AD4-\n<xmile ", 1))
latin1_xmile = _file("l1.xmile", XMILE_TEACUP.replace(b'encoding="UTF-8"',
                                                      b"encoding='ISO-8859-1'"))

PATH_CASES = [
    Case("run-out-folder-overwrite", _run_out("folder", "res.csv", "--overwrite"),
         r"res\.csv: is a folder; refusing to replace it"),
    Case("run-out-fifo-overwrite", _run_out("fifo", "res.csv", "--overwrite"),
         r"res\.csv: is a FIFO \(named pipe\); refusing to replace it"),
    Case("run-out-dangling-symlink", _run_out("dangling"),
         r"res\.csv: exists; refusing to overwrite"),
    Case("run-out-symlink-overwrite", _run_out("dangling", "res.csv", "--overwrite"),
         r"res\.csv: is a symbolic link; refusing to replace it"),
    Case("calibrate-out-file-overwrite", _calibrate_out("file", "res", "--overwrite"),
         r"res: is a regular file; refusing to replace it"),
    Case("calibrate-out-fifo", _calibrate_out("fifo", "res"),
         r"res: is a FIFO \(named pipe\); refusing to replace it"),
    Case("calibrate-out-cin-is-folder", _calibrate_cin_folder,
         r"fitted\.cin: is a folder; refusing to replace it"),
    Case("scenarios-table-is-folder", _scenarios_table("folder"),
         r"green\.parquet: is a folder; refusing to replace it"),
    Case("scenarios-table-is-fifo", _scenarios_table("fifo"),
         r"green\.parquet: is a FIFO"),
    Case("scenario-name-escapes", _scenarios(_scen('name = "green"', 'name = "../../escaped"')),
         r"s0\.toml: scenario\.name: '\.\./\.\./escaped' cannot be used as a file name "
         r"\(it holds a path separator"),
    Case("scenario-name-absolute", _scenarios(_scen('name = "green"', 'name = "/tmp/escaped"')),
         r"s0\.toml: scenario\.name: '/tmp/escaped' cannot be used as a file name"),
    Case("scenario-name-dotdot", _scenarios(_scen('name = "green"', 'name = ".."')),
         r"s0\.toml: scenario\.name: '\.\.' cannot be used as a file name \(it starts with"),
    Case("scenario-name-control", _scenarios(_scen('name = "green"', 'name = "a\\u0007b"')),
         r"s0\.toml: scenario\.name: 'a\\x07b' cannot be used .*control characters"),
    Case("scenario-name-empty", _scenarios(_scen('name = "green"', 'name = " "')),
         r"s0\.toml: scenario\.name: expected a non-empty string"),
    Case("report-out-is-file", _report_out("file"),
         r"target: is a regular file; refusing to replace it"),
    Case("report-out-foreign-folder", _report_out("folder"),
         r"target: folder exists and is not an sdkit report folder"),
    Case("pipeline-out-foreign-folder", lambda f: [*_pipeline(REPORT)(f)[:-1], str(f),
                                                   "--overwrite"],
         r"in: folder exists and is not an sdkit report folder"),
    Case("pipeline-out-fifo", lambda f: [*_pipeline(REPORT)(f)[:-1],
                                         str(_special("r", "fifo")(f)), "--overwrite"],
         r"r: is a FIFO \(named pipe\); refusing to replace it"),
    Case("set-out-wrong-suffix", _command("set", "Room Temperature=20", "--out", "{out}.txt"),
         r"--out .*out\.txt: expected a file ending in \.mdl \(the format of .*teacup\.mdl\)"),
    Case("set-out-xmile-as-mdl", _command("set", "Room Temperature=20", "--out", "{out}.mdl",
                                          model=_file("t.xmile", XMILE_TEACUP)),
         r"out\.mdl: expected a file ending in \.itmx, \.stmx, \.xmile, \.xml "),
    Case("set-out-fifo-overwrite", lambda f: ["set", str(_teacup(f)), "Room Temperature=20",
                                              "--out", str(_special("m.mdl", "fifo")(f)),
                                              "--overwrite"],
         r"m\.mdl: is a FIFO"),
    # -- XMILE encoding declaration ------------------------------------------------------
    Case("xmile-utf7-doctype", _run(utf7_xmile),
         r"utf7\.xmile: line 1: the XML declaration says encoding='UTF-7'; expected UTF-8"),
    Case("xmile-latin1-declared", _info(latin1_xmile),
         r"l1\.xmile: line 1: the XML declaration says encoding='ISO-8859-1'; expected UTF-8"),
]
CASES += PATH_CASES


# -- calibration data layouts for any model (issue 14): SIR with SYNTHETIC data --------------
SIR_SPEC = """# SYNTHETIC data (made up for this test)
model = "SIR.mdl"
data = {{ file = "{name}", format = "{fmt}" }}

[[parameters]]
variable = "Duration"
lower = 1.0
upper = 10.0
"""
SIR_WIDE = "time,Infectious,Recovered\n0,5,0\n10,40,20\n20,150,160\n"
SIR_LONG = ("time,variable,value,unit,source\n0,Infectious,5,Persons,synthetic\n"
            "10,Infectious,40,Persons,synthetic\n20,Infectious,150,Persons,synthetic\n")


def _sir(data: str, name: str = "sir.csv", fmt: str = "auto") -> Callable[[Path], list[str]]:
    """``sdkit calibrate spec.toml`` on SIR.mdl, fitting Duration to `data` (synthetic)."""
    def make(folder: Path) -> list[str]:
        shutil.copyfile(MODELS / "SIR.mdl", folder / "SIR.mdl")
        (folder / name).write_text(data, encoding="utf-8")
        (folder / "spec.toml").write_text(SIR_SPEC.format(name=name, fmt=fmt), encoding="utf-8")
        return ["calibrate", str(folder / "spec.toml"), "--out", str(folder.parent / "out"),
                "--no-plots", "--no-profile"]
    return make


DATA_LAYOUT_CASES = [
    Case("data-wide-unknown-variable", _sir(SIR_WIDE.replace("Infectious", "Infectous")),
         r"sir\.csv: column 'Infectous': no variable named 'Infectous'; did you mean "
         r"'Infectious'.*\(in .*SIR\.mdl\)"),
    Case("data-long-unknown-variable", _sir(SIR_LONG.replace("0,Infectious", "0,Infected", 1)),
         r"sir\.csv: line 2: no variable named 'Infected'; did you mean 'Infectious'"),
    Case("data-long-wrong-columns", _sir(SIR_LONG.replace("variable", "name", 1), fmt="long"),
         r"sir\.csv: missing column\(s\) variable in line 1; expected time, variable, value "
         r"\(optional: element, unit, source\); found time, name, value, unit, source"),
    Case("data-auto-wrong-columns", _sir("when,what,amount\n0,Infectious,5\n"),
         r"sir\.csv: line 1: cannot tell the layout from the columns \(when, what, amount\); "
         r"expected a wide table"),
    Case("data-wide-time-outside-run", _sir(SIR_WIDE + "150,3,990\n"),
         r"sir\.csv: line 5, column 2: Infectious at time 150 is outside the run of "
         r".*SIR\.mdl \(0 to 100\)"),
    Case("data-vensim-time-outside-run", _sir("Time\t-5\t0\t10\nInfectious\t1\t5\t40\n",
                                              name="sir.tab"),
         r"sir\.tab: line 2, column 2: Infectious at time -5 is outside the run of "
         r".*SIR\.mdl \(0 to 100\)"),
    Case("data-vensim-bad-time", _sir("Time\t0\tten\nInfectious\t5\t40\n", name="sir.tab",
                                      fmt="vensim"),
         r"sir\.tab: line 1, column 3: time must be a number: 'ten'"),
    Case("data-long-unit-mismatch", _sir(SIR_LONG.replace("Persons", "Days")),
         r"sir\.csv: line 2: unit 'Days' of Infectious does not match the model's units "
         r"'Persons' \(.*SIR\.mdl\); expected 'Persons'"),
    Case("spec-data-unknown-format", _sir(SIR_WIDE, fmt="xlsx"),
         r"spec\.toml: data: format 'xlsx' unknown; expected one of auto, wide, long, vensim"),
]
CASES += DATA_LAYOUT_CASES

# integration methods (issue 16 item 2): unknown name, PySD asked for RK4, a construct RK4
# cannot honour
sampled = _file("sampled.mdl", TEACUP.replace(
    b"Heat Loss to Room=",
    b"Sampled= SAMPLE IF TRUE(Time > 3, Teacup Temperature, 0)\n\t~\t\n\t~\t\t|\n\n"
    b"Heat Loss to Room=", 1))
METHOD_CASES = [
    Case("run-unknown-method", _run(teacup, "--method", "rk3"),
         r"method must be one of euler, rk2, rk4: 'rk3'"),
    Case("run-rk4-with-pysd", _run(teacup, "--method", "rk4", "--engine", "pysd"),
         r"teacup\.mdl: PySD integrates with Euler only, not RK4"),
    Case("run-rk4-discrete-function", _run(sampled, "--method", "RK4"),
         r"sampled\.mdl: .*RK4 on a model with discrete functions the method cannot honour: "
         r"'Sampled' uses SAMPLE IF TRUE"),
]
CASES += METHOD_CASES

# outputs, sdkit set and sdkit info (issue 16 items 3-5): out-of-range values without
# --force, a close name suggested, an unknown --out suffix (the message lists .tab too)
OUTPUT_SET_CASES = [
    Case("set-out-of-range", _command("set", "Room Temperature=-500"),
         r"teacup\.mdl: Room Temperature = -500 is outside the declared range "
         r"\[-459\.67, \?\] of 'Room Temperature'; use --force"),
    Case("set-out-of-range-in-place", _command("set", "Characteristic Time=-1", "--in-place"),
         r"teacup\.mdl: Characteristic Time = -1 is outside the declared range \[0, \?\]"),
    Case("set-unknown-name-did-you-mean", _command("set", "Room Temprature=20"),
         r"no variable named 'Room Temprature'; did you mean 'Room Temperature'"),
    Case("run-out-no-suffix", lambda f: ["run", str(_teacup(f)), "--out", str(f / "results")],
         r"--out .*results: expected a file ending in \.csv, \.nc, \.parquet, \.tab"),
    Case("run-out-unknown-suffix", lambda f: ["run", str(_teacup(f)), "--out", str(f / "r.json")],
         r"--out .*r\.json: expected a file ending in \.csv"),
]
CASES += OUTPUT_SET_CASES


# -- the study files for any model (issue 14): calibration data in every layout, scenario files,
# uncertainty and sensitivity specs, report configuration and study file, on SIR.mdl (a
# variable, times 0-100 in Day, Infectious in Persons). Each base file below runs as is
# (test_study_bases_run); each row breaks one thing: wrong columns, an unknown variable, a
# time outside the run, a unit mismatch, and what else a new user writes.
SIR_UNC = """[uncertainty]
model = "SIR.mdl"
members = 4
seed = 1
outputs = ["Infectious"]
times = [10, 50]

[[uncertainty.parameters]]
name = "Duration"
lower = 4
upper = 6
source = "assumed for the test"
"""
SIR_SENS = """[sensitivity]
model = "SIR.mdl"
n = 4
seed = 1

[[sensitivity.factors]]
name = "Duration"
lower = 4
upper = 6
source = "assumed for the test"

[[sensitivity.factors]]
name = "Contact Infectivity"
lower = 0.2
upper = 0.4
source = "assumed for the test"

[[sensitivity.outcomes]]
name = "peak"
variable = "Infectious"
statistic = "max"
units = "Persons"
"""
SIR_SCEN = """[scenario]
name = "baseline"
model = "../SIR.mdl"

[constants]
"Contact Infectivity" = 0.3

[outputs]
variables = ["Infectious"]
"""
SIR_REPORT = """[report]
title = "SIR bad-input test"
model = "SIR.mdl"
summary_years = [10, 50]

[[report.peaks]]
variable = "Infectious"
label = "infectious"
start = 5

[[indicators]]
variable = "Infectious"
units = "Persons"
"""
SIR_STUDY = """[study]
model = "SIR.mdl"
scenarios = "scenarios"
report = "report.toml"
out = "report"
"""
SIR_RECORD = ('{"parameters": {"Duration": {"variable": "Duration", "value": 5.0, '
              '"stderr": 0.3, "lower": 1.0, "upper": 10.0}}, "fixed": {}}')


def _sir_spec(data: str, old: str, new: str) -> Callable[[Path], list[str]]:
    """:func:`_sir` with `old` replaced by `new` in its calibration spec."""
    def make(folder: Path) -> list[str]:
        argv = _sir(data)(folder)
        spec = folder / "spec.toml"
        text = spec.read_text(encoding="utf-8")
        assert old in text, old
        spec.write_text(text.replace(old, new, 1), encoding="utf-8")
        return argv
    return make


def _sir_files(folder: Path, files: dict[str, str]) -> None:
    shutil.copyfile(MODELS / "SIR.mdl", folder / "SIR.mdl")
    for name, text in files.items():
        (folder / name).parent.mkdir(exist_ok=True)
        (folder / name).write_text(text, encoding="utf-8")


def _study_step(command: str, files: dict[str, str], *extra: str) -> Callable[[Path], list[str]]:
    """``sdkit COMMAND`` on SIR.mdl with `files` beside it, writing ``../out``.

    ``uncertainty``/``sensitivity`` read ``spec.toml``; ``scenarios`` runs ``scenarios/``;
    ``pipeline`` reads ``study.toml``.
    """
    def make(folder: Path) -> list[str]:
        _sir_files(folder, files)
        out = str(folder.parent / "out")
        args = [a.replace("{folder}", str(folder)) for a in extra]
        if command == "scenarios":
            return ["scenarios", "run", str(folder / "scenarios"), *args, "--out", out]
        if command == "pipeline":
            return ["pipeline", str(folder / "study.toml"), "--no-calibrate", "--members", "0",
                    "--sensitivity-n", "0", "--no-progress", *args, "--out", out]
        return [command, str(folder / "spec.toml"), *args, "--no-progress", "--out", out]
    return make


def _unc(old: str = "", new: str = "", *extra: str, record: str | None = None):
    assert old in SIR_UNC, old
    files = {"spec.toml": SIR_UNC.replace(old, new, 1)}
    if record is not None:
        files["fit.json"] = record
    return _study_step("uncertainty", files, *extra)


def _sens(old: str = "", new: str = "", *extra: str):
    assert old in SIR_SENS, old
    return _study_step("sensitivity", {"spec.toml": SIR_SENS.replace(old, new, 1)}, *extra)


def _scen_sir(old: str = "", new: str = "", *extra: str):
    assert old in SIR_SCEN, old
    return _study_step("scenarios", {"scenarios/baseline.toml": SIR_SCEN.replace(old, new, 1)},
                       *extra)


def _report_sir(old: str = "", new: str = "", study: str = SIR_STUDY):
    """``sdkit pipeline study.toml`` (no calibration, no Monte Carlo, no sensitivity)."""
    assert old in SIR_REPORT, old
    return _study_step("pipeline", {"report.toml": SIR_REPORT.replace(old, new, 1),
                                    "scenarios/baseline.toml": SIR_SCEN, "study.toml": study})


NO_PARAMETERS = SIR_UNC[:SIR_UNC.index("[[uncertainty.parameters]]")]
STUDY_FILE_CASES = [
    # -- calibration data: wide, long and Vensim layouts ---------------------------------------
    Case("data-wide-empty-column-name", _sir("time,,Recovered\n0,5,0\n10,40,20\n"),
         r"sir\.csv: line 1, column 2: empty column name; expected a variable name"),
    Case("data-wide-column-twice", _sir("time,Infectious,Infectious\n0,5,5\n10,40,40\n"),
         r"sir\.csv: line 1, column 3: column 'Infectious' given twice \(first in column 2\)"),
    Case("data-wide-not-a-number", _sir(SIR_WIDE.replace("40", "forty")),
         r"sir\.csv: line 3, column 2: Infectious value must be a number: 'forty'"),
    Case("data-wide-ragged-row", _sir(SIR_WIDE + "30,200\n"),
         r"sir\.csv: line 5: expected 3 fields \(time, Infectious, Recovered\), got 2"),
    Case("data-long-time-outside-run",
         _sir(SIR_LONG + "120,Infectious,3,Persons,synthetic\n"),
         r"sir\.csv: line 5: Infectious at time 120 is outside the run of .*SIR\.mdl "
         r"\(0 to 100\)"),
    Case("data-long-mapped-column-missing",
         _sir_spec(SIR_LONG, 'format = "auto"', 'columns = { time = "day" }'),
         r"sir\.csv: missing column\(s\) day in line 1; expected day, variable, value"),
    Case("data-vensim-unknown-variable",
         _sir("Time\t0\t10\nInfectous\t5\t40\n", name="sir.tab"),
         r"sir\.tab: line 2, column 2: no variable named 'Infectous'; did you mean "
         r"'Infectious'"),
    Case("data-vensim-ragged-row", _sir("Time\t0\t10\nInfectious\t5\t40\t70\n", name="sir.tab"),
         r"sir\.tab: line 2: expected 3 fields \(Time, 0, 10\), got 4"),
    Case("data-long-unit-per-time", _sir(SIR_LONG.replace("Persons", "Persons/Day")),
         r"sir\.csv: line 2: unit 'Persons/Day' of Infectious does not match the model's "
         r"units 'Persons'"),
    # -- calibration spec against its data -----------------------------------------------------
    Case("spec-target-not-in-data",
         _sir_spec(SIR_WIDE, "upper = 10.0", 'upper = 10.0\n[[targets]]\nvariable = '
                   '"Susceptible"'),
         r"spec\.toml: targets\[0\]: variable 'Susceptible' is not in .*sir\.csv; it holds "
         r"'Infectious', 'Recovered'"),
    # -- scenario files ------------------------------------------------------------------------
    Case("scenario-outputs-unknown-variable", _scen_sir('["Infectious"]', '["Infected"]'),
         r"baseline\.toml: outputs\.variables: no variable named 'Infected'; did you mean "
         r"'Infectious'.* \(in .*SIR\.mdl\)"),
    Case("scenario-outputs-empty", _scen_sir('["Infectious"]', "[]"),
         r"baseline\.toml: outputs\.variables: expected a non-empty list of variable names"),
    Case("scenario-outputs-unknown-key", _scen_sir("variables =", "columns ="),
         r"baseline\.toml: outputs: unknown key\(s\) 'columns'; expected some of variables"),
    Case("scenario-no-outputs", _scen_sir('[outputs]\nvariables = ["Infectious"]\n', ""),
         r"baseline\.toml: outputs: no variables named; add \[outputs\] variables"),
    Case("scenario-constant-unknown", _scen_sir('"Contact Infectivity"', '"Contact Infectivty"'),
         r"baseline\.toml.*'Contact Infectivty'.*did you mean 'Contact Infectivity'"),
    Case("scenario-constant-is-time-setting", _scen_sir('"Contact Infectivity"', '"TIME STEP"'),
         r"baseline\.toml: constants\.TIME STEP: 'TIME STEP' is a time setting"),
    Case("scenario-constant-not-a-number", _scen_sir("= 0.3", '= "high"'),
         r"baseline\.toml: constants\.Contact Infectivity: expected a number, got 'high'"),
    # -- uncertainty spec ----------------------------------------------------------------------
    Case("uncertainty-unknown-key", _unc("members =", "member ="),
         r"spec\.toml: uncertainty: unknown key\(s\) 'member'; expected some of "),
    Case("uncertainty-unknown-output", _unc('["Infectious"]', '["Infected"]'),
         r"spec\.toml: uncertainty\.outputs: no variable named 'Infected'; did you mean "
         r"'Infectious'.* \(in .*SIR\.mdl\)"),
    Case("uncertainty-unknown-parameter", _unc('name = "Duration"', 'name = "Duratoin"'),
         r"spec\.toml: uncertainty\.parameters: no variable named 'Duratoin'; did you mean "
         r"'Duration'"),
    Case("uncertainty-time-outside-run", _unc("times = [10, 50]", "times = [10, 150]"),
         r"spec\.toml: uncertainty\.times: time 150 is outside the run \(0 to 100\) of "
         r".*SIR\.mdl"),
    Case("uncertainty-time-not-saved", _unc("times = [10, 50]", "times = [10.5]"),
         r"spec\.toml: uncertainty\.times: time 10\.5 is not a saved time of the run "
         r"\(saved from 0 to 100, every 1\)"),
    Case("uncertainty-peak-start-outside-run", _unc("times =", "peak_start = -3\ntimes ="),
         r"spec\.toml: uncertainty\.peak_start: time -3 is outside the run"),
    Case("uncertainty-parameter-no-source", _unc('source = "assumed for the test"\n', ""),
         r"spec\.toml: uncertainty\.parameters\[0\]\.source: expected a non-empty string, "
         r"got None"),
    Case("uncertainty-normal-without-sd", _unc("lower = 4", 'distribution = "normal"\nmean = 5'),
         r"spec\.toml: uncertainty\.parameters\[0\]\.sd: missing \(a normal parameter needs "
         r"mean and sd\)"),
    Case("uncertainty-no-outputs", _unc('outputs = ["Infectious"]\n', ""),
         r"spec\.toml: uncertainty\.outputs: missing; name the variables to keep "
         r"\(or pass --columns\)"),
    Case("uncertainty-parameters-and-record",
         _unc("times =", 'from_calibration = "fit.json"\ntimes =', record=SIR_RECORD),
         r"spec\.toml: uncertainty\.parameters: given with from_calibration; expected either "
         r"\[\[uncertainty\.parameters\]\] tables or from_calibration"),
    Case("uncertainty-record-missing",
         lambda f: _unc(SIR_UNC, NO_PARAMETERS + 'from_calibration = "nofit.json"\n')(f),
         r"nofit\.json: no such calibration record"),
    Case("uncertainty-record-not-json",
         _unc(SIR_UNC, NO_PARAMETERS + 'from_calibration = "fit.json"\n', record="{oops"),
         r"fit\.json: line 1: cannot read calibration record"),
    Case("uncertainty-record-other-model",
         _unc(SIR_UNC, NO_PARAMETERS + 'from_calibration = "fit.json"\n',
              record=SIR_RECORD.replace('"variable": "Duration"', '"variable": "Duratoin"')),
         r"fit\.json: parameters: no variable named 'Duratoin'; did you mean 'Duration'"),
    Case("uncertainty-cli-record-missing", _unc("", "", "--from-calibration", "{folder}/x.json"),
         r"x\.json: no such calibration record"),
    Case("uncertainty-cli-zero-members", _unc("", "", "--members", "0"),
         r"spec\.toml: uncertainty\.members: expected at least 1 member, got 0"),
    # -- sensitivity spec ----------------------------------------------------------------------
    Case("sensitivity-unknown-key", _sens("seed =", "sed ="),
         r"spec\.toml: sensitivity: unknown key\(s\) 'sed'"),
    Case("sensitivity-unknown-factor", _sens('name = "Duration"', 'name = "Duratoin"'),
         r"spec\.toml: sensitivity\.factors: no variable named 'Duratoin'; did you mean "
         r"'Duration'"),
    Case("sensitivity-unknown-outcome-variable", _sens('variable = "Infectious"',
                                                       'variable = "Infected"'),
         r"spec\.toml: sensitivity\.outcomes\[0\]: no variable named 'Infected'"),
    Case("sensitivity-outcome-time-outside-run",
         _sens('statistic = "max"', 'statistic = "value"\nyear = 150'),
         r"spec\.toml: sensitivity\.outcomes\[0\]: time 150 is outside the run \(0 to 100\)"),
    Case("sensitivity-outcome-unit-mismatch", _sens('units = "Persons"', 'units = "Days"'),
         r"spec\.toml: sensitivity\.outcomes\[0\]\.units: 'Days' does not match the model's "
         r"units of Infectious 'Persons' \(.*SIR\.mdl\); expected 'Persons'"),
    Case("sensitivity-peak-unit-mismatch",
         _sens('statistic = "max"', 'statistic = "peak_year"'),
         r"spec\.toml: sensitivity\.outcomes\[0\]\.units: 'Persons' does not match the model's "
         r"time units 'Day'"),
    Case("sensitivity-unknown-statistic", _sens('"max"', '"mean"'),
         r"spec\.toml: sensitivity\.outcomes\[0\]\.statistic: expected one of value, ratio, "
         r"cumulative, peak_year, max, min, got 'mean'"),
    Case("sensitivity-factor-no-source", _sens('source = "assumed for the test"\n', ""),
         r"spec\.toml: sensitivity\.factors\[0\]\.source: missing"),
    Case("sensitivity-one-factor",
         _sens(SIR_SENS[SIR_SENS.index("[[sensitivity.factors]]"):
                        SIR_SENS.index("[[sensitivity.factors]]\nname = \"Contact")], ""),
         r"spec\.toml: sensitivity: expected at least two \[\[sensitivity\.factors\]\]"),
    Case("sensitivity-n-not-power-of-two", _sens("n = 4", "n = 6"),
         r"spec\.toml: sensitivity\.n: expected a power of two for Sobol', got 6"),
    Case("sensitivity-cli-n-not-power-of-two", _sens("", "", "--n", "12"),
         r"spec\.toml: --n: expected a power of two for Sobol', got 12"),
    Case("sensitivity-cli-n-zero", _sens("", "", "--n", "0"),
         r"spec\.toml: --n: expected an integer >= 1, got 0"),
    # -- report configuration (checked by the pipeline before it draws) ------------------------
    Case("report-config-unknown-variable", _report_sir('variable = "Infectious"\nunits',
                                                       'variable = "Infected"\nunits'),
         r"report\.toml: indicators\[0\]\.variable: no variable named 'Infected'; did you mean "
         r"'Infectious'.* \(in .*SIR\.mdl\)"),
    Case("report-config-unknown-peak-variable", _report_sir('variable = "Infectious"\nlabel',
                                                            'variable = "Infected"\nlabel'),
         r"report\.toml: report\.peaks\[0\]\.variable: no variable named 'Infected'"),
    Case("report-config-summary-outside-run", _report_sir("[10, 50]", "[10, 150]"),
         r"report\.toml: report\.summary_years: time 150 is not a saved time of the runs "
         r"\(saved from 0 to 100, every 1\)"),
    Case("report-config-peak-start-outside-run", _report_sir("start = 5", "start = 100"),
         r"report\.toml: report\.peaks\[0\]\.start: time 100 leaves fewer than two saved "
         r"times on one side"),
    Case("report-config-unknown-key", _report_sir("summary_years =", "summary_times ="),
         r"report\.toml: report: unknown key\(s\) 'summary_times'"),
    Case("report-config-indicator-unknown-key", _report_sir("units =", "unit ="),
         r"report\.toml: indicators\[0\]: unknown key\(s\) 'unit'"),
    # -- study file ----------------------------------------------------------------------------
    Case("study-unknown-key", _report_sir(study=SIR_STUDY.replace("scenarios =", "scenario =")),
         r"study\.toml: study: unknown key\(s\) 'scenario'"),
    Case("study-missing-report", _report_sir(study=SIR_STUDY.replace('report = "report.toml"\n',
                                                                     "")),
         r"study\.toml: study\.report: missing \(expected report, scenarios and out\)"),
    Case("study-report-missing-file",
         _report_sir(study=SIR_STUDY.replace('"report.toml"', '"nothere.toml"')),
         r"nothere\.toml: no such"),
]
CASES += STUDY_FILE_CASES


@pytest.mark.parametrize("make", [_unc(), _sens(), _scen_sir(), _report_sir(),
                                  _unc(SIR_UNC, NO_PARAMETERS + 'from_calibration = "fit.json"\n',
                                       record=SIR_RECORD)],
                         ids=["uncertainty", "sensitivity", "scenarios", "study-and-report",
                              "from-calibration"])
def test_study_bases_run(make, tmp_path, capsys):
    """The unbroken files of STUDY_FILE_CASES run: each row fails for its one change only."""
    folder = tmp_path / "in"
    folder.mkdir()
    code, out, err = _cli(make(folder), capsys)
    assert code == 0, err

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
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in"]  # no output, no temporary
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


@pytest.mark.parametrize("text", [b"", b"{ fitted later }\n\n: nothing yet\n"],
                         ids=["zero-bytes", "comments-only"])
def test_empty_cin_is_a_no_op_with_a_warning(text, tmp_path, capsys):
    """Not an error: as in Vensim, a changes file without changes changes nothing."""
    import pandas as pd

    from sdkit import SdkitWarning, read_cin

    model = _teacup(tmp_path)
    cin = tmp_path / "empty.cin"
    cin.write_bytes(text)
    plain, changed = tmp_path / "plain.csv", tmp_path / "changed.csv"
    assert main(["run", str(model), "--out", str(plain)]) == 0
    capsys.readouterr()
    assert main(["run", str(model), "--cin", str(cin), "--out", str(changed)]) == 0
    err = capsys.readouterr().err
    assert err.count("sdkit: warning:") == 1, err
    assert "empty.cin: changes file holds no changes; nothing is changed" in err
    pd.testing.assert_frame_equal(pd.read_csv(changed), pd.read_csv(plain))
    with pytest.warns(SdkitWarning, match="holds no changes"):
        assert read_cin(cin) == {}
    assert cin.read_bytes() == text
