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

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sdkit.calibration.posterior import PosteriorDraws, read_posterior
from sdkit.edit.cin import read_cin
from sdkit.errors import InvalidValueError, SpecError
from sdkit.io.calibration_record import read_calibration_record
from sdkit.model.load import Model, load_model
from sdkit.scenarios.projection import provenance, run_members
from sdkit.scenarios.sampling import SAMPLING, sample_parameters

__all__ = ["ParameterUncertainty", "sample_parameters", "monte_carlo", "read_parameters",
           "read_uncertainty", "SAMPLING"]


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

        The record :func:`sdkit.workflow.calibration.write_outputs` writes, read by
        :func:`sdkit.io.calibration_record.read_calibration_record`:
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
        rec = read_calibration_record(path, error=SpecError)  # the one reader
        keys = [p["name"] for p in rec.parameters]
        names = [p["variable"] for p in rec.parameters]
        mean = [p["value"] for p in rec.parameters]
        lower = [p["lower"] for p in rec.parameters]
        upper = [p["upper"] for p in rec.parameters]
        stderr = np.array([p["stderr"] for p in rec.parameters])
        fixed = [k for k, sd in zip(keys, stderr) if not np.isfinite(sd)]
        note = str(path) + (f"; held fixed (no stderr): {', '.join(fixed)}" if fixed else "")
        try:
            if rec.get("covariance") is not None:
                cov = np.asarray(rec.get("covariance"), dtype=float)
            else:
                corr = rec.correlation()
                corr = np.eye(len(keys)) if corr is None else corr
                sd = np.where(np.isfinite(stderr), stderr, 0.0)
                cov = corr * np.outer(sd, sd)
            return cls.from_covariance(names, mean, cov, lower=lower, upper=upper, source=note)
        except (InvalidValueError, TypeError, ValueError) as e:
            raise SpecError(f"{path}: {e}") from e


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
    unc : ParameterUncertainty or PosteriorDraws
        A posterior (:func:`read_uncertainty`) gives its own draws of all
        fitted parameters (``attrs["sampling"] == "posterior"``); it must
        come from this model (same sha256).
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
    if isinstance(unc, PosteriorDraws):  # MCMC posterior: its draws, all parameters
        table = unc.table(members, seed=seed, model_sha256=model.sha256)
    else:
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


def read_uncertainty(path: str | os.PathLike) -> ParameterUncertainty | PosteriorDraws:
    """Parameter uncertainty of a calibration record (``calibration.json``).

    The posterior draws when the record names a posterior file (MCMC) that
    sits beside it; else the Jacobian-covariance description
    (:meth:`ParameterUncertainty.from_record`).
    """
    path = Path(path)
    rec = read_calibration_record(path, error=SpecError)
    posterior = rec.get("posterior_file")
    if isinstance(posterior, str) and (path.parent / posterior).is_file():
        return read_posterior(path.parent / posterior)
    return ParameterUncertainty.from_record(path)


def read_parameters(path: str | os.PathLike | None) -> dict[str, float]:
    """Read fitted parameters from a ``.cin`` file or a calibration record (``.json``).

    ``None`` gives ``{}`` (the model's own values). A record's ``fixed``
    constants (the calibration spec's ``[fixed]`` table, which the fit
    assumed) come first, then the fitted values.

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
        rec = read_calibration_record(path, error=SpecError)
        fixed = rec.get("fixed") or {}
        if not isinstance(fixed, Mapping) or not all(
                isinstance(v, int | float) and not isinstance(v, bool) for v in fixed.values()):
            raise SpecError(f"{path}: fixed: expected a table of name = number, got {fixed!r}")
        fitted = {p["variable"]: p["value"] for p in rec.parameters}
        return {**{str(k): float(v) for k, v in fixed.items()}, **fitted}
    raise SpecError(f"{path}: expected a .cin file or a calibration record (.json)")
