"""Quantile bands and peak statistics of an ensemble (``(member, time, ...)`` Datasets).

SALib style, the analysis half of Monte Carlo: :mod:`sdkit.scenarios.uncertainty`
samples and runs, this module summarises::

    ens = monte_carlo(model, unc, outputs=["Infected"], members=200, seed=1)
    q = bands(ens)                                   # 5-50-95 % along "quantile"
    peak_probability(ens["Infected"], before=30)     # share of members peaking before 30
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import xarray as xr

from sdkit.analysis.indicators import peak_status, peak_year

__all__ = ["QUANTILES", "bands", "peak_probability", "future_peak_shares", "peak_years",
           "at_times"]

#: the reported quantiles (5-50-95 %)
QUANTILES = (0.05, 0.5, 0.95)


def bands(ds, *, quantiles: Sequence[float] = QUANTILES, dim: str = "member"):
    """Quantiles across members for every output variable (``param:*`` are dropped).

    Returns
    -------
    xarray.Dataset
        Same variables with `dim` replaced by ``quantile``.
    """
    keep = [v for v in ds.data_vars if not str(v).startswith("param:")]
    return ds[keep].quantile(list(quantiles), dim=dim)


def peak_probability(series, *, before: float, dim: str = "member",
                     start: float | None = None):
    """Share of members whose series peaks strictly before time `before`.

    A member's peak is the time of its maximum (from `start` on); a series
    still at its maximum at the last time has not peaked and counts as "not
    before".

    Parameters
    ----------
    series : xarray.DataArray
        Dimensions ``(member, time, ...)``.
    before : float
    start : float, optional
        Ignore times before this (e.g. the projection start).

    Returns
    -------
    xarray.DataArray
        Probability in [0, 1] for each remaining coordinate.
    """
    years = peak_year(series, start=start)
    return (years < before).mean(dim)


def future_peak_shares(series, *, before: float, last_observed: float, dim: str = "member"):
    """Shares of members that peak in the projection before `before`, and that had already
    peaked by `last_observed` (the two never overlap; see :func:`peak_status`).

    Returns
    -------
    xarray.Dataset
        ``peak_before``: share whose maximum over the projection years lies
        before `before` and is above every history value; ``already_peaked``:
        share whose history maximum is not exceeded later.
    """
    st = peak_status(series, last_observed=last_observed)
    future = (~st["already_peaked"]) & (st["year"] < before)
    return xr.Dataset({"peak_before": future.mean(dim),
                       "already_peaked": st["already_peaked"].mean(dim)})


def peak_years(ds, variables: Sequence[str], *, start: float | None = None) -> pd.DataFrame:
    """Peak time of each variable for every member (NaN: still at its maximum at the end).

    Returns
    -------
    pandas.DataFrame
        Tidy: ``variable``, the Dataset's non-time dimensions, ``peak_time``.
    """
    frames = []
    for name in variables:
        years = peak_year(ds[name], start=start)
        f = years.to_dataframe(name="peak_time").reset_index()
        f.insert(0, "variable", name)
        frames.append(f)
    return pd.concat(frames, ignore_index=True)


def at_times(ds, times: Sequence[float] | None):
    """`ds` at the given times only (all times when `times` is empty or None)."""
    if not times:
        return ds
    return ds.sel(time=list(times))
