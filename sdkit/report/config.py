"""What a report shows: read from a TOML file so model specifics stay out of code.

Any outputs and any dimension (or none). See ``reports/iis.toml`` for a full
example; a minimal one for a model without subscripts::

    [report]
    title = "SIR outbreak"
    summary_years = [20, 50]              # default: the last saved time
    [[indicators]]
    variable = "Infectious"
    units = "persons"

Keys of ``[report]``: title, model, dimension (a subscript range shown as
panels and rows; default none), projection_start, summary_years, summary
(variables of the summary table; default every indicator), growth (a
variable whose baseline growth rate is noted), colors, data_readme, caveats,
assumptions, method, limitations (lists of sentences). Tables:

``[[report.peaks]]``   variable, label, start, before: peak time per scenario and, with
                       `before`, the share of Monte Carlo members peaking before it
``[[report.changes]]`` variable, label, base, until, backcast_from, decline, note: change
                       against a base time, back-cast from `backcast_from` if the base
                       lies before the run (the note says so, under Assumptions)
``[[report.totals]]``  variable, label, statistic ("value" at the summary years or
                       "cumulative" from projection_start): totals over `dimension` per
                       scenario, with the change against ``baseline``
``[[indicators]]``     variable, label, units, scale (figures and fan charts)
``[[report.levers]]``  variable, label, scenario: a lever (a model constant) and the
                       scenario that switches it on alone (trade-off table, sensitivity split)
``[report.tradeoff]``  benefit, burden (variables traded off), combination (scenario of
                       levers together), combines (the single-lever scenarios it adds up;
                       default every lever's), cost (a share of `benefit` paid for the levers),
                       cost_note (where that cost comes from, in words),
                       transfer (the burden moved between elements), robust (share of
                       Monte Carlo members that makes a sign robust, default 0.9),
                       sensitivity_outcome (name of the benefit's sensitivity outcome)
``[report.target]``    variable, year, value, label, scenario, reference, captured: whether
                       the strongest `scenario` reaches `value` by `year`, the miss against
                       the `reference` year's level, and what capture (`captured`) removes
``[specialization]``   data, year, region/indicator/value/year columns, industries

Other top-level tables (``[uncertainty]``, ``[sensitivity]``) are specs read
by :mod:`sdkit.workflow.specs`; the report ignores them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from sdkit.errors import SpecError
from sdkit.io.schema import number, tables, text, unknown_keys
from sdkit.io.textfile import read_toml_file

__all__ = ["Indicator", "Peak", "Change", "Total", "Lever", "Tradeoff", "Target",
           "ReportConfig", "read_report_config"]

#: colours used for elements when the config names none (matplotlib tab10)
DEFAULT_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
                  "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")

_REPORT_KEYS = {"title", "model", "dimension", "projection_start", "summary_years", "summary",
                "growth", "colors", "data_readme", "caveats", "assumptions", "method",
                "limitations", "peaks", "changes", "totals", "levers", "tradeoff", "target"}


@dataclass(frozen=True)
class Indicator:
    """A model variable shown in the report.

    ``scale`` multiplies the model's values for tables and figures (``units``
    are the shown units); the data files keep the model's units.
    """

    variable: str
    label: str
    units: str = ""
    scale: float = 1.0


@dataclass(frozen=True)
class Peak:
    """Peak time of `variable` from `start` on; `before` adds the Monte Carlo share."""

    variable: str
    label: str
    start: float | None = None
    before: float | None = None


@dataclass(frozen=True)
class Change:
    """Change of `variable` against time `base` at the summary years up to `until`."""

    variable: str
    label: str
    base: float
    until: float | None = None
    backcast_from: float | None = None
    decline: float = 0.0
    note: str = ""


@dataclass(frozen=True)
class Total:
    """Total of `variable` over the dimension: at the summary years, or cumulative."""

    variable: str
    label: str
    statistic: str = "value"


@dataclass(frozen=True)
class Lever:
    """A lever (model constant) and the scenario that switches it on alone."""

    variable: str
    label: str
    scenario: str


@dataclass(frozen=True)
class Tradeoff:
    """The two variables the levers trade off, and where their costs are."""

    benefit: str
    burden: str
    combination: str | None = None
    combines: tuple[str, ...] = ()
    cost: str | None = None
    transfer: str | None = None
    robust: float = 0.9
    cost_note: str = ""
    sensitivity_outcome: str | None = None


@dataclass(frozen=True)
class Target:
    """A level `variable` should reach by `year` (summed over the dimension)."""

    variable: str
    year: float
    scenario: str
    value: float = 0.0
    label: str = "target"
    reference: float | None = None
    captured: str | None = None


@dataclass(frozen=True)
class ReportConfig:
    """Everything model-specific a report needs (see the module docstring)."""

    title: str
    indicators: tuple[Indicator, ...]
    model: str | None = None
    dimension: str | None = None
    projection_start: float | None = None
    summary_years: tuple[float, ...] = ()
    summary: tuple[str, ...] = ()
    growth: str | None = None
    peaks: tuple[Peak, ...] = ()
    changes: tuple[Change, ...] = ()
    totals: tuple[Total, ...] = ()
    levers: tuple[Lever, ...] = ()
    tradeoff: Tradeoff | None = None
    target: Target | None = None
    colors: Mapping[str, str] = field(default_factory=dict)
    data_readme: str | None = None
    caveats: tuple[str, ...] = ()
    assumptions: tuple[str, ...] = ()
    method: tuple[str, ...] = ()
    limitations: tuple[str, ...] = ()
    specialization: Mapping[str, object] = field(default_factory=dict)
    path: Path | None = None

    @property
    def shown(self) -> list[str]:
        """The variables of the summary table."""
        return list(self.summary) or [i.variable for i in self.indicators]

    @property
    def outputs(self) -> list[str]:
        """Every model variable the report needs."""
        names = [i.variable for i in self.indicators] + self.shown
        names += [x.variable for x in (*self.peaks, *self.changes, *self.totals)]
        names += [self.growth] if self.growth else []
        if self.tradeoff is not None:
            t = self.tradeoff
            names += [v for v in (t.benefit, t.burden, t.cost, t.transfer) if v]
        if self.target is not None:
            names += [v for v in (self.target.variable, self.target.captured) if v]
        return list(dict.fromkeys(names))

    def color(self, name: str, names: list[str]) -> str:
        """The colour of one scenario, the same in every figure (``colors`` or the palette).

        Scenarios are the only role with colours: elements (cities) are told
        apart by panel titles and axis labels, never by colour.
        """
        if name in self.colors:
            return self.colors[name]
        return DEFAULT_COLORS[names.index(name) % len(DEFAULT_COLORS)]

    def with_scenario_colors(self, names: list[str]) -> ReportConfig:
        """A copy whose ``colors`` give every scenario in `names` its own colour: the
        configured ones, then the palette's unused colours in scenario order (baseline
        dark grey)."""
        colors = dict(self.colors)
        free = [c for c in (*DEFAULT_COLORS, "#00008b") if c not in colors.values()
                and c != "#7f7f7f"]  # grey is the baseline's
        for k, name in enumerate(n for n in names if n not in colors):
            colors[name] = "#444444" if name == "baseline" else free[k % len(free)]
        return replace(self, colors=colors)

    def resolve(self, relative: str | None) -> Path | None:
        """A path from the config, relative to the config file's folder."""
        if relative is None:
            return None
        p = Path(relative)
        if p.is_absolute() or self.path is None:
            return p
        return Path(os.path.normpath(self.path.parent / p))


