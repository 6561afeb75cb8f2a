"""Write a report folder: ``index.html`` (self-contained), ``report.md``, figures, data.

The folder is built under a temporary name beside the target and renamed
into place at the end, so a failed run never leaves half a report; an
existing folder is replaced only with ``overwrite=True``.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as _dt
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from sdkit.errors import OutputError
from sdkit.io.files import (
    atomic_path,
    atomic_write_bytes,
    atomic_write_text,
    check_replaceable,
    staged_folder,
    to_netcdf,
    write_table,
)
from sdkit.report import figures as F
from sdkit.report.config import ReportConfig
from sdkit.report.tables import (
    bands_table,
    headline_table,
    markdown_table,
    peak_probability_table,
    read_caveats,
    summary_table,
)

__all__ = ["ReportInputs", "write_report"]

_TEMPLATES = Path(__file__).with_name("templates")


@dataclass(frozen=True)
class ReportInputs:
    """Everything a report shows, computed beforehand (see :func:`~sdkit.workflow.pipeline`).

    Attributes
    ----------
    config : ReportConfig
    scenarios : xarray.Dataset
        ``(scenario, time, <dimension>)`` projection runs.
    titles : mapping
        Scenario name -> title.
    ensembles : mapping
        Scenario name -> ``(member, time, ...)`` Monte Carlo Dataset.
    sensitivity : SensitivityResult, optional
    calibration : CalibrationResult, optional
        Anything with ``to_frame()`` and ``statistics``/``observed_vs_simulated`` tables.
    specialization : pandas.Series, optional
        Krugman index per element, with `specialization_note` saying from what.
    notes : tuple of str
        Run notes shown at the top (e.g. "no calibration: model defaults used").
    provenance : mapping
    """

    config: ReportConfig
    scenarios: object
    titles: Mapping[str, str]
    ensembles: Mapping[str, object] = field(default_factory=dict)
    sensitivity: object | None = None
    calibration: object | None = None
    specialization: pd.Series | None = None
    specialization_note: str = ""
    notes: tuple[str, ...] = ()
    provenance: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class _Figure:
    slug: str
    title: str
    caption: str
    png: bytes
    svg: str

    @property
    def data_uri(self) -> str:
        return "data:image/png;base64," + base64.b64encode(self.png).decode("ascii")


def _figures(inputs: ReportInputs, bands: Mapping[str, object], probs) -> dict[str, list]:
    cfg, titles = inputs.config, inputs.titles
    out: dict[str, list[_Figure]] = {"scenarios": [], "fans": [], "uncertainty": [],
                                     "sensitivity": [], "calibration": [], "structure": []}

    def add(group, slug, title, caption, fig):
        png, svg = F.figure_bytes(fig)
        out[group].append(_Figure(slug, title, caption, png, svg))

    for ind in cfg.indicators:
        if ind.variable in inputs.scenarios:
            add("scenarios", f"scenarios_{_slug(ind.variable)}", f"{ind.label} by scenario",
                f"{ind.label} per {cfg.dimension.lower()} under every scenario; dotted line "
                f"marks the projection start ({cfg.projection_start:g}).",
                F.scenario_figure(inputs.scenarios, ind, cfg, titles))
    if bands:
        for ind in cfg.indicators:
            if ind.variable in next(iter(bands.values())):
                add("fans", f"fan_{_slug(ind.variable)}", f"{ind.label}: uncertainty",
                    "Median and 5-95 % band over the Monte Carlo members, from "
                    f"{cfg.projection_start - 1:g}; thin black lines: the deterministic run "
                    "with the calibrated values (the scenario tables).",
                    F.fan_figure(bands, ind, cfg, titles, runs=inputs.scenarios))
    if probs is not None:
        add("uncertainty", "peak_probability", "Probability of an emissions peak",
            f"Share of Monte Carlo members whose emissions peak before {cfg.peak_before:g}.",
            F.peak_probability_figure(probs, cfg, before=cfg.peak_before))
    if inputs.sensitivity is not None:
        add("sensitivity", "sensitivity", "Sensitivity ranking",
            "Factors ranked by influence on each headline outcome.",
            F.sensitivity_figure(inputs.sensitivity))
    if inputs.specialization is not None:
        add("structure", "specialization", "Relative specialization index",
            inputs.specialization_note,
            F.specialization_figure(inputs.specialization, cfg,
                                    title="Krugman relative specialization index"))
    ovs = getattr(inputs.calibration, "observed_vs_simulated", None)
    if isinstance(ovs, pd.DataFrame) and len(ovs):
        add("calibration", "calibration_fit", "Calibration fit",
            "Observed (dots) vs simulated (lines) for every fitted series and city; the grey "
            "band marks the hold-out years (predicted, not fitted).", F.fit_figure(ovs))
    return out


def _slug(text: str) -> str:
    return "".join(c.lower() if c.isalnum() else "_" for c in text).strip("_")


def _html_table(frame: pd.DataFrame, *, index: bool = False) -> str:
    return frame.to_html(index=index, border=0, classes="tbl", na_rep="n/a",
                         float_format=lambda v: f"{v:,.3g}" if abs(v) < 1000 else f"{v:,.0f}")


def _env():
    import jinja2

    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(_TEMPLATES)),
                              autoescape=lambda name: bool(name) and name.endswith(".html.j2"),
                              undefined=jinja2.StrictUndefined, trim_blocks=True,
                              lstrip_blocks=True)


def write_report(inputs: ReportInputs, out: str | os.PathLike, *,
                 overwrite: bool = False) -> Path:
    """Write the report folder `out` and return the path of its ``index.html``.

    Raises
    ------
    OutputError
        If `out` exists and `overwrite` is False, or is not a report folder
        (checked before any work), or the folder cannot be written.
    """
    from sdkit.scenarios.uncertainty import bands as make_bands

    out = Path(out)
    if os.path.lexists(out) and not overwrite:
        raise OutputError(f"{out}: report folder exists; pass overwrite=True (--overwrite) "
                          "or choose another --name")
    check_replaceable(out, overwrite=overwrite, folder=True, owned=is_report_folder,
                      what="report")
    cfg = inputs.config
    bands = {k: _shown(make_bands(v), cfg) for k, v in inputs.ensembles.items()}
    probs = (peak_probability_table(inputs.ensembles, cfg, inputs.titles)
             if inputs.ensembles else None)
    shown = _shown(inputs.scenarios, cfg)
    summary = summary_table(shown, cfg, inputs.titles)
    headline = headline_table(shown, cfg, inputs.titles)
    figs = _figures(dataclasses.replace(inputs, scenarios=shown), bands, probs)
    readme = cfg.resolve(cfg.data_readme)
    caveats = read_caveats(readme) + list(cfg.caveats)
    if readme is not None and not readme.is_file():
        caveats.insert(0, f"The data README ({readme}) was not found: its caveats are missing.")
    from sdkit.indicators import ASSUMPTION_2005, HUBEI_ANNUAL_DECLINE

    assumptions = list(cfg.assumptions) + ["(*) " + ASSUMPTION_2005.format(d=HUBEI_ANNUAL_DECLINE)]
    calib = None
    if inputs.calibration is not None:
        stats = getattr(inputs.calibration, "statistics", None)
        calib = {"fit overview": _fit_overview(stats, getattr(inputs.calibration,
                                                               "observed_vs_simulated", None)),
                 "parameters": _parameter_table(inputs.calibration.to_frame()),
                 "statistics": _statistics_table(stats)}
    if probs is not None:
        probs.index.name, probs.columns.name = "scenario", None
    provenance = {"generated": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
                  **{k: str(v) for k, v in inputs.provenance.items()}}
    context = dict(
        title=cfg.title, notes=list(inputs.notes), dimension=cfg.dimension,
        scenarios=[(n, inputs.titles.get(n, n)) for n in map(str, inputs.scenarios["scenario"]
                                                              .to_numpy())],
        summary_html=_html_table(summary), summary_md=markdown_table(summary),
        headline_html=_html_table(headline), headline_md=markdown_table(headline),
        gdp_units=next((i.units for i in cfg.indicators if i.variable == cfg.gdp), ""),
        co2_units=next((i.units for i in cfg.indicators if i.variable == cfg.emissions), ""),
        probs_html=None if probs is None else _html_table(probs.round(3), index=True),
        probs_md=None if probs is None else markdown_table(probs.round(3), index=True),
        members={inputs.titles.get(k, k): int(v.sizes["member"])
                 for k, v in inputs.ensembles.items()},
        method=list(cfg.method), limitations=_growth_notes(shown, cfg) + list(cfg.limitations),
        calib_notes=_paragraphs(_calibration_notes(inputs.calibration)),
        sensitivity=inputs.sensitivity,
        sens_html=None if inputs.sensitivity is None else _html_table(_sens_top(inputs)),
        sens_md=None if inputs.sensitivity is None else markdown_table(_sens_top(inputs)),
        calib_html=None if calib is None else {k: _html_table(v, index=(k == "parameters"))
                                               for k, v in calib.items() if v is not None},
        calib_md=None if calib is None else {k: markdown_table(v, index=(k == "parameters"))
                                             for k, v in calib.items() if v is not None},
        calib_legend=CALIBRATION_LEGEND,
        figs=figs, caveats=caveats, assumptions=assumptions, provenance=provenance,
        peak_before=cfg.peak_before,
    )
    env = _env()
    html = env.get_template("index.html.j2").render(**context)
    md = env.get_template("report.md.j2").render(**context)
    _write_folder(out, overwrite=overwrite, html=html, md=md, figs=figs, inputs=inputs,
                  summary=summary, headline=headline, bands=bands, probs=probs)
    return out / "index.html"


CALIBRATION_LEGEND = {
    "fit overview": "Mean absolute percentage error (MAPE) of each fitted series in the fit "
                    "window and in the hold-out years (predicted, not fitted).",
    "parameters": "Fitted value, standard error from the Jacobian at the optimum (a standard "
                  "error larger than the bounds' span means the data do not pin the parameter "
                  "down), profile-likelihood 95 % interval where computed (n/a: not computed), "
                  "the bounds of the search and its start value.",
    "statistics": "Per series and sample: n points, MAPE [%], RMSE (in the series' units), "
                  "R², Theil's inequality coefficient U (0 = perfect) and the shares of the mean "
                  "squared error due to bias (U_M), unequal variance (U_S) and unequal "
                  "covariation (U_C) (Sterman 1984). Rows 'not fitted' compare a second data "
                  "source with the run.",
}


def _fit_overview(stats, ovs) -> pd.DataFrame | None:
    """Target x sample MAPE table (fit window and hold-out), with the years of each."""
    if not isinstance(stats, pd.DataFrame) or not {"target", "sample"} <= set(stats.columns):
        return None
    mape = next((c for c in stats.columns if str(c).lower() == "mape"), None)
    if mape is None:
        return None
    years = {}
    if isinstance(ovs, pd.DataFrame) and {"target", "sample", "time"} <= set(ovs.columns):
        # the windows of the series that have a hold-out (single always-fitted points aside)
        held = set(ovs.loc[ovs["sample"] == "holdout", "target"])
        part = ovs[ovs["target"].isin(held)] if held else ovs
        for sample, rows in part.groupby("sample"):
            years[sample] = f" {rows['time'].min():g}-{rows['time'].max():g}"
    names = {"fit": "fit", "holdout": "hold-out"}
    rows = stats[stats["sample"].isin(list(names))]
    if rows.empty:
        return None
    table = rows.pivot_table(index="target", columns="sample", values=mape, aggfunc="first",
                             sort=False)
    table = table.reindex(columns=[c for c in names if c in table.columns])
    table.columns = [f"MAPE {names[c]}{years.get(c, '')} [%]" for c in table.columns]
    return table.reset_index()


def _parameter_table(frame: pd.DataFrame) -> pd.DataFrame:
    """The parameter table with planner-readable headers; no column repeating the index."""
    out = frame.copy()
    if "variable" in out and (out["variable"].astype(str) == out.index.astype(str)).all():
        out = out.drop(columns="variable")
    return out.rename(columns={"value": "fitted value", "stderr": "std. error",
                               "ci_low": "95 % interval low", "ci_high": "95 % interval high",
                               "lower": "bound low", "upper": "bound high",
                               "initial": "start value"})


def _statistics_table(stats) -> pd.DataFrame | None:
    if not isinstance(stats, pd.DataFrame):
        return None
    out = stats.rename(columns={"mape": "MAPE [%]", "rmse": "RMSE", "r2": "R²",
                                "theil_u": "Theil U", "u_m": "U_M", "u_s": "U_S",
                                "u_c": "U_C"})
    if "sample" in out:
        out["sample"] = out["sample"].replace({"holdout": "hold-out", "shown": "not fitted"})
    return out


def _calibration_notes(calibration) -> str:
    """Free-text notes of a calibration (its spec's ``notes``), or ``""``."""
    if calibration is None:
        return ""
    notes = getattr(calibration, "notes", None)
    if notes is None:
        notes = getattr(getattr(calibration, "problem", None), "notes", "")
    return str(notes or "")


def _paragraphs(text: str) -> list[str]:
    return [" ".join(p.split()) for p in text.strip().split("\n\n") if p.strip()]


def _growth_notes(ds, cfg: ReportConfig) -> list[str]:
    """Average yearly growth of total GDP in the baseline from the projection start."""
    if "baseline" not in ds["scenario"] or cfg.gdp not in ds:
        return []
    total = ds[cfg.gdp].sel(scenario="baseline").sum(cfg.dimension)
    times = [float(t) for t in ds["time"].to_numpy()]
    years = [cfg.projection_start, *cfg.summary_years]
    if not all(y in times for y in years):
        return []
    rates = []
    for a, b in zip(years, years[1:]):
        ratio = float(total.sel(time=b)) / float(total.sel(time=a))
        rates.append(f"{100 * (ratio ** (1 / (b - a)) - 1):.1f} %/yr in {a:g}-{b:g}")
    return [f"The calibrated baseline grows total GDP (summed over every {cfg.dimension.lower()}, "
            f"constant prices) by {' and '.join(rates)}: the growth of the fit window carried "
            "forward by the model's structure."]


def _shown(ds, cfg: ReportConfig):
    """`ds` with each indicator in the units the report shows (``Indicator.scale``)."""
    scaled = {i.variable: ds[i.variable] * i.scale for i in cfg.indicators
              if i.scale != 1 and i.variable in ds}
    return ds.assign(scaled) if scaled else ds


def _sens_top(inputs: ReportInputs) -> pd.DataFrame:
    t = inputs.sensitivity.table
    cols = ["outcome", "rank", "label", "index", "index_conf"]
    return t.sort_values(["outcome", "rank"], kind="stable")[cols].rename(
        columns={"label": "factor"})


def is_report_folder(path: Path) -> bool:
    """True for an empty folder or one holding a report (``index.html`` or ``data/inputs.json``)."""
    try:
        return (not any(path.iterdir()) or (path / "index.html").is_file()
                or (path / "data" / "inputs.json").is_file())
    except OSError:
        return False


def _write_folder(out: Path, *, overwrite: bool, html: str, md: str, figs, inputs,
                  summary, headline, bands, probs) -> None:
    """Write the whole report into a staging folder and swap it in (:func:`staged_folder`)."""
    with staged_folder(out, overwrite=overwrite, owned=is_report_folder,
                       what="report") as tmp:
        atomic_write_text(tmp / "index.html", html)
        atomic_write_text(tmp / "report.md", md)
        for group in figs.values():
            for f in group:
                atomic_write_bytes(tmp / "figures" / f"{f.slug}.png", f.png)
                atomic_write_text(tmp / "figures" / f"{f.slug}.svg", f.svg)
        data = tmp / "data"
        prov = dict(inputs.provenance)
        from sdkit.scenarios.projection import to_tidy

        write_table(to_tidy(inputs.scenarios).set_index("variable"),
                    data / "scenarios.parquet", attrs=prov)
        write_table(summary.set_index("scenario"), data / "summary.csv")
        write_table(headline.set_index("scenario"), data / "headline.csv")
        if bands:
            write_table(bands_table(bands).set_index("variable"), data / "bands.parquet",
                        attrs=prov)
        if probs is not None:
            write_table(probs, data / "peak_probability.csv")
        if inputs.sensitivity is not None:
            write_table(inputs.sensitivity.table.set_index("outcome"), data / "sensitivity.csv")
        _write_nc(inputs.scenarios, data / "scenarios.nc", prov)
        for name, ds in inputs.ensembles.items():
            _write_nc(ds, data / f"ensemble_{_slug(name)}.nc", {**prov, "scenario_name": name})
        _write_meta(inputs, data)


def _write_meta(inputs: ReportInputs, data: Path) -> None:
    """What :func:`sdkit.report.results.load_inputs` needs besides the netCDF files."""
    import json

    sens = inputs.sensitivity
    meta = {
        "titles": dict(inputs.titles), "notes": list(inputs.notes),
        "provenance": {k: str(v) for k, v in inputs.provenance.items()},
        "sensitivity": None if sens is None else {"method": sens.method, "n": sens.n,
                                                   "runs": sens.runs, "seed": sens.seed},
        "specialization": None if inputs.specialization is None else {
            str(k): float(v) for k, v in inputs.specialization.items()},
        "specialization_note": inputs.specialization_note,
        "calibration_notes": _calibration_notes(inputs.calibration),
    }
    atomic_write_text(data / "inputs.json", json.dumps(meta, indent=2))
    calib = inputs.calibration
    if calib is not None:
        write_table(calib.to_frame(), data / "calibration_parameters.csv")
        for key in ("statistics", "observed_vs_simulated"):
            table = getattr(calib, key, None)
            if isinstance(table, pd.DataFrame):
                write_table(table, data / f"calibration_{key}.csv")


def _write_nc(ds, target: Path, attrs: Mapping[str, str]) -> None:
    ds = ds.copy()
    ds.attrs = {**{k: str(v) for k, v in ds.attrs.items()},
                **{k: str(v) for k, v in attrs.items()}}
    rename = {v: _slug(str(v)) for v in ds.data_vars}
    ds = ds.rename(rename)
    for orig, new in rename.items():
        ds[new].attrs["long_name"] = str(orig)
    for c in ds.coords:
        if ds[c].dtype == object:
            ds[c] = ds[c].astype(str)
    with atomic_path(target) as tmp:
        to_netcdf(ds, tmp, target=target)
