"""What a report computes before it renders: result tables, findings and figures.

Every table here is also written to ``data/`` (one CSV each, keyed by its
``row`` column), so the numbers of the findings can be checked against the
files, and a re-render without the Monte Carlo members reads the compact
tables back (``stored``) instead of recomputing them.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from sdkit.report import figures as F
from sdkit.report.calibration_figures import calibration_fit_figures
from sdkit.report.calibration_tables import calibration_targets
from sdkit.report.findings import findings, sensitivity_framing
from sdkit.report.tables import peak_column, peak_probability_table
from sdkit.report.tradeoff import (
    robustness_table,
    target_table,
    tradeoff_table,
    transfer_table,
)
from sdkit.report.tradeoff_figures import tradeoff_figure

__all__ = ["ReportFigure", "result_tables", "sensitivity_tables", "build_figures",
           "STORED_TABLES"]

#: tables read back from ``data/`` when the Monte Carlo members are not stored
STORED_TABLES = ("robustness", "peak_probability")


@dataclass(frozen=True)
class ReportFigure:
    slug: str
    title: str
    caption: str
    png: bytes
    svg: str

    @property
    def data_uri(self) -> str:
        return "data:image/png;base64," + base64.b64encode(self.png).decode("ascii")


def result_tables(inputs, shown, shown_ensembles: Mapping[str, object]) -> dict:
    """Trade-off, robustness, target, transfer and peak tables, and the findings."""
    cfg, titles = inputs.config, inputs.titles
    stored = dict(getattr(inputs, "stored", {}) or {})
    out = {"tradeoff": tradeoff_table(shown, cfg, titles),
           "target": target_table(shown, cfg, titles),
           "transfer": transfer_table(shown, cfg, titles)}
    if shown_ensembles:
        out["robustness"] = robustness_table(shown_ensembles, cfg, titles)
        out["peak_probability"] = peak_probability_table(shown_ensembles, cfg, titles)
    else:
        out.update({k: stored.get(k) for k in STORED_TABLES})
    out["findings"] = findings(out["tradeoff"], out["robustness"], out["target"], cfg,
                               transfer=out["transfer"], sensitivity=inputs.sensitivity)
    out["framing"] = sensitivity_framing(inputs.sensitivity, out["tradeoff"], cfg)
    return out


def _cell(row) -> str:
    flag = " (CI > index)" if row["index_conf"] > row["index"] else ""
    return f"{row['index']:.3f} ± {row['index_conf']:.3f}{flag}"


def sensitivity_tables(sens, cfg) -> dict[str, pd.DataFrame]:
    """Factor x outcome tables of "index ± CI" (flagged where the CI exceeds the index):
    the levers (``[[report.levers]]``) apart from the uncertain parameters."""
    if sens is None:
        return {}
    t = sens.table.copy()
    t["cell"] = t.apply(_cell, axis=1)
    levers = {lv.variable for lv in cfg.levers}
    out = {}
    for key, part in (("levers", t[t["factor"].isin(levers)]),
                      ("parameters", t[~t["factor"].isin(levers)])):
        if part.empty:
            continue
        pivot = part.pivot(index="label", columns="outcome", values="cell")
        pivot = pivot[list(dict.fromkeys(part["outcome"]))]
        pivot = pivot.loc[list(dict.fromkeys(part["label"]))]
        pivot.index.name, pivot.columns.name = "factor", None
        out[key] = pivot
    return out


def _per(cfg) -> str:
    return f" per {cfg.dimension.lower()}" if cfg.dimension else ""


def _slug(text: str) -> str:
    return "".join(c.lower() if c.isalnum() else "_" for c in text).strip("_")


def _observed(inputs):
    ovs = getattr(inputs.calibration, "observed_vs_simulated", None)
    return ovs if isinstance(ovs, pd.DataFrame) and len(ovs) else None


def build_figures(inputs, shown, bands: Mapping[str, object], tables: dict) -> dict[str, list]:
    """Every figure of the report, grouped by section."""
    cfg, titles = inputs.config, inputs.titles
    groups = ("tradeoff", "scenarios", "fans", "uncertainty", "sensitivity", "calibration",
              "structure")
    out: dict[str, list[ReportFigure]] = {g: [] for g in groups}

    def add(group, slug, title, caption, fig):
        png, svg = F.figure_bytes(fig)
        out[group].append(ReportFigure(slug, title, caption, png, svg))

    trade = tables.get("tradeoff")
    if trade is not None and cfg.summary_years:
        short = {lv.scenario: lv.label for lv in cfg.levers}
        add("tradeoff", "tradeoff", "Trade-off of the levers",
            "Each lever alone and the combinations: change against the baseline in % of the "
            "baseline (the numbers of the trade-off table); the arrow runs from the sum of "
            "the single levers to the combination (its length is the synergy).",
            tradeoff_figure(trade, cfg, labels={**dict(titles), **short}))
    observed = _observed(inputs)
    start = f" (dotted line: projection start, {cfg.projection_start:g})" \
        if cfg.projection_start is not None else ""
    for ind in cfg.indicators:
        if ind.variable in shown:
            add("scenarios", f"scenarios_{_slug(ind.variable)}", f"{ind.label} by scenario",
                f"{ind.label}{_per(cfg)}: level under every scenario with the observed data "
                "(dots) on the history, and the difference from the baseline, absolute and in "
                f"%{start}.", F.scenario_figure(shown, ind, cfg, titles, observed=observed))
    _uncertainty_figures(add, inputs, shown, bands, tables)
    _other_figures(add, inputs)
    return out


def _uncertainty_figures(add, inputs, shown, bands, tables) -> None:
    cfg, titles = inputs.config, inputs.titles
    for ind in cfg.indicators if bands else ():
        if ind.variable in next(iter(bands.values())):
            add("fans", f"fan_{_slug(ind.variable)}", f"{ind.label}: uncertainty",
                "Shaded: 5-95 % of the Monte Carlo members; dashed: their median; solid: the "
                "deterministic run with the calibrated values, which is the number every "
                "table and finding uses.", F.fan_figure(bands, ind, cfg, titles, runs=shown))
    probs = tables.get("peak_probability")
    peak = next((p for p in cfg.peaks if p.before is not None), None)
    if probs is not None and peak is not None and peak_column(peak) in probs:
        add("uncertainty", "peak_probability", f"{peak.label} peaks",
            f"Left: share of members whose {peak.label} peaks in the projection before "
            f"{peak.before:g} (peaks already in the history do not count). Right: share that "
            "had already peaked, kept apart.",
            F.peak_probability_figure(probs, cfg, peak=peak, column=peak_column(peak),
                                      titles=dict(titles)))


def _other_figures(add, inputs) -> None:
    cfg = inputs.config
    if inputs.sensitivity is not None:
        levers = [lv.variable for lv in cfg.levers]
        factors = set(inputs.sensitivity.table["factor"])
        groups = [("sensitivity_levers", "Sensitivity to the levers", set(levers) & factors),
                  ("sensitivity_parameters", "Sensitivity to the uncertain parameters",
                   factors - set(levers))]
        for slug, title, keep in groups:
            if keep:
                add("sensitivity", slug, title, "Total-order index with its 95 % confidence "
                    "interval; pale bars marked 'CI > index': the rank is not resolved.",
                    F.sensitivity_figure(inputs.sensitivity, factors=keep, title=title))
    if inputs.specialization is not None:
        add("structure", "specialization", "Relative specialization index",
            inputs.specialization_note,
            F.specialization_figure(inputs.specialization, cfg,
                                    title="Krugman relative specialization index"))
    observed = _observed(inputs)
    if observed is not None:  # one figure per model variable (sdkit.report.calibration_figures)
        for slug, title, caption, fig in calibration_fit_figures(
                observed, calibration_targets(inputs.calibration)):
            add("calibration", slug, title, caption, fig)