def _get(table: Mapping, key: str, where: str, kind, default=...):
    if key not in table:
        if default is ...:
            raise SpecError(f"{where}: {key}: missing (expected {kind.__name__})")
        return default
    value = table[key]
    if kind is float:
        return number(value, where=where, key=key, error=SpecError)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise SpecError(f"{where}: {key}: expected {kind.__name__}, got {value!r}")
    return value


def _items(table: Mapping, key: str, where: str, allowed: set[str]):
    for k, item in enumerate(tables(table, key, where=where, error=SpecError)):
        at = f"{where}.{key}[{k}]"
        unknown_keys(item, allowed, where=at.split(": ")[0], key=at.split(": ", 1)[-1],
                     error=SpecError)
        var = text(item.get("variable"), where=at, key="variable", error=SpecError)
        yield at, item, var, _get(item, "label", at, str, var)


def _read_peaks(rep, where):
    out = []
    for at, p, v, label in _items(rep, "peaks", where, {"variable", "label", "start", "before"}):
        peak = Peak(v, label, _get(p, "start", at, float, None), _get(p, "before", at, float, None))
        if peak.start is not None and peak.before is not None and peak.before <= peak.start:
            raise SpecError(f"{at}: before: expected a time after start ({peak.start:g}), "
                            f"got {peak.before:g}")
        out.append(peak)
    return tuple(out)


