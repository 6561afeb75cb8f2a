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


def test_simulate_frame_is_the_ensemble_member(models_dir):
    """simulate builds its frame from the engine's arrays; member_frame reads the dataset."""
    from sdkit.engine.runner import member_frame

    path = models_dir / "sir_regions.mdl"
    outputs = ["Infectious", "Recovered[North]", "Susceptible[South]", "Infectious"]
    frame = sdkit.simulate(path, {"Contact Infectivity[North]": 0.35}, outputs=outputs)
    table = pd.DataFrame({"Contact Infectivity[North]": [0.35]})
    expected = member_frame(run_ensemble(path, table, outputs).dataset)
    assert list(frame.columns) == list(expected.columns)
    assert "Recovered[North]" in frame.columns and "Infectious[South]" in frame.columns
    np.testing.assert_array_equal(frame.to_numpy(), expected.to_numpy())
    np.testing.assert_array_equal(frame.index, expected.index)
    with pytest.raises(sdkit.InvalidValueError, match="1 subscript"):
        sdkit.simulate(path, outputs=["Infectious[North,South]"])


def test_members_in_many_chunks_equal_one_chunk(monkeypatch, sir_path):
    import sdkit.engine.runner as runner

    table = pd.DataFrame({"Duration": np.linspace(2, 8, 7), "Contact Infectivity": 0.3})
    whole = run_ensemble(sir_path, table, ["Infectious", "Recovered"]).dataset
    monkeypatch.setattr(runner, "CHUNK", 3)  # chunks of 3, 2 and 2 members
    parts = run_ensemble(sir_path, table, ["Infectious", "Recovered"]).dataset
    for name in ("Infectious", "Recovered"):
        assert parts[name].dims == ("member", "time")
        np.testing.assert_array_equal(parts[name].to_numpy(), whole[name].to_numpy())
    one = sdkit.simulate(sir_path, {"Duration": table["Duration"][4],
                                    "Contact Infectivity": 0.3}, outputs=["Infectious"])
    np.testing.assert_array_equal(one["Infectious"], whole["Infectious"][4])


UNC = """[uncertainty]
model = "{model}"
members = 6
seed = 1
outputs = ["Infectious"]
times = [20]
[[uncertainty.parameters]]
name = "Contact Infectivity"
lower = 0.2
upper = 0.4
source = "synthetic test range"
"""


def test_no_progress_reaches_the_ensemble_lines(tmp_path, sir_path, monkeypatch, capsys):
    from sdkit.cli import main

    monkeypatch.setenv("SDKIT_PROGRESS_SECONDS", "0")  # a line at every count
    spec = tmp_path / "u.toml"
    spec.write_text(UNC.format(model=sir_path))
    assert main(["uncertainty", str(spec), "--out", str(tmp_path / "a")]) == 0
    err = capsys.readouterr().err
    assert "sdkit: ensemble: " in err and "6/6 runs (100%)" in err  # lines as steps go by
    assert main(["uncertainty", str(spec), "--out", str(tmp_path / "b"), "--no-progress"]) == 0
    assert "sdkit: " not in capsys.readouterr().err
