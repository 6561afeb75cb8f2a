"""Argument helpers shared by the command modules."""

from __future__ import annotations

import argparse

from sdkit.errors import InvalidValueError
from sdkit.model.names import canonical_key

__all__ = ["parse_assignments", "add_time_options"]


def parse_assignments(items: list[str] | None, *, option: str = "--set") -> dict[str, str]:
    """Turn ``["Name=1", "K[Yichang]=2"]`` into ``{"Name": "1", "K[Yichang]": "2"}``.

    Values stay strings; the library converts and checks them. A name given
    twice (in any spelling the model would match) is an error.
    """
    out: dict[str, str] = {}
    seen: dict[str, str] = {}
    for item in items or []:
        name, sep, value = item.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise InvalidValueError(f"{option} {item!r}: expected NAME=VALUE")
        key = canonical_key(name)  # as models match names
        if key in seen:
            raise InvalidValueError(f"{option} {name.strip()!r}: {seen[key]!r} is already set; "
                                    "expected each name once")
        seen[key] = name.strip()
        out[name.strip()] = value.strip()
    return out


def add_time_options(p: argparse.ArgumentParser) -> None:
    """--start/--stop/--dt/--saveper."""
    p.add_argument("--start", type=float, help="override INITIAL TIME")
    p.add_argument("--stop", type=float, help="override FINAL TIME")
    p.add_argument("--dt", type=float, help="override TIME STEP")
    p.add_argument("--saveper", type=float, help="override SAVEPER")
