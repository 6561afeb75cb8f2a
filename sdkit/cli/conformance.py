"""``sdkit conformance SUITE_DIR``: run a test-model suite against canonical output."""

from __future__ import annotations

import argparse
import math
import sys

from sdkit.conformance.suite import ENGINES, run_conformance
from sdkit.errors import InvalidValueError
from sdkit.io.files import atomic_write_text
from sdkit.io.staging import check_replaceable


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "conformance", help="run a suite of test models on sdkit's engine and on PySD",
        description="Run every model under SUITE/tests/*/ and SUITE/samples/*/ against its "
                    "canonical output, on sdkit's compiled engine (PySD where it cannot "
                    "compile the model) and on PySD, with totals per engine; where both "
                    "run, the two runs are compared with each other (equal within a "
                    "relative 1e-9, or a known departure such as DELAY3's order).")
    p.add_argument("suite", help="suite folder (SDXorg test-models layout)")
    p.add_argument("--engine", default="both", choices=ENGINES,
                   help="sdkit: the compiled engine; pysd: PySD; both (default): each, "
                        "compared with the other")
    p.add_argument("--json", metavar="FILE", help="also write the full report as JSON")
    p.add_argument("--overwrite", action="store_true", help="replace the --json FILE if it exists")
    p.add_argument("--timeout", type=float, default=120.0,
                   help="seconds per model and engine (default 120)")
    p.add_argument("--jobs", type=int, help="models run at once (default: CPU count)")
    p.add_argument("--quiet", action="store_true", help="no per-model progress")
    return p


def run(args) -> int:
    if not (math.isfinite(args.timeout) and args.timeout > 0):
        raise InvalidValueError(f"--timeout must be > 0: {args.timeout:g}")
    if args.jobs is not None and args.jobs < 1:
        raise InvalidValueError(f"--jobs must be >= 1: {args.jobs}")
    if args.json:  # refused before the suite runs, not after
        check_replaceable(args.json, overwrite=args.overwrite, what="--json file")

    def show(results):
        if not args.quiet:
            statuses = " ".join(f"{r.engine} {r.status:<15}" for r in results)
            print(f"  {statuses} {results[0].name} ({results[0].seconds:.1f} s)",
                  file=sys.stderr)

    report = run_conformance(args.suite, engine=args.engine, timeout=args.timeout,
                             jobs=args.jobs, progress=show)
    if args.json:
        atomic_write_text(args.json, report.to_json(), overwrite=args.overwrite)
    print(report.summary())
    return 0
