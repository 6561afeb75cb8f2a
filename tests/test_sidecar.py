"""A model's sidecar ``<model>.sdkit.toml`` is found and read one way by every command."""

from __future__ import annotations

import re
import shutil

import pytest

from sdkit.cli import main
from sdkit.model.sidecar import read_sidecar, sidecar_path


def test_sidecar_path_is_beside_the_model(tmp_path):
    assert sidecar_path(tmp_path / "iis.mdl") == tmp_path / "iis.sdkit.toml"
    assert read_sidecar(tmp_path / "iis.mdl") is None  # no sidecar: nothing to read


@pytest.mark.parametrize("text", ['[summary]\nvariables = ["Infectious"\n', "[loops\n"])
def test_a_broken_sidecar_is_one_line_naming_it_for_run_and_loops(sir_path, tmp_path, capsys,
                                                                   text):
    model = tmp_path / "sir.mdl"
    shutil.copy(sir_path, model)
    sidecar_path(model).write_text(text, encoding="utf-8")
    for command in ("run", "loops"):
        assert main([command, str(model)]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and re.search(r"sir\.sdkit\.toml: not valid TOML: .*line \d",
                                           err[0]), (command, err)


def test_a_broken_sidecar_stops_the_causal_loop_diagram_naming_its_line(sir_path, tmp_path):
    from sdkit.errors import SpecError
    from sdkit.structure.diagram import causal_loop_diagram

    model = tmp_path / "sir.mdl"
    shutil.copy(sir_path, model)
    sidecar_path(model).write_text("[diagram\n", encoding="utf-8")
    with pytest.raises(SpecError, match=r"sir\.sdkit\.toml: not valid TOML: .*line 1"):
        causal_loop_diagram(model, tmp_path / "cld.png")
    assert not (tmp_path / "cld.png").exists()
