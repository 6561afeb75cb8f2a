"""XMILE names: one canonical spelling per identifier.

XMILE names are case-insensitive, an underscore equals a space, and the
two characters ``\\n`` (or a real line break) in a display name are a line
break shown as a space. :func:`canonical` maps every spelling of a name to
one key; :func:`display` gives the name PySD shows (case kept).
"""

from __future__ import annotations

import re

__all__ = ["canonical", "display", "pysd_key"]

_BREAKS = re.compile(r"\\n|[\r\n\t]")
_SPACES = re.compile(r"[\s_]+")


def display(name: str) -> str:
    """The name as shown: line breaks and underscores as single spaces."""
    name = name.strip()
    if len(name) >= 2 and name[0] == name[-1] == '"':
        name = name[1:-1]
    return _SPACES.sub(" ", _BREAKS.sub(" ", name)).strip()


def canonical(name: str) -> str:
    """The lookup key of a name: :func:`display` in lower case."""
    return display(name).lower()


def pysd_key(name: str) -> str:
    """How PySD's builder looks a name up (its ``cleanspace`` key)."""
    return canonical(name).replace(" ", "_")
