"""Run an uncertainty or sensitivity spec and write its tables (``sdkit uncertainty``,
``sdkit sensitivity``).

Describe first (:mod:`sdkit.workflow.specs` reads the file), check the spec
against the model, sample and run (:mod:`sdkit.scenarios`), analyse
(:mod:`sdkit.analysis`), then write every table into a staged folder that
appears whole or not at all.
"""

from __future__ import annotations

import dataclasses
import os
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from sdkit.analysis.bands import at_times, bands, peak_years
from sdkit.analysis.sensitivity import analyze
from sdkit.errors import OutputError, SdkitWarning, SpecError
from sdkit.io.files import check_replaceable, staged_folder, write_table
from sdkit.io.tidy import to_tidy
from sdkit.model.load import Model, load_model
from sdkit.scenarios.projection import provenance
from sdkit.scenarios.runs import check_outputs
from sdkit.scenarios.sensitivity import run_factor_samples
from sdkit.scenarios.spec import read_scenario
from sdkit.scenarios.uncertainty import (
    monte_carlo,
    read_parameters,
    read_uncertainty,
)
from sdkit.workflow.specs import (
    SensitivitySpec,
    UncertaintySpec,
    check_n,
    check_spec,
    read_sensitivity_spec,
    read_uncertainty_spec,
)

__all__ = ["run_uncertainty", "run_sensitivity", "uncertainty_tables"]

_OWN = ("samples.csv",)


def _is_study_folder(path: Path) -> bool:
    try:
        return not any(path.iterdir()) or any((path / f).is_file() for f in _OWN)
    except OSError:
        return False


def _prepare(spec, out, model, overwrite: bool) -> Model:
    out = Path(out)
    if os.path.lexists(out) and not overwrite:
        raise OutputError(f"{out}: exists; pass --overwrite or choose another --out")
    check_replaceable(out, overwrite=overwrite, folder=True, owned=_is_study_folder,
                      what="study output")
    path = Path(model) if model is not None else spec.model
    if path is None:
        key = "uncertainty" if isinstance(spec, UncertaintySpec) else "sensitivity"
        raise SpecError(f"{spec.path}: {key}.model: missing; pass --model")
    m = load_model(path)
    check_spec(spec, m)
    return m


def _pipeline_only(spec, key: str, value, option: str) -> None:
    """Warn that a spec's scenario names are read by ``sdkit pipeline`` only."""
    if value:
        warnings.warn(f"{spec.path}: {key} {value!r}: read by sdkit pipeline only; on its own "
                      f"the spec runs the model's constants (pass {option} to hold a scenario)",
                      SdkitWarning, stacklevel=3)


def _fixed(params, scenario, record=None) -> dict[str, float]:
    """A calibration record's fixed and fitted values, then fitted parameters, then a
    scenario file's constants (the sampled values win over all of them in each member)."""
    fixed = dict(read_parameters(record))
    fixed.update(read_parameters(params))
    if scenario is not None:
        fixed.update(read_scenario(scenario).params())
    return fixed


def _from_calibration(spec: UncertaintySpec, m: Model):
    """The record's parameter uncertainty (covariance, or MCMC posterior draws), its names
    checked against the model."""
    unc = read_uncertainty(spec.from_calibration)
    check_outputs(m, unc.names, where=str(spec.from_calibration), key="parameters")
    return unc


def uncertainty_tables(spec: UncertaintySpec, ds) -> dict[str, pd.DataFrame]:
    """The tables of a Monte Carlo run: samples, 5-50-95 % bands, peak times."""
    samples = pd.DataFrame({str(v)[len("param:"):]: ds[v].to_numpy() for v in ds.data_vars
                            if str(v).startswith("param:")},
                           index=pd.Index(ds["member"].to_numpy(), name="member"))
    saved = ds["time"].to_numpy()
    missing = [t for t in spec.times if not np.isclose(saved, t, rtol=0, atol=1e-9).any()]
    if missing:
        step = f", every {saved[1] - saved[0]:g}" if saved.size > 1 else ""
        raise SpecError(f"{spec.path}: uncertainty.times: time {missing[0]:g} is not a saved "
                        f"time of the run (saved from {saved[0]:g} to {saved[-1]:g}{step})")
    shown = at_times(ds, spec.times)
    out = {"samples.csv": samples,
           "bands.csv": to_tidy(bands(shown), member_dim="quantile").set_index("variable")}
    if spec.peaks:
        peaks = peak_years(ds, spec.peaks, start=spec.peak_start)
        out["peaks.csv"] = peaks.set_index("variable")
        by = [c for c in peaks.columns if c not in ("member", "peak_time")]
        q = peaks.groupby(by)["peak_time"].quantile([0.05, 0.5, 0.95]).unstack()
        q.columns = [f"q{int(100 * c):02d}" for c in q.columns]
        out["peak_bands.csv"] = q.assign(
            share_peaked=peaks.groupby(by)["peak_time"].apply(lambda s: s.notna().mean()))
    return out


