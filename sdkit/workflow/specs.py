"""Uncertainty and sensitivity studies described by files, for any model.

Both specs are one TOML table, so a single file may hold several (a study's
report configuration can carry them). Paths are relative to the file.

Monte Carlo (``sdkit uncertainty SPEC``)::

    [uncertainty]
    model = "../models/SIR.mdl"        # or --model
    members = 200                      # N
    seed = 1
    sampling = "auto"                  # for normal parameters: auto, rejection, copula, gibbs
    outputs = ["Infectious"]           # variables to keep
    times = [10, 20, 50]               # optional: times of the bands table (default: all)
    peaks = ["Infectious"]             # optional: peak time of each member, and its bands
    peak_start = 0                     # optional: ignore earlier times when finding peaks
    scenarios = ["baseline"]           # optional: the study's scenarios to run it under
    # from_calibration = "fit/calibration.json"   # instead of [[uncertainty.parameters]]:
    #   the record's fitted parameters drawn from its covariance (or MCMC posterior), its
    #   [fixed] constants and fitted values held in every member

    [[uncertainty.parameters]]
    name = "Contact Infectivity"
    distribution = "uniform"           # lower, upper; or "normal": mean, sd (+ lower/upper)
    lower = 0.2
    upper = 0.4
    source = "assumed: +-33 % around the model's value"

Sensitivity (``sdkit sensitivity SPEC``)::

    [sensitivity]
    model = "../models/SIR.mdl"
    method = "sobol"                   # or "morris"
    n = 64                             # base sample (a power of two for Sobol')
    seed = 7
    scenario = "baseline"              # optional: the study's scenario held fixed

    [[sensitivity.factors]]
    name = "Contact Infectivity"
    lower = 0.2
    upper = 0.4
    label = "contact infectivity"
    source = "assumed range"

    [[sensitivity.outcomes]]
    name = "peak infectious"
    variable = "Infectious"
    statistic = "max"                  # value, ratio, cumulative, peak_year, max, min
    units = "Persons"                  # optional; checked against the model's units

Every key, with its type and default: ``docs/specs.md``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sdkit.analysis.sensitivity import STATISTICS, Outcome
from sdkit.errors import InvalidValueError, SpecError
from sdkit.io.schema import names, number, table, tables, text, unknown_keys
from sdkit.io.textfile import read_toml_file
from sdkit.model.load import Model
from sdkit.scenarios.runs import check_outputs
from sdkit.scenarios.sensitivity import METHODS, Factor
from sdkit.scenarios.uncertainty import SAMPLING, ParameterUncertainty
from sdkit.structure.unitexpr import UnitSpace, UnitsSyntaxError

__all__ = ["UncertaintySpec", "SensitivitySpec", "read_uncertainty_spec",
           "read_sensitivity_spec", "check_spec", "check_n"]

_UNC_KEYS = {"model", "members", "seed", "sampling", "outputs", "times", "peaks", "peak_start",
             "scenarios", "from_calibration", "parameters"}
_PARAM_KEYS = {"name", "distribution", "lower", "upper", "mean", "sd", "source"}
_SENS_KEYS = {"model", "method", "n", "seed", "scenario", "factors", "outcomes"}
_FACTOR_KEYS = {"name", "lower", "upper", "label", "source"}
_OUTCOME_KEYS = {"name", "variable", "statistic", "year", "start", "stop", "denominator",
                 "units"}


@dataclass(frozen=True)
class UncertaintySpec:
    """A Monte Carlo study: what varies, how, and what is kept (see the module docstring)."""

    path: Path
    uncertainty: ParameterUncertainty | None
    members: int
    seed: int | None
    sampling: str
    outputs: tuple[str, ...]
    times: tuple[float, ...] = ()
    peaks: tuple[str, ...] = ()
    peak_start: float | None = None
    scenarios: tuple[str, ...] = ()
    from_calibration: Path | None = None
    model: Path | None = None


@dataclass(frozen=True)
class SensitivitySpec:
    """A sensitivity study: factors, outcomes, method, N and seed."""

    path: Path
    factors: tuple[Factor, ...]
    outcomes: tuple[Outcome, ...]
    method: str = "sobol"
    n: int = 16
    seed: int | None = None
    scenario: str | None = None
    model: Path | None = None

    @property
    def outputs(self) -> tuple[str, ...]:
        """Every model variable the outcomes read."""
        return tuple(dict.fromkeys(v for o in self.outcomes for v in o.variables))


def _head(path: str | os.PathLike, key: str, allowed: set[str]):
    path = Path(path)
    where = str(path)
    data = read_toml_file(path, error=SpecError, what=f"{key} spec")
    head = table(data, key, where=where, error=SpecError)
    unknown_keys(head, allowed, where=where, key=key, error=SpecError)
    model = head.get("model")
    model = None if model is None else path.parent / text(model, where=where, key=f"{key}.model",
                                                          error=SpecError)
    return path, where, head, model


def _seed(head, where: str, key: str) -> int | None:
    if "seed" not in head:
        return None
    return int(number(head["seed"], where=where, key=f"{key}.seed", error=SpecError, minimum=0,
                      integer=True))


def _parameter(p, k: int, where: str):
    key = f"uncertainty.parameters[{k}]"
    unknown_keys(p, _PARAM_KEYS, where=where, key=key, error=SpecError)
    name = text(p.get("name"), where=where, key=f"{key}.name", error=SpecError)
    text(p.get("source"), where=where, key=f"{key}.source", error=SpecError)
    dist = p.get("distribution", "uniform")
    need = {"uniform": ("lower", "upper"), "normal": ("mean", "sd")}
    if dist not in need:
        raise SpecError(f"{where}: {key}.distribution: expected uniform or normal, got {dist!r}")
    for req in need[dist]:
        if req not in p:
            raise SpecError(f"{where}: {key}.{req}: missing (a {dist} parameter needs "
                            f"{' and '.join(need[dist])})")
    v = {k2: number(p[k2], where=where, key=f"{key}.{k2}", error=SpecError)
         for k2 in ("lower", "upper", "mean", "sd") if k2 in p}
    return name, dist, v


def _parameters(head, where: str) -> ParameterUncertainty | None:
    rows = [_parameter(p, k, where) for k, p in
            enumerate(tables(head, "parameters", where=where, error=SpecError))]
    if not rows:
        return None
    kinds = {d for _, d, _ in rows}
    if len(kinds) > 1:
        raise SpecError(f"{where}: uncertainty.parameters: mixes uniform and normal "
                        "distributions; expected one kind for all parameters")
    nm = [n for n, _, _ in rows]
    try:
        if kinds == {"uniform"}:
            return ParameterUncertainty.from_intervals(
                {n: (v["lower"], v["upper"]) for n, _, v in rows}, source=str(where))
        sd = np.array([v["sd"] for _, _, v in rows])
        return ParameterUncertainty.from_covariance(
            nm, [v["mean"] for _, _, v in rows], np.diag(sd ** 2),
            lower=[v.get("lower", -np.inf) for _, _, v in rows],
            upper=[v.get("upper", np.inf) for _, _, v in rows], source=str(where))
    except InvalidValueError as e:
        raise SpecError(f"{where}: uncertainty.parameters: {e}") from None


def read_uncertainty_spec(path: str | os.PathLike) -> UncertaintySpec:
    """Read the ``[uncertainty]`` table of `path` (see the module docstring).

    Raises
    ------
    SpecError
        Missing file or table, unknown keys, a parameter without a range or
        source; the message names the file and the key.
    """
    path, where, head, model = _head(path, "uncertainty", _UNC_KEYS)
    sampling = head.get("sampling", "auto")
    if sampling not in SAMPLING:
        raise SpecError(f"{where}: uncertainty.sampling: expected one of {', '.join(SAMPLING)}, "
                        f"got {sampling!r}")
    record = head.get("from_calibration")
    if record is not None:
        record = path.parent / text(record, where=where, key="uncertainty.from_calibration",
                                    error=SpecError)
    unc = _parameters(head, where)
    if (unc is None) == (record is None):
        got = "missing" if unc is None else "given with from_calibration"
        raise SpecError(f"{where}: uncertainty.parameters: {got}; expected either "
                        "[[uncertainty.parameters]] tables or from_calibration = "
                        "\"<calibration.json>\", not both")

    def opt(key, fn):
        return fn(head[key], where=where, key=f"uncertainty.{key}", error=SpecError) \
            if key in head else ()

    times = tuple(number(t, where=where, key="uncertainty.times", error=SpecError)
                  for t in (head.get("times") or []))
    return UncertaintySpec(
        path=path, uncertainty=unc, seed=_seed(head, where, "uncertainty"), sampling=sampling,
        members=int(number(head.get("members", 1000), where=where, key="uncertainty.members",
                           error=SpecError, minimum=0, integer=True)),
        outputs=opt("outputs", names), times=times, peaks=opt("peaks", names),
        peak_start=(number(head["peak_start"], where=where, key="uncertainty.peak_start",
                           error=SpecError) if "peak_start" in head else None),
        scenarios=opt("scenarios", names), from_calibration=record, model=model)


def _outcome(o, k: int, where: str) -> Outcome:
    key = f"sensitivity.outcomes[{k}]"
    unknown_keys(o, _OUTCOME_KEYS, where=where, key=key, error=SpecError)
    stat = o.get("statistic", "value")
    if stat not in STATISTICS:
        raise SpecError(f"{where}: {key}.statistic: expected one of {', '.join(STATISTICS)}, "
                        f"got {stat!r}")
    kw = {k2: text(o[k2], where=where, key=f"{key}.{k2}", error=SpecError)
          for k2 in ("name", "variable", "denominator", "units") if k2 in o}
    kw.update({k2: number(o[k2], where=where, key=f"{key}.{k2}", error=SpecError)
               for k2 in ("year", "start", "stop") if k2 in o})
    for req in ("name", "variable"):
        if req not in kw:
            raise SpecError(f"{where}: {key}.{req}: missing (expected name and variable)")
    try:
        return Outcome(statistic=stat, **kw)
    except InvalidValueError as e:
        raise SpecError(f"{where}: {key}: {e}") from None


def _factor(f, k: int, where: str) -> Factor:
    key = f"sensitivity.factors[{k}]"
    unknown_keys(f, _FACTOR_KEYS, where=where, key=key, error=SpecError)
    for req in ("name", "lower", "upper", "source"):
        if req not in f:
            raise SpecError(f"{where}: {key}.{req}: missing (expected name, lower, upper "
                            "and source)")
    kw = {k2: text(f[k2], where=where, key=f"{key}.{k2}", error=SpecError)
          for k2 in ("name", "label", "source") if k2 in f}
    try:
        return Factor(lower=number(f["lower"], where=where, key=f"{key}.lower", error=SpecError),
                      upper=number(f["upper"], where=where, key=f"{key}.upper", error=SpecError),
                      **kw)
    except InvalidValueError as e:
        raise SpecError(f"{where}: {key}: {e}") from None


def check_n(n: object, method: str, *, where: str, key: str = "sensitivity.n") -> int:
    """A base sample size: an integer >= 1, a power of two for Sobol'."""
    n = int(number(n, where=where, key=key, error=SpecError, minimum=1, integer=True))
    if method == "sobol" and n & (n - 1):
        raise SpecError(f"{where}: {key}: expected a power of two for Sobol', got {n}")
    return n


