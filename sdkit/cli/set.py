"""``sdkit set MODEL NAME=VALUE ...``: change constants in a model file.

Without ``--out`` or ``--in-place`` the command prints a unified diff and
changes nothing.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from sdkit.cli._common import parse_assignments
from sdkit.edit.cin import merge_changes
from sdkit.edit.writeback import backup_path, edit_model, model_diff_text, save_model
from sdkit.errors import InvalidValueError
from sdkit.io.terminal import printable
from sdkit.model.translate import MODEL_FORMATS


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "set", help="change constants in a model file",
        description="Change constants (NAME=VALUE, NAME[elem]=VALUE) in a .mdl/.xmile file, "
                    "leaving every other byte as it is. Without --out or --in-place, print "
                    "the diff and change nothing.")
    p.add_argument("model", help="model file (.mdl, .xmile)")
    p.add_argument("assignments", nargs="*", metavar="NAME=VALUE", help="constants to change")
    p.add_argument("--cin", action="append", metavar="FILE",
                   help="apply a Vensim changes file (repeatable; later files and NAME=VALUE win)")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--out", metavar="FILE", help="write the edited model to FILE")
    where.add_argument("--in-place", action="store_true",
                       help="replace MODEL, keeping a backup MODEL.bak (numbered if one exists)")
    p.add_argument("--overwrite", action="store_true", help="let --out replace an existing FILE")
    p.add_argument("--force", action="store_true",
                   help="allow values outside a variable's declared [min, max]")
    return p


def run(args) -> int:
    changes = merge_changes(args.cin, parse_assignments(args.assignments, option="NAME=VALUE"))
    if not changes:
        raise InvalidValueError("sdkit set: nothing to change; give NAME=VALUE or --cin FILE")
    if args.out:
        _check_out_suffix(args.model, args.out)
    text = edit_model(args.model, changes, force=args.force)
    if not args.out and not args.in_place:
        diff = model_diff_text(args.model, text)  # a patch: shown escaped, piped exact
        print(printable(diff) if sys.stdout.isatty() else diff, end="")
        return 0
    # --in-place edits the real file behind a symbolic link and backs it up beside it
    backup = backup_path(os.path.realpath(args.model)) if args.in_place else None
    written = save_model(args.model, text, out=args.out, in_place=args.in_place,
                         overwrite=args.overwrite)
    print(f"wrote {written}" + (f" (original kept as {backup})" if backup else ""))
    return 0


def _check_out_suffix(model: str, out: str) -> None:
    """--out must be a model file of the input's format (.mdl for .mdl, XMILE for XMILE)."""
    fmt = MODEL_FORMATS.get(Path(model).suffix.lower())
    allowed = sorted(k for k, v in MODEL_FORMATS.items() if v == fmt) or [Path(model).suffix]
    got = Path(out).suffix.lower()
    if got not in allowed:
        raise InvalidValueError(f"--out {out}: expected a file ending in {', '.join(allowed)} "
                                f"(the format of {model}), got {got or '(no suffix)'!r}")