def run_uncertainty(spec: str | os.PathLike | UncertaintySpec, *, out: str | os.PathLike,
                    model: str | os.PathLike | None = None,
                    params: str | os.PathLike | None = None,
                    scenario: str | os.PathLike | None = None,
                    columns: Sequence[str] | None = None, members: int | None = None,
                    seed: int | None = None, overwrite: bool = False,
                    progress: bool = False,
                    from_calibration: str | os.PathLike | None = None) -> Path:
    """Run a Monte Carlo spec and write ``samples.csv``, ``bands.csv`` (and peak tables).

    Parameters
    ----------
    spec : path-like or UncertaintySpec
    out : path-like
        Folder to write (staged: it appears whole or not at all).
    model : path-like, optional
        Overrides ``uncertainty.model``.
    params : path-like, optional
        Fitted parameters (``.cin`` or calibration record) held in every member.
    scenario : path-like, optional
        A scenario file whose constants hold in every member.
    columns : sequence of str, optional
        Overrides ``uncertainty.outputs``.
    members, seed : int, optional
        Override the spec's N and seed.
    from_calibration : path-like, optional
        A calibration record (``calibration.json``) that replaces the spec's
        parameters: its fitted parameters are drawn from its covariance (or
        its MCMC posterior), its ``fixed`` constants and fitted values hold
        in every member (before `params` and `scenario`).

    Returns
    -------
    Path
        `out`.

    Raises
    ------
    SpecError
        Bad spec, unknown variable, a time outside the run.
    OutputError
        `out` exists and `overwrite` is False.
    """
    if not isinstance(spec, UncertaintySpec):
        spec = read_uncertainty_spec(spec)
    overrides = {k: v for k, v in (("outputs", tuple(columns or ())), ("members", members),
                                   ("seed", seed)) if v is not None and v != ()}
    if from_calibration is not None:
        overrides.update(from_calibration=Path(from_calibration), uncertainty=None)
    spec = _replace(spec, **overrides)
    if not spec.outputs:
        raise SpecError(f"{spec.path}: uncertainty.outputs: missing; name the variables to "
                        "keep (or pass --columns)")
    if spec.members < 1:
        raise SpecError(f"{spec.path}: uncertainty.members: expected at least 1 member, got "
                        f"{spec.members}")
    m = _prepare(spec, out, model, overwrite)
    if scenario is None:
        _pipeline_only(spec, "uncertainty.scenarios", list(spec.scenarios), "--scenario FILE")
    record = spec.from_calibration
    unc = spec.uncertainty if record is None else _from_calibration(spec, m)
    outputs = list(dict.fromkeys([*spec.outputs, *spec.peaks]))
    ds = monte_carlo(m, unc, outputs=outputs, members=spec.members, seed=spec.seed,
                     params=_fixed(params, scenario, record), progress=progress,
                     sampling=spec.sampling)
    attrs = provenance(m, spec=spec.path, seed=spec.seed, members=spec.members,
                       sampling=ds.attrs.get("sampling", ""), parameters=unc.source)
    _write(out, uncertainty_tables(spec, ds), attrs, overwrite)
    return Path(out)


def _replace(spec, **changes):
    return dataclasses.replace(spec, **changes) if changes else spec


def run_sensitivity(spec: str | os.PathLike | SensitivitySpec, *, out: str | os.PathLike,
                    model: str | os.PathLike | None = None,
                    params: str | os.PathLike | None = None,
                    scenario: str | os.PathLike | None = None, n: int | None = None,
                    seed: int | None = None, overwrite: bool = False,
                    progress: bool = False) -> Path:
    """Run a sensitivity spec and write ``indices.csv``, ``samples.csv``, ``outcomes.csv``.

    Parameters are those of :func:`run_uncertainty`, with `n` for the base
    sample size.

    Returns
    -------
    Path
        `out`.
    """
    if not isinstance(spec, SensitivitySpec):
        spec = read_sensitivity_spec(spec)
    if n is not None:
        spec = _replace(spec, n=check_n(n, spec.method, where=str(spec.path), key="--n"))
    if seed is not None:
        spec = _replace(spec, seed=seed)
    m = _prepare(spec, out, model, overwrite)
    if scenario is None:
        _pipeline_only(spec, "sensitivity.scenario", spec.scenario, "--scenario FILE")
    samples, ds = run_factor_samples(m, spec.factors, outputs=spec.outputs, method=spec.method,
                                     n=spec.n, seed=spec.seed,
                                     params=_fixed(params, scenario), progress=progress)
    result = analyze(spec.factors, spec.outcomes, samples, ds, method=spec.method, n=spec.n,
                     seed=spec.seed)
    attrs = provenance(m, spec=spec.path, seed=spec.seed, method=spec.method, n=spec.n,
                       runs=result.runs)
    sources = pd.DataFrame([{"factor": f.name, "label": f.label or f.name, "lower": f.lower,
                             "upper": f.upper, "source": f.source} for f in spec.factors])
    _write(out, {"indices.csv": result.table.set_index("outcome"), "samples.csv": samples,
                 "factors.csv": sources.set_index("factor")}, attrs, overwrite)
    return Path(out)


def _write(out, frames: Mapping[str, pd.DataFrame], attrs: Mapping[str, str],
           overwrite: bool) -> None:
    with staged_folder(out, overwrite=overwrite, owned=_is_study_folder,
                       what="study output") as tmp:
        for name, frame in frames.items():
            write_table(frame, tmp / name)
        lines = "".join(f"{k}: {v}\n" for k, v in attrs.items())
        (tmp / "provenance.txt").write_text(lines, encoding="utf-8")
