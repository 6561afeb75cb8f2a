"""Samplers of a :class:`~sdkit.calibration.bayes.BayesProblem`: MCMC and MAP.

* :func:`run_mcmc`: emcee's ensemble sampler with ``vectorize=True`` and
  one of :data:`MOVES`: differential evolution (``"de"``, emcee's
  ``DEMove``), the affine-invariant stretch move (``"stretch"``), DE
  mixed with the DE-snooker update (``"de-snooker"``: each step is a DE
  step with probability 0.8 and a snooker step with 0.2: the snooker
  update of ter Braak & Vrugt 2008, Stat. Comput. 18:435-446, in the
  weights of emcee's "Using different moves" tutorial), or DE on the model
  parameters within Gibbs updates of the noise and pool parameters, which
  need no model run (``"de-gibbs"``, :mod:`sdkit.calibration.gibbs`). emcee moves the
  walkers in groups (two halves; four quarters for a snooker step), each
  group's proposals depending on the others, so every step makes two (or
  four) calls of the log density, each with one group of walkers as the
  rows of ONE ensemble run; there is no Python loop over walkers. Ctrl-C
  stops the run and keeps the chain so far.
* :func:`run_map`: the maximum of the posterior density with bounded
  L-BFGS-B; each gradient is a forward difference whose ``n + 1`` runs go in
  one ensemble.
* :func:`run_lockstep`: several independent posteriors (same model, other
  data, e.g. the replications of a simulation-based calibration check)
  sampled side by side; each round of their log-density calls is one
  ensemble run.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from sdkit.calibration.bayes import BayesProblem
from sdkit.calibration.gibbs import DEGibbsMove
from sdkit.calibration.unbounded import Unbounded
from sdkit.errors import InvalidValueError

__all__ = ["Chain", "run_mcmc", "run_map", "run_lockstep", "initial_walkers", "check_moves",
           "MOVES"]

Simulate = Callable[[np.ndarray], Mapping[str, np.ndarray]]
#: proposal moves: emcee's stretch move, its differential-evolution move, DE mixed
#: with DE-snooker steps (ter Braak & Vrugt 2008), or DE on the model parameters within
#: Gibbs updates of the rest (:mod:`sdkit.calibration.gibbs`)
MOVES = ("stretch", "de", "de-snooker", "de-gibbs")
#: the share of DE steps in the "de-snooker" mixture (emcee's moves tutorial)
DE_SHARE = 0.8
#: the chain's storage grows by at least this many steps at a time
BLOCK = 2000


@dataclass(frozen=True, eq=False)
class Chain:
    """What a sampler run produced (all steps, burn-in included).

    Attributes
    ----------
    samples : ndarray (steps, walkers, ndim)
    log_prob : ndarray (steps, walkers)
    acceptance : ndarray (walkers,)
        Acceptance fraction of each walker.
    n_runs : int
        Model runs made.
    elapsed : float
        Seconds spent sampling.
    interrupted : bool
        Stopped by Ctrl-C before the last step.
    moves : str
    """

    samples: np.ndarray
    log_prob: np.ndarray
    acceptance: np.ndarray
    n_runs: int
    elapsed: float
    interrupted: bool
    moves: str


class _LogProb:
    """emcee's vectorized log density; counts runs and turns Ctrl-C into a flag.

    With `free`, the rows are unbounded coordinates: the density is the
    posterior's at their parameters times the map's Jacobian.
    """

    def __init__(self, bp: BayesProblem, simulate: Simulate, free: Unbounded | None = None,
                 keep: bool = False):
        self.bp = bp
        self.simulate = simulate
        self.free = free
        self.n_runs = 0
        self.interrupted = False
        #: with `keep` (for a move that reuses them): the last call's rows inside the
        #: prior, and their residuals (BayesProblem.log_prob_residuals)
        self.keep = keep
        self.last_ok: np.ndarray | None = None
        self.last_residuals: list | None = None

    def _sim(self, x: np.ndarray) -> Mapping[str, np.ndarray]:
        self.n_runs += len(x)
        return self.simulate(x)

    def __call__(self, theta: np.ndarray) -> np.ndarray:
        if self.interrupted:
            return np.full(len(theta), -np.inf)
        try:
            x = theta if self.free is None else self.free.to_x(theta)
            if self.keep:
                lp, self.last_ok, self.last_residuals = self.bp.log_prob_residuals(x, self._sim)
            else:
                lp = self.bp.log_prob(x, self._sim)
            return lp if self.free is None else lp + self.free.log_jacobian(theta)
        except KeyboardInterrupt:  # the step is rejected; the loop stops after it
            self.interrupted = True
            return np.full(len(theta), -np.inf)


def initial_walkers(bp: BayesProblem, n: int, rng: np.random.Generator, *,
                    center: np.ndarray | None = None, spread: float = 1e-2) -> np.ndarray:
    """Starting points: prior draws, or a small ball around `center` inside the bounds.

    The ball's radius is `spread` times the parameter's prior 90 % width (the
    bounds' span for a bounded parameter without a finite prior width).
    """
    if center is None:
        return bp.sample_prior(rng, n)
    draws = bp.sample_prior(rng, 400)
    width = np.quantile(draws, 0.95, axis=0) - np.quantile(draws, 0.05, axis=0)
    width = np.where(width > 0, width, np.maximum(np.abs(center), 1e-3))
    ball = center + spread * width * rng.standard_normal((n, len(center)))
    eps = 1e-9 * np.maximum(np.abs(bp.lower), 1.0)
    return np.clip(ball, bp.lower + eps, bp.upper - eps)


def check_moves(moves: object, where: str = "") -> str:
    """`moves` if it is one of :data:`MOVES`.

    Raises
    ------
    InvalidValueError
        One line naming `where` (e.g. the spec file), the value and the choices.
    """
    if not isinstance(moves, str) or moves not in MOVES:
        at = f"{where}: " if where else ""
        raise InvalidValueError(f"{at}moves {moves!r} unknown; expected one of "
                                f"{', '.join(map(repr, MOVES))}")
    return moves


def _moves(moves: str, logp: _LogProb, scales=()):
    import emcee  # heavy: only for MCMC

    if moves == "de-gibbs":
        return DEGibbsMove(logp.bp, logp, logp.free, scales=tuple(scales))
    if moves == "stretch":
        return emcee.moves.StretchMove()
    if moves == "de-snooker":
        return [(emcee.moves.DEMove(), DE_SHARE), (emcee.moves.DESnookerMove(), 1 - DE_SHARE)]
    return emcee.moves.DEMove()


def _steps(sampler, state, steps: int):
    """Run `sampler` for `steps` steps from `state`, yielding each step's number.

    emcee allocates a run's whole chain when it starts; here the chain grows
    in blocks (at least :data:`BLOCK` steps, half the chain so far once that
    is more), so a generous step limit stopped early (``until_converged``,
    ``max_seconds``) does not hold memory it never fills. The random state
    carries over from block to block: the draws are those of one run.
    """
    while sampler.iteration < steps:
        block = min(max(BLOCK, sampler.iteration // 2), steps - sampler.iteration)
        run = sampler.sample(state, iterations=block, skip_initial_state_check=True)
        for state in run:  # noqa: B007, B020 - the last state starts the next block
            yield sampler.iteration


def run_mcmc(bp: BayesProblem, simulate: Simulate, start: np.ndarray, *, steps: int,
             seed: int | None = None, moves: str = "de", unbounded: bool = True,
             on_step: Callable[[int], None] | None = None,
             stop_when: Callable[[int, Callable[..., np.ndarray]], bool] | None = None,
             check_every: int = 100, scales=()) -> Chain:
    """Sample the posterior with emcee, all walkers of a half-step in one ensemble run.

    Parameters
    ----------
    bp : BayesProblem
    simulate : callable
        ``simulate(x)``: model parameter rows -> ``{target: (rows, n_times)}``.
    start : ndarray (walkers, ndim)
        Initial walker positions (see :func:`initial_walkers`).
    steps : int
        Steps to take (burn-in included).
    seed : int, optional
    moves : {"stretch", "de", "de-snooker", "de-gibbs"}
        See :data:`MOVES`.
    unbounded : bool, default True
        Propose moves in unbounded coordinates (:mod:`sdkit.calibration.unbounded`);
        the chain is returned in the parameters' own coordinates either way.
    on_step : callable, optional
        Called with the step number after every step (progress bars).
    stop_when : callable, optional
        Called every `check_every` steps with the number of steps taken and a
        function ``chain(discard=0, thin=1)`` that returns the chain so far
        without its first `discard` steps, every `thin`-th step (steps,
        walkers, ndim); sampling stops (not interrupted) when it returns True.
    check_every : int, default 100
    scales : sequence of OutputScale, optional
        With ``moves="de-gibbs"``: output scales it moves along with the
        model parameters (:func:`~sdkit.calibration.scales.find_output_scales`).

    Returns
    -------
    Chain
        On Ctrl-C, the steps completed so far with ``interrupted=True``.
    """
    import emcee  # heavy: only for MCMC

    check_moves(moves)
    if len(scales) and moves != "de-gibbs":
        raise InvalidValueError(f"output scales are moved by moves 'de-gibbs' only, not {moves!r}")
    walkers, ndim = start.shape
    free = Unbounded(bp.lower, bp.upper) if unbounded else None
    logp = _LogProb(bp, simulate, free, keep=moves == "de-gibbs")
    if free is not None:  # a start on a bound would sit at an infinity
        start = free.to_z(free.inside(start, np.random.default_rng(seed)))
    to_x = (lambda z: z) if free is None else free.to_x
    sampler = emcee.EnsembleSampler(walkers, ndim, logp, vectorize=True,
                                    moves=_moves(moves, logp, scales))
    state = emcee.State(start, random_state=np.random.RandomState(seed).get_state())
    started = time.perf_counter()
    interrupted = False
    try:
        for i in _steps(sampler, state, steps):
            if logp.interrupted:
                break
            if on_step is not None:
                on_step(i)
            if stop_when is not None and i % check_every == 0 \
                    and stop_when(i, lambda d=0, t=1: to_x(sampler.get_chain(discard=d, thin=t))):
                break
    except KeyboardInterrupt:
        interrupted = True
    interrupted = interrupted or logp.interrupted
    n = sampler.iteration - (1 if logp.interrupted and sampler.iteration else 0)
    samples = sampler.get_chain()[:n] if n else np.empty((0, walkers, ndim))
    lp = sampler.get_log_prob()[:n] if n else np.empty((0, walkers))
    if free is not None and n:  # the posterior's own density, without the Jacobian
        lp = lp - free.log_jacobian(samples.reshape(-1, ndim)).reshape(lp.shape)
        samples = free.to_x(samples)
    with np.errstate(invalid="ignore"):
        acc = sampler.acceptance_fraction if sampler.iteration else np.zeros(walkers)
    return Chain(samples, lp, np.asarray(acc, float), logp.n_runs,
                 time.perf_counter() - started, interrupted, moves)


def run_map(bp: BayesProblem, simulate: Simulate, x0: np.ndarray, *,
            maxiter: int = 200) -> tuple[np.ndarray, float, int]:
    """Maximum a posteriori: least squares with the prior as a penalty, bounded.

    Returns
    -------
    theta, log_post, n_runs
        The best point, its log posterior density (up to a constant) and
        the model runs made.
    """
    from scipy.optimize import minimize  # heavy: scipy.optimize only for MAP

    counter = _LogProb(bp, simulate)
    eps = 1e-9 * np.maximum(np.abs(bp.lower), 1.0)
    low = np.where(np.isfinite(bp.lower), bp.lower + eps, None)
    high = np.where(np.isfinite(bp.upper), bp.upper - eps, None)
    scale = np.where(np.isfinite(bp.upper - bp.lower), bp.upper - bp.lower,
                     np.maximum(np.abs(x0), 1e-3))

    def fun(x):
        h = 1e-6 * scale
        h = np.where(x + h > bp.upper - eps, -h, h)
        lp = counter(np.vstack([x, x + np.diag(h)]))
        if not np.isfinite(lp[0]):
            return 1e300, np.zeros_like(x)
        grad = np.where(np.isfinite(lp[1:]), (lp[1:] - lp[0]) / h, 0.0)
        return -lp[0], -grad

    best = minimize(fun, np.asarray(x0, float), jac=True, method="L-BFGS-B",
                    bounds=list(zip(low, high)), options={"maxiter": maxiter})
    return best.x, float(-best.fun), counter.n_runs


class _Batcher:
    """Gathers one call from each active client and runs them as one batch."""

    def __init__(self, simulate: Simulate, n_clients: int):
        self.simulate = simulate
        self.active = n_clients
        self.cond = threading.Condition()
        self.pending: dict[int, np.ndarray] = {}
        self.results: dict[int, object] = {}

    def _flush(self) -> None:
        keys = [k for k, x in self.pending.items()]
        sizes = [len(self.pending[k]) for k in keys]
        rows = [self.pending[k] for k in keys if len(self.pending[k])]
        try:
            sims = self.simulate(np.vstack(rows)) if rows else {}
            bounds = np.cumsum([0, *sizes])
            for k, a, b in zip(keys, bounds[:-1], bounds[1:]):
                self.results[k] = {name: v[a:b] for name, v in sims.items()}
        except BaseException as e:  # every waiting client re-raises it
            for k in keys:
                self.results[k] = e
        self.pending.clear()
        self.cond.notify_all()

    def call(self, client: int, x: np.ndarray):
        with self.cond:
            self.pending[client] = x
            if len(self.pending) >= self.active:
                self._flush()
            while client not in self.results:
                self.cond.wait()
            out = self.results.pop(client)
        if isinstance(out, BaseException):
            raise out
        return out

    def done(self) -> None:
        with self.cond:
            self.active -= 1
            if self.pending and len(self.pending) >= self.active:
                self._flush()


def run_lockstep(problems: Sequence[BayesProblem], simulate: Simulate,
                 starts: Sequence[np.ndarray], *, steps: int,
                 seeds: Sequence[int | None], moves: str = "de",
                 unbounded: bool = True) -> list[Chain]:
    """Sample several posteriors of one model side by side, sharing ensemble runs.

    Each posterior runs :func:`run_mcmc` in its own thread; their log-density
    calls meet at a barrier and run as one ensemble through `simulate`. The
    problems must share the model and the targets' times (their data differ).
    """
    batcher = _Batcher(simulate, len(problems))
    chains: list[Chain | BaseException | None] = [None] * len(problems)

    def work(i: int) -> None:
        try:
            chains[i] = run_mcmc(problems[i], lambda x: batcher.call(i, x), starts[i],
                                 steps=steps, seed=seeds[i], moves=moves,
                                 unbounded=unbounded)
        except BaseException as e:  # re-raised in the caller's thread below
            chains[i] = e
        finally:
            batcher.done()

    threads = [threading.Thread(target=work, args=(i,), daemon=True)
               for i in range(len(problems))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for c in chains:
        if isinstance(c, BaseException):
            raise c
    return chains  # type: ignore[return-value]