def _check_times(cfg: ReportConfig, where: str) -> None:
    """Times that contradict each other, refused when the file is read (not at render)."""
    years = cfg.summary_years
    if list(years) != sorted(set(years)):
        raise SpecError(f"{where}: summary_years: expected increasing years, got "
                        f"{[f'{y:g}' for y in years]}")
    first = cfg.projection_start
    for k, p in enumerate(cfg.peaks):
        if first is not None and p.start is not None and p.start < first - 1:
            raise SpecError(f"{where}.peaks[{k}]: start: expected the last history year or a "
                            f"projection year (>= {first - 1:g}, projection_start - 1), got "
                            f"{p.start:g}")
    for k, c in enumerate(cfg.changes):
        if not 0 <= c.decline < 1:
            raise SpecError(f"{where}.changes[{k}]: decline: expected a number in [0, 1), "
                            f"got {c.decline:g}")
        if c.until is not None and c.until <= c.base:
            raise SpecError(f"{where}.changes[{k}]: until: expected a time after base "
                            f"({c.base:g}), got {c.until:g}")
    t = cfg.target
    if t is not None and t.reference is not None and t.reference >= t.year:
        raise SpecError(f"{where}.target: reference: expected a time before year ({t.year:g}), "
                        f"got {t.reference:g}")


def _read_levers(rep, where):
    return tuple(Lever(v, label, text(item.get("scenario"), where=at, key="scenario",
                                     error=SpecError))
                 for at, item, v, label in _items(rep, "levers", where,
                                                 {"variable", "label", "scenario"}))


def _opt_text(table, key, at):
    return None if key not in table else text(table[key], where=at, key=key, error=SpecError)


def _read_tradeoff(rep, where) -> Tradeoff | None:
    t = _get(rep, "tradeoff", where, dict, None)
    if t is None:
        return None
    at = f"{where}.tradeoff"
    unknown_keys(t, {"benefit", "burden", "combination", "combines", "cost", "cost_note",
                     "transfer", "robust", "sensitivity_outcome"}, where=where, key="tradeoff",
                 error=SpecError)
    robust = _get(t, "robust", at, float, 0.9)
    if not 0.5 < robust <= 1:
        raise SpecError(f"{at}: robust: expected a share in (0.5, 1], got {robust:g}")
    combines = tuple(str(x) for x in _get(t, "combines", at, list, []))
    return Tradeoff(text(t.get("benefit"), where=at, key="benefit", error=SpecError),
                    text(t.get("burden"), where=at, key="burden", error=SpecError),
                    _opt_text(t, "combination", at), combines,
                    *(_opt_text(t, k, at) for k in ("cost", "transfer")),
                    robust=robust, sensitivity_outcome=_opt_text(t, "sensitivity_outcome", at),
                    cost_note=_get(t, "cost_note", at, str, ""))


