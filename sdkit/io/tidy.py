"""Long ("tidy") tables of labelled results: one value a row."""

from __future__ import annotations

import pandas as pd

__all__ = ["to_tidy"]


def to_tidy(ds, *, member_dim: str | None = None) -> pd.DataFrame:
    """Long table of an ``xarray.Dataset``: its dimensions as columns, plus variable, value.

    Parameters
    ----------
    ds : xarray.Dataset
    member_dim : str, optional
        The dimension listed right after ``variable`` (default ``"scenario"``,
        if present); ``member`` and ``time`` follow, then the others.

    Returns
    -------
    pandas.DataFrame
        Columns ``variable, <member_dim>, member, <other dims>, time, value``
        (those present).
    """
    frames = []
    for name, da in ds.data_vars.items():
        f = da.to_dataframe(name="value").reset_index()
        f.insert(0, "variable", name)
        frames.append(f)
    out = pd.concat(frames, ignore_index=True)
    lead = [c for c in ("variable", member_dim or "scenario", "member") if c in out.columns]
    rest = [c for c in out.columns if c not in lead and c not in ("time", "value")]
    return out[lead + rest + [c for c in ("time", "value") if c in out.columns]]
