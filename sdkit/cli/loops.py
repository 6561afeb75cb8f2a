"""``sdkit loops MODEL``: list every feedback loop; ``--dominance`` scores them over a run."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from sdkit.edit.cin import check_changes, merge_changes
from sdkit.errors import InvalidValueError
from sdkit.io.files import TABLE_FORMATS, write_table
from sdkit.io.staging import check_replaceable
from sdkit.io.terminal import printable
from sdkit.model.load import load_model
from sdkit.structure.loops import find_loops
from sdkit.workflow.loops import loop_dominance


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "loops", help="list feedback loops and which of them dominate",
        description="Enumerate every elementary feedback loop (Johnson's algorithm) with its "
                    "variables in order and its polarity (R reinforcing, B balancing, "
                    "U ambiguous); loops the model's sidecar names ([loops] in "
                    "MODEL.sdkit.toml) come first, under their documented ids and names, "
                    "and the others are numbered around those ids. With --dominance, run "
                    "the model and report which loop dominates when (Loops That Matter: "
                    "link, loop and relative loop scores, per element on subscripted "
                    "models) instead of the listing: the count, the documented loops, then "
                    "dominance (--list adds the full listing).")
    p.add_argument("model", help="model file (.mdl, .xmile)")
    p.add_argument("--max-loops", type=int, default=100_000, metavar="N",
                   help="stop with an error beyond N loops between variables (default 100000)")
    p.add_argument("--dominance", action="store_true",
                   help="run the model and report the dominant loop over time "
                        "(loop score, Schoenberg et al. 2020) instead of every loop")
    p.add_argument("--list", action="store_true",
                   help="with --dominance: list every loop too")
    p.add_argument("--cin", action="append", metavar="FILE",
                   help="with --dominance: apply a Vensim changes file to the run, e.g. "
                        "fitted constants (repeatable; later files win), as sdkit run --cin")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.add_argument("--max-element-loops", type=int, default=1000, metavar="N",
                   help="with --dominance: score every loop between elements up to N, beyond "
                        "that only those the strongest-path search finds (default 1000)")
    p.add_argument("--samples", type=int, default=100, metavar="N",
                   help="with --dominance: steps the strongest-path search looks at "
                        "(default 100)")
    p.add_argument("--every", type=float, metavar="DT",
                   help="with --dominance: report dominance on this time grid "
                        "(default: the model's SAVEPER)")
    p.add_argument("--out", metavar="FILE", help="also write the loop table (.csv, .parquet)")
    p.add_argument("--scores-out", metavar="FILE",
                   help="with --dominance: also write the relative loop scores (.csv, .parquet)")
    p.add_argument("--overwrite", action="store_true", help="replace FILE if it exists")
    return p


def run(args) -> int:
    if args.max_loops < 1:
        raise InvalidValueError(f"--max-loops must be >= 1: {args.max_loops}")
    if args.max_element_loops < 1 or args.samples < 1:
        raise InvalidValueError("--max-element-loops and --samples must be >= 1: "
                                f"{args.max_element_loops}, {args.samples}")
    if args.every is not None and not args.every > 0:
        raise InvalidValueError(f"--every must be > 0: {args.every}")
    for flag, given in (("--scores-out", args.scores_out), ("--list", args.list),
                        ("--cin", args.cin)):
        if given and not args.dominance:
            raise InvalidValueError(f"{flag} needs --dominance")
    params = merge_changes(args.cin)  # a changes file's error names its file and line
    for out in (args.out, args.scores_out):  # refuse before the run, write nothing
        if out and Path(out).suffix.lower() not in TABLE_FORMATS:
            raise InvalidValueError(f"{out}: unknown output format "
                                    f"{Path(out).suffix or '(none)'!r}; expected one of "
                                    f"{', '.join(TABLE_FORMATS)}")
        if out:
            check_replaceable(out, overwrite=args.overwrite, what="table")
    model = load_model(args.model)
    check_changes(model, args.cin)  # before the listing: a typo is reported at its line
    report = find_loops(model, max_loops=args.max_loops)
    listing = args.list or not args.dominance
    if not args.json:  # the listing before the run, which can take a while
        print(printable(report.summary(loops=listing)))
    result = every = None
    if args.dominance:
        result = loop_dominance(model, params, loops=report,
                                max_loops=args.max_element_loops, samples=args.samples)
        every = args.every if args.every is not None else model.time_settings.saveper
    if args.json:
        out = report.to_dict(loops=listing)
        if result is not None:
            out["dominance"] = result.to_dict(every=every)
        print(json.dumps(out, indent=2))  # ensure_ascii: every control character escaped
    elif result is not None:
        print(printable(result.summary(every=every)))
    if args.out:
        write_table(report.to_frame().set_index("id"), args.out, overwrite=args.overwrite)
    if result is not None and args.scores_out:
        write_table(result.to_frame(), args.scores_out, overwrite=args.overwrite)
    return 0
