"""Observed data for a calibration, in one of three layouts, for any model.

The spec names the file and, if needed, its layout::

    data = "observed.csv"                       # layout told from the header

    [data]                                      # or, in full
    file = "observed.csv"
    format = "long"                             # "wide" | "long" | "vensim" | "auto"
    source = "synthetic: SIR run, see make_data.py"   # for files without a source column
    check_units = true                          # compare a unit column with the model's units
    columns = { time = "year", element = "city", series = "indicator" }
    variables = { gdp_real = "GDP" }            # data series -> model variable

Layouts
-------
wide
    A time column and one column per ``Variable`` or ``Variable[elem]``::

        time,Infectious,Recovered
        0,5,0
        1,6.4,1.1

long
    One number a row: ``time, variable, value`` plus optional ``element``,
    ``unit`` and ``source`` columns. Other column names are mapped with
    ``columns`` (roles ``time``, ``series``, ``element``, ``value``,
    ``unit``, ``source``)::

        time,variable,value,unit,source
        0,Infectious,5,Persons,synthetic

vensim
    Vensim's tab- or comma-separated data export: time across the first
    row, one variable a row::

        Time	0	1	2
        Infectious	5	6.4	8.1

``format = "auto"`` (the default) reads the header and refuses a file whose
layout is ambiguous. Empty cells in wide and Vensim files are missing
points. Every number keeps its source: the file's ``source`` column, else the
spec's ``source`` text, else the file name. Derived series (a ``derived``
column that is true) are labelled derived in reports.
"""

from __future__ import annotations

import csv
import difflib
import io
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sdkit.errors import DataError
from sdkit.io.textfile import read_text_file

__all__ = ["DataSpec", "Series", "ObservedData", "load_data", "FORMATS", "ROLES", "split_name",
           "did_you_mean", "read_number"]

#: layouts :func:`load_data` reads
FORMATS = ("auto", "wide", "long", "vensim")
#: column roles of a long file and their default column names
ROLES = {"time": ("time", "year", "t"), "series": ("variable", "series"),
         "element": ("element",), "value": ("value",), "unit": ("unit",),
         "source": ("source",)}
_EXTENSIONS = (".csv", ".tsv", ".tab", ".txt")
_TRUE = {"1", "true", "yes", "y", "derived"}


@dataclass(frozen=True)
class DataSpec:
    """Where the observed data are and how to read them (the spec's ``[data]``,
    read by :func:`sdkit.calibration.spec.read_data_spec`)."""

    file: str
    format: str = "auto"
    columns: Mapping[str, str] = field(default_factory=dict)
    variables: Mapping[str, str] = field(default_factory=dict)
    source: str = ""
    check_units: bool = True


@dataclass(frozen=True)
class Series:
    """One observed series: a data series name, maybe one element, its points.

    ``at`` gives, per point, where it is in the file (``"line 5"``,
    ``"line 1, column 4"``), for messages; ``where`` names the series itself.
    """

    name: str
    element: str
    times: tuple[float, ...]
    values: tuple[float, ...]
    at: tuple[str, ...]
    unit: str
    source: str
    where: str
    derived: bool = False


@dataclass(frozen=True)
class ObservedData:
    """All series of a data file; `element_label` is the element column's name."""

    path: str
    format: str
    series: tuple[Series, ...]
    variables: Mapping[str, str] = field(default_factory=dict)
    element_label: str = "element"

    @property
    def names(self) -> list[str]:
        """Distinct series names, in file order."""
        return list(dict.fromkeys(s.name for s in self.series))

    def variable_of(self, name: str) -> str:
        """The model variable a data series is compared with."""
        return self.variables.get(name, name)

    def find(self, name: str) -> list[Series]:
        return [s for s in self.series if s.name == name]


def split_name(name: str) -> tuple[str, str]:
    """``"Var[a,b]"`` -> ``("Var", "a,b")``; ``"Var"`` -> ``("Var", "")``."""
    base, _, rest = name.partition("[")
    return base.strip(), rest.rstrip().rstrip("]").strip()


def did_you_mean(name: str, choices: Sequence[str]) -> str:
    close = difflib.get_close_matches(name, list(choices), n=3)
    return f"; did you mean {', '.join(map(repr, close))}?" if close else ""


def read_number(raw: str, what: str, where: str) -> float:
    """`raw` as a finite float, or :class:`DataError` naming `where` and `what`."""
    try:
        value = float(raw)
    except ValueError:
        raise DataError(f"{where}: {what} must be a number: {raw!r}") from None
    if not math.isfinite(value):
        raise DataError(f"{where}: {what} must be finite: {raw.strip()!r}")
    return value


