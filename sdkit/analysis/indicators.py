"""Indicators computed from model output or data tables.

* :func:`peak_year`, :func:`peak`: when a series peaks and at what level.
* :func:`peak_status`: the peak over projection years only, and whether the
  series had already peaked by the last observed year (kept separate);
  :func:`peak_status_values` on plain arrays (no xarray object, so no dask import).
* :func:`intensity_reduction`: carbon-intensity reduction against a base year;
  :func:`intensity_reduction_vs_2005` adds the 2005 framing of China's NDC
  under a stated assumption (the data start in 2010).
* :func:`minmax_benchmarks`: fixed min-max benchmarks from a stated reference
  set, so that normalised indices can differ between scenarios.
* :func:`coupling_coordination`: coupling C, development T and coordination
  D = sqrt(C T) of n normalised subsystem indices.
* :func:`krugman_index`, :func:`krugman_pairwise`: the relative
  specialization index of Zhao, Wu & Qin (2023), equation (1).

Functions take ``xarray.DataArray`` (dimension ``time`` plus any others),
``pandas`` tables or arrays as stated, and never change their inputs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd
import xarray as xr

from sdkit.errors import DataError, InvalidValueError

__all__ = [
    "peak_year", "peak", "peak_status", "peak_status_values", "PeakStatus", "intensity_reduction",
    "intensity_reduction_vs_2005", "ASSUMPTION_2005", "normalise", "minmax_benchmarks",
    "coupling_coordination",
    "krugman_index", "krugman_pairwise",
]

#: Hubei's reported CO2-intensity decline, about 5.5 %/yr over 2012-2021
#: (Hubei Development and Reform Commission, 2022; see ``../shared/MODEL.md``).
HUBEI_ANNUAL_DECLINE = 0.055

ASSUMPTION_2005 = (
    "ASSUMPTION: the data start in 2010, so 2005 carbon intensity is not observed. "
    "It is back-cast as I(2005) = I(2010) / (1 - d)^5 with d = {d:.1%}/yr, Hubei's "
    "reported average decline for 2012-2021 (Hubei DRC, 2022), applied to 2005-2010. "
    "Reductions 'vs 2005' are therefore indicative, not observed."
)


def _select_from(da, start: float | None, time_dim: str):
    return da if start is None else da.sel({time_dim: da[time_dim] >= start})


def _top(values: np.ndarray) -> np.ndarray:
    """Where each row is largest along the last axis, NaN counted as -inf."""
    return np.argmax(np.where(np.isnan(values), -np.inf, values), axis=-1)


def _peak_years(values: np.ndarray, times: np.ndarray) -> np.ndarray:
    """Time of each row's maximum (:func:`_top`); NaN where it is the last time."""
    idx = _top(values)
    return np.where(idx == values.shape[-1] - 1, np.nan, times[idx])


def _on_time_axis(da, time_dim: str, fn, attrs: str) -> list:
    """`fn(values, times)` (time on the last axis) on a DataArray: each array it returns
    becomes a DataArray over `da`'s other dimensions, with the attributes xarray's own
    reductions keep: the time coordinate's (``"t"`` in `attrs`) or `da`'s (``"v"``)."""
    rest = da.isel({time_dim: 0}, drop=True)
    out = fn(da.transpose(..., time_dim).to_numpy(), da[time_dim].to_numpy())
    return [xr.DataArray(np.asarray(a), dims=rest.dims, coords=rest.coords,
                         attrs=(da[time_dim] if kind == "t" else da).attrs)
            for a, kind in zip(out, attrs, strict=True)]


def peak_year(da, *, start: float | None = None, time_dim: str = "time"):
    """Time at which `da` is largest along `time_dim`; NaN if still at its maximum at the end.

    Parameters
    ----------
    da : xarray.DataArray
    start : float, optional
        Only consider times >= `start`.

    Returns
    -------
    xarray.DataArray
        `da` without `time_dim`.
    """
    da = _select_from(da, start, time_dim)
    if da.sizes[time_dim] < 2:
        raise InvalidValueError(f"peak_year: need at least two times along {time_dim!r}")
    return _on_time_axis(da, time_dim, lambda v, t: [_peak_years(v, t)], "t")[0].rename(time_dim)


