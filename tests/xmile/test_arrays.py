"""Array builtins (and macros) in XMILE: hand-computed values and Simlin agree with sdkit."""

from __future__ import annotations

import numpy as np
import pytest

from sdkit.engine.simulate import simulate
from sdkit.errors import TranslationError, UnsupportedConstructError
from sdkit.model.load import load_model

XMILE_MODELS = ("two_city_sum_star", "two_city_sum_whole", "array_functions", "macro")


@pytest.fixture(scope="module")
def xmile_dir(models_dir):
    return models_dir / "xmile"


def _norm(column: str) -> str:
    return column.lower().replace(" ", "_").replace(", ", ",")


def _run(path):
    # check_finite=False: these tests compare every column, stocks included
    return simulate(load_model(path), check_finite=False)


def _simlin_frame(path):
    import simlin

    return simlin.load(str(path)).run().results


@pytest.mark.parametrize("stem", ["two_city_sum_star", "two_city_sum_whole"])
def test_two_city_total_against_hand_computed(xmile_dir, stem):
    # K[City] grows at 10%/year with Euler dt = 0.25: K(t) = K0 * 1.025**(4t),
    # K0 = (100, 50), so total = 150 * 1.025**(4t) and is a single value.
    out = _run(xmile_dir / f"{stem}.xmile")
    t = out.index.to_numpy()
    growth = 1.025 ** (4 * t)
    np.testing.assert_allclose(out["K[Yichang]"], 100 * growth, rtol=1e-12)
    np.testing.assert_allclose(out["K[Enshi]"], 50 * growth, rtol=1e-12)
    np.testing.assert_allclose(out["total"], 150 * growth, rtol=1e-12)
    assert "total" in out.columns and not any(c.startswith("total[") for c in out.columns)
    assert out["total"].iloc[-1] == pytest.approx(402.7595757, rel=1e-9)


def test_array_functions_against_hand_computed(xmile_dir):
    out = _run(xmile_dir / "array_functions.xmile")
    k0 = np.array([100.0, 50.0, 400.0])
    first = out.iloc[0]
    assert first["total"] == first["total whole"] == first["grand total"] == 550
    assert first["average"] == pytest.approx(550 / 3)
    assert first["smallest"] == 50 and first["largest"] == 400
    assert first["spread"] == pytest.approx(np.std(k0))  # population standard deviation
    assert first["count"] == 3 and first["cells"] == 6
    assert first["farm total"] == pytest.approx(0.3 * 550)
    assert first["column total[Industry]"] == pytest.approx(0.7 * 550)
    assert first["row total[Wuhan]"] == pytest.approx(400)
    assert first["city share[Enshi]"] == pytest.approx(50 / 550)
    assert first["weighted mean rate"] == pytest.approx((10 + 10 + 20) / 550)
    assert first["pair max"] == 100 and first["mean of three"] == 3
    rates = np.array([0.10, 0.20, 0.05])
    final = k0 * (1 + 0.5 * rates) ** 10  # Euler, dt 0.5, 5 years
    assert out["total"].iloc[-1] == pytest.approx(final.sum(), rel=1e-12)
    assert out["largest row"].iloc[-1] == pytest.approx(final.max(), rel=1e-12)


@pytest.mark.parametrize("stem", XMILE_MODELS)
def test_against_simlin(xmile_dir, stem):
    path = xmile_dir / f"{stem}.xmile"
    ours = _run(path)
    ours.columns = [_norm(c) for c in ours.columns]
    theirs = _simlin_frame(path)
    shared = [c for c in theirs.columns if c in ours.columns]
    assert len(shared) >= len(theirs.columns) - 1  # all but Simlin's "dt"
    np.testing.assert_array_equal(ours.index.to_numpy(), theirs.index.to_numpy())
    for col in shared:
        np.testing.assert_allclose(ours[col].to_numpy(), theirs[col].to_numpy(),
                                   rtol=1e-6, atol=1e-12, err_msg=col)


def test_expression_macro_against_hand_computed(xmile_dir):
    # change = HALF_SUM(level, Time) - level, Euler dt 1 from level 10
    out = _run(xmile_dir / "macro.xmile")
    assert out["level"].tolist() == [10, 5, 3, 2.5, 2.75]
    assert out["doubled"].tolist() == [20, 10, 6, 5, 5.5]


def _variant(tmp_path, xmile_dir, old: str, new: str):
    text = (xmile_dir / "two_city_sum_star.xmile").read_text()
    assert old in text
    path = tmp_path / "variant.xmile"
    path.write_text(text.replace(old, new))
    return path