def _rows(path: Path, text: str) -> list[tuple[int, list[str]]]:
    """(line, fields) of every non-blank row; one delimiter (tab or comma) per file."""
    first = text.split("\n", 1)[0]
    reader = csv.reader(io.StringIO(text), delimiter="\t" if "\t" in first else ",")
    out = []
    try:
        for fields in reader:
            if any(f.strip() for f in fields):
                out.append((reader.line_num, [f.strip() for f in fields]))
    except csv.Error as e:
        raise DataError(f"{path}: line {reader.line_num}: cannot read as CSV: {e}") from None
    if not out:
        raise DataError(f"{path}: no header row")
    width = len(out[0][1])
    for line, fields in out[1:]:
        if len(fields) != width:
            raise DataError(f"{path}: line {line}: expected {width} fields "
                            f"({', '.join(out[0][1])}), got {len(fields)}")
    if len(out) < 2:
        raise DataError(f"{path}: no data rows below the header")
    return out


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _guess(path: Path, header: list[str]) -> str:
    low = [h.lower() for h in header]
    if "value" in low and ("variable" in low or "series" in low):
        return "long"
    if len(header) > 1 and all(_is_number(h) for h in header[1:]):
        return "vensim"
    if low[0] in ROLES["time"] and "value" not in low:
        return "wide"
    raise DataError(
        f"{path}: line 1: cannot tell the layout from the columns ({', '.join(header[:6])}"
        f"{', ...' if len(header) > 6 else ''}); expected a wide table (time, Var1, Var2, ...), "
        "a long table (time, variable, value[, unit, source]) or a Vensim export (Time, t0, "
        "t1, ...); or name the layout and columns in the spec ([data] format, columns)")


class _Collector:
    """Points by (series, element), refusing a point given twice."""

    def __init__(self, path: Path, element_label: str):
        self.path, self.label = path, element_label
        self.points: dict[tuple[str, str], dict] = {}

    def add(self, name: str, element: str, time: float, value: float, at: str, *,
            unit: str = "", source: str = "", derived: bool = False) -> None:
        s = self.points.setdefault((name, element), {
            "times": {}, "unit": unit, "unit_at": at, "sources": {}, "derived": derived,
            "where": at})
        if unit != s["unit"]:
            raise DataError(f"{self.path}: {at}: {name} unit {unit!r} differs from "
                            f"{s['unit']!r} ({s['unit_at']}); expected one unit per series")
        first = s["times"].get(time)
        if first is not None:
            same = math.isclose(first[0], value, rel_tol=1e-9, abs_tol=1e-12)
            if not same or source in first[2]:
                who = f"for {element} " if element else "at time "
                raise DataError(f"{self.path}: {at}: duplicated {name} {who}{time:g} (first on "
                                f"{first[1]}: {first[0]:g} vs {value:g})")
            first[2].append(source)  # the same number from a second source confirms it
            return
        s["times"][time] = (value, at, [source])
        if source:
            s["sources"][source] = None

    def series(self, default_source: str, where) -> tuple[Series, ...]:
        out = []
        for (name, element), s in self.points.items():
            items = sorted(s["times"].items())
            sources = "; ".join(dict.fromkeys(
                src for _, (_, _, srcs) in items for src in srcs if src)) or default_source
            out.append(Series(name, element, tuple(t for t, _ in items),
                              tuple(v for _, (v, _, _) in items),
                              tuple(a for _, (_, a, _) in items), s["unit"], sources,
                              where(name, element, s["where"]), bool(s["derived"])))
        return tuple(out)


def _long_columns(path: Path, header: list[str], mapping: Mapping[str, str]) -> dict[str, int]:
    low = [h.lower() for h in header]
    found, missing = {}, []
    for role, defaults in ROLES.items():
        names = [mapping[role]] if role in mapping else list(defaults)
        idx = next((low.index(n.lower()) for n in names if n.lower() in low), None)
        if idx is not None:
            found[role] = idx
        elif role in mapping or role in ("time", "series", "value"):
            missing.append(names[0])
    if missing:
        want = [mapping.get(r, ROLES[r][0]) for r in ("time", "series", "value")]
        raise DataError(f"{path}: missing column(s) {', '.join(missing)} in line 1; expected "
                        f"{', '.join(want)} (optional: element, unit, source); found "
                        f"{', '.join(header)}")
    return found


