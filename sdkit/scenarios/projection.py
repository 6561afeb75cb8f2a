"""Projection runs: many parameter sets through one model, and scenarios built on that.

:func:`run_members` is the one seam every ensemble in sdkit goes through
(scenarios, Monte Carlo, sensitivity), through
:func:`sdkit.engine.runner.run_ensemble`; it returns an ``xarray.Dataset``
with dimensions ``(member, time, ...)``.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from sdkit.engine.executors import Executor
from sdkit.engine.pysd_backend import constant_value
from sdkit.engine.runner import run_ensemble
from sdkit.errors import InvalidValueError, SpecError
from sdkit.io.tidy import to_tidy
from sdkit.model.load import Model, load_model
from sdkit.model.names import split_subscripted
from sdkit.scenarios.spec import Scenario
from sdkit.version import __version__

if TYPE_CHECKING:
    import xarray as xr

__all__ = ["run_members", "merge_base", "run_scenarios", "check_scenario", "to_tidy",
           "provenance"]

def run_members(
    model: Model,
    table: pd.DataFrame,
    *,
    outputs: Sequence[str],
    base: Mapping[str, object] | None = None,
    saveper: float = 1.0,
    engine: str = "auto",
    executor: Executor | None = None,
    progress: bool = False,
    desc: str = "runs",
) -> xr.Dataset:
    """Run one simulation per row of `table` through :func:`run_ensemble` and stack them.

    Parameters
    ----------
    model : Model
    table : pandas.DataFrame
        One row per member, one column per model constant (``"Name"`` or
        ``"Name[elem]"``). An empty table with ``n`` rows runs ``n`` copies.
    outputs : sequence of str
        Variables to keep.
    base : mapping, optional
        Constants set in every member (e.g. calibrated parameters); the
        table's columns win over them.
    saveper : float, default 1
    engine : {"auto", "fast", "pysd"}, default "auto"
        As for :func:`sdkit.engine.runner.run_ensemble`.
    executor : sdkit.engine.executors.Executor, optional
        Where chunks of members run (in-process, process pool, Dask).
    progress, desc
        Kept for callers; the compiled engine runs all members at once.

    Returns
    -------
    xarray.Dataset
        Dimensions ``(member, time, <subscripts>)``, member labels from the
        table's index; ``attrs["sdkit_engine"]`` and, where PySD ran instead
        of the compiled engine, ``attrs["sdkit_fallback"]``.
    """
    del progress, desc
    if len(table) == 0:
        raise InvalidValueError("run_members: the parameter table has no rows")
    full = merge_base(model, table, base or {})
    result = run_ensemble(model, full, list(outputs), engine=engine, executor=executor,
                          saveper=saveper)
    return result.dataset.assign_coords(member=list(table.index))


def merge_base(model: Model, table: pd.DataFrame, base: Mapping[str, object]) -> pd.DataFrame:
    """Add the constants in `base` to every row of `table`; the table always wins.

    A plain name in the table (``"Rate"``, every element) overrides element
    values in `base` (``"Rate[Yichang]"``); a plain name in `base` next to
    element columns in the table is expanded to the remaining elements, so
    the result never sets one value twice.
    """
    def key(name: str) -> tuple[str, tuple[str, ...]]:
        base_name, elems = split_subscripted(name)
        return model.py_name(base_name), tuple(e.lower() for e in elems)

    in_table = {key(c): c for c in table.columns}
    plain = {py for py, elems in in_table if not elems}
    with_elements = {py for py, elems in in_table if elems}
    extra: dict[str, object] = {}
    for name, value in base.items():
        py, elems = key(name)
        if py in plain or (py, elems) in in_table:
            continue
        if elems or py not in with_elements:
            extra[name] = value
            continue
        real = model.real_name(split_subscripted(name)[0])
        subs = model.subscripts
        for combo in itertools.product(*(subs[d] for d in model.dims_of(real))):
            if (py, tuple(e.lower() for e in combo)) not in in_table:
                extra[f"{real}[{','.join(combo)}]"] = value
    if not extra:
        return table.copy()
    added = pd.DataFrame({k: [v] * len(table) for k, v in extra.items()}, index=table.index)
    return pd.concat([table, added], axis=1)


def _is_nan(value: object) -> bool:
    return isinstance(value, float) and np.isnan(value)


def run_scenarios(
    model: Model | str | os.PathLike,
    scenarios: Sequence[Scenario],
    *,
    outputs: Sequence[str],
    params: Mapping[str, object] | None = None,
    saveper: float = 1.0,
    engine: str = "auto",
    executor: Executor | None = None,
    progress: bool = False,
) -> xr.Dataset:
    """Run each scenario once on top of `params` (e.g. calibrated values).

    Parameters
    ----------
    model : Model or path-like
    scenarios : sequence of Scenario
    outputs : sequence of str
        Variables to keep.
    params : mapping, optional
        Constants applied before each scenario's own changes.
    saveper : float, default 1
    engine, executor, progress
        As for :func:`run_members`.

    Returns
    -------
    xarray.Dataset
        Dimensions ``(scenario, time, <subscripts>)``.

    Raises
    ------
    SpecError
        A scenario sets a constant the model does not define, or a lever
        starts outside the run (:func:`check_scenario`).
    """
    if not isinstance(model, Model):
        model = load_model(model)
    if not scenarios:
        raise InvalidValueError("run_scenarios: no scenarios given")
    rows = {}
    for s in scenarios:
        check_scenario(model, s)
        rows[s.name] = s.params()
    table = pd.DataFrame(list(rows.values()), index=pd.Index(list(rows), name="scenario"))
    if table.shape[1] == 0:  # no scenario sets anything: run the model as it is
        table = pd.DataFrame(index=table.index)
    table = _fill_defaults(model, table, params or {})
    ds = run_members(model, table, outputs=outputs, base=params, saveper=saveper,
                     engine=engine, executor=executor, progress=progress, desc="scenarios")
    ds = ds.rename({"member": "scenario"})
    ds.attrs.update(provenance(model))
    ds.attrs["scenario_files"] = "; ".join(str(s.path) for s in scenarios if s.path)
    return ds


def check_scenario(model: Model, scenario: Scenario) -> None:
    """Check a scenario against the model it runs on, before any run.

    Raises
    ------
    SpecError
        Naming the scenario file and key: a lever or constant naming a
        variable the model does not define, or a lever whose start year lies
        outside the model's run.
    """
    where = scenario.path or scenario.name
    t = model.time_settings
    names = []
    for lv in scenario.levers:
        key = f"levers.{lv.name}"
        names += [(f"{key}.variable", lv.variable), (f"{key}.start_variable", lv.start_variable),
                  (f"{key}.ramp_variable", lv.ramp_variable)]
        if not t.start <= lv.start_year <= t.stop:
            raise SpecError(f"{where}: {key}.start_year: {lv.start_year:g} is outside the run "
                            f"({t.start:g} to {t.stop:g}) of {model.path}")
    names += [("constants", name) for name in scenario.constants]
    for key, name in names:
        try:
            model.py_name(name.split("[", 1)[0])
        except KeyError as e:
            detail = str(e).removeprefix(f"{model.path}: ")
            raise SpecError(f"{where}: {key}: {detail} (in {model.path})") from None


def _fill_defaults(model: Model, table: pd.DataFrame, params: Mapping[str, object]):
    """Replace missing cells with the value in `params` or the model's own value."""
    if not table.isna().to_numpy().any():
        return table
    out = table.copy()
    for col in out.columns:
        if not out[col].isna().any():
            continue
        if col in params:
            fill = params[col]
        else:
            base, _, rest = col.partition("[")
            value = constant_value(model, base)
            if rest:
                value = value.loc[tuple(e.strip() for e in rest.rstrip("]").split(","))]
            fill = float(np.asarray(value))
        out[col] = out[col].fillna(fill)
    return out


def provenance(model: Model, **extra: object) -> dict[str, str]:
    """Provenance attributes: model file and hash, sdkit version, plus `extra`."""
    out = {"model": str(model.path), "model_sha256": model.sha256, "sdkit_version": __version__}
    out.update({k: "" if v is None else str(v) for k, v in extra.items()})
    return out
