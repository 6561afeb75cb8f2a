"""``sdkit conformance SUITE_DIR``: run a test-model suite against canonical output."""

from __future__ import annotations

import argparse
import math
import sys

from sdkit.conformance.suite import ENGINES, run_conformance
from sdkit.errors import InvalidValueError
from sdkit.io.files import atomic_write_text


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("conformance", help="run a suite of test models",
                       description="Run every model under SUITE/tests/*/ and SUITE/samples/*/ "
                                   "against its canonical output.")
    p.add_argument("suite", help="suite folder (SDXorg test-models layout)")
    p.add_argument("--engine", default="pysd", choices=ENGINES)
    p.add_argument("--json", metavar="FILE", help="also write the full report as JSON")
    p.add_argument("--timeout", type=float, default=120.0, help="seconds per model")
    p.add_argument("--jobs", type=int, help="models run at once (default: CPU count)")
    p.add_argument("--quiet", action="store_true", help="no per-model progress")
    return p


def run(args) -> int:
    if not (math.isfinite(args.timeout) and args.timeout > 0):
        raise InvalidValueError(f"--timeout must be > 0: {args.timeout:g}")
    if args.jobs is not None and args.jobs < 1:
        raise InvalidValueError(f"--jobs must be >= 1: {args.jobs}")

    def show(r):
        if not args.quiet:
            print(f"  {r.status:<15} {r.name} ({r.seconds:.1f} s)", file=sys.stderr)

    report = run_conformance(args.suite, engine=args.engine, timeout=args.timeout,
                             jobs=args.jobs, progress=show)
    if args.json:
        atomic_write_text(args.json, report.to_json())
    print(report.summary())
    return 0
