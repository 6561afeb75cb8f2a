"""Time settings are checked wherever they come from (issue 12).

Routes: the model file at load (Vensim and XMILE), ``simulate`` and the
ensemble engine (``sdkit run --dt``), ``sdkit set`` and ``.cin`` files,
scenario files (calibration specs: tests/calibration/test_calibration_problem.py).
A step that is zero or negative used to hang PySD's Euler loop; a step that
does not divide the run, or a SAVEPER that does not reach the final time,
used to change the output without a word; a huge output used to end in a
MemoryError traceback.
"""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest

import sdkit
from sdkit.cli import main
from sdkit.edit.writeback import edit_model
from sdkit.engine.run import save_times
from sdkit.errors import InvalidValueError, SdkitWarning, SpecError, TranslationError
from sdkit.model.timesettings import check_time_settings, run_end
from sdkit.scenarios.spec import read_scenario

MODELS = Path(__file__).resolve().parent / "models"
TEACUP = (MODELS / "teacup.mdl").read_text(encoding="utf-8")
TEACUP_XMILE = (MODELS / "teacup.xmile").read_text(encoding="utf-8")
TIME_STEP_LINE = TEACUP.splitlines().index("TIME STEP  = 0.125") + 1


def _mdl(tmp_path: Path, old: str, new: str, name: str = "m.mdl") -> Path:
    assert old in TEACUP
    path = tmp_path / name
    path.write_text(TEACUP.replace(old, new, 1), encoding="utf-8")
    return path


def _xmile(tmp_path: Path, dt: str) -> Path:
    path = tmp_path / "m.xmile"
    path.write_text(TEACUP_XMILE.replace("<dt>0.125</dt>", dt, 1), encoding="utf-8")
    return path


def _cli(argv: list[str], capsys) -> tuple[int, str, str]:
    try:
        code = main(argv)
    except SystemExit as e:  # argparse errors
        code = e.code
    out, err = capsys.readouterr()
    return code, out, err


def _one_error(code: int, err: str) -> str:
    assert code == 2, err
    assert "Traceback" not in err
    lines = [ln for ln in err.splitlines() if ln.startswith("sdkit: error:")]
    assert len(lines) == 1, err
    return lines[0]


# -- the model file, at load -----------------------------------------------------------

@pytest.mark.parametrize("value, message", [
    ("0", r"'TIME STEP' must be > 0: 0\.0"),
    ("-0.5", r"'TIME STEP' must be > 0: -0\.5"),
    ("1/0", r"TIME STEP cannot be evaluated: ZeroDivisionError"),
    ("1e-300 * 1e-300", r"'TIME STEP' must be > 0: 0\.0"),  # underflows to 0
])
def test_vensim_time_step_refused_at_load(tmp_path, value, message):
    path = _mdl(tmp_path, "TIME STEP  = 0.125", f"TIME STEP  = {value}")
    with pytest.raises(TranslationError, match=message) as info:
        sdkit.load_model(path)
    assert str(info.value).startswith(f"{path}: line {TIME_STEP_LINE}: ")


def test_vensim_saveper_and_final_time_refused_at_load(tmp_path):
    saveper = _mdl(tmp_path, "SAVEPER  = \n        TIME STEP", "SAVEPER  = 0", "s.mdl")
    with pytest.raises(TranslationError, match=r"s\.mdl: line \d+: 'SAVEPER' must be > 0"):
        sdkit.load_model(saveper)
    final = _mdl(tmp_path, "FINAL TIME  = 30", "FINAL TIME  = -5", "f.mdl")
    with pytest.raises(TranslationError,
                       match=r"f\.mdl: line \d+: 'FINAL TIME' \(-5\.0\) is before "
                             r"'INITIAL TIME' \(0\.0\)"):
        sdkit.load_model(final)


