"""Trade-off figure: each lever and the combination as a point, benefit change against
burden change, with the sum of the singles and the lever costs."""

from __future__ import annotations

import pandas as pd

from sdkit.report.tradeoff import SUM_ROW, SYNERGY_ROW, column, cost_column, label_of

__all__ = ["tradeoff_figure"]


def tradeoff_figure(trade: pd.DataFrame, config, *, labels: dict[str, str]):
    """One panel per summary year (change of benefit vs change of burden, in % of the
    baseline) and a bar panel of the lever costs.

    `labels` maps a scenario name to its short label (the lever's, else the title).
    The arrow runs from the sum of the single levers to the combination: its length
    is the synergy.
    """
    from matplotlib.figure import Figure  # heavy: matplotlib only when a figure is drawn

    t = config.tradeoff
    years = list(config.summary_years)
    f = trade.set_index("row")
    rows = [r for r in f.index if r not in (SUM_ROW, SYNERGY_ROW)]
    has_cost = bool(t.cost) and cost_column(config, years[-1]) in f.columns
    fig = Figure(figsize=(max(10.0, 4.8 * len(years)), 8.2 if has_cost else 5.0),
                 layout="constrained")
    grid = fig.add_gridspec(2 if has_cost else 1, len(years),
                            height_ratios=[1.5, 1] if has_cost else None)
    for k, y in enumerate(years):
        ax = fig.add_subplot(grid[0, k])
        bx, by = column(config, t.benefit, y), column(config, t.burden, y)
        for r in rows:
            ax.scatter(f.loc[r, bx], f.loc[r, by], color=config.colors.get(r, "#444444"), s=42,
                       zorder=3, label=labels.get(r, r))
        if SUM_ROW in f.index and t.combination in f.index:
            ax.scatter(f.loc[SUM_ROW, bx], f.loc[SUM_ROW, by], facecolors="none",
                       edgecolors="k", s=46, zorder=3, label="sum of the single levers")
            ax.annotate("", xy=(f.loc[t.combination, bx], f.loc[t.combination, by]),
                        xytext=(f.loc[SUM_ROW, bx], f.loc[SUM_ROW, by]),
                        arrowprops=dict(arrowstyle="->", color="0.3", lw=0.8))
        ax.axhline(0, color="0.5", lw=0.8)
        ax.axvline(0, color="0.5", lw=0.8)
        ax.set_xlabel(f"{label_of(config, t.benefit)} vs baseline, %", fontsize=8)
        ax.set_ylabel(f"{label_of(config, t.burden)} vs baseline, %", fontsize=8)
        ax.set_title(f"{y:g}", fontsize=10)
        ax.grid(alpha=0.3)
        ax.tick_params(labelsize=7)
        if k == len(years) - 1:
            ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False)
    if has_cost:
        ax = fig.add_subplot(grid[1, :])
        col = cost_column(config, years[-1])
        ax.barh([labels.get(r, r) for r in rows], f.loc[rows, col],
                color=[config.colors.get(r, "#444444") for r in rows])
        ax.set_xlabel(col.replace(f" {years[-1]:g} ", f" in {years[-1]:g} "), fontsize=8)
        ax.tick_params(labelsize=7)
        ax.invert_yaxis()
        ax.grid(axis="x", alpha=0.3)
    fig.suptitle(f"What each lever trades: {label_of(config, t.benefit)} against "
                 f"{label_of(config, t.burden)}")
    return fig
