"""Convergence checks of an MCMC chain: :func:`diagnose` and :class:`Diagnostics`.

Each parameter must pass, with ArviZ (each emcee walker counted as a chain,
as :func:`arviz.from_emcee` does):

* rank-normalised split R-hat below :data:`RHAT_MAX` (Vehtari et al. 2021);
* bulk and tail effective sample size at least :data:`ESS_MIN`;
* the kept steps at least :data:`TAU_FACTOR` integrated autocorrelation
  times (emcee's advice; Goodman & Weare 2010);

and the mean acceptance fraction must lie within :data:`ACCEPTANCE`. A chain
is "converged" only when every check passes and the run was not
interrupted; otherwise :attr:`Diagnostics.problems` names the failures and the
parameters.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

__all__ = ["Diagnostics", "diagnose", "chain_stats", "split_rhat", "to_inference_data",
           "import_arviz", "autocorr_time", "RHAT_MAX", "ESS_MIN", "TAU_FACTOR", "ACCEPTANCE"]

RHAT_MAX = 1.01
ESS_MIN = 400
TAU_FACTOR = 50
ACCEPTANCE = (0.15, 0.75)


def import_arviz():
    """ArviZ, imported without its FutureWarning about the coming refactor."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        import arviz as az  # heavy: only for posteriors

    return az


def to_inference_data(samples: np.ndarray, names, log_prob: np.ndarray | None = None,
                      attrs: dict | None = None, prior: np.ndarray | None = None):
    """ArviZ InferenceData of `samples` (steps, walkers, ndim) as one variable ``theta``.

    Parameters
    ----------
    samples : ndarray (steps, walkers, ndim)
    names : sequence of str
        Parameter names (the ``parameter`` coordinate).
    log_prob : ndarray (steps, walkers), optional
        Stored as ``sample_stats.lp``.
    attrs : dict, optional
        Attributes of every group (strings and numbers).
    prior : ndarray (draws, ndim), optional
        Prior draws, stored as the ``prior`` group (one chain).
    """
    az = import_arviz()
    coords = {"parameter": list(names)}
    dims = {"theta": ["parameter"]}
    kwargs = {"posterior": {"theta": np.swapaxes(samples, 0, 1)}}
    if log_prob is not None:
        kwargs["sample_stats"] = {"lp": np.swapaxes(log_prob, 0, 1)}
    if prior is not None:
        kwargs["prior"] = {"theta": prior[None, :, :]}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        idata = az.from_dict(**kwargs, coords=coords, dims=dims)
    for group in idata.groups():
        idata[group].attrs.update(attrs or {})
    return idata


@dataclass(frozen=True, eq=False)
class Diagnostics:
    """Convergence statistics, one entry per parameter.

    Attributes
    ----------
    names : tuple of str
    rhat, ess_bulk, ess_tail, tau : ndarray
    acceptance : float
        Mean acceptance fraction over walkers.
    n_steps, n_walkers : int
        Kept steps (after burn-in) and walkers.
    problems : tuple of str
        One line per failed check, naming the parameters.
    """

    names: tuple[str, ...]
    rhat: np.ndarray
    ess_bulk: np.ndarray
    ess_tail: np.ndarray
    tau: np.ndarray
    acceptance: float
    n_steps: int
    n_walkers: int
    problems: tuple[str, ...]

    @property
    def converged(self) -> bool:
        """Every check passed."""
        return not self.problems

    def to_dict(self) -> dict:
        """Plain values for the JSON record."""
        return {"converged": self.converged, "problems": list(self.problems),
                "acceptance_fraction": self.acceptance, "n_steps": self.n_steps,
                "n_walkers": self.n_walkers, "rhat_max": RHAT_MAX, "ess_min": ESS_MIN,
                "parameters": {n: {"rhat": float(r), "ess_bulk": float(b), "ess_tail": float(t),
                                   "autocorr_time": float(a)}
                               for n, r, b, t, a in zip(self.names, self.rhat, self.ess_bulk,
                                                        self.ess_tail, self.tau)}}


def autocorr_time(samples: np.ndarray, c: float = 5.0) -> np.ndarray:
    """emcee's integrated autocorrelation time (steps) per parameter of `samples`
    (steps, walkers, ndim); NaN where it cannot be estimated.

    The estimate of :func:`emcee.autocorr.integrated_time` (``tol=0``): the
    walkers' mean normalised autocorrelation function, summed up to Sokal's
    window (the first lag ``M >= c * tau(M)``). emcee computes it one walker
    and parameter at a time (a Fourier transform each: 2,432 for IIS); this
    does all walkers of a parameter in one transform (scipy's, on every
    CPU), which the stopper's frequent screens need.
    ``tests/calibration/test_diagnostics.py`` checks that the two agree.
    """
    from scipy import fft  # heavy: only for MCMC

    steps, _, ndim = samples.shape
    out = np.full(ndim, np.nan)
    if steps < 2:
        return out
    # zero-padded to at least 2 steps - 1: the linear autocorrelation, as emcee's
    # padding to twice the next power of two gives, in a shorter transform
    size = fft.next_fast_len(2 * steps - 1, real=True)
    lags = np.arange(steps)
    with np.errstate(divide="ignore", invalid="ignore"):
        for d in range(ndim):
            y = samples[:, :, d] - samples[:, :, d].mean(axis=0)
            f = fft.rfft(y, n=size, axis=0, workers=-1)
            acf = fft.irfft(f * np.conjugate(f), n=size, axis=0, workers=-1)[:steps]
            taus = 2.0 * np.cumsum((acf / acf[0]).mean(axis=1)) - 1.0
            inside = lags < c * taus
            out[d] = taus[int(np.argmin(inside)) if inside.any() else steps - 1]
    return out


