"""Chunks keep the engine's states member-innermost: same numbers, other memory order."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sdkit
from sdkit.engine.chunks import INNERMOST_FROM, member_innermost, run_chunk
from sdkit.engine.compiled_cache import compiled_for
from sdkit.engine.executors import Executor
from sdkit.engine.run import control_overrides, run_compiled

MODEL = Path(__file__).resolve().parents[1] / "models" / "sir_regions.mdl"
OUTPUTS = ["Infectious", "Recovered", "Succumbing"]


class _Recorder(Executor):
    """Runs the chunks here and keeps the spec the ensemble code built."""

    def map(self, fn, tasks):
        self.spec = tasks[0][0]
        return [fn(*t) for t in tasks]


@pytest.fixture(scope="module")
def case():
    model = sdkit.load_model(MODEL)
    n = INNERMOST_FROM + 37
    rng = np.random.default_rng(3)
    table = pd.DataFrame({"Duration": rng.uniform(3, 8, n), "Travel": rng.uniform(0, 0.3, n),
                          "Contact Infectivity[South]": rng.uniform(0.2, 0.6, n)})
    rec = _Recorder()
    sdkit.simulate_ensemble(model, table.head(2), outputs=OUTPUTS, executor=rec)
    values = table.to_numpy(dtype=float)
    overrides: dict = {}
    for j, (node, index, _label) in enumerate(rec.spec.columns):
        overrides.setdefault(node, []).append((index, values[:, j]))
    overrides.update(control_overrides(n))
    compiled = compiled_for(model, rec.spec.outputs, frozenset(overrides), "euler")
    return model, rec.spec, values, compiled, overrides


def test_chunk_equals_the_engine_as_generated(case):
    """run_chunk (member-innermost states) gives the plain run's arrays bit for bit."""
    model, spec, values, compiled, overrides = case
    got = run_chunk(spec, values, model)
    times, want = run_compiled(compiled, len(values), overrides)
    np.testing.assert_array_equal(got.times, times)
    assert set(got.values) == set(want)
    for name, arr in want.items():
        np.testing.assert_array_equal(got.values[name], arr)
    # and per member: the first member alone (no reordering below INNERMOST_FROM)
    one = run_chunk(spec, values[:1], model)
    for name, arr in want.items():
        np.testing.assert_array_equal(one.values[name][0], arr[0])


def test_states_are_member_innermost(case):
    """After init and after a step every (members, regions) state has the members adjacent."""
    _, _, values, compiled, overrides = case
    n = len(values)
    plain_S, _ = compiled.init(0.0, 0.125, n, overrides)
    arrayed = [k for k, a in plain_S.items() if np.ndim(a) > 1]
    assert any(plain_S[k].strides[0] != plain_S[k].itemsize for k in arrayed)  # as generated
    kept = member_innermost(compiled)
    S, K = kept.init(0.0, 0.125, n, overrides)
    for k in arrayed:
        assert S[k].strides[0] == S[k].itemsize
        np.testing.assert_array_equal(S[k], plain_S[k])
    _, S2 = kept.step_lean(0.0, 0.125, S, K, n, False, True)
    assert all(S2[k].strides[0] == S2[k].itemsize for k in arrayed)


def test_runge_kutta_is_left_as_generated(case):
    model, spec, _, _, overrides = case
    rk4 = compiled_for(model, spec.outputs, frozenset(overrides), "rk4")
    assert member_innermost(rk4) is rk4
