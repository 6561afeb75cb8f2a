"""``sdkit explore MODEL --out explorer.html``: an offline page in which the model runs."""

from __future__ import annotations

import argparse

from sdkit.workflow.explore import build_explorer


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "explore", help="write an offline HTML explorer that runs the model in the page",
        description="Write one self-contained HTML file (no network, no server) in which the "
                    "model runs as JavaScript generated from the compiled engine's program: "
                    "sliders for levers and constants, live charts per element with the "
                    "baseline and observed data, reset, and the state in the URL.")
    p.add_argument("model", help="model file (.mdl, .xmile)")
    p.add_argument("--scenario", action="append", default=[], metavar="FILE",
                   help="scenario file: its levers become sliders and it a preset (repeatable)")
    p.add_argument("--levers", nargs="+", default=[], metavar="NAME",
                   help="constants to expose as sliders (range: the model's [min,max], else "
                        "+-50 %%)")
    p.add_argument("--outputs", nargs="+", default=[], metavar="NAME",
                   help="variables to chart (default: the scenarios' outputs, else stocks)")
    p.add_argument("--data", metavar="CSV", help="observed data to show on the charts")
    p.add_argument("--method", metavar="METHOD",
                   help="integration method: euler, rk2 or rk4 (default: the model's own, "
                        "as for `sdkit run`)")
    p.add_argument("--title", help="page title")
    p.add_argument("--out", required=True, help="HTML file to write")
    return p


def run(args) -> int:
    result = build_explorer(args.model, out=args.out, scenarios=args.scenario,
                            levers=args.levers, outputs=args.outputs, data=args.data,
                            title=args.title, method=args.method)
    n_params, n_out = len(result.spec["params"]), len(result.spec["outputs"])
    print(f"{result.path}: {n_params} slider(s), {n_out} output(s), "
          f"{len(result.spec['scenarios'])} scenario(s)")
    return 0
