"""Structural model diff on hand-made pairs."""

from __future__ import annotations

import pytest

from sdkit.cli import main
from sdkit.structure.diff import diff_models


def _variant(tmp_path, source, name, *replacements):
    text = source.read_text()
    for old, new in replacements:
        assert old in text, old
        text = text.replace(old, new)
    path = tmp_path / name
    path.write_text(text)
    return path


def test_identical_and_reformatted(tmp_path, teacup_path):
    assert not diff_models(teacup_path, teacup_path)
    spaced = _variant(tmp_path, teacup_path, "spaced.mdl",
                      ("(Teacup Temperature - Room Temperature) / Characteristic Time",
                       "( teacup_temperature-Room Temperature )/characteristic time"),
                      ("Degrees Fahrenheit/Minute", "Degrees Fahrenheit*Minute^-1"))
    assert not diff_models(teacup_path, spaced)


def test_teacup_changes(tmp_path, teacup_path):
    new = _variant(tmp_path, teacup_path, "v2.mdl",
                   ("Room Temperature=\n\t70", "Room Temperature=\n\t75"),
                   ("Minutes [0,?]", "Hours [0,?]"),
                   ("Heat Loss to Room=\n\t(Teacup Temperature - Room Temperature) / "
                    "Characteristic Time",
                    "Heat Loss to Room=\n\t(Cup Mass - Room Temperature) / Characteristic Time"),
                   ("Room Temperature=\n", "Cup Mass=\n\t1\n\t~\tkg\n\t~\tnew\n\t|\n\n"
                                          "Room Temperature=\n"))
    result = diff_models(teacup_path, new)
    kinds = {(c.kind, c.name) for c in result.changes}
    assert kinds == {
        ("added", "Cup Mass"),
        ("equation", "Room Temperature"),
        ("equation", "Heat Loss to Room"),
        ("units", "Characteristic Time"),
        ("loop-lost", "Teacup Temperature -> Heat Loss to Room"),
    }
    (eq,) = [c for c in result.of_kind("equation") if c.name == "Room Temperature"]
    assert (eq.old, eq.new) == ("70", "75")
    (units,) = result.of_kind("units")
    assert (units.old, units.new) == ("Minutes", "Hours")
    assert len(result.to_frame()) == 5
    back = diff_models(new, teacup_path)
    assert {(c.kind, c.name) for c in back.changes} >= {
        ("removed", "Cup Mass"), ("loop-gained", "Teacup Temperature -> Heat Loss to Room")}


def test_sir_loop_polarity_change(tmp_path, sir_path):
    new = _variant(tmp_path, sir_path, "sir2.mdl",
                   ("\tInfectious/Duration\n", "\tDuration/Infectious\n"))
    result = diff_models(sir_path, new)
    assert [(c.kind, c.name, c.old, c.new) for c in result.changes if c.kind != "equation"] == [
        ("loop-polarity", "Infectious -> Recovering", "balancing", "reinforcing")]


def test_mdl_vs_xmile(models_dir):
    result = diff_models(models_dir / "teacup.mdl", models_dir / "teacup.xmile")
    # same equations and loops; the XMILE file simply declares no units
    assert {c.kind for c in result.changes} == {"units"}
    assert {c.new for c in result.changes} == {"(none)"}


@pytest.mark.slow
def test_iis_mdl_vs_xmile(models_dir):
    root = models_dir.parents[1] / "models"
    result = diff_models(root / "iis.mdl", root / "iis.xmile")
    # subscripted constants, flat vs nested products, implicit subscripts all compare equal
    assert [c.name for c in result.of_kind("equation")] in ([], ["SAVEPER"])
    assert not result.of_kind("added") and not result.of_kind("removed")
    assert not result.of_kind("loop-gained") and not result.of_kind("loop-lost")


def test_diff_cli(tmp_path, teacup_path, capsys):
    assert main(["diff", str(teacup_path), str(teacup_path)]) == 0
    assert "no structural differences" in capsys.readouterr().out
    new = _variant(tmp_path, teacup_path, "v2.mdl", ("Room Temperature=\n\t70",
                                                     "Room Temperature=\n\t75"))
    assert main(["diff", str(teacup_path), str(new), "--no-loops"]) == 1
    assert "equation    Room Temperature: 70  ->  75" in capsys.readouterr().out