@pytest.mark.parametrize("dt, message", [
    ("<dt>-1</dt>", r"<dt> \(the time step\) must be > 0: -1"),
    ("<dt>0</dt>", r"<dt> \(the time step\) must be > 0: 0"),
    ('<dt reciprocal="true">0</dt>',
     r'<dt reciprocal="true"> \(the number of steps per time unit\) must be > 0: 0'),
    ('<dt reciprocal="true">-4</dt>', r'<dt reciprocal="true"> .* must be > 0: -4'),
    ("<dt>nan</dt>", r"<dt> must be finite: nan"),
    ("<dt>inf</dt>", r"<dt> must be finite: inf"),
    ("<dt>1/0</dt>", r"TIME STEP cannot be evaluated: ZeroDivisionError"),
])
def test_xmile_dt_refused_with_file_and_line(tmp_path, dt, message):
    path = _xmile(tmp_path, dt)
    line = TEACUP_XMILE.splitlines().index("        <dt>0.125</dt>") + 1
    with pytest.raises(TranslationError, match=message) as info:
        sdkit.load_model(path)
    assert str(info.value).startswith(f"{path}: line {line}: ")


def test_xmile_stop_before_start_refused(tmp_path):
    path = tmp_path / "m.xmile"
    path.write_text(TEACUP_XMILE.replace("<stop>30.0</stop>", "<stop>-1</stop>"), "utf-8")
    with pytest.raises(TranslationError, match=r"line \d+: <stop> \(-1\) is before <start>"):
        sdkit.load_model(path)


def test_xmile_reciprocal_dt_still_runs(tmp_path):
    out = sdkit.simulate(_xmile(tmp_path, '<dt reciprocal="true">4</dt>'),
                         outputs=["Teacup Temperature"])
    assert np.diff(out.index.to_numpy())[0] == pytest.approx(0.25)
    assert out.index[-1] == 30.0


@pytest.mark.parametrize("argv", [["run"], ["info"]])
def test_cli_refuses_a_model_with_time_step_zero(tmp_path, capsys, argv):
    path = _mdl(tmp_path, "TIME STEP  = 0.125", "TIME STEP  = 0")
    line = _one_error(*_cli([*argv, str(path)], capsys)[::2])
    assert f"m.mdl: line {TIME_STEP_LINE}: 'TIME STEP' must be > 0: 0.0" in line


# -- simulate: constants the time settings are computed from -----------------------------

def _step_size_model(tmp_path: Path) -> Path:
    """Teacup with ``TIME STEP = Step Size`` (0.125) and ``SAVEPER = 1``."""
    text = TEACUP.replace("TIME STEP  = 0.125", "TIME STEP  = Step Size", 1)
    text = text.replace("SAVEPER  = \n        TIME STEP", "SAVEPER  = 1", 1)
    text = text.replace("Room Temperature=\n",
                        "Step Size=\n\t0.125\n\t~\tMinute\n\t~\t|\n\nRoom Temperature=\n", 1)
    path = tmp_path / "step.mdl"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("value", [0, -1])
def test_param_that_sets_the_time_step_is_checked(tmp_path, value):
    """Before: the Euler loop never ended (SAVEPER 1 keeps PySD's modulo finite)."""
    model = sdkit.load_model(_step_size_model(tmp_path))
    with pytest.raises(InvalidValueError, match=rf"step\.mdl: with 'Step Size' as given: "
                                                rf"'TIME STEP' must be > 0: {value}\.0"):
        sdkit.simulate(model, {"Step Size": value}, outputs=["Teacup Temperature"])
    out = sdkit.simulate(model, {"Step Size": 0.25}, outputs=["Teacup Temperature"])
    ref = sdkit.simulate(MODELS / "teacup.mdl", dt=0.25, saveper=1,
                         outputs=["Teacup Temperature"])
    np.testing.assert_allclose(out["Teacup Temperature"], ref["Teacup Temperature"])


# -- simulate: overshoot, unsaved final time ---------------------------------------------

def test_dt_not_dividing_the_run_warns_with_the_actual_end(teacup_path):
    with pytest.warns(SdkitWarning, match=r"dt 0\.7 does not divide the run from 0 to 30; "
                                          r"the last step ends at 30\.1, not 30"):
        out = sdkit.simulate(teacup_path, dt=0.7, outputs=["Teacup Temperature"])
    assert out.index[-1] == pytest.approx(30.1)
    assert run_end(0, 30, 0.7) == pytest.approx(30.1)