def _read_target(rep, where) -> Target | None:
    t = _get(rep, "target", where, dict, None)
    if t is None:
        return None
    at = f"{where}.target"
    unknown_keys(t, {"variable", "year", "value", "label", "scenario", "reference", "captured"},
                 where=where, key="target", error=SpecError)
    return Target(text(t.get("variable"), where=at, key="variable", error=SpecError),
                  _get(t, "year", at, float),
                  text(t.get("scenario"), where=at, key="scenario", error=SpecError),
                  _get(t, "value", at, float, 0.0), _get(t, "label", at, str, "target"),
                  _get(t, "reference", at, float, None), _opt_text(t, "captured", at))


def _read_changes(rep, where):
    keys = {"variable", "label", "base", "until", "backcast_from", "decline", "note"}
    return tuple(Change(v, label, _get(c, "base", at, float), _get(c, "until", at, float, None),
                        _get(c, "backcast_from", at, float, None),
                        _get(c, "decline", at, float, 0.0), _get(c, "note", at, str, ""))
                 for at, c, v, label in _items(rep, "changes", where, keys))


def _read_totals(rep, where):
    out = []
    for at, t, v, label in _items(rep, "totals", where, {"variable", "label", "statistic"}):
        stat = _get(t, "statistic", at, str, "value")
        if stat not in ("value", "cumulative"):
            raise SpecError(f"{at}: statistic: expected value or cumulative, got {stat!r}")
        out.append(Total(v, label, stat))
    return tuple(out)


def read_report_config(path: str | os.PathLike) -> ReportConfig:
    """Read and validate a report configuration file.

    Raises
    ------
    SpecError
        Missing file, bad TOML, or a missing, unknown or mistyped key (named with its table).
    """
    path = Path(path)
    data = read_toml_file(path, error=SpecError, what="report configuration")
    where = f"{path}: report"
    rep = _get(data, "report", str(path), dict)
    unknown_keys(rep, _REPORT_KEYS, where=str(path), key="report", error=SpecError)
    indicators = []
    for k, i in enumerate(tables(data, "indicators", where=str(path), error=SpecError)):
        at = f"{path}: indicators[{k}]"
        unknown_keys(i, {"variable", "label", "units", "scale"}, where=str(path),
                     key=f"indicators[{k}]", error=SpecError)
        var = _get(i, "variable", at, str)
        indicators.append(Indicator(var, _get(i, "label", at, str, var),
                                    _get(i, "units", at, str, ""),
                                    _get(i, "scale", at, float, 1.0)))

    def strings(key):
        return tuple(str(x) for x in _get(rep, key, where, list, []))

    cfg = ReportConfig(
        title=_get(rep, "title", where, str),
        indicators=tuple(indicators),
        model=_get(rep, "model", where, str, None),
        dimension=_get(rep, "dimension", where, str, None),
        projection_start=_get(rep, "projection_start", where, float, None),
        summary_years=tuple(number(y, where=where, key="summary_years", error=SpecError)
                            for y in _get(rep, "summary_years", where, list, [])),
        summary=strings("summary"), growth=_get(rep, "growth", where, str, None),
        peaks=_read_peaks(rep, where), changes=_read_changes(rep, where),
        totals=_read_totals(rep, where), levers=_read_levers(rep, where),
        tradeoff=_read_tradeoff(rep, where), target=_read_target(rep, where),
        colors=dict(_get(rep, "colors", where, dict, {})),
        data_readme=_get(rep, "data_readme", where, str, None),
        caveats=strings("caveats"), assumptions=strings("assumptions"),
        method=strings("method"), limitations=strings("limitations"),
        specialization=dict(_get(data, "specialization", str(path), dict, {})),
        path=path,
    )
    _check_times(cfg, where)
    return cfg