def read_sensitivity_spec(path: str | os.PathLike) -> SensitivitySpec:
    """Read the ``[sensitivity]`` table of `path` (see the module docstring).

    Raises
    ------
    SpecError
        Missing file or table, unknown keys, bad factors or outcomes, a bad
        method or N; the message names the file and the key.
    """
    path, where, head, model = _head(path, "sensitivity", _SENS_KEYS)
    method = head.get("method", "sobol")
    if method not in METHODS:
        raise SpecError(f"{where}: sensitivity.method: expected one of {', '.join(METHODS)}, "
                        f"got {method!r}")
    n = check_n(head.get("n", 16), method, where=where)
    factors = tuple(_factor(f, k, where) for k, f in
                    enumerate(tables(head, "factors", where=where, error=SpecError)))
    outcomes = tuple(_outcome(o, k, where) for k, o in
                     enumerate(tables(head, "outcomes", where=where, error=SpecError)))
    if len(factors) < 2 or not outcomes:
        raise SpecError(f"{where}: sensitivity: expected at least two [[sensitivity.factors]] "
                        "and one [[sensitivity.outcomes]]")
    scenario = head.get("scenario")
    return SensitivitySpec(
        path=path, factors=factors, outcomes=outcomes, method=method, n=n,
        seed=_seed(head, where, "sensitivity"), model=model,
        scenario=None if scenario is None else text(scenario, where=where,
                                                    key="sensitivity.scenario", error=SpecError))