@pytest.mark.parametrize("equation, message", [
    ("K", r"line 34: variable 'total': .*dimension\(s\) \['City'\].*single value"),
    ("K[City]", r"line 34: variable 'total': .*dimension\(s\) \['City'\]"),
    ("K[*] + 1", r"line 34: variable 'total': .*dimension\(s\) \['City'\].*SUM\(x\[\*\]\)"),
    ("K[Yichang, Enshi]", r"'k' has 1 dimension\(s\).*2 subscript"),
    ("K[Beijing]", r"'beijing' is not an element of dimension 'City'"),
    ("SUM(Q[*])", r"unknown variable 'q'"),
])
def test_shape_errors_are_refused(tmp_path, xmile_dir, equation, message):
    path = _variant(tmp_path, xmile_dir, "<eqn>SUM(K[*])</eqn>", f"<eqn>{equation}</eqn>")
    with pytest.raises(TranslationError, match=message):
        load_model(path)


@pytest.mark.parametrize("equation, construct", [
    ("RANK(K[*], 1)", "RANK"),
    ("???", "placeholder '\\?\\?\\?'"),
    ("MY MACRO(rate)", "MY MACRO"),
    ("NORMAL(0, 1)", "NORMAL"),
    ("SUM(K')", "transpose operator"),
])
def test_unsupported_constructs_name_variable_and_line(tmp_path, xmile_dir, equation, construct):
    path = _variant(tmp_path, xmile_dir, "<eqn>SUM(K[*])</eqn>", f"<eqn>{equation}</eqn>")
    with pytest.raises(UnsupportedConstructError,
                       match=rf"variant.xmile: line 34: variable 'total': .*{construct}"):
        load_model(path)


def test_missing_element_equation_is_refused(tmp_path, xmile_dir):
    path = _variant(tmp_path, xmile_dir, '<element subscript="Enshi"><eqn>50</eqn></element>', "")
    with pytest.raises(TranslationError, match=r"variable 'K': no equation for element.*Enshi"):
        load_model(path)


def test_arrayed_flow_into_scalar_stock_is_refused(tmp_path, xmile_dir):
    text = (xmile_dir / "two_city_sum_star.xmile").read_text()
    text = text.replace('<stock name="K">\n                <dimensions><dim name="City"/>'
                        '</dimensions>', '<stock name="K">')
    text = text.replace('<element subscript="Yichang"><eqn>100</eqn></element>\n'
                        '                <element subscript="Enshi"><eqn>50</eqn></element>',
                        "<eqn>100</eqn>")
    path = tmp_path / "scalar_stock.xmile"
    path.write_text(text)
    with pytest.raises(TranslationError, match=r"variable 'K': flow 'investment' has "
                                               r"dimension\(s\) \['City'\]"):
        load_model(path)


def test_rk45_with_stocks_is_refused(tmp_path, xmile_dir):
    # RK2 and RK4 are integrated by sdkit.engine (tests/engine/test_integration_methods.py)
    path = _variant(tmp_path, xmile_dir, 'method="Euler"', 'method="RK45"')
    with pytest.raises(UnsupportedConstructError, match=r"line 7: integration method 'RK45'"):
        load_model(path)


def test_bare_array_in_a_reduction_of_an_arrayed_equation_is_ambiguous(tmp_path, xmile_dir):
    # Simlin reads SUM(K) in an equation over City as K[City]; a whole-array sum is the
    # other reading. sdkit refuses rather than pick one.
    text = (xmile_dir / "two_city_sum_star.xmile").read_text()
    text = text.replace('<flow name="investment">\n                <dimensions><dim name="City"/>'
                        '</dimensions>\n                <eqn>rate * K</eqn>',
                        '<flow name="investment">\n                <dimensions><dim name="City"/>'
                        '</dimensions>\n                <eqn>rate * SUM(K)</eqn>')
    path = tmp_path / "ambiguous.xmile"
    path.write_text(text)
    with pytest.raises(UnsupportedConstructError,
                       match=r"line 28: variable 'investment': bare 'k' .* ambiguous"):
        load_model(path)


def test_prod_against_hand_computed(tmp_path, xmile_dir):
    path = _variant(tmp_path, xmile_dir, "<eqn>SUM(K[*])</eqn>", "<eqn>PROD(K[*])</eqn>")
    out = _run(path)
    t = out.index.to_numpy()
    np.testing.assert_allclose(out["total"], 5000 * 1.025 ** (8 * t), rtol=1e-12)
