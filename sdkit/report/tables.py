"""Report tables: executive summary, totals, peak probabilities, bands, caveats.

Every table is built from the report configuration (:mod:`sdkit.report.config`):
which variables, peaks, changes and totals to show, over which dimension.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from sdkit.analysis.bands import future_peak_shares, peak_probability
from sdkit.analysis.changes import change_vs
from sdkit.analysis.indicators import peak, peak_status

__all__ = ["summary_table", "headline_table", "peak_probability_table", "peak_column",
           "bands_table", "bands_from_table",
           "read_caveats", "markdown_table", "elements"]


def _fmt_year(value: float) -> str:
    return "not by horizon" if not np.isfinite(value) else f"{value:.0f}"


def elements(ds, config) -> list[str | None]:
    """The elements of the report's dimension (``[None]`` without one)."""
    if config.dimension is None:
        return [None]
    return [str(e) for e in ds[config.dimension].to_numpy()]


def _at(da, config, **where):
    """One float of `da` at scenario/time and, with a dimension, element ``el``."""
    el = where.pop("el", None)
    if config.dimension is not None:
        where[config.dimension] = el
    return float(da.sel(where))


def _years(ds, config) -> tuple[float, ...]:
    return config.summary_years or (float(ds["time"][-1]),)


def peak_start(p, config) -> float | None:
    """Last history year of a peak: its ``start``, else ``projection_start - 1``."""
    if p.start is not None:
        return p.start
    return config.projection_start - 1 if config.projection_start is not None else None


def _peak_cell(ds, p, s, el, config) -> str:
    da = ds[p.variable]
    start = peak_start(p, config)
    if start is None:
        return _fmt_year(_at(peak(da)["year"], config, scenario=s, el=el))
    st = peak_status(da, last_observed=start)
    here = {"scenario": s, **({config.dimension: el} if config.dimension else {})}
    row = st.sel(here)
    if bool(row["already_peaked"]):
        return f"already peaked ({float(row['historical_peak_year']):.0f})"
    return _fmt_year(float(row["year"]))


def summary_table(ds, config, titles: Mapping[str, str]) -> pd.DataFrame:
    """Scenario (x element): values at the summary years, peak times, changes.

    Columns are labelled with units; a peak with a ``start`` counts only
    peaks after it ("already peaked (year)" when the history's maximum is
    not exceeded later; "not by horizon" when highest at the end).
    """
    labels = {i.variable: (i.label, i.units) for i in config.indicators}
    show = [v for v in config.shown if v in ds]
    years = _years(ds, config)
    times = ds["time"].to_numpy()
    changes = []
    for c in config.changes:
        anchor = c.base if c.backcast_from is None else c.backcast_from
        if np.any(np.isclose(times, anchor)):
            changes.append((c, change_vs(ds[c.variable], base=c.base,
                                         backcast_from=c.backcast_from, decline=c.decline)))
    rows = []
    for s in ds["scenario"].to_numpy():
        for el in elements(ds, config):
            row: dict[str, object] = {"scenario": titles.get(str(s), str(s))}
            if config.dimension is not None:
                row[config.dimension] = el
            for var in show:
                label, units = labels.get(var, (var, ""))
                for y in years:
                    row[f"{label} {y:g}" + (f" [{units}]" if units else "")] = _at(
                        ds[var], config, scenario=s, el=el, time=y)
            for p in config.peaks:
                row[f"{p.label} peak year"] = _peak_cell(ds, p, s, el, config)
            for y in years:
                for c, ch in changes:
                    if c.until is None or y <= c.until:
                        star = "*" if c.backcast_from is not None else ""
                        row[f"{c.label} change {y:g} vs {c.base:g}{star} [%]"] = 100 * _at(
                            ch, config, scenario=s, el=el, time=y)
            rows.append(row)
    return pd.DataFrame(rows)


def peak_probability_table(ensembles: Mapping[str, object], config,
                           titles: Mapping[str, str]) -> pd.DataFrame | None:
    """Scenario x element: share of members whose peak lies in the projection before the
    first peak's ``before``, and share that had already peaked (kept apart).

    Only projection peaks count (:func:`~sdkit.analysis.bands.future_peak_shares`); without
    a ``start`` the projection starts at ``projection_start - 1``. None when no
    ``[[report.peaks]]`` entry has ``before``.
    """
    p = next((p for p in config.peaks if p.before is not None), None)
    if p is None or not ensembles:
        return None
    start = peak_start(p, config)
    rows = []
    for name, ds in ensembles.items():
        if p.variable not in ds:
            continue
        if start is None:
            shares = xr.Dataset({"peak_before": peak_probability(ds[p.variable],
                                                                 before=p.before)})
        else:
            shares = future_peak_shares(ds[p.variable], before=p.before, last_observed=start)
        for el in elements(ds, config):
            here = shares if el is None else shares.sel({config.dimension: el})
            rows.append({"scenario": titles.get(name, name),
                         **({config.dimension: el} if config.dimension else {}),
                         peak_column(p): float(here["peak_before"]),
                         **({"share already peaked": float(here["already_peaked"])}
                            if "already_peaked" in here else {})})
    return pd.DataFrame(rows) if rows else None


