"""``sdkit info MODEL``: variables with kind, units, range, value, equation; time settings."""

from __future__ import annotations

import argparse

from sdkit.io.terminal import printable, printable_json
from sdkit.structure.info import KINDS, model_info


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("info", help="describe a model",
                       description="List a model's variables with kind, units, range, value "
                                   "(constants), equation and documentation, and its time "
                                   "settings.")
    p.add_argument("model", help="model file")
    p.add_argument("--name", action="append", metavar="PATTERN",
                   help="only variables whose name matches PATTERN (shell-style glob such as "
                        "'Pop*', case-insensitive; without * ? [ a substring); repeatable")
    p.add_argument("--kind", action="append", choices=[*KINDS, "aux"],
                   help="only variables of this kind (repeatable)")
    p.add_argument("--doc", action="store_true", help="print the full documentation")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    return p


def run(args) -> int:
    info = model_info(args.model)
    if args.name or args.kind:
        info = info.select(names=args.name, kinds=args.kind)
    print(printable_json(info.to_json()) if args.json else printable(info.summary(doc=args.doc)))
    return 0
