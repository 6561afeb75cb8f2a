"""``sdkit uncertainty SPEC``: Monte Carlo over uncertain parameters, for any model."""

from __future__ import annotations

import argparse

from sdkit.workflow.studies import run_uncertainty


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("uncertainty", help="Monte Carlo from an uncertainty spec",
                       description="Sample the parameters an [uncertainty] spec names, run the "
                                   "model once per member and write samples.csv, bands.csv "
                                   "(5-50-95 %%) and, if asked, peaks.csv to --out. Every key "
                                   "of the spec: docs/specs.md.")
    p.add_argument("spec", help="TOML file with an [uncertainty] table")
    p.add_argument("--out", required=True, metavar="DIR", help="folder to write")
    p.add_argument("--model", help="model file (default: uncertainty.model in the spec)")
    p.add_argument("--params", metavar="FILE",
                   help="fitted parameters held in every member (.cin or calibration .json)")
    p.add_argument("--from-calibration", metavar="RECORD",
                   help="draw the parameters of this calibration record (calibration.json) "
                        "from its covariance or MCMC posterior instead of the spec's "
                        "[[uncertainty.parameters]]; its fixed and fitted values hold in every "
                        "member (default: uncertainty.from_calibration)")
    p.add_argument("--scenario", metavar="FILE", help="scenario file held in every member")
    p.add_argument("--columns", nargs="+", metavar="NAME",
                   help="variables to keep (default: uncertainty.outputs)")
    p.add_argument("--members", type=int, help="N (default: uncertainty.members)")
    p.add_argument("--seed", type=int, help="seed (default: uncertainty.seed)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --out folder")
    p.add_argument("--no-progress", action="store_true", help="hide progress bars")
    return p


def run(args) -> int:
    out = run_uncertainty(args.spec, out=args.out, model=args.model, params=args.params,
                          scenario=args.scenario, columns=args.columns, members=args.members,
                          seed=args.seed, overwrite=args.overwrite,
                          progress=not args.no_progress, from_calibration=args.from_calibration)
    print(f"wrote {out}")
    return 0
