"""Opening a model never runs code from it.

Every row of :data:`ATTACKS` is a model whose text tries to break out of the
Python PySD generates, with a payload that creates a file in ``tmp_path``.
Loading and running it must either work without the file appearing, or be
refused with :class:`UnsafeModelError` naming the file, the variable and the
field. The payloads avoid quote characters (``chr(...)`` sequences), so only
sdkit's checks, not a lucky syntax error, stand between them and execution.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

import pytest

import sdkit
from sdkit import TranslationError, UnsafeModelError, UnsupportedConstructError
from sdkit.model.codecheck import check_generated_file
from sdkit.model.safety import check_model_text, clean_doc


def _chars(text: str) -> str:
    return "+".join(f"chr({ord(c)})" for c in text)


def payload(marker: Path) -> str:
    """Python that creates `marker`, written without any quote character."""
    return f"__import__({_chars('os')}).system({_chars('touch ' + str(marker))})"


def vensim(body: str) -> str:
    return ("{UTF-8}\n" + body + "\nINITIAL TIME = 0 ~ Month ~ |\nFINAL TIME = 2 ~ Month ~ |\n"
            "TIME STEP = 1 ~ Month ~ |\nSAVEPER = TIME STEP ~ Month ~ |\n")


def xmile(variables: str, dims: str = "") -> str:
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<xmile version="1.0" xmlns="http://docs.oasis-open.org/xmile/ns/XMILE/v1.0">\n'
        "<header><name>t</name></header>\n"
        "<sim_specs><start>0</start><stop>2</stop><dt>1</dt></sim_specs>\n"
        f"{dims}<model><variables>\n{variables}\n"
        '<stock name="S"><eqn>0</eqn><inflow>X</inflow></stock>\n'
        "</variables></model></xmile>\n"
    )


Q = "'"


def _break(p: str) -> str:
    """Close a single-quoted Python string, run `p`, reopen it."""
    return f"{Q},{p},{Q}"


@dataclass(frozen=True)
class Attack:
    id: str
    suffix: str
    build: object  # callable(payload) -> model text
    field: str | None = None  # if set, must be refused naming this field
    refusals: tuple = (UnsafeModelError,)  # errors that count as a refusal


def _dim_attack(p: str) -> str:
    name = f'"D{Q}+str({p})+{Q}"'
    return vensim(f"{name}: A, B ~~|\nY[{name}] = 1, 2 ~~|\nX = 1 ~~|\nS = INTEG(X, 0) ~~|")


def _macro_attack(p: str) -> str:
    name = f'"M{_break(p)}"'
    return vensim(f":MACRO: {name}(inp)\n{name} = inp * 2 ~~|\n:END OF MACRO:\n"
                  f"X = {name}(3) ~~|\nS = INTEG(X, 0) ~~|")


def _xmile_dims(dim: str, elem: str = "A") -> str:
    return (f"<dimensions><dim name={quoteattr(dim)}><elem name={quoteattr(elem)}/>"
            '<elem name="B"/></dim></dimensions>\n')


def _xmile_subscripted(dim: str, elem: str = "A") -> str:
    return xmile(f'<aux name="Y"><dimensions><dim name={quoteattr(dim)}/></dimensions>'
                 '<eqn>1</eqn></aux><aux name="X"><eqn>1</eqn></aux>', _xmile_dims(dim, elem))


ATTACKS = [
    # -- Vensim ----------------------------------------------------------------
    Attack("mdl-doc-triple-quotes", ".mdl",
           lambda p: vensim(f'X = 1 ~ Dmnl ~ """+{p}+""" |\nS = INTEG(X, 0) ~~|')),
    Attack("mdl-doc-brief-payload", ".mdl",
           lambda p: vensim('X = 1 ~ Dmnl ~ """+__import__("os").system("touch MARKER")+""" |\n'
                            "S = INTEG(X, 0) ~~|")),
    Attack("mdl-doc-backslash-quote", ".mdl",
           lambda p: vensim(f'X = 1 ~ Dmnl ~ \\"""+{p}+\\""" |\nS = INTEG(X, 0) ~~|')),
    Attack("mdl-doc-unicode-escape", ".mdl",
           lambda p: vensim(f'X = 1 ~ Dmnl ~ \\u0022\\u0022\\u0022+{p}+\\N{{QUOTATION MARK}} |\n'
                            "S = INTEG(X, 0) ~~|")),
    Attack("mdl-units", ".mdl",
           lambda p: vensim(f"X = 1 ~ u{_break(p)} ~ |\nS = INTEG(X, 0) ~~|")),
    Attack("mdl-units-double-quote", ".mdl",
           lambda p: vensim(f'X = 1 ~ u"+{p}+" ~ |\nS = INTEG(X, 0) ~~|')),
    Attack("mdl-variable-name", ".mdl",
           lambda p: vensim(f'"X{_break(p)}" = 1 ~~|\nS = INTEG("X{_break(p)}", 0) ~~|')),
    Attack("mdl-lookup-range", ".mdl",
           lambda p: vensim(f"L( [(0,0)-(1,1), {p}], (0,0),(1,1)) ~~|\nX = L(Time) ~~|\n"
                            "S = INTEG(X, 0) ~~|"), field="lookup range"),
    Attack("mdl-with-lookup-range", ".mdl",
           lambda p: vensim(f"X = WITH LOOKUP(Time, ([(0,0)-(1,1), {p}], (0,0),(1,1))) ~~|\n"
                            "S = INTEG(X, 0) ~~|"), field="lookup range"),
    Attack("mdl-subscript-range-name", ".mdl", _dim_attack, field="lookup range"),
    Attack("mdl-subscript-range-quote", ".mdl",
           lambda p: vensim("\"D'x\": A, B ~~|\nY[\"D'x\"] = 1, 2 ~~|\nX = 1 ~~|\n"
                            "S = INTEG(X, 0) ~~|"), field="range name"),
    Attack("mdl-subscript-element", ".mdl",
           lambda p: vensim(f'D: "A{_break(p)}", B ~~|\nY[D] = 1, 2 ~~|\nX = SUM(Y[D!]) ~~|\n'
                            "S = INTEG(X, 0) ~~|"),
           refusals=(UnsafeModelError, UnsupportedConstructError)),
    Attack("mdl-data-name", ".mdl",
           lambda p: vensim(f'"D{_break(p)}" :INTERPOLATE: ~~|\n'
                            f'S = INTEG("D{_break(p)}", 0) ~~|'), field="DATA variable"),
    Attack("mdl-external-file-backslash", ".mdl",
           lambda p: vensim(f"X = GET XLS CONSTANTS('x\\', ', {p}, ', 'B2') ~~|\n"
                            "S = INTEG(X, 0) ~~|"), field="string"),
    Attack("mdl-external-file-escape", ".mdl",
           lambda p: vensim(f"X = GET XLS CONSTANTS('x\\x27,{p},\\x27', 't', 'B2') ~~|\n"
                            "S = INTEG(X, 0) ~~|"), field="file"),
    Attack("mdl-external-tab", ".mdl",
           lambda p: vensim(f"X = GET XLS DATA('x.xlsx', 't\\x27,{p},\\x27', '1', 'B2') ~~|\n"
                            "S = INTEG(X, 0) ~~|"), field="tab"),
    Attack("mdl-macro-name", ".mdl", _macro_attack, field="macro"),
    Attack("mdl-function-name", ".mdl",
           lambda p: vensim(f'X = "F{_break(p)}"(3) ~~|\nS = INTEG(X, 0) ~~|'),
           field="function name"),
    Attack("mdl-comment-newline", ".mdl",
           lambda p: vensim(f"X = 1 ~ Dmnl ~ line one\\\n\t\"\"\"\n{p}\n\"\"\" |\n"
                            "S = INTEG(X, 0) ~~|")),
    # -- XMILE -------------------------------------------------------------------
    Attack("xmile-doc", ".xmile",
           lambda p: xmile(f'<aux name="X"><doc>{escape(chr(34) * 3 + "+" + p + "+")}'
                           f'{chr(34) * 3}</doc><eqn>1</eqn></aux>')),
    Attack("xmile-units", ".xmile",
           lambda p: xmile(f'<aux name="X"><units>{escape("u" + _break(p))}</units>'
                           "<eqn>1</eqn></aux>")),
    Attack("xmile-name", ".xmile",
           lambda p: xmile(f'<aux name={quoteattr("X" + _break(p))}><eqn>1</eqn></aux>'
                           '<aux name="X"><eqn>1</eqn></aux>')),
    Attack("xmile-dimension-name", ".xmile",
           lambda p: _xmile_subscripted(f"D{Q}+str({p})+{Q}"), field="range name"),
    Attack("xmile-dimension-backslash", ".xmile",
           lambda p: _xmile_subscripted("D\\"), field="range name"),
    Attack("xmile-element-name", ".xmile", lambda p: _xmile_subscripted("D", "A" + _break(p)),
           refusals=(UnsafeModelError, UnsupportedConstructError)),
    Attack("xmile-function-name", ".xmile",
           lambda p: xmile(f'<aux name="X"><eqn>{escape(chr(34) + "F" + _break(p) + chr(34))}'
                           "(1)</eqn></aux>"), field="function",
           refusals=(UnsafeModelError, UnsupportedConstructError)),
    Attack("xmile-entity", ".xmile",
           lambda p: '<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/hostname">]>'
           + xmile('<aux name="X"><doc>&e;</doc><eqn>1</eqn></aux>').split("?>", 1)[1],
           field="DTD"),
]


@pytest.mark.parametrize("attack", ATTACKS, ids=[a.id for a in ATTACKS])
def test_model_text_never_runs(attack: Attack, tmp_path, monkeypatch):
    monkeypatch.setenv("SDKIT_CACHE_DIR", str(tmp_path / "cache"))
    marker = tmp_path / "pwned"
    folder = tmp_path / "model"
    folder.mkdir()
    path = folder / f"m{attack.suffix}"
    text = attack.build(payload(marker)).replace("MARKER", str(marker))
    path.write_text(text, encoding="utf-8")
    try:
        model = sdkit.load_model(path)
        sdkit.simulate(model, check_finite=False)
        info = sdkit.model_info(model)
        outcome = None
    except attack.refusals as e:
        outcome = str(e)
    assert not marker.exists(), "the model ran code"
    assert sorted(p.name for p in folder.iterdir()) == [path.name]
    if attack.field is not None:
        assert outcome is not None, "expected the model to be refused"
    if outcome is not None:
        assert str(path) in outcome
        if attack.field is not None:
            assert attack.field in outcome
    else:
        assert {v.name for v in info.variables} >= {"S"}


def test_unknown_gf_type_is_a_translation_error(tmp_path, monkeypatch):
    monkeypatch.setenv("SDKIT_CACHE_DIR", str(tmp_path / "cache"))
    marker = tmp_path / "pwned"
    path = tmp_path / "gf.xmile"
    gf = quoteattr("x" + _break(payload(marker)))
    path.write_text(xmile(f'<aux name="X"><eqn>Time</eqn><gf type={gf}><xscale min="0" '
                          'max="1"/><ypts>0,1</ypts></gf></aux>'))
    with pytest.raises(TranslationError):
        sdkit.load_model(path)
    assert not marker.exists()


BENIGN_DOC = 'He said "hi" and left; see C:\\data and \'single\' quotes, """ too'


