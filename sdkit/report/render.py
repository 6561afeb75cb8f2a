"""Write a report folder: ``index.html`` (self-contained), ``report.md``, figures, data.

The folder is built under a temporary name beside the target and renamed
into place at the end, so a failed run never leaves half a report; an
existing folder is replaced only with ``overwrite=True``.
"""

from __future__ import annotations

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
from sdkit.report.calibration_tables import (
    CALIBRATION_LEGEND,
    calibration_notes,
    calibration_section,
    calibration_warnings,
    write_calibration_extras,
)
from sdkit.report.config import ReportConfig
from sdkit.report.fonts import embed_font, report_fonts
from sdkit.report.sections import build_figures, result_tables, sensitivity_tables
from sdkit.report.tables import (
    bands_table,
    headline_table,
    markdown_table,
    read_caveats,
    summary_table,
)
from sdkit.report.units import dataset_shown

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
    bands : mapping
        Scenario -> ``(quantile, time, ...)`` bands, used when `ensembles` is
        empty (a re-render from the committed ``bands.parquet``).
    stored : mapping
        Tables read back from a report's ``data/`` (``robustness``,
        ``peak_probability``), used when `ensembles` is empty.
    members : mapping
        Scenario -> Monte Carlo members, when `ensembles` is empty.
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
    bands: Mapping[str, object] = field(default_factory=dict)
    stored: Mapping[str, pd.DataFrame] = field(default_factory=dict)
    members: Mapping[str, int] = field(default_factory=dict)


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
    cfg = inputs.config.with_scenario_colors(
        [str(n) for n in inputs.scenarios["scenario"].to_numpy()])
    inputs = dataclasses.replace(inputs, config=cfg)
    shown = _shown(inputs.scenarios, cfg)
    shown_ens = {k: _shown(v, cfg) for k, v in inputs.ensembles.items()}
    bands = ({k: make_bands(v) for k, v in shown_ens.items()} if shown_ens
             else dict(inputs.bands))
    tables = result_tables(inputs, shown, shown_ens)
    tables["summary"] = summary_table(shown, cfg, inputs.titles)
    tables["headline"] = headline_table(shown, cfg, inputs.titles)
    with report_fonts():  # layouts measure CJK text with the bundled font
        figs = build_figures(inputs, shown, bands, tables)
    context = _context(inputs, shown, tables, figs, bands)
    env = _env()
    html = embed_font(env.get_template("index.html.j2").render(**context))  # CJK font
    md = env.get_template("report.md.j2").render(**context)
    _write_folder(out, overwrite=overwrite, html=html, md=md, figs=figs, inputs=inputs,
                  tables=tables, bands=bands)
    return out / "index.html"


def _both(frame: pd.DataFrame | None, *, index: bool = False, drop=("row",)):
    """(HTML, Markdown) of a table without its key column, or (None, None)."""
    if frame is None:
        return None, None
    shown = frame.drop(columns=[c for c in drop if c in frame.columns])
    return _html_table(shown, index=index), markdown_table(shown, index=index)


def _members(inputs: ReportInputs) -> dict[str, int]:
    if inputs.ensembles:
        return {inputs.titles.get(k, k): int(v.sizes["member"])
                for k, v in inputs.ensembles.items()}
    if not (inputs.bands or inputs.stored):  # nothing from a Monte Carlo run to show
        return {}
    return {inputs.titles.get(k, k): int(v) for k, v in inputs.members.items()}


def _context(inputs: ReportInputs, shown, tables: dict, figs, bands) -> dict:
    """Everything the two templates show."""
    cfg = inputs.config
    readme = cfg.resolve(cfg.data_readme)
    caveats = read_caveats(readme) + list(cfg.caveats)
    if readme is not None and not readme.is_file():
        caveats.insert(0, f"The data README ({readme}) was not found: its caveats are missing.")
    calib = calibration_section(inputs.calibration)
    provenance = {"generated": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
                  **{k: str(v) for k, v in inputs.provenance.items()}}
    html = {k: _both(tables.get(k)) for k in ("summary", "headline", "tradeoff", "robustness",
                                               "target", "peak_probability")}
    sens = {k: _both(v, index=True) for k, v in sensitivity_tables(inputs.sensitivity,
                                                                   cfg).items()}
    return dict(
        title=cfg.title, notes=list(inputs.notes), dimension=cfg.dimension,
        scenarios=[(n, inputs.titles.get(n, n)) for n in map(str, inputs.scenarios["scenario"]
                                                              .to_numpy())],
        tables=html, findings=tables["findings"], framing=tables["framing"],
        totals_units=_totals_units(cfg), peaks=list(cfg.peaks), changes=list(cfg.changes),
        members=_members(inputs), has_bands=bool(bands), sens_tables=sens,
        method=list(cfg.method), limitations=_growth_notes(shown, cfg) + list(cfg.limitations),
        calib_notes=_paragraphs(calibration_notes(inputs.calibration)),
        sensitivity=inputs.sensitivity,
        calib_html=None if calib is None else {k: _html_table(v, index=(k == "parameters"))
                                               for k, v in calib.items() if v is not None},
        calib_md=None if calib is None else {k: markdown_table(v, index=(k == "parameters"))
                                             for k, v in calib.items() if v is not None},
        calib_legend=CALIBRATION_LEGEND, figs=figs, caveats=caveats,
        calib_warnings=calibration_warnings(inputs.calibration),
        assumptions=list(cfg.assumptions) + [f"(*) {c.note}" for c in cfg.changes if c.note],
        provenance=provenance, peak=next((p for p in cfg.peaks if p.before is not None), None),
        tradeoff=cfg.tradeoff, target=cfg.target,
    )


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


def is_report_folder(path: Path) -> bool:
    """True for an empty folder or one holding a report (``index.html`` or ``data/inputs.json``)."""
    try:
        return (not any(path.iterdir()) or (path / "index.html").is_file()
                or (path / "data" / "inputs.json").is_file())
    except OSError:
        return False


#: result tables written to ``data/`` as CSV (file stem -> key column)
_CSV_TABLES = {"summary": "scenario", "headline": "scenario", "tradeoff": "row",
               "robustness": "row", "target": "row", "transfer": "row",
               "peak_probability": "scenario"}


def _write_folder(out: Path, *, overwrite: bool, html: str, md: str, figs, inputs,
                  tables, bands) -> None:
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
        for name, key in _CSV_TABLES.items():
            if tables.get(name) is not None:
                write_table(tables[name].set_index(key), data / f"{name}.csv")
        if bands:
            write_table(bands_table(bands).set_index("variable"), data / "bands.parquet",
                        attrs=prov)
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
        "members": {k: int(v.sizes["member"]) for k, v in inputs.ensembles.items()}
        or dict(inputs.members),
    }
    atomic_write_text(data / "inputs.json", json.dumps(meta, indent=2))
    calib = inputs.calibration
    if calib is not None:
        write_table(calib.to_frame(), data / "calibration_parameters.csv")
        for key in ("statistics", "observed_vs_simulated"):
            table = getattr(calib, key, None)
            if isinstance(table, pd.DataFrame):
                write_table(table, data / f"calibration_{key}.csv")
        write_calibration_extras(calib, data)  # labels, units, sources, warnings


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
