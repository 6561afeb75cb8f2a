"""Runs that go non-finite stop with a clear error; a too-large dt is warned about."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import sdkit
from sdkit import SimulationError
from sdkit.cli import main
from sdkit.errors import SdkitWarning

CONTROL = ("INITIAL TIME = 0 ~ Month ~ |\nFINAL TIME = {stop} ~ Month ~ |\n"
           "TIME STEP = {dt} ~ Month ~ |\nSAVEPER = TIME STEP ~ Month ~ |\n")


def _model(tmp_path, name: str, body: str, *, stop=3, dt=1):
    path = tmp_path / name
    path.write_text("{UTF-8}\n" + body + "\n" + CONTROL.format(stop=stop, dt=dt))
    return path


@pytest.fixture
def log_model(tmp_path):
    # Flow = ln(1 - t): 0 at t=0, -inf at t=1, so S = -inf from t=2 while K stays 5
    return _model(tmp_path, "log.mdl", "S = INTEG(Flow, 0) ~ u ~ |\n"
                  "Flow = LN(1 - Time) ~ u/Month ~ |\nK = 5 ~ u ~ |")


@pytest.fixture
def drain(tmp_path):
    # first-order drain, time constant Tau = 2 months: Euler is exact to dt << 2
    return _model(tmp_path, "drain.mdl", "Level = INTEG(-Drain, 100) ~ u ~ |\n"
                  "Drain = Level / Tau ~ u/Month ~ |\nTau = 2 ~ Month ~ |", stop=12, dt=4)


def test_non_finite_stock_is_found_when_not_requested(log_model):
    with pytest.raises(SimulationError, match=r"log\.mdl: 'S' became -inf at time 2\.0"):
        sdkit.simulate(log_model, outputs=["K"])


def test_first_non_finite_variable_and_time_are_named(log_model):
    with pytest.raises(SimulationError) as info:
        sdkit.simulate(log_model, outputs=["Flow", "K"], dt=1)
    # ln(0) = -inf at t=1 comes before the stock follows at t=2
    assert "'Flow' became -inf at time 1.0" in str(info.value)
    assert "dt=1" in str(info.value)


def test_unrequested_stocks_are_not_returned(tmp_path):
    path = _model(tmp_path, "ok.mdl", "S = INTEG(K, 0) ~ u ~ |\nK = 5 ~ u ~ |")
    out = sdkit.simulate(path, outputs=["K"])
    assert list(out.columns) == ["K"]
    assert np.allclose(out["K"], 5.0)


def test_all_outputs_keep_the_stocks(tmp_path):
    path = _model(tmp_path, "ok.mdl", "S = INTEG(K, 0) ~ u ~ |\nK = 5 ~ u ~ |")
    out = sdkit.simulate(path)
    assert {"S", "K"} <= set(out.columns)
    assert out["S"].loc[3.0] == pytest.approx(15.0)


def test_check_finite_false_keeps_the_run(log_model):
    out = sdkit.simulate(log_model, outputs=["K", "S"], check_finite=False)
    assert np.isneginf(out["S"].loc[2.0])


def test_dt_larger_than_time_constant_warns(drain):
    with pytest.warns(SdkitWarning, match=r"dt 4 is larger than the time constant of 'Level' "
                                          r"\(about 2 at"):
        out = sdkit.simulate(drain, outputs=["Level"], engine="pysd")  # PySD-path diagnostic
    # Euler with dt = 2 tau flips the sign every step: the symptom the warning is about
    assert np.allclose(out["Level"].to_numpy()[:3], [100.0, -100.0, 100.0])


def test_small_dt_does_not_warn(drain):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = sdkit.simulate(drain, outputs=["Level"], dt=0.25)
    # Euler: Level(t) = 100 (1 - dt/tau)^(t/dt), close to 100 exp(-t/2)
    assert out["Level"].loc[4.0] == pytest.approx(100 * (1 - 0.25 / 2) ** 16)


def test_delay_order_cut_warns(tmp_path):
    path = _model(tmp_path, "delay.mdl", "Input = STEP(10, 1) ~ u ~ |\n"
                  "Out = DELAY3(Input, 1) ~ u ~ |", stop=4, dt=1)
    with pytest.warns(SdkitWarning, match=r"time step too large for delay 'Out'"):
        sdkit.simulate(path, outputs=["Out"], engine="pysd")  # PySD-path diagnostic


def test_delay_n_order_cut_warns_on_both_engines(tmp_path):
    """DELAY N's lowered order (Vensim and PySD lower it) is said on the default engine too."""
    path = _model(tmp_path, "delayn.mdl", "Input = STEP(10, 1) ~ u ~ |\n"
                  "Out = DELAY N(Input, 1.25, 0, 3) ~ u ~ |", stop=6, dt=0.5)
    with pytest.warns(SdkitWarning, match=r"'Out': time step too large for DELAY N's order 3 "
                      r"\(delay time 1.25, TIME STEP 0.5\): its order was lowered to 2"):
        fast = sdkit.simulate(path, outputs=["Out"])
    with pytest.warns(SdkitWarning, match=r"time step too large for delay 'Out'"):
        slow = sdkit.simulate(path, outputs=["Out"], engine="pysd")
    assert fast["Out"].to_numpy() == pytest.approx(slow["Out"].to_numpy(), rel=1e-12)


def test_kept_delay3_order_warns_that_the_output_oscillates(tmp_path):
    path = _model(tmp_path, "delay3.mdl", "Input = STEP(10, 1) ~ u ~ |\n"
                  "Out = DELAY3(Input, 0.25) ~ u ~ |", stop=3, dt=0.125)
    with pytest.warns(SdkitWarning, match=r"oscillates and can turn negative: use a TIME STEP "
                      r"of at most 0.0833333"):
        out = sdkit.simulate(path, outputs=["Out"])
    assert out["Out"].min() < 0  # what the warning says: Euler with stages shorter than dt


def test_cli_prints_warning_once(drain, capsys):
    assert main(["run", str(drain), "--columns", "Level", "--engine", "pysd"]) == 0
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln]
    assert len(lines) == 1 and lines[0].startswith("sdkit: warning: ")
    assert "time constant of 'Level'" in lines[0]
