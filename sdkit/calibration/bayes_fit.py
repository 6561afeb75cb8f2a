"""The front door of Bayesian calibration: :func:`calibrate_bayes`.

``method = "map"`` finds the maximum of the posterior density;
``method = "mcmc"`` samples it with emcee (see :mod:`sdkit.calibration.mcmc`),
starting from a small ball around the MAP point (``init = "map"``, default)
or from prior draws (``init = "prior"``), and checks convergence with ArviZ
(:mod:`sdkit.calibration.diagnostics`). Options (spec ``[fit] options`` or
keywords): ``walkers`` (default ``max(32, 4 * ndim)``; with ``"de-gibbs"``
``ndim`` counts only the parameters that need a model run), ``steps`` (2000),
``burn`` (half the steps), ``init``, ``moves`` (``"de"``, the default,
``"stretch"``, ``"de-snooker"`` or ``"de-gibbs"``, see
:data:`~sdkit.calibration.mcmc.MOVES`),
``engine`` (``"auto"``, or ``"native"``: the opt-in Numba engine, much faster
per run on IIS, see ``docs/bayesian_calibration.md``), ``until_converged``
(false: when true, ``steps`` is the most to take; the chain is checked as it
grows and sampling stops once it passes every convergence check after its
burn-in, ten autocorrelation times but at most a quarter of the chain, see
:func:`~sdkit.calibration.stopping.burn_in`),
``max_seconds`` (none: stop sampling after that many seconds from the call,
MAP start included; the chain so far is kept and diagnosed, not marked
interrupted), ``unbounded`` (true: moves are proposed in unbounded
coordinates, :mod:`sdkit.calibration.unbounded`; the draws are of the same
posterior), ``output_scales`` (true: with ``"de-gibbs"``, parameters that only
multiply an output nothing reads follow the model moves and are updated
without model runs, :mod:`sdkit.calibration.scales`; same posterior),
``maxiter`` (MAP), ``workers`` (1: each half-step's ensemble run splits its
walkers over that many local processes; the draws are the same for any number
of workers; with the native engine one process already uses every CPU on
threads, see ``docs/bayesian_calibration.md``).

Why differential-evolution moves by default: on IIS (``calibration/iis_mcmc.toml``,
29 parameters, 64 walkers x 3,000 steps, same start and seed;
``benchmarks/mcmc_moves.py``) emcee's ``DEMove`` gave autocorrelation times
of 79 steps at most (median 70) against 141 (127) for the stretch move: 12.7
against 7.1 effective samples per 1,000 model runs; DE mixed with DE-snooker
steps (``"de-snooker"``) gave 13.9 per 1,000 runs but the same per second
(four smaller ensemble runs in a snooker step) and an acceptance of 0.17,
near the checks' floor of 0.15. On the decay model (3 parameters, 32
walkers) DE's times were 12-20 steps against 38-45 for the stretch move.

Why ``max(32, 4 * ndim)`` walkers: more walkers make bigger ensemble runs and
more model runs per second, but not a faster posterior. On a SYNTHETIC
30-dimensional correlated Gaussian (IIS's dimension; ``benchmarks/mcmc_walkers.py``)
the DE move's autocorrelation time fell only from 78 to 65 steps between 64
and 1024 walkers (acceptance 0.25 throughout), while an IIS half-step of
``walkers / 2`` members cost 2.6 times as long; the steps the convergence
checks need are about the same, so the wall time grows with the walkers
(64: 1.0, 128: 1.2, 256: 1.3, 1024: 2.2 times the 64-walker time).
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Mapping
from dataclasses import replace
from time import perf_counter

import numpy as np

from sdkit.calibration.bayes import BayesProblem
from sdkit.calibration.bayes_spec import read_bayes
from sdkit.calibration.diagnostics import diagnose
from sdkit.calibration.fit import check_names
from sdkit.calibration.mcmc import check_moves, initial_walkers, run_map, run_mcmc
from sdkit.calibration.objective import Objective
from sdkit.calibration.posterior import BayesResult, data_hashes
from sdkit.calibration.predictive import posterior_predictive
from sdkit.calibration.problem import CalibrationProblem
from sdkit.calibration.scales import describe_scales, find_output_scales
from sdkit.calibration.stopping import CHECK_EVERY, burn_in, stopper_for
from sdkit.engine.executors import ProcessPoolExecutor
from sdkit.errors import InvalidValueError, SdkitWarning, SpecError
from sdkit.io.progress import Progress

__all__ = ["calibrate_bayes", "model_simulator", "fit_simulator", "fit_window_problem",
           "check_prior_only", "BAYES_METHODS", "SAMPLER_ENGINES"]

BAYES_METHODS = ("map", "mcmc")
_OPTIONS = {"walkers", "steps", "burn", "init", "moves", "maxiter", "workers", "engine",
            "until_converged", "max_seconds", "unbounded", "output_scales"}
#: posterior draws behind the predictive bands: a 5 % quantile of n draws is off by
#: about sqrt(0.05 * 0.95 / n) in probability, 1.1 points at 400 draws (which moved
#: the IIS hold-out coverage between 79 and 85 % from one draw of 400 to the next)
#: and 0.3 at 4,000; the run is one ensemble of that many members
BAND_DRAWS = 4000
#: engines the sampler may run the model with (``native``: opt-in, needs Numba)
SAMPLER_ENGINES = ("auto", "fast", "native")


def model_simulator(objective: Objective):
    """``simulate(x)`` for :meth:`BayesProblem.log_prob`: one ensemble run of the rows."""
    def simulate(x: np.ndarray) -> dict[str, np.ndarray]:
        return objective.simulate_many(x) if len(x) else {}
    return simulate


def fit_window_problem(problem: CalibrationProblem) -> CalibrationProblem:
    """`problem` with only the points the likelihood reads: fitted targets, fit window.

    Its objective runs the model only to the last fitted observation (not
    to the end of the hold-out), and reads no target of weight 0.
    """
    targets = []
    for t in problem.targets:
        if t.weight <= 0:
            continue
        times = np.asarray(t.times, float)
        keep = (np.ones(times.size, bool) if t.always_fit
                else np.isin(times, problem.in_window(t)[0]))
        if keep.all():
            targets.append(t)
        elif keep.any():
            at = tuple(np.asarray(t.at, object)[keep]) if len(t.at) == times.size else t.at
            targets.append(replace(t, times=tuple(times[keep]),
                                   values=tuple(np.asarray(t.values, float)[keep]), at=at))
    return replace(problem, targets=tuple(targets))


def fit_simulator(bp: BayesProblem, objective: Objective):
    """``simulate(x)`` for :meth:`BayesProblem.log_prob` that runs the model only over
    the fit window: `objective` is built on :func:`fit_window_problem`; its values
    go to their places in each target's full time axis (NaN elsewhere: the
    likelihood does not read them)."""
    kept = {t.name: t for t in objective.problem.targets}
    places = {}
    for full in bp.problem.targets:
        if full.weight <= 0:
            continue
        t = kept.get(full.name)  # None: no point in the fit window
        where = (np.flatnonzero(np.isin(np.asarray(full.times, float), t.times))
                 if t is not None else np.zeros(0, int))
        places[full.name] = (None if where.size == len(full.times) else where, len(full.times))

    def simulate(x: np.ndarray) -> dict[str, np.ndarray]:
        if not len(x):
            return {}
        sims = objective.simulate_many(x)
        out = {}
        for name, (where, n) in places.items():
            if where is None:
                out[name] = sims[name]
            else:
                out[name] = np.full((len(x), n), np.nan)
                out[name][:, where] = sims[name] if where.size else 0.0
        return out
    return simulate


def _int_option(opts: Mapping, key: str, default: int, minimum: int) -> int:
    value = opts.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise InvalidValueError(f"option {key!r} must be an integer >= {minimum}: {value!r}")
    return int(value)


def _options(bp: BayesProblem, opts: Mapping) -> dict:
    bad = [k for k in opts if k not in _OPTIONS]
    if bad:
        raise SpecError(f"{bp.problem.spec_path or 'problem'}: fit.options: unknown key(s) "
                        f"{', '.join(map(repr, bad))} for MAP/MCMC; expected "
                        f"{', '.join(sorted(_OPTIONS))}")
    ndim = len(bp.names)
    # DE within Gibbs: the ensemble moves span only the parameters that need a run
    spans = len(bp.expensive) if opts.get("moves") == "de-gibbs" else ndim
    walkers = _int_option(opts, "walkers", max(32, 4 * spans), 2 * spans + 2)
    steps = _int_option(opts, "steps", 2000, 1)
    out = {"walkers": walkers + walkers % 2, "steps": steps,
           "burn": _int_option(opts, "burn", steps // 2, 0),
           "maxiter": _int_option(opts, "maxiter", 200, 1),
           "workers": _int_option(opts, "workers", 1, 1),
           "init": opts.get("init", "map"), "moves": opts.get("moves", "de"),
           "engine": opts.get("engine", "auto")}
    where = f"{bp.problem.spec_path}: fit.options" if bp.problem.spec_path else "option"
    if out["burn"] >= steps:
        raise InvalidValueError(f"option 'burn' ({out['burn']}) must be < steps ({steps})")
    if out["init"] not in ("map", "prior"):
        raise InvalidValueError(f"option 'init' must be 'map' or 'prior': {out['init']!r}")
    check_moves(out["moves"], where)
    for key, default in (("until_converged", False), ("unbounded", True),
                         ("output_scales", True)):
        out[key] = opts.get(key, default)
        if not isinstance(out[key], bool):
            raise InvalidValueError(f"{where}: {key} must be true or false: {out[key]!r}")
    limit = out["max_seconds"] = opts.get("max_seconds")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int | float)
                              or not limit > 0):
        raise InvalidValueError(f"{where}: max_seconds must be a number > 0: {limit!r}")
    if out["engine"] not in SAMPLER_ENGINES:
        raise InvalidValueError(f"{where}: engine {out['engine']!r} unknown; expected one of "
                                f"{', '.join(map(repr, SAMPLER_ENGINES))}")
    return out


def _start_theta(bp: BayesProblem, simulate) -> np.ndarray:
    """Initial guesses; noise scales from the residuals at the initial guesses
    (`simulate` as for :meth:`BayesProblem.log_prob`)."""
    x0 = bp.problem.initial
    theta = bp.sample_prior(np.random.default_rng(0), 1)[0]
    theta[:bp.n_model] = x0
    sims = simulate(x0[None, :])
    for pool in bp.pools:
        vals = [x0[bp.index(m)] for m in pool.members]
        theta[bp.index(f"{pool.name}::mu")] = float(np.clip(np.mean(vals), *pool.mu_prior.support))
        theta[bp.index(f"{pool.name}::tau")] = max(float(np.std(vals)), 0.1 * pool.tau_scale)
    for g in bp.groups:
        if g.likelihood.sigma is None:
            r = np.concatenate([bp.residuals(n, sims[n])[0] for n in g.targets])
            rms = float(np.sqrt(np.nanmean(r * r))) if np.isfinite(r).any() else 0.0
            theta[bp.index(f"sigma::{g.name}")] = max(rms, 0.05 * g.likelihood.sigma_prior)
        if g.likelihood.ar1:
            theta[bp.index(f"phi::{g.name}")] = 0.0
    return theta


def check_prior_only(bp: BayesProblem, simulate, x0: np.ndarray) -> None:
    """Each ``prior_only`` parameter, set to either of its bounds in `x0` (model
    parameters), leaves every fitted point unchanged (one ensemble run).

    Raises
    ------
    SpecError
        One line naming the parameter, the bound and the first fitted point it moves.
    """
    unseen = bp.prior_only
    if not len(unseen):
        return
    rows = [np.asarray(x0, float)]
    for j in unseen:
        for bound in (bp.problem.parameters[j].lower, bp.problem.parameters[j].upper):
            rows.append(rows[0].copy())
            rows[-1][j] = bound
    res = bp.group_residuals(simulate(np.array(rows)))
    for k, j in enumerate(unseen):
        q = bp.problem.parameters[j]
        for row, bound in ((1 + 2 * k, q.lower), (2 + 2 * k, q.upper)):
            for g, group in zip(bp.groups, res):
                for name, r in zip(g.targets, group):
                    moved = ~((r[row] == r[0]) | (np.isnan(r[row]) & np.isnan(r[0])))
                    if moved.any():
                        target = next(t for t in bp.problem.targets if t.name == name)
                        at = target.times[bp.fit_indices(name)[np.flatnonzero(moved)[0]]]
                        raise SpecError(
                            f"{bp.problem.spec_path or 'problem'}: parameter {q.name!r} is "
                            f"prior_only but at its bound {bound:g} it changes the fitted "
                            f"point {name} at {at:g}; a parameter the fit window sees must "
                            "be fitted: remove prior_only")


def _bands(bp: BayesProblem, draws: np.ndarray, simulate, seed) -> tuple:
    """90 % posterior predictive bands from up to :data:`BAND_DRAWS` of `draws` (one
    ensemble run)."""
    if not len(draws):
        return ()
    rng = np.random.default_rng(seed)
    pick = draws[rng.choice(len(draws), size=min(BAND_DRAWS, len(draws)), replace=False)]
    return tuple(posterior_predictive(bp, pick, simulate, level=0.9, seed=seed))


def _progress(total: int, progress: bool | None) -> Progress:
    return Progress(total, desc="mcmc", unit="step", show=progress)  # bar, or log lines


def calibrate_bayes(problem: CalibrationProblem | BayesProblem, *, method: str | None = None,
                    seed: int | None = None, progress: bool | None = None,
                    **options) -> BayesResult:
    """MAP fit or MCMC posterior of a calibration problem.

    Parameters
    ----------
    problem : CalibrationProblem or BayesProblem
        A problem read from a spec gets its priors and likelihoods from the
        spec (:func:`~sdkit.calibration.bayes_spec.read_bayes`).
    method : {"map", "mcmc"}, optional
        Default: the problem's method.
    seed : int, optional
        Same seed, same draws.
    progress : bool, optional
        Progress bar (default: when stderr is a terminal).
    **options
        Over the spec's ``[fit] options``; see the module docstring.

    Returns
    -------
    BayesResult
        Ctrl-C during sampling returns the chain so far, ``interrupted``
        and not converged; the record warns naming the failed checks.
    """
    bp = problem if isinstance(problem, BayesProblem) else read_bayes(problem)
    method = method or bp.problem.method
    if method not in BAYES_METHODS:
        raise SpecError(f"method {method!r} is not Bayesian; expected one of {BAYES_METHODS}")
    opts = _options(bp, {k: v for k, v in {**bp.problem.options, **options}.items()})
    check_names(bp.problem)
    workers = opts["workers"]
    with (ProcessPoolExecutor(workers) if workers > 1
          else contextlib.nullcontext()) as executor:
        return _calibrate(bp, method, opts, seed, progress, executor)


def _calibrate(bp: BayesProblem, method: str, opts: dict, seed: int | None,
               progress: bool | None, executor) -> BayesResult:
    started = perf_counter()
    objective = Objective(bp.problem, executor=executor, engine=opts["engine"])
    fitting = Objective(fit_window_problem(bp.problem), executor=executor, engine=opts["engine"])
    simulate, predict = fit_simulator(bp, fitting), model_simulator(objective)
    theta0 = _start_theta(bp, simulate)
    check_prior_only(bp, simulate, theta0[:bp.n_model])
    model_sha, data_sha = data_hashes(bp)
    rng = np.random.default_rng(seed)
    theta_map, map_runs, map_time = None, 0, 0.0
    if method == "map" or opts["init"] == "map":
        t0 = perf_counter()
        theta_map, _, map_runs = run_map(bp, simulate, theta0, maxiter=opts["maxiter"])
        map_time = perf_counter() - t0
    common = {"bayes": bp, "seed": seed, "model_sha256": model_sha, "data_sha256": data_sha}
    if method == "map":
        notes = (("MAP with pooled parameters: the joint mode lies where the pool's spread "
                  "tau shrinks to 0 (the hierarchical funnel); use method = \"mcmc\"",)
                 if bp.pools else ())
        bands = _bands(bp, np.repeat(theta_map[None, :], 400, axis=0), predict, seed)
        return BayesResult(method="map", theta_map=theta_map, samples=None, log_prob=None,
                           diagnostics=None, elapsed=map_time, n_runs=map_runs,
                           sampler="L-BFGS-B on the log posterior", bands=bands,
                           warnings=notes, **common)
    scales = (find_output_scales(bp, fitting.model)
              if opts["moves"] == "de-gibbs" and opts["output_scales"] else ())
    start = initial_walkers(bp, opts["walkers"], rng, center=theta_map)
    bar = _progress(opts["steps"], progress)
    stopper = stopper_for(bp, opts, started)
    try:
        chain = run_mcmc(bp, simulate, start, steps=opts["steps"], seed=seed,
                         moves=opts["moves"], unbounded=opts["unbounded"],
                         on_step=lambda i: bar.update(1),
                         stop_when=stopper, check_every=CHECK_EVERY, scales=scales)
    finally:
        bar.close()
    n = len(chain.samples)
    if opts["until_converged"]:
        burn = (stopper.burn if stopper.burn is not None
                else burn_in(n, lambda d, t: chain.samples[d::t]) if n >= 4 else n // 4)
    else:
        burn = opts["burn"] if n == opts["steps"] else min(opts["burn"], n // 2)
    kept, lp = chain.samples[burn:], chain.log_prob[burn:]
    diag = diagnose(kept, bp.names, chain.acceptance, interrupted=chain.interrupted,
                    stats=stopper.stats_for(n, burn) if stopper else None)
    notes = []
    if not diag.converged:
        notes.append("MCMC not converged: " + "; ".join(diag.problems))
        warnings.warn(notes[-1], SdkitWarning, stacklevel=2)
    if fitting.engine_note:
        notes.append(fitting.engine_note)
    sampler = (f"emcee {chain.moves} move, {opts['walkers']} walkers x {len(chain.samples)} "
               f"steps (burn-in {burn}), vectorized ensemble runs"
               + (" on the native engine" if opts["engine"] == "native" else "")
               + (f"; {describe_scales(scales)}" if scales else "")
               + (f"; {stopper.reason}" if stopper and stopper.reason else ""))
    bands = (() if chain.interrupted  # stopped by the user: no further model runs
             else _bands(bp, kept.reshape(-1, kept.shape[2]), predict, seed))
    return BayesResult(method="mcmc", theta_map=theta_map, samples=kept, log_prob=lp,
                       diagnostics=diag, burn=burn, elapsed=chain.elapsed + map_time,
                       n_runs=chain.n_runs + map_runs, interrupted=chain.interrupted,
                       sampler=sampler, warnings=tuple(notes), bands=bands, **common)
