"""``sdkit info MODEL``: variables, kinds, units, subscripts, time settings."""

from __future__ import annotations

import argparse

from sdkit.structure.info import model_info


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("info", help="describe a model",
                       description="List a model's variables with kind, units, subscripts "
                                   "and documentation, and its time settings.")
    p.add_argument("model", help="model file")
    return p


def run(args) -> int:
    print(model_info(args.model).summary())
    return 0
