"""The independent check of the finished abstract model catches what lowering must not do."""

from __future__ import annotations

import dataclasses

import pytest
from pysd.builders.python.python_functions import functionspace
from pysd.translators.structures import abstract_expressions as ae

from sdkit.errors import TranslationError
from sdkit.model.xmile import read_xmile_abstract
from sdkit.model.xmile.guard import StockSpec, check_abstract


@pytest.fixture()
def abstract(models_dir):
    return read_xmile_abstract(models_dir / "xmile" / "two_city_sum_star.xmile")


def _element(abstract, name):
    return next(e for e in abstract.sections[0].elements if e.name == name)


def _check(abstract, stocks=None):
    check_abstract(abstract, where={"total": "m.xmile: line 34: variable 'total'"},
                   stocks=stocks or {}, functions=set(functionspace))


def test_the_reader_output_passes(abstract):
    stocks = {"K": StockSpec("K", "", ("investment",), ())}
    _check(abstract, stocks)
    total = _element(abstract, "total").components[0].ast
    assert total == ae.CallStructure(ae.ReferenceStructure("sum"), (ae.ReferenceStructure(
        "k", ae.SubscriptsReferenceStructure(["City!"])),))


def test_reduced_dimension_outside_an_array_function_is_caught(abstract):
    comp = _element(abstract, "total").components[0]
    comp.ast = comp.ast.arguments[0]  # K[City!] without the SUM
    with pytest.raises(TranslationError, match="line 34: variable 'total': internal check: "
                                               "a reduced dimension of 'k'"):
        _check(abstract)


def test_unknown_reference_is_caught(abstract):
    comp = _element(abstract, "total").components[0]
    comp.ast = ae.ReferenceStructure("nowhere")
    with pytest.raises(TranslationError, match="refers to unknown 'nowhere'"):
        _check(abstract)


def test_stock_flows_must_be_the_declared_ones(abstract):
    comp = _element(abstract, "K").components[0]
    comp.ast = dataclasses.replace(comp.ast, flow=0)  # a stock that never moves
    with pytest.raises(TranslationError, match="the stock integrates \\[\\], the file declares"):
        _check(abstract, {"K": StockSpec("K", "", ("investment",), ())})
