"""The compiled engine's source holds no text of the model.

The engine writes Python from the abstract model and runs it. Its source may
hold only sdkit-made identifiers (``v12`` for a node, ``C3``/``T4_x`` for
constants and tables, the engine's own helpers), numbers and a fixed set of
string constants; names, units and documentation travel as data. Checked on
every model of the conformance suite the engine compiles, on the IIS model
and on the hostile models of ``tests/test_safety.py``.
"""

from __future__ import annotations

import io
import keyword
import re
import tokenize
from pathlib import Path

import numpy as np
import pytest
from test_safety import ATTACKS, payload

import sdkit
from sdkit.engine import runtime as rt
from sdkit.engine.compiled_cache import compiled_for, program_for
from sdkit.engine.expressions import Unsupported
from sdkit.engine.sourcecheck import check_engine_source

ROOT = Path(__file__).resolve().parents[1]
ENGINE_NAMES = frozenset({
    "np", "rt", "_full", "_mat", "_override", "_delay_order", "_fixed_order", "_chain",
    "_order", "S", "S2", "K", "OV", "N", "t", "dt", "save", "update", "out", "control",
    "init", "step", "step_lean", "_x", "_o", "_tm", "_p", "_out", "len", "int", "float", "range",
    "slice", "axis",
})
ALLOWED_STRINGS = frozenset({
    "'initial_time'", "'final_time'", "'time_step'", "'saveper'",
    "'interpolate'", "'extrapolate'", "'hold_backward'", "'look_forward'",
})
SDKIT_MADE = re.compile(r"^(v\d+|[CT]\d+(_[xy])?)$")


def offending_tokens(source: str) -> list[str]:
    """Identifiers and strings in `source` that sdkit did not make."""
    bad = []
    prev = None
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.NAME:
            name = tok.string
            attr = prev is not None and prev.string == "."
            ok = (keyword.iskeyword(name) or name in ENGINE_NAMES or SDKIT_MADE.match(name)
                  or (attr and (hasattr(np, name) or hasattr(rt, name)
                                or name in {"shape", "ndim", "T", "reshape"})))
            if not ok:
                bad.append(name)
        elif tok.type == tokenize.STRING and tok.string not in ALLOWED_STRINGS:
            bad.append(tok.string)
        elif tok.type == tokenize.COMMENT:
            bad.append(tok.string)
        prev = tok
    return bad


def _source_of(model) -> str | None:
    try:
        program = program_for(model)
        names = tuple(sorted(n for n in program.nodes if n in model._real and n != "time"))
        return compiled_for(model, names, frozenset()).source
    except Unsupported:
        return None


def _conformance_models(conformance_dir: Path) -> list[Path]:
    return sorted(conformance_dir.rglob("*.mdl"))


def test_source_of_every_compiled_conformance_model(conformance_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("SDKIT_CACHE_DIR", str(tmp_path / "cache"))
    compiled = 0
    for path in _conformance_models(conformance_dir) + [ROOT.parent / "models" / "iis.mdl"]:
        try:
            model = sdkit.load_model(path)
        except sdkit.SdkitError:
            continue
        source = _source_of(model)
        if source is None:
            continue
        compiled += 1
        assert offending_tokens(source) == [], path
        check_engine_source(source)  # the allow-list a kept copy passes on every read
    assert compiled >= 60  # the engine compiles most of the suite (a drop is a failure)


@pytest.mark.parametrize("attack", [a for a in ATTACKS if a.field is None],
                         ids=lambda a: a.id)
def test_source_of_hostile_models(attack, tmp_path, monkeypatch):
    monkeypatch.setenv("SDKIT_CACHE_DIR", str(tmp_path / "cache"))
    marker = tmp_path / "pwned"
    path = tmp_path / f"m{attack.suffix}"
    path.write_text(attack.build(payload(marker)).replace("MARKER", str(marker)))
    try:
        model = sdkit.load_model(path)
    except sdkit.SdkitError:
        return
    source = _source_of(model)
    if source is not None:
        assert offending_tokens(source) == []
        check_engine_source(source)
    assert not marker.exists()


def test_scanner_catches_model_text():
    """The scan itself would notice a name or a string from a model."""
    assert offending_tokens("v1 = teacup_temperature\n") == ["teacup_temperature"]
    assert offending_tokens("v1 = S['room']\n") == ["'room'"]
    assert offending_tokens("v1 = v2  # Room temperature\n") == ["# Room temperature"]
    assert offending_tokens("v1 = np.maximum(v2, C0)\n") == []
