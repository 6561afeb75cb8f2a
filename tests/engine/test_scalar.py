"""Single runs on the traced step (``sdkit.engine.scalar``) equal the numpy engine's.

The compiled engine runs ensembles of up to ``SCALAR_MEMBERS`` members on
Python floats, from the traced scalar code of its own step. Here every
conformance model the engine supports, and IIS with every variable, runs
both ways; where Python's floats raise (a zero division, ``log(0)``, a
negative base to a fractional power, an overflowing ``exp``) the numpy engine
runs instead, and the results are numpy's inf and nan.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_engine_conformance import SUPPORTED
from test_native import REFUSED, RTOL, assert_equal_frames

import sdkit
from sdkit.engine import run, scalar
from sdkit.engine.expressions import Unsupported
from sdkit.engine.native import NativeSource

IIS = Path(__file__).resolve().parents[2] / "models" / "iis.mdl"


@pytest.fixture
def scalar_calls(monkeypatch) -> list[bool]:
    """What each call of ``run_scalar`` returned (True: the traced step ran the members)."""
    calls: list[bool] = []
    real = run.run_scalar

    def spy(*args, **kw):
        calls.append(real(*args, **kw))
        return calls[-1]

    monkeypatch.setattr(run, "run_scalar", spy)
    return calls


def _numpy_and_scalar(model, **kw) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The default single run, and the numpy engine's own steps."""
    with warnings.catch_warnings():  # sdkit's advice (a delay order kept), both alike
        warnings.simplefilter("ignore", sdkit.errors.SdkitWarning)
        got = sdkit.simulate(model, check_finite=False, **kw)
        kept, run.SCALAR_MEMBERS = run.SCALAR_MEMBERS, 0
        try:
            expected = sdkit.simulate(model, check_finite=False, **kw)
        finally:
            run.SCALAR_MEMBERS = kept
    return got, expected


def test_iis_every_variable(scalar_calls):
    """IIS: 'Reference update' (about 7e-7 on a scale of 0.85 in 2010) is a difference of
    nearly equal numbers, where math's and numpy's exp and log round the last bit
    differently: compared to 1e-9 of each variable's scale as well."""
    got, expected = _numpy_and_scalar(sdkit.load_model(IIS))
    assert scalar_calls == [True]
    assert len(got.columns) > 800 and got.attrs["sdkit_engine"] == "fast"
    assert_equal_frames(got, expected, RTOL)


def test_conformance_models(conformance_dir, scalar_calls):
    """Every model the engine supports: the traced step runs it (those the trace refuses,
    DELAY N and DELAY FIXED, run on numpy) and gives the numpy engine's values."""
    traced, problems = [], {}
    for case in SUPPORTED:
        scalar_calls.clear()
        got, expected = _numpy_and_scalar(sdkit.load_model(conformance_dir / case))
        try:
            assert_equal_frames(got, expected)
        except AssertionError as e:
            problems[case] = " ".join(str(e).split())[:300]
        if scalar_calls[:1] == [True]:
            traced.append(case)
    assert not problems, problems
    assert set(SUPPORTED) - set(traced) == set(REFUSED)


def _model(tmp_path, body: str) -> Path:
    path = tmp_path / "edge.mdl"
    path.write_text("{UTF-8}\n" + body + "\nINITIAL TIME = 0 ~ Month ~ |\n"
                    "FINAL TIME = 4 ~ Month ~ |\nTIME STEP = 1 ~ Month ~ |\n"
                    "SAVEPER = TIME STEP ~ Month ~ |\n")
    return path


@pytest.mark.parametrize(("equation", "value_at_2"), [
    ("1 / (S - 2)", np.inf),              # ZeroDivisionError in Python
    ("LN(2 - S)", -np.inf),               # math.log(0): ValueError
    ("(S - 3) ^ 0.5", np.nan),            # math.pow(-1, 0.5): ValueError (** gives complex)
    ("EXP(400 * S)", np.inf),             # math.exp(800): OverflowError
])
def test_where_python_floats_raise_the_numpy_engine_runs(tmp_path, scalar_calls, equation,
                                                         value_at_2):
    """S = Time here, but a stock: the numpy engine holds it as an array, where these give
    inf or nan (an equation of Time alone is a Python float there too, and raises)."""
    path = _model(tmp_path, f"X = {equation} ~ u ~ |\nS = INTEG(1, 0) ~ u ~ |")
    got, expected = _numpy_and_scalar(sdkit.load_model(path))
    assert scalar_calls == [False]  # it tried, Python raised, numpy ran
    np.testing.assert_array_equal(got["X"].to_numpy(), expected["X"].to_numpy())
    np.testing.assert_equal(got["X"].loc[2.0], value_at_2)


def test_small_ensembles_only(models_dir, scalar_calls):
    """Up to SCALAR_MEMBERS members, each with its own parameters, run on floats; more run
    on numpy; both give the same values."""
    model = sdkit.load_model(models_dir / "SIR.mdl")
    table = pd.DataFrame({"Contact Infectivity": [0.2, 0.3, 0.35, 0.4, 0.45],
                          "Duration": [4.0, 5.0, 6.0, 5.5, 4.5]})
    outputs = ["Infectious", "Recovered", "Susceptible"]
    small = sdkit.simulate_ensemble(model, table.iloc[:scalar.SCALAR_MEMBERS], outputs=outputs)
    large = sdkit.simulate_ensemble(model, table, outputs=outputs)
    assert scalar_calls == [True]  # the five-member run never asked
    first = large.isel(member=slice(0, scalar.SCALAR_MEMBERS))
    for var in small.data_vars:
        np.testing.assert_allclose(small[var].to_numpy(), first[var].to_numpy(),
                                   rtol=RTOL, atol=1e-300, err_msg=var)
    assert float(small["Infectious"].std("member").max()) > 0


def test_runge_kutta_runs_on_numpy(models_dir, scalar_calls):
    sdkit.simulate(models_dir / "teacup.mdl", method="rk4")
    assert scalar_calls == []


def test_only_checked_code_is_compiled():
    """Text that the native writer would not write is refused before CPython compiles it."""
    src = NativeSource("import os\ndef run():\n    return 0\n", *[np.zeros(0, int)] * 4,
                       np.zeros(0), [], [], [])
    with pytest.raises(Unsupported, match="native engine's code"):
        scalar._functions(src)


def test_a_division_by_zero_in_time_alone_is_one_clear_error(tmp_path):
    """``1 / (Time - 2)`` is a Python float in both engines (as in PySD): one line, naming
    the file and the division, not a traceback or an 'overflow'."""
    path = _model(tmp_path, "X = 1 / (Time - 2) ~ u ~ |\nS = INTEG(1, 0) ~ u ~ |")
    with pytest.raises(sdkit.SimulationError, match=r"edge\.mdl: the run failed \(float "
                       r"division by zero\): an equation of time and constants divided by "
                       r"zero") as err:
        sdkit.simulate(path)
    assert "\n" not in str(err.value)
