"""XMILE variable ranges (``<range min= max=>``): read as PySD reads them, bad ones refused."""

from __future__ import annotations

import pytest

from sdkit.errors import TranslationError
from sdkit.model.load import load_model

_XMILE = """<?xml version="1.0" encoding="utf-8"?>
<xmile xmlns="http://docs.oasis-open.org/xmile/ns/XMILE/v1.0" version="1.0">
    <header><vendor>sdkit tests</vendor><product version="1.0">hand written</product></header>
    <sim_specs method="Euler" time_units="Years">
        <start>0</start><stop>4</stop><dt>1</dt>
    </sim_specs>
    <model>
        <variables>
            <stock name="K"><eqn>100</eqn><inflow>growth</inflow></stock>
            <flow name="growth"><eqn>rate * K</eqn></flow>
            <aux name="rate"><eqn>0.1</eqn>{range}</aux>
            <aux name="share"><eqn>0.5</eqn>{share}</aux>
        </variables>
    </model>
</xmile>
"""


def _write(tmp_path, rng: str, share: str = ""):
    path = tmp_path / "ranged.xmile"
    path.write_text(_XMILE.format(range=rng, share=share), encoding="utf-8")
    return path


def test_range_becomes_the_variables_range_as_in_pysd(tmp_path):
    import pysd

    path = _write(tmp_path, '<range min="0" max="0.25"/>', '<range min="-1" max="1"/>')
    doc = pysd.read_xmile(str(path)).doc.set_index("Real Name")  # PySD's own XMILE reader
    model = load_model(path)
    for name in ("rate", "share"):
        assert model.variable(name).range == tuple(doc.loc[name, "Limits"])
    assert model.variable("rate").range == (0.0, 0.25)
    assert model.variable("K").range == (None, None)


def test_a_range_may_give_one_bound(tmp_path):
    # PySD 3.14.3's XMILE reader raises KeyError on a <range> without max; sdkit reads it
    model = load_model(_write(tmp_path, '<range max="1"/>', '<range min="0"/>'))
    assert model.variable("rate").range == (None, 1.0)
    assert model.variable("share").range == (0.0, None)


@pytest.mark.parametrize(("rng", "message"), [
    ('<range min="low" max="1"/>', "expected numbers"),
    ('<range min="2" max="1"/>', "min 2 is above max 1"),
])
def test_bad_range_is_refused_with_the_line(tmp_path, rng, message):
    with pytest.raises(TranslationError, match=rf"line 11: variable 'rate'.*{message}"):
        load_model(_write(tmp_path, rng))
