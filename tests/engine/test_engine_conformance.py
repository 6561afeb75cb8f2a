"""The fast engine equals PySD on the conformance models it supports.

Every Vensim model of ``../shared/conformance`` the engine compiles is listed
in ``SUPPORTED`` (a model dropping out is a failure, not a skip); every other
one must fall back to PySD with a one-line note, never give a wrong answer.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import sdkit
from sdkit.engine.compiled_cache import program_for
from sdkit.engine.ensemble import member_frame, simulate_all
from sdkit.engine.expressions import Unsupported

RTOL = 1e-9

SUPPORTED = [
    "samples/Lotka_Volterra/Lotka_Volterra.mdl",
    "samples/Population/Subscripted Population Model.mdl",
    "samples/SIR/SIR.mdl",
    "samples/pendulum/Single_Pendulum.mdl",
    "samples/simple_harmonic_oscillator/simple_harmonic_oscillator.mdl",
    "samples/teacup/teacup.mdl",
    "samples/teacup/teacup_mdl.mdl",
    "tests/abs/test_abs.mdl",
    "tests/active_initial/test_active_initial.mdl",
    "tests/arithmetics/test_arithmetics.mdl",
    "tests/arithmetics_exp/test_arithmetics_exp.mdl",
    "tests/builtin_max/builtin_max.mdl",
    "tests/builtin_min/builtin_min.mdl",
    "tests/chained_initialization/test_chained_initialization.mdl",
    "tests/constant_expressions/test_constant_expressions.mdl",
    "tests/delay_fixed/test_delay_fixed.mdl",
    "tests/delay_numeric_error/test_delay_numeric_error.mdl",
    "tests/delay_pipeline/test_pipeline_delays.mdl",
    "tests/elm_count/test_elm_count.mdl",
    "tests/except/test_except.mdl",
    "tests/except_subranges/test_except_subranges.mdl",
    "tests/exp/test_exp.mdl",
    "tests/forecast/test_forecast.mdl",
    "tests/fully_invalid_names/test_fully_invalid_names.mdl",
    "tests/game/test_game.mdl",
    "tests/if_stmt/if_stmt.mdl",
    "tests/initial_function/test_initial.mdl",
    "tests/limits/test_limits.mdl",
    "tests/line_continuation/test_line_continuation.mdl",
    "tests/ln/test_ln.mdl",
    "tests/logicals/test_logicals.mdl",
    "tests/lookups/test_lookups.mdl",
    "tests/lookups_inline/test_lookups_inline.mdl",
    "tests/lookups_inline_bounded/test_lookups_inline_bounded.mdl",
    "tests/lookups_without_range/test_lookups_without_range.mdl",
    "tests/model_doc/model_doc.mdl",
    "tests/multiple_lines_def/test_multiple_lines_def.mdl",
    "tests/nested_functions/test_nested_functions.mdl",
    "tests/number_handling/test_number_handling.mdl",
    "tests/parentheses/test_parens.mdl",
    "tests/power/power.mdl",
    "tests/reality_checks/test_reality_checks.mdl",
    "tests/repeated_subscript/test_repeated_subscript.mdl",
    "tests/rounding/test_rounding.mdl",
    "tests/smaller_range/test_smaller_range.mdl",
    "tests/smooth/test_smooth.mdl",
    "tests/special_characters/test_special_variable_names.mdl",
    "tests/subrange_merge/test_subrange_merge.mdl",
    "tests/subscript_1d_arrays/test_subscript_1d_arrays.mdl",
    "tests/subscript_3d_arrays/test_subscript_3d_arrays.mdl",
    "tests/subscript_3d_arrays_lengthwise/test_subscript_3d_arrays_lengthwise.mdl",
    "tests/subscript_aggregation/test_subscript_aggregation.mdl",
    "tests/subscript_constant_call/test_subscript_constant_call.mdl",
    "tests/subscript_definition/test_subscript_definition.mdl",
    "tests/subscript_docs/subscript_docs.mdl",
    "tests/subscript_individually_defined_1_of_2d_arrays/subscript_individually_defined_1_of_2d_arrays.mdl",
    "tests/subscript_individually_defined_1d_arrays/subscript_individually_defined_1d_arrays.mdl",
    "tests/subscript_individually_defined_stocks/test_subscript_individually_defined_stocks.mdl",
    "tests/subscript_mapping_simple/test_subscript_mapping_simple.mdl",
    "tests/subscript_mapping_vensim/test_subscript_mapping_vensim.mdl",
    "tests/subscript_multiples/test_multiple_subscripts.mdl",
    "tests/subscript_numeric_range/test_subscript_numeric_range.mdl",
    "tests/subscript_subranges/test_subscript_subrange.mdl",
    "tests/subscript_subranges_equal/test_subscript_subrange_equal.mdl",
    "tests/subscript_transposition/test_subscript_transposition.mdl",
    "tests/subscript_updimensioning/test_subscript_updimensioning.mdl",
    "tests/subscripted_flows/test_subscripted_flows.mdl",
    "tests/subscripted_logicals/test_subscripted_logicals.mdl",
    "tests/subscripted_lookups/test_subscripted_lookups.mdl",
    "tests/subscripted_round/test_subscripted_round.mdl",
    "tests/subscripted_smooth/test_subscripted_smooth.mdl",
    "tests/subscripted_trig/test_subscripted_trig.mdl",
    "tests/subscripted_xidz/test_subscripted_xidz.mdl",
    "tests/tabbed_arrays/tabbed_arrays.mdl",
    "tests/time/test_time.mdl",
    "tests/trig/test_trig.mdl",
    "tests/unchangeable_constant/test_unchangeable_constant.mdl",
    "tests/variable_ranges/test_variable_ranges.mdl",
    "tests/xidz_zidz/xidz_zidz.mdl",
]

#: models the engine refuses, with the construct it names
FALLBACK = {
    "tests/partial_range_definitions/test_partial_range_definitions.mdl":
        "not defined for every element",
    "tests/allocate_by_priority/test_allocate_by_priority.mdl": "ALLOCATE BY PRIORITY",
    "tests/macro_stock/test_macro_stock.mdl": "macros",
    "tests/invert_matrix/test_invert_matrix.mdl": "INVERT MATRIX",
    "tests/control_vars/test_control_vars.mdl": "time settings",
}


def load(path):
    """Load a model; PySD's translation warnings are not what is tested here."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return sdkit.load_model(path)


