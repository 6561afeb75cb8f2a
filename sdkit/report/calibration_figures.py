"""Calibration fit figures of the planner's report: one figure per model variable.

Each figure holds one panel per element (city) of the variable: the simulated
run as a line, the observations it was fitted to as dots, the hold-out years
(predicted, not fitted) as squares, and any second data source shown beside
the fit as crosses. The y axis carries the series' readable label and unit
(:func:`sdkit.report.calibration_tables.calibration_targets`), panel titles are the
element names only, and the layout is matplotlib's constrained layout, so
titles never overlap.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from sdkit.report.calibration_tables import guess_targets

__all__ = ["calibration_fit_figures"]

if TYPE_CHECKING:  # annotations only
    from matplotlib.figure import Figure

#: sample -> (marker, colour, legend text) of the observed points
_POINTS = {"fit": ("o", "k", "observed (fit window)"),
           "holdout": ("s", "C3", "observed (hold-out, not fitted)"),
           "outside": ("o", "0.6", "observed (outside the fit window)"),
           "shown": ("x", "C1", "second data source (not fitted)")}


def _new_figure(**kwargs) -> Figure:
    from matplotlib.figure import Figure  # heavy: matplotlib only when a figure is drawn

    return Figure(**kwargs)


def _targets(ovs: pd.DataFrame, targets: pd.DataFrame | None) -> pd.DataFrame:
    """The target table, or one guessed from the target names when none was stored."""
    if targets is not None and set(targets["target"]) >= set(ovs["target"]):
        return targets
    return guess_targets(ovs)


def _panel(ax, ovs: pd.DataFrame, rows: pd.DataFrame) -> None:
    from matplotlib.ticker import MaxNLocator  # heavy: matplotlib only when drawing

    parts = {r.target: ovs[ovs["target"] == r.target].sort_values("time")
             for r in rows.itertuples()}
    line = next((parts[r.target] for r in rows.itertuples() if r.fitted), None)
    line = line if line is not None else next(iter(parts.values()))
    few = len(line) < 3
    ax.plot(line["time"], line["simulated"], "x" if few else "-", color="C0", ms=8,
            label="simulated")
    for part in parts.values():
        for sample, (marker, color, text) in _POINTS.items():
            sel = part[part["sample"] == sample]
            if len(sel):
                ax.plot(sel["time"], sel["observed"], marker, color=color, ms=4,
                        linestyle="none", label=text)
    held = line.loc[line["sample"] == "holdout", "time"]
    if len(held):
        ax.axvspan(held.min() - 0.5, held.max() + 0.5, color="0.92", zorder=0)
    values = pd.concat([p[["observed", "simulated"]] for p in parts.values()]).to_numpy(float)
    top = float(np.nanmax(values)) if np.isfinite(values).any() else 1.0
    if few:  # one or two points: show them against zero, not a zoomed rounding error
        ax.set_xlim(line["time"].min() - 2, line["time"].max() + 2)
    ax.set_ylim(0, 1.08 * top if top > 0 else 1)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=5))
    ax.ticklabel_format(axis="y", useOffset=False, style="plain")
    ax.grid(alpha=0.3)


def _variable_figure(ovs: pd.DataFrame, rows: pd.DataFrame, ylabel: str) -> Figure:
    elements = list(dict.fromkeys(rows["element"]))
    cols = min(len(elements), 4)
    nrows = math.ceil(len(elements) / cols)
    fig = _new_figure(figsize=(3.0 * cols + 0.6, 2.5 * nrows + 0.7), layout="constrained")
    axes = fig.subplots(nrows, cols, squeeze=False)
    for ax, el in zip(axes.ravel(), elements):
        _panel(ax, ovs, rows[rows["element"] == el])
        if el:
            ax.set_title(el, fontsize=10)
    for ax in axes.ravel()[len(elements):]:
        ax.set_visible(False)
    for row in axes:
        row[0].set_ylabel(ylabel, fontsize=9)
    handles, labels = {}, []
    for ax in axes.ravel()[:len(elements)]:
        for h, text in zip(*ax.get_legend_handles_labels()):
            if text not in handles:
                handles[text] = h
                labels.append(text)
    fig.legend([handles[t] for t in labels], labels, loc="outside lower center",
               ncol=min(len(labels), 4), fontsize=8, frameon=False)
    return fig


def calibration_fit_figures(ovs: pd.DataFrame, targets: pd.DataFrame | None = None,
                            ) -> list[tuple[str, str, str, Figure]]:
    """Observed vs simulated, one figure per model variable.

    Parameters
    ----------
    ovs : pandas.DataFrame
        ``target, time, observed, simulated, sample`` rows (a calibration's
        ``observed_vs_simulated``).
    targets : pandas.DataFrame, optional
        :func:`~sdkit.report.calibration_tables.calibration_targets`; without it,
        labels come from the target names and units are not shown.

    Returns
    -------
    list of (slug, title, caption, Figure)
    """
    table = _targets(ovs, targets)
    table = table[table["target"].isin(set(ovs["target"]))]
    out = []
    for variable, rows in table.groupby("variable", sort=False):
        fitted = rows[rows["fitted"]]
        main = fitted if len(fitted) else rows
        label = str(main["label"].iloc[0])
        unit = next((str(u) for u in main["unit"] if str(u)), "")
        ylabel = f"{label}\n[{unit}]" if unit else label
        slug = "calibration_" + "".join(c.lower() if c.isalnum() else "_"
                                        for c in str(variable)).strip("_")
        caption = (f"{label}{f' [{unit}]' if unit else ''}: simulated (line) against the data "
                   "per element; dots: fit window; squares on grey: hold-out years, "
                   "predicted, not fitted")
        if not rows["fitted"].all():
            caption += "; crosses: a second data source, shown, not fitted"
        out.append((slug, f"Calibration fit: {label}", caption + ".",
                    _variable_figure(ovs, rows, ylabel)))
    return out