def peak(da, *, start: float | None = None, time_dim: str = "time"):
    """Peak year and peak level of `da` (see :func:`peak_year`).

    Returns
    -------
    xarray.Dataset
        ``year`` (NaN where not peaked within the horizon) and ``level``
        (the maximum over the considered times).
    """
    sel = _select_from(da, start, time_dim)
    return xr.Dataset({"year": peak_year(sel, time_dim=time_dim),
                       "level": sel.max(time_dim)})


class PeakStatus(NamedTuple):
    """:func:`peak_status_values`' result: arrays over all but the time axis."""

    year: np.ndarray
    level: np.ndarray
    already_peaked: np.ndarray
    historical_peak_year: np.ndarray


def peak_status_values(values, times, *, last_observed: float,
                       time_dim: str = "time") -> PeakStatus:
    """:func:`peak_status` on plain arrays, without building an xarray object: its fields
    as a :class:`PeakStatus` of arrays (NumPy scalars for 1-D `values`; maxima skip NaN).

    `values` has time on its last axis, `times` is 1-D; `time_dim` names it in the error.
    """
    values, times = np.asarray(values), np.asarray(times)
    in_hist, in_proj = times <= last_observed, times > last_observed
    if in_hist.sum() < 2 or in_proj.sum() < 2:
        raise InvalidValueError(f"peak_status: need at least two times on each side of "
                                f"{last_observed:g} along {time_dim!r}")
    hist, proj = values[..., in_hist], values[..., in_proj]
    level = np.fmax.reduce(proj, axis=-1)
    return PeakStatus(year=_peak_years(proj, times[in_proj]), level=level,
                      already_peaked=np.fmax.reduce(hist, axis=-1) >= level,
                      historical_peak_year=times[in_hist][_top(hist)])


def peak_status(da, *, last_observed: float, time_dim: str = "time"):
    """Peak over the projection years, kept apart from a peak already in the history.

    Parameters
    ----------
    da : xarray.DataArray
        A series with history and projection (e.g. emissions 2010-2060).
    last_observed : float
        Last year of the history (e.g. the last data year, 2021). Projection
        years are the times after it.

    Returns
    -------
    xarray.Dataset
        ``year``: year of the maximum over the projection years (NaN when the
        series is still at its maximum at the end, i.e. no peak within the
        horizon); ``level``: that maximum; ``already_peaked``: True where the
        history's maximum is not exceeded in any projection year (the series
        peaked in the history, or at its last year, and falls from there);
        ``historical_peak_year``: the year of the history's maximum.

    Raises
    ------
    InvalidValueError
        Fewer than two history or two projection times.
    """  # the work: peak_status_values on da's values
    fields = _on_time_axis(da, time_dim, lambda v, t: peak_status_values(
        v, t, last_observed=last_observed, time_dim=time_dim), "tvvt")
    return xr.Dataset(dict(zip(PeakStatus._fields, fields)))


def _at(da, year: float, time_dim: str):
    times = da[time_dim].to_numpy()
    if not np.any(np.isclose(times, year)):
        raise InvalidValueError(f"no time {year:g} in the series (times {times[0]:g}-"
                                f"{times[-1]:g}); save results every year")
    return da.sel({time_dim: year}, method="nearest").drop_vars(time_dim)


def intensity_reduction(intensity, *, base_year: float, years: Sequence[float] | None = None,
                        time_dim: str = "time"):
    """Fractional reduction ``1 - I(t) / I(base_year)`` (0.4 = 40 % below the base year).

    Parameters
    ----------
    intensity : xarray.DataArray
    base_year : float
    years : sequence of float, optional
        Keep only these times (default: all).
    """
    base = _at(intensity, base_year, time_dim)
    out = 1 - intensity / base
    if years is not None:
        out = out.sel({time_dim: list(years)})
    return out


