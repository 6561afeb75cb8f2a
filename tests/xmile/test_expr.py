"""The XMILE equation parser: precedence, case, names, errors."""

from __future__ import annotations

import pytest

from sdkit.model.xmile.expr import (
    WILDCARD,
    Binary,
    Call,
    ExpressionSyntaxError,
    If,
    Num,
    Ref,
    Unary,
    parse_expression,
)
from sdkit.model.xmile.names import canonical, display


def test_power_is_right_associative_and_binds_tighter_than_unary_minus():
    # the conformance model arithmetics_exp: 30^cons^cons = 30^(cons^cons), -Time^30 = -(Time^30)
    assert parse_expression("2^3^2") == Binary("^", Num(2), Binary("^", Num(3), Num(2)))
    assert parse_expression("-x^2") == Unary("-", Binary("^", Ref("x"), Num(2)))
    assert parse_expression("30^ - 30^-c") == Binary(
        "^", Num(30), Unary("-", Binary("^", Num(30), Unary("-", Ref("c")))))


def test_usual_precedence_and_left_associativity():
    assert parse_expression("a - b - c") == Binary("-", Binary("-", Ref("a"), Ref("b")), Ref("c"))
    assert parse_expression("a + b * c") == Binary("+", Ref("a"), Binary("*", Ref("b"), Ref("c")))
    assert parse_expression("a < b AND c = d OR e") == Binary(
        "or", Binary("and", Binary("<", Ref("a"), Ref("b")), Binary("=", Ref("c"), Ref("d"))),
        Ref("e"))


@pytest.mark.parametrize("text", [
    "IF NoT x THEN 1 ELSE 0", "if not x then 1 else 0", "If NOT x Then 1 Else 0"])
def test_keywords_in_any_case(text):
    assert parse_expression(text) == If(Unary("not", Ref("x")), Num(1), Num(0))


def test_mod_and_comments():
    assert parse_expression("a MOD 3 {remainder}") == Binary("mod", Ref("a"), Num(3))


def test_names_quoted_underscored_and_subscripted():
    assert parse_expression('"Aux_with_$peC!@|_characters"') == Ref("aux with $pec!@| characters")
    assert parse_expression("Growth_Rate[City] * K[*]") == Binary(
        "*", Ref("growth rate", ("city",)), Ref("k", (WILDCARD,)))
    assert parse_expression("SUM(W[Yichang, *])") == Call("sum", (Ref("w", ("yichang", "*")),))
    assert parse_expression("LOOKUP(tbl, Time)") == Call("lookup", (Ref("tbl"), Ref("time")))


def test_display_and_canonical_names():
    assert display("Stock with \\n Newline Character") == "Stock with Newline Character"
    assert canonical("size_of_one\\ntime_lynx_harvest") == "size of one time lynx harvest"


@pytest.mark.parametrize("text, column", [("a +", 4), ("(a", 3), ("a ? b", 3), ("f(a,", 5)])
def test_syntax_errors_give_the_column(text, column):
    with pytest.raises(ExpressionSyntaxError) as info:
        parse_expression(text)
    assert info.value.column == column