@pytest.mark.parametrize("suffix", [".mdl", ".xmile"])
def test_benign_documentation_survives(suffix, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SDKIT_CACHE_DIR", str(tmp_path / "cache"))
    path = tmp_path / f"doc{suffix}"
    if suffix == ".mdl":
        text = vensim(f"X = 1 ~ Dmnl ~ {BENIGN_DOC} |\nS = INTEG(X, 0) ~~|")
    else:
        text = xmile(f'<aux name="X"><doc>{escape(BENIGN_DOC)}</doc><eqn>1</eqn></aux>')
    path.write_text(text)
    info = sdkit.model_info(path)
    doc = next(v.documentation for v in info.variables if v.name == "X")
    # double quotes become single quotes; PySD turns a Vensim backslash into a line break
    assert "He said 'hi' and left" in doc
    assert "'single' quotes, ''' too" in doc
    from sdkit.cli import main

    assert main(["info", str(path)]) == 0
    assert "He said 'hi' and left" in capsys.readouterr().out


def test_special_characters_model_still_loads(conformance_dir, tmp_path, monkeypatch):
    """Names with quotes and backslashes are legitimate (PySD writes them with repr)."""
    monkeypatch.setenv("SDKIT_CACHE_DIR", str(tmp_path / "cache"))
    src = conformance_dir / "tests" / "special_characters"
    for model_file in sorted(src.glob("*.mdl")) + sorted(src.glob("*.xmile")):
        model = sdkit.load_model(model_file)
        assert any('"Quotes"' in n or "Quotes" in n for n in model.names)
        sdkit.simulate(model, check_finite=False)


def test_clean_doc_removes_only_double_quotes():
    assert clean_doc('a "b" \\ \'c\'') == "a 'b' \\ 'c'"


@pytest.mark.parametrize("limits", ["[(0,0)-(10,10)]", "[(-1.5e3,0)-(+2,.5)]"])
def test_numeric_lookup_ranges_pass(limits, tmp_path):
    text = vensim(f"L( {limits}, (0,0),(1,1)) ~~|\nX = L(Time) ~~|\nS = INTEG(X, 0) ~~|")
    check_model_text(text, tmp_path / "m.mdl", "vensim")


def test_subscript_with_parenthesis_in_quotes_passes(tmp_path):
    text = vensim('D: "a (1)", b ~~|\nY[D] = 1, 2 ~~|\nX = Y["a (1)"] ~~|\nS = INTEG(X,0)~~|')
    check_model_text(text, tmp_path / "m.mdl", "vensim")


@pytest.mark.parametrize("code", [
    "import os\n",
    "x = __import__('os')\n",
    "def f():\n    return open('x')\n",
    "y = ().__class__\n",
    "exec('1')\n",
    # PySD's split-views loader runs the text of other files: sdkit never splits views
    "from pysd.py_backend.utils import load_modules\n"
    'exec(load_modules("modules_m", _modules, _root, []))\n',
])
def test_generated_code_belt(code, tmp_path):
    py = tmp_path / "m.py"
    py.write_text("from pathlib import Path\nimport numpy as np\n" + code)
    with pytest.raises(UnsafeModelError, match="m.mdl: generated code m.py line"):
        check_generated_file(py, tmp_path / "m.mdl")


def test_generated_code_belt_accepts_pysd_models(tmp_path, teacup_path, monkeypatch):
    monkeypatch.setenv("SDKIT_CACHE_DIR", str(tmp_path / "cache"))
    model = sdkit.load_model(teacup_path)
    py = next(model.cache_folder.glob("*.py"))
    check_generated_file(py, teacup_path)
