"""Sensitivity indices from sampled runs (the analysis half; SALib ``analyze``).

:mod:`sdkit.scenarios.sensitivity` describes the factors, samples them and
runs the model; this module turns the runs into scalar outcomes and ranks
the factors for each::

    factors = [Factor("Contact Infectivity", 0.2, 0.4), Factor("Duration", 4, 8)]
    outcomes = [Outcome("peak infected", "Infected", statistic="max"),
                Outcome("infected at day 30", "Infected", year=30)]
    result = sensitivity_analysis(model, factors, outcomes, method="sobol", n=64, seed=1)
    result.to_frame()            # one row per (outcome, factor), with rank

Costs: Sobol' (Saltelli scheme, first and total order) needs ``n * (k + 2)``
runs for ``k`` factors, ``n`` a power of two; Morris needs ``n * (k + 1)``.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sdkit.analysis.indicators import peak_year
from sdkit.errors import InvalidValueError
from sdkit.model.load import Model
from sdkit.scenarios.sensitivity import Factor, problem, run_factor_samples

__all__ = ["Outcome", "SensitivityResult", "outcome_values", "analyze", "sensitivity_analysis",
           "STATISTICS"]

STATISTICS = ("value", "ratio", "cumulative", "peak_year", "max", "min")


@dataclass(frozen=True)
class Outcome:
    """A scalar computed from a run, summed over every non-time dimension (e.g. regions).

    statistic:
        ``"value"`` at `year`; ``"ratio"`` of `variable` to `denominator` at
        `year`; ``"cumulative"`` sum of saved values from `start` to `stop`;
        ``"peak_year"`` time of the maximum from `start` on (the last time if
        still rising); ``"max"``/``"min"`` over `start`..`stop`.
    """

    name: str
    variable: str
    statistic: str = "value"
    year: float | None = None
    start: float | None = None
    stop: float | None = None
    denominator: str | None = None
    units: str = ""

    def __post_init__(self):
        if self.statistic not in STATISTICS:
            raise InvalidValueError(f"outcome {self.name!r}: statistic must be one of "
                                    f"{', '.join(STATISTICS)}: {self.statistic!r}")
        if self.statistic in ("value", "ratio") and self.year is None:
            raise InvalidValueError(f"outcome {self.name!r}: {self.statistic!r} needs 'year'")
        if self.statistic == "ratio" and not self.denominator:
            raise InvalidValueError(f"outcome {self.name!r}: 'ratio' needs 'denominator'")

    @property
    def variables(self) -> tuple[str, ...]:
        """The model variables the outcome reads."""
        return (self.variable,) + ((self.denominator,) if self.denominator else ())

    @property
    def times(self) -> tuple[float, ...]:
        """The times the outcome names (to check against the run)."""
        return tuple(t for t in (self.year, self.start, self.stop) if t is not None)


def _total(ds, name: str):
    da = ds[name]
    extra = [d for d in da.dims if d not in ("time", "member")]
    return da.sum(extra) if extra else da


def _window(da, start: float | None, stop: float | None):
    t = da["time"]
    mask = (t >= (-np.inf if start is None else start)) & (t <= (np.inf if stop is None else stop))
    return da.sel(time=mask)


def outcome_values(ds, outcomes: Sequence[Outcome]) -> pd.DataFrame:
    """Evaluate `outcomes` on a ``(member, time, ...)`` Dataset: one column per outcome."""
    cols = {}
    for o in outcomes:
        missing = [v for v in o.variables if v not in ds]
        if missing:
            raise InvalidValueError(f"outcome {o.name!r}: no variable {missing[0]!r} in results "
                                    f"(have {', '.join(map(str, ds.data_vars))})")
        total = _total(ds, o.variable)
        if o.statistic == "value":
            val = total.sel(time=o.year)
        elif o.statistic == "ratio":
            val = total.sel(time=o.year) / _total(ds, o.denominator).sel(time=o.year)
        elif o.statistic == "cumulative":
            val = _window(total, o.start, o.stop).sum("time")
        elif o.statistic in ("max", "min"):
            val = getattr(_window(total, o.start, o.stop), o.statistic)("time")
        else:
            val = peak_year(total, start=o.start).fillna(float(total["time"][-1]))
        cols[o.name] = val.to_numpy()
    return pd.DataFrame(cols, index=pd.Index(ds["member"].to_numpy(), name="member"))


@dataclass(frozen=True)
class SensitivityResult:
    """Indices for every (outcome, factor) pair.

    Attributes
    ----------
    method : str
        ``"sobol"`` or ``"morris"``.
    table : pandas.DataFrame
        Columns ``outcome, factor, label, index, index_conf, rank`` plus the
        method's own columns (``S1, S1_conf, ST, ST_conf`` or ``mu_star,
        mu_star_conf, sigma``). ``index`` is ST (Sobol') or mu* scaled by the
        outcome's standard deviation (Morris); rank 1 = most influential.
    n : int
        Base sample size.
    runs : int
        Model runs made.
    seed : int or None
    """

    method: str
    table: pd.DataFrame
    n: int
    runs: int
    seed: int | None

    def to_frame(self) -> pd.DataFrame:
        """A copy of the ranked table."""
        return self.table.copy()

    def summary(self, top: int = 3) -> str:
        """The `top` factors for each outcome, one line per outcome."""
        lines = []
        for outcome, grp in self.table.groupby("outcome", sort=False):
            best = grp.sort_values("rank").head(top)
            items = ", ".join(f"{r.label} ({r.index:.2f})" for r in best.itertuples())
            lines.append(f"{outcome}: {items}")
        return "\n".join(lines)


def _indices(method: str, prob: dict, x: np.ndarray, y: np.ndarray,
             seed: int | None) -> dict:
    k = prob["num_vars"]
    if np.ptp(y) == 0:  # a constant outcome: no factor matters
        zeros = np.zeros(k)
        if method == "sobol":
            return {"S1": zeros, "S1_conf": zeros, "ST": zeros, "ST_conf": zeros}
        return {"mu_star": zeros, "mu_star_conf": zeros, "sigma": zeros}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if method == "sobol":
            from SALib.analyze import sobol  # heavy: SALib only when indices are computed

            res = sobol.analyze(prob, y, calc_second_order=False, seed=seed,
                                print_to_console=False)
            keys = ("S1", "S1_conf", "ST", "ST_conf")
        else:
            from SALib.analyze import morris  # heavy: SALib only when indices are computed

            res = morris.analyze(prob, x, y, seed=seed, print_to_console=False)
            keys = ("mu_star", "mu_star_conf", "sigma")
    return {key: np.asarray(res[key], dtype=float) for key in keys}


def analyze(factors: Sequence[Factor], outcomes: Sequence[Outcome], samples: pd.DataFrame,
            ds, *, method: str = "sobol", n: int, seed: int | None = None
            ) -> SensitivityResult:
    """Rank `factors` for each outcome from the sampled runs.

    Parameters
    ----------
    factors : sequence of Factor
    outcomes : sequence of Outcome
    samples : pandas.DataFrame
        The sample (one row a member, one column a factor), as
        :func:`sdkit.scenarios.sensitivity.run_factor_samples` returns it.
    ds : xarray.Dataset
        The runs, ``(member, time, ...)``.
    method : {"sobol", "morris"}
    n : int
        Base sample size (recorded in the result).
    seed : int or None

    Returns
    -------
    SensitivityResult
    """
    prob = problem(factors)
    names = [f.name for f in factors]
    x = samples[names].to_numpy()
    y = outcome_values(ds, outcomes)
    labels = {f.name: f.label or f.name for f in factors}
    rows = []
    for o in outcomes:
        frame = pd.DataFrame(_indices(method, prob, x, y[o.name].to_numpy(), seed))
        frame.insert(0, "factor", names)
        frame.insert(0, "outcome", o.name)
        frame.insert(2, "label", [labels[nm] for nm in names])
        if method == "sobol":
            frame["index"], frame["index_conf"] = frame["ST"], frame["ST_conf"]
        else:
            sd = float(np.std(y[o.name])) or 1.0
            frame["index"], frame["index_conf"] = frame["mu_star"] / sd, frame["mu_star_conf"] / sd
        frame["rank"] = frame["index"].rank(ascending=False, method="min").astype(int)
        rows.append(frame)
    return SensitivityResult(method=method, table=pd.concat(rows, ignore_index=True), n=n,
                             runs=len(x), seed=seed)


def sensitivity_analysis(
    model: Model | str | os.PathLike,
    factors: Sequence[Factor],
    outcomes: Sequence[Outcome],
    *,
    method: str = "sobol",
    n: int = 16,
    seed: int | None = None,
    params: Mapping[str, object] | None = None,
    saveper: float = 1.0,
    engine: str = "auto",
    progress: bool = False,
) -> SensitivityResult:
    """Sample `factors`, run the model, and rank factors for each outcome (one call).

    Parameters are those of :func:`sdkit.scenarios.sensitivity.run_factor_samples`
    plus `outcomes`.

    Returns
    -------
    SensitivityResult

    Raises
    ------
    InvalidValueError
        Unknown method, fewer than two factors, duplicate factors, or a bad `n`.
    """
    outputs = list(dict.fromkeys(v for o in outcomes for v in o.variables))
    samples, ds = run_factor_samples(model, factors, outputs=outputs, method=method, n=n,
                                     seed=seed, params=params, saveper=saveper, engine=engine,
                                     progress=progress)
    return analyze(factors, outcomes, samples, ds, method=method, n=n, seed=seed)
