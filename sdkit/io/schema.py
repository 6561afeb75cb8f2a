"""Checked values from a parsed TOML table, each error naming the file and the key.

Small helpers for spec readers: every function raises the caller's error
class with ``<file>: <key>: expected ..., got ...``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from sdkit.errors import SdkitError

__all__ = ["unknown_keys", "number", "text", "names", "table", "tables"]


def unknown_keys(data: Mapping, allowed: set[str], *, where: str, key: str,
                 error: type[SdkitError]) -> None:
    """Refuse keys of `data` not in `allowed`."""
    extra = sorted(set(data) - allowed)
    if extra:
        raise error(f"{where}: {key}: unknown key(s) {', '.join(map(repr, extra))}; "
                    f"expected some of {', '.join(sorted(allowed))}")


def number(value: object, *, where: str, key: str, error: type[SdkitError],
           minimum: float | None = None, integer: bool = False) -> float:
    """A finite number (an int when `integer`), at least `minimum` if given."""
    kind = "an integer" if integer else "a number"
    if isinstance(value, bool) or not isinstance(value, int if integer else int | float):
        raise error(f"{where}: {key}: expected {kind}, got {value!r}")
    if not math.isfinite(value):
        raise error(f"{where}: {key}: expected a finite number, got {value!r}")
    if minimum is not None and value < minimum:
        raise error(f"{where}: {key}: expected {kind} >= {minimum:g}, got {value!r}")
    return int(value) if integer else float(value)


def text(value: object, *, where: str, key: str, error: type[SdkitError]) -> str:
    """A non-empty string, stripped."""
    if not isinstance(value, str) or not value.strip():
        raise error(f"{where}: {key}: expected a non-empty string, got {value!r}")
    return value.strip()


def names(value: object, *, where: str, key: str, error: type[SdkitError]) -> tuple[str, ...]:
    """A list of distinct non-empty strings."""
    if not isinstance(value, list):
        raise error(f"{where}: {key}: expected a list of names, got {value!r}")
    out = tuple(text(v, where=where, key=key, error=error) for v in value)
    if len(set(out)) != len(out):
        raise error(f"{where}: {key}: a name is listed twice in {list(out)}")
    return out


def table(data: Mapping, key: str, *, where: str, error: type[SdkitError],
          required: bool = True) -> Mapping:
    """The sub-table ``data[key]`` (``{}`` when absent and not `required`)."""
    if key not in data:
        if required:
            raise error(f"{where}: {key}: missing [{key}] table")
        return {}
    value = data[key]
    if not isinstance(value, Mapping):
        raise error(f"{where}: {key}: expected a table, got {value!r}")
    return value


def tables(data: Mapping, key: str, *, where: str, error: type[SdkitError]) -> list[Mapping]:
    """An array of tables ``[[key]]`` (``[]`` when absent)."""
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
        raise error(f"{where}: {key}: expected tables [[{key}]], got {value!r}")
    return value
