"""Report figures: every function returns a :class:`matplotlib.figure.Figure`.

Figures are drawn on ``Figure`` objects directly: no pyplot state and no
backend switch, so a user's plotting session is left as it was.

Colours have one role: each scenario keeps one colour in every figure
(:meth:`ReportConfig.color`; the baseline dark grey). Elements of the
report's dimension (cities) are told apart by panel titles and axis labels,
never by colour.
"""

from __future__ import annotations

import io
import math
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from sdkit.report.fonts import figure_fonts

__all__ = ["figure_bytes", "compact_png", "scenario_figure", "fan_figure",
           "peak_probability_figure", "sensitivity_figure", "specialization_figure"]

if TYPE_CHECKING:  # annotations only
    from matplotlib.figure import Figure


def _new_figure(**kwargs) -> Figure:
    """A :class:`matplotlib.figure.Figure` (matplotlib is imported on first use)."""
    from matplotlib.figure import Figure  # heavy: matplotlib only when a figure is drawn

    return Figure(**kwargs)



def figure_bytes(fig) -> tuple[bytes, str]:
    """PNG bytes (a 256-colour palette image, see :func:`compact_png`) and SVG text of `fig`."""
    png, svg = io.BytesIO(), io.StringIO()
    with figure_fonts(fig):  # CJK text falls back to the bundled font (sdkit.report.fonts)
        fig.savefig(png, format="png", dpi=100, bbox_inches="tight")
        fig.savefig(svg, format="svg", bbox_inches="tight")
    return compact_png(png.getvalue()), svg.getvalue()


def compact_png(png: bytes) -> bytes:
    """`png` as a 256-colour palette PNG, without dithering.

    Charts hold few colours (lines, flat bands and their anti-aliased edges), so
    the palette loses nothing visible while the file shrinks about threefold:
    the self-contained HTML page embeds every figure (IIS: 4.4 MB -> 1.4 MB).
    """
    from PIL import Image  # heavy: Pillow (matplotlib's own dependency) only when drawing

    image = Image.open(io.BytesIO(png)).convert("RGB")
    palette = image.quantize(colors=256, method=Image.Quantize.MEDIANCUT,
                             dither=Image.Dither.NONE)
    out = io.BytesIO()
    palette.save(out, format="PNG", optimize=True)
    return out.getvalue()


def _grid(n: int, *, width: float = 5.0, height: float = 3.2, sharex: bool = True):
    cols = 2 if n > 1 else 1
    rows = math.ceil(n / cols)
    fig = _new_figure(figsize=(width * cols, height * rows))
    axes = fig.subplots(rows, cols, squeeze=False, sharex=sharex)
    flat = list(axes.ravel())
    for ax in flat[n:]:
        ax.set_visible(False)
    return fig, flat[:n]


def _elements(da, config) -> list:
    """Panels: one per element of the report's dimension, or one (None) without one."""
    if config.dimension is None:
        return [None]
    return [str(e) for e in da[config.dimension].to_numpy()]


def _sel(da, config, el):
    return da if el is None else da.sel({config.dimension: el})


def _scenario_colors(names: list[str], config) -> dict[str, str]:
    """One colour per scenario (the baseline dark grey): the only role that has colours."""
    rest = [n for n in names if n != "baseline"]
    return {n: ("#444444" if n == "baseline" else config.color(n, rest)) for n in names}


def _observed(observed, variable: str, el, scale: float):
    """Observed points of `variable` (``Variable[element]`` targets of the calibration)."""
    if observed is None or not len(observed):
        return None
    name = variable if el is None else f"{variable}[{el}]"
    part = observed[observed["target"] == name]
    return None if part.empty else (part["time"], part["observed"] * scale)


def _bottom_legend(fig, axes, ncol: int = 4) -> None:
    handles, labels = [], []
    for ax in axes:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            if lab not in labels:
                handles.append(h)
                labels.append(lab)
    fig.legend(handles, labels, loc="lower center", ncol=min(ncol, max(len(labels), 1)),
               bbox_to_anchor=(0.5, 0.0), frameon=False, fontsize=8)


