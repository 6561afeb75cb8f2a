"""``sdkit uncertainty SPEC``: Monte Carlo over uncertain parameters, for any model."""

from __future__ import annotations

import argparse

from sdkit.cli._common import add_study_options, study_options
from sdkit.workflow.studies import run_uncertainty


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("uncertainty", help="Monte Carlo from an uncertainty spec",
                       description="Sample the parameters an [uncertainty] spec names, run the "
                                   "model once per member and write samples.csv, bands.csv "
                                   "(5-50-95 %) and, if asked, peaks.csv to --out. Every key "
                                   "of the spec: docs/specs.md.")
    add_study_options(p, "uncertainty", held="held in every member")
    p.add_argument("--from-calibration", metavar="RECORD",
                   help="draw the parameters of this calibration record (calibration.json) "
                        "from its covariance or MCMC posterior instead of the spec's "
                        "[[uncertainty.parameters]]; its fixed and fitted values hold in every "
                        "member (default: uncertainty.from_calibration)")
    p.add_argument("--columns", nargs="+", metavar="NAME",
                   help="variables to keep (default: uncertainty.outputs)")
    p.add_argument("--members", type=int, help="N (default: uncertainty.members)")
    return p


def run(args) -> int:
    out = run_uncertainty(args.spec, **study_options(args), columns=args.columns,
                          members=args.members, from_calibration=args.from_calibration)
    print(f"wrote {out}")
    return 0
