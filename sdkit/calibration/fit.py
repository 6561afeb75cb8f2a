"""Fitting methods and the front door :func:`calibrate`.

Three methods, all bounded:

* ``"least_squares"``: :func:`scipy.optimize.least_squares` (trust-region
  reflective) from the initial guesses.
* ``"differential_evolution"``: :func:`scipy.optimize.differential_evolution`
  on the payoff (``workers`` processes), then a least-squares polish.
* ``"multistart"``: least squares from the initial guess and from
  Latin-hypercube starts (:class:`scipy.stats.qmc.LatinHypercube`).

A progress bar shows evaluations and the running best payoff. Ctrl-C stops a
fit cleanly: the result holds the best point seen so far and says it was
interrupted.
"""

from __future__ import annotations

import multiprocessing
import os
import time
import warnings
from collections.abc import Mapping

import numpy as np

from sdkit.calibration.objective import Objective
from sdkit.calibration.problem import METHODS, CalibrationProblem, Target
from sdkit.calibration.result import build_result
from sdkit.calibration.spec import read_problem
from sdkit.errors import DataError, InvalidValueError, SpecError, UnknownVariableError
from sdkit.io.progress import Progress
from sdkit.model.load import Model, load_model
from sdkit.structure.unitexpr import UnitSpace, UnitsSyntaxError

__all__ = ["calibrate", "check_names", "fit_least_squares", "fit_differential_evolution",
           "fit_multistart"]


def _rng(seed) -> np.random.Generator:
    if seed is None:
        return np.random.default_rng()
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise InvalidValueError(f"seed must be an int, a numpy Generator or None: {seed!r}")
    if seed < 0:
        raise InvalidValueError(f"seed must be >= 0: {seed}")
    return np.random.default_rng(int(seed))


def _ls_options(options: Mapping) -> dict:
    return {
        "xtol": float(options.get("xtol", 1e-10)),
        "ftol": float(options.get("ftol", 1e-10)),
        "gtol": float(options.get("gtol", 1e-10)),
        "max_nfev": int(options["max_nfev"]) if "max_nfev" in options else None,
    }


def fit_least_squares(objective: Objective, x0: np.ndarray | None = None,
                      **options) -> np.ndarray:
    """Bounded trust-region least squares from `x0` (default: initial guesses)."""
    from scipy.optimize import least_squares  # heavy: scipy.optimize only when fitting

    problem = objective.problem
    x0 = problem.initial if x0 is None else np.asarray(x0, float)
    fit = least_squares(objective.residuals, x0, jac=lambda x: objective.jacobian(x),
                        bounds=(problem.lower, problem.upper), method="trf",
                        x_scale=problem.upper - problem.lower, **_ls_options(options))
    return fit.x


def fit_multistart(objective: Objective, *, seed=None, n_starts: int = 8,
                   **options) -> np.ndarray:
    """Least squares from the initial guess and `n_starts` - 1 Latin-hypercube starts."""
    from scipy.stats import qmc  # heavy: scipy.stats only for multistart

    problem = objective.problem
    d = len(problem.parameters)
    starts = [problem.initial]
    if n_starts > 1:
        unit = qmc.LatinHypercube(d, rng=_rng(seed)).random(n_starts - 1)
        starts += list(qmc.scale(unit, problem.lower, problem.upper))
    best_x, best = None, np.inf
    for x0 in starts:
        x = fit_least_squares(objective, x0, **options)
        r = objective.residuals(x)
        if float(r @ r) < best:
            best_x, best = x, float(r @ r)
    return best_x


