"""Loop dominance on IIS: wall time of each stage, against pysimlin's loop discovery.

Run from the repository root::

    .venv/bin/python benchmarks/loops.py
    .venv/bin/python benchmarks/loops.py --samples 50 --repeat 3

Times, on the loaded model (translation not counted):

* the loops between variables (``find_loops``, Johnson's algorithm);
* ``loop_dominance`` as a whole, and its stages: the element graph, the run
  on the compiled engine, the link scores, the strongest-path search;
* the baseline measured in the same run: pysimlin's Loops That Matter
  discovery on the same file (``simlin.load(...).analyze()``, Rust), which
  parses, simulates with LTM instrumentation and searches.

It prints the ratio sdkit / pysimlin and how many of the loops sdkit ranks
highest pysimlin also reports. A measurement, not a test.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import simlin

import sdkit
import sdkit.workflow.loops as workflow
from sdkit.model.names import canonical_key
from sdkit.structure.loops import find_loops

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "models" / "iis.mdl"
STAGES = ["element_graph", "simulate", "link_scores", "strongest_loops"]


def _timed(stages: dict[str, float]):
    """Wrap the stages the workflow calls so their time is added up in `stages`."""
    for name in STAGES:
        original = getattr(workflow, name)

        def wrapper(*args, _f=original, _name=name, **kwargs):
            t0 = time.perf_counter()
            try:
                return _f(*args, **kwargs)
            finally:
                stages[_name] = stages.get(_name, 0.0) + time.perf_counter() - t0
        setattr(workflow, name, wrapper)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[:2])
    model = sdkit.load_model(MODEL)
    stages: dict[str, float] = {}
    _timed(stages)
    ours, family_t, theirs_t = [], [], []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        family = find_loops(model)
        family_t.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        result = workflow.loop_dominance(model, loops=family, samples=args.samples)
        ours.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        analysis = simlin.load(str(MODEL)).analyze()
        theirs_t.append(time.perf_counter() - t0)
    n = args.repeat
    print(f"IIS ({len(model.subscripts['City'])} cities), best of {n}:")
    print(f"  loops between variables: {len(family)} in {min(family_t):.2f} s")
    print(f"  loop dominance: {len(result.loops)} element loops scored in {min(ours):.2f} s "
          f"({result.method})")
    for name in STAGES:
        print(f"    {name:<16} {stages.get(name, 0.0) / n:.2f} s (mean)")
    print(f"  pysimlin analyze(): {len(analysis.loops)} loops in {min(theirs_t):.2f} s")
    print(f"  ratio sdkit / pysimlin: {min(ours) / min(theirs_t):.2f}")
    top = result.scores.abs().mean().sort_values(ascending=False).head(10).index
    by_id = {lp.id: frozenset(lp.variables) for lp in result.loops}
    keys = {canonical_key(v): v for lp in result.loops for v in lp.variables}
    their_sets = {frozenset(keys[canonical_key(v)] for v in lp.variables
                            if canonical_key(v) in keys) for lp in analysis.loops}
    shared = [i for i in top if by_id[i] in their_sets]
    print(f"  sdkit's top 10 loops (mean |relative score|) also reported by pysimlin: "
          f"{len(shared)}/10")


if __name__ == "__main__":
    main()
