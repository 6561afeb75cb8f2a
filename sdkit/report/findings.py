"""Findings: short sentences built from the result tables, each number pointing at its cell.

A finding is a tuple of parts: plain text, or a :class:`Num` that knows the
table (a file stem under ``data/``), the row key and the column its value
comes from. The templates render a ``Num`` as ``<span class="num" ...>`` with
those three as attributes, so a test can check every number in the text
against the table it cites. Which variables, scenarios and years: the
report configuration (``[report.tradeoff]``, ``[report.target]``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from sdkit.report.tradeoff import (
    SUM_ROW,
    SYNERGY_ROW,
    column,
    cost_column,
    label_of,
    units_of,
)

__all__ = ["Num", "findings", "sensitivity_framing", "PCT", "ABS"]

PCT, ABS, SHARE, POINTS, LEVEL = "{:+.1f} %", "{:+,.3g}", "{:.0%}", "{:+.1f}", "{:,.3g}"


@dataclass(frozen=True)
class Num:
    """A number in a sentence and the table cell it comes from."""

    value: float
    table: str
    row: str
    column: str
    fmt: str = PCT

    @property
    def text(self) -> str:
        return self.fmt.format(self.value)


def _num(frame: pd.DataFrame, table: str, row: str, col: str, fmt: str = PCT) -> Num:
    value = frame.set_index("row").loc[row, col]
    return Num(float(value), table, row, col, fmt)


def _years(cfg, frame) -> list[float]:
    return list(cfg.summary_years) or []


def _main_rows(trade: pd.DataFrame, cfg) -> list[str]:
    return [r for r in trade["row"] if r not in (SUM_ROW, SYNERGY_ROW)]


def _largest(trade, cfg, last):
    t = cfg.tradeoff
    cols = [column(cfg, v, last) for v in (t.benefit, t.burden)]
    sub = trade[trade["row"].isin(_main_rows(trade, cfg))].set_index("row")[cols]
    row, col = sub.abs().stack().idxmax()
    title = trade.set_index("row").loc[row, "scenario"]
    var = t.benefit if col == cols[0] else t.burden
    return ("The largest effect: ", f"{title} changes {label_of(cfg, var)} in {last:g} by ",
            _num(trade, "tradeoff", row, col), " against the baseline (",
            _num(trade, "tradeoff", row, column(cfg, var, last, pct=False), ABS),
            f" {units_of(cfg, var)}).")


def _tradeoffs(trade, cfg, last):
    t = cfg.tradeoff
    singles = [lv for lv in cfg.levers if lv.scenario in set(trade["row"])]
    if not singles:
        return []
    gb, gc = column(cfg, t.benefit, last), column(cfg, t.burden, last)
    f = trade.set_index("row")
    both = [lv for lv in singles if f.loc[lv.scenario, gb] > 0 and f.loc[lv.scenario, gc] > 0]
    cut = [lv for lv in singles if f.loc[lv.scenario, gc] < 0]
    out = []
    if both:
        parts = [f"Trade-off: {len(both)} of the {len(singles)} levers raise "
                 f"{label_of(cfg, t.benefit)} and {label_of(cfg, t.burden)} together ({last:g}: "]
        for k, lv in enumerate(both):
            parts += [("; " if k else "") + f"{lv.label} ",
                      _num(trade, "tradeoff", lv.scenario, gb), " and ",
                      _num(trade, "tradeoff", lv.scenario, gc)]
        out.append((*parts, ")."))
    if cut:
        parts = [f"Only {len(cut)} lower {label_of(cfg, t.burden)} ({last:g}): "]
        for k, lv in enumerate(cut):
            parts += [("; " if k else "") + f"{lv.label} ",
                      _num(trade, "tradeoff", lv.scenario, gc),
                      f", with {label_of(cfg, t.benefit)} ",
                      _num(trade, "tradeoff", lv.scenario, gb)]
            if t.cost and cost_column(cfg, last) in f.columns:
                parts += [" at a cost of ", _num(trade, "tradeoff", lv.scenario,
                                                 cost_column(cfg, last), "{:.2f}"),
                          f" {units_of(cfg, t.cost)}"]
        out.append((*parts, "."))
    return out


def _combination(trade, cfg, years):
    t = cfg.tradeoff
    rows = set(trade["row"])
    if t.combination not in rows:
        return []
    title = trade.set_index("row").loc[t.combination, "scenario"]
    parts = [f"{title}: "]
    for k, y in enumerate(years):
        parts += [("; " if k else "") + f"{label_of(cfg, t.benefit)} {y:g} ",
                  _num(trade, "tradeoff", t.combination, column(cfg, t.benefit, y)),
                  f", {label_of(cfg, t.burden)} ",
                  _num(trade, "tradeoff", t.combination, column(cfg, t.burden, y))]
    out = [(*parts, ".")]
    if SYNERGY_ROW in rows:
        last = years[-1]
        out.append(("Synergy (the combination minus the sum of its single levers) in "
                    f"{last:g}: {label_of(cfg, t.benefit)} ",
                    _num(trade, "tradeoff", SYNERGY_ROW, column(cfg, t.benefit, last), POINTS),
                    f" percentage points, {label_of(cfg, t.burden)} ",
                    _num(trade, "tradeoff", SYNERGY_ROW, column(cfg, t.burden, last), POINTS),
                    " percentage points of the baseline (below zero: the combination is lower "
                    "than the sum of its levers)."))
    return out


def _counter(trade, cfg, years, transfer):
    """A combination whose burden change flips sign between the reported columns."""
    t = cfg.tradeoff
    f = trade.set_index("row")
    if t.combination not in f.index:
        return []
    cols = [column(cfg, t.burden, y) for y in years]
    cum = [c for c in trade.columns if c.startswith("cumulative ") and c.endswith("[%]")]
    vals = {c: f.loc[t.combination, c] for c in cols + cum}
    ups = [c for c, v in vals.items() if v > 0]
    downs = [c for c, v in vals.items() if v < 0]
    cutters = [lv for lv in cfg.levers if lv.scenario in t.combines and lv.scenario in f.index
               and f.loc[lv.scenario, cols[-1]] < 0]
    if not ups or not (downs or cutters):
        return []
    up = ups[0]
    year = next((y for y, c in zip(years, cols) if c == up), years[0])
    parts = [f"Counter-intuitive: {f.loc[t.combination, 'scenario']} raises "
             f"{up.split(' vs ')[0]} by ", _num(trade, "tradeoff", t.combination, up)]
    if cutters:
        parts.append(f" although it includes {', '.join(lv.label for lv in cutters)}")
    parts += [f". The model's explanation: the levers raise {label_of(cfg, t.benefit)} (",
              f"{year:g}: ", _num(trade, "tradeoff", t.combination,
                                  column(cfg, t.benefit, year)),
              f"), and with it {label_of(cfg, t.burden)}, before the cutting levers "
              "catch up"]
    if t.cost and cost_column(cfg, year) in f.columns:
        parts += ["; the levers cost ", _num(trade, "tradeoff", t.combination,
                                             cost_column(cfg, year), "{:.2f}"),
                  f" {units_of(cfg, t.cost)} in {year:g}"
                  + (f", {t.cost_note}" if t.cost_note else "")]
    out = [(*parts, ".")]
    if transfer is not None:
        out += _transfer(transfer, cfg, years[0])
    return out


def _transfer(transfer, cfg, year):
    cols = [c for c in transfer.columns if c.split(" [")[0].endswith(f" {year:g}")]
    if not cols:
        return []
    sub = transfer.set_index("row")[cols]
    row = sub.abs().max(axis=1).idxmax()
    hi, lo = sub.loc[row].idxmax(), sub.loc[row].idxmin()
    title = transfer.set_index("row").loc[row, "scenario"]
    return [(f"{label_of(cfg, cfg.tradeoff.transfer)}: the largest shift is under {title}, "
             f"where {hi.split(' ')[0]} takes ", _num(transfer, "transfer", row, hi, ABS),
             f" and {lo.split(' ')[0]} ", _num(transfer, "transfer", row, lo, ABS),
             f" {units_of(cfg, cfg.tradeoff.transfer)} in {year:g}; these shifts sum to zero "
             f"over every {(cfg.dimension or 'element').lower()}, so they move "
             f"{label_of(cfg, cfg.tradeoff.burden)} rather than cut it.")]


def _robust(rob, cfg):
    if rob is None or rob.empty:
        return []
    n = int(rob["members"].iloc[0])
    good, bad = rob[rob["robust sign"]], rob[~rob["robust sign"]]
    out = []
    for part, word in ((good, "robust"), (bad, "not robust")):
        if part.empty:
            continue
        bits = [f"Across {n} Monte Carlo members, {word} (the same sign in at least "
                f"{cfg.tradeoff.robust:.0%} of members): "]
        last = None
        for k, (_, r) in enumerate(part.iterrows()):
            above = r["share above 0"] >= r["share below 0"]
            share = "share above 0" if above else "share below 0"
            lead = "" if r["scenario"] == last else f"{r['scenario']}: "
            last = r["scenario"]
            bits += [("; " if k else "") + f"{lead}{r['quantity']} ",
                     _num(rob, "robustness", r["row"], "change median [%]"), " (",
                     _num(rob, "robustness", r["row"], share, SHARE),
                     f" of members {'above' if above else 'below'} zero)"]
        out.append((*bits, "."))
    if bad.empty:
        out.append(("No sign above depends on the Monte Carlo draws. The members vary only the "
                    "calibrated parameters, not the assumed constants or the model's structure; "
                    "the sensitivity analysis below ranks the constants.",))
    return out


def _target(target, cfg):
    g = cfg.target
    if target is None or g is None:
        return []
    r = target.iloc[0]
    units = units_of(cfg, g.variable)
    lab = label_of(cfg, g.variable)
    val = f"{lab} {g.year:g} [{units}]"
    if bool(r["reached"]):
        return [(f"{g.label.capitalize()} by {g.year:g} is reached under {r['scenario']}: {lab} ",
                 _num(target, "target", g.scenario, val, LEVEL), f" {units}.")]
    parts = [f"{g.label.capitalize()} by {g.year:g} is not reached, even under {r['scenario']}: "
             f"{lab} in {g.year:g}: ", _num(target, "target", g.scenario, val, LEVEL),
             f" {units}"]
    ref = f"{lab} {g.year:g} vs {g.reference:g} [%]" if g.reference is not None else None
    if ref in target.columns:
        parts += [f" (against {g.reference:g}: ", _num(target, "target", g.scenario, ref), ")"]
    cap = f"captured share of gross {g.year:g} [%]"
    if cap in target.columns:
        parts += [". Capture removes ", _num(target, "target", g.scenario, cap, "{:.0f} %"),
                  f" of gross {lab}; what remains comes from sources capture does not reach"]
    else:
        parts += [". The stored results do not hold the captured amount; see the model "
                  "documentation for what capture cannot reach"]
    return [(*parts, ".")]


def sensitivity_framing(sens, trade, cfg):
    """Why a lever's total Sobol' index can be near zero while the lever moves the outcome."""
    t = cfg.tradeoff
    if sens is None or trade is None or t is None or not t.sensitivity_outcome:
        return []
    tab = sens.table
    part = tab[tab["outcome"] == t.sensitivity_outcome]
    levers = {lv.variable: lv for lv in cfg.levers}
    lv_rows = part[part["factor"].isin(levers)]
    if part.empty or lv_rows.empty or not cfg.summary_years:
        return []
    best = lv_rows.sort_values("index", ascending=False).iloc[0]
    top = part.sort_values("index", ascending=False).iloc[0]
    year = cfg.summary_years[0]
    lever = levers[best["factor"]]
    if lever.scenario not in set(trade["row"]):
        return []
    key = f"{t.sensitivity_outcome} | "
    sens_frame = part.assign(row=key + part["factor"])
    return [(f"Sobol' indices and lever effects answer different questions. For "
             f"{t.sensitivity_outcome}, the largest total index of any lever is ",
             _num(sens_frame, "sensitivity", key + best["factor"], "index", "{:.3f}"), " ± ",
             _num(sens_frame, "sensitivity", key + best["factor"], "index_conf", "{:.3f}"),
             f" ({lever.label}), yet that lever alone changes {label_of(cfg, t.benefit)} "
             f"{year:g} by ", _num(trade, "tradeoff", lever.scenario,
                                    column(cfg, t.benefit, year)),
             ". A total index is the share of the outcome's variance over all factors' ranges "
             f"at once; {top['label']} alone has ",
             _num(sens_frame, "sensitivity", key + top["factor"], "index", "{:.3f}"), " ± ",
             _num(sens_frame, "sensitivity", key + top["factor"], "index_conf", "{:.3f}"),
             ", so the uncertain constants spread the outcome far more than a lever moves it. "
             "The indices rank what is uncertain; the trade-off table measures what a lever "
             "does.")]


def findings(trade, robustness, target, cfg, *, transfer=None, sensitivity=None) -> list[tuple]:
    """The findings, in order: largest effect, trade-offs, combination and synergy,
    counter-intuitive results, robustness, target, Sobol' vs lever effect."""
    if trade is None or cfg.tradeoff is None:
        return []
    years = _years(cfg, trade)
    if not years:
        return []
    last = years[-1]
    out = [_largest(trade, cfg, last), *_tradeoffs(trade, cfg, last),
           *_combination(trade, cfg, years), *_counter(trade, cfg, years, transfer),
           *_robust(robustness, cfg), *_target(target, cfg),
           *sensitivity_framing(sensitivity, trade, cfg)]
    return [f for f in out if f and not any(isinstance(p, Num) and not math.isfinite(p.value)
                                            for p in f)]
