"""Worker process for :mod:`sdkit.conformance`: run one case, print one JSON line."""

from __future__ import annotations

import json
import sys

from sdkit.conformance.suite import run_engines


def main(argv: list[str]) -> int:
    model, canonical, engine = argv
    result = run_engines(model, canonical, engine)
    print(json.dumps(result, default=float))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
