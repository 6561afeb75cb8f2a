"""``sdkit scenarios list [FOLDER]`` and ``sdkit scenarios run SPEC``."""

from __future__ import annotations

import argparse
from pathlib import Path

from sdkit.scenarios.runs import run_scenario_files
from sdkit.scenarios.spec import list_scenarios, read_scenario


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("scenarios", help="list or run scenario files",
                       description="List scenario files, or run one (or a folder of them). "
                                   "Every key of a scenario file: docs/specs.md.")
    cmds = p.add_subparsers(dest="scenarios_command", metavar="ACTION", required=True)
    ls = cmds.add_parser("list", help="list the scenarios in a folder")
    ls.add_argument("folder", nargs="?", default="models/scenarios",
                    help="folder of *.toml scenario files (default: models/scenarios)")
    run = cmds.add_parser("run", help="run a scenario file (or every file in a folder)")
    run.add_argument("spec", help="scenario .toml file or folder")
    run.add_argument("--model", help="model file (default: the scenario's 'model' key)")
    run.add_argument("--params", metavar="FILE",
                     help="fitted parameters: .cin file or calibration record (.json)")
    run.add_argument("--columns", nargs="+", metavar="NAME",
                     help="variables to keep (default: each file's [outputs] variables)")
    run.add_argument("--out", metavar="DIR", default="reports/runs",
                     help="folder for <scenario>.parquet tables (default: reports/runs)")
    run.add_argument("--overwrite", action="store_true", help="replace existing tables")
    return p


def run(args) -> int:
    if args.scenarios_command == "list":
        for s in list_scenarios(args.folder):
            levers = ", ".join(f"{lv.name}={lv.strength:g} from {lv.start_year:g} "
                               f"(+{lv.ramp_years:g} y)" for lv in s.levers if lv.active)
            print(f"{s.name:<24} {s.title}\n{'':<24} levers: {levers or 'none'}")
        return 0

    spec = Path(args.spec)
    scenarios = list_scenarios(spec) if spec.is_dir() else [read_scenario(spec)]
    for path in run_scenario_files(scenarios, model=args.model, params=args.params,
                                   outputs=args.columns, out=args.out, overwrite=args.overwrite):
        print(f"wrote {path}")
    return 0
