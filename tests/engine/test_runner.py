"""run_ensemble's typed result, and simulate's default engine against PySD."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

import sdkit
from sdkit.engine.runner import EnsembleResult, run_ensemble

SUBSCRIPTED = "tests/subscript_3d_arrays/test_subscript_3d_arrays.mdl"


@pytest.mark.parametrize("which", ["teacup", "sir", "subscripted"])
def test_simulate_default_equals_pysd(which, teacup_path, sir_path, conformance_dir):
    path = {"teacup": teacup_path, "sir": sir_path,
            "subscripted": conformance_dir / SUBSCRIPTED}[which]
    fast = sdkit.simulate(path, check_finite=False)
    slow = sdkit.simulate(path, check_finite=False, engine="pysd")
    assert fast.attrs["sdkit_engine"] == "fast" and slow.attrs["sdkit_engine"] == "pysd"
    assert list(fast.columns) == list(slow.columns)
    np.testing.assert_allclose(fast.to_numpy(float), slow.to_numpy(float), rtol=1e-9, atol=1e-9)
    np.testing.assert_array_equal(fast.index, slow.index)


def test_result_is_frozen_and_says_which_engine(sir_path):
    res = run_ensemble(sir_path, pd.DataFrame({"Duration": [2.0, 6.0]}), ["Infectious"])
    assert isinstance(res, EnsembleResult) and res.engine == "fast" and res.fallback is None
    assert res.dataset["Infectious"].dims == ("member", "time")
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.engine = "pysd"
    forced = run_ensemble(sir_path, pd.DataFrame({"Duration": [2.0, 6.0]}), ["Infectious"],
                          engine="pysd")
    assert forced.engine == "pysd"
    np.testing.assert_allclose(forced.dataset["Infectious"], res.dataset["Infectious"],
                               rtol=1e-9)


def test_unknown_engine_is_refused(sir_path):
    with pytest.raises(sdkit.InvalidValueError, match="engine must be one of auto, fast, pysd"):
        run_ensemble(sir_path, None, ["Infectious"], engine="loop")


def test_model_variables_api(teacup_path):
    model = sdkit.load_model(teacup_path)
    room = model.variable("room_temperature")
    assert room.kind == "constant" and room.value == 70.0 and room.name == "Room Temperature"
    assert model.variable("Teacup Temperature").kind == "stock"
    with pytest.raises(sdkit.UnknownVariableError):
        model.variable("no such thing")