def _failing(names, bad: np.ndarray) -> str:
    shown = [n for n, b in zip(names, bad) if b]
    return ", ".join(shown[:8]) + (f" and {len(shown) - 8} more" if len(shown) > 8 else "")


def split_rhat(samples: np.ndarray) -> np.ndarray:
    """Classic split R-hat per parameter, the larger of the draws' and the folded
    draws' (``|x - median|``): numpy moments, no ranks.

    A cheap screen, not a check: :func:`diagnose` uses ArviZ's rank-normalised
    R-hat, which costs a sort of every parameter's draws. For a posterior
    without heavy tails the two agree closely; the stopper
    (:mod:`sdkit.calibration.stopping`) uses this one only to decide when the
    ArviZ checks are worth running.

    Parameters
    ----------
    samples : ndarray (steps, walkers, ndim)
    """
    steps = samples.shape[0]
    h = steps // 2
    if h < 2:
        return np.full(samples.shape[2], np.nan)
    halves = (samples[:h], samples[steps - h:])
    median = np.median(samples[::max(1, steps // 200)], axis=(0, 1))  # of 200 steps: a centre

    def rhat(parts) -> np.ndarray:
        means = np.concatenate([q.mean(axis=0) for q in parts])  # (chains, ndim)
        within = np.concatenate([q.var(axis=0, ddof=1) for q in parts]).mean(axis=0)
        between = means.var(axis=0, ddof=1)  # B / n
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.sqrt(((h - 1) / h * within + between) / within)

    return np.fmax(rhat(halves), rhat([np.abs(q - median) for q in halves]))


def chain_stats(samples: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Rank-normalised split R-hat, bulk and tail ESS (ArviZ) and the autocorrelation
    time per parameter of `samples` (steps, walkers, ndim); NaN below 4 steps."""
    ndim = samples.shape[2]
    if samples.shape[0] < 4:
        nan = np.full(ndim, np.nan)
        return nan, nan, nan, nan
    az = import_arviz()
    idata = to_inference_data(samples, [str(i) for i in range(ndim)])
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        rhat = az.rhat(idata, method="rank")["theta"].to_numpy()
        bulk = az.ess(idata, method="bulk")["theta"].to_numpy()
        tail = az.ess(idata, method="tail")["theta"].to_numpy()
    return rhat, bulk, tail, autocorr_time(samples)


def diagnose(samples: np.ndarray, names, acceptance: np.ndarray, *,
             interrupted: bool = False, stats: tuple | None = None) -> Diagnostics:
    """Check the kept part of a chain (burn-in already removed).

    Parameters
    ----------
    samples : ndarray (steps, walkers, ndim)
    names : sequence of str
    acceptance : ndarray (walkers,)
    interrupted : bool
        The run was stopped early: never converged.
    stats : tuple, optional
        :func:`chain_stats` of `samples`, when already computed (they cost a
        sort and a Fourier transform of every parameter's draws).
    """
    names = tuple(names)
    steps, walkers, ndim = samples.shape
    rhat, bulk, tail, tau = chain_stats(samples) if stats is None else stats
    acc = float(np.mean(acceptance)) if len(acceptance) else float("nan")
    problems = []
    if interrupted:
        problems.append(f"interrupted after {steps} kept steps")
    checks = ((~(rhat < RHAT_MAX), f"R-hat >= {RHAT_MAX}"),
              (~(bulk >= ESS_MIN), f"bulk ESS < {ESS_MIN}"),
              (~(tail >= ESS_MIN), f"tail ESS < {ESS_MIN}"),
              (~(steps >= TAU_FACTOR * tau), f"fewer than {TAU_FACTOR} autocorrelation "
                                             "times kept"))
    for bad, what in checks:
        if bad.any():
            problems.append(f"{what}: {_failing(names, bad)}")
    if not ACCEPTANCE[0] <= acc <= ACCEPTANCE[1]:
        problems.append(f"acceptance fraction {acc:.3f} outside {ACCEPTANCE}")
    return Diagnostics(names, rhat, bulk, tail, tau, acc, steps, walkers, tuple(problems))
