"""``sdkit run`` and ``sdkit.simulate`` on IIS from a warm cache, against baselines of the same run.

Run from the repository root::

    .venv/bin/python benchmarks/cli_run.py [--repeats 5]

Prints, each the best of ``--repeats`` after one untimed warm-up (so the
translation cache and its records, :mod:`sdkit.model.derived`, are warm):

* the wall time of ``python -c pass`` (Python's start-up), of importing
  numpy and pandas (what any run that returns a table needs) and of
  ``sdkit run models/iis.mdl --cin calibration/results/iis/fitted.cin``
  (issue 16's target: under 2 s), with the ratios of the run to the first two;
* the same command without the records a warm load reads (each run starts
  with the ``*.derived`` folders removed, so it builds PySD's model object
  and writes the engine's code as every warm run did before them): the
  speed-up the records give, in the same run;
* ``sdkit.simulate`` on IIS (every variable, compiled engine, model loaded)
  (target: under 0.3 s) beside the engine's bare run of the same model and
  outputs (:func:`sdkit.engine.run.run_compiled`: the integration loop alone),
  so the ratio is what simulate adds around the loop. (PySD on IIS takes
  minutes on a busy machine: ``benchmarks/single_run.py`` times it.)

The load average is printed at the start and the end: on a shared machine
every figure grows with it, the ratios much less.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
SDKIT = str(Path(PY).with_name("sdkit"))
RUN = [SDKIT, "run", "models/iis.mdl", "--cin", "calibration/results/iis/fitted.cin"]

SIMULATE = """
import time, sdkit
from sdkit.engine.compiled_cache import compiled_for
from sdkit.engine.run import run_compiled
from sdkit.model.names import split_subscripted
m = sdkit.load_model("models/iis.mdl")
frame = sdkit.simulate(m)

outs = tuple(dict.fromkeys(m.py_name(split_subscripted(c)[0]) for c in frame.columns))
compiled = compiled_for(m, outs, frozenset())
run_compiled(compiled, 1, {})
sim = bare = float("inf")
for _ in range({n}):  # interleaved, so that both see the same load
    t0 = time.perf_counter()
    sdkit.simulate(m)
    t1 = time.perf_counter()
    run_compiled(compiled, 1, {})
    t2 = time.perf_counter()
    sim, bare = min(sim, t1 - t0), min(bare, t2 - t1)
print(sim, bare)
"""


def _wall(cmd: list[str], repeats: int, before=None) -> float:
    subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True)  # warm every cache
    best = float("inf")
    for _ in range(repeats):
        if before is not None:
            before()
        t0 = time.perf_counter()
        subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True)
        best = min(best, time.perf_counter() - t0)
    return best


def _forget_records(cache: Path) -> None:
    for folder in cache.glob("*.derived"):
        shutil.rmtree(folder)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    n = parser.parse_args().repeats
    print(f"{os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.2f} at the start")
    start = _wall([PY, "-c", "pass"], n)
    deps = _wall([PY, "-c", "import numpy, pandas"], n)
    # a cache of its own, so that removing its records leaves the user's cache alone
    cache = Path(tempfile.mkdtemp(prefix="sdkit-bench-"))
    os.environ["SDKIT_CACHE_DIR"] = str(cache)
    try:
        run = _wall(RUN, n)
        without = _wall(RUN, max(1, n // 2), before=lambda: _forget_records(cache))
    finally:
        shutil.rmtree(cache, ignore_errors=True)
        del os.environ["SDKIT_CACHE_DIR"]
    print(f"python -c pass                {start:7.3f} s")
    print(f"python -c 'import numpy, pandas' {deps:5.3f} s")
    print(f"sdkit run IIS --cin (warm)    {run:7.3f} s  = {run / start:5.1f}x start-up, "
          f"{run / deps:4.2f}x the numpy+pandas import (target 2 s)")
    print(f"  without kept records        {without:7.3f} s  = {without / run:4.2f}x the warm run")
    out = subprocess.run([PY, "-c", SIMULATE.replace("{n}", str(n))], cwd=ROOT, check=True,
                         capture_output=True, text=True)
    sim, bare = map(float, out.stdout.split())
    print(f"simulate IIS, every variable  {sim:7.3f} s  (target 0.3 s)")
    print(f"  engine's bare run (loop)    {bare:7.3f} s  simulate = {sim / bare:4.2f}x the loop")
    print(f"load average {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    main()