def peak_column(p) -> str:
    """Column of the share of members peaking after ``start`` and before ``before``."""
    after = f" after {p.start:g}" if p.start is not None else ""
    return f"share peaking{after} before {p.before:g}"


def bands_table(bands_by_scenario: Mapping[str, object]) -> pd.DataFrame:
    """Tidy 5-50-95 % table: variable, scenario, quantile, time, the other dimensions, value.

    Compact enough to commit; :func:`bands_from_table` reads it back.
    """
    frames = []
    for name, q in bands_by_scenario.items():
        for var in q.data_vars:
            f = q[var].to_dataframe(name="value").reset_index()
            f.insert(0, "variable", str(var))
            f.insert(1, "scenario", name)
            frames.append(f)
    return pd.concat(frames, ignore_index=True)


def bands_from_table(frame: pd.DataFrame) -> dict[str, xr.Dataset]:
    """Scenario -> ``(quantile, time, ...)`` Dataset from :func:`bands_table`'s table.

    Also reads the older layout whose element column is ``level_2``.
    """
    frame = frame.reset_index()
    if "level_2" in frame:  # older files: the element sat in "level_2" or in its own column
        known = {"variable", "scenario", "quantile", "level_2", "time", "value", "index"}
        dim = next((c for c in frame.columns if c not in known), "element")
        lev = frame["level_2"]
        own = frame[dim] if dim in frame else lev
        frame = frame.drop(columns="level_2").assign(
            **{dim: lev.where(lev.notna() & (lev.astype(str) != "None"), own)})
    dims = [c for c in frame.columns if c not in ("variable", "scenario", "value", "index")]
    out = {}
    for name, part in frame.groupby("scenario", sort=False):
        ds = xr.Dataset({str(v): grp.set_index(dims)["value"].to_xarray()
                         for v, grp in part.groupby("variable", sort=False)})
        out[str(name)] = ds.reindex({d: pd.unique(part[d]) for d in dims})  # stored order
    return out


def read_caveats(path: str | os.PathLike | None) -> list[str]:
    """Bullet points under a ``## Known problems`` heading of a data README (``[]`` if none)."""
    if path is None or not Path(path).is_file():
        return []
    text = Path(path).read_text(encoding="utf-8")
    m = re.search(r"^##\s+Known problems.*?$(.*?)(?=^##\s|\Z)", text, flags=re.M | re.S)
    if not m:
        return []
    items, current = [], None
    for line in m.group(1).splitlines():
        if line.startswith("- "):
            if current:
                items.append(current)
            current = line[2:].strip()
        elif current is not None and line.strip():
            current += " " + line.strip()
    if current:
        items.append(current)
    return items


def _cell(value: object) -> str:
    if isinstance(value, float | np.floating):
        if not np.isfinite(value):
            return "n/a"
        return f"{value:,.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value).replace("|", "\\|")


def markdown_table(frame: pd.DataFrame, *, index: bool = False) -> str:
    """A GitHub-flavoured Markdown table of `frame`."""
    f = frame.reset_index() if index else frame
    head = "| " + " | ".join(map(str, f.columns)) + " |"
    sep = "|" + "|".join("---" for _ in f.columns) + "|"
    body = ["| " + " | ".join(_cell(v) for v in row) + " |" for row in f.itertuples(index=False)]
    return "\n".join([head, sep, *body])


def _total(ds, var: str, config):
    da = ds[var]
    extra = [d for d in da.dims if d not in ("scenario", "time")]
    return da.sum(extra) if extra else da


def headline_table(ds, config, titles: Mapping[str, str]) -> pd.DataFrame | None:
    """One row per scenario: totals over the dimension and the change against ``baseline``.

    ``[[report.totals]]`` with statistic "value" give a column per summary
    year; "cumulative" sums the saved values from ``projection_start`` (the
    first time without one) to the end. None when the config names no totals.
    """
    if not config.totals:
        return None
    t = ds["time"]
    first = config.projection_start if config.projection_start is not None else float(t[0])
    rows = []
    for s in ds["scenario"].to_numpy():
        row: dict[str, object] = {"scenario": titles.get(str(s), str(s))}
        for tot in config.totals:
            total = _total(ds, tot.variable, config).sel(scenario=s)
            if tot.statistic == "cumulative":
                row[f"{tot.label} {first:g}-{float(t[-1]):g}"] = float(
                    total.sel(time=t >= first).sum("time"))
            else:
                for y in _years(ds, config):
                    row[f"{tot.label} {y:g}"] = float(total.sel(time=y))
        rows.append(row)
    out = pd.DataFrame(rows)
    names = [str(s) for s in ds["scenario"].to_numpy()]
    if "baseline" in names:
        base = out.iloc[names.index("baseline")]
        for col in [c for c in out.columns if c != "scenario"]:
            out[f"{col} vs baseline [%]"] = 100 * (out[col] / base[col] - 1)
        keep = ["scenario"] + [c for c in out.columns if c.endswith("vs baseline [%]")]
        keep += [c for c in out.columns if c not in keep]
        out = out[keep]
    return out
