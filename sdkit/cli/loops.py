"""``sdkit loops MODEL``: list every feedback loop; ``--dominance`` scores them over a run."""

from __future__ import annotations

import argparse
from pathlib import Path

from sdkit.errors import InvalidValueError
from sdkit.io.files import TABLE_FORMATS, write_table
from sdkit.io.staging import check_replaceable
from sdkit.model.load import load_model
from sdkit.structure.loops import find_loops
from sdkit.structure.named_loops import documented_loops, match_documented, sidecar_of
from sdkit.workflow.loops import loop_dominance


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "loops", help="list feedback loops and which of them dominate",
        description="Enumerate every elementary feedback loop (Johnson's algorithm) with its "
                    "variables in order and its polarity (R reinforcing, B balancing, "
                    "U ambiguous); loops the model's sidecar names ([loops] in "
                    "MODEL.sdkit.toml) are shown with their names. With --dominance, run the "
                    "model and report which loop dominates when (Loops That Matter: link, "
                    "loop and relative loop scores, per element on subscripted models).")
    p.add_argument("model", help="model file (.mdl, .xmile)")
    p.add_argument("--max-loops", type=int, default=100_000, metavar="N",
                   help="stop with an error beyond N loops between variables (default 100000)")
    p.add_argument("--dominance", action="store_true",
                   help="also run the model and report the dominant loop over time "
                        "(loop score, Schoenberg et al. 2020)")
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
    if args.scores_out and not args.dominance:
        raise InvalidValueError("--scores-out needs --dominance")
    for out in (args.out, args.scores_out):  # refuse before the run, write nothing
        if out and Path(out).suffix.lower() not in TABLE_FORMATS:
            raise InvalidValueError(f"{out}: unknown output format "
                                    f"{Path(out).suffix or '(none)'!r}; expected one of "
                                    f"{', '.join(TABLE_FORMATS)}")
        if out:
            check_replaceable(out, overwrite=args.overwrite, what="table")
    model = load_model(args.model)
    report = find_loops(model, max_loops=args.max_loops)
    names, unmatched = match_documented(report, documented_loops(model.path), model.names,
                                        where=str(sidecar_of(model.path)))
    print(report.summary(names))
    for label in unmatched:
        print(f"  documented loop {label!r} matches no loop of the model")
    polarity = {lp.id: lp.polarity for lp in report}
    for loop_id, label in names.items():
        said = {"R": "reinforcing", "B": "balancing"}.get(label[:1].upper())
        if said and polarity[loop_id] not in (said, "ambiguous"):
            print(f"  note: documented loop {label!r} ({loop_id}) is {polarity[loop_id]} here")
    result = None
    if args.dominance:
        result = loop_dominance(model, loops=report, max_loops=args.max_element_loops,
                                samples=args.samples)
        every = args.every if args.every is not None else model.time_settings.saveper
        print(result.summary(every=every))
    if args.out:
        write_table(report.to_frame(names).set_index("id"), args.out, overwrite=args.overwrite)
    if result is not None and args.scores_out:
        write_table(result.to_frame(), args.scores_out, overwrite=args.overwrite)
    return 0
