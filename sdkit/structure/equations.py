"""Equations as the model file writes them, for display (``sdkit info``).

:func:`model_equations` maps each variable's canonical name to the text of
its equation(s), whitespace collapsed: the right-hand side, prefixed by the
left-hand subscripts when a variable is defined element by element
(``"[Pizza] 3"``). Vensim files are split at ``|`` and ``~`` (the sketch and
macro bodies skipped); XMILE files are read with sdkit's XMILE reader.
Nothing here is evaluated.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from sdkit.errors import ModelFileError, SdkitError
from sdkit.io.textfile import read_checked_bytes
from sdkit.model.names import canonical
from sdkit.model.xmile.document import read_document

__all__ = ["model_equations"]

_SKETCH = "\\\\\\---///"
_COMMENT = re.compile(r"^\s*\{[^}]*\}")


def _collapse(text: str) -> str:
    return " ".join(text.replace("\\\n", " ").replace("\\\r\n", " ").split())


def _split_lhs(equation: str) -> tuple[str, str, str] | None:
    """``(name, lhs subscripts, rhs)`` of one Vensim equation; None for ranges etc."""
    depth = 0
    for i, ch in enumerate(equation):
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
        elif depth == 0 and ch in "=(:":
            if ch == ":" and equation[i + 1:i + 2] != "=":
                return None  # a subscript range, :IS:, :EXCEPT: ...
            lhs = equation[:i]
            rhs = equation[i + (2 if ch == ":" or equation[i + 1:i + 2] == "=" else 1):]
            if ch == "(":
                rhs = "(" + rhs
            name, _, subs = lhs.partition("[")
            return name.strip().strip('"'), subs.rstrip().rstrip("]").strip(), rhs.strip()
    return None


def _vensim(text: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    body = text.split(_SKETCH, 1)[0]
    in_macro = False
    for chunk in body.split("|"):
        chunk = _COMMENT.sub("", chunk).strip()
        if chunk.startswith(":MACRO:"):
            in_macro = True
        if ":END OF MACRO:" in chunk:
            in_macro = False
            chunk = chunk.split(":END OF MACRO:", 1)[1].strip()
        if in_macro or not chunk or chunk.startswith("*"):
            continue
        split = _split_lhs(_collapse(chunk.split("~", 1)[0]))
        if split is None:
            continue
        name, subs, rhs = split
        out.setdefault(canonical(name), []).append(f"[{subs}] {rhs}" if subs else rhs)
    return out


def _xmile(path: Path) -> dict[str, list[str]]:
    doc = read_document(path)
    out: dict[str, list[str]] = {}
    for var in doc.root.variables:
        texts = []
        for eq in var.equations:
            rhs = _collapse(eq.text)
            texts.append(f"[{', '.join(eq.elements)}] {rhs}" if eq.elements else rhs)
        if var.kind == "gf" and var.lookup is not None:
            texts.append("lookup " + ", ".join(f"({x:g}, {y:g})"
                                               for x, y in zip(var.lookup.x, var.lookup.y)))
        out[canonical(var.name)] = texts
    return out


def model_equations(path: str | os.PathLike) -> dict[str, list[str]]:
    """Equation text of every variable of a model file, by canonical name.

    Parameters
    ----------
    path : path-like
        A ``.mdl`` or XMILE file.

    Returns
    -------
    dict
        ``canonical name -> [equation, ...]`` (one entry per equation; a
        variable defined element by element has several). A file sdkit's
        XMILE reader refuses gives an empty mapping: PySD may still run it,
        and the equations are for display only.
    """
    path = Path(path)
    if path.suffix.lower() == ".mdl":
        data = read_checked_bytes(path, error=ModelFileError, what="model file")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = data.decode("latin-1")
        return _vensim(text)
    try:
        return _xmile(path)
    except SdkitError:  # e.g. a construct only PySD reads: no equations to show
        return {}
