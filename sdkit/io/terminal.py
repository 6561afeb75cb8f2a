"""Text for a terminal: model text shown, never obeyed.

A model's names, units and documentation are the author's text, and a
terminal obeys the control characters in what it prints: ``ESC ] 0 ;``
retitles the window, ``ESC [ 2 J`` clears the screen, ``BEL`` rings. The CLI
passes every text it prints that echoes a model through :func:`printable`
(or :func:`printable_json` for JSON), which writes each C0 and C1 control
character, and DEL, visibly as ``\\xNN``; newline and tab stay as they are.
"""

from __future__ import annotations

import re

__all__ = ["printable", "printable_json"]

# C0 (but tab and newline), DEL, C1
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """`text` with control characters shown as ``\\xNN`` (newline and tab kept).

    Examples
    --------
    >>> printable("u\\x1b[2J\\tdoc\\x07")
    'u\\\\x1b[2J\\tdoc\\\\x07'
    """
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def printable_json(text: str) -> str:
    """JSON text with the control characters ``json.dumps`` leaves raw as ``\\u00NN``.

    ``json.dumps`` escapes C0 inside strings but, with ``ensure_ascii=False``,
    leaves DEL and C1 as they are. Outside strings JSON holds no control
    characters but the newlines and spaces of its layout, which stay, so the
    result is the same JSON value.
    """
    return _CONTROL.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
