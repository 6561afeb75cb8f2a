"""Model runs per second inside the MCMC sampler (emcee, vectorized), for IIS and SIR.

Run from the repository root::

    .venv/bin/python benchmarks/calibration_mcmc.py                 # IIS and SIR
    .venv/bin/python benchmarks/calibration_mcmc.py --walkers 64 256 --steps 30

For each calibration spec and each walker count it starts the walkers in a
small ball around the spec's initial values and times ``--steps`` steps of
:func:`sdkit.calibration.mcmc.run_mcmc`. Every half-step is one ensemble run
of ``walkers / 2`` members. It prints model runs per second inside the
sampler (the issue's target for IIS is >= 5,000/s on 2 cores) and the share of
the time spent in the model runs.

This is a measurement, not a test.
"""

from __future__ import annotations

import argparse
import os
import time
import warnings

import numpy as np

from sdkit.calibration.bayes_fit import _start_theta, model_simulator
from sdkit.calibration.bayes_spec import read_bayes
from sdkit.calibration.mcmc import initial_walkers, run_mcmc
from sdkit.calibration.objective import Objective
from sdkit.calibration.spec import read_problem

SPECS = {"IIS": "calibration/iis.toml", "SIR": "examples/sir/calibration.toml"}


def measure(spec: str, walkers: int, steps: int) -> dict:
    """Runs/s of `steps` MCMC steps with `walkers` walkers on `spec`."""
    bp = read_bayes(read_problem(spec))
    objective = Objective(bp.problem)
    simulate = model_simulator(objective)
    model_time = [0.0]

    def timed(x):
        t0 = time.perf_counter()
        out = simulate(x)
        model_time[0] += time.perf_counter() - t0
        return out

    theta0 = _start_theta(bp, objective)
    start = initial_walkers(bp, walkers, np.random.default_rng(0), center=theta0)
    simulate(start[: walkers // 2, : bp.n_model])  # compile and warm the cache
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        chain = run_mcmc(bp, timed, start, steps=steps, seed=0)
    return {"ndim": len(bp.names), "runs": chain.n_runs, "seconds": chain.elapsed,
            "runs_per_s": chain.n_runs / chain.elapsed,
            "model_share": model_time[0] / chain.elapsed,
            "acceptance": float(np.mean(chain.acceptance)), "engine": objective.engine}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--walkers", type=int, nargs="+", default=[64, 256])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--only", choices=sorted(SPECS), help="one model only")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        cpus = sorted(os.sched_getaffinity(0))[:2]
        os.sched_setaffinity(0, cpus)
    print(f"{'model':5} {'ndim':>4} {'walkers':>7} {'runs':>7} {'s':>7} {'runs/s':>8} "
          f"{'model %':>7} {'accept':>6}")
    for name, spec in SPECS.items():
        if args.only and name != args.only:
            continue
        for walkers in args.walkers:
            m = measure(spec, walkers, args.steps)
            print(f"{name:5} {m['ndim']:>4} {walkers:>7} {m['runs']:>7} {m['seconds']:>7.1f} "
                  f"{m['runs_per_s']:>8.0f} {100 * m['model_share']:>6.0f}% "
                  f"{m['acceptance']:>6.2f}  ({m['engine']})", flush=True)


if __name__ == "__main__":
    main()
