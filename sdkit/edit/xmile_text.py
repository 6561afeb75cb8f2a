"""A small scanner for XMILE text, used to edit numbers in place.

Variables are found in the ``<variables>`` block of the main ``<model>``
(never in ``<views>``, whose elements also carry ``name=``); offsets refer
to the original text, so edits are splices and nothing is re-serialised.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from pathlib import Path

from sdkit.edit.mdl_text import NUMBER
from sdkit.edit.numbers import format_number
from sdkit.errors import InvalidValueError, TranslationError, UnknownVariableError
from sdkit.model.names import canonical, split_subscripted

__all__ = ["XmileVariable", "scan_xmile", "edit_xmile"]

_VAR = re.compile(r"<(aux|stock|flow|gf)\b([^>]*?)(/?)>", re.S)
_NAME = re.compile(r"""\bname\s*=\s*(["'])(.*?)\1""", re.S)
_SUB = re.compile(r"""<element\b[^>]*\bsubscript\s*=\s*(["'])(.*?)\1[^>]*>(.*?)</element>""",
                  re.S)


@dataclass(frozen=True)
class XmileVariable:
    """A variable element: its tag, name and the span of its inner text."""

    tag: str
    name: str
    start: int  # inner text start (after the opening tag)
    end: int    # inner text end (before the closing tag)


def _variables_block(text: str, path: Path) -> tuple[int, int]:
    models = list(re.finditer(r"<model\b([^>]*)>", text))
    # the main model has no name (named ones are modules), else take the first
    models.sort(key=lambda m: _NAME.search(m.group(1)) is not None)
    for model in models[:1]:
        start = text.find("<variables", model.end())
        if start < 0:
            break
        open_end = text.index(">", start) + 1
        end = text.find("</variables>", open_end)
        if end < 0:
            break
        return open_end, end
    raise TranslationError(f"{path}: no <variables> block in the main <model>")


def scan_xmile(text: str, *, path: Path) -> list[XmileVariable]:
    """The top-level variable elements of the main model, in file order."""
    start, end = _variables_block(text, path)
    out: list[XmileVariable] = []
    pos = start
    while True:
        m = _VAR.search(text, pos, end)
        if not m:
            return out
        tag, attrs, closed = m.groups()
        name = _NAME.search(attrs)
        if closed:
            pos = m.end()
            continue
        close = text.find(f"</{tag}>", m.end(), end)
        if close < 0:
            raise TranslationError(f"{path}: <{tag}> at offset {m.start()} is never closed")
        if name:
            out.append(XmileVariable(tag, html.unescape(name.group(2)), m.end(), close))
        pos = close + len(tag) + 3


def _inner(text: str, tag: str, start: int, end: int) -> tuple[int, int] | None:
    m = re.search(rf"<{tag}\b[^>]*>(.*?)</{tag}>", text[start:end], re.S)
    if not m:
        return None
    return start + m.start(1), start + m.end(1)


def _top_eqn(text: str, var: XmileVariable) -> tuple[int, int] | None:
    """The variable's own ``<eqn>`` (not one inside an ``<element>``)."""
    body = text[var.start:var.end]
    masked = _SUB.sub(lambda m: " " * len(m.group(0)), body)
    m = re.search(r"<eqn\b[^>]*>(.*?)</eqn>", masked, re.S)
    if not m:
        return None
    return var.start + m.start(1), var.start + m.end(1)


def _number_span(text: str, span: tuple[int, int]) -> tuple[int, int] | None:
    m = re.fullmatch(rf"\s*({NUMBER})\s*", text[span[0]:span[1]])
    if not m:
        return None
    return span[0] + m.start(1), span[0] + m.end(1)


def _edit_table(text: str, var: XmileVariable, points, *, path: Path, key: str):
    f = format_number
    gf_open = re.search(r"<gf\b[^>]*>", text[var.start:var.end]) if var.tag != "gf" else None
    if var.tag == "gf":
        start, end = var.start, var.end
    elif gf_open:
        start = var.start + gf_open.end()
        end = text.find("</gf>", start, var.end)
    else:
        raise InvalidValueError(f"{path}: {key!r} is not a lookup table (no <gf>)")
    xs = ",".join(f(x) for x, _ in points)
    ys = ",".join(f(y) for _, y in points)
    ypts = _inner(text, "ypts", start, end)
    if ypts is None:
        raise InvalidValueError(f"{path}: {key!r}: <gf> has no <ypts>")
    splices = [(ypts[0], ypts[1], ys)]
    xpts = _inner(text, "xpts", start, end)
    if xpts is not None:
        splices.append((xpts[0], xpts[1], xs))
    else:  # evenly spaced table: add explicit x points right before <ypts>
        tag_at = text.rfind("<ypts", start, ypts[0])
        line_start = text.rfind("\n", start, tag_at) + 1
        indent = text[line_start:tag_at] if text[line_start:tag_at].isspace() else ""
        newline = "\r\n" if text[line_start - 2:line_start] == "\r\n" else "\n"
        sep = newline + indent if indent else ""
        splices.append((tag_at, tag_at, f"<xpts>{xs}</xpts>{sep}"))
    return splices


def edit_xmile(text: str, changes: dict[str, object], *, path: Path) -> str:
    """Apply checked changes to XMILE text; see :func:`sdkit.edit.edit_model`."""
    variables = scan_xmile(text, path=path)
    by_name = {canonical(v.name): v for v in variables}
    splices: list[tuple[int, int, str]] = []
    for key, value in changes.items():
        base, elems = split_subscripted(key)
        var = by_name.get(canonical(base))
        if var is None:
            raise UnknownVariableError(f"{path}: no variable named {base!r}")
        if isinstance(value, list):
            splices += _edit_table(text, var, value, path=path, key=key)
            continue
        if var.tag == "gf" or (var.tag == "aux" and "<gf" in text[var.start:var.end]):
            raise InvalidValueError(f"{path}: {key!r} is a lookup table; give (x, y) points")
        if var.tag == "stock":
            raise InvalidValueError(f"{path}: {key!r} is a stock, not a constant")
        span = _constant_span(text, var, elems, key=key, path=path)
        splices.append((span[0], span[1], format_number(value)))
    for start, end, new in sorted(splices, key=lambda s: s[0], reverse=True):
        text = text[:start] + new + text[end:]
    return text


def _constant_span(text, var, elems, *, key, path) -> tuple[int, int]:
    elements = list(_SUB.finditer(text, var.start, var.end))
    if elems:
        want = [canonical(e) for e in elems]
        for m in elements:
            if [canonical(s) for s in m.group(2).split(",")] == want:
                span = _inner(text, "eqn", m.start(3), m.end(3))
                break
        else:
            if elements:
                raise UnknownVariableError(f"{path}: {key!r}: no element {', '.join(elems)} "
                                           f"of {var.name!r}")
            raise InvalidValueError(
                f"{path}: {key!r}: every element of {var.name!r} takes one value; "
                "change the whole variable or define the elements separately")
    else:
        if elements:
            raise InvalidValueError(f"{path}: {key!r} has one value per subscript element; "
                                    f"give one as {key}[element]")
        span = _top_eqn(text, var)
    if span is None:
        raise InvalidValueError(f"{path}: {key!r} has no equation")
    number = _number_span(text, span)
    if number is None:
        eqn = " ".join(html.unescape(text[span[0]:span[1]]).split())
        raise InvalidValueError(f"{path}: {key!r} is not a constant: {eqn!r}")
    return number