def fit_differential_evolution(objective: Objective, *, seed=None, workers: int = 1,
                               maxiter: int = 100, popsize: int = 15, polish: bool = True,
                               **options) -> np.ndarray:
    """Differential evolution over the bounds, then a least-squares polish.

    When the compiled ensemble engine runs the model, each generation is
    one vectorised ensemble (``vectorized=True``) and `workers` is not
    used; otherwise ``workers > 1`` evaluates the population in that many
    processes (each loads the model once).
    """
    from scipy.optimize import differential_evolution  # heavy: only for this method

    problem = objective.problem
    bounds = list(zip(problem.lower, problem.upper))

    def callback(intermediate_result):  # this name makes scipy pass an OptimizeResult
        if workers > 1:  # evaluations happened in other processes: record the best here
            objective._record(np.asarray(intermediate_result.x, float),
                              float(intermediate_result.fun))
            if objective.on_eval is not None:
                objective.on_eval(0, objective.best_payoff)

    objective.residuals(problem.initial)  # settles which engine runs the model
    vectorized = objective.engine == "auto"
    if vectorized:
        workers = 1
    # Worker processes start from a fork server, not by forking this process: a fork
    # copies locks that other threads hold (BLAS, executors, logging) and can deadlock.
    pool = multiprocessing.get_context("forkserver").Pool(workers) if workers > 1 else None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", category=UserWarning)  # "workers ... updating"
            fit = differential_evolution(
                objective.payoff_vectorized if vectorized else objective.payoff, bounds,
                maxiter=maxiter, popsize=popsize, rng=_rng(seed), polish=False,
                workers=pool.map if pool is not None else 1, x0=problem.initial,
                vectorized=vectorized,
                updating="deferred" if workers > 1 or vectorized else "immediate",
                callback=callback, tol=float(options.get("tol", 1e-6)),
            )
    finally:
        if pool is not None:
            pool.terminate()
            pool.join()
    x = fit.x
    if workers > 1:
        objective.n_evals += int(fit.nfev)  # runs made in the worker processes
    if polish:
        x = fit_least_squares(objective, x, **options)
    return x


def _known(model, name: str, where: str) -> None:
    """Raise UnknownVariableError naming `where` unless ``Name`` / ``Name[e1,e2]`` exists."""
    base, _, rest = name.partition("[")
    try:
        model.py_name(base.strip())
    except UnknownVariableError as e:
        detail = str(e).removeprefix(f"{model.path}: ")
        raise UnknownVariableError(f"{where}: {detail} (in {model.path})") from None
    if not rest:
        return
    dims = model.dims_of(base.strip())
    allowed = {e for d in dims for e in model.subscripts.get(d, [])} | set(dims)
    for element in (e.strip() for e in rest.rstrip().rstrip("]").split(",")):
        if element not in allowed:
            raise UnknownVariableError(
                f"{where}: {element!r} is not an element of {base.strip()!r} "
                f"(elements: {', '.join(sorted(allowed)) or 'none, it is a scalar'})")


def _stateful_kind(model, name: str) -> str | None:
    """``"a stock (INTEG)"`` etc. if `name` is a stateful variable, else None."""
    kind = model.variable(name.partition("[")[0].strip()).kind
    if kind == "stock":
        return "a stock (INTEG)"
    return "a stateful variable (a delay, smooth or the like)" if kind == "stateful" else None


def _model_units(model: Model, name: str) -> str:
    """The units a model variable declares ("" when it declares none)."""
    return (model.variable(name).units or "").strip()


def _check_target_data(model: Model, problem: CalibrationProblem, t: Target,
                       space: UnitSpace) -> None:
    """Observed times inside the run; the data unit equal to the model's (or its total)."""
    ts = model.time_settings
    file = problem.data_path or (t.origin or problem.spec_path).split(": ")[0]
    for when, at in zip(t.times, t.at or ("",) * len(t.times)):
        if not ts.start - 1e-9 <= when <= ts.stop + 1e-9:
            raise DataError(
                f"{file}: {at + ': ' if at else ''}{t.variable} at time {when:g} is outside "
                f"the run of {model.path} ({ts.start:g} to {ts.stop:g}); expected times "
                f"within INITIAL TIME..FINAL TIME")
    if not (problem.check_units and t.unit and t.scale == 1.0):
        return
    base = t.variable.partition("[")[0].strip()
    declared = _model_units(model, base)
    try:
        data_unit, model_unit = space.parse(t.unit), space.parse(declared)
    except UnitsSyntaxError as e:
        raise DataError(f"{file}: {t.at[0] if t.at else 'unit'}: {e}") from None
    if model_unit is None:
        return
    try:  # the total of a flow over one time unit (annual data of a per-year flow)
        total = model_unit * space.parse(ts.units) if ts.units else None
    except UnitsSyntaxError:
        total = None
    if data_unit != model_unit and data_unit != total:
        raise DataError(
            f"{file}: {t.at[0] if t.at else 'unit'}: unit {t.unit!r} of {t.variable} does not "
            f"match the model's units {declared!r} ({model.path}); expected {declared!r}, or "
            "a 'scale' on the target converting the model to the data (or "
            "[data] check_units = false)")


