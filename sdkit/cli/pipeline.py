"""``sdkit pipeline [STUDY]``: calibrate, run scenarios, Monte Carlo, sensitivity, report."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from sdkit.engine.runner import ENGINES
from sdkit.workflow.pipeline import run_pipeline
from sdkit.workflow.study import DEFAULT_STUDY, Study, read_study


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("pipeline", help="study file to planner's report in one command",
                       description="Read a study file (default ./study.toml: model, "
                                   "calibration spec, scenario folder, uncertainty and "
                                   "sensitivity specs, report configuration), calibrate, run "
                                   "every scenario, Monte Carlo and sensitivity, and write the "
                                   "report folder. Options override the study file; without one, "
                                   "--config, --scenarios and --out describe the study.")
    p.add_argument("study", nargs="?", default=DEFAULT_STUDY,
                   help=f"study file (default: {DEFAULT_STUDY})")
    p.add_argument("--spec", type=Path, help="calibration spec (study.calibration)")
    p.add_argument("--scenarios", type=Path, help="scenario folder (study.scenarios)")
    p.add_argument("--config", type=Path, help="report configuration (study.report)")
    p.add_argument("--out", type=Path, help="report folder to write (study.out)")
    p.add_argument("--model", type=Path, help="model file (study.model)")
    p.add_argument("--params", metavar="FILE", type=Path,
                   help="use fitted parameters (.cin or calibration .json) instead of calibrating")
    p.add_argument("--no-calibrate", action="store_true",
                   help="use the model's own values when --params is not given")
    p.add_argument("--members", type=int, help="Monte Carlo members per scenario (0: skip)")
    p.add_argument("--sensitivity-n", type=int, help="sensitivity base sample size (0: skip)")
    p.add_argument("--seed", type=int, help="Monte Carlo seed (default: the spec's)")
    p.add_argument("--engine", choices=ENGINES, default="auto",
                   help="simulation engine: auto (compiled, PySD where a construct is "
                        "unsupported), fast (compiled only) or pysd")
    p.add_argument("--overwrite", action="store_true", help="replace an existing report folder")
    p.add_argument("--no-progress", action="store_true", help="hide progress bars")
    return p


def run(args) -> int:
    if args.study == DEFAULT_STUDY and not Path(DEFAULT_STUDY).exists() and all(
            (args.config, args.scenarios, args.out)):  # no study file: the options are one
        study = Study(report=args.config, scenarios=args.scenarios, out=args.out)
    else:
        study = read_study(args.study)
    changes = {"calibration": args.spec, "scenarios": args.scenarios, "report": args.config,
               "out": args.out, "model": args.model, "params": args.params,
               "members": args.members, "sensitivity_n": args.sensitivity_n, "seed": args.seed}
    study = dataclasses.replace(study, engine=args.engine,
                                calibrate=not args.no_calibrate,
                                **{k: v for k, v in changes.items() if v is not None})
    print(run_pipeline(study, overwrite=args.overwrite, progress=not args.no_progress))
    return 0
