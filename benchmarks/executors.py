"""Splitting an ensemble's members across cores: in-process vs threads vs processes.

Run from the repository root::

    .venv/bin/python benchmarks/executors.py                 # IIS, N = 10,000, 2 workers
    .venv/bin/python benchmarks/executors.py --n 2000 --models SIR

For each model it times the same ensemble (the cases of ``benchmarks/ensemble.py``:
parameters drawn within +-20 % of the model's own, seed 0) on the in-process
executor (the baseline, measured in the same run), on ``ThreadExecutor`` and on
``ProcessPoolExecutor``, in interleaved rounds (the best of each kept), checks
that all give identical arrays, and prints the speed-up over the baseline with
the machine's load average before and after (``os.getloadavg``): on a shared
machine the ratio is only as good as the load.
The process pool's time includes starting its workers, each loading the model.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

import sdkit
from sdkit.engine.executors import InProcessExecutor, ProcessPoolExecutor, ThreadExecutor

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ensemble import CASES, _iis_setup, _table  # noqa: E402 - the same cases


def _timed(model, table, kw, executor):
    t0 = time.perf_counter()
    with executor as ex:
        ds = sdkit.simulate_ensemble(model, table, executor=ex, **kw)
    return time.perf_counter() - t0, ds


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000, help="members (default 10,000)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--models", default="IIS")
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds (best kept)")
    args = parser.parse_args(argv)
    print(f"{os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.1f} at the start")
    for name in args.models.split(","):
        path, base, outputs, saveper = CASES[name]
        model = sdkit.load_model(path)
        if name == "IIS":
            base, outputs = _iis_setup(model)
        table = _table(base, args.n, np.random.default_rng(0))
        kw = {"outputs": outputs, "saveper": saveper}
        sdkit.simulate_ensemble(model, table.head(1), **kw)  # compile once
        ref = None
        makers = {"in-process": InProcessExecutor,
                  "threads": lambda: ThreadExecutor(args.workers),
                  "processes": lambda: ProcessPoolExecutor(args.workers)}
        best = dict.fromkeys(makers, float("inf"))
        for _ in range(args.rounds):  # interleaved: each backend sees the same mix of loads
            for label, make in makers.items():
                took, ds = _timed(model, table, kw, make())
                best[label] = min(best[label], took)
                ref = ds if ref is None else ref
                for var in ref.data_vars:
                    np.testing.assert_array_equal(ds[var].to_numpy(), ref[var].to_numpy())
                del ds
        base_s = best.pop("in-process")
        print(f"\n{name}, N = {args.n:,}: in-process {base_s:8.2f} s (baseline; best of "
              f"{args.rounds} rounds, interleaved)")
        for label, t in best.items():
            print(f"  {label:9} x{args.workers}: {t:8.2f} s, {base_s / t:5.2f}x the baseline "
                  f"(identical arrays)")
        print(f"  load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
