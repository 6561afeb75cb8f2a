"""``sdkit sensitivity SPEC``: Sobol' or Morris indices from a sensitivity spec, any model."""

from __future__ import annotations

import argparse

from sdkit.workflow.studies import run_sensitivity


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("sensitivity", help="Sobol'/Morris indices from a sensitivity spec",
                       description="Sample the factors a [sensitivity] spec names (SALib), run "
                                   "the model and write indices.csv (ranked per outcome), "
                                   "samples.csv and factors.csv to --out. Every key of the spec: "
                                   "docs/specs.md.")
    p.add_argument("spec", help="TOML file with a [sensitivity] table")
    p.add_argument("--out", required=True, metavar="DIR", help="folder to write")
    p.add_argument("--model", help="model file (default: sensitivity.model in the spec)")
    p.add_argument("--params", metavar="FILE",
                   help="fitted parameters held fixed (.cin or calibration .json)")
    p.add_argument("--scenario", metavar="FILE", help="scenario file held fixed")
    p.add_argument("--n", type=int, help="base sample size (default: sensitivity.n)")
    p.add_argument("--seed", type=int, help="seed (default: sensitivity.seed)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --out folder")
    p.add_argument("--no-progress", action="store_true", help="hide progress bars")
    return p


def run(args) -> int:
    out = run_sensitivity(args.spec, out=args.out, model=args.model, params=args.params,
                          scenario=args.scenario, n=args.n, seed=args.seed,
                          overwrite=args.overwrite, progress=not args.no_progress)
    print(f"wrote {out}")
    return 0
