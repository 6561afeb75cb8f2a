"""Single runs: canonical output, fresh state, parameters, outputs, xarray view."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import sdkit
from sdkit import InvalidValueError, SimulationError, UnknownVariableError


def test_teacup_matches_canonical_output(teacup_path, models_dir):
    out = sdkit.simulate(teacup_path)
    canon = pd.read_csv(models_dir / "teacup_output.csv", index_col=0)
    t = canon.index.to_numpy(dtype=float)
    got = out.loc[t, "Teacup Temperature"].to_numpy()
    want = canon["Teacup Temperature"].to_numpy()
    assert np.all(np.abs(want - got) <= 1e-5 + 1e-5 * np.abs(got))


def test_teacup_against_euler_solution(teacup_path):
    # dT/dt = (70 - T)/10, Euler with dt = 0.125: T_n = 70 + 110 (1 - dt/10)^n
    out = sdkit.simulate(teacup_path, outputs=["Teacup Temperature"], saveper=1)
    n = out.index.to_numpy() / 0.125
    expected = 70 + 110 * (1 - 0.125 / 10) ** n
    np.testing.assert_allclose(out["Teacup Temperature"].to_numpy(), expected, rtol=1e-12)


def test_params_do_not_leak_between_runs(teacup_path):
    model = sdkit.load_model(teacup_path)
    base = sdkit.simulate(model, outputs=["Teacup Temperature"])
    cold = sdkit.simulate(model, {"Room Temperature": 20}, outputs=["Teacup Temperature"],
                          stop=10, dt=0.5, saveper=2)
    again = sdkit.simulate(model, outputs=["Teacup Temperature"])
    assert cold.index[-1] == 10
    assert cold["Teacup Temperature"].iloc[-1] < base.loc[10.0, "Teacup Temperature"]
    pd.testing.assert_frame_equal(base, again)


def test_outputs_are_only_what_was_asked(teacup_path):
    out = sdkit.simulate(teacup_path, outputs=["teacup temperature"], saveper=5)
    assert list(out.columns) == ["Teacup Temperature"]
    assert out.index.name == "time"
    np.testing.assert_allclose(out.index, np.arange(0, 31, 5))


def test_start_override(teacup_path):
    out = sdkit.simulate(teacup_path, outputs=["Teacup Temperature"], start=5, stop=8)
    assert out.index[0] == 5 and out.index[-1] == 8
    assert out["Teacup Temperature"].iloc[0] == 180


def test_sir_runs_and_conserves_population(sir_path):
    out = sdkit.simulate(sir_path)
    total = out["Susceptible"] + out["Infectious"] + out["Recovered"]
    np.testing.assert_allclose(total, total.iloc[0], rtol=1e-9)


def test_subscript_element_parameter_and_dataset(conformance_dir):
    path = conformance_dir / "tests/subscript_3d_arrays/test_subscript_3d_arrays.mdl"
    model = sdkit.load_model(path)
    base = sdkit.simulate(model, outputs=["Stock A"])
    out = sdkit.simulate(model, {"Rate A[entry 1, column 1, depth 1]": 5}, outputs=["Stock A"])
    col = "Stock A[Entry 1,Column 1,Depth 1]"
    other = "Stock A[Entry 2,Column 1,Depth 1]"
    assert out[col].iloc[-1] != base[col].iloc[-1]
    pd.testing.assert_series_equal(out[other], base[other])
    ds = sdkit.to_dataset(out)
    assert ds["Stock A"].dims == ("time", "One Dimensional Subscript",
                                  "Second Dimension Subscript", "Third Dimension Subscript")
    assert float(ds["Stock A"].sel(time=out.index[-1])[0, 0, 0]) == out[col].iloc[-1]


@pytest.mark.parametrize(
    ("params", "error", "message"),
    [
        ({"Room Temp": 1}, UnknownVariableError, "no variable named 'Room Temp'"),
        ({"Room Temperature": "warm"}, InvalidValueError, "must be a number"),
        ({"Room Temperature": float("nan")}, InvalidValueError, "must be finite"),
        ({"Room Temperature": True}, InvalidValueError, "boolean"),
        ({"Room Temperature[a]": 1}, InvalidValueError, "has 0 subscript"),
        ({"FINAL TIME": 3}, InvalidValueError, "time settings"),
    ],
)
def test_bad_params(teacup_path, params, error, message):
    with pytest.raises(error, match=message):
        sdkit.simulate(teacup_path, params)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"dt": 0}, "'dt' must be > 0"), ({"saveper": -1}, "'saveper' must be > 0"),
     ({"stop": -5}, "before 'start'")],
)
def test_bad_time_settings(teacup_path, kwargs, message):
    with pytest.raises(InvalidValueError, match=message):
        sdkit.simulate(teacup_path, **kwargs)


def test_non_finite_output_is_an_error(tmp_path):
    path = tmp_path / "blowup.mdl"
    path.write_text(
        "{UTF-8}\nx = INTEG(x * rate, 1) ~ Dmnl ~ grows |\n"
        "rate = EXP(1000 * Time) ~ 1/Month ~ overflows at Time 1 |\n"
        "INITIAL TIME = 0 ~ Month ~ |\nFINAL TIME = 4 ~ Month ~ |\n"
        "TIME STEP = 1 ~ Month ~ |\nSAVEPER = TIME STEP ~ Month ~ |\n"
    )
    with pytest.raises(SimulationError, match=r"'rate' became inf at time 1"):
        sdkit.simulate(path, outputs=["rate", "x"])
    out = sdkit.simulate(path, outputs=["rate"], check_finite=False)
    assert np.isinf(out["rate"].loc[1.0])


def test_a_pysd_run_reports_its_steps_as_log_lines(teacup_path, monkeypatch, capsys):
    # stderr is not a terminal here: log lines (every 0 s), with rate and ETA, then "done"
    monkeypatch.setenv("SDKIT_PROGRESS_SECONDS", "0")
    model = sdkit.load_model(teacup_path)
    out = sdkit.simulate(model, engine="pysd", stop=10)
    lines = capsys.readouterr().err.splitlines()
    steps = [ln for ln in lines if ln.startswith("sdkit: teacup.mdl on PySD: ")]
    assert steps[0].startswith("sdkit: teacup.mdl on PySD: 1/80 step (1%), ")
    assert "steps/s, ETA" in steps[0]
    assert steps[-1].startswith("sdkit: teacup.mdl on PySD: 80/80 steps (100%)")
    assert "done in" in steps[-1]
    assert out.index[-1] == 10.0
    # the step counter is gone after the run: the next run counts afresh and PySD's own
    # method is back
    from sdkit.engine.pysd_backend import fresh_pysd

    assert "_integrate_step" not in vars(fresh_pysd(model))
    sdkit.simulate(model, engine="pysd", stop=5)
    again = [ln for ln in capsys.readouterr().err.splitlines() if "on PySD" in ln]
    assert again[-1].startswith("sdkit: teacup.mdl on PySD: 40/40 steps (100%)")
