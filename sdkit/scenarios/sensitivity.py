"""Global sensitivity, the sampling half (SALib ``sample``): factors, samples, runs.

Describe the factors, then sample and run; :mod:`sdkit.analysis.sensitivity`
turns the runs into outcomes and indices::

    factors = [Factor("Contact Infectivity", 0.2, 0.4), Factor("Duration", 4, 8)]
    samples, ds = run_factor_samples(model, factors, outputs=["Infected"], n=64, seed=1)

Costs: Sobol' (Saltelli scheme, first and total order) needs ``n * (k + 2)``
runs for ``k`` factors, ``n`` a power of two; Morris needs ``n * (k + 1)``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sdkit.errors import InvalidValueError
from sdkit.model.load import Model, load_model
from sdkit.scenarios.projection import run_members

__all__ = ["Factor", "problem", "sample_factors", "run_factor_samples", "METHODS"]

METHODS = ("sobol", "morris")


@dataclass(frozen=True)
class Factor:
    """An input varied uniformly between `lower` and `upper` (a model constant).

    Attributes
    ----------
    name : str
        Model constant (``"Name"`` or ``"Name[elem]"``).
    lower, upper : float
        Finite, ``lower < upper``.
    label : str
        Shown in tables and figures (default: `name`).
    source : str
        Where the range comes from (a citation or the reason for it).
    """

    name: str
    lower: float
    upper: float
    label: str = ""
    source: str = ""

    def __post_init__(self):
        if not (np.isfinite(self.lower) and np.isfinite(self.upper)) or self.upper <= self.lower:
            raise InvalidValueError(f"factor {self.name!r}: need finite lower < upper, got "
                                    f"{self.lower} .. {self.upper}")


def problem(factors: Sequence[Factor]) -> dict:
    """The SALib problem dictionary of `factors`."""
    return {"num_vars": len(factors), "names": [f.name for f in factors],
            "bounds": [[f.lower, f.upper] for f in factors]}


def sample_factors(factors: Sequence[Factor], n: int, *, method: str = "sobol",
                   seed: int | None = None) -> pd.DataFrame:
    """Sample `factors` for `method` (Saltelli for Sobol', trajectories for Morris).

    Returns
    -------
    pandas.DataFrame
        One row a member (index ``member``), one column a factor.

    Raises
    ------
    InvalidValueError
        Unknown method, fewer than two factors, duplicate factors, or a bad `n`
        (an integer >= 2, a power of two for Sobol').
    """
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
    prob = problem(factors)
    if method == "sobol":
        from SALib.sample import sobol  # heavy: SALib only when sampling

        x = sobol.sample(prob, n, calc_second_order=False, seed=seed)
    else:
        from SALib.sample import morris  # heavy: SALib only when sampling

        x = morris.sample(prob, n, num_levels=4, seed=seed)
    return pd.DataFrame(x, columns=names, index=pd.RangeIndex(len(x), name="member"))


def run_factor_samples(
    model: Model | str | os.PathLike,
    factors: Sequence[Factor],
    *,
    outputs: Sequence[str],
    method: str = "sobol",
    n: int = 16,
    seed: int | None = None,
    params: Mapping[str, object] | None = None,
    saveper: float = 1.0,
    engine: str = "auto",
    executor=None,
    progress: bool = False,
):
    """Sample `factors` (:func:`sample_factors`) and run the model once per sample.

    Parameters
    ----------
    model : Model or path-like
    factors : sequence of Factor
    outputs : sequence of str
        Variables to keep.
    method : {"sobol", "morris"}
    n : int, default 16
        Base sample size (a power of two for Sobol').
    seed : int or None
    params : mapping, optional
        Constants held fixed in every run (e.g. calibrated values).
    saveper, engine, executor, progress
        As for :func:`sdkit.scenarios.projection.run_members` (``engine``:
        ``"auto"``, ``"fast"`` or ``"pysd"``; ``executor``: where members run,
        Dask included).

    Returns
    -------
    (pandas.DataFrame, xarray.Dataset)
        The sample and the runs ``(member, time, ...)``.
    """
    samples = sample_factors(factors, n, method=method, seed=seed)
    if not isinstance(model, Model):
        model = load_model(model)
    ds = run_members(model, samples, outputs=list(outputs), base=params, saveper=saveper,
                     engine=engine, executor=executor, progress=progress,
                     desc=f"{method} sensitivity")
    return samples, ds
