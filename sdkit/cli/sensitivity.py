"""``sdkit sensitivity SPEC``: Sobol' or Morris indices from a sensitivity spec, any model."""

from __future__ import annotations

import argparse

from sdkit.cli._common import add_study_options, study_options
from sdkit.workflow.studies import run_sensitivity


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("sensitivity", help="Sobol'/Morris indices from a sensitivity spec",
                       description="Sample the factors a [sensitivity] spec names (SALib), run "
                                   "the model and write indices.csv (ranked per outcome), "
                                   "samples.csv and factors.csv to --out. Every key of the spec: "
                                   "docs/specs.md.")
    add_study_options(p, "sensitivity", held="held fixed")
    p.add_argument("--n", type=int, help="base sample size (default: sensitivity.n)")
    return p


def run(args) -> int:
    out = run_sensitivity(args.spec, **study_options(args), n=args.n)
    print(f"wrote {out}")
    return 0
