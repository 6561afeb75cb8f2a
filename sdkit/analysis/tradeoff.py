"""Changes against a baseline: totals, cumulative sums, synergy, paired ensemble changes.

The numbers behind a trade-off view of policy levers, for any model::

    tot = total(ds["Output"])                           # summed over every non-time dim
    d = change(tot, baseline="baseline")                 # scenario x time, absolute
    synergy(d.sel(time=2035), ["a", "b"], "a_and_b")     # combination - sum of singles
    paired_change(ens_lever["Output"], ens_base["Output"])   # member by member

Functions take ``xarray.DataArray`` with dimensions ``scenario``/``member``,
``time`` and any others, and never change their inputs.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from sdkit.errors import InvalidValueError

__all__ = ["total", "cumulative", "weighted_mean", "change", "synergy", "paired_change",
           "sign_shares"]

_KEEP = ("scenario", "time", "member", "quantile")


def total(da, *, keep: Sequence[str] = _KEEP):
    """`da` summed over every dimension not in `keep` (e.g. over cities)."""
    extra = [d for d in da.dims if d not in keep]
    return da.sum(extra) if extra else da


def cumulative(da, *, start: float, stop: float | None = None, time_dim: str = "time"):
    """Sum of the saved values from `start` to `stop` (inclusive; yearly saves = a yearly sum).

    Raises
    ------
    InvalidValueError
        No saved time in the window.
    """
    t = da[time_dim]
    inside = (t >= start) if stop is None else (t >= start) & (t <= stop)
    if not bool(inside.any()):
        raise InvalidValueError(f"cumulative: no saved time from {start:g}"
                                + ("" if stop is None else f" to {stop:g}"))
    return da.sel({time_dim: inside}).sum(time_dim)


def weighted_mean(share, weight, *, keep: Sequence[str] = _KEEP):
    """``sum(share * weight) / sum(weight)`` over the dimensions not in `keep`.

    E.g. a cost given as a share of each city's output, as a share of the
    cluster's output.
    """
    return total(share * weight, keep=keep) / total(weight, keep=keep)


def change(da, *, baseline: str = "baseline", relative: bool = False, dim: str = "scenario"):
    """Change of every scenario against `baseline` (absolute, or relative: 0.1 = +10 %).

    Raises
    ------
    InvalidValueError
        No `baseline` along `dim`.
    """
    names = [str(s) for s in da[dim].to_numpy()]
    if baseline not in names:
        raise InvalidValueError(f"change: no scenario {baseline!r} (have {', '.join(names)})")
    base = da.sel({dim: baseline})
    return (da / base - 1) if relative else (da - base)


def synergy(deltas, singles: Sequence[str], combination: str, *, dim: str = "scenario"):
    """``delta(combination) - sum(delta(single))``: > 0 super-additive, < 0 sub-additive.

    `deltas` are changes against a common baseline (absolute, or relative to
    the same baseline: both are additive).
    """
    return deltas.sel({dim: combination}) - deltas.sel({dim: list(singles)}).sum(dim)


def paired_change(scenario, baseline, *, relative: bool = False, dim: str = "member"):
    """Member-by-member change of `scenario` against `baseline` (the same parameter draws).

    Raises
    ------
    InvalidValueError
        The two ensembles have different members.
    """
    a, b = scenario[dim].to_numpy(), baseline[dim].to_numpy()
    if a.shape != b.shape or not np.array_equal(a, b):
        raise InvalidValueError(f"paired_change: the ensembles have different {dim}s")
    return (scenario / baseline - 1) if relative else (scenario - baseline)


def sign_shares(values, *, dim: str = "member") -> tuple[float, float]:
    """Shares of members with a value below and above zero."""
    v = np.asarray(values.transpose(dim, ...).to_numpy(), dtype=float)
    return float(np.mean(v < 0)), float(np.mean(v > 0))
