"""Projection runs: many parameter sets through one model, and scenarios built on that.

:func:`run_members` is the one seam every ensemble in sdkit goes through
(scenarios, Monte Carlo, sensitivity). It uses the vectorized
``sdkit.simulate_ensemble`` when that engine is installed and a plain loop
over :func:`sdkit.engine.simulate` otherwise; both return an ``xarray.Dataset``
with dimensions ``(member, time, ...)``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from sdkit.errors import InvalidValueError, SpecError
from sdkit.model.load import Model, load_model
from sdkit.scenarios.spec import Scenario

if TYPE_CHECKING:
    import xarray as xr

__all__ = ["run_members", "merge_base", "run_scenarios", "check_scenario", "read_parameters",
           "to_tidy", "provenance"]

ENGINES = ("auto", "loop", "ensemble")


def _ensemble_engine():
    try:
        from sdkit.engine import simulate_ensemble
    except ImportError:
        return None
    return simulate_ensemble


def run_members(
    model: Model,
    table: pd.DataFrame,
    *,
    outputs: Sequence[str],
    base: Mapping[str, object] | None = None,
    saveper: float = 1.0,
    engine: str = "auto",
    progress: bool = False,
    desc: str = "runs",
) -> xr.Dataset:
    """Run one simulation per row of `table` and stack the results.

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
    engine : {"auto", "loop", "ensemble"}
        ``"auto"`` uses the vectorized engine if it is available.
    progress : bool, default False
        Show a tqdm progress bar (loop engine).

    Returns
    -------
    xarray.Dataset
        Dimensions ``(member, time, <subscripts>)``, member labels from the
        table's index.
    """
    import xarray as xr

    from sdkit.engine.simulate import simulate, to_dataset

    if engine not in ENGINES:
        raise InvalidValueError(f"engine must be one of {', '.join(ENGINES)}: {engine!r}")
    if len(table) == 0:
        raise InvalidValueError("run_members: the parameter table has no rows")
    fast = _ensemble_engine() if engine != "loop" else None
    if engine == "ensemble" and fast is None:
        raise InvalidValueError("engine='ensemble' but sdkit.engine is not installed")
    full = merge_base(model, table, base or {})
    if fast is not None:
        ds = fast(model, full, outputs=list(outputs), saveper=saveper)
        return ds.assign_coords(member=list(table.index))
    from tqdm.auto import tqdm

    runs = []
    rows = [full.iloc[i].to_dict() for i in range(len(full))]
    for row in tqdm(rows, desc=desc, disable=not progress, leave=False):
        params = {k: v for k, v in row.items() if not _is_nan(v)}
        frame = simulate(model, params, outputs=list(outputs), saveper=saveper)
        runs.append(to_dataset(frame))
    ds = xr.concat(runs, dim=pd.Index(list(table.index), name="member"))
    ds.attrs["sdkit_engine"] = "pysd (loop over sdkit.simulate)"
    return ds


def merge_base(model: Model, table: pd.DataFrame, base: Mapping[str, object]) -> pd.DataFrame:
    """Add the constants in `base` to every row of `table`; the table always wins.

    A plain name in the table (``"Rate"``, every element) overrides element
    values in `base` (``"Rate[Yichang]"``); a plain name in `base` next to
    element columns in the table is expanded to the remaining elements, so
    the result never sets one value twice.
    """
    import itertools

    from sdkit.engine.simulate import split_subscripted

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


def read_parameters(path: str | os.PathLike | None) -> dict[str, float]:
    """Read fitted parameters from a ``.cin`` file or a calibration record (``.json``).

    ``None`` gives ``{}`` (the model's own values).

    Raises
    ------
    SpecError
        Unknown suffix or a record without fitted values.
    """
    if path is None:
        return {}
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".cin":
        from sdkit.edit.cin import read_cin

        return dict(read_cin(path))
    if suffix == ".json":
        from sdkit.scenarios.uncertainty import ParameterUncertainty

        unc = ParameterUncertainty.from_record(path)
        return dict(zip(unc.names, map(float, unc.mean)))
    raise SpecError(f"{path}: expected a .cin file or a calibration record (.json)")


def run_scenarios(
    model: Model | str | os.PathLike,
    scenarios: Sequence[Scenario],
    *,
    outputs: Sequence[str],
    params: Mapping[str, object] | None = None,
    saveper: float = 1.0,
    engine: str = "auto",
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
    engine, progress
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
                     engine=engine, progress=progress, desc="scenarios")
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
    import warnings

    out = table.copy()
    for col in out.columns:
        if not out[col].isna().any():
            continue
        if col in params:
            fill = params[col]
        else:
            base, _, rest = col.partition("[")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                value = model._fresh_pysd()[model.real_name(base)]
            if rest:
                value = value.loc[tuple(e.strip() for e in rest.rstrip("]").split(","))]
            fill = float(np.asarray(value))
        out[col] = out[col].fillna(fill)
    return out


def to_tidy(ds, *, member_dim: str | None = None) -> pd.DataFrame:
    """Long table (one value a row) of a results Dataset: dims as columns, plus variable, value."""
    frames = []
    for name, da in ds.data_vars.items():
        f = da.to_dataframe(name="value").reset_index()
        f.insert(0, "variable", name)
        frames.append(f)
    out = pd.concat(frames, ignore_index=True)
    first = [c for c in ("variable", member_dim or "scenario", "member", "City", "time")
             if c in out.columns]
    return out[first + [c for c in out.columns if c not in first]]


def provenance(model: Model, **extra: object) -> dict[str, str]:
    """Provenance attributes: model file and hash, sdkit version, plus `extra`."""
    from sdkit import __version__

    out = {"model": str(model.path), "model_sha256": model.sha256, "sdkit_version": __version__}
    out.update({k: "" if v is None else str(v) for k, v in extra.items()})
    return out
