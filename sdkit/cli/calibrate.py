"""``sdkit calibrate SPEC``: fit a model to data and write the results."""

from __future__ import annotations

import argparse
import sys

from sdkit.calibration.bayes_fit import BAYES_METHODS, calibrate_bayes
from sdkit.calibration.fit import calibrate
from sdkit.calibration.posterior import write_bayes_outputs
from sdkit.calibration.problem import METHODS
from sdkit.calibration.spec import read_problem
from sdkit.workflow.bayes import bayes_report_files
from sdkit.workflow.calibration import check_out, write_outputs


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "calibrate", help="fit free parameters to observed data",
        description="Fit the free parameters of a calibration spec (TOML) and write "
                    "fitted.cin, calibration.json, report.md and plots to --out. The data "
                    "file may be a wide CSV (time, Var1, Var2[elem], ...), a long CSV (time, "
                    "variable, value[, unit, source]) or a Vensim data export (time across "
                    "the first row); every key of the spec: docs/specs.md. Ctrl-C stops the fit, "
                    "prints the best point so far, writes nothing and exits with code 130.")
    p.add_argument("spec", help="calibration spec (.toml), e.g. calibration/iis.toml")
    p.add_argument("--method", choices=METHODS, help="fitting method (default: the spec's)")
    p.add_argument("--seed", type=int, help="random seed (same seed, same parameters)")
    p.add_argument("--workers", type=int, default=1,
                   help="processes for differential evolution (default 1)")
    p.add_argument("--out", metavar="DIR", help="write results to DIR")
    p.add_argument("--overwrite", action="store_true", help="replace files in DIR")
    p.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    p.add_argument("--no-profile", action="store_true",
                   help="skip profile-likelihood intervals")
    return p


def run(args) -> int:
    if args.out:  # a wrong --out is refused before the fit, not after it
        check_out(args.out, overwrite=args.overwrite)
    problem = read_problem(args.spec)
    if (args.method or problem.method) in BAYES_METHODS:
        return _run_bayes(args, problem)
    result = calibrate(problem, method=args.method, seed=args.seed, workers=args.workers,
                       profile=not args.no_profile)
    print(result.summary())
    if result.interrupted:  # the best point so far is printed above; earlier results stay
        where = f"; nothing written to {args.out}" if args.out else ""
        print(f"sdkit: interrupted: best point so far shown above{where}", file=sys.stderr)
        return 130
    if args.out:
        paths = write_outputs(result, args.out, overwrite=args.overwrite,
                              plots=not args.no_plots)
        print(f"wrote {', '.join(str(p) for p in paths.values())}")
    return 0


def _run_bayes(args, problem) -> int:
    """MAP or MCMC; an interrupted chain is written too (marked not converged)."""
    result = calibrate_bayes(problem, method=args.method, seed=args.seed)
    print(result.summary())
    if args.out:
        files = bayes_report_files(result, plots=not args.no_plots)
        paths = write_bayes_outputs(result, args.out, overwrite=args.overwrite, extra=files)
        print(f"wrote {', '.join(str(p) for p in paths.values())}")
    if result.interrupted:
        print("sdkit: interrupted: the chain so far is kept, marked not converged",
              file=sys.stderr)
        return 130
    return 0
