"""Report figures: every function returns a :class:`matplotlib.figure.Figure`.

Figures are drawn on ``Figure`` objects directly: no pyplot state and no
backend switch, so a user's plotting session is left as it was.

Each element of the report's dimension (each city) keeps one colour in
every figure (:meth:`ReportConfig.color`); scenarios are told apart by line
style and the legend.
"""

from __future__ import annotations

import io
import math
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from sdkit.report.fonts import figure_fonts

__all__ = ["figure_bytes", "scenario_figure", "fan_figure", "peak_probability_figure",
           "sensitivity_figure", "specialization_figure", "fit_figure"]

if TYPE_CHECKING:  # annotations only
    from matplotlib.figure import Figure


def _new_figure(**kwargs) -> Figure:
    """A :class:`matplotlib.figure.Figure` (matplotlib is imported on first use)."""
    from matplotlib.figure import Figure  # heavy: matplotlib only when a figure is drawn

    return Figure(**kwargs)

_STYLES = ("-", "--", "-.", ":", (0, (5, 1)), (0, (3, 1, 1, 1, 1, 1)), (0, (1, 3)))


def figure_bytes(fig) -> tuple[bytes, str]:
    """PNG bytes and SVG text of `fig`."""
    png, svg = io.BytesIO(), io.StringIO()
    with figure_fonts(fig):  # CJK text falls back to the bundled font (sdkit.report.fonts)
        fig.savefig(png, format="png", dpi=100, bbox_inches="tight")
        fig.savefig(svg, format="svg", bbox_inches="tight")
    return png.getvalue(), svg.getvalue()


def _grid(n: int, *, width: float = 5.0, height: float = 3.2, sharex: bool = True):
    cols = 2 if n > 1 else 1
    rows = math.ceil(n / cols)
    fig = _new_figure(figsize=(width * cols, height * rows))
    axes = fig.subplots(rows, cols, squeeze=False, sharex=sharex)
    flat = list(axes.ravel())
    for ax in flat[n:]:
        ax.set_visible(False)
    return fig, flat[:n]


def _scenario_style(names: list[str]) -> dict[str, object]:
    return {s: _STYLES[i % len(_STYLES)] for i, s in enumerate(names)}


def _elements(da, config) -> list:
    """Panels: one per element of the report's dimension, or one (None) without one."""
    if config.dimension is None:
        return [None]
    return [str(e) for e in da[config.dimension].to_numpy()]


def _sel(da, config, el):
    return da if el is None else da.sel({config.dimension: el})


def scenario_figure(ds, indicator, config, titles: dict[str, str]):
    """One panel per element (city): the indicator under every scenario."""
    da = ds[indicator.variable]
    elements = _elements(da, config)
    scenarios = [str(s) for s in da["scenario"].to_numpy()]
    from matplotlib import colormaps  # heavy: matplotlib only when drawing

    cmap = colormaps["tab10" if len(scenarios) <= 10 else "tab20"]
    fig, axes = _grid(len(elements))
    for ax, el in zip(axes, elements):
        for i, s in enumerate(scenarios):
            series = _sel(da, config, el).sel(scenario=s)
            ax.plot(series["time"], series, color=cmap(i % cmap.N),
                    lw=2.2 if i == len(scenarios) - 1 else 1.4,
                    ls="--" if s == "baseline" else "-", label=titles.get(s, s))
        if config.projection_start is not None:
            ax.axvline(config.projection_start, color="0.6", lw=0.8, ls=":")
        if el is not None:
            ax.set_title(el, color=config.color(el, elements), fontweight="bold")
        ax.set_ylabel(indicator.units or indicator.label)
        ax.grid(alpha=0.3)
    axes[-1].set_xlabel("year")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=min(4, len(labels)),
               bbox_to_anchor=(0.5, -0.02), frameon=False, fontsize=8)
    fig.suptitle(f"{indicator.label} by scenario ({indicator.units})" if indicator.units
                 else f"{indicator.label} by scenario")
    fig.tight_layout(rect=(0, 0.06, 1, 0.97))
    return fig


def fan_figure(bands_by_scenario: dict, indicator, config, titles: dict[str, str], *,
               runs=None):
    """Fan chart: 5-95 % band and median per element (city), one style per scenario.

    `runs` (optional, ``(scenario, time, element)``) adds each scenario's
    deterministic run (calibrated point values) as a thin black line.
    """
    first = next(iter(bands_by_scenario.values()))[indicator.variable]
    elements = _elements(first, config)
    since = (config.projection_start - 1 if config.projection_start is not None
             else -np.inf)
    style = _scenario_style(list(bands_by_scenario))
    fig, axes = _grid(len(elements))
    for ax, el in zip(axes, elements):
        color = config.color(el, elements) if el is not None else "#1f77b4"
        for k, (name, q) in enumerate(bands_by_scenario.items()):
            da = _sel(q[indicator.variable], config, el)
            da = da.sel(time=da["time"] >= since)
            lo, mid, hi = (da.sel(quantile=v, method="nearest") for v in (0.05, 0.5, 0.95))
            ax.fill_between(da["time"], lo, hi, color=color, alpha=0.35 if k == 0 else 0.18,
                            hatch=None if k == 0 else "//", lw=0,
                            label=f"{titles.get(name, name)}: 5-95 %")
            ax.plot(da["time"], mid, color=color, ls=style[name], lw=1.8,
                    label=f"{titles.get(name, name)}: median")
            if runs is not None and indicator.variable in runs and name in runs["scenario"]:
                det = _sel(runs[indicator.variable], config, el).sel(scenario=name)
                det = det.sel(time=det["time"] >= since)
                ax.plot(det["time"], det, color="k", ls=style[name], lw=0.9,
                        label=f"{titles.get(name, name)}: calibrated run")
        if el is not None:
            ax.set_title(el, color=color, fontweight="bold")
        ax.set_ylabel(indicator.units or indicator.label)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="best")
    axes[-1].set_xlabel("year")
    fig.suptitle(f"{indicator.label}: Monte Carlo 5-50-95 % bands"
                 + (f" ({indicator.units})" if indicator.units else ""))
    fig.tight_layout(rect=(0, 0, 1, 0.96))
    return fig


