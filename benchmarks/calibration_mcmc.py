"""Model runs per second inside the MCMC sampler (emcee, vectorized), for IIS and SIR.

Run from the repository root::

    .venv/bin/python benchmarks/calibration_mcmc.py                 # IIS and SIR
    .venv/bin/python benchmarks/calibration_mcmc.py --only IIS --walkers 256 512 1024
    .venv/bin/python benchmarks/calibration_mcmc.py --only IIS --walkers 256 --profile
    .venv/bin/python benchmarks/calibration_mcmc.py --only IIS --walkers 256 --workers 2
    .venv/bin/python benchmarks/calibration_mcmc.py --only IIS --walkers 1024 --engine native
    .venv/bin/python benchmarks/calibration_mcmc.py --only IIS --walkers 1024 --savings
    .venv/bin/python benchmarks/calibration_mcmc.py --spec calibration/iis_mcmc.toml \
        --engine native --walkers 64 --steps 100000 --converge 600

For each calibration spec and each walker count it starts the walkers in a
small ball around the spec's initial values and times ``--steps`` steps of
:func:`sdkit.calibration.mcmc.run_mcmc`. Every half-step is one ensemble run
of ``walkers / 2`` members. It prints:

* ``runs/s``: model runs per second inside the sampler (the issue's target
  for IIS is >= 5,000/s on 2 cores);
* ``bare/s``: the baseline measured in the same run: after every half-step's
  model run, the bare compiled engine (:func:`sdkit.engine.chunks.run_chunk`
  on a prepared parameter matrix: no table, no dataset, no likelihood, no
  sampler) runs the same rows, outside the sampler's clock, so both see the
  same load;
* ``ratio``: the median over half-steps of bare time / sampler time (model
  run, likelihood and emcee's proposal, from one model call to the next):
  the share of the engine's speed the sampler keeps (1.0 = no overhead). The
  machine is shared: compare ratios and shares, not absolute rates;
* ``accept``: the mean acceptance fraction.

``--workers N`` samples each walker count a second time with every half-step
split over N local processes (the calibration option ``workers``) and prints
that run's rate as a multiple of the one-process rate measured just before it.

``--converge SECONDS`` tries for a converged IIS posterior (or ``--spec``'s)
within a wall-time budget (the engine's compile and the MAP start included):
it samples with ``--walkers`` (the first count), ``--moves`` and ``--engine``
(``--workers N``: N local processes) for at most ``--steps`` steps (give tens
of thousands), checks the chain after its burn-in (ten autocorrelation times, at most the
first quarter; :func:`sdkit.calibration.stopping.burn_in`) as
:mod:`sdkit.calibration.stopping` does (a cheap screen every 5 % of growth,
the ArviZ checks when it passes) and stops when every check passes or the
budget is spent,
then prints the worst R-hat and ESS (naming the parameters), the acceptance,
the autocorrelation times and the coverage of the 90 % posterior predictive
band on the fit and hold-out points (``--save NPZ`` keeps the chain). It
never calls a chain converged that the checks do not pass.

``--savings`` times one ensemble run of ``walkers / 2`` members as the
sampler makes it (to the last fitted observation, target outputs only)
against runs to the hold-out's end, to the model's final time, to the fit
window's end, and with every model variable as output (ratios, medians of
interleaved rounds).

Every row samples the spec's posterior with the sampler's run settings:
the model runs only to the last fitted observation
(:func:`sdkit.calibration.bayes_fit.fit_window_problem`).

``--profile`` runs the sampler under cProfile (without the bare runs) and
splits its time into the engine's integration, the override table, result
assembly (xarray), target extraction, the likelihood and prior, and the rest
(emcee, Python glue).

This is a measurement, not a test.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from sdkit.calibration.bayes_fit import (
    SAMPLER_ENGINES,
    _start_theta,
    calibrate_bayes,
    fit_simulator,
    fit_window_problem,
)
from sdkit.calibration.bayes_spec import read_bayes
from sdkit.calibration.mcmc import MOVES, initial_walkers, run_mcmc
from sdkit.calibration.objective import Objective
from sdkit.calibration.posterior import write_bayes_outputs
from sdkit.calibration.predictive import holdout_coverage, holdout_misses
from sdkit.calibration.spec import read_problem
from sdkit.engine.chunks import run_chunk
from sdkit.engine.executors import ProcessPoolExecutor
from sdkit.engine.runner import run_raw
from sdkit.workflow.bayes import bayes_report_files

sys.path.insert(0, str(Path(__file__).resolve().parent))
from executors import _other_ticks, _others_between  # noqa: E402 - the same load probe

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


def _prepare(spec: str, walkers: int, executor=None, engine: str = "auto"):
    """The problem, the sampler's objective (fit window only) and simulator, a start."""
    bp = read_bayes(read_problem(spec))
    objective = Objective(fit_window_problem(bp.problem), executor=executor, engine=engine)
    simulate = fit_simulator(bp, objective)
    theta0 = _start_theta(bp, simulate)
    start = initial_walkers(bp, walkers, np.random.default_rng(0), center=theta0)
    simulate(start[: walkers // 2, : bp.n_model])  # compile and warm the cache
    return bp, objective, simulate, start


def _sample(bp, simulate, start, steps: int, profile: cProfile.Profile | None,
            moves: str = "de"):
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        if profile is not None:
            profile.enable()
        try:
            return run_mcmc(bp, simulate, start, steps=steps, seed=0, moves=moves)
        finally:
            if profile is not None:
                profile.disable()


def bare_engine(objective: Objective, x: np.ndarray):
    """``run(x)``: the bare engine on parameter rows `x` (no table, no dataset), the
    objective's engine, outputs and stop."""
    raw = run_raw(objective.model, objective._table(x[:1]), objective.variables,
                  engine=objective.engine, stop=objective.stop, dt=objective.problem.dt)

    def run(rows: np.ndarray) -> float:
        table = objective._table(rows)
        values = np.column_stack([table[c].to_numpy(float) for c in table.columns])
        t0 = time.perf_counter()
        run_chunk(raw.spec, values, raw.model)
        return time.perf_counter() - t0
    return run


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


def measure(spec: str, walkers: int, steps: int, profile: bool = False,
            executor=None, engine: str = "auto", moves: str = "de") -> dict:
    """Runs/s of `steps` MCMC steps with `walkers` walkers on `spec`, and the bare engine's.

    After every half-step's model run the bare engine runs the same rows
    (outside the sampler's clock), so both see the same load; ``ratio`` is the
    median over half-steps of bare time / sampler time (model run,
    likelihood and emcee's proposal, from one model call to the next).
    """
    bp, objective, simulate, start = _prepare(spec, walkers, executor, engine)
    # under cProfile the bare runs would count as the sampler's: profile without them
    bare = None if profile else bare_engine(objective, start[:, : bp.n_model])
    marks: list[tuple[float, float]] = []  # (call start, bare seconds after it)

    def timed(x):
        t0 = time.perf_counter()
        out = simulate(x)
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            marks.append((t0, bare(x) if bare and len(x) else 0.0))
        return out

    prof = cProfile.Profile() if profile else None
    chain = _sample(bp, timed, start, steps, prof, moves)
    starts, bare_s = np.array([m[0] for m in marks]), np.array([m[1] for m in marks])
    cycles = np.diff(starts) - bare_s[:-1]  # one half-step of the sampler, bare run removed
    sampler_s = chain.elapsed - bare_s.sum()
    out = {"ndim": len(bp.names), "runs": chain.n_runs, "seconds": sampler_s,
           "runs_per_s": chain.n_runs / sampler_s,
           "bare_per_s": chain.n_runs / bare_s.sum() if bare else np.nan,
           "ratio": float(np.median(bare_s[:-1] / cycles)) if bare else np.nan,
           "acceptance": float(np.mean(chain.acceptance)), "engine": objective.engine}
    if prof is not None:
        out["split"] = split(prof, chain.elapsed)
    return out


def converge(spec: str, walkers: int | None, seconds: float, steps: int, seed: int = 0, *,
             moves: str | None = None, engine: str = "auto", workers: int = 1,
             save: str | None = None, out: str | None = None) -> None:
    """Sample `spec` until converged, `seconds` have passed or `steps` are taken
    (:func:`calibrate_bayes` with ``until_converged`` and ``max_seconds``); print how far
    it got. `walkers`, `moves`: None keeps the spec's. `save`: the chain as ``.npz``;
    `out`: the calibration's outputs and report."""
    started = time.perf_counter()
    bp = read_bayes(read_problem(spec))
    chosen = {k: v for k, v in (("walkers", walkers), ("moves", moves)) if v is not None}
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        result = calibrate_bayes(bp, method="mcmc", seed=seed, steps=steps, engine=engine,
                                 workers=workers, until_converged=True, max_seconds=seconds,
                                 **chosen)
    wall = time.perf_counter() - started
    diag, kept = result.diagnostics, result.samples
    print(f"{spec}: {result.sampler}; {wall:.0f} s wall, {result.n_runs} runs "
          f"({result.n_runs / result.elapsed:.0f} runs/s, MAP start included); "
          f"load average {os.getloadavg()[0]:.1f}")
    if save:
        np.savez_compressed(save, samples=kept, log_prob=result.log_prob,
                            names=np.array(bp.names))
    _report(bp, diag, kept)
    c_fit, c_out, n_fit, n_out = holdout_coverage(list(result.bands))
    print(f"90 % posterior predictive band covers {100 * c_fit:.0f} % of {n_fit} fit points "
          f"and {100 * c_out:.0f} % of {n_out} hold-out points")
    for m in holdout_misses(list(result.bands)):
        print(f"  hold-out missed: {m['target']} {m['time']:g}")
    if out:
        paths = write_bayes_outputs(result, out, overwrite=True,
                                    extra=bayes_report_files(result))
        print(f"written: {', '.join(str(p) for p in paths.values())}")


def _report(bp, diag, kept: np.ndarray) -> None:
    """Print the convergence checks: failures, worst R-hat and ESS, acceptance, tau."""
    print(f"converged: {diag.converged} (every check on the kept {len(kept)} steps)")
    for line in diag.problems:
        print("  " + line)
    order = np.argsort(-np.nan_to_num(diag.rhat, nan=np.inf))[:5]
    print("worst R-hat: " + ", ".join(f"{bp.names[i]} {diag.rhat[i]:.4f}" for i in order))
    ess = np.minimum(diag.ess_bulk, diag.ess_tail)
    order = np.argsort(np.nan_to_num(ess, nan=-1))[:5]
    print("lowest ESS (min of bulk, tail): "
          + ", ".join(f"{bp.names[i]} {ess[i]:.0f}" for i in order))
    worst = int(np.nanargmax(diag.tau))
    print(f"acceptance {diag.acceptance:.2f}; autocorrelation time max {diag.tau[worst]:.0f} "
          f"steps ({bp.names[worst]}), median {np.nanmedian(diag.tau):.0f} (kept {len(kept)})")


def savings(spec: str, members: int, engine: str = "auto", rounds: int = 5) -> None:
    """Seconds of one ensemble run of `members` rows under each run setting, as ratios to
    the sampler's own (stop at the last fitted observation, target outputs only),
    medians over `rounds` interleaved rounds."""
    bp, objective, _, start = _prepare(spec, members, None, engine)
    full = Objective(bp.problem)
    table = objective._table(start[:, : bp.n_model])
    model = objective.model
    everything = [v for v in model.names if model.py_name(v) != "time"]
    settings = {
        f"sampler: stop {objective.stop:g}, {len(objective.variables)} target outputs":
            (objective.stop, objective.variables),
        f"stop at the hold-out's end ({full.stop:g})": (full.stop, objective.variables),
        f"stop at the model's final time ({model.time_settings.stop:g})":
            (None, objective.variables),
        f"stop at the fit window's end ({bp.problem.stop}), if nothing later were fitted":
            (bp.problem.stop, objective.variables),
        f"every model variable as output ({len(everything)})": (objective.stop, everything),
    }
    times: dict[str, list[float]] = {k: [] for k in settings}
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        for r in range(rounds + 1):
            for key, (stop, outputs) in settings.items():
                t0 = time.perf_counter()
                run_raw(model, table, outputs, engine=engine, stop=stop, dt=bp.problem.dt)
                if r:  # the first round warms the caches
                    times[key].append(time.perf_counter() - t0)
    base = np.array(times[next(iter(settings))])
    print(f"{spec}: one run of {members} members ({engine} engine), median of {rounds} "
          f"rounds; sampler's run {np.median(base):.3f} s")
    for key, t in times.items():
        print(f"  {key:72} {np.median(np.array(t) / base):5.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--walkers", type=int, nargs="+",
                        help="walker counts (default 64 256; --converge: the spec's)")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--only", choices=sorted(SPECS), help="one model only")
    parser.add_argument("--spec", help="--converge/--savings: this spec instead of --only's")
    parser.add_argument("--profile", action="store_true",
                        help="split the sampler's time by category (cProfile)")
    parser.add_argument("--workers", type=int, default=1,
                        help="also sample with each half-step split over this many local "
                             "processes (the calibration option 'workers'), interleaved with "
                             "the one-process run, and print the speed-up")
    parser.add_argument("--converge", type=float, metavar="SECONDS",
                        help="try for a converged IIS posterior within SECONDS of wall time")
    parser.add_argument("--moves", choices=MOVES,
                        help="the sampler's moves (default de; --converge: the spec's)")
    parser.add_argument("--engine", choices=SAMPLER_ENGINES, default="auto",
                        help="the engine the sampler runs the model with")
    parser.add_argument("--save", metavar="NPZ", help="--converge: write the chain here")
    parser.add_argument("--out", metavar="DIR",
                        help="--converge: write the outputs and report here (as sdkit calibrate)")
    parser.add_argument("--savings", action="store_true",
                        help="time one ensemble run to the last fitted observation against "
                             "runs to the hold-out's end and the model's final time, and "
                             "with every model variable as output")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        cpus = sorted(os.sched_getaffinity(0))[:2]
        os.sched_setaffinity(0, cpus)
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cpus")
    if args.converge:
        converge(args.spec or SPECS[args.only or "IIS"],
                 args.walkers[0] if args.walkers else None, args.converge,
                 args.steps, moves=args.moves, engine=args.engine, workers=args.workers,
                 save=args.save, out=args.out)
        return
    walkers, moves = args.walkers or [64, 256], args.moves or "de"
    if args.savings:
        savings(args.spec or SPECS[args.only or "IIS"], walkers[0] // 2, args.engine)
        return
    print(f"{'model':5} {'ndim':>4} {'walkers':>7} {'runs':>7} {'s':>7} {'runs/s':>8} "
          f"{'bare/s':>8} {'ratio':>5} {'accept':>6}")
    for name, spec in SPECS.items():
        if args.only and name != args.only:
            continue
        for count in walkers:
            first, t0 = _other_ticks(), time.perf_counter()
            m = measure(spec, count, args.steps, args.profile, engine=args.engine,
                        moves=moves)
            _row(name, count, m, _others(first, t0))
            for cat, share in m.get("split", {}).items():
                print(f"      {cat:26} {100 * share:5.1f} %")
            if args.workers > 1:
                with ProcessPoolExecutor(args.workers) as ex:
                    ex.map(time.sleep, [(0,)] * args.workers)  # workers up, to count their CPU
                    first, t0 = _other_ticks(ex), time.perf_counter()
                    mw = measure(spec, count, args.steps, executor=ex, engine=args.engine,
                                 moves=moves)
                    note = _others(first, t0, ex)
                _row(name, count, mw, f", {args.workers} workers: "
                     f"{mw['runs_per_s'] / m['runs_per_s']:.2f}x the one-process rate" + note)
    print(f"load average {os.getloadavg()[0]:.1f} at the end")


def _others(first, t0: float, ex=None) -> str:
    """What other sessions used since `first` (two workers get two cores only while they idle)."""
    others = _others_between(first, time.perf_counter() - t0, ex)
    return "" if others is None else f"; other sessions used {others:.2f} CPUs meanwhile"


def _row(name: str, walkers: int, m: dict, note: str = "") -> None:
    print(f"{name:5} {m['ndim']:>4} {walkers:>7} {m['runs']:>7} {m['seconds']:>7.1f} "
          f"{m['runs_per_s']:>8.0f} {m['bare_per_s']:>8.0f} "
          f"{m['ratio']:>5.2f} {m['acceptance']:>6.2f}  ({m['engine']}{note})", flush=True)


if __name__ == "__main__":
    main()
