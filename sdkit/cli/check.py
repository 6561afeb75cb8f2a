"""``sdkit check MODEL``: units consistency and structural problems."""

from __future__ import annotations

import argparse

from sdkit.io.terminal import printable
from sdkit.structure.units import CheckReport, check_model


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "check", help="check units and structure",
        description="Check a model's units (each equation against its declared units), "
                    "undefined variables, unused inputs (constants nothing reads), algebraic "
                    "loops, constants without units and variables without documentation; "
                    "notes list variables computed but never used inside the model "
                    "(reporting outputs, fine). Exit code 1 if any error.")
    p.add_argument("model", help="model file (.mdl, .xmile)")
    p.add_argument("--no-docs", action="store_true",
                   help="do not warn about variables without documentation")
    p.add_argument("--errors-only", action="store_true", help="print errors only")
    return p


def run(args) -> int:
    report = check_model(args.model, docs=not args.no_docs)
    if args.errors_only:
        report = CheckReport(report.model, report.errors)
    print(printable(report.summary()))
    return 0 if report.ok else 1
