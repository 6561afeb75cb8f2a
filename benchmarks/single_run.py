"""One run of IIS: ``sdkit run`` wall time and ``sdkit.simulate``, fast engine vs PySD.

Run from the repository root::

    .venv/bin/python benchmarks/single_run.py

Prints, each the best of a few repeats from a warm cache (every command runs
once before it is timed):

* the wall time of ``sdkit run models/iis.mdl --cin calibration/results/iis/fitted.cin``
  (target of issue 16: under 2 s), beside the baselines measured in the same run:
  Python's start-up (``python -c pass``), the imports a run needs
  (numpy, pandas, xarray, PySD) and the same command with ``--engine pysd``;
* ``import sdkit`` alone;
* ``sdkit.simulate`` on IIS, every variable, with the fast engine (target: under
  0.3 s; a single run takes its scalar path, :mod:`sdkit.engine.scalar`), its
  first call in the process apart (the step's trace included), the numpy
  engine's own steps (the scalar path off) and PySD, with the ratios.

``--no-pysd`` leaves out the two PySD measurements (minutes each).

The load average is printed: on a shared machine every time grows with it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
SDKIT = str(Path(PY).with_name("sdkit"))
RUN = ["run", "models/iis.mdl", "--cin", "calibration/results/iis/fitted.cin"]


def _wall(cmd: list[str], repeats: int = 3) -> float:
    subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True)  # warm every cache
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True)
        best = min(best, time.perf_counter() - t0)
    return best


def _simulate(engine: str, repeats: int, scalar: bool = True) -> tuple[float, float]:
    """The first call's time and the best of `repeats` later calls, in a fresh process."""
    code = ("import sys, time, sdkit\n"
            "import sdkit.engine.run as run\n"
            + ("" if scalar else "run.SCALAR_MEMBERS = 0\n") +
            "m = sdkit.load_model('models/iis.mdl')\n"
            "t0 = time.perf_counter()\n"
            f"sdkit.simulate(m, engine={engine!r})\n"
            "first = time.perf_counter() - t0\n"
            "best = float('inf')\n"
            f"for _ in range({repeats}):\n"
            "    t0 = time.perf_counter()\n"
            f"    sdkit.simulate(m, engine={engine!r})\n"
            "    best = min(best, time.perf_counter() - t0)\n"
            "print(first, best)\n")
    out = subprocess.run([PY, "-c", code], cwd=ROOT, check=True, capture_output=True, text=True)
    first, best = out.stdout.strip().splitlines()[-1].split()
    return float(first), float(best)


def main() -> None:
    pysd = "--no-pysd" not in sys.argv[1:]
    print(f"{os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.1f} at the start")
    start = _wall([PY, "-c", "pass"])
    deps = _wall([PY, "-c", "import numpy, pandas, xarray, pysd"])
    imp = _wall([PY, "-c", "import sdkit"])
    fast = _wall([SDKIT, *RUN])
    print(f"python start-up             {start:7.2f} s")
    print(f"import numpy/pandas/xarray/pysd {deps:7.2f} s")
    print(f"import sdkit                {imp:7.2f} s")
    print(f"sdkit run (fast engine)     {fast:7.2f} s  ({fast / deps:4.1f}x the imports; "
          f"target 2 s)")
    if pysd:
        slow = _wall([SDKIT, *RUN, "--engine", "pysd"], repeats=1)
        print(f"sdkit run --engine pysd     {slow:7.2f} s  ({slow / fast:4.1f}x the fast engine)")
    first, sim_fast = _simulate("fast", 3)
    _, sim_numpy = _simulate("fast", 3, scalar=False)
    print(f"simulate IIS, fast engine   {sim_fast:7.3f} s  (target 0.3 s; first call in the "
          f"process {first:.3f} s)")
    print(f"simulate IIS, numpy steps   {sim_numpy:7.3f} s  ({sim_numpy / sim_fast:5.1f}x the "
          f"fast engine: the scalar path off)")
    if pysd:
        sim_pysd = _simulate("pysd", 1)[1]
        print(f"simulate IIS, PySD          {sim_pysd:7.3f} s  ({sim_pysd / sim_fast:5.1f}x the "
              f"fast engine)")
    print(f"load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
