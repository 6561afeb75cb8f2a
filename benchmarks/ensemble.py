"""Ensemble throughput: PySD in a loop vs sdkit's compiled engine (and pysimlin).

Run from the repository root::

    .venv/bin/python benchmarks/ensemble.py          # N = 1, 100, 1,000, 10,000
    .venv/bin/python benchmarks/ensemble.py --quick  # N = 1, 100, 1,000
    .venv/bin/python benchmarks/ensemble.py --no-pysd --models IIS  # pysimlin only

For each model it prints the per-run time of ``sdkit.simulate(..., engine="pysd")``
over a few runs, the engine's per-run time at each ensemble size with the ratio, the
peak memory the largest ensemble allocates (tracemalloc, in a second run that
tracing slows down, so only at the largest size),
and pysimlin's per-run time where pysimlin loads the model. Parameter values
are drawn uniformly within +-20 % of the model's own (seed 0).

Times are the best of a few repeats (on a shared machine the best is the
least disturbed; an ensemble that takes over 5 s runs once); pysimlin is timed
again after the engine and its best is kept. A repeat also reuses memory the
previous one freed: writing a large result into fresh pages costs more than
the steps themselves on some machines (teacup, N = 10,000: 38 MB). The load
average is printed with each model. The targets of issue 16 are >= 10x
pysimlin per run at N = 10,000 and within 3x of it at N = 1.
"""

from __future__ import annotations

import argparse
import os
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd

import sdkit

ROOT = Path(__file__).resolve().parents[1]
#: name -> (model file, varied parameters and their base values, outputs, saveper)
CASES = {
    "teacup": (ROOT / "tests/models/teacup.mdl",
               {"Characteristic Time": 10.0, "Room Temperature": 70.0},
               ["Teacup Temperature", "Heat Loss to Room"], None),
    "SIR": (ROOT / "tests/models/SIR.mdl",
            {"Contact Infectivity": 0.3, "Duration": 5.0},
            ["Infectious", "Recovered", "Susceptible"], 1.0),
    "IIS": (ROOT / "models/iis.mdl",
            {}, None, None),  # outputs: the first 20 time-varying variables
}


def _table(base: dict, n: int, rng) -> pd.DataFrame:
    return pd.DataFrame({k: v * rng.uniform(0.8, 1.2, n) for k, v in base.items()})


def _iis_setup(model):
    from sdkit.engine.compiled_cache import program_for

    program = program_for(model)
    base = {}
    for py, node in program.nodes.items():  # five scalar rates or elasticities
        name = model._real.get(py, "")
        if node.run_deps or node.uses_time or node.labels or node.stateful \
                or not any(w in name.lower() for w in ("rate", "elasticity")):
            continue
        value = float(model.variable(name).value)
        if value != 0:
            base[name] = value
        if len(base) == 5:
            break
    varying = [model._real[n] for n, node in program.nodes.items()
               if n in model._real and (node.run_deps or node.uses_time)][:20]
    return base, varying


def _pysd_per_run(model, table, outputs, runs: int, saveper) -> float:
    t0 = time.perf_counter()
    for _, row in table.head(runs).iterrows():
        sdkit.simulate(model, row.to_dict(), outputs=outputs, saveper=saveper, engine="pysd")
    return (time.perf_counter() - t0) / runs


def _simlin_per_run(path, table, runs: int) -> float | None:
    try:
        import simlin

        m = simlin.load(path)
        overrides = [{k.lower().replace(" ", "_"): float(v) for k, v in row.items()}
                     for _, row in table.head(runs).iterrows()]
        m.run(overrides=overrides[0], analyze_loops=False)  # compile once
        best = float("inf")
        for _ in range(3):
            t0 = time.perf_counter()
            for ov in overrides:
                m.run(overrides=ov, analyze_loops=False)
            best = min(best, (time.perf_counter() - t0) / runs)
        return best
    except Exception as e:  # noqa: BLE001 - report and go on
        print(f"  pysimlin: does not run this model ({type(e).__name__}: {str(e)[:80]})")
        return None


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="N = 1, 100, 1,000 only")
    parser.add_argument("--models", default="teacup,SIR,IIS")
    parser.add_argument("--no-pysd", action="store_true", help="skip the PySD loop (slow)")
    parser.add_argument("--no-memory", action="store_true",
                        help="skip the traced run that measures peak memory (slow)")
    args = parser.parse_args(argv)
    sizes = [1, 100, 1000] if args.quick else [1, 100, 1000, 10000]
    rng = np.random.default_rng(0)
    for name in args.models.split(","):
        path, base, outputs, saveper = CASES[name]
        if not path.exists():
            print(f"{name}: {path} not found, skipped")
            continue
        model = sdkit.load_model(path)
        if name == "IIS":
            base, outputs = _iis_setup(model)
        ts = model.time_settings
        print(f"\n{name} ({path.name}): {ts.start:g}-{ts.stop:g}, dt {ts.dt:g}, "
              f"saveper {saveper or ts.saveper:g}, {len(outputs)} outputs, "
              f"{len(base)} varied parameters; load average {os.getloadavg()[0]:.1f}")
        table = _table(base, max(sizes), rng)
        pysd = None
        if not args.no_pysd:
            pysd = _pysd_per_run(model, table, outputs,
                                 1 if args.quick or name == "IIS" else 3, saveper)
            print(f"  PySD loop: {pysd * 1e3:9.2f} ms per run")
        simlin = _simlin_per_run(path, table, 20)
        if simlin is not None:
            print(f"  pysimlin loop: {simlin * 1e3:9.3f} ms per run"
                  + (f" (PySD/pysimlin {pysd / simlin:.0f}x)" if pysd else ""))
        kw = {"outputs": outputs, "saveper": saveper}
        sdkit.simulate_ensemble(model, table.head(1), **kw)  # compile once
        lines = []
        for n in sizes:
            sub = table.head(n)
            took, runs = float("inf"), 0
            while runs < 3 and (runs == 0 or took < 5):  # repeat what is quick to repeat
                t0 = time.perf_counter()
                ds = sdkit.simulate_ensemble(model, sub, **kw)
                took = min(took, time.perf_counter() - t0)
                runs += 1
                assert ds.attrs["sdkit_engine"] == "fast", ds.attrs.get("sdkit_fallback")
                del ds
            line = f"  fast N={n:>6}: {took:8.3f} s total, {took / n * 1e3:9.4f} ms per run"
            if pysd:
                line += f", {pysd / (took / n):8.1f}x PySD"
            if n == max(sizes) and not args.no_memory:  # tracing slows every step: once
                tracemalloc.start()
                ds = sdkit.simulate_ensemble(model, sub, **kw)
                peak = tracemalloc.get_traced_memory()[1]
                tracemalloc.stop()
                del ds
                line += f", peak {peak / 2**20:8.1f} MiB"
            lines.append((n, took, line))
        if simlin is not None:  # again, after the engine: the best of both measurements
            simlin = min(simlin, _simlin_per_run(path, table, 20))
        for n, took, line in lines:
            if simlin is not None:
                line += f", {simlin / (took / n):6.2f}x pysimlin"
            print(line)


if __name__ == "__main__":
    main()
