"""Calibration specs (TOML): :func:`read_problem` reads one into a :class:`CalibrationProblem`.

A spec names the model, the free parameters (each one scalar value with
bounds), the data file and the series each model output is fitted to, the
fit window and the method::

    model = "../models/iis.mdl"        # relative to the spec file
    elements = ["Yichang", "Jingzhou", "Jingmen", "Enshi"]
    # the data file and its layout: see sdkit.calibration.data
    data = { file = "data/city_stats_calibration.csv", columns = { time = "year",
             element = "city", series = "indicator" } }

    [fit]
    start = 2010
    stop = 2018                        # last year in the payoff
    method = "least_squares"

    [[parameters]]
    name = "capital share"
    variable = "Capital share"
    per_element = true                 # one free value per element
    lower = 0.2
    upper = 0.6
    initial = 0.4

    [[targets]]
    variable = "GDP"                   # fitted per element (city)
    indicator = "gdp_real"             # the data series (default: the variable's name)
    scale = 1.0                        # data = scale * model

Without any ``[[targets]]``, every series in the data file is a target,
compared with the model variable of the same name (or the one
``[data] variables`` maps it to).
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from sdkit.calibration.data import (
    FORMATS,
    ROLES,
    DataSpec,
    ObservedData,
    did_you_mean,
    load_data,
    split_name,
)
from sdkit.calibration.observation import read_observations
from sdkit.calibration.problem import CalibrationProblem, Parameter, Target, check_bounds
from sdkit.errors import SpecError
from sdkit.io.textfile import read_toml_file
from sdkit.model.timesettings import check_time_value

__all__ = ["read_problem", "read_data_spec"]

_DATA_KEYS = {"file", "format", "columns", "variables", "source", "check_units"}


# -- TOML spec --------------------------------------------------------------------------

def _text(table: Mapping, key: str, where: str) -> str:
    value = table[key]
    if not isinstance(value, str) or not value.strip():
        raise SpecError(f"{where}: {key!r} must be a non-empty string, got {value!r}")
    return value


def _text_map(value: object, key: str, where: str) -> dict[str, str]:
    if not isinstance(value, Mapping) or not all(
            isinstance(v, str) and v.strip() for v in value.values()):
        raise SpecError(f"{where}: {key!r} must be a table of names, got {value!r}")
    return {str(k): str(v) for k, v in value.items()}


def read_data_spec(value: object, *, where: str, base: Path) -> DataSpec:
    """The spec's ``data`` key (a file name or a table) as a :class:`DataSpec`.

    Relative file names are relative to `base` (the spec's folder).

    Raises
    ------
    SpecError
        Naming `where` and the key: unknown keys, an unknown format or
        column role, values of the wrong type.
    """
    where = f"{where}: data"
    if isinstance(value, str):
        value = {"file": value}
    if not isinstance(value, Mapping):
        raise SpecError(f"{where}: expected a file name or a table with 'file', got {value!r}")
    bad = [k for k in value if k not in _DATA_KEYS]
    if bad:
        raise SpecError(f"{where}: unknown key(s) {', '.join(map(repr, bad))}; expected "
                        f"{', '.join(sorted(_DATA_KEYS))}")
    if "file" not in value:
        raise SpecError(f"{where}: missing key 'file'")
    fmt = value.get("format", "auto")
    if fmt not in FORMATS:
        raise SpecError(f"{where}: format {fmt!r} unknown; expected one of {', '.join(FORMATS)}")
    columns = _text_map(value.get("columns", {}), "columns", where)
    unknown = [k for k in columns if k not in ROLES]
    if unknown:
        raise SpecError(f"{where}: columns: unknown role(s) {', '.join(map(repr, unknown))}; "
                        f"expected {', '.join(ROLES)}")
    if columns and fmt not in ("auto", "long"):
        raise SpecError(f"{where}: columns maps a long table; format is {fmt!r}")
    check = value.get("check_units", True)
    if not isinstance(check, bool):
        raise SpecError(f"{where}: 'check_units' must be true or false, got {check!r}")
    source = _text(value, "source", where) if "source" in value else ""
    return DataSpec(file=os.path.normpath(base / _text(value, "file", where)),
                    format="long" if columns else fmt, columns=columns,
                    variables=_text_map(value.get("variables", {}), "variables", where),
                    source=source, check_units=check)


def _get(table: Mapping, key: str, where: str, kind, default=..., ) -> object:
    if key not in table:
        if default is ...:
            raise SpecError(f"{where}: missing key {key!r}")
        return default
    value = table[key]
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        name = getattr(kind, "__name__", str(kind))
        raise SpecError(f"{where}: {key!r} must be {name}, got {value!r}")
    if kind is float and not math.isfinite(value):
        raise SpecError(f"{where}: {key!r} must be finite, got {value!r}")
    return value


_TOP_KEYS = {"model", "data", "elements", "fit", "fixed", "parameters", "targets", "notes",
             "observations"}
_FIT_KEYS = {"start", "stop", "method", "dt", "options"}
_TARGET_KEYS = {"variable", "indicator", "series", "scale", "weight", "elements", "always_fit",
                "likelihood"}  # likelihood: sdkit.calibration.bayes_spec
_PARAMETER_KEYS = {"variable", "name", "lower", "upper", "initial", "profile", "per_element",
                   "elements", "prior", "pooled", "pool_scale", "prior_only"}  # prior..: bayes_spec


def _read_parameters(path: Path, spec: Mapping, elements: Sequence[str]) -> list[Parameter]:
    out = []
    for i, item in enumerate(spec.get("parameters", [])):
        where = f"{path}: parameters[{i}]"
        variable = _get(item, "variable", where, str)
        name = _get(item, "name", where, str, variable)
        lower = _get(item, "lower", where, float)
        upper = _get(item, "upper", where, float)
        initial = _get(item, "initial", where, float, None)
        if lower >= upper:
            raise SpecError(f"{where}: lower ({lower}) must be < upper ({upper}); "
                            "bounds are never swapped")
        check_bounds(name, lower, upper, where)
        initial = (lower + upper) / 2 if initial is None else initial
        if not lower <= initial <= upper:
            raise SpecError(f"{where}: initial {initial} is outside [{lower}, {upper}]")
        profile = _get(item, "profile", where, bool, False)
        prior_only = _get(item, "prior_only", where, bool, False)
        per = _get(item, "per_element", where, bool, False)
        these = _get(item, "elements", where, list, list(elements) if per else [])
        if (per or "elements" in item) and not these:
            raise SpecError(f"{where}: per_element needs a top-level 'elements' list")
        _no_unknown_keys(item, _PARAMETER_KEYS, where)
        if these:
            out += [Parameter(f"{name}[{e}]", variable, lower, upper, initial, str(e), profile,
                              prior_only) for e in these]
        else:
            out.append(Parameter(name, variable, lower, upper, initial, None, profile,
                                 prior_only))
    return out


def _no_unknown_keys(table: Mapping, allowed: set[str], where: str) -> None:
    bad = [k for k in table if k not in allowed]
    if bad:
        raise SpecError(f"{where}: unknown key(s) {', '.join(map(repr, bad))}")


def _norm(name: str) -> str:
    return " ".join(str(name).replace("_", " ").lower().split())


def _line_of(at: str) -> int:
    head = at.split(",")[0].removeprefix("line ").strip()
    return int(head) if head.isdigit() else 0


def _series_for(data: ObservedData, name: str, these: Sequence[str],
                elements: Sequence[str], excluded: list) -> list:
    """The series called `name`, for the elements `these` (all if empty), in their order.

    A series of an element outside the spec's `elements` list is left out
    and noted in `excluded` (``check_names`` refuses it unless the model
    knows the element).
    """
    found = data.find(name)
    for s in found:
        if elements and s.element and s.element not in elements:
            at = min(s.at, key=_line_of)
            excluded.append((f"{data.path}: {at}", data.element_label, s.element,
                             tuple(elements)))
    if not these:
        return [s for s in found if not elements or not s.element or s.element in elements]
    order = {str(e): i for i, e in enumerate(these)}
    return sorted((s for s in found if not s.element or s.element in order),
                  key=lambda s: order.get(s.element, -1))


def _target_items(path: Path, spec: Mapping, data: ObservedData | None) -> list[tuple]:
    """(where, item, series names, auto) per target table; every data series when none."""
    if "targets" not in spec:
        if data is None:
            return []
        return [(s.where, {"variable": data.variable_of(n)}, [n], True)
                for n in data.names for s in data.find(n)[:1]]
    out = []
    for i, item in enumerate(spec["targets"]):
        where = f"{path}: targets[{i}]"
        _no_unknown_keys(item, _TARGET_KEYS, where)
        variable = _get(item, "variable", where, str)
        base, element = split_name(variable)
        if element and "elements" not in item:  # "Stock[a]": that element's series only
            item, variable = {**item, "variable": base, "elements": [element]}, base
        if data is None:
            raise SpecError(f"{where}: targets need a top-level 'data' file")
        key = "series" if "series" in item else "indicator" if "indicator" in item else "variable"
        if key != "variable":
            names = [_get(item, key, where, str)]
        else:
            names = [n for n in data.names if _norm(data.variable_of(n)) == _norm(variable)]
            names = names or [variable]
        for name in names:
            if name not in data.names:
                hint = did_you_mean(name, data.names) or (
                    f"; it holds {', '.join(map(repr, data.names[:8]))}" if key == "variable"
                    else "")
                raise SpecError(f"{where}: {key} {name!r} is not in {data.path}{hint}")
        out.append((where, item, names, False))
    return out


def _read_targets(path: Path, spec: Mapping, elements: Sequence[str],
                  data: ObservedData | None, excluded: list) -> list[Target]:
    out = []
    for where, item, names, auto in _target_items(path, spec, data):
        variable = _get(item, "variable", where, str)
        scale = _get(item, "scale", where, float, 1.0)
        weight = _get(item, "weight", where, float, 1.0)
        always = _get(item, "always_fit", where, bool, False)
        these = [str(e) for e in _get(item, "elements", where, list, list(elements))]
        for indicator in names:
            for s in _series_for(data, indicator, these, elements, excluded):
                full = f"{variable}[{s.element}]" if s.element else variable
                name = full if weight else f"{full} vs {indicator} (not fitted)"
                out.append(Target(
                    name=name, variable=full, times=s.times, values=s.values, scale=scale,
                    weight=weight, indicator=indicator, unit=s.unit, source=s.source,
                    always_fit=always, origin=s.where if auto else "", at=s.at,
                    derived=s.derived))
    return out


def read_problem(path: str | os.PathLike) -> CalibrationProblem:
    """Read a calibration spec (TOML) into a :class:`CalibrationProblem`.

    Paths in the spec (``model``, ``data``) are relative to the spec file.

    Raises
    ------
    SpecError
        Naming the file and the key: unreadable TOML, missing or mistyped
        keys, ``lower >= upper`` (never swapped), an initial value outside
        its bounds, an unknown method or indicator.
    sdkit.DataError
        The data file is invalid (naming its line).
    """
    path = Path(path)
    spec = read_toml_file(path, error=SpecError, what="calibration spec", missing="no such file")
    where = str(path)
    _no_unknown_keys(spec, _TOP_KEYS, where)
    model = os.path.normpath(path.parent / _get(spec, "model", where, str))
    elements = [str(e) for e in _get(spec, "elements", where, list, [])]
    data, data_spec = None, None
    if "data" in spec:
        data_spec = read_data_spec(spec["data"], where=where, base=path.parent)
        data = load_data(data_spec)
    fit = _get(spec, "fit", where, dict, {})
    fwhere = f"{path}: fit"
    _no_unknown_keys(fit, _FIT_KEYS, fwhere)
    start = _get(fit, "start", fwhere, float, None)
    stop = _get(fit, "stop", fwhere, float, None)
    method = _get(fit, "method", fwhere, str, "least_squares")
    dt = _get(fit, "dt", fwhere, float, None)
    check_time_value("dt", dt, positive=True, where=fwhere, error=SpecError)
    options = _get(fit, "options", fwhere, dict, {})
    fixed = _get(spec, "fixed", where, dict, {})
    for key, value in fixed.items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise SpecError(f"{path}: fixed.{key} must be a number: {value!r}")
    params = _read_parameters(path, spec, elements)
    excluded: list = []
    targets = _read_targets(path, spec, elements, data, excluded)
    observations = read_observations(spec.get("observations", []), where=where,
                                     elements=elements)
    try:
        return CalibrationProblem(
            model=str(model), parameters=tuple(params), targets=tuple(targets),
            start=start, stop=stop, method=method, fixed=dict(fixed), dt=dt,
            options=dict(options), data_path=data_spec.file if data_spec else "",
            spec_path=str(path), notes=_get(spec, "notes", where, str, ""),
            observations=observations, check_units=data_spec.check_units if data_spec else True,
            excluded=tuple(dict.fromkeys(excluded)),
        )
    except SpecError as e:
        msg = str(e)
        raise SpecError(msg if msg.startswith(str(path)) else f"{path}: {msg}") from None
