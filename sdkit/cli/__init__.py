"""The ``sdkit`` command line: parsing and printing only.

Each command lives in its own module under :mod:`sdkit.cli` with two
functions, ``add_parser(subparsers)`` and ``run(args) -> int``; every command
is one library call. Errors deriving from :class:`sdkit.SdkitError` print one
line and exit with code 2, and so does an ``OSError`` sdkit did not wrap
(one ``sdkit: error: FILE: reason`` line, never a traceback); a finished
command with findings (e.g. ``check``) exits 1.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import warnings
from contextlib import nullcontext

from sdkit.errors import SdkitError, SdkitWarning
from sdkit.io.progress import quiet
from sdkit.io.terminal import printable
from sdkit.version import __version__

__all__ = ["main", "build_parser"]

#: command modules, in the order ``sdkit --help`` lists them
COMMANDS = [
    "run", "info", "conformance", "set", "calibrate", "check", "loops", "diff", "scenarios",
    "uncertainty", "sensitivity", "report", "pipeline", "explore",
]


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, exit 2, as argparse does, plus usage hint
        self.print_usage(sys.stderr)
        self.exit(2, f"sdkit: error: {message}\n")


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The full ``sdkit`` argument parser (with `only`, that one command: fewer imports)."""

    parser = _Parser(prog="sdkit", description="Run, check, calibrate and report SD models.")
    parser.add_argument("--version", action="version", version=f"sdkit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for name in COMMANDS if only is None else [only]:
        module = importlib.import_module(f".{name.replace('-', '_')}", __name__)
        p = module.add_parser(sub)
        p.set_defaults(_handler=module.run)
    return parser


_default_showwarning = warnings.showwarning


def _show_warning(message, category, filename, lineno, file=None, line=None):
    """SdkitWarnings as one ``sdkit: warning: ...`` line; others as Python shows them."""
    if issubclass(category, SdkitWarning):
        print(printable(f"sdkit: warning: {message}"), file=sys.stderr)
    else:
        _default_showwarning(message, category, filename, lineno, file, line)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``sdkit`` console script; returns the exit code."""
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser(argv[0] if argv and argv[0] in COMMANDS else None)
    args = parser.parse_args(argv)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("always", SdkitWarning)
            warnings.showwarning = _show_warning
            with quiet() if getattr(args, "no_progress", False) else nullcontext():
                return int(args._handler(args) or 0)
    except SdkitError as e:
        print(printable(f"sdkit: error: {e}"), file=sys.stderr)
        return 2
    except BrokenPipeError:  # e.g. `sdkit info M | head`
        return 0
    except OSError as e:  # the file system said no somewhere sdkit did not wrap: one line too
        where = f"{e.filename}: " if e.filename else ""
        print(f"sdkit: error: {where}{e.strerror or e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("sdkit: interrupted", file=sys.stderr)
        return 130