def intensity_reduction_vs_2005(intensity, *, first_year: float = 2010,
                                annual_decline: float = HUBEI_ANNUAL_DECLINE,
                                years: Sequence[float] | None = None, time_dim: str = "time",
                                observed_2005=None):
    """Reduction against the 2005 level: observed where given, else back-cast.

    Back-cast (see :data:`ASSUMPTION_2005`):
    ``I(2005) = I(first_year) / (1 - annual_decline) ** (first_year - 2005)``.

    Parameters
    ----------
    observed_2005 : xarray.DataArray, optional
        Observed 2005 intensities (same units, the other dimensions of
        `intensity`, NaN where not observed). Where a value is given it is
        used; elsewhere the back-cast.

    Returns
    -------
    xarray.DataArray
        ``attrs["assumption"]`` states the back-cast; ``attrs["basis"]`` maps
        each element (or ``"all"`` for a series without other dimensions) to
        ``"observed"`` or ``"back-cast"``.
    """
    if not 0 <= annual_decline < 1:
        raise InvalidValueError(f"'annual_decline' must be in [0, 1): {annual_decline}")
    i2005 = _at(intensity, first_year, time_dim) / (1 - annual_decline) ** (first_year - 2005)
    observed = None
    if observed_2005 is not None:
        observed = observed_2005.notnull()
        if np.any((observed_2005.where(observed) <= 0).fillna(False)):
            raise InvalidValueError("observed 2005 intensities must be > 0")
        i2005 = observed_2005.where(observed, i2005)
    out = 1 - intensity / i2005
    if years is not None:
        out = out.sel({time_dim: list(years)})
    out.attrs["assumption"] = ASSUMPTION_2005.format(d=annual_decline)
    dims = [d for d in i2005.dims]
    if len(dims) == 1:
        flags = (observed.to_numpy() if observed is not None
                 else np.zeros(i2005.sizes[dims[0]], bool))
        out.attrs["basis"] = {str(k): ("observed" if f else "back-cast")
                              for k, f in zip(i2005[dims[0]].to_numpy(), flags)}
    else:
        flag = bool(observed.all()) if observed is not None else False
        out.attrs["basis"] = {"all": "observed" if flag else "back-cast"}
    return out


def normalise(values, lower, upper, *, positive: bool = True):
    """Min-max normalisation to [0, 1] (clipped); ``positive=False`` reverses the scale.

    Raises
    ------
    InvalidValueError
        If ``upper <= lower``.
    """
    lower, upper = np.asarray(lower, dtype=float), np.asarray(upper, dtype=float)
    if np.any(upper <= lower):
        raise InvalidValueError(f"normalise: upper must exceed lower: {lower} .. {upper}")
    scaled = (np.asarray(values, dtype=float) - lower) / (upper - lower)
    if not positive:
        scaled = 1 - scaled
    return np.clip(scaled, 0.0, 1.0)


def minmax_benchmarks(reference, *, lower_fraction: float = 1.0, upper_multiple: float = 1.0):
    """Fixed lower and upper benchmarks from a stated reference set, for :func:`normalise`.

    The coupling-coordination literature min-max normalises each indicator;
    normalising a run against its own range makes every scenario span [0, 1]
    and hides their differences. Fixing the benchmarks once, from a stated
    reference set (e.g. the regions' values in a base year), keeps scenarios
    comparable: ``lower = lower_fraction * min(reference)``,
    ``upper = upper_multiple * max(reference)``.

    Parameters
    ----------
    reference : array-like
        The reference values (finite, at least two distinct).
    lower_fraction, upper_multiple : float
        Widen the range below the smallest and above the largest value.

    Returns
    -------
    tuple of float
        ``(lower, upper)`` with ``lower < upper``.

    Raises
    ------
    InvalidValueError
        Non-finite or empty reference, negative factors, or a degenerate range.
    """
    ref = np.asarray(reference, dtype=float).ravel()
    if ref.size == 0 or not np.all(np.isfinite(ref)):
        raise InvalidValueError("minmax_benchmarks: reference must be finite and non-empty")
    if lower_fraction < 0 or upper_multiple <= 0:
        raise InvalidValueError(f"minmax_benchmarks: lower_fraction must be >= 0 and "
                                f"upper_multiple > 0: {lower_fraction}, {upper_multiple}")
    lower, upper = lower_fraction * float(ref.min()), upper_multiple * float(ref.max())
    if not lower < upper:
        raise InvalidValueError(f"minmax_benchmarks: degenerate range {lower} .. {upper}")
    return lower, upper


