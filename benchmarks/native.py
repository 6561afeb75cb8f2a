"""The native engine (``engine="native"``, Numba) against the numpy engine and pysimlin.

Run from the repository root (needs the ``fast`` extra, i.e. numba; pysimlin
optional)::

    .venv/bin/python benchmarks/native.py                  # teacup, SIR, IIS
    .venv/bin/python benchmarks/native.py --models IIS --all-outputs --big 1000
    .venv/bin/python benchmarks/native.py --threads          # + member blocks on threads

For each model it compiles the compiled engine's code
(:mod:`sdkit.engine.codegen`) for the outputs and varied parameters of
``benchmarks/ensemble.py`` (``--all-outputs``: every variable, as
``sdkit.simulate`` returns by default) and prints, measured in the same run:

* the native engine's one-off costs, apart: tracing and writing its code
  (:mod:`sdkit.engine.native_trace`, :mod:`sdkit.engine.native`), and Numba's
  compile (its first run; in memory, so once per process);
* the time per run at N = 1 and N = 10,000 of the numpy engine's own steps
  (``run_compiled`` with the scalar path off), at N = 1 of the default
  engine's scalar path (``run_compiled``: the traced code on Python floats,
  :mod:`sdkit.engine.scalar`) and of the native engine (``run_native``), all
  with their Python set-up (time settings, ``init``), and pysimlin's time per
  run (as ``benchmarks/ensemble.py`` measures it), with the ratios;
* the largest relative difference between the two engines over every output
  (N = 1 and N = 100 varied members).

``--threads`` adds, per model, the time per run of the native engine with its
members on one thread and on every CPU (``native_threads()``, the default;
blocks of at least ``MIN_THREAD_MEMBERS`` members) at N = 8 ... ``--big``,
and their ratio.

Times are the best of three (one at N = 10,000). Parameter values are drawn
within +-20 % of the model's own (seed 0), as in ``benchmarks/ensemble.py``.
The target of issue 16 is within 3x of pysimlin per run at N = 1.
"""

from __future__ import annotations

import argparse
import os
import time
from functools import partial

import numpy as np
from ensemble import CASES, _iis_setup, _simlin_per_run, _table

import sdkit
from sdkit.engine import native_run, run
from sdkit.engine import traced as traced_code
from sdkit.engine.compiled_cache import compiled_for, simulated_names
from sdkit.engine.native_run import run_native
from sdkit.engine.run import control_overrides, run_compiled

DEFAULT_SCALAR = run.SCALAR_MEMBERS  # members the default engine runs on the scalar path


def _overrides(names: dict, table, n: int, saveper) -> dict:
    """Parameter values of `n` members (and the saveper) as the engine takes them."""
    ov = {names[k]: [((), table[k].to_numpy()[:n])] for k in table.columns}
    return {**ov, **control_overrides(n, saveper=saveper)}


def build(c, ov: dict) -> tuple[float, float, int]:
    """Trace and write the native code of `c` (timed), then compile it (its first run, timed)."""
    native_run._LOOPS.clear()  # measure from nothing
    traced_code._TRACED.clear()
    t0 = time.perf_counter()
    with np.errstate(all="ignore"):
        ctl = {k: float(np.ravel(v)[0]) for k, v in c.control(1, ov).items()}
        S, K = c.init(ctl["initial_time"], ctl["time_step"], 1, ov)
    src, _ = native_run.native_loop(c, S, K)
    traced = time.perf_counter() - t0
    t0 = time.perf_counter()
    run_native(c, 1, ov)
    return traced, time.perf_counter() - t0, src.text.count("\n")


def _best(fn, repeats: int = 3) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def _worst(a: dict, b: dict) -> float:
    worst = 0.0
    for k in a:
        x, y = np.asarray(a[k]), np.asarray(b[k])
        if x.size:
            scale = np.maximum(np.abs(x), 1e-300)
            worst = max(worst, float(np.nanmax(np.abs(x - y) / scale)))
    return worst


