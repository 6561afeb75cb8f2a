"""Integration methods: Euler, RK2 (midpoint) and RK4 in the compiled engine.

Orders of convergence are measured against analytical solutions of linear
models; RK4 XMILE models run with their own method and match the suite's
reference (or the analytical solution) within the suite's tolerance; Euler
results stay PySD's.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sdkit.conformance.suite import compare_outputs, run_case
from sdkit.engine.runner import run_ensemble
from sdkit.engine.simulate import simulate
from sdkit.errors import InvalidValueError, UnsupportedConstructError
from sdkit.model.load import load_model

ORDERS = {"euler": 1.0, "rk2": 2.0, "rk4": 4.0}
DTS = (0.5, 0.25, 0.125)

OSCILLATOR = """{UTF-8}
Position= INTEG (Velocity, 1)
	~	m
	~	x'' = -x with x(0) = 1, x'(0) = 0: x(t) = cos(t).
	|
Velocity= INTEG (Acceleration, 0)
	~	m/s
	~		|
Acceleration= -Position
	~	m/(s*s)
	~		|
FINAL TIME = 10
	~	s
	~		|
INITIAL TIME = 0
	~	s
	~		|
SAVEPER = 1
	~	s
	~		|
TIME STEP = 0.5
	~	s
	~		|
"""

DISCRETE = """{UTF-8}
Level= INTEG (Inflow, 0)
	~	units
	~		|
Inflow= 10 - Level / 5
	~	units/Month
	~		|
Smoothed= SMOOTHI(10, 5, 0)
	~	units
	~		|
Delayed= DELAY1I(10, 5, 0)
	~	units
	~		|
Fixed= DELAY FIXED(Time, 2, 0)
	~	Month
	~		|
Sampled= SAMPLE IF TRUE(Time > 3, Level, 0)
	~	units
	~		|
Pulsed= INTEG (PULSE(2, 1), 0)
	~	units
	~		|
FINAL TIME = 10
	~	Month
	~		|
INITIAL TIME = 0
	~	Month
	~		|
SAVEPER = 1
	~	Month
	~		|
TIME STEP = 0.25
	~	Month
	~		|
