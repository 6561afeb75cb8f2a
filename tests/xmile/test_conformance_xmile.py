"""Per-model outcomes on the XMILE files of the conformance suite.

The files plain PySD 3.14.3 could not read must now match their canonical
output, or be refused naming the construct, the variable and the line
(``???`` placeholder equations, macros the exporter dropped, xmutil's postfix
``not``). The old-format ``.stmx`` files (isee's drafts before XMILE 1.0) are read.
"""

from __future__ import annotations

import re

import pytest

from sdkit.conformance.suite import load_canonical, run_case
from sdkit.errors import TranslationError, UnsupportedConstructError
from sdkit.model.translate import read_abstract_model

#: failed with plain PySD, match now
NOW_MATCH = [
    "samples/bpowers-hares_and_lynxes_modules/model.xmile",  # modules with <connect>
    "samples/bpowers-hares_and_lynxes_modules/model.stmx",
    "tests/lookups/test_lookups.stmx",  # LOOKUP(table, x) on an aux with a <gf>
    "tests/special_characters_xmile/test_special_variable_names.stmx",  # names in <inflow>
]
#: isee's format before XMILE 1.0 (Stella 10): variables straight under <model>; refused
#: until 2026-12, read now (plain PySD cannot read them)
LEGACY = ["samples/SIR/SIR_legacy.stmx", "samples/teacup/teacup_legacy.stmx",
          "samples/bpowers-hares_and_lynxes_modules/model_legacy.stmx",
          "tests/comparisons/comparisons.stmx", "tests/eval_order/eval_order.stmx",
          "tests/lookups/test_lookups_no-indirect.stmx"]
#: matched with plain PySD; kept matching (a sample covering the features rewritten here)
STILL_MATCH = [
    "tests/arithmetics_exp/test_arithmetics_exp.xmile",  # ^ associativity, unary minus
    "tests/logicals/test_logicals_caseinsensitive.xmile",  # NoT, AnD, oR
    "tests/subscript_individually_defined_1d_arrays/"
    "subscript_individually_defined_1d_arrays.xmile",
    "tests/non_negative_all/test_non_negative_all1.xmile",
    "tests/delay_xmile/test_delay_xmile.xmile",
    "samples/SIR/SIR_reciprocal-dt.xmile",
    "tests/lookups/test_lookups.xmile",  # a standalone <gf> called as f(x)
    "tests/subscripted_trig/test_subscripted_trig.xmile",  # constants listed "0.1, 0.3; ..."
]
PLACEHOLDER = [
    f"tests/{case}.{ext}"
    for case in ("subscript_1d_arrays/test_subscript_1d_arrays",
                 "subscript_constant_call/test_subscript_constant_call",
                 "subscript_multiples/test_multiple_subscripts",
                 "subscript_subranges/test_subscript_subrange",
                 "subscript_subranges_equal/test_subscript_subrange_equal",
                 "subscript_updimensioning/test_subscript_updimensioning",
                 "subscripted_flows/test_subscripted_flows")
    for ext in ("xmile", "stmx")
]
LOST_MACRO = [f"tests/{c}/test_{c}.{ext}" for c in
              ("macro_expression", "macro_multi_expression", "macro_stock")
              for ext in ("xmile", "stmx")]


def _canonical(path):
    return next(p for p in path.parent.iterdir() if p.name in ("output.csv", "output.tab"))


@pytest.mark.slow
@pytest.mark.parametrize("name", NOW_MATCH + LEGACY + STILL_MATCH)
def test_matches_canonical_output(conformance_dir, conformance_report, name):
    # the session's run of the whole suite (tests/conftest.py), not a second run of the case
    result = conformance_report.by_name()[name]
    assert result.status == "match", (result.status, result.detail)
    # every column of the canonical output was compared (eval_order has only one)
    assert result.n_columns == len(load_canonical(_canonical(conformance_dir / name)).columns)


@pytest.mark.parametrize("name", PLACEHOLDER)
def test_placeholder_equations_are_refused_naming_variable_and_line(conformance_dir, name):
    path = conformance_dir / name
    lines = path.read_text().splitlines()
    line = next(i for i, text in enumerate(lines, 1) if "???" in text)
    with pytest.raises(UnsupportedConstructError) as info:
        read_abstract_model(path)
    message = str(info.value)
    m = re.search(rf"{re.escape(name)}: line {line}: variable '([^']+)': the equation is "
                  r"the placeholder '\?\?\?'", message)
    assert m, message
    names = {re.sub(r"[\s_]+", " ", n).lower()
             for n in re.findall(r'<(?:aux|flow|stock) name="([^"]+)"', path.read_text())}
    assert m.group(1).lower() in names


@pytest.mark.parametrize("name", LOST_MACRO)
def test_undefined_macros_are_refused(conformance_dir, name):
    with pytest.raises(UnsupportedConstructError,
                       match=r"line 43: variable 'macro output': calls EXPRESSION MACRO\(\), "
                             r"which is neither an XMILE builtin nor a macro defined"):
        read_abstract_model(conformance_dir / name)


def test_postfix_not_from_xmutil_is_a_syntax_error(conformance_dir):
    # the file says "IF false_input not THEN ..."; XMILE's NOT is a prefix operator
    with pytest.raises(TranslationError,
                       match=r"line 33: variable 'NOT output': column 18: .*'not' after"):
        read_abstract_model(conformance_dir / "tests/logicals/test_logicals.stmx")


@pytest.mark.parametrize("ext", ["xmile", "stmx"])
def test_active_initial_matches_stella_not_vensim(conformance_dir, ext):
    # xmutil dropped Vensim's ACTIVE INITIAL(Time, 45) when writing these files, so
    # the harness's output.tab (Vensim) differs; Stella's own run of the same file
    # (output_stella.csv beside it) is what XMILE means, and sdkit matches it.
    folder = conformance_dir / "tests/active_initial"
    model = folder / f"test_active_initial.{ext}"
    assert run_case(model, folder / "output_stella.csv")["status"] == "match"
    vensim = run_case(model, folder / "output.tab")
    assert vensim["status"] == "mismatch" and vensim["worst_column"] == "Stock A"