def _check_units(model: Model, o: Outcome, space: UnitSpace, *, where: str, key: str) -> None:
    """An outcome's `units` equal the model's for a value, max or min (time units for a peak
    time); other statistics and undeclared units are not checked."""
    if not o.units or o.statistic not in ("value", "max", "min", "peak_year"):
        return
    t = model.time_settings
    declared = (t.units if o.statistic == "peak_year"
                else model.variable(o.variable.split("[", 1)[0]).units or "").strip()
    try:
        same = not declared or space.parse(o.units) == space.parse(declared)
    except UnitsSyntaxError as e:
        raise SpecError(f"{where}: {key}: {e}") from None
    if not same:
        what = "time units" if o.statistic == "peak_year" else f"units of {o.variable}"
        raise SpecError(f"{where}: {key}: {o.units!r} does not match the model's {what} "
                        f"{declared!r} ({model.path}); expected {declared!r}")


def check_spec(spec: UncertaintySpec | SensitivitySpec, model: Model) -> None:
    """Check a spec against its model before any run: variables exist, times lie in the run.

    Raises
    ------
    SpecError
        ``<spec>: <key>: ...`` for an unknown variable or a time outside the run.
    """
    where = str(spec.path)
    t = model.time_settings
    if isinstance(spec, UncertaintySpec):
        check_outputs(model, spec.outputs, where=where, key="uncertainty.outputs")
        check_outputs(model, spec.peaks, where=where, key="uncertainty.peaks")
        if spec.uncertainty is not None:
            check_outputs(model, spec.uncertainty.names, where=where,
                          key="uncertainty.parameters")
        times = [("uncertainty.times", x) for x in spec.times]
        times += [("uncertainty.peak_start", spec.peak_start)] if spec.peak_start is not None \
            else []
    else:
        check_outputs(model, [f.name for f in spec.factors], where=where,
                      key="sensitivity.factors")
        times = []
        space = UnitSpace()
        for k, o in enumerate(spec.outcomes):
            check_outputs(model, o.variables, where=where, key=f"sensitivity.outcomes[{k}]")
            _check_units(model, o, space, where=where, key=f"sensitivity.outcomes[{k}].units")
            times += [(f"sensitivity.outcomes[{k}]", x) for x in o.times]
    for key, x in times:
        if not t.start <= x <= t.stop:
            raise SpecError(f"{where}: {key}: time {x:g} is outside the run ({t.start:g} to "
                            f"{t.stop:g}) of {model.path}")
