"""Model runs per second inside the MCMC sampler (emcee, vectorized), for IIS and SIR.

Run from the repository root::

    .venv/bin/python benchmarks/calibration_mcmc.py                 # IIS and SIR
    .venv/bin/python benchmarks/calibration_mcmc.py --only IIS --walkers 256 512 1024
    .venv/bin/python benchmarks/calibration_mcmc.py --only IIS --walkers 256 --profile

For each calibration spec and each walker count it starts the walkers in a
small ball around the spec's initial values and times ``--steps`` steps of
:func:`sdkit.calibration.mcmc.run_mcmc`. Every half-step is one ensemble run
of ``walkers / 2`` members. It prints:

* ``runs/s``: model runs per second inside the sampler (the issue's target
  for IIS is >= 5,000/s on 2 cores);
* ``bare/s``: the baseline measured in the same run, right after: the bare
  compiled engine (:func:`sdkit.engine.chunks.run_chunk` on a prepared
  parameter matrix: no table, no dataset, no likelihood, no sampler) for the
  same member count, best of three;
* ``ratio``: ``runs/s / bare/s``, the share of the engine's speed the sampler
  keeps (1.0 = no overhead at all). The machine is shared, so compare
  ratios and shares, not absolute rates, between runs;
* ``accept``: the mean acceptance fraction.

``--profile`` runs the sampler under cProfile and splits its time into the
engine's integration, the override table, result assembly (xarray), target
extraction, the likelihood and prior, and the rest (emcee, Python glue).

This is a measurement, not a test.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import time
import warnings

import numpy as np

from sdkit.calibration.bayes_fit import _start_theta, model_simulator
from sdkit.calibration.bayes_spec import read_bayes
from sdkit.calibration.mcmc import initial_walkers, run_mcmc
from sdkit.calibration.objective import Objective
from sdkit.calibration.spec import read_problem
from sdkit.engine.chunks import run_chunk
from sdkit.engine.runner import run_raw

SPECS = {"IIS": "calibration/iis.toml", "SIR": "examples/sir/calibration.toml"}

#: profile categories: (file suffix, function name) whose cumulative time they take
CATEGORIES = {
    "engine integration": [("sdkit/engine/run.py", "run_compiled"),
                           ("sdkit/engine/pysd_backend.py", "run_pysd_members")],
    "override table (pandas)": [("sdkit/calibration/objective.py", "_table"),
                                ("sdkit/engine/runner.py", "_values"),
                                ("sdkit/engine/runner.py", "_spec"),
                                ("sdkit/engine/runner.py", "_table"),
                                ("sdkit/engine/runner.py", "open_run"),
                                ("sdkit/engine/runtime.py", "checked"),
                                ("sdkit/engine/runner.py", "checked")],
    "result assembly (xarray)": [("sdkit/engine/runner.py", "_assemble")],
    "target extraction": [("sdkit/calibration/objective.py", "_at_targets"),
                          ("sdkit/calibration/objective.py", "_extract"),
                          ("sdkit/calibration/objective.py", "_observed")],
    "likelihood and prior": [("sdkit/calibration/bayes.py", "log_likelihood"),
                             ("sdkit/calibration/bayes.py", "log_prior")],
}


def _prepare(spec: str, walkers: int):
    bp = read_bayes(read_problem(spec))
    objective = Objective(bp.problem)
    simulate = model_simulator(objective)
    theta0 = _start_theta(bp, objective)
    start = initial_walkers(bp, walkers, np.random.default_rng(0), center=theta0)
    simulate(start[: walkers // 2, : bp.n_model])  # compile and warm the cache
    return bp, objective, simulate, start


def _sample(bp, simulate, start, steps: int, profile: cProfile.Profile | None):
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        if profile is not None:
            profile.enable()
        try:
            return run_mcmc(bp, simulate, start, steps=steps, seed=0)
        finally:
            if profile is not None:
                profile.disable()


def bare_rate(objective: Objective, x: np.ndarray, repeats: int = 3) -> float:
    """Members per second of the bare compiled engine on the parameter rows `x`."""
    table = objective._table(x)
    raw = run_raw(objective.model, table, objective.variables, engine=objective.engine,
                  stop=objective.stop, dt=objective.problem.dt)
    values = np.column_stack([table[c].to_numpy(float) for c in table.columns])
    best = np.inf
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        for _ in range(repeats):
            t0 = time.perf_counter()
            run_chunk(raw.spec, values, raw.model)
            best = min(best, time.perf_counter() - t0)
    return len(x) / best


def split(profile: cProfile.Profile, total: float) -> dict[str, float]:
    """Share of `total` seconds per category of :data:`CATEGORIES`."""
    stats = pstats.Stats(profile).stats
    out = {}
    for name, keys in CATEGORIES.items():
        seconds = sum(v[3] for (file, _line, func), v in stats.items()
                      if any(file.endswith(f) and func == fn for f, fn in keys))
        out[name] = seconds / total
    out["rest (emcee, glue)"] = 1.0 - sum(out.values())
    return out


def measure(spec: str, walkers: int, steps: int, profile: bool = False) -> dict:
    """Runs/s of `steps` MCMC steps with `walkers` walkers on `spec`, and the bare engine's."""
    bp, objective, simulate, start = _prepare(spec, walkers)
    prof = cProfile.Profile() if profile else None
    chain = _sample(bp, simulate, start, steps, prof)
    bare = bare_rate(objective, start[: walkers // 2, : bp.n_model])
    out = {"ndim": len(bp.names), "runs": chain.n_runs, "seconds": chain.elapsed,
           "runs_per_s": chain.n_runs / chain.elapsed, "bare_per_s": bare,
           "acceptance": float(np.mean(chain.acceptance)), "engine": objective.engine}
    if prof is not None:
        out["split"] = split(prof, chain.elapsed)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--walkers", type=int, nargs="+", default=[64, 256])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--only", choices=sorted(SPECS), help="one model only")
    parser.add_argument("--profile", action="store_true",
                        help="split the sampler's time by category (cProfile)")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        cpus = sorted(os.sched_getaffinity(0))[:2]
        os.sched_setaffinity(0, cpus)
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cpus")
    print(f"{'model':5} {'ndim':>4} {'walkers':>7} {'runs':>7} {'s':>7} {'runs/s':>8} "
          f"{'bare/s':>8} {'ratio':>5} {'accept':>6}")
    for name, spec in SPECS.items():
        if args.only and name != args.only:
            continue
        for walkers in args.walkers:
            m = measure(spec, walkers, args.steps, args.profile)
            print(f"{name:5} {m['ndim']:>4} {walkers:>7} {m['runs']:>7} {m['seconds']:>7.1f} "
                  f"{m['runs_per_s']:>8.0f} {m['bare_per_s']:>8.0f} "
                  f"{m['runs_per_s'] / m['bare_per_s']:>5.2f} {m['acceptance']:>6.2f}"
                  f"  ({m['engine']})", flush=True)
            for cat, share in m.get("split", {}).items():
                print(f"      {cat:26} {100 * share:5.1f} %")


if __name__ == "__main__":
    main()
