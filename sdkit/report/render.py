"""Write a report folder: ``index.html`` (self-contained), ``report.md``, figures, data.

The folder is built under a temporary name beside the target and renamed
into place at the end, so a failed run never leaves half a report; an
existing folder is replaced only with ``overwrite=True``.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as _dt
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import jinja2
import pandas as pd

from sdkit.analysis.bands import bands as make_bands
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
from sdkit.io.tidy import to_tidy
from sdkit.report import figures as F
from sdkit.report.calibration_tables import (
    CALIBRATION_LEGEND,
    calibration_notes,
    fit_overview,
    parameter_table,
    statistics_table,
)
from sdkit.report.config import ReportConfig
from sdkit.report.fonts import embed_font
from sdkit.report.units import dataset_shown
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
                f"{ind.label}{_per(cfg)} under every scenario"
                + (f"; dotted line marks the projection start ({cfg.projection_start:g})."
                   if cfg.projection_start is not None else "."),
                F.scenario_figure(inputs.scenarios, ind, cfg, titles))
    if bands:
        for ind in cfg.indicators:
            if ind.variable in next(iter(bands.values())):
                add("fans", f"fan_{_slug(ind.variable)}", f"{ind.label}: uncertainty",
                    "Median and 5-95 % band over the Monte Carlo members"
                    + (f", from {cfg.projection_start - 1:g}" if cfg.projection_start is not None
                       else "")
                    + "; thin black lines: the deterministic run (the scenario tables).",
                    F.fan_figure(bands, ind, cfg, titles, runs=inputs.scenarios))
    if probs is not None:
        p = next(p for p in cfg.peaks if p.before is not None)
        add("uncertainty", "peak_probability", f"Probability of a {p.label} peak",
            f"Share of Monte Carlo members whose {p.label} peaks before {p.before:g}.",
            F.peak_probability_figure(probs, cfg, peak=p))
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


def _per(cfg: ReportConfig) -> str:
    return f" per {cfg.dimension.lower()}" if cfg.dimension else ""


def _slug(text: str) -> str:
    return "".join(c.lower() if c.isalnum() else "_" for c in text).strip("_")


def _html_table(frame: pd.DataFrame, *, index: bool = False) -> str:
    return frame.to_html(index=index, border=0, classes="tbl", na_rep="n/a",
                         float_format=lambda v: f"{v:,.3g}" if abs(v) < 1000 else f"{v:,.0f}")


def _env():
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
    out = Path(out)
    if os.path.lexists(out) and not overwrite:
        raise OutputError(f"{out}: report folder exists; pass overwrite=True (--overwrite) "
                          "or choose another --name")
    check_replaceable(out, overwrite=overwrite, folder=True, owned=is_report_folder,
                      what="report")
    cfg = inputs.config
    bands = {k: _shown(make_bands(v), cfg) for k, v in inputs.ensembles.items()}
    probs = peak_probability_table(inputs.ensembles, cfg, inputs.titles)
    shown = _shown(inputs.scenarios, cfg)
    summary = summary_table(shown, cfg, inputs.titles)
    headline = headline_table(shown, cfg, inputs.titles)
    figs = _figures(dataclasses.replace(inputs, scenarios=shown), bands, probs)
    readme = cfg.resolve(cfg.data_readme)
    caveats = read_caveats(readme) + list(cfg.caveats)
    if readme is not None and not readme.is_file():
        caveats.insert(0, f"The data README ({readme}) was not found: its caveats are missing.")
    assumptions = list(cfg.assumptions) + [f"(*) {c.note}" for c in cfg.changes if c.note]
    calib = None
    if inputs.calibration is not None:
        stats = getattr(inputs.calibration, "statistics", None)
        calib = {"fit overview": fit_overview(stats, getattr(inputs.calibration,
                                                               "observed_vs_simulated", None)),
                 "parameters": parameter_table(inputs.calibration.to_frame()),
                 "statistics": statistics_table(stats)}
    if probs is not None:
        probs.index.name, probs.columns.name = "scenario", None
    provenance = {"generated": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
                  **{k: str(v) for k, v in inputs.provenance.items()}}
    context = dict(
        title=cfg.title, notes=list(inputs.notes), dimension=cfg.dimension,
        scenarios=[(n, inputs.titles.get(n, n)) for n in map(str, inputs.scenarios["scenario"]
                                                              .to_numpy())],
        summary_html=_html_table(summary), summary_md=markdown_table(summary),
        headline_html=None if headline is None else _html_table(headline),
        headline_md=None if headline is None else markdown_table(headline),
        totals_units=_totals_units(cfg), peaks=list(cfg.peaks), changes=list(cfg.changes),
        probs_html=None if probs is None else _html_table(probs.round(3), index=True),
        probs_md=None if probs is None else markdown_table(probs.round(3), index=True),
        members={inputs.titles.get(k, k): int(v.sizes["member"])
                 for k, v in inputs.ensembles.items()},
        method=list(cfg.method), limitations=_growth_notes(shown, cfg) + list(cfg.limitations),
        calib_notes=_paragraphs(calibration_notes(inputs.calibration)),
        sensitivity=inputs.sensitivity,
        sens_html=None if inputs.sensitivity is None else _html_table(_sens_top(inputs)),
        sens_md=None if inputs.sensitivity is None else markdown_table(_sens_top(inputs)),
        calib_html=None if calib is None else {k: _html_table(v, index=(k == "parameters"))
                                               for k, v in calib.items() if v is not None},
        calib_md=None if calib is None else {k: markdown_table(v, index=(k == "parameters"))
                                             for k, v in calib.items() if v is not None},
        calib_legend=CALIBRATION_LEGEND,
        figs=figs, caveats=caveats, assumptions=assumptions, provenance=provenance,
        peak=next((p for p in cfg.peaks if p.before is not None), None),
    )
    env = _env()
    html = embed_font(env.get_template("index.html.j2").render(**context))  # CJK font
    md = env.get_template("report.md.j2").render(**context)
    _write_folder(out, overwrite=overwrite, html=html, md=md, figs=figs, inputs=inputs,
                  summary=summary, headline=headline, bands=bands, probs=probs)
    return out / "index.html"


def _paragraphs(text: str) -> list[str]:
    return [" ".join(p.split()) for p in text.strip().split("\n\n") if p.strip()]


def _totals_units(cfg: ReportConfig) -> str:
    """"X in units, Y in units" for the totals named in the config."""
    units = {i.variable: i.units for i in cfg.indicators}
    return ", ".join(f"{t.label} in {units[t.variable]}" for t in cfg.totals
                     if t.statistic == "value" and units.get(t.variable))


def _growth_notes(ds, cfg: ReportConfig) -> list[str]:
    """Average yearly growth of the ``growth`` variable's baseline total from the projection
    start."""
    if (cfg.growth is None or cfg.projection_start is None or "baseline" not in ds["scenario"]
            or cfg.growth not in ds):
        return []
    total = ds[cfg.growth].sel(scenario="baseline")
    if cfg.dimension is not None:
        total = total.sum(cfg.dimension)
    times = [float(t) for t in ds["time"].to_numpy()]
    years = [cfg.projection_start, *cfg.summary_years]
    if not all(y in times for y in years):
        return []
    rates = []
    for a, b in zip(years, years[1:]):
        ratio = float(total.sel(time=b)) / float(total.sel(time=a))
        rates.append(f"{100 * (ratio ** (1 / (b - a)) - 1):.1f} %/yr in {a:g}-{b:g}")
    over = f" (summed over every {cfg.dimension.lower()})" if cfg.dimension else ""
    return [f"The baseline grows {cfg.growth}{over} by {' and '.join(rates)}."]


def _shown(ds, cfg: ReportConfig):
    """`ds` with each indicator in the units the report shows (``Indicator.scale``)."""
    return dataset_shown(ds, cfg.indicators)  # the one conversion, shared with `sdkit run`


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
        write_table(to_tidy(inputs.scenarios).set_index("variable"),
                    data / "scenarios.parquet", attrs=prov)
        write_table(summary.set_index("scenario"), data / "summary.csv")
        if headline is not None:
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

    sens = inputs.sensitivity
    meta = {
        "titles": dict(inputs.titles), "notes": list(inputs.notes),
        "provenance": {k: str(v) for k, v in inputs.provenance.items()},
        "sensitivity": None if sens is None else {"method": sens.method, "n": sens.n,
                                                   "runs": sens.runs, "seed": sens.seed},
        "specialization": None if inputs.specialization is None else {
            str(k): float(v) for k, v in inputs.specialization.items()},
        "specialization_note": inputs.specialization_note,
        "calibration_notes": calibration_notes(inputs.calibration),
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
