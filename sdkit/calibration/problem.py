"""Calibration problems as data: :class:`Parameter`, :class:`Target`, :class:`CalibrationProblem`.

A problem names the model, the free parameters (each one scalar value with
bounds), the observed series each model output is fitted to, the fit window
and the method. Build it in Python, or read it from a TOML spec with
:func:`sdkit.calibration.spec.read_problem`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from sdkit.errors import SpecError
from sdkit.model.timesettings import check_time_value

__all__ = ["Parameter", "Target", "CalibrationProblem", "METHODS", "check_bounds", "MAX_BOUND"]

#: fitting methods :func:`sdkit.calibrate` knows
METHODS = ("least_squares", "differential_evolution", "multistart", "map", "mcmc")

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
    prior_only : bool, default False
        It does not act on any fitted point (e.g. a shock after the fit
        window): the data cannot inform it, so a Bayesian fit draws it from
        its prior, and least squares refuses it (see
        :mod:`sdkit.calibration.bayes`).
    """

    name: str
    variable: str
    lower: float
    upper: float
    initial: float
    element: str | None = None
    profile: bool = False
    prior_only: bool = False

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
    origin : str
        Where the target comes from, for messages (``"data.csv: column
        'Infectious'"``, ``"spec.toml: targets[0]"``).
    at : tuple of str
        Where each point is in the data file (``"line 5"``), for messages.
    derived : bool
        The data are derived, not observed (labelled so in reports).
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
    origin: str = ""
    at: tuple[str, ...] = ()
    derived: bool = False

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
    observations : tuple of Observation
        Observation-model terms (level shifts), see
        :mod:`sdkit.calibration.observation`.
    check_units : bool, default True
        Compare each target's data unit with the model variable's units
        before fitting (:func:`sdkit.calibration.fit.check_names`).
    excluded : tuple
        Data elements left out because the spec's ``elements`` do not list
        them: ``(where, label, element, expected elements)``;
        :func:`~sdkit.calibration.fit.check_names` refuses one the model
        does not know either (a misspelt city).
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
    check_units: bool = True
    excluded: tuple = ()

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
