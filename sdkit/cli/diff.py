"""``sdkit diff A B``: structural differences between two model versions."""

from __future__ import annotations

import argparse

from sdkit.io.terminal import printable
from sdkit.structure.diff import diff_models


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "diff", help="structural differences between two models",
        description="Compare two models (.mdl/.xmile in any mix) by variables, equations "
                    "(as expression trees), units and feedback loops. Exit code 1 if they "
                    "differ, as diff(1) does.")
    p.add_argument("a", help="old model file")
    p.add_argument("b", help="new model file")
    p.add_argument("--no-loops", action="store_true", help="do not compare feedback loops")
    return p


def run(args) -> int:
    result = diff_models(args.a, args.b, loops=not args.no_loops)
    print(printable(result.summary()))
    return 1 if result else 0
