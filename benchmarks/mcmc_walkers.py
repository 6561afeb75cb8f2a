"""How many walkers? Mixing per step against the engine's cost per half-step, for IIS.

Run from the repository root::

    .venv/bin/python benchmarks/mcmc_walkers.py
    .venv/bin/python benchmarks/mcmc_walkers.py --walkers 64 128 256 512 1024 --steps 4000

Two measurements in one run, then their product:

1. **Mixing** (no model runs). emcee with sdkit's default move (``DEMove``)
   samples a 30-dimensional SYNTHETIC Gaussian with IIS's dimension and
   strongly correlated pairs (|r| up to 0.93, as in the IIS least-squares
   record), started, as :func:`sdkit.calibration.bayes_fit.calibrate_bayes`
   starts, from a ball of 1 % of the prior width around the mode. Both moves
   are affine invariant, so scales do not matter, only correlations. For each
   walker count it prints the acceptance fraction, the burn-in (first step
   at which the ensemble's mean log density is within two standard errors
   of its stationary value, ``-ndim / 2``: the ball starts above it) and
   the integrated autocorrelation time over the second half. ``needed`` =
   the steps ``calibrate_bayes`` needs for its convergence checks: the kept
   half must hold 50 autocorrelation times
   (:data:`sdkit.calibration.diagnostics.TAU_FACTOR`), and the burn-in half
   must cover the burn-in: ``2 * max(burn-in, 50 tau)``.
2. **Cost per half-step** on IIS: the bare compiled engine's seconds for
   ``walkers / 2`` members, measured in this run (best of two), on this
   machine at its current load.
3. **Wall time** to a posterior that can pass the checks: ``needed * 2 *
   cost(walkers / 2)``. The machine is shared: the ranking of walker counts
   holds across loads (both columns scale together); the minutes do not.

This is a measurement, not a test.
"""

from __future__ import annotations

import argparse
import os
import time
import warnings

import numpy as np

from sdkit.calibration.bayes_spec import read_bayes
from sdkit.calibration.diagnostics import TAU_FACTOR
from sdkit.calibration.mcmc import initial_walkers
from sdkit.calibration.objective import Objective
from sdkit.calibration.spec import read_problem
from sdkit.engine.chunks import run_chunk
from sdkit.engine.runner import run_raw

NDIM = 30
IIS = "calibration/iis.toml"


def correlated_gaussian(ndim: int, seed: int = 0) -> np.ndarray:
    """SYNTHETIC precision matrix: pairs correlated up to 0.93, the rest random and weak."""
    rng = np.random.default_rng(seed)
    corr = np.eye(ndim)
    for i in range(0, ndim - 1, 3):  # every third pair strongly correlated, signs mixed
        r = rng.choice([-1, 1]) * rng.uniform(0.6, 0.93)
        corr[i, i + 1] = corr[i + 1, i] = r
    a = rng.normal(0, 0.05, (ndim, ndim))
    cov = corr + a @ a.T
    d = np.sqrt(np.diag(cov))
    return np.linalg.inv(cov / np.outer(d, d))


def mixing(walkers: int, steps: int, seed: int = 0) -> dict:
    """Acceptance, burn-in and autocorrelation time of emcee's DE move on the Gaussian."""
    import emcee  # heavy: only for this measurement

    prec = correlated_gaussian(NDIM)

    def log_prob(x):
        return -0.5 * np.einsum("ij,jk,ik->i", x, prec, x)

    rng = np.random.default_rng(seed)
    start = 0.01 * 3.3 * rng.standard_normal((walkers, NDIM))  # 1 % of a 90 % width
    sampler = emcee.EnsembleSampler(walkers, NDIM, log_prob, vectorize=True,
                                    moves=emcee.moves.DEMove())
    state = emcee.State(start, random_state=np.random.RandomState(seed).get_state())
    sampler.run_mcmc(state, steps, skip_initial_state_check=True)
    lp = sampler.get_log_prob().mean(axis=1)
    target = -NDIM / 2  # E[log density] of the Gaussian (up to the constant)
    se = np.sqrt(NDIM / 2) / np.sqrt(walkers)
    near = np.abs(lp - target) < 2 * se  # the ball starts above the typical set
    burn = int(np.argmax(near)) if near.any() else steps
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tau = float(np.max(emcee.autocorr.integrated_time(sampler.get_chain()[steps // 2:],
                                                          tol=0)))
    return {"acceptance": float(np.mean(sampler.acceptance_fraction)), "burn": burn,
            "tau": tau, "needed": int(2 * max(burn, TAU_FACTOR * tau))}


def engine_cost(members: list[int]) -> dict[int, float]:
    """Seconds of one IIS ensemble run of each member count (bare engine, best of two)."""
    bp = read_bayes(read_problem(IIS))
    objective = Objective(bp.problem)
    theta = initial_walkers(bp, max(members), np.random.default_rng(0),
                            center=np.r_[bp.problem.initial, np.full(len(bp.names) - bp.n_model,
                                                                      0.05)])
    x = theta[:, : bp.n_model]
    raw = run_raw(objective.model, objective._table(x[:1]), objective.variables,
                  stop=objective.stop, dt=objective.problem.dt)
    out = {}
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        for n in members:
            table = objective._table(x[:n])
            values = np.column_stack([table[c].to_numpy(float) for c in table.columns])
            best = np.inf
            for _ in range(2):
                t0 = time.perf_counter()
                run_chunk(raw.spec, values, raw.model)
                best = min(best, time.perf_counter() - t0)
            out[n] = best
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--walkers", type=int, nargs="+", default=[64, 128, 256, 512, 1024])
    parser.add_argument("--steps", type=int, default=4000)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[:2])
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cpus; "
          f"SYNTHETIC {NDIM}-d correlated Gaussian, DE move, {args.steps} steps")
    cost = engine_cost([w // 2 for w in args.walkers])
    print(f"{'walkers':>7} {'accept':>6} {'burn-in':>7} {'tau':>6} {'needed':>7} "
          f"{'s/half-step':>11} {'runs/s':>7} {'wall min':>8}")
    for w in args.walkers:
        m = mixing(w, args.steps)
        c = cost[w // 2]
        print(f"{w:>7} {m['acceptance']:>6.2f} {m['burn']:>7} {m['tau']:>6.1f} "
              f"{m['needed']:>7} {c:>11.2f} {w / 2 / c:>7.0f} "
              f"{m['needed'] * 2 * c / 60:>8.1f}", flush=True)


if __name__ == "__main__":
    main()
