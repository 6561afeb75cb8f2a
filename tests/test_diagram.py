"""Causal loop diagrams (sdkit.diagram)."""

from __future__ import annotations

import struct
import tomllib
from pathlib import Path

import pytest

from sdkit.errors import OutputError, UnknownVariableError
from sdkit.structure.diagram import aggregate_links, causal_loop_diagram, png_description
from sdkit.structure.graph import Link, ModelGraph

MODELS = Path(__file__).resolve().parents[1] / "models"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC
    return struct.unpack(">II", data[16:24])


def test_aggregate_links_multiplies_signs_through_hidden_variables():
    links = (
        Link("A", "x", "+"), Link("x", "B", "-"),      # A -> B negative via x
        Link("B", "y", "-"), Link("y", "z", "-"),      # B -> C positive via y, z
        Link("z", "C", "+"), Link("z", "y", "-"),      # hidden loop y <-> z: ignored
        Link("C", "A", "+", delayed=True, kind="flow"),
        Link("A", "w", "+"), Link("w", "C", "+"),      # A -> C one way ...
        Link("A", "v", "-"), Link("v", "C", "+"),      # ... and the other: '?'
        Link("k", "A", "+", kind="init"),              # initial values are not causal
    )
    graph = ModelGraph(variables=("A", "B", "C", "x", "y", "z", "w", "v", "k"),
                       stocks=frozenset({"A"}), links=links)
    got = set(aggregate_links(graph, ["A", "B", "C", "k"]))
    assert got == {("A", "B", "-"), ("B", "C", "+"), ("C", "A", "+"), ("A", "C", "?")}


def test_teacup_diagram_has_the_cooling_loop(teacup_path, tmp_path):
    out = tmp_path / "teacup.png"
    d = causal_loop_diagram(teacup_path, out, variables=[
        "Teacup Temperature", "heat loss to room", "Room Temperature"])
    assert d.variables == ("Teacup Temperature", "Heat Loss to Room", "Room Temperature")
    assert d.stocks == frozenset({"Teacup Temperature"})
    assert set(d.links) == {
        ("Teacup Temperature", "Heat Loss to Room", "+"),
        ("Heat Loss to Room", "Teacup Temperature", "-"),
        ("Room Temperature", "Heat Loss to Room", "-"),
    }
    width, height = png_size(out)
    assert width > 400 and height > 400


def test_unknown_variable_and_overwrite_refusal(teacup_path, tmp_path):
    with pytest.raises(UnknownVariableError, match="Teacup Temprature"):
        causal_loop_diagram(teacup_path, tmp_path / "a.png", variables=["Teacup Temprature"])
    out = tmp_path / "b.png"
    out.write_bytes(b"keep")
    with pytest.raises(OutputError):
        causal_loop_diagram(teacup_path, out, variables=["Teacup Temperature"],
                            overwrite=False)
    assert out.read_bytes() == b"keep"


def test_iis_diagram_regenerates_the_committed_png(tmp_path):
    out = tmp_path / "iis_cld.png"
    d = causal_loop_diagram(MODELS / "iis.mdl", out)
    side = tomllib.loads((MODELS / "iis.sdkit.toml").read_text(encoding="utf-8"))
    assert list(d.variables) == side["diagram"]["variables"]
    for link in [("Investment", "Productive capital", "+"), ("Duplication loss", "TFP", "-"),
                 ("Indicated stringency", "Policy stringency", "+"),
                 ("Policy stringency", "Industry energy intensity", "-"),
                 ("Research spending", "Knowledge stock", "+"),
                 ("Service capacity index", "Conversion efficiency", "+"),
                 ("Knowledge in use", "TFP", "+")]:
        assert link in d.links
    assert png_description(out)
    assert png_description(out) == png_description(MODELS / "iis_cld.png"), (
        "models/iis_cld.png is stale: regenerate with "
        "sdkit.structure.diagram.causal_loop_diagram('models/iis.mdl', 'models/iis_cld.png')")