def scenario_figure(ds, indicator, config, titles: dict[str, str], *, observed=None):
    """Per element (row): the level under every scenario with observed points, and the
    difference from the baseline, absolute and in %.

    Scenarios are told apart by colour (:meth:`ReportConfig.color`), elements by the row
    titles only. Level axes of a non-negative indicator start at zero.
    """
    da = ds[indicator.variable]
    elements = _elements(da, config)
    names = [str(s) for s in da["scenario"].to_numpy()]
    colors = _scenario_colors(names, config)
    has_base = "baseline" in names
    ncol = 3 if has_base else 1
    fig = _new_figure(figsize=(4.2 * ncol, 2.5 * len(elements) + 1.2))
    axes = fig.subplots(len(elements), ncol, squeeze=False, sharex=True)
    units = indicator.units or indicator.label
    for row, el in zip(axes, elements):
        level = _sel(da, config, el)
        for s in names:
            kw = dict(color=colors[s], lw=1.3, label=titles.get(s, s),
                      ls="--" if s == "baseline" else "-")
            row[0].plot(level["time"], level.sel(scenario=s), **kw)
            if has_base and s != "baseline":
                diff = level.sel(scenario=s) - level.sel(scenario="baseline")
                row[1].plot(level["time"], diff, **kw)
                base = level.sel(scenario="baseline")
                row[2].plot(level["time"], 100 * diff / base.where(base != 0), **kw)
        obs = _observed(observed, indicator.variable, el, indicator.scale)
        if obs is not None:
            row[0].plot(*obs, "o", color="k", ms=2.5, label="observed (calibration data)")
        if float(level.min()) >= 0:
            row[0].set_ylim(bottom=0)
        row[0].set_ylabel(f"{el}\n{units}" if el is not None else units, fontsize=8)
        for ax in row:
            if config.projection_start is not None:
                ax.axvline(config.projection_start, color="0.6", lw=0.8, ls=":")
            ax.grid(alpha=0.3)
            ax.tick_params(labelsize=7)
        if has_base:
            row[1].axhline(0, color="#444444", lw=0.8, ls="--")
            row[2].axhline(0, color="#444444", lw=0.8, ls="--")
            row[1].set_ylabel(units, fontsize=8)
            row[2].set_ylabel("%", fontsize=8)
    top = axes[0]
    top[0].set_title("level", fontsize=9)
    if has_base:
        top[1].set_title("difference from the baseline", fontsize=9)
        top[2].set_title("difference from the baseline, %", fontsize=9)
    for ax in axes[-1]:
        ax.set_xlabel("year")
    _bottom_legend(fig, list(axes.ravel()), ncol=3)
    fig.suptitle(f"{indicator.label} by scenario" + (f" ({units})" if indicator.units else ""))
    fig.tight_layout(rect=(0, 0.035 * (2 + len(names) // 3) / max(len(elements), 1) * 2,
                           1, 0.97))
    return fig


def fan_figure(bands_by_scenario: dict, indicator, config, titles: dict[str, str], *,
               runs=None):
    """Fan chart per element: each scenario's 5-95 % band (its own hue), its median (dashed)
    and its deterministic run (solid, the number the tables use), over every saved time.

    The legend sits below the panels, never on the bands.
    """
    first = next(iter(bands_by_scenario.values()))[indicator.variable]
    elements = _elements(first, config)
    names = list(bands_by_scenario)
    all_names = names if runs is None else [str(s) for s in runs["scenario"].to_numpy()]
    colors = _scenario_colors(all_names, config)
    fig, axes = _grid(len(elements))
    for ax, el in zip(axes, elements):
        for name, q in bands_by_scenario.items():
            da = _sel(q[indicator.variable], config, el)
            lo, mid, hi = (da.sel(quantile=v, method="nearest") for v in (0.05, 0.5, 0.95))
            c, title = colors[name], titles.get(name, name)
            ax.fill_between(da["time"], lo, hi, color=c, alpha=0.25, lw=0,
                            label=f"{title}: 5-95 % of members")
            ax.plot(da["time"], mid, color=c, ls="--", lw=1.2, label=f"{title}: median")
            if runs is not None and indicator.variable in runs and name in runs["scenario"]:
                det = _sel(runs[indicator.variable], config, el).sel(scenario=name)
                ax.plot(det["time"], det, color=c, ls="-", lw=1.0,
                        label=f"{title}: calibrated run (tables)")
        if float(first.min()) >= 0:
            ax.set_ylim(bottom=0)
        if config.projection_start is not None:
            ax.axvline(config.projection_start, color="0.6", lw=0.8, ls=":")
        if el is not None:
            ax.set_title(el, fontsize=10)
        ax.set_ylabel(indicator.units or indicator.label, fontsize=8)
        ax.grid(alpha=0.3)
    axes[-1].set_xlabel("year")
    _bottom_legend(fig, axes, ncol=3)
    fig.suptitle(f"{indicator.label}: Monte Carlo 5-50-95 % bands"
                 + (f" ({indicator.units})" if indicator.units else ""))
    fig.tight_layout(rect=(0, 0.12 / max(math.ceil(len(elements) / 2), 1), 1, 0.96))
    return fig


def peak_probability_figure(probs: pd.DataFrame, config, *, peak, column: str,
                            titles: dict[str, str] | None = None):
    """Grouped bars per element: share of members peaking in the projection before
    ``peak.before`` (left) and share already peaked (right), one colour per scenario."""
    dim = config.dimension
    scen = list(dict.fromkeys(probs["scenario"]))
    els = list(dict.fromkeys(probs[dim])) if dim else [None]
    by_title = {v: k for k, v in (titles or {}).items()}
    names = [by_title.get(s, s) for s in scen]
    colors = dict(zip(scen, _scenario_colors(names, config).values()))
    cols = [c for c in (column, "share already peaked") if c in probs]
    fig = _new_figure(figsize=(5 * len(cols), 3.4))
    axes = fig.subplots(1, len(cols), squeeze=False)[0]
    width = 0.8 / max(len(scen), 1)
    x = np.arange(len(els))
    for ax, col in zip(axes, cols):
        for i, s in enumerate(scen):
            part = probs[probs["scenario"] == s]
            vals = [float(part.loc[part[dim] == e, col].iloc[0]) if dim
                    else float(part[col].iloc[0]) for e in els]
            ax.bar(x + i * width - 0.4 + width / 2, vals, width, color=colors[s], label=s)
        ax.set_xticks(x, [str(e) if e is not None else "" for e in els])
        ax.set_ylim(0, 1.05)
        ax.set_ylabel("share of members")
        ax.set_title(col, fontsize=9)
        ax.grid(axis="y", alpha=0.3)
    _bottom_legend(fig, [axes[0]], ncol=3)
    fig.suptitle(f"{peak.label}: future peaks and peaks already in the history")
    fig.tight_layout(rect=(0, 0.1, 1, 0.93))
    return fig


def sensitivity_figure(result, *, factors=None, title: str = "Sensitivity ranking"):
    """Horizontal bars of the ranking index with its confidence interval, per outcome.

    `factors` (names) keeps a subset, e.g. the levers or the uncertain
    parameters. Bars whose interval is wider than the index are drawn pale and
    marked "CI > index": their rank is not resolved. Neutral greys: colours
    belong to scenarios.
    """
    table = result.table if factors is None else result.table[
        result.table["factor"].isin(list(factors))]
    outcomes = list(dict.fromkeys(table["outcome"]))
    fig, axes = _grid(len(outcomes), width=5.2, height=0.38 * table["factor"].nunique() + 1.4,
                      sharex=False)
    for ax, outcome in zip(axes, outcomes):
        part = table[table["outcome"] == outcome].sort_values("index")
        unresolved = (part["index_conf"] > part["index"]).to_numpy()
        ax.barh(part["label"], part["index"], xerr=part["index_conf"].clip(lower=0),
                color=["#d9d9d9" if u else "#6b6b6b" for u in unresolved],
                ecolor="0.3", capsize=2)
        for k, u in enumerate(unresolved):
            if u:
                ax.text(0, k, "  CI > index", va="center", fontsize=6, color="0.35")
        ax.set_title(outcome, fontsize=9)
        ax.set_xlabel("total-order index ST (bar: 95 % CI)" if result.method == "sobol"
                      else "mu* / std(outcome) (bar: CI)", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.set_xlim(left=0)
        ax.grid(axis="x", alpha=0.3)
    fig.suptitle(f"{title} ({'Sobol' if result.method == 'sobol' else 'Morris'}, "
                 f"N = {result.n}, {result.runs} runs)")
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    return fig


def specialization_figure(index: pd.Series, config, *, title: str):
    """Bars of the Krugman relative specialization index per element."""
    elements = list(map(str, index.index))
    fig = _new_figure(figsize=(6, 3.2))
    ax = fig.subplots()
    ax.bar(elements, index.to_numpy(), color="#8c8c8c")  # elements carry no colour
    for x, v in enumerate(index.to_numpy()):
        ax.text(x, v, f"{v:.3f}", ha="center", va="bottom", fontsize=8)
    ax.set_ylabel("K (0 = same structure, 2 = none shared)")
    ax.set_title(title, fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return fig