def peak_probability_figure(probs: pd.DataFrame, config, *, peak):
    """Grouped bars: probability of a peak before ``peak.before``, scenario x element."""
    elements = list(map(str, probs.columns))
    fig = _new_figure(figsize=(8, 3.6))
    ax = fig.subplots()
    width = 0.8 / max(len(elements), 1)
    x = np.arange(len(probs.index))
    for i, el in enumerate(elements):
        ax.bar(x + i * width - 0.4 + width / 2, probs[el], width,
               color=config.color(el, elements), label=el if config.dimension else None)
    ax.set_xticks(x, list(probs.index), rotation=15)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("probability (share of members)")
    ax.set_title(f"Probability that {peak.label} peaks before {peak.before:g}")
    if config.dimension:
        ax.legend(fontsize=8, ncol=len(elements))
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return fig


def sensitivity_figure(result):
    """Horizontal bars of the ranking index per outcome, with confidence intervals."""
    table = result.table
    outcomes = list(dict.fromkeys(table["outcome"]))
    fig, axes = _grid(len(outcomes), width=5.2, height=0.45 * table["factor"].nunique() + 1.4,
                      sharex=False)
    for ax, outcome in zip(axes, outcomes):
        part = table[table["outcome"] == outcome].sort_values("index")
        ax.barh(part["label"], part["index"], xerr=part["index_conf"].clip(lower=0),
                color="#4c72b0", ecolor="0.4", capsize=2)
        ax.set_title(outcome, fontsize=10)
        ax.set_xlabel("total-order index ST" if result.method == "sobol"
                      else "mu* / std(outcome)")
        ax.tick_params(axis="x", labelbottom=True)
        ax.grid(axis="x", alpha=0.3)
    fig.suptitle(f"Sensitivity ranking ({'Sobol' if result.method == 'sobol' else 'Morris'}, "
                 f"N = {result.n}, {result.runs} runs)")
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    return fig


def specialization_figure(index: pd.Series, config, *, title: str):
    """Bars of the Krugman relative specialization index per element."""
    elements = list(map(str, index.index))
    fig = _new_figure(figsize=(6, 3.2))
    ax = fig.subplots()
    ax.bar(elements, index.to_numpy(), color=[config.color(e, elements) for e in elements])
    for x, v in enumerate(index.to_numpy()):
        ax.text(x, v, f"{v:.3f}", ha="center", va="bottom", fontsize=8)
    ax.set_ylabel("K (0 = same structure, 2 = none shared)")
    ax.set_title(title, fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return fig


def fit_figure(observed_vs_simulated: pd.DataFrame):
    """Observed (dots) and simulated (lines) for each calibration target."""
    from matplotlib.ticker import MaxNLocator  # heavy: matplotlib only when drawing

    targets = list(dict.fromkeys(observed_vs_simulated["target"]))
    fig, axes = _grid(len(targets), width=4.2, height=2.6, sharex=False)
    for ax, t in zip(axes, targets):
        part = observed_vs_simulated[observed_vs_simulated["target"] == t].sort_values("time")
        few = len(part) < 3
        ax.plot(part["time"], part["simulated"], "x" if few else "-", color="#4c72b0",
                ms=8, label="simulated")
        ax.plot(part["time"], part["observed"], "o", color="k", ms=3, label="observed")
        if "sample" in part:
            held = part.loc[part["sample"] == "holdout", "time"]
            if len(held):
                ax.axvspan(held.min() - 0.5, held.max() + 0.5, color="0.9", zorder=0,
                           label="hold-out")
        if few:  # one or two points: show them against zero, not a zoomed rounding error
            ax.set_xlim(part["time"].min() - 2, part["time"].max() + 2)
            top = float(np.nanmax(part[["observed", "simulated"]].to_numpy()))
            ax.set_ylim(0, 1.15 * top if top > 0 else 1)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=5))
        ax.ticklabel_format(axis="y", useOffset=False, style="plain")
        ax.set_title(str(t), fontsize=9)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    fig.suptitle("Calibration fit: observed (dots) vs simulated (lines); grey = hold-out years")
    fig.tight_layout(rect=(0, 0, 1, 0.96))
    return fig
