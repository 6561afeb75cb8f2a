"""Draw parameter sets from a :class:`~sdkit.scenarios.uncertainty.ParameterUncertainty`.

Uniform within bounds (no covariance); with a covariance, the truncated
multivariate normal by rejection, a Gaussian copula, or Gibbs sampling
(see :func:`sample_parameters`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sdkit.errors import InvalidValueError

__all__ = ["sample_parameters", "SAMPLING", "GIBBS_SWEEPS", "MIN_ACCEPTANCE"]


def _rng(seed: int | np.random.Generator | None) -> np.random.Generator:
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(seed)


SAMPLING = ("auto", "rejection", "copula", "gibbs")

#: Gibbs sweeps per member (each member is its own chain started at the central values)
GIBBS_SWEEPS = 100

#: below this acceptance rate of a first rejection round, "auto" switches to the copula
MIN_ACCEPTANCE = 0.05


def _copula(unc, n: int, rng: np.random.Generator) -> np.ndarray:
    from scipy.stats import norm, truncnorm  # heavy: scipy.stats only when sampling
    """Gaussian copula: normal dependence, each marginal a normal truncated to its bounds."""

    sd = unc.stderr
    safe = np.where(sd > 0, sd, 1.0)
    corr = unc.cov / np.outer(safe, safe)
    corr[sd == 0, :] = 0
    corr[:, sd == 0] = 0
    np.fill_diagonal(corr, 1.0)
    z = rng.multivariate_normal(np.zeros(len(sd)), corr, size=n, method="eigh",
                                check_valid="ignore")
    u = np.clip(norm.cdf(z), 1e-12, 1 - 1e-12)
    a = (unc.lower - unc.mean) / safe
    b = (unc.upper - unc.mean) / safe
    values = truncnorm.ppf(u, a, b, loc=unc.mean, scale=safe)
    fixed = np.clip(unc.mean, unc.lower, unc.upper)
    values = np.where(sd > 0, values, fixed)
    bad = ~np.all(np.isfinite(values), axis=0)
    if bad.any():
        raise InvalidValueError(f"sample_parameters: cannot sample {unc.names[np.argmax(bad)]!r} "
                                "within its bounds (check its value, bounds and stderr)")
    return values


def _gibbs(unc, n: int, rng: np.random.Generator,
           sweeps: int = GIBBS_SWEEPS) -> np.ndarray:
    """Truncated multivariate normal by Gibbs sampling, `n` chains in parallel.

    Each chain starts at the central values (inside the bounds) and updates
    one parameter at a time from its conditional normal given the others,
    truncated to its bounds; the state after `sweeps` sweeps is the member.
    Parameters with zero variance, and parameters whose central value lies
    on a bound (an active constraint of the fit, where the normal
    approximation does not hold), are held at their value: the others are
    drawn conditional on them.
    """
    from scipy.stats import truncnorm  # heavy: scipy.stats only when sampling


    sd = unc.stderr
    x = np.tile(np.clip(unc.mean, unc.lower, unc.upper), (n, 1))
    free = np.nonzero(sd > 0)[0]
    if free.size == 0:
        return x
    s = sd[free]
    corr = unc.cov[np.ix_(free, free)] / np.outer(s, s)
    w, v = np.linalg.eigh(corr)
    w = np.maximum(w, 1e-12 * w.max())  # a near-singular fit: no division by ~0
    prec = ((v / w) @ v.T) / np.outer(s, s)
    mu, lo, hi = unc.mean[free], unc.lower[free], unc.upper[free]
    span = hi - lo
    on_bound = (mu - lo <= 1e-6 * span) | (hi - mu <= 1e-6 * span)
    dev = x[:, free] - mu
    for _ in range(sweeps):
        for k in np.nonzero(~on_bound)[0]:
            qkk = prec[k, k]
            m = -(dev @ prec[k] - dev[:, k] * qkk) / qkk
            sdk = 1 / np.sqrt(qkk)
            a = (lo[k] - mu[k] - m) / sdk
            b = (hi[k] - mu[k] - m) / sdk
            dev[:, k] = m + sdk * truncnorm.rvs(a, b, random_state=rng)
    x[:, free] = mu + dev
    return x


def sample_parameters(unc, n: int, *,
                      seed: int | np.random.Generator | None = None,
                      method: str = "auto", max_rounds: int = 100) -> pd.DataFrame:
    """Draw `n` parameter sets.

    With a covariance, ``"rejection"`` draws from the multivariate normal
    and redraws members outside the bounds (the exact truncated normal);
    with many parameters at or near their bounds almost every draw is
    rejected, so ``"auto"`` (the default) switches to ``"copula"`` when a
    first round accepts fewer than 5 %: a Gaussian copula with the fitted
    correlations and normal marginals truncated to each parameter's bounds
    (exact marginals, approximately the fitted dependence). ``"gibbs"``
    draws the truncated multivariate normal by Gibbs sampling (joint
    covariance kept, parameters fitted on a bound held there; see
    :func:`_gibbs`): use it for a calibration whose parameters are strongly
    correlated, where the copula's marginals lose the combinations the data
    pin down. Without a covariance, parameters are uniform within their
    bounds.

    Parameters
    ----------
    unc : ParameterUncertainty
    n : int
        Number of members (> 0).
    seed : int, Generator or None
        Same seed, same samples.
    method : {"auto", "rejection", "copula", "gibbs"}
    max_rounds : int, default 100
        Rejection rounds before giving up.

    Returns
    -------
    pandas.DataFrame
        ``n`` rows (index ``member`` 0..n-1), one column per parameter;
        ``attrs["sampling"]`` names the method used.

    Raises
    ------
    InvalidValueError
        Bad `n` or `method`, or (``"rejection"``) fewer than `n` draws inside
        the bounds after `max_rounds`.
    """
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n <= 0:
        raise InvalidValueError(f"'n' must be a positive integer: {n!r}")
    if method not in SAMPLING:
        raise InvalidValueError(f"method must be one of {', '.join(SAMPLING)}: {method!r}")
    rng = _rng(seed)
    k = len(unc.names)
    if unc.cov is None:
        values, used = rng.uniform(unc.lower, unc.upper, size=(n, k)), "uniform"
    elif method == "copula":
        values, used = _copula(unc, n, rng), "copula"
    elif method == "gibbs":
        values, used = _gibbs(unc, n, rng), "gibbs"
    else:
        values, used = np.empty((n, k)), "rejection"
        todo = np.arange(n)
        for round_ in range(max_rounds):
            draw = rng.multivariate_normal(unc.mean, unc.cov, size=todo.size,
                                           method="eigh", check_valid="ignore")
            ok = np.all((draw >= unc.lower) & (draw <= unc.upper), axis=1)
            if round_ == 0 and method == "auto" and ok.mean() < MIN_ACCEPTANCE:
                values, used = _copula(unc, n, rng), "copula"
                break
            values[todo[ok]] = draw[ok]
            todo = todo[~ok]
            if todo.size == 0:
                break
        else:
            raise InvalidValueError(
                f"sample_parameters: {todo.size} of {n} draws still outside the bounds after "
                f"{max_rounds} rounds; the covariance is too wide for the bounds of "
                f"{', '.join(unc.names)} (use method='copula')"
            )
    out = pd.DataFrame(values, columns=list(unc.names), index=pd.RangeIndex(n, name="member"))
    out.attrs["sampling"] = used
    return out
