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
``[specialization]``   data, year, region/indicator/value/year columns, industries

Other top-level tables (``[uncertainty]``, ``[sensitivity]``) are specs read
by :mod:`sdkit.workflow.specs`; the report ignores them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from sdkit.errors import SpecError
from sdkit.io.schema import number, tables, text, unknown_keys
from sdkit.io.textfile import read_toml_file

__all__ = ["Indicator", "Peak", "Change", "Total", "ReportConfig", "read_report_config"]

#: colours used for elements when the config names none (matplotlib tab10)
DEFAULT_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
                  "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")

_REPORT_KEYS = {"title", "model", "dimension", "projection_start", "summary_years", "summary",
                "growth", "colors", "data_readme", "caveats", "assumptions", "method",
                "limitations", "peaks", "changes", "totals"}


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
        return list(dict.fromkeys(names))

    def color(self, element: str, elements: list[str]) -> str:
        """The colour of one element, the same in every figure."""
        if element in self.colors:
            return self.colors[element]
        return DEFAULT_COLORS[elements.index(element) % len(DEFAULT_COLORS)]

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
    return tuple(Peak(v, label, _get(p, "start", at, float, None),
                      _get(p, "before", at, float, None))
                 for at, p, v, label in _items(rep, "peaks", where,
                                               {"variable", "label", "start", "before"}))


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

    return ReportConfig(
        title=_get(rep, "title", where, str),
        indicators=tuple(indicators),
        model=_get(rep, "model", where, str, None),
        dimension=_get(rep, "dimension", where, str, None),
        projection_start=_get(rep, "projection_start", where, float, None),
        summary_years=tuple(number(y, where=where, key="summary_years", error=SpecError)
                            for y in _get(rep, "summary_years", where, list, [])),
        summary=strings("summary"), growth=_get(rep, "growth", where, str, None),
        peaks=_read_peaks(rep, where), changes=_read_changes(rep, where),
        totals=_read_totals(rep, where),
        colors=dict(_get(rep, "colors", where, dict, {})),
        data_readme=_get(rep, "data_readme", where, str, None),
        caveats=strings("caveats"), assumptions=strings("assumptions"),
        method=strings("method"), limitations=strings("limitations"),
        specialization=dict(_get(data, "specialization", str(path), dict, {})),
        path=path,
    )
