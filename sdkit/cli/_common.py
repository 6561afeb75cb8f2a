"""Argument helpers shared by the command modules."""

from __future__ import annotations

import argparse

from sdkit.errors import InvalidValueError
from sdkit.model.names import canonical_key

__all__ = ["parse_assignments", "add_time_options", "add_study_options", "study_options"]


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


def add_study_options(p: argparse.ArgumentParser, table: str, *, held: str) -> None:
    """SPEC, --out, --model, --params, --scenario, --seed, --overwrite, --no-progress of
    ``sdkit uncertainty`` and ``sdkit sensitivity`` (`table`: the spec's table name)."""
    p.add_argument("spec", help=f"TOML file with an [{table}] table")
    p.add_argument("--out", required=True, metavar="DIR", help="folder to write")
    p.add_argument("--model", help=f"model file (default: {table}.model in the spec)")
    p.add_argument("--params", metavar="FILE",
                   help=f"fitted parameters {held} (.cin or calibration .json)")
    p.add_argument("--scenario", metavar="FILE", help=f"scenario file {held}")
    p.add_argument("--seed", type=int, help=f"seed (default: {table}.seed)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --out folder")
    p.add_argument("--no-progress", action="store_true", help="hide progress bars")


def study_options(args: argparse.Namespace) -> dict:
    """The keyword arguments :func:`add_study_options` parsed, for the library call."""
    return {"out": args.out, "model": args.model, "params": args.params,
            "scenario": args.scenario, "seed": args.seed, "overwrite": args.overwrite,
            "progress": not args.no_progress}
