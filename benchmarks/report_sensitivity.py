"""Sobol' sensitivity of the report: time per base sample size N, and which indices resolve.

Run from the repository root::

    .venv/bin/python benchmarks/report_sensitivity.py              # N = 64 (baseline), 256, 1024
    .venv/bin/python benchmarks/report_sensitivity.py --n 64 512    # other sizes

It reads the ``[sensitivity]`` spec of the report configuration (default
``reports/iis.toml``) and the calibrated parameters (default
``calibration/results/iis/calibration.json``), runs the analysis once per N
and prints, per N: wall time, runs, the time ratio against the first N
(the baseline, measured in the same run), and for each outcome whether its
headline indices (its three highest total indices of at least 0.05) exceed
their confidence half-widths. The report needs every headline index to clear
its interval; the smallest N that does is the one to set in the spec.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from sdkit.analysis.sensitivity import sensitivity_analysis
from sdkit.model.load import load_model
from sdkit.scenarios.spec import list_scenarios
from sdkit.scenarios.uncertainty import read_parameters
from sdkit.workflow.specs import read_sensitivity_spec

ROOT = Path(__file__).resolve().parents[1]


def headline(table, top: int = 3, floor: float = 0.05):
    """The indices a report shows as headline: each outcome's `top` factors with ST >= floor."""
    t = table[(table["rank"] <= top) & (table["index"] >= floor)]
    return t.sort_values(["outcome", "rank"], kind="stable")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--spec", default=ROOT / "reports/iis.toml", type=Path)
    ap.add_argument("--params", default=ROOT / "calibration/results/iis/calibration.json",
                    type=Path)
    ap.add_argument("--scenarios", default=ROOT / "models/scenarios", type=Path)
    ap.add_argument("--n", type=int, nargs="+", default=[64, 256, 1024])
    args = ap.parse_args()
    spec = read_sensitivity_spec(args.spec)
    model = load_model(spec.model if spec.model else ROOT / "models/iis.mdl")
    params = dict(read_parameters(args.params))
    if spec.scenario:
        by_name = {s.name: s for s in list_scenarios(args.scenarios)}
        params.update(by_name[spec.scenario].params())
    base_time = None
    print(f"{'N':>6} {'runs':>7} {'seconds':>9} {'ratio':>7}  resolved (top factor; all factors)")
    for n in args.n:
        t0 = time.perf_counter()
        res = sensitivity_analysis(model, spec.factors, spec.outcomes, method=spec.method,
                                   n=n, seed=spec.seed, params=params, engine="fast")
        dt = time.perf_counter() - t0
        base_time = base_time or dt
        t = res.table
        head = headline(t)
        ok = head["index"] > head["index_conf"]
        print(f"{n:>6} {res.runs:>7} {dt:>9.1f} {dt / base_time:>7.2f}  "
              f"{int(ok.sum())}/{len(head)} headline indices clear their interval; "
              f"{int((t['index'] > t['index_conf']).sum())}/{len(t)} of all")
        for row, good in zip(head.itertuples(), ok):
            print(f"{'':>33}{'ok ' if good else 'NO '}{row.outcome}: {row.label} "
                  f"{row.index:.3f} +- {row.index_conf:.3f}")


if __name__ == "__main__":
    main()
