"""DELAY3 keeps its order where a stage is shorter than TIME STEP, as Vensim does.

PySD lowers the order of a delay while ``order * TIME STEP`` exceeds the
delay time; Vensim keeps DELAY3's three stages (the reference of the public
suite's ``tests/arguments``, in ``tests/data/conformance_extra``) and lowers
DELAY N's (the reference of ``tests/delay_pipeline`` in ../shared). The
compiled engine follows Vensim in both; ``engine="pysd"`` keeps PySD's
behaviour. docs/conformance.md records this as the one deliberate departure.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

import sdkit
from sdkit.conformance.suite import compare_outputs, load_canonical, run_case
from sdkit.errors import SdkitWarning

CASE = Path(__file__).parents[1] / "data" / "conformance_extra" / "tests" / "arguments"
MODEL = CASE / "test_arguments.mdl"
REFERENCE = CASE / "output.tab"
NESTED = "Outer Multiple Middle Multiple Inner Multiple"  # SMOOTH N(DELAY3(Time, 2), 29, 1, 2)


def euler_smooth_of_delay3(order: int) -> np.ndarray:
    """SMOOTH N(DELAY3(Time, 2), 29, 1, 2) by hand: Euler, dt 1, `order` delay stages."""
    delay, stages, smooth, out = 2.0, np.zeros(order), np.ones(2), []
    for t in range(11):
        rates = stages / (delay / order)
        out.append(smooth[-1])
        stages = stages + (np.concatenate([[t], rates[:-1]]) - rates)
        smooth = smooth + (np.array([rates[-1], smooth[0]]) - smooth) / (29 / 2)
    return np.array(out)


def test_the_reference_is_a_third_order_delay():
    reference = load_canonical(REFERENCE)[NESTED].to_numpy()
    np.testing.assert_allclose(euler_smooth_of_delay3(3), reference, rtol=1e-5, atol=1e-6)
    assert not np.allclose(euler_smooth_of_delay3(2), reference, rtol=1e-5, atol=1e-6)


def test_fast_engine_keeps_the_order_and_warns_once():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = sdkit.simulate(MODEL, engine="fast")
    assert out.attrs["sdkit_engine"] == "fast"
    notes = [str(w.message) for w in caught if issubclass(w.category, SdkitWarning)]
    assert len(notes) == 1, notes
    assert NESTED in notes[0] and "shorter than TIME STEP" in notes[0]
    assert "\n" not in notes[0]
    assert compare_outputs(out, load_canonical(REFERENCE))["ok"]
    np.testing.assert_allclose(out[NESTED].to_numpy(), euler_smooth_of_delay3(3), rtol=1e-12)


def test_pysd_engine_keeps_pysds_lowered_order():
    with pytest.warns(SdkitWarning, match="PySD lowered its order"):
        out = sdkit.simulate(MODEL, engine="pysd")
    np.testing.assert_allclose(out[NESTED].to_numpy(), euler_smooth_of_delay3(2), rtol=1e-12)
    assert compare_outputs(out, load_canonical(REFERENCE))["worst_column"] == NESTED


def test_conformance_case_matches_on_the_fast_engine():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SdkitWarning)
        assert run_case(MODEL, REFERENCE, engine="fast")["status"] == "match"


def test_delay_n_is_still_lowered(conformance_dir):
    """Vensim lowers DELAY N's order (the suite's delay_pipeline reference), so does sdkit."""
    path = conformance_dir / "tests/delay_pipeline/test_pipeline_delays.mdl"
    with warnings.catch_warnings():
        warnings.simplefilter("error", SdkitWarning)  # DELAY N: no departure to report
        result = run_case(path, path.parent / "output.tab", engine="fast")
    assert (result["status"], result["engine_used"]) == ("match", "fast")