def _read_long(path: Path, rows, spec: DataSpec) -> tuple[_Collector, str]:
    header = rows[0][1]
    col = _long_columns(path, header, spec.columns)
    derived = header.index("derived") if "derived" in header else None
    label = header[col["element"]] if "element" in col else "element"
    got = _Collector(path, label)
    for line, f in rows[1:]:
        at = f"line {line}"
        name = f[col["series"]]
        if not name:
            raise DataError(f"{path}: {at}: missing {header[col['series']]}")
        element = f[col["element"]] if "element" in col else ""
        if not element:
            name, element = split_name(name)
        time = read_number(f[col["time"]], header[col["time"]], f"{path}: {at}")
        value = read_number(f[col["value"]], f"{name} value", f"{path}: {at}")
        got.add(name, element, time, value, at,
                unit=f[col["unit"]] if "unit" in col else "",
                source=f[col["source"]] if "source" in col else "",
                derived=derived is not None and f[derived].lower() in _TRUE)
    return got, label


def _read_wide(path: Path, rows, spec: DataSpec) -> _Collector:
    header = rows[0][1]
    seen: dict[str, int] = {}
    for j, h in enumerate(header[1:], start=2):
        if not h:
            raise DataError(f"{path}: line 1, column {j}: empty column name; expected a "
                            "variable name (Variable or Variable[element])")
        if h in seen:
            raise DataError(f"{path}: line 1, column {j}: column {h!r} given twice (first "
                            f"in column {seen[h]})")
        seen[h] = j
    got = _Collector(path, "element")
    for line, f in rows[1:]:
        time = read_number(f[0], header[0] or "time", f"{path}: line {line}")
        for j, (h, raw) in enumerate(zip(header[1:], f[1:]), start=2):
            if raw:
                name, element = split_name(h)
                got.add(name, element, time, read_number(raw, f"{h} value",
                                                     f"{path}: line {line}, column {j}"),
                        f"line {line}, column {j}")
    return got


def _read_vensim(path: Path, rows) -> _Collector:
    header_line, header = rows[0]
    while len(header) > 2 and not header[-1]:  # a trailing tab or comma on every row
        header = header[:-1]
    times = [read_number(t, "time", f"{path}: line {header_line}, column {j}")
             for j, t in enumerate(header[1:], start=2)]
    got = _Collector(path, "element")
    for line, f in rows[1:]:
        if not f[0]:
            raise DataError(f"{path}: line {line}, column 1: missing variable name")
        name, element = split_name(f[0].strip('"'))
        for j, (t, raw) in enumerate(zip(times, f[1:]), start=2):
            if raw:
                got.add(name, element, t, read_number(raw, f"{f[0]} value",
                                                  f"{path}: line {line}, column {j}"),
                        f"line {line}, column {j}")
    return got


def load_data(spec: DataSpec | str | os.PathLike) -> ObservedData:
    """Read a data file in the layout `spec` names (or tells from its header).

    Returns
    -------
    ObservedData
        One :class:`Series` per series name and element, points sorted by
        time. A point given twice with the same value by two sources is
        kept once, both sources named.

    Raises
    ------
    DataError
        Naming the file and line (and column): a missing, empty, binary or
        non-UTF-8 file, an unknown extension, a layout that cannot be told,
        missing columns, a row with the wrong number of fields, a time or
        value that is not a finite number, a series with two units, a point
        given twice.

    Examples
    --------
    >>> data = load_data("tests/models/SIR_synthetic_wide.csv")  # doctest: +SKIP
    >>> data.names
    ['Infectious', 'Recovered']
    """
    if not isinstance(spec, DataSpec):
        spec = DataSpec(file=str(spec))
    path = Path(spec.file)
    if path.suffix.lower() not in _EXTENSIONS:
        raise DataError(f"{path}: unknown data format {path.suffix or '(no extension)'!r}; "
                        f"expected {', '.join(_EXTENSIONS)}")
    text = read_text_file(path, error=DataError, what="data table (CSV)", missing="no such file")
    rows = _rows(path, text.lstrip("\ufeff"))
    fmt = spec.format if spec.format != "auto" else _guess(path, rows[0][1])
    label = "element"
    if fmt == "long":
        got, label = _read_long(path, rows, spec)
    elif fmt == "wide":
        got = _read_wide(path, rows, spec)
    else:
        got = _read_vensim(path, rows)

    def where(name: str, element: str, at: str) -> str:
        if fmt == "wide":
            return f"{path}: column {name + (f'[{element}]' if element else '')!r}"
        return f"{path}: {at}"

    series = got.series(spec.source or f"file {path.name}", where)
    return ObservedData(str(path), fmt, series, dict(spec.variables), label)
