"""Model names: the one canonical form, and ``Name[elem,elem]`` keys.

Vensim and Stella users write the same variable as ``Room Temperature``,
``room_temperature``, ``"Room  Temperature"`` or ``ROOM TEMPERATURE``;
sdkit compares names only through :func:`canonical`, so every part of
sdkit agrees on which spellings are the same name.
"""

from __future__ import annotations

import html
import re

__all__ = ["canonical", "canonical_key", "split_subscripted"]

_SUBSCRIPTED = re.compile(r"^\s*(?P<name>[^\[\]]+?)\s*\[(?P<elems>[^\[\]]*)\]\s*$")


def canonical(name: str) -> str:
    """The comparison form of a model name.

    Case, surrounding double quotes (Vensim), XMILE character references and
    ``\\n`` line breaks, underscores and runs of white space do not matter;
    white space inside a name is kept as one space (``"a b"`` and ``"ab"``
    stay different names).

    Examples
    --------
    >>> canonical('"Room  Temperature"')
    'room temperature'
    >>> canonical("room_temperature") == canonical("Room Temperature")
    True
    """
    text = html.unescape(str(name)).replace("\\n", " ").strip()
    if len(text) >= 2 and text[0] == '"' and text[-1] == '"':
        text = text[1:-1]
    return " ".join(text.replace("_", " ").split()).lower()


def split_subscripted(key: str) -> tuple[str, tuple[str, ...]]:
    """Split ``"Name[a, b]"`` into ``("Name", ("a", "b"))``; plain names give ``()``."""
    m = _SUBSCRIPTED.match(str(key))
    if not m:
        return str(key).strip(), ()
    elems = tuple(e.strip() for e in m.group("elems").split(",") if e.strip())
    return m.group("name"), elems


def canonical_key(key: str) -> str:
    """:func:`canonical` of a ``Name[elem,elem]`` key, elements included.

    >>> canonical_key("K [ A , b ]") == canonical_key("k[a,B]")
    True
    """
    name, elems = split_subscripted(key)
    if not elems:
        return canonical(key)
    return f"{canonical(name)}[{','.join(canonical(e) for e in elems)}]"
