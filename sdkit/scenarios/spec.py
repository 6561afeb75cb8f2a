"""Scenarios as data: one TOML file per scenario, read into frozen dataclasses.

A scenario file names its levers and the model constants each lever sets,
so adding a scenario means writing one file::

    [scenario]
    name = "green"                       # defaults to the file stem
    title = "Green transition only"
    description = "Faster decline of industrial carbon intensity."
    model = "../iis.mdl"                 # optional, relative to this file

    [levers.green_transition]
    variable = "Lever green transition"  # model constant for the strength
    strength = 1.0                       # 0 = off
    start_year = 2026
    ramp_years = 5
    # start_variable = "Lever green transition start year"   (default: variable + " start year")
    # ramp_variable  = "Lever green transition ramp years"   (default: variable + " ramp years")

    [constants]                          # optional extra constant changes
    "Some constant[Region A]" = 1.2

    [outputs]                            # optional: what `sdkit scenarios run` keeps
    variables = ["Infected", "Recovered"]   # (or --columns on the command line)

:func:`scenario_params` turns a :class:`Scenario` into ``{model name: value}``
for :func:`sdkit.engine.simulate`; :func:`run_scenarios` (in :mod:`sdkit.scenarios.projection`)
runs several of them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from sdkit.errors import SpecError
from sdkit.io.schema import number, text, unknown_keys
from sdkit.io.textfile import read_toml_file
from sdkit.model.timesettings import time_setting_name

__all__ = ["Lever", "Scenario", "read_scenario", "list_scenarios", "scenario_params",
           "check_scenario_name"]

_SCENARIO_KEYS = {"name", "title", "description", "model"}
_LEVER_KEYS = {"variable", "strength", "start_year", "ramp_years", "start_variable",
               "ramp_variable"}


@dataclass(frozen=True)
class Lever:
    """One strategy lever: how strong, from when, how fast, and which constants it sets.

    Attributes
    ----------
    name : str
        The lever's own name (the TOML table key), e.g. ``"green_transition"``.
    variable : str
        Model constant holding the lever's strength.
    strength : float
        Strength (0 = off); finite.
    start_year : float
        Year the lever begins to act.
    ramp_years : float
        Years from start to full strength (>= 0).
    start_variable, ramp_variable : str
        Model constants for the start year and ramp length.
    """

    name: str
    variable: str
    strength: float
    start_year: float
    ramp_years: float
    start_variable: str
    ramp_variable: str

    @property
    def active(self) -> bool:
        """True if the lever does anything (strength not zero)."""
        return self.strength != 0

    def params(self) -> dict[str, float]:
        """The model constants this lever sets."""
        return {self.variable: self.strength, self.start_variable: self.start_year,
                self.ramp_variable: self.ramp_years}


@dataclass(frozen=True)
class Scenario:
    """A named set of lever settings and constant changes.

    Attributes
    ----------
    name : str
        Short identifier (file stem unless the file says otherwise); also the
        stem of the table ``sdkit scenarios run`` writes, so
        :func:`read_scenario` refuses names that are not plain file names
        (:func:`check_scenario_name`).
    title : str
        Human-readable title for reports.
    description : str
        One or two sentences for reports.
    levers : tuple of Lever
    constants : mapping
        Extra ``{model name: value}`` changes.
    path : Path or None
        The file it was read from.
    model : Path or None
        The model the scenario is written for (resolved against the file's folder).
    outputs : tuple of str
        Variables to keep when the scenario runs on its own (``[outputs]
        variables``); empty if the file names none.
    """

    name: str
    title: str = ""
    description: str = ""
    levers: tuple[Lever, ...] = ()
    constants: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    path: Path | None = None
    model: Path | None = None
    outputs: tuple[str, ...] = ()

    def params(self) -> dict[str, float]:
        """``{model name: value}`` for :func:`sdkit.engine.simulate` (:func:`scenario_params`)."""
        return scenario_params(self)

    @property
    def active_levers(self) -> tuple[str, ...]:
        """Names of the levers with non-zero strength."""
        return tuple(lv.name for lv in self.levers if lv.active)


def scenario_params(scenario: Scenario) -> dict[str, float]:
    """Return the model constants a scenario sets, levers first, then ``constants``.

    Raises
    ------
    SpecError
        If two levers (or a lever and ``constants``) set the same model name.
    """
    out: dict[str, float] = {}
    where = scenario.path or scenario.name
    owners: dict[str, str] = {}
    items = [(f"levers.{lv.name}", lv.params()) for lv in scenario.levers]
    items.append(("constants", dict(scenario.constants)))
    for owner, values in items:
        for name, value in values.items():
            key = " ".join(name.lower().replace("_", " ").split())
            if key in owners:
                raise SpecError(f"{where}: {owner}: {name!r} is also set by {owners[key]}")
            owners[key] = owner
            out[name] = value
    return out


def _number(value: object, *, where: str, key: str, minimum: float | None = None) -> float:
    return number(value, where=where, key=key, error=SpecError, minimum=minimum)


def _text(value: object, *, where: str, key: str) -> str:
    return text(value, where=where, key=key, error=SpecError)


def _unknown(table: Mapping, allowed: set[str], *, where: str, key: str) -> None:
    unknown_keys(table, allowed, where=where, key=key, error=SpecError)


def _read_lever(name: str, table: object, *, where: str) -> Lever:
    key = f"levers.{name}"
    if not isinstance(table, Mapping):
        raise SpecError(f"{where}: {key}: expected a table, got {table!r}")
    _unknown(table, _LEVER_KEYS, where=where, key=key)
    for required in ("variable", "strength", "start_year", "ramp_years"):
        if required not in table:
            raise SpecError(f"{where}: {key}.{required}: missing (expected "
                            f"variable, strength, start_year and ramp_years)")
    variable = _text(table["variable"], where=where, key=f"{key}.variable")
    return Lever(
        name=name,
        variable=variable,
        strength=_number(table["strength"], where=where, key=f"{key}.strength"),
        start_year=_number(table["start_year"], where=where, key=f"{key}.start_year"),
        ramp_years=_number(table["ramp_years"], where=where, key=f"{key}.ramp_years",
                           minimum=0),
        start_variable=_text(table.get("start_variable", f"{variable} start year"),
                             where=where, key=f"{key}.start_variable"),
        ramp_variable=_text(table.get("ramp_variable", f"{variable} ramp years"),
                            where=where, key=f"{key}.ramp_variable"),
    )


def check_scenario_name(name: str, *, where: str, key: str = "scenario.name") -> str:
    """Return `name` if it can serve as a file stem, else raise :class:`SpecError`.

    A scenario's name becomes ``<out>/<name>.parquet``, so it is refused, not
    rewritten, if it could point anywhere else or hide: empty or blank, a path
    separator (``/`` or ``\\``), a drive colon, ``.`` or ``..``, a leading dot,
    control characters, or more than 100 characters. A refused name is never
    mapped to another stem, so two files cannot silently write the same table.

    Raises
    ------
    SpecError
        Naming `where` (the file) and `key`, the name and what was expected.
    """
    reasons = [
        (not name.strip(), "it is empty"),
        (any(c in name for c in "/\\:"), "it holds a path separator or drive colon"),
        (name.startswith("."), "it starts with a dot ('.', '..' or a hidden file)"),
        (any(ord(c) < 32 or 127 <= ord(c) < 160 for c in name), "it holds control characters"),
        (len(name) > 100, "it is longer than 100 characters"),
    ]
    for bad, why in reasons:
        if bad:
            raise SpecError(f"{where}: {key}: {name!r} cannot be used as a file name ({why}); "
                            "expected a plain name such as 'green_transition'")
    return name


def _check_no_time_settings(constants: Mapping[str, float], *, where: str) -> None:
    """Refuse INITIAL TIME, FINAL TIME, TIME STEP or SAVEPER among a scenario's constants.

    A run takes its time settings from the model or from the caller's
    start/stop/dt/saveper (checked by :mod:`sdkit.model.timesettings`), never from
    a scenario, so ``TIME STEP = 0`` here cannot reach the run loop.
    """
    for key in constants:
        if time_setting_name(key):
            raise SpecError(f"{where}: constants.{key}: {key!r} is a time setting; a scenario "
                            "changes model constants only (set the run's time with "
                            "--start/--stop/--dt/--saveper)")


def read_scenario(path: str | os.PathLike) -> Scenario:
    """Read and validate one scenario file.

    Parameters
    ----------
    path : path-like
        A TOML file with a ``[scenario]`` table, optional ``[levers.<name>]``
        tables and an optional ``[constants]`` table (see the module docstring).

    Returns
    -------
    Scenario

    Raises
    ------
    SpecError
        Missing file, bad TOML, unknown keys, missing or non-numeric values;
        the message names the file, the key and what was expected.

    Examples
    --------
    >>> read_scenario("models/scenarios/baseline.toml").name  # doctest: +SKIP
    'baseline'
    """
    path = Path(path)
    where = str(path)
    data = read_toml_file(path, error=SpecError, what="scenario file")
    _unknown(data, {"scenario", "levers", "constants", "outputs"}, where=where,
             key="(top level)")
    head = data.get("scenario")
    if not isinstance(head, Mapping):
        raise SpecError(f"{where}: scenario: missing [scenario] table (expected name/title)")
    _unknown(head, _SCENARIO_KEYS, where=where, key="scenario")
    name = check_scenario_name(_text(head.get("name", path.stem), where=where,
                                     key="scenario.name"), where=where)
    title = _text(head.get("title", name), where=where, key="scenario.title")
    description = head.get("description", "")
    if not isinstance(description, str):
        raise SpecError(f"{where}: scenario.description: expected a string")
    levers_table = data.get("levers", {})
    if not isinstance(levers_table, Mapping):
        raise SpecError(f"{where}: levers: expected tables [levers.<name>]")
    levers = tuple(_read_lever(k, v, where=where) for k, v in levers_table.items())
    constants_table = data.get("constants", {})
    if not isinstance(constants_table, Mapping):
        raise SpecError(f"{where}: constants: expected a table of name = number")
    constants = {str(k): _number(v, where=where, key=f"constants.{k}")
                 for k, v in constants_table.items()}
    _check_no_time_settings(constants, where=where)
    model = None
    if "model" in head:
        model = path.parent / _text(head["model"], where=where, key="scenario.model")
    scenario = Scenario(name=name, title=title, description=description.strip(),
                        levers=levers, constants=MappingProxyType(constants), path=path,
                        model=model, outputs=_read_outputs(data.get("outputs"), where=where))
    scenario_params(scenario)  # duplicate names fail here, naming the file
    return scenario


def _read_outputs(table: object, *, where: str) -> tuple[str, ...]:
    """``[outputs] variables = [...]``: a list of non-empty, distinct names."""
    if table is None:
        return ()
    if not isinstance(table, Mapping):
        raise SpecError(f"{where}: outputs: expected a table with variables = [names]")
    _unknown(table, {"variables"}, where=where, key="outputs")
    names = table.get("variables")
    if not isinstance(names, list) or not names:
        raise SpecError(f"{where}: outputs.variables: expected a non-empty list of variable "
                        f"names, got {names!r}")
    out = tuple(_text(v, where=where, key="outputs.variables") for v in names)
    if len(set(out)) != len(out):
        raise SpecError(f"{where}: outputs.variables: a name is listed twice in {list(out)}")
    return out


def list_scenarios(folder: str | os.PathLike) -> list[Scenario]:
    """Read every ``*.toml`` scenario in `folder`, sorted with ``baseline`` first.

    Raises
    ------
    SpecError
        If the folder does not exist, holds no scenario files, a file is
        invalid, or two files use the same scenario name.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise SpecError(f"{folder}: no such scenario folder")
    files = sorted(folder.glob("*.toml"))
    if not files:
        raise SpecError(f"{folder}: no scenario files (*.toml)")
    scenarios = [read_scenario(f) for f in files]
    seen: dict[str, Path | None] = {}
    for s in scenarios:
        if s.name in seen:
            raise SpecError(f"{s.path}: scenario name {s.name!r} is also used by {seen[s.name]}")
        seen[s.name] = s.path
    return sorted(scenarios, key=lambda s: (s.name != "baseline", len(s.active_levers), s.name))
