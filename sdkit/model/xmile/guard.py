"""A last check of the abstract model before PySD builds it.

:mod:`sdkit.model.xmile.lower` already infers the shape of every value and
refuses mismatches. This module re-checks the finished ``AbstractModel``
independently, so a slip in the lowering cannot turn into a simulation that
quietly differs from the file:

* every name an expression refers to is a variable of the model (or PySD's
  ``time`` and time settings);
* a reduction mark (``City!``) appears only inside ``sum``/``prod``/
  ``vmin``/``vmax``;
* every arrayed variable has exactly one equation per element;
* every stock the file declares is an integration (``IntegStructure``)
  whose flows are the declared in- and outflows.

:func:`check_xml_declaration` runs first, on the file's bytes: the XML
declaration may name only UTF-8, so the parser decodes the same text that
sdkit's checks read.
"""

from __future__ import annotations

import dataclasses
import itertools
import re

from pysd.translators.structures import abstract_expressions as ae

from sdkit.errors import TranslationError, UnsafeModelError

__all__ = ["check_abstract", "check_xml_declaration", "StockSpec"]

_REDUCERS = {"sum", "prod", "vmin", "vmax"}
_BUILTIN_REFS = {"time", "time_step", "initial_time", "final_time", "saveper"}


@dataclasses.dataclass(frozen=True)
class StockSpec:
    """What the file declares about one stock: its flows' PySD keys."""

    name: str
    where: str
    inflows: tuple[str, ...]
    outflows: tuple[str, ...]


def _walk(node, inside_reduction: bool, found: list) -> None:
    if isinstance(node, ae.ReferenceStructure):
        subs = node.subscripts.subscripts if node.subscripts is not None else []
        found.append((node.reference, any(str(s).endswith("!") for s in subs),
                      inside_reduction))
        return
    if isinstance(node, ae.CallStructure):
        name = node.function.reference
        if name not in _REDUCERS:
            found.append((name, False, True))  # a function or lookup name
        for arg in node.arguments:
            _walk(arg, inside_reduction or name in _REDUCERS, found)
        return
    if isinstance(node, (list, tuple)):
        for item in node:
            _walk(item, inside_reduction, found)
        return
    if dataclasses.is_dataclass(node):
        for f in dataclasses.fields(node):
            _walk(getattr(node, f.name), inside_reduction, found)


def _flow_keys(node) -> list[tuple[str, str]]:
    """(sign, key) of the flows in a stock's net-flow expression."""
    if isinstance(node, ae.ReferenceStructure):
        return [("+", node.reference)]
    if isinstance(node, ae.ArithmeticStructure):
        if node.operators == ["negative"]:
            return [("-", key) for _, key in _flow_keys(node.arguments[0])]
        out = _flow_keys(node.arguments[0])
        for op, arg in zip(node.operators, node.arguments[1:]):
            out += [(op, key) for _, key in _flow_keys(arg)]
        return out
    return []


def check_abstract(abstract, *, where: dict[str, str], stocks: dict[str, StockSpec],
                   functions: set[str]) -> None:
    """Check the finished abstract model (see the module docstring).

    Parameters
    ----------
    abstract : AbstractModel
    where : dict
        Element name -> ``"file: line N: variable 'x'"`` for messages.
    stocks : dict
        Element name -> :class:`StockSpec` for each stock the file declares.
    functions : set of str
        PySD function names the lowering may emit (``abs``, ``if_then_else``, ...).

    Raises
    ------
    TranslationError
        Naming the variable and line, if any check fails.
    """
    section = abstract.sections[0]
    keys = {e.name.lower().replace(" ", "_") for e in section.elements}
    dims = {s.name: s.subscripts for s in section.subscripts}
    for element in section.elements:
        at = where.get(element.name, f"variable {element.name!r}")
        found: list = []
        for comp in element.components:
            _walk(comp.ast, False, found)
        for name, marked, inside in found:
            if name not in keys and name not in _BUILTIN_REFS and name not in functions:
                raise TranslationError(f"{at}: internal check: refers to unknown {name!r}")
            if marked and not inside:
                raise TranslationError(f"{at}: internal check: a reduced dimension of "
                                       f"{name!r} outside an array function")
        subs = [comp.subscripts[0] for comp in element.components]
        if any(subs) and len(subs) > 1:
            cells = [list(itertools.product(*([dims[s] if s in dims else [s] for s in sub])))
                     for sub in subs]
            flat = [c for group in cells for c in group]
            if len(flat) != len(set(flat)):
                raise TranslationError(f"{at}: internal check: an element defined twice")
        spec = stocks.get(element.name)
        if spec is None:
            continue
        for comp in element.components:
            if not isinstance(comp.ast, ae.IntegStructure):
                raise TranslationError(f"{at}: internal check: the stock is not integrated")
            flows = _flow_keys(comp.ast.flow)
            declared = [("+", k) for k in spec.inflows] + [("-", k) for k in spec.outflows]
            if sorted(flows) != sorted(declared):
                raise TranslationError(f"{at}: internal check: the stock integrates "
                                       f"{flows}, the file declares {declared}")


#: encodings an XMILE file may declare: sdkit reads model files as UTF-8 only
#: (:mod:`sdkit.io.textfile` refuses UTF-16 and other bytes that are not UTF-8)
ACCEPTED_ENCODINGS = ("utf-8", "utf8")
_DECL = re.compile(rb"<\?xml(?=[\s?])(.*?)(\?>|$)", re.S | re.I)
_ENCODING = re.compile(rb"""\bencoding\s*=\s*(["'])(.*?)\1""", re.S | re.I)


def check_xml_declaration(data: bytes, path) -> None:
    """Refuse an XML declaration naming an encoding other than UTF-8.

    sdkit checks a model's text decoded as UTF-8, while an XML parser decodes
    the bytes by the declared encoding; a declaration such as
    ``encoding="UTF-7"`` would make the two see different documents (a
    ``+ADw-!DOCTYPE`` is invisible to the check and a DTD to the parser). So
    the declaration must name UTF-8 (or no encoding, which means UTF-8);
    anything else, or an ``encoding`` the check cannot read, is refused.

    Parameters
    ----------
    data : bytes
        The file's bytes (a UTF-8 byte-order mark may precede the declaration).
    path : path-like
        The user's path, for messages.

    Raises
    ------
    UnsafeModelError
        Naming the file, line 1, the declared encoding and what is expected.
    """
    body = data[3:] if data.startswith(b"\xef\xbb\xbf") else data
    m = _DECL.match(body.lstrip(b" \t\r\n"))
    if m is None:
        return
    decl = m.group(1)
    enc = _ENCODING.search(decl)
    if enc is None:
        if re.search(rb"encoding", decl, re.I):
            raise UnsafeModelError(f"{path}: line 1: the XML declaration's encoding cannot be "
                                   "read; expected encoding=\"UTF-8\"")
        return
    name = enc.group(2).decode("latin-1")
    if name.lower() not in ACCEPTED_ENCODINGS:
        raise UnsafeModelError(f"{path}: line 1: the XML declaration says encoding={name!r}; "
                               "expected UTF-8 (save the file as UTF-8 with "
                               "encoding=\"UTF-8\")")
