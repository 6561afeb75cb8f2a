"""What a report shows: read from a TOML file so model specifics stay out of code.

See ``reports/iis.toml`` for a full example. Top-level tables::

    [report]          title, model, dimension, projection_start, peak_start (default: the
                      whole run), summary_years, variables
                      (gdp, emissions, intensity, coordination), peak_before,
                      intensity_base_year, colors, data_readme, caveats, assumptions,
                      method, limitations (lists of sentences)
    [[indicators]]    variable, label, units, scale (fan charts and comparison plots)
    [uncertainty]     scenarios, members, seed, sampling (default "gibbs"),
                      [[uncertainty.parameters]] name/lower/upper
    [sensitivity]     method, n, seed, scenario, [[sensitivity.factors]], [[sensitivity.outcomes]]
    [specialization]  data, year, region, indicator, value, [specialization.industries]
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from sdkit.errors import InvalidValueError, SpecError
from sdkit.io.textfile import read_toml_file
from sdkit.scenarios.sensitivity import Factor, Outcome

__all__ = ["Indicator", "ReportConfig", "read_report_config"]

#: colours used for elements (cities) when the config names none (matplotlib tab10)
DEFAULT_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
                  "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")


@dataclass(frozen=True)
class Indicator:
    """A model variable shown in the report.

    ``scale`` multiplies the model's values for tables and figures (``units``
    are the shown units), e.g. 100 to show Mt per 100 million CNY as t per
    10,000 CNY; the data files keep the model's units.
    """

    variable: str
    label: str
    units: str = ""
    scale: float = 1.0


@dataclass(frozen=True)
class ReportConfig:
    """Everything model-specific a report needs (see the module docstring)."""

    title: str
    indicators: tuple[Indicator, ...]
    gdp: str
    emissions: str
    intensity: str
    coordination: str | None = None
    model: str | None = None
    dimension: str = "City"
    projection_start: float = 2021
    peak_start: float | None = None
    summary_years: tuple[float, ...] = (2035, 2060)
    peak_before: float = 2030
    intensity_base_year: float = 2020
    first_data_year: float = 2010
    colors: Mapping[str, str] = field(default_factory=dict)
    data_readme: str | None = None
    caveats: tuple[str, ...] = ()
    assumptions: tuple[str, ...] = ()
    method: tuple[str, ...] = ()
    limitations: tuple[str, ...] = ()
    mc_scenarios: tuple[str, ...] = ()
    members: int = 1000
    seed: int | None = None
    sampling: str = "gibbs"
    uncertain: tuple[tuple[str, float, float], ...] = ()
    sensitivity_method: str = "sobol"
    sensitivity_n: int = 16
    sensitivity_seed: int | None = None
    sensitivity_scenario: str | None = None
    factors: tuple[Factor, ...] = ()
    outcomes: tuple[Outcome, ...] = ()
    specialization: Mapping[str, object] = field(default_factory=dict)
    path: Path | None = None

    @property
    def outputs(self) -> list[str]:
        """Every model variable the report needs."""
        names = [i.variable for i in self.indicators]
        names += [self.gdp, self.emissions, self.intensity]
        names += [self.coordination] if self.coordination else []
        names += [v for o in self.outcomes for v in o.variables]
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


def _req(table: Mapping, key: str, where: str, kind, default=...):
    if key not in table:
        if default is ...:
            raise SpecError(f"{where}: {key}: missing (expected {kind.__name__})")
        return default
    value = table[key]
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        raise SpecError(f"{where}: {key}: expected {kind.__name__}, got {value!r}")
    return value


def read_report_config(path: str | os.PathLike) -> ReportConfig:
    """Read and validate a report configuration file.

    Raises
    ------
    SpecError
        Missing file, bad TOML, or a missing or mistyped key (named with its table).
    """
    path = Path(path)
    data = read_toml_file(path, error=SpecError, what="report configuration")
    where = f"{path}: report"
    rep = _req(data, "report", str(path), dict)
    var = _req(rep, "variables", where, dict)
    inds = data.get("indicators", [])
    indicators = tuple(
        Indicator(_req(i, "variable", f"{path}: indicators[{n}]", str),
                  _req(i, "label", f"{path}: indicators[{n}]", str, i.get("variable")),
                  _req(i, "units", f"{path}: indicators[{n}]", str, ""),
                  _req(i, "scale", f"{path}: indicators[{n}]", float, 1.0))
        for n, i in enumerate(inds))
    unc = data.get("uncertainty", {})
    sens = data.get("sensitivity", {})
    try:
        factors = tuple(Factor(str(f["name"]), float(f["lower"]), float(f["upper"]),
                               str(f.get("label", ""))) for f in sens.get("factors", []))
        outcomes = tuple(Outcome(**o) for o in sens.get("outcomes", []))
        uncertain = tuple((str(p["name"]), float(p["lower"]), float(p["upper"]))
                          for p in unc.get("parameters", []))
    except (KeyError, TypeError, ValueError, InvalidValueError) as e:
        raise SpecError(f"{path}: sensitivity/uncertainty: {e}") from e
    seed = unc.get("seed")
    for table, key, name in ((unc, "members", "uncertainty"), (sens, "n", "sensitivity")):
        value = table.get(key, 0)
        if isinstance(value, int) and not isinstance(value, bool) and value < 0:
            raise SpecError(f"{path}: {name}: {key} must be >= 0: {value}")
    return ReportConfig(
        title=_req(rep, "title", where, str),
        indicators=indicators,
        gdp=_req(var, "gdp", f"{where}.variables", str),
        emissions=_req(var, "emissions", f"{where}.variables", str),
        intensity=_req(var, "intensity", f"{where}.variables", str),
        coordination=_req(var, "coordination", f"{where}.variables", str, None),
        model=_req(rep, "model", where, str, None),
        dimension=_req(rep, "dimension", where, str, "City"),
        projection_start=_req(rep, "projection_start", where, float, 2021.0),
        peak_start=_req(rep, "peak_start", where, float, None),
        summary_years=tuple(float(y) for y in _req(rep, "summary_years", where, list,
                                                   [2035, 2060])),
        peak_before=_req(rep, "peak_before", where, float, 2030.0),
        intensity_base_year=_req(rep, "intensity_base_year", where, float, 2020.0),
        first_data_year=_req(rep, "first_data_year", where, float, 2010.0),
        colors=dict(_req(rep, "colors", where, dict, {})),
        data_readme=_req(rep, "data_readme", where, str, None),
        caveats=tuple(_req(rep, "caveats", where, list, [])),
        assumptions=tuple(_req(rep, "assumptions", where, list, [])),
        method=tuple(_req(rep, "method", where, list, [])),
        limitations=tuple(_req(rep, "limitations", where, list, [])),
        mc_scenarios=tuple(_req(unc, "scenarios", f"{path}: uncertainty", list, [])),
        members=_req(unc, "members", f"{path}: uncertainty", int, 1000),
        seed=seed if isinstance(seed, int) else None,
        sampling=_sampling(unc, path),
        uncertain=uncertain,
        sensitivity_method=_req(sens, "method", f"{path}: sensitivity", str, "sobol"),
        sensitivity_n=_req(sens, "n", f"{path}: sensitivity", int, 16),
        sensitivity_seed=sens.get("seed") if isinstance(sens.get("seed"), int) else None,
        sensitivity_scenario=_req(sens, "scenario", f"{path}: sensitivity", str, None),
        factors=factors,
        outcomes=outcomes,
        specialization=dict(data.get("specialization", {})),
        path=path,
    )


def _sampling(unc: Mapping, path) -> str:
    """``[uncertainty] sampling``: a sampling method of `sample_parameters`."""
    from sdkit.scenarios.uncertainty import SAMPLING

    value = unc.get("sampling", "gibbs")
    if value not in SAMPLING:
        raise SpecError(f"{path}: uncertainty.sampling: expected one of {', '.join(SAMPLING)}, "
                        f"got {value!r}")
    return value
