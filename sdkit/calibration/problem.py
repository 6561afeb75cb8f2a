"""Calibration problems as data: :class:`Parameter`, :class:`Target`, :func:`read_problem`.

A problem names the model, the free parameters (each one scalar value with
bounds), the observed series each model output is fitted to, the fit window
and the method. It can be built in Python or read from a TOML spec::

    model = "../models/iis.mdl"        # relative to the spec file
    data = "data/city_stats.csv"
    elements = ["Yichang", "Jingzhou", "Jingmen", "Enshi"]

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
    indicator = "gdp_real"
    scale = 1.0                        # data = scale * model
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from sdkit.errors import SpecError
from sdkit.io.textfile import read_toml_file
from sdkit.model.timesettings import check_time_value

__all__ = ["Parameter", "Target", "CalibrationProblem", "read_problem", "METHODS",
           "check_bounds", "MAX_BOUND"]

#: fitting methods :func:`sdkit.calibrate` knows
METHODS = ("least_squares", "differential_evolution", "multistart")

#: bounds beyond this magnitude are refused: the optimisers scale steps by
#: the span, so a bound such as 1.7e308 leaves the parameter where it started
MAX_BOUND = 1e15
#: a span below this fraction of the bounds' magnitude is refused: the
#: optimisers' finite-difference steps (~1e-8 relative) would not fit inside it
MIN_RELATIVE_SPAN = 1e-9


def check_bounds(name: str, lower: float, upper: float, where: str = "") -> None:
    """Refuse bounds the optimisers cannot use, naming the parameter and the value.

    Raises
    ------
    SpecError
        ``|lower|`` or ``|upper|`` above :data:`MAX_BOUND`, or a span
        ``upper - lower`` below :data:`MIN_RELATIVE_SPAN` times the larger
        magnitude.
    """
    at = f"{where}: " if where else ""
    for key, value in (("lower", lower), ("upper", upper)):
        if abs(value) > MAX_BOUND:
            raise SpecError(
                f"{at}parameter {name!r}: {key} {value!r} is beyond +/-{MAX_BOUND:g}; the "
                "optimiser scales its steps by the span and would leave the parameter "
                "unmoved; expected bounds of the size the parameter can take")
    size = max(abs(lower), abs(upper))
    if upper - lower < MIN_RELATIVE_SPAN * size:
        raise SpecError(
            f"{at}parameter {name!r}: bounds [{lower!r}, {upper!r}] span {upper - lower:g}, "
            f"less than {MIN_RELATIVE_SPAN:g} of their size; the optimiser's steps do not "
            "fit inside; fix the parameter (under [fixed]) or widen the bounds")


@dataclass(frozen=True)
class Parameter:
    """One free scalar value of the model.

    Parameters
    ----------
    name : str
        The parameter's own name (``"k[Yichang]"``), used in results.
    variable : str
        The model constant it sets (``"Decay rate"``).
    lower, upper : float
        Finite bounds, ``lower < upper``.
    initial : float
        Starting value, within the bounds.
    element : str, optional
        Subscript element(s) of `variable` this value sets (``"Yichang"``);
        None for a scalar constant, or to set every element to one value.
    profile : bool, default False
        Compute a profile-likelihood interval for it.
    """

    name: str
    variable: str
    lower: float
    upper: float
    initial: float
    element: str | None = None
    profile: bool = False

    def __post_init__(self):
        for key in ("lower", "upper", "initial"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int | float | np.number):
                raise SpecError(f"parameter {self.name!r}: {key} must be a number: {value!r}")
            if not math.isfinite(value):
                raise SpecError(f"parameter {self.name!r}: {key} must be finite: {value!r}")
        if not self.lower < self.upper:
            raise SpecError(
                f"parameter {self.name!r}: lower ({self.lower}) must be < upper ({self.upper})"
            )
        check_bounds(self.name, float(self.lower), float(self.upper))
        if not self.lower <= self.initial <= self.upper:
            raise SpecError(
                f"parameter {self.name!r}: initial {self.initial} is outside "
                f"[{self.lower}, {self.upper}]"
            )

    @property
    def key(self) -> str:
        """The name to set in the model: ``"Variable[element]"`` or ``"Variable"``."""
        return f"{self.variable}[{self.element}]" if self.element else self.variable


@dataclass(frozen=True, eq=False)
class Target:
    """One observed series and the model output fitted to it.

    Parameters
    ----------
    name : str
        Label in results (``"GDP[Yichang]"``).
    variable : str
        Model output, ``"Name"`` or ``"Name[element]"``.
    times, values : tuple of float
        Observed points (the model's time unit; e.g. years).
    scale : float, default 1
        Unit conversion: the data are compared with ``scale * model``.
    weight : float, default 1
        Relative weight. Residuals are divided by the mean absolute
        observed value in the fit window (each series counts by its shape,
        not its size) and multiplied by `weight`. Weight 0 shows a series
        beside the fit (statistics and plot) without fitting it, e.g. a
        second source of the same quantity.
    indicator, unit, source : str
        Where the data came from (for reports).
    always_fit : bool, default False
        Fit every point, even outside the fit window (a series with a
        single observation cannot be held out).
    """

    name: str
    variable: str
    times: tuple[float, ...]
    values: tuple[float, ...]
    scale: float = 1.0
    weight: float = 1.0
    indicator: str = ""
    unit: str = ""
    source: str = ""
    always_fit: bool = False

    def __post_init__(self):
        if len(self.times) != len(self.values):
            raise SpecError(f"target {self.name!r}: {len(self.times)} times but "
                            f"{len(self.values)} values")
        if not self.times:
            raise SpecError(f"target {self.name!r}: no observed points")
        if not all(math.isfinite(v) for v in (*self.times, *self.values)):
            raise SpecError(f"target {self.name!r}: times and values must be finite")
        if not (math.isfinite(self.scale) and self.scale > 0):
            raise SpecError(f"target {self.name!r}: scale must be > 0: {self.scale}")
        if not (math.isfinite(self.weight) and self.weight >= 0):
            raise SpecError(f"target {self.name!r}: weight must be >= 0: {self.weight}")


@dataclass(frozen=True, eq=False)
class CalibrationProblem:
    """What to fit: a model, free parameters, observed targets and a fit window.

    Parameters
    ----------
    model : str
        Model file path.
    parameters : tuple of Parameter
    targets : tuple of Target
    start, stop : float, optional
        Fit window: observed points with ``start <= t <= stop`` enter the
        payoff; later points are hold-out (predicted, not fitted). Default:
        all points.
    method : str, default "least_squares"
        One of :data:`METHODS`.
    fixed : mapping, optional
        Other constants to set in every run (``{"Name[elem]": value}``).
    dt : float, optional
        Time step override.
    options : mapping, optional
        Method options (e.g. ``{"maxiter": 50, "n_starts": 8}``).
    data_path, spec_path : str
        Provenance, recorded in results.
    notes : str
        Free text for the report (how breaks in the data are handled, ...).
    """

    model: str
    parameters: tuple[Parameter, ...]
    targets: tuple[Target, ...]
    start: float | None = None
    stop: float | None = None
    method: str = "least_squares"
    fixed: Mapping[str, float] = field(default_factory=dict)
    dt: float | None = None
    options: Mapping[str, object] = field(default_factory=dict)
    data_path: str = ""
    spec_path: str = ""
    notes: str = ""
    observations: tuple = ()  # sdkit.calibration.observation.Observation (level shifts)

    def __post_init__(self):
        object.__setattr__(self, "parameters", tuple(self.parameters))
        object.__setattr__(self, "targets", tuple(self.targets))
        where = self.spec_path or "problem"
        if not self.parameters:
            raise SpecError(f"{where}: no free parameters")
        if not self.targets:
            raise SpecError(f"{where}: no targets")
        names = [p.name for p in self.parameters]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise SpecError(f"{where}: parameter name(s) given twice: {', '.join(dup)}")
        keys = [p.key.lower() for p in self.parameters]
        dup = sorted({k for k in keys if keys.count(k) > 1})
        if dup:
            raise SpecError(f"{where}: model constant(s) set by two parameters: {', '.join(dup)}")
        if self.method not in METHODS:
            raise SpecError(f"{where}: method {self.method!r} unknown; expected one of {METHODS}")
        for key in ("start", "stop"):
            check_time_value(f"fit {key}", getattr(self, key), positive=False, where=where,
                             error=SpecError)
        check_time_value("fit dt", self.dt, positive=True, where=where, error=SpecError)
        if self.start is not None and self.stop is not None and self.stop < self.start:
            raise SpecError(f"{where}: fit stop {self.stop} is before start {self.start}")
        if not any(t.weight > 0 for t in self.targets):
            raise SpecError(f"{where}: every target has weight 0: nothing to fit")
        n_fit = sum(len(t.times) if t.always_fit else len(self.in_window(t)[0])
                    for t in self.targets if t.weight > 0)
        if n_fit < len(self.parameters):
            raise SpecError(f"{where}: {n_fit} observed points in the fit window for "
                            f"{len(self.parameters)} parameters")

    def in_window(self, target: Target) -> tuple[np.ndarray, np.ndarray]:
        """Times and values of `target` inside the fit window."""
        t = np.asarray(target.times, float)
        y = np.asarray(target.values, float)
        keep = np.ones(t.shape, bool)
        if self.start is not None:
            keep &= t >= self.start
        if self.stop is not None:
            keep &= t <= self.stop
        return t[keep], y[keep]

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.parameters]

    @property
    def lower(self) -> np.ndarray:
        return np.array([p.lower for p in self.parameters], float)

    @property
    def upper(self) -> np.ndarray:
        return np.array([p.upper for p in self.parameters], float)

    @property
    def initial(self) -> np.ndarray:
        return np.array([p.initial for p in self.parameters], float)


# -- TOML spec --------------------------------------------------------------------------

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
_TARGET_KEYS = {"variable", "indicator", "scale", "weight", "elements", "always_fit"}
_PARAMETER_KEYS = {"variable", "name", "lower", "upper", "initial", "profile", "per_element",
                   "elements"}


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
        per = _get(item, "per_element", where, bool, False)
        these = _get(item, "elements", where, list, list(elements) if per else [])
        if (per or "elements" in item) and not these:
            raise SpecError(f"{where}: per_element needs a top-level 'elements' list")
        _no_unknown_keys(item, _PARAMETER_KEYS, where)
        if these:
            out += [Parameter(f"{name}[{e}]", variable, lower, upper, initial, str(e), profile)
                    for e in these]
        else:
            out.append(Parameter(name, variable, lower, upper, initial, None, profile))
    return out


def _no_unknown_keys(table: Mapping, allowed: set[str], where: str) -> None:
    bad = [k for k in table if k not in allowed]
    if bad:
        raise SpecError(f"{where}: unknown key(s) {', '.join(map(repr, bad))}")


def _read_targets(path: Path, spec: Mapping, elements: Sequence[str], data) -> list[Target]:
    from sdkit.calibration.data import series

    out = []
    for i, item in enumerate(spec.get("targets", [])):
        where = f"{path}: targets[{i}]"
        _no_unknown_keys(item, _TARGET_KEYS, where)
        variable = _get(item, "variable", where, str)
        indicator = _get(item, "indicator", where, str)
        scale = _get(item, "scale", where, float, 1.0)
        weight = _get(item, "weight", where, float, 1.0)
        always = _get(item, "always_fit", where, bool, False)
        these = _get(item, "elements", where, list, list(elements))
        if data is None:
            raise SpecError(f"{where}: targets need a top-level 'data' file")
        if indicator not in set(data["indicator"]):
            raise SpecError(f"{where}: indicator {indicator!r} is not in {data.attrs['path']}")
        for element in these:
            s = series(data, indicator, str(element)).dropna()
            if s.empty:
                continue  # missing series stay missing: nothing to fit
            sel = data[(data["indicator"] == indicator) & (data["city"] == element)]
            name = f"{variable}[{element}]"
            if weight == 0:
                name = f"{name} vs {indicator} (not fitted)"
            out.append(Target(
                name=name, variable=f"{variable}[{element}]",
                times=tuple(float(t) for t in s.index), values=tuple(float(v) for v in s),
                scale=scale, weight=weight, indicator=indicator,
                unit=str(sel["unit"].iloc[0]), source=str(sel["source"].iloc[0]),
                always_fit=always,
            ))
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
    from sdkit.calibration.data import load_city_data

    path = Path(path)
    spec = read_toml_file(path, error=SpecError, what="calibration spec", missing="no such file")
    where = str(path)
    _no_unknown_keys(spec, _TOP_KEYS, where)
    model = os.path.normpath(path.parent / _get(spec, "model", where, str))
    elements = [str(e) for e in _get(spec, "elements", where, list, [])]
    data = None
    data_path = ""
    if "data" in spec:
        data_path = os.path.normpath(path.parent / _get(spec, "data", where, str))
        data = load_city_data(data_path)
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
    targets = _read_targets(path, spec, elements, data)
    from sdkit.calibration.observation import read_observations

    observations = read_observations(spec.get("observations", []), where=where,
                                     elements=elements)
    try:
        return CalibrationProblem(
            model=str(model), parameters=tuple(params), targets=tuple(targets),
            start=start, stop=stop, method=method, fixed=dict(fixed), dt=dt,
            options=dict(options), data_path=data_path, spec_path=str(path),
            notes=_get(spec, "notes", where, str, ""), observations=observations,
        )
    except SpecError as e:
        msg = str(e)
        raise SpecError(msg if msg.startswith(str(path)) else f"{path}: {msg}") from None
