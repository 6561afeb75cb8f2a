"""Monte Carlo over parameter uncertainty: sample, run, summarise.

Describe, then sample, then run, SALib style::

    unc = ParameterUncertainty.from_covariance(names, mean, cov, lower=lo, upper=hi)
    table = sample_parameters(unc, 1000, seed=1)          # DataFrame, one row a member
    ens = monte_carlo(model, unc, outputs=["Infected"], members=1000, seed=1)

Quantile bands and peak statistics of the runs are analysis
(:mod:`sdkit.analysis.bands`).

Samples from a covariance are multivariate normal truncated to the bounds
by rejection (redrawing only the rejected rows), or, when rejection would
discard nearly everything (many parameters near their bounds), a Gaussian
copula with truncated-normal marginals; interval-only parameters are drawn
uniformly between their bounds. ``method="gibbs"`` draws the truncated
multivariate normal itself by Gibbs sampling, conditional on the parameters
fitted on a bound: it keeps the joint (Jacobian-based) covariance of a
calibration, so members stay as close to the data as the fit says.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sdkit.edit.cin import read_cin
from sdkit.errors import InvalidValueError, SpecError
from sdkit.model.load import Model, load_model
from sdkit.scenarios.projection import provenance, run_members

__all__ = ["ParameterUncertainty", "sample_parameters", "monte_carlo", "read_parameters",
           "SAMPLING"]


def _vector(values, n: int, *, what: str, fill: float) -> np.ndarray:
    if values is None:
        return np.full(n, fill)
    out = np.asarray(values, dtype=float).reshape(-1)
    if out.shape != (n,):
        raise InvalidValueError(f"{what} must have {n} values, got {out.size}")
    return out


@dataclass(frozen=True)
class ParameterUncertainty:
    """Uncertain parameters: central values, covariance (optional) and bounds.

    Attributes
    ----------
    names : tuple of str
        Model constants (``"Name"`` or ``"Name[elem]"``).
    mean : numpy.ndarray
        Central (fitted) values.
    cov : numpy.ndarray or None
        Covariance matrix; None means sample uniformly within the bounds.
    lower, upper : numpy.ndarray
        Bounds (``-inf``/``inf`` when open; both finite when `cov` is None).
    source : str
        Where the description came from (file name), for provenance.
    """

    names: tuple[str, ...]
    mean: np.ndarray
    cov: np.ndarray | None
    lower: np.ndarray
    upper: np.ndarray
    source: str = ""

    def __post_init__(self):
        n = len(self.names)
        if n == 0:
            raise InvalidValueError("ParameterUncertainty: no parameters")
        if len(set(self.names)) != n:
            raise InvalidValueError(f"ParameterUncertainty: duplicate names in {self.names}")
        for what in ("mean", "lower", "upper"):
            v = getattr(self, what)
            if np.shape(v) != (n,):
                raise InvalidValueError(f"ParameterUncertainty.{what} must have {n} values")
        bad = np.nonzero(~(self.lower <= self.upper))[0]
        if bad.size:
            i = bad[0]
            raise InvalidValueError(f"{self.names[i]!r}: lower bound {self.lower[i]} is above "
                                    f"upper bound {self.upper[i]}")
        if self.cov is None:
            open_ = np.nonzero(~(np.isfinite(self.lower) & np.isfinite(self.upper)))[0]
            if open_.size:
                raise InvalidValueError(f"{self.names[open_[0]]!r}: sampling without a "
                                        "covariance needs finite lower and upper bounds")
        else:
            if np.shape(self.cov) != (n, n):
                raise InvalidValueError(f"ParameterUncertainty.cov must be {n}x{n}, "
                                        f"got {np.shape(self.cov)}")
            if not np.all(np.isfinite(self.cov)) or np.any(np.diag(self.cov) < 0):
                raise InvalidValueError("ParameterUncertainty.cov must be finite with a "
                                        "non-negative diagonal")

    @property
    def stderr(self) -> np.ndarray:
        """Standard errors (square roots of the covariance diagonal; NaN without one)."""
        if self.cov is None:
            return np.full(len(self.names), np.nan)
        return np.sqrt(np.diag(self.cov))

    def to_frame(self) -> pd.DataFrame:
        """One row a parameter: value, stderr, lower, upper."""
        return pd.DataFrame({"value": self.mean, "stderr": self.stderr, "lower": self.lower,
                             "upper": self.upper}, index=pd.Index(self.names, name="parameter"))

    @classmethod
    def from_covariance(cls, names: Sequence[str], mean, cov, *, lower=None, upper=None,
                        source: str = "") -> ParameterUncertainty:
        """Multivariate normal around `mean` with covariance `cov`, truncated to bounds."""
        n = len(names)
        return cls(tuple(names), _vector(mean, n, what="mean", fill=np.nan),
                   np.asarray(cov, dtype=float), _vector(lower, n, what="lower", fill=-np.inf),
                   _vector(upper, n, what="upper", fill=np.inf), source)

    @classmethod
    def from_intervals(cls, intervals: Mapping[str, tuple[float, float]], *,
                       mean: Mapping[str, float] | None = None,
                       source: str = "") -> ParameterUncertainty:
        """Uniform between bounds: ``{"Name": (low, high)}``; `mean` defaults to midpoints."""
        names = tuple(intervals)
        lo = np.array([float(intervals[k][0]) for k in names])
        hi = np.array([float(intervals[k][1]) for k in names])
        mid = np.array([float((mean or {}).get(k, (a + b) / 2)) for k, a, b in zip(names, lo, hi)])
        return cls(names, mid, None, lo, hi, source)

    @classmethod
    def from_result(cls, result) -> ParameterUncertainty:
        """From a :class:`sdkit.calibration.CalibrationResult`: fitted values,
        covariance from standard errors and correlations, the problem's bounds.

        Parameters whose standard error is not finite (not identified) are
        held at their fitted value (zero variance); ``source`` says which.
        """
        params = list(result.problem.parameters)
        names = [p.key for p in params]
        sd = np.array([float(result.stderr.get(p.name, np.nan)) for p in params])
        fixed = [p.name for p, s in zip(params, sd) if not np.isfinite(s)]
        sd = np.where(np.isfinite(sd), sd, 0.0)
        corr = np.eye(len(params))
        frame = getattr(result, "correlation", None)
        if frame is not None and len(frame):
            order = [p.name for p in params]
            corr = frame.reindex(index=order, columns=order).to_numpy(dtype=float)
            corr = np.where(np.isfinite(corr), corr, 0.0)
            np.fill_diagonal(corr, 1.0)
        note = "calibration result" + (f"; held fixed (no stderr): {', '.join(fixed)}"
                                       if fixed else "")
        return cls.from_covariance(names, result.x, corr * np.outer(sd, sd),
                                   lower=[p.lower for p in params],
                                   upper=[p.upper for p in params], source=note)

    @classmethod
    def from_record(cls, path: str | os.PathLike) -> ParameterUncertainty:
        """Read a calibration record (JSON).

        The record :func:`sdkit.calibration.write_outputs` writes:
        ``parameters`` maps each parameter name to ``{"variable", "value",
        "stderr", "lower", "upper"}`` (a list of such tables with a ``name``
        works too); an optional ``covariance`` (square list of lists, same
        order) or ``correlation`` (``{name: {name: r}}``) adds correlations.
        Without either, parameters are independent normals with their
        standard errors; a parameter without a standard error is held at its
        value (zero variance), and `source` says so.

        Raises
        ------
        SpecError
            Unreadable file or missing keys, naming the file and key.
        """
        path = Path(path)
        try:
            rec = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            raise SpecError(f"{path}: cannot read calibration record: {e}") from e
        params = rec.get("parameters") if isinstance(rec, Mapping) else None
        if isinstance(params, Mapping):
            params = [{"name": k, **v} for k, v in params.items() if isinstance(v, Mapping)]
        if not isinstance(params, list) or not params:
            raise SpecError(f"{path}: parameters: expected a non-empty table of "
                            "{variable, value, stderr, lower, upper}")

        def num(value, default):
            return default if value is None else float(value)

        try:
            keys = [str(p["name"]) for p in params]
            names = [str(p.get("variable") or p["name"]) for p in params]
            mean = [float(p["value"]) for p in params]
            lower = [num(p.get("lower"), -np.inf) for p in params]
            upper = [num(p.get("upper"), np.inf) for p in params]
            stderr = np.array([num(p.get("stderr"), np.nan) for p in params])
        except (KeyError, TypeError, ValueError) as e:
            raise SpecError(f"{path}: parameters: each needs a name and a numeric value: "
                            f"{e}") from e
        fixed = [k for k, sd in zip(keys, stderr) if not np.isfinite(sd)]
        note = str(path) + (f"; held fixed (no stderr): {', '.join(fixed)}" if fixed else "")
        try:
            if rec.get("covariance") is not None:
                cov = np.asarray(rec["covariance"], dtype=float)
            else:
                sd = np.where(np.isfinite(stderr), stderr, 0.0)
                corr = np.eye(len(keys))
                table = rec.get("correlation")
                if isinstance(table, Mapping):
                    for i, a in enumerate(keys):
                        for j, b in enumerate(keys):
                            r = (table.get(a) or {}).get(b)
                            if i != j and r is not None and np.isfinite(r):
                                corr[i, j] = float(r)
                cov = corr * np.outer(sd, sd)
            return cls.from_covariance(names, mean, cov, lower=lower, upper=upper, source=note)
        except (InvalidValueError, TypeError, ValueError) as e:
            raise SpecError(f"{path}: {e}") from e


def _rng(seed: int | np.random.Generator | None) -> np.random.Generator:
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(seed)


SAMPLING = ("auto", "rejection", "copula", "gibbs")

#: Gibbs sweeps per member (each member is its own chain started at the central values)
GIBBS_SWEEPS = 100

#: below this acceptance rate of a first rejection round, "auto" switches to the copula
MIN_ACCEPTANCE = 0.05


def _copula(unc: ParameterUncertainty, n: int, rng: np.random.Generator) -> np.ndarray:
    """Gaussian copula: normal dependence, each marginal a normal truncated to its bounds."""
    from scipy.stats import norm, truncnorm

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


def _gibbs(unc: ParameterUncertainty, n: int, rng: np.random.Generator,
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
    from scipy.stats import truncnorm

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


def sample_parameters(unc: ParameterUncertainty, n: int, *,
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


def monte_carlo(
    model: Model | str | os.PathLike,
    unc: ParameterUncertainty,
    *,
    outputs: Sequence[str],
    members: int = 1000,
    seed: int | np.random.Generator | None = None,
    params: Mapping[str, object] | None = None,
    saveper: float = 1.0,
    engine: str = "auto",
    executor=None,
    progress: bool = False,
    sampling: str = "auto",
):
    """Run `members` simulations with parameters drawn from `unc`.

    Parameters
    ----------
    model : Model or path-like
    unc : ParameterUncertainty
    outputs : sequence of str
    members : int, default 1000
    seed : int, Generator or None
    params : mapping, optional
        Fixed constants for every member (e.g. a scenario's levers); the
        sampled parameters win over them.
    saveper, engine, executor, progress
        As for :func:`sdkit.scenarios.projection.run_members` (``engine``:
        ``"auto"``, ``"fast"`` or ``"pysd"``; ``executor``: where members run,
        Dask included).
    sampling : {"auto", "rejection", "copula", "gibbs"}
        The `method` of :func:`sample_parameters`.

    Returns
    -------
    xarray.Dataset
        Dimensions ``(member, time, ...)``; the sampled values are data
        variables ``param:<name>`` with dimension ``member``.
    """
    if not isinstance(model, Model):
        model = load_model(model)
    table = sample_parameters(unc, members, seed=seed, method=sampling)
    ds = run_members(model, table, outputs=outputs, base=params, saveper=saveper,
                     engine=engine, executor=executor,
                     progress=progress, desc="Monte Carlo")
    for col in table.columns:
        ds[f"param:{col}"] = ("member", table[col].to_numpy())
    ds.attrs.update(provenance(model, seed=seed if not isinstance(seed, np.random.Generator)
                               else "generator", parameters=unc.source, members=members,
                               sampling=table.attrs.get("sampling", "")))
    return ds


def read_parameters(path: str | os.PathLike | None) -> dict[str, float]:
    """Read fitted parameters from a ``.cin`` file or a calibration record (``.json``).

    ``None`` gives ``{}`` (the model's own values).

    Raises
    ------
    SpecError
        Unknown suffix or a record without fitted values.
    """
    if path is None:
        return {}
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".cin":
        return dict(read_cin(path))
    if suffix == ".json":
        unc = ParameterUncertainty.from_record(path)
        return dict(zip(unc.names, map(float, unc.mean)))
    raise SpecError(f"{path}: expected a .cin file or a calibration record (.json)")