def threads(c, py: dict, table, saveper, big: int) -> None:
    """Time per run of the native engine on one thread and on every CPU."""
    cpus = native_run.native_threads()
    for n in (8, 16, 32, 64, 256, big):
        ov = _overrides(py, table, n, saveper)
        reps = 5 if n < big else 1
        one = _best(partial(run_native, c, n, ov, threads=1), reps) / n
        many = _best(partial(run_native, c, n, ov, threads=cpus), reps) / n
        print(f"  N={n:>6}: native, 1 thread {one * 1e3:8.4f} ms per run, {cpus} threads "
              f"{many * 1e3:8.4f} ms ({one / many:4.2f}x)")


def measure(name: str, big: int, every: bool = False, with_threads: bool = False) -> None:
    path, base, outputs, saveper = CASES[name]
    model = sdkit.load_model(path)
    if name == "IIS":
        base, outputs = _iis_setup(model)
    py = {real: p for p, real in model._real.items()}
    if every:  # what sdkit.simulate returns by default
        outputs = sorted(model._real[n] for n in simulated_names(model) if n in model._real)
    table = _table(base, big, np.random.default_rng(0))
    c = compiled_for(model, tuple(py[o] for o in outputs), frozenset(py[k] for k in base))
    print(f"\n{name} ({path.name}): {len(outputs)} outputs, {len(base)} varied parameters; "
          f"load average {os.getloadavg()[0]:.1f}")
    ov1 = _overrides(py, table, 1, saveper)
    traced, compiled, lines = build(c, ov1)
    print(f"  native: trace and write {traced:.2f} s ({lines} lines), "
          f"Numba compile (first call) {compiled:.1f} s")
    ov100 = _overrides(py, table, 100, saveper)
    run.SCALAR_MEMBERS = 0
    diff = max(_worst(run_compiled(c, n, ov)[1], run_native(c, n, ov)[1])
               for n, ov in ((1, ov1), (100, ov100)))
    numpy1 = run_compiled(c, 1, ov1)[1]
    run.SCALAR_MEMBERS = DEFAULT_SCALAR
    print(f"  largest relative difference native vs numpy engine: {diff:.2e}, scalar path vs "
          f"numpy engine: {_worst(run_compiled(c, 1, ov1)[1], numpy1):.2e}")
    simlin = _simlin_per_run(path, table, 20)
    for n in (1, big):
        ov = _overrides(py, table, n, saveper)
        reps = 3 if n < big else 1
        run.SCALAR_MEMBERS = 0  # the numpy engine's own steps
        numpy_t = _best(partial(run_compiled, c, n, ov), reps) / n
        run.SCALAR_MEMBERS = DEFAULT_SCALAR
        native_t = _best(partial(run_native, c, n, ov), reps) / n
        line = (f"  N={n:>6}: numpy engine {numpy_t * 1e3:9.4f} ms per run, native "
                f"{native_t * 1e3:9.4f} ms per run ({numpy_t / native_t:6.1f}x numpy)")
        if n <= DEFAULT_SCALAR:
            scalar_t = _best(partial(run_compiled, c, n, ov), reps) / n
            line += f", scalar path {scalar_t * 1e3:9.4f} ms ({numpy_t / scalar_t:6.1f}x numpy)"
        if simlin is not None:
            line += f"; pysimlin {simlin * 1e3:.4f} ms, native/pysimlin {native_t / simlin:.2f}"
            if n <= DEFAULT_SCALAR:
                line += f", scalar/pysimlin {scalar_t / simlin:.2f}"
        print(line)
    if with_threads:
        threads(c, py, table, saveper, big)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="teacup,SIR,IIS")
    parser.add_argument("--big", type=int, default=10_000, help="the large ensemble's size")
    parser.add_argument("--all-outputs", action="store_true",
                        help="every simulated variable (sdkit.simulate's default), not the "
                             "outputs of benchmarks/ensemble.py")
    parser.add_argument("--threads", action="store_true",
                        help="also one thread against every CPU, by ensemble size")
    args = parser.parse_args(argv)
    for name in args.models.split(","):
        measure(name, args.big, args.all_outputs, args.threads)


if __name__ == "__main__":
    main()
