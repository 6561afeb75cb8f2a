"""Which proposal moves? Autocorrelation time per model run on IIS, same budget and seed.

Run from the repository root::

    .venv/bin/python benchmarks/mcmc_moves.py                      # IIS, 128 walkers
    .venv/bin/python benchmarks/mcmc_moves.py --walkers 128 --steps 2000 --engine native
    .venv/bin/python benchmarks/mcmc_moves.py --spec examples/sir/calibration.toml --steps 400
    .venv/bin/python benchmarks/mcmc_moves.py --spec calibration/iis_mcmc.toml --moves de \
        --walkers 64 --steps 3000 --coordinates unbounded bounded
    .venv/bin/python benchmarks/mcmc_moves.py --spec calibration/iis_mcmc.toml \
        --moves de-gibbs --output-scales with without --walkers 64 --steps 4000

For each of the sampler's moves (:data:`sdkit.calibration.mcmc.MOVES`:
emcee's stretch move, its differential-evolution move, and DE mixed with the
DE-snooker update; ``"de-gibbs"`` with and/or without the output scales'
moves, ``--output-scales``, :mod:`sdkit.calibration.scales`) it samples the
spec's posterior (priors and likelihoods as in the spec) from the SAME start
(a ball of 1 % of the prior width around the MAP point, found once) with the
SAME seed for the same number of steps, in each of ``--coordinates``
(``unbounded``: the sampler's default, moves proposed in unbounded
coordinates; ``bounded``: in the parameters' own,
:mod:`sdkit.calibration.unbounded`), and prints, over the second half of the
chain:

* ``tau`` worst (naming the parameter) and median: emcee's integrated
  autocorrelation time per parameter, in steps (``integrated_time``,
  ``tol=0``: with fewer than 50 autocorrelation times kept, ``kept/tau``
  below 50, it is an underestimate, and a longer run would rank the moves
  with less noise);
* ``ESS/1k runs``: effective samples of the worst parameter per 1,000 model
  runs, ``kept steps * walkers / tau`` over the model runs those steps made
  (proposals outside the bounds are not run);
* ``ESS/s``: the same per second of sampling (a DE-snooker step runs four
  quarter-size ensembles instead of two halves);
* the acceptance fraction and the log density's own autocorrelation time.

The stretch move and the DE move are affine invariant (a DE proposal adds
a ``1e-5`` jitter): sampling in coordinates whitened by the MAP's Laplace
covariance gives the same chain, mapped, so a "whitened stretch" is not
measured separately; only the start could differ.

This is a measurement, not a test. The machine is shared: compare the
moves' ratios measured in one run, not absolute rates.
"""

from __future__ import annotations

import argparse
import os
import time
import warnings

import numpy as np

from sdkit.calibration.bayes_fit import _start_theta, fit_simulator, fit_window_problem
from sdkit.calibration.bayes_spec import read_bayes
from sdkit.calibration.diagnostics import autocorr_time
from sdkit.calibration.mcmc import MOVES, initial_walkers, run_map, run_mcmc
from sdkit.calibration.objective import Objective
from sdkit.calibration.scales import find_output_scales
from sdkit.calibration.spec import read_problem


def _sample(bp, simulate, start, steps: int, seed: int, moves: str, unbounded: bool,
            scales=()) -> dict:
    """One chain with `moves`; its mixing over the second half."""
    runs: list[int] = [0]
    at_step: dict[int, int] = {}

    def counted(x):
        runs[0] += len(x)
        return simulate(x)

    def mark(step: int) -> None:
        at_step[step] = runs[0]

    t0 = time.perf_counter()
    chain = run_mcmc(bp, counted, start, steps=steps, seed=seed, moves=moves, on_step=mark,
                     unbounded=unbounded, scales=scales)
    seconds = time.perf_counter() - t0
    half = steps // 2
    kept = chain.samples[half:]
    tau = autocorr_time(kept)
    tau_lp = autocorr_time(chain.log_prob[half:, :, None])[0]
    kept_runs = runs[0] - at_step[half]
    worst = int(np.nanargmax(tau))
    ess = len(kept) * kept.shape[1] / tau[worst]
    label = f"{moves}{'+scales' if len(scales) else ''} {'unb.' if unbounded else 'bnd.'}"
    return {"moves": label, "tau_max": tau[worst],
            "worst": bp.names[worst],
            "tau_median": float(np.nanmedian(tau)), "tau_lp": tau_lp,
            "kept_over_tau": len(kept) / tau[worst],
            "ess_per_1k": 1000 * ess / kept_runs, "ess_per_s": ess / (seconds / 2),
            "accept": float(np.mean(chain.acceptance)), "runs": chain.n_runs,
            "seconds": seconds}


def _scale_sets(moves: str, wanted: list[str], found: tuple) -> list[tuple]:
    """The output scales to sample with: ``--output-scales`` for de-gibbs, else none."""
    if moves != "de-gibbs" or not found:
        return [()]
    return [found if w == "with" else () for w in wanted]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", default="calibration/iis.toml")
    parser.add_argument("--walkers", type=int, default=128)
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--engine", default="native", choices=("auto", "fast", "native"))
    parser.add_argument("--moves", nargs="+", default=list(MOVES), choices=MOVES)
    parser.add_argument("--coordinates", nargs="+", default=["unbounded"],
                        choices=("unbounded", "bounded"))
    parser.add_argument("--output-scales", nargs="+", default=["with"],
                        choices=("with", "without"),
                        help="de-gibbs with and/or without the output scales' moves")
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cpus")
    bp = read_bayes(read_problem(args.spec))
    objective = Objective(fit_window_problem(bp.problem), engine=args.engine)
    simulate = fit_simulator(bp, objective)
    found = find_output_scales(bp, objective.model)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        center, _, map_runs = run_map(bp, simulate, _start_theta(bp, simulate))
        print(f"{args.spec}: {len(bp.names)} parameters; MAP {map_runs} runs in "
              f"{time.perf_counter() - t0:.0f} s ({args.engine} engine, compile included); "
              f"{args.walkers} walkers x {args.steps} steps a move, seed {args.seed}")
        start = initial_walkers(bp, args.walkers, np.random.default_rng(args.seed),
                                center=center)
        print(f"{'moves':21} {'tau max':>8} {'median':>7} {'kept/tau':>8} {'ESS/1k runs':>11} "
              f"{'ESS/s':>6} {'accept':>6} {'tau(lp)':>7} {'runs':>8} {'s':>6}  worst parameter")
        runs = [(moves, coords, scales) for moves in args.moves for coords in args.coordinates
                for scales in _scale_sets(moves, args.output_scales, found)]
        for moves, coords, scales in runs:
            m = _sample(bp, simulate, start, args.steps, args.seed, moves,
                        coords == "unbounded", scales)
            print(f"{m['moves']:21} {m['tau_max']:8.0f} {m['tau_median']:7.0f} "
                  f"{m['kept_over_tau']:8.1f} {m['ess_per_1k']:11.2f} "
                  f"{m['ess_per_s']:6.2f} {m['accept']:6.2f} {m['tau_lp']:7.0f} "
                  f"{m['runs']:8d} {m['seconds']:6.0f}  {m['worst']}", flush=True)
    print(f"load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
