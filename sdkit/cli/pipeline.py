"""``sdkit pipeline``: calibrate, run scenarios, Monte Carlo, sensitivity, report."""

from __future__ import annotations

import argparse


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("pipeline", help="data to planner's report in one command",
                       description="Calibrate (if possible), run every scenario, Monte Carlo "
                                   "and sensitivity, and write the report folder.")
    p.add_argument("--spec", default="calibration/iis.toml", help="calibration spec")
    p.add_argument("--scenarios", default="models/scenarios", help="scenario folder")
    p.add_argument("--config", default="reports/iis.toml", help="report configuration")
    p.add_argument("--out", default="reports/iis", help="report folder to write")
    p.add_argument("--model", help="model file (default: [report] model in the config)")
    p.add_argument("--params", metavar="FILE",
                   help="use fitted parameters (.cin or calibration .json) instead of calibrating")
    p.add_argument("--no-calibrate", action="store_true",
                   help="use the model's own values when --params is not given")
    p.add_argument("--members", type=int, help="Monte Carlo members per scenario (0: skip)")
    p.add_argument("--sensitivity-n", type=int, help="sensitivity base sample size (0: skip)")
    p.add_argument("--seed", type=int, help="Monte Carlo seed (default: the config's)")
    p.add_argument("--engine", choices=["auto", "loop", "ensemble"], default="auto")
    p.add_argument("--overwrite", action="store_true", help="replace an existing report folder")
    p.add_argument("--no-progress", action="store_true", help="hide progress bars")
    return p


def run(args) -> int:
    from sdkit.workflow.pipeline import run_pipeline

    index = run_pipeline(spec=args.spec, scenarios=args.scenarios, out=args.out,
                         config=args.config, model=args.model, params=args.params,
                         calibrate=not args.no_calibrate, members=args.members,
                         sensitivity_n=args.sensitivity_n, seed=args.seed,
                         overwrite=args.overwrite, progress=not args.no_progress,
                         engine=args.engine)
    print(index)
    return 0
