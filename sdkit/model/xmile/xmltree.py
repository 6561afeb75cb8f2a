"""Small readers of XMILE's XML elements (namespace-blind), shared by the document reader."""

from __future__ import annotations

from sdkit.errors import TranslationError

__all__ = ["local", "children", "child", "text", "floats", "read_range"]


def local(el) -> str:
    tag = el.tag
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def children(el, name: str) -> list:
    return [c for c in el if local(c) == name]


def child(el, name: str):
    found = children(el, name)
    return found[0] if found else None


def text(el, name: str) -> str | None:
    c = child(el, name)
    return None if c is None else (c.text or "")


def floats(el, where: str) -> tuple[float, ...]:
    sep = el.get("sep", ",")
    try:
        return tuple(float(v) for v in (el.text or "").replace(sep, " ").split())
    except ValueError:
        raise TranslationError(f"{where}: cannot read the numbers {el.text!r}") from None


def read_range(el, where: str) -> tuple[float | None, float | None]:
    """A variable's ``<range min="" max=""/>`` (either may be absent), as numbers."""
    rng = child(el, "range")
    if rng is None:
        return (None, None)
    try:
        lo, hi = (None if rng.get(k) is None else float(rng.get(k)) for k in ("min", "max"))
    except ValueError:
        raise TranslationError(f"{where}: <range> min/max {rng.get('min')!r}, "
                               f"{rng.get('max')!r}: expected numbers") from None
    if lo is not None and hi is not None and lo > hi:
        raise TranslationError(f"{where}: <range> min {lo:g} is above max {hi:g}")
    return (lo, hi)
