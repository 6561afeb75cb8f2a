"""Guards against model files whose text would reach Python code.

PySD evaluates parts of a model file while parsing it and turns the model
into Python source that sdkit imports. sdkit's defence is structural: it
does not rely on recognising bad text.

1. **Parse time.** PySD's parsers call ``eval`` on lookup ranges, numbers,
   arrays and quoted strings. :func:`pysd_parser_without_eval` replaces that
   ``eval`` (for the duration of sdkit's parse) with :func:`ast.literal_eval`,
   which builds numbers, strings, tuples and lists and can call nothing.
   The parser is handed exactly the text sdkit decoded and checked (no
   byte-order mark, no second decoding).
2. **Build time.** PySD pastes some strings between quotes without escaping
   them. :func:`check_abstract_model` neutralises documentation and refuses
   strings that hold a quote, a backslash or a control character where PySD
   would paste them raw, so such models get a clear message.
3. **Import time.** Nothing PySD generated is imported unless it passes the
   structural allow-list of :mod:`sdkit.model.codecheck`, right after generation
   and on every load from the cache (:mod:`sdkit.model.cache`).

:func:`check_model_text` (a text filter on lookup ranges and strings) stays
as a first line of defence that gives friendlier messages; nothing depends
on it: the tests run every attack with it and with step 2 switched off.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from pysd.translators.structures import abstract_expressions as ae

from sdkit.errors import UnsafeModelError
from sdkit.model.names import canonical

__all__ = ["check_model_text", "check_abstract_model", "clean_doc", "pysd_parser_without_eval",
           "LiteralGuard"]

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_NUM = r"[+-]?\s*(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)"
_PAIR = rf"\(\s*{_NUM}\s*,\s*{_NUM}\s*\)"
# [(xmin,ymin)-(xmax,ymax)], optionally followed by Vensim's reference points
_LIMITS = re.compile(rf"^\s*{_PAIR}\s*-\s*{_PAIR}(\s*,\s*{_PAIR})*\s*$")
# a Vensim quoted name Python would also read as one plain string literal
_QUOTED = re.compile(r'"[^"\\\'{}\n]*"')
_STRING = re.compile(r"'([^']*)'")  # PySD's Vensim string rule, which it eval()s
_BRACKET = re.compile(r"\[([^\]]*)\]")
_SKETCH = "\\\\\\---///"


def _unsafe(path: Path, where: str, field: str, value: str, expected: str) -> UnsafeModelError:
    shown = value if len(value) <= 60 else value[:57] + "..."
    return UnsafeModelError(
        f"{path}: {where}: {field} {shown!r} would reach generated Python code; "
        f"expected {expected}"
    )


def _line_of(text: str, snippet: str) -> int | None:
    key = snippet.strip()[:30]
    pos = text.find(key) if key else -1
    return text.count("\n", 0, pos) + 1 if pos >= 0 else None


# -- 1. raw text, before any parsing -------------------------------------------
def check_model_text(text: str, path: Path, fmt: str) -> None:
    """Check a model file's text before PySD parses it.

    Parameters
    ----------
    text : str
        The whole file, decoded.
    path : Path
        The user's path, for messages.
    fmt : {"vensim", "xmile"}

    Raises
    ------
    UnsafeModelError
        A lookup range PySD would ``eval`` that is not numeric (Vensim), or a
        DTD/entity declaration (XMILE).
    """
    if fmt == "xmile":
        m = re.search(r"<!(DOCTYPE|ENTITY)", text, re.IGNORECASE)
        if m:
            line = text.count("\n", 0, m.start()) + 1
            raise UnsafeModelError(
                f"{path}: line {line}: XMILE files may not declare a DTD or entities "
                f"(<!{m.group(1)}); expected plain XMILE"
            )
        return
    for name, equation in _vensim_equations(text):
        for m in _STRING.finditer(equation):
            if m.group(1).endswith("\\"):
                line = _line_of(text, m.group(0))
                at = f"line {line}: " if line else ""
                raise _unsafe(path, f"{at}variable {name!r}", "string", m.group(0),
                              "no backslash before the closing quote")
        for m in _BRACKET.finditer(equation):
            inner = m.group(1)
            if "(" not in inner or _LIMITS.match(inner):
                continue
            rest = _QUOTED.sub("", inner)
            if "(" in rest or '"' in rest:
                line = _line_of(text, inner)
                at = f"line {line}: " if line else ""
                raise _unsafe(path, f"{at}variable {name!r}", "lookup range", f"[{inner}]",
                              "numbers such as [(0,0)-(10,10)] or subscript names")


def _vensim_equations(text: str) -> Iterator[tuple[str, str]]:
    """Yield (name, equation text) of every Vensim element, parsed without eval."""
    from pysd.translators.vensim import vensim_utils as vu  # heavy: parsimonious grammars
    from pysd.translators.vensim.vensim_file import FileSectionsVisitor  # heavy: idem
    from pysd.translators.vensim.vensim_section import SectionElementsVisitor  # heavy: idem

    # as VensimFile._split_sketch and ._clean do before parsing
    model = text.split(_SKETCH, 1)[0]
    model = re.sub(r"[\n\t\s]+", " ", re.sub(r"\\\n\t", " ", model))
    try:
        sections = FileSectionsVisitor(vu.Grammar.get("file_sections").parse(model)).entries
    except Exception:  # noqa: BLE001 - the real parse reports it, before any eval
        return
    for section in sections:
        try:
            tree = vu.Grammar.get("section_elements").parse(section.content)
            entries = SectionElementsVisitor(tree).entries
        except Exception:  # noqa: BLE001 - idem (bad units limits also land here)
            continue
        for entry in entries:
            eq = entry.equation
            yield re.split(r"[=(:\[]", eq, maxsplit=1)[0].strip() or eq[:30], eq


# -- 2. the abstract model, before code generation -----------------------------
def clean_doc(text: str) -> str:
    """Documentation as it may be pasted into a docstring: no double quotes.

    PySD writes documentation between triple double quotes and turns
    backslashes into line breaks, so a double quote is the only character
    that could end the docstring early; it becomes a single quote.
    """
    return text.replace('"', "'")


def _is_unsafe(value: str, *, raw: bool = False) -> bool:
    """True if `value` cannot sit between single quotes in generated code."""
    if "'" in value or _CONTROL.search(value):
        return True
    if raw:  # pasted as r'...': a backslash is harmless unless it ends the string
        return value.endswith("\\")
    return "\\" in value


def check_abstract_model(abstract, path: Path) -> None:
    """Neutralise or refuse every abstract-model string PySD pastes into code.

    Documentation is cleaned in place with :func:`clean_doc`; every other
    string is left unchanged and must be safe where PySD writes it.

    Raises
    ------
    UnsafeModelError
        Naming the file, the variable (or section) and the field.
    """

    elements = {canonical(el.name) for s in abstract.sections for el in s.elements}
    sub_elements = {str(e) for s in abstract.sections for rng in s.subscripts
                    if isinstance(rng.subscripts, list) for e in rng.subscripts}

    for section in abstract.sections:
        macro = section.type != "main" if isinstance(section.type, str) else True
        sec_where = f"macro {section.name!r}" if macro else "model"
        if macro:
            for field, values in (("macro name", [section.name]),
                                  ("macro parameter", list(section.params or [])),
                                  ("macro output", list(section.returns or []))):
                for v in values:
                    if isinstance(v, str) and _is_unsafe(v):
                        raise _unsafe(path, sec_where, field, v, "a plain name")
        stem = Path(section.path).name
        if _is_unsafe(stem) or '"' in stem:
            raise _unsafe(path, sec_where, "file name", stem, "a plain name")
        for rng in section.subscripts:
            where = f"subscript range {rng.name!r}"
            if _is_unsafe(rng.name):
                raise _unsafe(path, where, "range name", rng.name, "no quotes or backslashes")
            if isinstance(rng.subscripts, list):
                for e in rng.subscripts:
                    if _CONTROL.search(str(e)):
                        raise _unsafe(path, where, "element", str(e), "no control characters")
            else:
                for v in _strings(rng.subscripts):
                    if _is_unsafe(v, raw=True):
                        raise _unsafe(path, where, "definition", v, "a plain name")
            for v in _strings(rng.mapping):
                if _is_unsafe(v):
                    raise _unsafe(path, where, "mapping", v, "a plain range name")
        for el in section.elements:
            where = f"variable {el.name!r}"
            if el.documentation:
                el.documentation = clean_doc(str(el.documentation))
            for comp in el.components:
                if isinstance(comp.ast, ae.DataStructure) and _is_unsafe(el.name):
                    raise _unsafe(path, where, "name of a DATA variable", el.name,
                                  "no quotes or backslashes")
                kw = getattr(comp, "keyword", None)
                if isinstance(kw, str) and _is_unsafe(kw):
                    raise _unsafe(path, where, "keyword", kw, "a plain keyword")
                for v in _strings(comp.subscripts):
                    if v.rstrip("!") not in sub_elements and _is_unsafe(v):
                        raise _unsafe(path, where, "subscript", v, "a subscript name")
                _check_syntax(comp.ast, path, where, elements, sub_elements, ae)




def _strings(obj) -> Iterator[str]:
    """Every string inside nested lists, tuples, dicts and dataclasses."""
    if isinstance(obj, str):
        yield obj
    elif isinstance(obj, Path):
        yield obj.name
    elif isinstance(obj, dict):
        for k, v in obj.items():
            yield from _strings(k)
            yield from _strings(v)
    elif isinstance(obj, list | tuple | set):
        for v in obj:
            yield from _strings(v)
    elif isinstance(obj, np.ndarray):
        if obj.dtype.kind in "OUS":
            for v in obj.ravel().tolist():
                yield from _strings(v)
    elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        for f in dataclasses.fields(obj):
            yield from _strings(getattr(obj, f.name))


def _check_syntax(node, path: Path, where: str, elements: set[str], sub_elements: set[str],
                  ae) -> None:
    """Walk one expression tree; only names PySD turns into identifiers may hold quotes."""
    if isinstance(node, ae.ReferenceStructure):
        if node.subscripts is not None:
            for v in _strings(node.subscripts.subscripts):
                if v.rstrip("!") not in sub_elements and _is_unsafe(v):
                    raise _unsafe(path, where, "subscript", v, "a subscript name")
        return  # the reference itself becomes a Python identifier
    if isinstance(node, ae.CallStructure):
        ref = node.function.reference if isinstance(node.function, ae.ReferenceStructure) \
            else node.function
        if isinstance(ref, str) and canonical(ref) not in elements and _is_unsafe(ref):
            raise _unsafe(path, where, "function name", ref, "a known function")
        if isinstance(node.function, ae.ReferenceStructure):  # a lookup's subscripts
            _check_syntax(node.function, path, where, elements, sub_elements, ae)
        for arg in node.arguments:
            _check_syntax(arg, path, where, elements, sub_elements, ae)
        return
    if dataclasses.is_dataclass(node) and not isinstance(node, type):
        for f in dataclasses.fields(node):
            value = getattr(node, f.name)
            if isinstance(value, str):
                if _is_unsafe(value, raw=f.name == "file"):
                    raise _unsafe(path, where, f.name, value,
                                  "no quotes, backslashes or control characters")
            elif isinstance(value, list | tuple):
                for item in value:
                    if isinstance(item, str):
                        if _is_unsafe(item):
                            raise _unsafe(path, where, f.name, item, "a plain string")
                    else:
                        _check_syntax(item, path, where, elements, sub_elements, ae)
            else:
                _check_syntax(value, path, where, elements, sub_elements, ae)


# -- 0. PySD's parser, without eval --------------------------------------------
_EVAL_MODULES = ("pysd.translators.vensim.vensim_element",
                 "pysd.translators.xmile.xmile_element")
_EVAL_LOCK = threading.RLock()
_MISSING = object()


class LiteralGuard:
    """Stands in for ``eval`` in PySD's parsers: literals only, refusals recorded."""

    def __init__(self) -> None:
        self.refused: list[str] = []

    def __call__(self, text, *args, **kwargs):
        if args or kwargs or not isinstance(text, str):
            self.refused.append(repr(text)[:80])
            raise ValueError("PySD's parser asked to evaluate a non-literal")
        try:
            return ast.literal_eval(text.strip())
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            self.refused.append(text)
            raise ValueError(f"not a literal: {text[:60]!r}") from None


@contextmanager
def pysd_parser_without_eval():
    """Run PySD's Vensim/XMILE parsers with ``eval`` replaced by :class:`LiteralGuard`.

    The replacement is a module global of the two parser modules, which
    Python finds before the builtin; it is removed again on exit, so PySD
    used directly elsewhere is unchanged. Parses are serialised by a lock.

    Yields
    ------
    LiteralGuard
        Its ``refused`` list holds every text PySD tried to evaluate that is
        not a plain literal.
    """
    modules = [importlib.import_module(m) for m in _EVAL_MODULES]
    guard = LiteralGuard()
    with _EVAL_LOCK:
        saved = [m.__dict__.get("eval", _MISSING) for m in modules]
        for m in modules:
            m.eval = guard
        try:
            yield guard
        finally:
            for m, old in zip(modules, saved):
                if old is _MISSING:
                    del m.eval
                else:
                    m.eval = old
