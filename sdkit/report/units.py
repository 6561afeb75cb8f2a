"""The units a reader sees: the one place model values are converted for display.

A report configuration's ``[[indicators]]`` give each shown variable its
``units`` (text) and ``scale`` (the factor from the model's units, e.g. 100
for Mt per 100 million CNY -> t per 10,000 CNY). The report's tables and
figures (:func:`dataset_shown`) and ``sdkit run``'s summary
(:func:`frame_shown`, through a model sidecar's ``[summary] report = ...``)
both convert here, so a number reads the same in the terminal and in the
report. Data files keep the model's units.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pandas as pd

__all__ = ["indicator_for", "shown_units", "dataset_shown", "frame_shown"]


def indicator_for(indicators: Sequence, variable: str):
    """The indicator (``.variable``, ``.units``, ``.scale``) shown for `variable`, or None."""
    return next((i for i in indicators if i.variable == variable), None)


def shown_units(indicators: Sequence, variable: str, model_units: str = "") -> str:
    """The units `variable` is shown in: the indicator's, else the model's."""
    ind = indicator_for(indicators, variable)
    return ind.units if ind is not None and ind.units else model_units


def dataset_shown(ds, indicators: Sequence):
    """`ds` (an xarray Dataset of model variables) in the shown units."""
    scaled = {i.variable: ds[i.variable] * i.scale for i in indicators
              if i.scale != 1 and i.variable in ds}
    return ds.assign(scaled) if scaled else ds


def frame_shown(frame: pd.DataFrame, indicators: Sequence,
                base_of: Callable[[str], str]) -> pd.DataFrame:
    """`frame` (columns ``Name`` or ``Name[elem]``; `base_of` gives ``Name``) in the shown
    units."""
    factors = {}
    for column in frame.columns:
        ind = indicator_for(indicators, base_of(column))
        if ind is not None and ind.scale != 1:
            factors[column] = ind.scale
    if not factors:
        return frame
    out = frame.copy()
    for column, factor in factors.items():
        out[column] = out[column] * factor
    return out