def coupling_coordination(indices, *, weights: Sequence[float] | None = None, axis: int = -1):
    """Coupling C, development T and coordination D of n subsystem indices.

    With ``U_1..U_n`` in [0, 1] along `axis`::

        C = n * (prod U_i) ** (1/n) / sum U_i      (1 when all equal, 0 if any is 0)
        T = sum w_i U_i                            (weights sum to 1; default equal)
        D = sqrt(C * T)

    Parameters
    ----------
    indices : array-like
        Normalised subsystem indices, subsystems along `axis`.
    weights : sequence of float, optional

    Returns
    -------
    tuple of numpy.ndarray
        ``(C, T, D)``, each with `axis` removed. Where all indices are 0,
        C is defined as 0.

    Raises
    ------
    InvalidValueError
        Indices outside [0, 1], or weights of the wrong length or not summing to 1.
    """
    u = np.moveaxis(np.asarray(indices, dtype=float), axis, -1)
    n = u.shape[-1]
    if n < 2:
        raise InvalidValueError(f"coupling_coordination: need >= 2 subsystems, got {n}")
    if np.any(~np.isfinite(u)) or np.any(u < 0) or np.any(u > 1):
        raise InvalidValueError("coupling_coordination: indices must be finite and in [0, 1]; "
                                "normalise them first")
    w = np.full(n, 1 / n) if weights is None else np.asarray(weights, dtype=float)
    if w.shape != (n,) or not np.isclose(w.sum(), 1) or np.any(w < 0):
        raise InvalidValueError(f"weights must be {n} non-negative numbers summing to 1: "
                                f"{weights}")
    total = u.sum(axis=-1)
    geo = np.prod(u, axis=-1) ** (1 / n)
    with np.errstate(invalid="ignore", divide="ignore"):
        c = np.where(total > 0, n * geo / np.where(total > 0, total, 1), 0.0)
    t = u @ w
    return c, t, np.sqrt(c * t)


def _shares(table: pd.DataFrame) -> pd.DataFrame:
    if not isinstance(table, pd.DataFrame) or table.empty:
        raise DataError("expected a non-empty region x industry table (rows regions)")
    values = table.astype(float)
    if values.isna().to_numpy().any() or (values.to_numpy() < 0).any():
        raise DataError("region x industry table: values must be non-negative numbers "
                        "with no gaps")
    totals = values.sum(axis=1)
    if (totals <= 0).any():
        raise DataError(f"region(s) with zero total output: {list(totals.index[totals <= 0])}")
    return values


def krugman_index(table: pd.DataFrame) -> pd.Series:
    """Relative specialization of each region against the rest (paper's equation 1).

    ``K_i = sum_k | s_i^k - sbar_i^k |`` with ``s_i^k = E_i^k / sum_k E_i^k``
    (region i's share of industry k) and ``sbar_i^k = sum_{j != i} E_j^k /
    sum_k sum_{j != i} E_j^k`` (the same share in all other regions
    together). 0 = identical structure, 2 = no industry in common.

    Parameters
    ----------
    table : pandas.DataFrame
        Output (or value added) with regions as rows and industries as
        columns (three sectors or e.g. 36 industries).

    Returns
    -------
    pandas.Series
        One value per region.

    Raises
    ------
    DataError
        Fewer than two regions, gaps, negative values or an empty region.
    """
    values = _shares(table)
    if len(values) < 2:
        raise DataError("krugman_index: need at least two regions")
    own = values.div(values.sum(axis=1), axis=0)
    rest = values.sum(axis=0) - values  # row i: sum over j != i
    rest_totals = rest.sum(axis=1)
    if (rest_totals <= 0).any():
        raise DataError("krugman_index: the other regions have zero total output")
    rest_shares = rest.div(rest_totals, axis=0)
    return (own - rest_shares).abs().sum(axis=1).rename("krugman_index")


def krugman_pairwise(table: pd.DataFrame) -> pd.DataFrame:
    """Pairwise index ``K_ij = sum_k | s_i^k - s_j^k |`` between every two regions."""
    values = _shares(table)
    shares = values.div(values.sum(axis=1), axis=0).to_numpy()
    k = np.abs(shares[:, None, :] - shares[None, :, :]).sum(axis=-1)
    return pd.DataFrame(k, index=values.index, columns=values.index)