"""

RK4_XMILE = ["tests/rounding/test_rounding.xmile",
             "tests/subscripted_trig/test_subscripted_trig.xmile",
             "tests/arithmetics_exp/test_arithmetics_exp.xmile"]


def _orders(errors: list[float]) -> np.ndarray:
    e = np.asarray(errors)
    return np.log2(e[:-1] / e[1:])


def _max_error(model, method: str, dt: float, column: str, exact) -> float:
    frame = simulate(model, outputs=[column], dt=dt, saveper=1, method=method, engine="fast")
    assert frame.attrs["sdkit_method"] == method
    t = frame.index.to_numpy(dtype=float)
    return float(np.max(np.abs(frame[column].to_numpy() - exact(t))))


@pytest.mark.parametrize("method", sorted(ORDERS))
def test_order_of_convergence_on_exponential_decay(models_dir, method):
    model = load_model(models_dir / "decay.mdl")  # Stock(t) = 100 exp(-0.2 t)
    errors = [_max_error(model, method, dt, "Stock", lambda t: 100 * np.exp(-0.2 * t))
              for dt in DTS]
    assert np.all(np.abs(_orders(errors) - ORDERS[method]) < 0.3), errors


@pytest.mark.parametrize("method", sorted(ORDERS))
def test_order_of_convergence_on_an_oscillator(tmp_path, method):
    path = tmp_path / "oscillator.mdl"
    path.write_text(OSCILLATOR)
    model = load_model(path)
    # smaller steps than for the decay: Euler's amplitude grows by (1 + dt^2)^(t/2 dt)
    errors = [_max_error(model, method, dt / 10, "Position", np.cos) for dt in DTS]
    assert np.all(np.abs(_orders(errors) - ORDERS[method]) < 0.3), errors


def test_rk2_is_the_midpoint_rule(models_dir):
    # one step of dy/dt = -k y with the midpoint rule: y1 = y0 (1 - k h + (k h)^2 / 2)
    frame = simulate(models_dir / "decay.mdl", outputs=["Stock"], dt=1, saveper=1,
                     stop=1, method="rk2", engine="fast")
    assert frame["Stock"].iloc[-1] == pytest.approx(100 * (1 - 0.2 + 0.2**2 / 2), abs=1e-12)


@pytest.mark.parametrize("name", RK4_XMILE)
def test_rk4_xmile_models_of_the_suite_match(conformance_dir, name):
    path = conformance_dir / name
    assert 'method="RK4"' in path.read_text()
    result = run_case(path, path.parent / "output.tab", engine="fast")
    assert result["status"] == "match", result


def _rk4_teacup(tmp_path, models_dir, suffix: str):
    text = (models_dir / "teacup.xmile").read_text()
    assert "<sim_specs>" in text
    path = tmp_path / f"teacup_rk4{suffix}"
    path.write_text(text.replace("<sim_specs>", '<sim_specs method="RK4">'))
    return path


@pytest.mark.parametrize("suffix", [".xmile", ".stmx"])
def test_rk4_xmile_with_a_stock_runs_rk4_and_matches_the_exact_solution(tmp_path, models_dir,
                                                                        suffix):
    path = _rk4_teacup(tmp_path, models_dir, suffix)
    frame = simulate(path, outputs=["Teacup Temperature"], saveper=1)
    assert frame.attrs["sdkit_method"] == "rk4"
    assert frame.attrs["sdkit_engine"] == "fast"
    t = frame.index.to_numpy(dtype=float)
    exact = pd.DataFrame({"Teacup Temperature": 70 + 110 * np.exp(-t / 10)}, index=t)
    assert compare_outputs(frame, exact)["ok"]
    euler = simulate(path, outputs=["Teacup Temperature"], saveper=1, method="euler")
    assert not compare_outputs(euler, exact)["ok"]  # the comparison can fail


def test_pysd_refuses_another_method(tmp_path, models_dir):
    with pytest.raises(UnsupportedConstructError, match="Euler only, not RK4"):
        simulate(models_dir / "decay.mdl", method="rk4", engine="pysd")
    path = _rk4_teacup(tmp_path, models_dir, ".xmile")  # the model's own method
    with pytest.raises(UnsupportedConstructError, match="Euler only, not RK4"):
        run_ensemble(path, None, ["Teacup Temperature"], engine="pysd")


@pytest.mark.parametrize("bad", ["rk3", "RK45", "gear", ""])
def test_unknown_method_is_refused(models_dir, bad):
    with pytest.raises(InvalidValueError, match="method must be one of euler, rk2, rk4"):
        simulate(models_dir / "decay.mdl", method=bad)


def test_euler_is_the_default_and_equals_pysd(models_dir, sir_path):
    for path, column in [(models_dir / "decay.mdl", "Stock"), (sir_path, "Infectious")]:
        fast = simulate(path, outputs=[column])
        assert fast.attrs["sdkit_method"] == "euler"
        pysd = simulate(path, outputs=[column], engine="pysd", method="euler")
        np.testing.assert_allclose(fast[column], pysd[column], rtol=1e-9, atol=0)


def test_continuous_functions_and_held_discrete_ones_under_rk4(tmp_path):
    path = tmp_path / "discrete.mdl"
    path.write_text(DISCRETE.replace("Sampled= SAMPLE IF TRUE(Time > 3, Level, 0)",
                                     "Sampled= 0"))
    cols = ["Level", "Smoothed", "Delayed", "Fixed", "Pulsed"]
    rk4 = simulate(path, outputs=cols, method="rk4", engine="fast")
    t = rk4.index.to_numpy(dtype=float)
    first_order = 10 * (1 - np.exp(-t / 5))
    for col in ("Smoothed", "Delayed"):
        np.testing.assert_allclose(rk4[col], first_order, atol=1e-6)
    np.testing.assert_allclose(rk4["Level"], 50 * (1 - np.exp(-t / 5)), atol=1e-5)
    # DELAY FIXED takes the value at the start of each step and holds within it (as Vensim)
    np.testing.assert_allclose(rk4["Fixed"], np.maximum(t - 2, 0), atol=1e-12)
    # PULSE is held over the step: the whole pulse (height 1, width 1) is integrated
    np.testing.assert_allclose(rk4["Pulsed"].iloc[-1], 1.0, atol=1e-12)


def test_sample_if_true_is_refused_under_rk4_naming_the_variable(tmp_path):
    path = tmp_path / "discrete.mdl"
    path.write_text(DISCRETE)
    for engine in ("fast", "auto"):  # auto must not fall back to PySD's Euler
        with pytest.raises(UnsupportedConstructError,
                           match="RK4 on a model with discrete functions the method cannot "
                                 "honour: 'Sampled' uses SAMPLE IF TRUE"):
            simulate(path, outputs=["Sampled"], method="rk4", engine=engine)
    euler = simulate(path, outputs=["Sampled"], method="euler")  # Euler still runs it
    assert euler.attrs["sdkit_method"] == "euler"
