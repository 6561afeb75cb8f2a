"""What the convergence checks cost while a chain grows: the stopper against the previous rule.

Run from the repository root::

    .venv/bin/python benchmarks/stopping.py
    .venv/bin/python benchmarks/stopping.py --steps 24000 --walkers 64 --ndim 38 --tau 130 206

A SYNTHETIC chain with IIS's shape (64 walkers, 38 parameters): AR(1) walkers,
each parameter with its own autocorrelation time, spread evenly between
``--tau`` LOW and HIGH steps (IIS's converged posterior: median 129, worst 206;
``calibration/results/iis_mcmc/calibration.json``), and a first stretch that
starts away from the posterior and relaxes to it, as walkers started around
the MAP point do. It is replayed as :func:`sdkit.calibration.mcmc.run_mcmc`
hands it to ``stop_when``: every :data:`~sdkit.calibration.stopping.CHECK_EVERY`
steps the stopper sees the chain so far. Two stoppers see the same chain:

* ``stopper``: :class:`sdkit.calibration.stopping.Stopper` (a numpy screen every
  5 % of growth; the ArviZ checks when the screen passes, or at the latest
  every 1.5x once 50 autocorrelation times are kept), then the record's
  :func:`~sdkit.calibration.diagnostics.diagnose` with the statistics the
  stopper kept;
* ``baseline``: the rule before 2 December 2026, written out here: the
  ArviZ checks every time the chain has grown by a fifth (on at most 4,000
  thinned steps a walker, confirmed on every kept step), then the record's
  ``diagnose`` computing the statistics again.

It prints, for each, the step it stopped at, the seconds spent in checks
(sampling excluded: there is none) and their ratio. Compare with the
sampling time of a real run (``benchmarks/calibration_mcmc.py --converge``):
about 27-37 ms a step for IIS on two cores, so 22,000 steps are 600-800 s.

This is a measurement, not a test. The machine is shared: compare the
ratio, measured in one run, not the seconds.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

from sdkit.calibration import stopping
from sdkit.calibration.diagnostics import autocorr_time, chain_stats, diagnose

#: the rule before 2 December 2026: full checks every 1.2x, on at most 4,000 steps
OLD_GROWTH, OLD_STEPS = 1.2, 4000


class _Names:
    """What the stopper reads of a BayesProblem: the parameter names."""

    def __init__(self, ndim: int):
        self.names = tuple(f"p{i}" for i in range(ndim))


def synthetic_chain(steps: int, walkers: int, taus: np.ndarray, seed: int = 0) -> np.ndarray:
    """SYNTHETIC AR(1) walkers (steps, walkers, ndim): unit variance, autocorrelation
    time ``taus[d]`` for parameter d, starting 3 standard deviations off and bunched."""
    phi = (taus - 1) / (taus + 1)
    rng = np.random.default_rng(seed)
    x = np.empty((steps, walkers, len(taus)))
    x[0] = 3.0 + 0.01 * rng.standard_normal((walkers, len(taus)))
    noise = np.sqrt(1 - phi * phi)
    for t in range(1, steps):
        x[t] = phi * x[t - 1] + noise * rng.standard_normal((walkers, len(taus)))
    return x


def _old_checks(bp, kept: np.ndarray) -> bool:
    ok = len(kept) >= stopping.TAU_FACTOR * autocorr_time(kept)
    return bool(np.all(ok)) and diagnose(kept, bp.names, np.full(kept.shape[1], 0.3)).converged


def baseline(bp, x: np.ndarray) -> tuple[int | None, float]:
    """The previous rule on `x`: (step it stopped at or None, seconds in checks)."""
    spent, last = 0.0, 0
    for n in range(stopping.CHECK_EVERY, len(x) + 1, stopping.CHECK_EVERY):
        if n < max(2 * stopping.CHECK_EVERY, OLD_GROWTH * last):
            continue
        last = n
        t0 = time.perf_counter()
        view = lambda d=0, t=1, n=n: x[:n][d::t]  # noqa: E731
        thin_tau = max(1, (n - n // 2) // OLD_STEPS)
        tau = autocorr_time(view(n // 2, thin_tau)) * thin_tau
        burn = stopping._burn(n, tau)
        thin = max(1, (n - burn) // OLD_STEPS)
        passed = _old_checks(bp, view(burn, thin)) and (thin == 1 or _old_checks(bp, view(burn)))
        if passed:
            diagnose(view(burn), bp.names, np.full(x.shape[1], 0.3))  # the record, again
        spent += time.perf_counter() - t0
        if passed:
            return n, spent
    return None, spent


def current(bp, x: np.ndarray) -> tuple[int | None, float]:
    """:class:`~sdkit.calibration.stopping.Stopper` on `x`, then the record's diagnose."""
    stop = stopping.Stopper(bp, {"max_seconds": None, "until_converged": True},
                            time.perf_counter())
    spent = 0.0
    for n in range(stopping.CHECK_EVERY, len(x) + 1, stopping.CHECK_EVERY):
        t0 = time.perf_counter()
        done = stop(n, lambda d=0, t=1, n=n: x[:n][d::t])
        if done:
            kept = x[stop.burn:n]
            diagnose(kept, bp.names, np.full(x.shape[1], 0.3), stats=stop.stats_for(n, stop.burn))
        spent += time.perf_counter() - t0
        if done:
            return n, spent
    return None, spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=24000)
    parser.add_argument("--walkers", type=int, default=64)
    parser.add_argument("--ndim", type=int, default=38)
    parser.add_argument("--tau", type=float, nargs=2, default=(130.0, 206.0),
                        metavar=("LOW", "HIGH"))
    args = parser.parse_args()
    taus = np.linspace(args.tau[0], args.tau[1], args.ndim)
    x = synthetic_chain(args.steps, args.walkers, taus)
    bp = _Names(args.ndim)
    print(f"SYNTHETIC chain: {args.steps} steps x {args.walkers} walkers x {args.ndim} "
          f"parameters, autocorrelation times {args.tau[0]:g}-{args.tau[1]:g} steps")
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        chain_stats(x[:200])  # import ArviZ outside the clocks
        rows = {"baseline (ArviZ every 1.2x)": baseline(bp, x), "stopper": current(bp, x)}
    base = rows["baseline (ArviZ every 1.2x)"][1]
    for name, (at, spent) in rows.items():
        where = f"stopped at step {at}" if at else "did not stop"
        print(f"  {name:28} {where:24} checks {spent:7.1f} s  ratio {spent / base:5.2f}")


if __name__ == "__main__":
    main()