def check_names(problem: CalibrationProblem) -> None:
    """Check a problem against its model, before any run.

    Every name it sets or fits is in the model; no parameter or fixed value
    sets a stock (setting an INTEG replaces it by a constant: the stock no
    longer integrates); the fit window and every observed time lie within
    the model's INITIAL TIME and FINAL TIME (a fit stop after the FINAL TIME
    would be cut silently); a target's data unit (a ``unit`` column) is the
    model variable's units, or those units times the time unit (the total
    of a flow over one time unit), unless the target has a ``scale`` or the
    spec says ``check_units = false``. Units are compared with pint as
    ``sdkit check`` does (:mod:`sdkit.structure.unitexpr`).

    Raises
    ------
    UnknownVariableError
        Naming the spec (or data) file, the parameter, target or fixed
        value, and the unknown name or subscript element (with close names).
    SpecError
        A parameter or fixed value that sets a stock, or a fit start/stop
        outside the model's run, naming the spec file, the key and the
        model's time.
    DataError
        An observed time outside the run, or a unit that differs from the
        model's, naming the data file and line.
    """
    model = load_model(problem.model)
    where = problem.spec_path or problem.model
    for p in problem.parameters:
        _known(model, p.key, f"{where}: parameter {p.name!r}")
    for t in problem.targets:
        _known(model, t.variable, t.origin or f"{where}: target {t.name!r}")
    for name in problem.fixed:
        _known(model, str(name), f"{where}: fixed")
    for label, key in [*((f"parameter {p.name!r}", p.key) for p in problem.parameters),
                       *((f"fixed.{k}", str(k)) for k in problem.fixed)]:
        kind = _stateful_kind(model, key)
        if kind:
            base = key.partition("[")[0].strip()
            raise SpecError(
                f"{where}: {label}: {model.real_name(base)!r} is {kind}; setting it would "
                "replace it by a constant; calibrate the constant its initial value reads "
                f"instead (give the INTEG an initial-value constant in {model.path})")
    ts = model.time_settings
    if problem.stop is not None and problem.stop > ts.stop:
        raise SpecError(f"{where}: fit.stop {problem.stop:g} is after the model's FINAL TIME "
                        f"{ts.stop:g} ({model.path}); expected a stop <= {ts.stop:g}")
    if problem.start is not None and problem.start < ts.start:
        raise SpecError(f"{where}: fit.start {problem.start:g} is before the model's INITIAL "
                        f"TIME {ts.start:g} ({model.path}); expected a start >= {ts.start:g}")
    known = {e for elements in model.subscripts.values() for e in elements}
    for at, label, element, expected in problem.excluded:
        if element not in known:
            raise DataError(f"{at}: unknown {label} {element!r} (expected one of "
                            f"{', '.join(expected)})")
    space = UnitSpace()
    for t in problem.targets:
        _check_target_data(model, problem, t, space)


def _progress_bar(progress: bool | None) -> Progress:
    return Progress(None, desc="calibrate", unit="run", show=progress)  # bar, or log lines


def _check_arguments(method: str, workers, seed) -> None:
    """Refuse a bad method, worker count or seed before any run."""
    if method not in METHODS:
        raise SpecError(f"method {method!r} unknown; expected one of {', '.join(METHODS)}")
    if method in ("map", "mcmc"):  # never fall through to another optimiser
        raise SpecError(f"method {method!r} is Bayesian: run it with "
                        "sdkit.calibration.bayes_fit.calibrate_bayes (or sdkit calibrate)")
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise InvalidValueError(f"workers must be an integer >= 1: {workers!r}")
    if seed is not None:
        _rng(seed)


