"""Trade-off tables: each lever and the combination against the baseline, robustness, target.

All three tables carry a ``row`` key column (a scenario name, ``sum of singles``
or ``synergy``) so the findings can point at the cell each number comes from
(:mod:`sdkit.report.findings`). Variables, years and scenarios come from the
report configuration (``[report.tradeoff]``, ``[report.target]``).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from sdkit.analysis import tradeoff as T

__all__ = ["tradeoff_table", "robustness_table", "target_table", "transfer_table", "label_of",
           "units_of", "column", "cost_column", "SUM_ROW", "SYNERGY_ROW"]

SUM_ROW, SYNERGY_ROW = "sum of singles", "synergy"


def label_of(cfg, variable: str) -> str:
    """The indicator label of `variable` (the variable name when it is no indicator)."""
    return next((i.label for i in cfg.indicators if i.variable == variable), variable)


def units_of(cfg, variable: str) -> str:
    return next((i.units for i in cfg.indicators if i.variable == variable), "")


def _first(ds, cfg) -> float:
    return cfg.projection_start if cfg.projection_start is not None else float(ds["time"][0])


def _years(ds, cfg) -> tuple[float, ...]:
    return cfg.summary_years or (float(ds["time"][-1]),)


def column(cfg, variable: str, when, *, pct: bool = True, ds=None) -> str:
    """Name of a trade-off column: `variable` at year `when`, or cumulative (`when` None,
    over the projection window of `ds`)."""
    lab, units = label_of(cfg, variable), units_of(cfg, variable)
    if when is None:
        units = units.split("/")[0] if "/" in units else units
        lab = f"cumulative {lab} {_first(ds, cfg):g}-{float(ds['time'][-1]):g}"
    else:
        lab = f"{lab} {when:g}"
    return f"{lab} vs baseline [{'%' if pct else units}]"


def cost_column(cfg, year: float) -> str:
    return f"{label_of(cfg, cfg.tradeoff.cost)} {year:g} [{units_of(cfg, cfg.tradeoff.cost)}]"


def tradeoff_columns(ds, cfg) -> dict[str, tuple[str, str, object]]:
    """Column name -> (variable, kind, when): kind "pct"/"abs" at a year or "cum*" cumulative."""
    t = cfg.tradeoff
    cols: dict[str, tuple[str, str, object]] = {}
    for var in (t.benefit, t.burden):
        for pct in (True, False):
            for y in _years(ds, cfg):
                cols[column(cfg, var, y, pct=pct)] = (var, "pct" if pct else "abs", y)
    for pct in (True, False):
        cols[column(cfg, t.burden, None, pct=pct, ds=ds)] = (t.burden,
                                                            "cumpct" if pct else "cumabs", None)
    return cols


def _cost(ds, cfg) -> dict[str, object]:
    t = cfg.tradeoff
    if not t.cost or t.cost not in ds:
        return {}
    cost = T.weighted_mean(ds[t.cost], ds[t.benefit])
    return {cost_column(cfg, y): cost.sel(time=y) for y in _years(ds, cfg)}


def transfer_table(ds, cfg, titles: Mapping[str, str]) -> pd.DataFrame | None:
    """The burden moved between elements (``tradeoff.transfer``), per scenario, element and
    summary year. None without a transfer variable or a dimension."""
    t = cfg.tradeoff
    if t is None or not t.transfer or t.transfer not in ds or cfg.dimension is None:
        return None
    rows = []
    for s in ds["scenario"].to_numpy():
        row = {"row": str(s), "scenario": titles.get(str(s), str(s))}
        for y in _years(ds, cfg):
            for el in ds[cfg.dimension].to_numpy():
                row[f"{el} {y:g} [{units_of(cfg, t.transfer)}]"] = float(
                    ds[t.transfer].sel({"scenario": s, "time": y, cfg.dimension: el}))
        rows.append(row)
    return pd.DataFrame(rows)


def _order(ds, cfg) -> list[str]:
    names = [str(s) for s in ds["scenario"].to_numpy()]
    singles = [lv.scenario for lv in cfg.levers if lv.scenario in names]
    rest = [n for n in names if n not in singles and n != "baseline"]
    return singles + rest


def tradeoff_table(ds, cfg, titles: Mapping[str, str]) -> pd.DataFrame | None:
    """Per lever and combination: changes of benefit and burden against ``baseline``, the
    lever cost, the sum of the singles and the synergy (combination - sum of singles).

    None without ``[report.tradeoff]`` or a ``baseline`` scenario.
    """
    t = cfg.tradeoff
    if t is None or "baseline" not in [str(s) for s in ds["scenario"].to_numpy()] \
            or t.benefit not in ds or t.burden not in ds:
        return None
    first = _first(ds, cfg)
    values = {}
    for name, (var, kind, y) in tradeoff_columns(ds, cfg).items():
        tot = T.total(ds[var])
        if kind.startswith("cum"):
            tot = T.cumulative(tot, start=first)
        else:
            tot = tot.sel(time=y)
        d = T.change(tot, relative=kind.endswith("pct"))
        values[name] = d * (100 if kind.endswith("pct") else 1)
    values.update(_cost(ds, cfg))
    order = _order(ds, cfg)
    rows = [{"row": n, "scenario": titles.get(n, n),
             **{c: float(v.sel(scenario=n)) for c, v in values.items()}} for n in order]
    singles = list(t.combines) or [lv.scenario for lv in cfg.levers]
    if t.combination in order and singles and all(s in order for s in singles):
        frame = pd.DataFrame(rows).set_index("row")
        cols = list(values)
        total = frame.loc[singles, cols].sum()
        syn = frame.loc[t.combination, cols] - total
        pos = order.index(t.combination) + 1
        rows[pos:pos] = [{"row": SUM_ROW, "scenario": f"sum of the {len(singles)} single levers",
                          **total.to_dict()},
                         {"row": SYNERGY_ROW, "scenario": "synergy (combination - sum)",
                          **syn.to_dict()}]
    return pd.DataFrame(rows)


def robustness_table(ensembles: Mapping[str, object], cfg,
                     titles: Mapping[str, str]) -> pd.DataFrame | None:
    """Member-by-member changes against the ``baseline`` ensemble (same parameter draws).

    One row per (scenario, quantity): the 5/50/95 % quantiles of the change
    in %, the shares of members below and above zero, and whether the sign is
    robust (the larger share >= ``tradeoff.robust``). None without a baseline
    ensemble or ``[report.tradeoff]``.
    """
    t = cfg.tradeoff
    if t is None or "baseline" not in ensembles:
        return None
    base = ensembles["baseline"]
    rows = []
    for name, ens in ensembles.items():
        if name == "baseline":
            continue
        for var in (t.benefit, t.burden):
            if var not in ens or var not in base:
                continue
            a, b = T.total(ens[var]), T.total(base[var])
            cases = [(f"{label_of(cfg, var)} {y:g}", a.sel(time=y), b.sel(time=y))
                     for y in _years(ens, cfg)]
            if var == t.burden:
                first = _first(ens, cfg)
                cases.append((f"cumulative {label_of(cfg, var)} {first:g}-"
                              f"{float(ens['time'][-1]):g}", T.cumulative(a, start=first),
                              T.cumulative(b, start=first)))
            for what, x, y in cases:
                d = 100 * T.paired_change(x, y, relative=True)
                below, above = T.sign_shares(d)
                q = np.quantile(d.to_numpy(), [0.05, 0.5, 0.95])
                rows.append({"row": f"{name}: {what}", "scenario": titles.get(name, name),
                             "quantity": what, "members": int(d.sizes["member"]),
                             "change 5 % [%]": q[0], "change median [%]": q[1],
                             "change 95 % [%]": q[2], "share below 0": below,
                             "share above 0": above,
                             "robust sign": bool(max(below, above) >= t.robust)})
    return pd.DataFrame(rows) if rows else None


def target_table(ds, cfg, titles: Mapping[str, str]) -> pd.DataFrame | None:
    """The target scenario's total in the target year, against the target, the reference
    year and the baseline; with capture when the results hold it."""
    g = cfg.target
    names = [str(s) for s in ds["scenario"].to_numpy()]
    if g is None or g.scenario not in names or g.variable not in ds:
        return None
    tot = T.total(ds[g.variable]).sel(scenario=g.scenario)
    lab, units = label_of(cfg, g.variable), units_of(cfg, g.variable)
    value = float(tot.sel(time=g.year))
    row = {"row": g.scenario, "scenario": titles.get(g.scenario, g.scenario),
           f"{lab} {g.year:g} [{units}]": value,
           f"{g.label} gap {g.year:g} [{units}]": value - g.value,
           "reached": bool(value <= g.value)}
    if g.reference is not None:
        ref = float(tot.sel(time=g.reference))
        row[f"{lab} {g.reference:g} [{units}]"] = ref
        row[f"{lab} {g.year:g} vs {g.reference:g} [%]"] = 100 * (value / ref - 1)
    if "baseline" in names:
        base = float(T.total(ds[g.variable]).sel(scenario="baseline", time=g.year))
        row[f"{lab} {g.year:g} vs baseline [%]"] = 100 * (value / base - 1)
    if g.captured and g.captured in ds:
        cap = float(T.total(ds[g.captured]).sel(scenario=g.scenario, time=g.year))
        row[f"{label_of(cfg, g.captured)} {g.year:g} [{units}]"] = cap
        row[f"captured share of gross {g.year:g} [%]"] = 100 * cap / (cap + value)
    return pd.DataFrame([row])
