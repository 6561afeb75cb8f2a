"""The initialisation pass in two parts (sdkit.engine.codegen): what reads no override,
member count or state is computed once per start time and time step and kept read-only."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sdkit
from sdkit.engine.compiled_cache import compiled_for
from sdkit.model.load import load_model

MODEL = Path(__file__).resolve().parents[1] / "models" / "scaled_outputs.mdl"
OUTPUTS = ("reported", "nested", "reserve", "output")


def _rates(*values: float) -> dict:
    return {"growth_rate": [((), np.array(values))]}


@pytest.fixture(scope="module")
def compiled():
    return compiled_for(load_model(MODEL), OUTPUTS, frozenset({"growth_rate"}))


def test_the_fixed_part_reads_no_override_member_count_or_state(compiled):
    fixed = compiled.source.split("def init_fixed(t, dt):")[1].split("\ndef ")[0]
    assert fixed.strip() and "OV" not in fixed and "S[" not in fixed
    assert "_mat(" not in fixed  # a value per member: not fixed


def test_fixed_values_are_kept_per_start_time_and_read_only(compiled):
    _, first = compiled.init(2010.0, 0.25, 2, _rates(0.1, 0.2))
    _, again = compiled.init(2010.0, 0.25, 3, _rates(0.3, 0.1, 0.0))
    kept = [k for k, v in first.items() if again[k] is v]  # the same objects: not recomputed
    assert kept, "no fixed value was kept"
    for k in kept:
        if isinstance(first[k], np.ndarray):
            assert not first[k].flags.writeable
            with pytest.raises(ValueError):
                first[k][...] = 0.0
    _, other = compiled.init(2011.0, 0.25, 2, _rates(0.1, 0.2))
    # another start time: computed anew (the program's own constants stay the same objects)
    assert any(other[k] is not first[k] for k in kept)


def test_runs_in_any_order_give_the_same_values():
    """A, B, then A again in one process (the kept part shared): A twice the same, and each
    equal to its run in a fresh compile (other outputs, so another compiled model)."""
    a = pd.DataFrame({"Growth Rate": [0.1, 0.2], "Reporting Scale[A]": [1.0, 2.0]})
    b = pd.DataFrame({"Growth Rate": [0.05], "Reporting Scale[A]": [4.0]})
    first = sdkit.simulate_ensemble(MODEL, a, outputs=["Reported", "Reserve"])
    other = sdkit.simulate_ensemble(MODEL, b, outputs=["Reported", "Reserve"])
    again = sdkit.simulate_ensemble(MODEL, a, outputs=["Reported", "Reserve"])
    np.testing.assert_array_equal(first["Reported"].values, again["Reported"].values)
    alone = sdkit.simulate_ensemble(MODEL, b, outputs=["Reported", "Reserve", "Output"])
    np.testing.assert_array_equal(other["Reported"].values, alone["Reported"].values)
    # the scale multiplies: B's Reported[A] is 4 x Output[A] at growth 0.05
    np.testing.assert_allclose(alone["Reported"].values[0, :, 0],
                               4.0 * alone["Output"].values[0, :, 0], rtol=1e-12)