def _run_method(objective: Objective, method: str, seed, workers: int, opts: dict) -> None:
    if method == "least_squares":
        fit_least_squares(objective, **opts)
    elif method == "multistart":
        n_starts = int(opts.pop("n_starts", 8))
        fit_multistart(objective, seed=seed, n_starts=n_starts, **opts)
    else:
        de = {k: opts.pop(k) for k in ("maxiter", "popsize") if k in opts}
        fit_differential_evolution(objective, seed=seed, workers=workers, **de, **opts)


def calibrate(problem: CalibrationProblem | str | os.PathLike, *, method: str | None = None,
              seed: int | np.random.Generator | None = None, workers: int = 1,
              progress: bool | None = None, profile: bool = True, engine: str = "auto",
              **options):
    """Fit a model's free parameters to observed data.

    Parameters
    ----------
    problem : CalibrationProblem or path-like
        The problem, or a TOML spec for :func:`read_problem`.
    method : str, optional
        ``"least_squares"``, ``"differential_evolution"`` or
        ``"multistart"``; default: the problem's method.
    seed : int, numpy.random.Generator or None
        For the stochastic methods; the same seed gives the same parameters.
    workers : int, default 1
        Processes for differential evolution.
    progress : bool, optional
        False hides progress; by default a bar on a terminal, else a line on
        stderr every few seconds (:class:`sdkit.io.progress.Progress`).
    profile : bool, default True
        Compute profile-likelihood intervals for parameters marked ``profile``.
    engine : {"auto", "pysd"}, default "auto"
        Run batches with the compiled ensemble engine when it compiles the
        model (much faster), or always with PySD.
    **options
        Method options, over the problem's ``options``: ``max_nfev``,
        ``xtol``, ``ftol``, ``n_starts``, ``maxiter``, ``popsize``.

    Returns
    -------
    CalibrationResult

    Raises
    ------
    SpecError
        Unknown method; a target the model does not produce; a parameter or
        fixed value that sets a stock; a fit window outside the model's
        INITIAL TIME..FINAL TIME (see :func:`check_names`).
    UnknownVariableError
        A parameter, target or fixed name (or subscript element) the model
        does not define (checked before the first run).
    DataError
        An observed time outside the run or a data unit that is not the
        model's (see :func:`check_names`).

    Examples
    --------
    >>> result = calibrate("calibration/iis.toml", method="least_squares")  # doctest: +SKIP
    >>> print(result.summary())  # doctest: +SKIP
    """
    if not isinstance(problem, CalibrationProblem):
        problem = read_problem(problem)
    method = method or problem.method
    _check_arguments(method, workers, seed)
    unseen = [p.name for p in problem.parameters if p.prior_only]
    if unseen:
        raise SpecError(f"{problem.spec_path or 'problem'}: parameter(s) {', '.join(unseen)} "
                        f"are prior_only (no fitted point depends on them): {method} cannot "
                        "fit them; use method = \"mcmc\", which draws them from their prior")
    seed_value = seed if seed is None or isinstance(seed, int | np.integer) else None
    opts = {**problem.options, **options}
    bar = _progress_bar(progress)

    def on_eval(n_runs: int, best: float) -> None:
        bar.update(n_runs)
        bar.set_postfix(best=f"{best:.4g}", refresh=False)

    check_names(problem)
    objective = Objective(problem, on_eval=on_eval, engine=engine)
    objective.residuals(problem.initial)  # fail early on a bad target or model
    started = time.perf_counter()
    interrupted = False
    try:
        _run_method(objective, method, seed, workers, opts)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        bar.close()
    elapsed = time.perf_counter() - started
    return build_result(objective, objective.best_x, method=method, seed=seed_value,
                        elapsed=elapsed, interrupted=interrupted,
                        profile=profile and not interrupted)
