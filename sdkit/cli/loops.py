"""``sdkit loops MODEL``: list every feedback loop with its polarity."""

from __future__ import annotations

import argparse

from sdkit.errors import InvalidValueError
from sdkit.io.files import write_table
from sdkit.structure.loops import find_loops
from sdkit.workflow.loops import loop_dominance


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "loops", help="list feedback loops",
        description="Enumerate every elementary feedback loop (Johnson's algorithm) with its "
                    "variables in order and its polarity (R reinforcing, B balancing, "
                    "U ambiguous).")
    p.add_argument("model", help="model file (.mdl, .xmile)")
    p.add_argument("--max-loops", type=int, default=100_000, metavar="N",
                   help="stop with an error beyond N loops (default 100000)")
    p.add_argument("--dominance", action="store_true",
                   help="also run the model and report the dominant loop over time "
                        "(loop score, Schoenberg et al. 2020; scalar models only)")
    p.add_argument("--out", metavar="FILE", help="also write the loop table (.csv, .parquet)")
    p.add_argument("--overwrite", action="store_true", help="replace FILE if it exists")
    return p


def run(args) -> int:
    if args.max_loops < 1:
        raise InvalidValueError(f"--max-loops must be >= 1: {args.max_loops}")

    report = find_loops(args.model, max_loops=args.max_loops)
    print(report.summary())
    if args.out:
        write_table(report.to_frame().set_index("id"), args.out, overwrite=args.overwrite)
    if args.dominance:

        print(loop_dominance(args.model, loops=report).summary())
    return 0
