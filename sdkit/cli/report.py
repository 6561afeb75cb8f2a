"""``sdkit report``: render a report folder from stored results (no new runs)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from sdkit.errors import OutputError
from sdkit.io.files import check_replaceable
from sdkit.report import read_report_config, write_report
from sdkit.report.gaps import section_gaps
from sdkit.report.render import is_report_folder
from sdkit.report.results import load_inputs


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("report", help="render a report from stored results",
                       description="Write reports/<NAME>/ (index.html, report.md, figures) "
                                   "from the data/ folder of an earlier `sdkit pipeline` run.")
    p.add_argument("--name", default="iis", help="report name: writes reports/<NAME>/")
    p.add_argument("--results", default="reports/iis/data", metavar="DIR",
                   help="data folder of a pipeline run (default: reports/iis/data)")
    p.add_argument("--config", default="reports/iis.toml", help="report configuration")
    p.add_argument("--root", default="reports", help="folder holding reports (default: reports)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing report folder")
    return p


def run(args) -> int:
    out = Path(args.root) / args.name
    results = Path(args.results)
    if os.path.lexists(out) and not args.overwrite:
        raise OutputError(f"{out}: report folder exists; pass --overwrite or another --name")
    check_replaceable(out, overwrite=args.overwrite, folder=True, owned=is_report_folder,
                      what="report")
    # everything is read into memory first, so re-rendering a report in place is safe
    inputs = load_inputs(results, read_report_config(args.config))
    for gap in section_gaps(results, inputs):  # never drop a section silently
        print(f"sdkit report: {gap}", file=sys.stderr)
    print(write_report(inputs, out, overwrite=args.overwrite))
    return 0
