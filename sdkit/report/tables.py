"""Report tables: executive summary, bands, peak probabilities, caveats."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from sdkit.indicators import intensity_reduction, intensity_reduction_vs_2005, peak
from sdkit.scenarios.uncertainty import peak_probability

__all__ = ["summary_table", "headline_table", "peak_probability_table", "bands_table",
           "read_caveats", "markdown_table"]


def _fmt_year(value: float) -> str:
    return "not by horizon" if not np.isfinite(value) else f"{value:.0f}"


def summary_table(ds, config, titles: Mapping[str, str]) -> pd.DataFrame:
    """Scenario x element: headline values at the summary years, peak year, reductions.

    Columns are labelled with units; the peak year is the year of maximum
    emissions from ``config.peak_start`` (default: the whole run) on ("not by
    horizon" when emissions are highest at the end).
    """
    dim = config.dimension
    labels = {i.variable: (i.label, i.units) for i in config.indicators}
    show = [config.gdp, config.emissions, config.intensity]
    if config.coordination and config.coordination in ds:
        show.append(config.coordination)
    first_year = float(ds["time"][0])
    pk = peak(ds[config.emissions], start=config.peak_start)
    base_ok = bool(np.any(np.isclose(ds["time"], config.intensity_base_year)))
    red = (intensity_reduction(ds[config.intensity], base_year=config.intensity_base_year)
           if base_ok else None)
    red05 = (intensity_reduction_vs_2005(ds[config.intensity], first_year=config.first_data_year)
             if first_year <= config.first_data_year else None)
    rows = []
    for s in ds["scenario"].to_numpy():
        for el in ds[dim].to_numpy():
            row: dict[str, object] = {"scenario": titles.get(str(s), str(s)), dim: str(el)}
            for var in show:
                label, units = labels.get(var, (var, ""))
                for y in config.summary_years:
                    value = float(ds[var].sel({"scenario": s, dim: el, "time": y}))
                    row[f"{label} {y:g}" + (f" [{units}]" if units else "")] = value
            row["CO2 peak year"] = _fmt_year(float(pk["year"].sel({"scenario": s, dim: el})))
            for y in config.summary_years:
                if red is not None:
                    row[f"intensity change {y:g} vs {config.intensity_base_year:g} [%]"] = (
                        -100 * float(red.sel({"scenario": s, dim: el, "time": y})))
                if red05 is not None and y <= 2035:
                    row[f"intensity change {y:g} vs 2005* [%]"] = (
                        -100 * float(red05.sel({"scenario": s, dim: el, "time": y})))
            rows.append(row)
    return pd.DataFrame(rows)


def peak_probability_table(ensembles: Mapping[str, object], config,
                           titles: Mapping[str, str]) -> pd.DataFrame:
    """Scenario x element probability that emissions peak before ``config.peak_before``."""
    rows = {}
    for name, ds in ensembles.items():
        p = peak_probability(ds[config.emissions], before=config.peak_before,
                             start=config.peak_start)
        rows[titles.get(name, name)] = p.to_series()
    out = pd.DataFrame(rows).T
    out.columns.name = config.dimension
    return out


def bands_table(bands_by_scenario: Mapping[str, object]) -> pd.DataFrame:
    """Tidy 5-50-95 % table: variable, scenario, element, time, quantile, value."""
    from sdkit.scenarios.projection import to_tidy

    frames = []
    for name, q in bands_by_scenario.items():
        f = to_tidy(q, member_dim="quantile")
        f.insert(1, "scenario", name)
        frames.append(f)
    return pd.concat(frames, ignore_index=True)


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


def headline_table(ds, config, titles: Mapping[str, str]) -> pd.DataFrame:
    """One row per scenario: agglomeration totals and the change against ``baseline``.

    Totals sum over the report's dimension (all cities); intensity is total
    emissions over total GDP.
    """
    dim = config.dimension
    gdp = ds[config.gdp].sum(dim)
    co2 = ds[config.emissions].sum(dim)
    t = ds["time"]
    window = (t >= config.projection_start)
    rows = []
    for s in ds["scenario"].to_numpy():
        row: dict[str, object] = {"scenario": titles.get(str(s), str(s))}
        for y in config.summary_years:
            row[f"GDP {y:g}"] = float(gdp.sel(scenario=s, time=y))
        for y in config.summary_years:
            row[f"CO2 {y:g}"] = float(co2.sel(scenario=s, time=y))
        row[f"cumulative CO2 {config.projection_start:g}-{float(t[-1]):g}"] = float(
            co2.sel(scenario=s).sel(time=window).sum("time"))
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
