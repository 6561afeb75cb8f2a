"""Global sensitivity of headline outcomes to levers and parameters (SALib).

Describe the factors and outcomes, then sample, run and analyse::

    factors = [Factor("Lever green transition", 0, 1), Factor("Growth rate[Yichang]", .04, .08)]
    outcomes = [Outcome("GDP 2035", "GDP", statistic="value", year=2035),
                Outcome("cumulative CO2", "CO2 emissions", statistic="cumulative",
                        start=2021, stop=2060)]
    result = sensitivity_analysis(model, factors, outcomes, method="sobol", n=16, seed=1)
    result.to_frame()            # one row per (outcome, factor), with rank

Costs: Sobol' (Saltelli scheme, first and total order) needs ``n * (k + 2)``
runs for ``k`` factors, ``n`` a power of two; Morris needs ``n * (k + 1)``.
Defaults are small (``n = 16``) so a report builds in minutes; raise `n` for
confidence intervals narrow enough to separate close factors.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sdkit.errors import InvalidValueError
from sdkit.model.load import Model, load_model

__all__ = ["Factor", "Outcome", "SensitivityResult", "outcome_values", "sensitivity_analysis",
           "METHODS", "STATISTICS"]

METHODS = ("sobol", "morris")
STATISTICS = ("value", "ratio", "cumulative", "peak_year")


@dataclass(frozen=True)
class Factor:
    """An input varied uniformly between `lower` and `upper` (a model constant)."""

    name: str
    lower: float
    upper: float
    label: str = ""

    def __post_init__(self):
        if not (np.isfinite(self.lower) and np.isfinite(self.upper)) or self.upper <= self.lower:
            raise InvalidValueError(f"factor {self.name!r}: need finite lower < upper, got "
                                    f"{self.lower} .. {self.upper}")


@dataclass(frozen=True)
class Outcome:
    """A scalar computed from a run, summed over every non-time dimension (e.g. cities).

    statistic:
        ``"value"`` at `year`; ``"ratio"`` of `variable` to `denominator` at
        `year` (e.g. emissions / GDP); ``"cumulative"`` sum of yearly values
        from `start` to `stop`; ``"peak_year"`` year of the maximum from
        `start` on (the last year if still rising).
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
        return (self.variable,) + ((self.denominator,) if self.denominator else ())


def _total(ds, name: str):
    da = ds[name]
    extra = [d for d in da.dims if d not in ("time", "member")]
    return da.sum(extra) if extra else da


def outcome_values(ds, outcomes: Sequence[Outcome]) -> pd.DataFrame:
    """Evaluate `outcomes` on a ``(member, time, ...)`` Dataset: one column per outcome."""
    from sdkit.indicators import peak_year

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
            t = total["time"]
            mask = (t >= (o.start if o.start is not None else -np.inf)) & (
                t <= (o.stop if o.stop is not None else np.inf))
            val = total.sel(time=mask).sum("time")
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


def _problem(factors: Sequence[Factor]) -> dict:
    return {"num_vars": len(factors), "names": [f.name for f in factors],
            "bounds": [[f.lower, f.upper] for f in factors]}


def _sample(method: str, problem: dict, n: int, seed: int | None) -> np.ndarray:
    if method == "sobol":
        from SALib.sample import sobol

        return sobol.sample(problem, n, calc_second_order=False, seed=seed)
    from SALib.sample import morris

    return morris.sample(problem, n, num_levels=4, seed=seed)


def _analyse(method: str, problem: dict, x: np.ndarray, y: np.ndarray, seed: int | None) -> dict:
    k = problem["num_vars"]
    if np.ptp(y) == 0:  # a constant outcome: no factor matters
        zeros = np.zeros(k)
        if method == "sobol":
            return {"S1": zeros, "S1_conf": zeros, "ST": zeros, "ST_conf": zeros}
        return {"mu_star": zeros, "mu_star_conf": zeros, "sigma": zeros}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if method == "sobol":
            from SALib.analyze import sobol

            res = sobol.analyze(problem, y, calc_second_order=False, seed=seed,
                                print_to_console=False)
            keys = ("S1", "S1_conf", "ST", "ST_conf")
        else:
            from SALib.analyze import morris

            res = morris.analyze(problem, x, y, seed=seed, print_to_console=False)
            keys = ("mu_star", "mu_star_conf", "sigma")
    return {key: np.asarray(res[key], dtype=float) for key in keys}


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
    """Sample `factors`, run the model, and rank factors for each outcome.

    Parameters
    ----------
    model : Model or path-like
    factors : sequence of Factor
    outcomes : sequence of Outcome
    method : {"sobol", "morris"}
    n : int, default 16
        Base sample size (a power of two for Sobol').
    seed : int or None
    params : mapping, optional
        Constants held fixed in every run (e.g. calibrated values).
    saveper, engine, progress
        As for :func:`sdkit.scenarios.projection.run_members`.

    Returns
    -------
    SensitivityResult

    Raises
    ------
    InvalidValueError
        Unknown method, fewer than two factors, duplicate factors, or a bad `n`.
    """
    from sdkit.scenarios.projection import run_members

    if method not in METHODS:
        raise InvalidValueError(f"method must be one of {', '.join(METHODS)}: {method!r}")
    if len(factors) < 2:
        raise InvalidValueError("sensitivity_analysis: need at least two factors")
    names = [f.name for f in factors]
    if len(set(names)) != len(names):
        raise InvalidValueError(f"sensitivity_analysis: duplicate factors in {names}")
    if isinstance(n, bool) or not isinstance(n, int) or n < 2:
        raise InvalidValueError(f"'n' must be an integer >= 2: {n!r}")
    if method == "sobol" and n & (n - 1):
        raise InvalidValueError(f"'n' must be a power of two for Sobol' sampling: {n}")
    if not isinstance(model, Model):
        model = load_model(model)
    problem = _problem(factors)
    x = _sample(method, problem, n, seed)
    table = pd.DataFrame(x, columns=names, index=pd.RangeIndex(len(x), name="member"))
    outputs = list(dict.fromkeys(v for o in outcomes for v in o.variables))
    ds = run_members(model, table, outputs=outputs, base=params, saveper=saveper,
                     engine=engine, progress=progress, desc=f"{method} sensitivity")
    y = outcome_values(ds, outcomes)
    rows = []
    labels = {f.name: f.label or f.name for f in factors}
    for o in outcomes:
        res = _analyse(method, problem, x, y[o.name].to_numpy(), seed)
        frame = pd.DataFrame(res)
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
