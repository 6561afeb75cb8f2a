"""``sdkit run MODEL``: one simulation, printed or written to a file."""

from __future__ import annotations

import argparse

from sdkit.cli._common import add_time_options, parse_assignments
from sdkit.edit.cin import merge_changes
from sdkit.workflow.run_summary import run_and_summarize


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("run", help="run a model once",
                       description="Run a Vensim/XMILE model once and print or save the result.")
    p.add_argument("model", help="model file (.mdl, .xmile, .stmx)")
    p.add_argument("--set", action="append", metavar="NAME=VALUE", dest="set",
                   help="set a constant (repeatable); NAME[elem]=VALUE sets one element")
    p.add_argument("--cin", action="append", metavar="FILE",
                   help="apply a Vensim changes file (repeatable; later files and --set win)")
    add_time_options(p)
    p.add_argument("--columns", nargs="+", metavar="NAME", help="variables to return")
    p.add_argument("--out", metavar="FILE", help="write results to FILE (.csv, .nc, .parquet, "
                                                 ".tab); '-' prints CSV on standard output")
    p.add_argument("--overwrite", action="store_true", help="replace FILE if it exists")
    p.add_argument("--engine", choices=["auto", "fast", "pysd", "native"], default="auto",
                   help="auto: sdkit's compiled engine, PySD where it cannot compile the "
                        "model (default); fast: refuse instead; pysd: always PySD; native: "
                        "the compiled engine through Numba (the 'fast' extra; compiles "
                        "for seconds to tens of seconds per process, then runs faster)")
    p.add_argument("--method", metavar="METHOD",
                   help="integration method: euler, rk2 (midpoint) or rk4 (default: the "
                        "model's own: an XMILE file's sim_specs method, else euler)")
    return p


def run(args) -> int:
    params = merge_changes(args.cin, parse_assignments(args.set))
    text = run_and_summarize(
        args.model, params, start=args.start, stop=args.stop,
        dt=args.dt, saveper=args.saveper, outputs=args.columns, out=args.out,
        overwrite=args.overwrite, engine=args.engine, method=args.method,
        changes=args.cin or (),
    )
    print(text)
    return 0