def test_dt_dividing_the_run_does_not_warn(teacup_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error", SdkitWarning)
        out = sdkit.simulate(teacup_path, dt=0.5, saveper=1.5, outputs=["Teacup Temperature"])
    assert out.index[-1] == 30.0


@pytest.mark.parametrize("saveper, saved, last", [
    (40, [0.0], "0"), (7, [0.0, 7.0, 14.0, 21.0, 28.0], "28")])
def test_saveper_not_reaching_the_final_time_warns(teacup_path, saveper, saved, last):
    """Save times stay Vensim's/PySD's (initial time and every SAVEPER); a warning says so."""
    with pytest.warns(SdkitWarning, match=rf"saveper {saveper} does not reach the final time "
                                          rf"30: the last saved time is {last}; the output "
                                          "does not hold the final time"):
        out = sdkit.simulate(teacup_path, saveper=saveper, outputs=["Teacup Temperature"])
    assert out.index.tolist() == saved


def test_ensemble_warns_too(sir_path):
    import pandas as pd

    from sdkit.engine import simulate_ensemble

    table = pd.DataFrame({"Contact Infectivity": [0.2, 0.3]})
    ts = sdkit.load_model(sir_path).time_settings
    dt = (ts.stop - ts.start) / 7.5  # 7.5 steps: the last one overshoots
    with pytest.warns(SdkitWarning, match=r"does not divide the run .* the last step ends at"):
        ds = simulate_ensemble(sir_path, table, outputs=["Infectious"], dt=dt, saveper=dt)
    assert float(ds["time"][-1]) == pytest.approx(ts.start + 8 * dt, abs=1e-3)  # PySD rounds


def test_cli_prints_the_warning_as_one_line(teacup_path, capsys):
    code, out, err = _cli(["run", str(teacup_path), "--dt", "0.7",
                           "--columns", "Teacup Temperature"], capsys)
    assert code == 0, err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert lines == [f"sdkit: warning: {teacup_path}: dt 0.7 does not divide the run from 0 to "
                     "30; the last step ends at 30.1, not 30 (choose a dt that divides 30)"]


# -- size and step caps ------------------------------------------------------------------

def _wide_model(tmp_path: Path, n: int, final: float) -> Path:
    path = tmp_path / "wide.mdl"
    path.write_text(
        "{UTF-8}\n"
        f"E: (e1-e{n})\n ~ ~ |\n"
        "Stock[E] = INTEG(Inflow[E], 0)\n ~ u ~ |\n"
        "Inflow[E] = 1\n ~ u ~ |\n"
        f"FINAL TIME = {final}\n ~ t ~ |\nINITIAL TIME = 0\n ~ t ~ |\n"
        "SAVEPER = TIME STEP\n ~ t ~ |\nTIME STEP = 1\n ~ t ~ |\n", encoding="utf-8")
    return path


def test_huge_output_refused_before_the_run(tmp_path, monkeypatch):
    """Stock and Inflow over 2,000 elements, plus the 4 time settings, for 1e5 steps."""
    monkeypatch.delenv("SDKIT_MAX_OUTPUT_BYTES", raising=False)
    model = sdkit.load_model(_wide_model(tmp_path, 2000, 1e5))
    with pytest.raises(InvalidValueError,
                       match=r"wide\.mdl: the output would take 3\.0 GiB \(100001 saved times x "
                             r"4004 values x 8 bytes\); expected at most 2\.0 GiB"):
        sdkit.simulate(model)


def test_output_limit_from_environment_and_keyword(teacup_path, monkeypatch):
    monkeypatch.setenv("SDKIT_MAX_OUTPUT_BYTES", "1000")
    with pytest.raises(InvalidValueError, match=r"241 saved times x 1 values x 8 bytes\); "
                                                r"expected at most 1000 bytes"):
        sdkit.simulate(teacup_path, outputs=["Teacup Temperature"])
    out = sdkit.simulate(teacup_path, outputs=["Teacup Temperature"], max_output_bytes=10_000)
    assert len(out) == 241
    monkeypatch.setenv("SDKIT_MAX_OUTPUT_BYTES", "lots")
    with pytest.raises(InvalidValueError, match="SDKIT_MAX_OUTPUT_BYTES must be a whole number"):
        sdkit.simulate(teacup_path, outputs=["Teacup Temperature"])


def test_ensemble_output_limit_counts_members(sir_path, monkeypatch):
    import pandas as pd

    from sdkit.engine import simulate_ensemble

    monkeypatch.setenv("SDKIT_MAX_OUTPUT_BYTES", "4096")
    table = pd.DataFrame({"Contact Infectivity": np.linspace(0.1, 0.3, 50)})
    with pytest.raises(InvalidValueError, match=r"x 1 values x 50 members x 8 bytes"):
        simulate_ensemble(sir_path, table, outputs=["Infectious"])


def test_save_times_refuses_a_step_that_never_ends():
    with pytest.raises(InvalidValueError, match=r"'dt' must be > 0: 0"):
        save_times(0.0, 30.0, 0.0, 1.0)
    with pytest.raises(InvalidValueError, match=r"'saveper' must be > 0: -1"):
        save_times(0.0, 30.0, 1.0, -1.0)


def test_check_time_settings_names_the_setting():
    assert check_time_settings(0, 30, 0.25, 1) == (0.0, 30.0, 0.25, 1.0)
    with pytest.raises(InvalidValueError, match=r"'stop' \(1\.0\) is before 'start' \(2\.0\)"):
        check_time_settings(2, 1, 0.25, 1)
    with pytest.raises(InvalidValueError, match="saveper must be finite: inf"):
        check_time_settings(0, 1, 0.25, float("inf"))


# -- sdkit set, .cin files ---------------------------------------------------------------

@pytest.mark.parametrize("changes, message", [
    ({"TIME STEP": 0}, rf"line {TIME_STEP_LINE}: 'TIME STEP' must be > 0: 0"),
    ({"time_step": -1}, rf"line {TIME_STEP_LINE}: 'TIME STEP' must be > 0: -1"),
    ({"FINAL TIME": -3}, r"'FINAL TIME' \(-3\.0\) is before 'INITIAL TIME' \(0\.0\)"),
    ({"INITIAL TIME": 40}, r"'FINAL TIME' \(30\.0\) is before 'INITIAL TIME' \(40\.0\)"),
])
def test_edit_refuses_unusable_time_settings(teacup_path, changes, message):
    with pytest.raises(InvalidValueError, match=message) as info:
        edit_model(teacup_path, changes)
    assert str(teacup_path) in str(info.value)


def test_edit_warns_when_the_step_does_not_divide(teacup_path):
    with pytest.warns(SdkitWarning, match=r"TIME STEP 0\.7 does not divide the run from 0 to "
                                          r"30; the last step ends at 30\.1"):
        text = edit_model(teacup_path, {"TIME STEP": 0.7})
    assert "TIME STEP  = 0.7\n" in text


def test_cli_set_time_step_zero(tmp_path, capsys):
    model = tmp_path / "teacup.mdl"
    shutil.copyfile(MODELS / "teacup.mdl", model)
    before = model.read_bytes()
    line = _one_error(*_cli(["set", str(model), "TIME STEP=0", "--in-place"], capsys)[::2])
    assert f"teacup.mdl: line {TIME_STEP_LINE}: 'TIME STEP' must be > 0: 0" in line
    assert model.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["teacup.mdl"]


@pytest.mark.parametrize("command", ["set", "run"])
def test_cin_with_negative_time_step(tmp_path, capsys, command):
    model = tmp_path / "teacup.mdl"
    shutil.copyfile(MODELS / "teacup.mdl", model)
    cin = tmp_path / "bad.cin"
    cin.write_text("{ changes }\nTIME STEP = -1\n", encoding="utf-8")
    line = _one_error(*_cli([command, str(model), "--cin", str(cin)], capsys)[::2])
    assert line == f"sdkit: error: {cin}: line 2: 'TIME STEP' must be > 0: -1.0"


def test_cin_with_final_before_initial(tmp_path):
    cin = tmp_path / "bad.cin"
    cin.write_text("FINAL TIME = 5\nINITIAL TIME = 10\n", encoding="utf-8")
    with pytest.raises(SpecError, match=r"bad\.cin: 'FINAL TIME' \(5\.0\) is before "
                                        r"'INITIAL TIME' \(10\.0\)"):
        sdkit.read_cin(cin)


# -- scenario files ----------------------------------------------------------------------

def test_scenario_cannot_set_a_time_setting(tmp_path):
    path = tmp_path / "fast.toml"
    path.write_text('[scenario]\nname = "fast"\n[constants]\n"TIME STEP" = 0\n', "utf-8")
    with pytest.raises(SpecError, match=r"fast\.toml: constants\.TIME STEP: 'TIME STEP' is a "
                                        r"time setting"):
        read_scenario(path)