def assert_frames_equal(actual, expected, *, rtol=RTOL):
    """Every column of `expected` is in `actual` and equal within `rtol`."""
    assert np.allclose(actual.index.to_numpy(float), expected.index.to_numpy(float),
                       rtol=0, atol=1e-12), "save times differ"
    compared = 0
    for col in expected.columns:
        assert col in actual.columns, f"missing column {col!r}"
        a = actual[col].to_numpy(float)
        e = expected[col].to_numpy(float)
        np.testing.assert_allclose(a, e, rtol=rtol, atol=1e-300, equal_nan=True,
                                   err_msg=col)
        compared += 1
    assert compared > 0


@pytest.mark.parametrize("case", SUPPORTED)
def test_fast_equals_pysd(conformance_dir, case):
    model = load(conformance_dir / case)
    with warnings.catch_warnings():  # sdkit's advice (e.g. a delay order lowered), both engines
        warnings.simplefilter("ignore", sdkit.errors.SdkitWarning)
        actual, engine = simulate_all(model)
        expected = sdkit.simulate(model, check_finite=False)
    assert engine == "fast"
    lookups = set(program_for(model).lookups)
    expected = expected[[c for c in expected.columns
                         if model.py_name(c.split("[")[0]) not in lookups]]
    assert_frames_equal(actual, expected)


@pytest.mark.parametrize("case", sorted(FALLBACK))
def test_unsupported_models_fall_back(conformance_dir, case, caplog):
    model = load(conformance_dir / case)
    try:
        program_for(model)
    except Unsupported as e:
        assert FALLBACK[case] in str(e)
    name = next(n for n in model.names if n.upper() not in
                {"FINAL TIME", "INITIAL TIME", "TIME STEP", "SAVEPER"})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with caplog.at_level("INFO", logger="sdkit.engine"):
            ds = sdkit.simulate_ensemble(model, None, outputs=[name])
    assert ds.attrs["sdkit_engine"] == "pysd"
    note = ds.attrs["sdkit_fallback"]
    assert "\n" not in note and FALLBACK[case] in note
    assert any(FALLBACK[case] in r.getMessage() for r in caplog.records)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sdkit.errors.SdkitWarning)
        expected = sdkit.simulate(model, outputs=[name], check_finite=False)
    assert_frames_equal(member_frame(ds), expected, rtol=0)


@pytest.mark.parametrize(("case", "engine_used"), [
    ("samples/teacup/teacup.mdl", "fast"),
    ("tests/macro_stock/test_macro_stock.mdl", "pysd"),
])
def test_run_case_with_the_fast_engine(conformance_dir, case, engine_used):
    from sdkit.conformance.suite import run_case

    path = conformance_dir / case
    canonical = next(p for p in path.parent.iterdir() if p.name.startswith("output."))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = run_case(path, canonical, engine="fast")
    assert result["status"] == "match"
    assert result["engine_used"] == engine_used
