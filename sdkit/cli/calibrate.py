"""``sdkit calibrate SPEC``: fit a model to data and write the results."""

from __future__ import annotations

import argparse


def add_parser(sub) -> argparse.ArgumentParser:
    from sdkit.calibration.problem import METHODS

    p = sub.add_parser(
        "calibrate", help="fit free parameters to observed data",
        description="Fit the free parameters of a calibration spec (TOML) and write "
                    "fitted.cin, calibration.json, report.md and plots to --out. Ctrl-C "
                    "stops the fit, prints the best point so far, writes nothing and "
                    "exits with code 130.")
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
    from sdkit.calibration.fit import calibrate
    from sdkit.calibration.report import write_outputs

    if args.out:  # a wrong --out is refused before the fit, not after it
        _check_out(args.out, overwrite=args.overwrite)
    result = calibrate(args.spec, method=args.method, seed=args.seed, workers=args.workers,
                       profile=not args.no_profile)
    print(result.summary())
    if result.interrupted:  # the best point so far is printed above; earlier results stay
        import sys

        where = f"; nothing written to {args.out}" if args.out else ""
        print(f"sdkit: interrupted: best point so far shown above{where}", file=sys.stderr)
        return 130
    if args.out:
        paths = write_outputs(result, args.out, overwrite=args.overwrite,
                              plots=not args.no_plots)
        print(f"wrote {', '.join(str(p) for p in paths.values())}")
    return 0


def _check_out(out: str, *, overwrite: bool) -> None:
    """--out must be a folder (or new); its result files are replaced only with --overwrite."""
    from pathlib import Path

    from sdkit.io.files import check_replaceable

    check_replaceable(out, overwrite=True, folder=True)
    for name in ("fitted.cin", "calibration.json", "report.md"):
        check_replaceable(Path(out) / name, overwrite=overwrite)
