"""The front door from a study file to a report: :func:`run_pipeline`.

Describe first: :func:`sdkit.workflow.study.read_study` reads the study file
(``study.toml``) into a frozen :class:`~sdkit.workflow.study.Study`. Run
second, one step a function: calibrate (or read fitted parameters), run every
scenario, Monte Carlo over the parameter uncertainty, global sensitivity,
then write the report folder. Each step is a library call that can also be
made on its own.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from sdkit.analysis.indicators import krugman_index
from sdkit.analysis.sensitivity import sensitivity_analysis
from sdkit.calibration import calibrate as fit
from sdkit.errors import DataError, InvalidValueError, OutputError, SpecError
from sdkit.io.files import check_replaceable
from sdkit.model.load import load_model
from sdkit.report import ReportInputs, read_report_config, write_report
from sdkit.report.render import is_report_folder
from sdkit.report.results import StoredCalibration
from sdkit.scenarios.projection import provenance as model_provenance
from sdkit.scenarios.projection import run_scenarios
from sdkit.scenarios.spec import list_scenarios
from sdkit.scenarios.uncertainty import (
    ParameterUncertainty,
    monte_carlo,
    read_parameters,
    read_uncertainty,
)
from sdkit.workflow.configcheck import check_report_times, check_report_variables
from sdkit.workflow.specs import read_sensitivity_spec, read_uncertainty_spec
from sdkit.workflow.study import Study, read_study

__all__ = ["run_pipeline", "specialization_from_data"]

#: Monte Carlo members when runs fall back to PySD one by one (seconds per run)
SLOW_MEMBERS = 20

SAMPLING_NOTES = {
    "posterior": "Monte Carlo members are draws of the MCMC posterior (posterior.nc) of every "
                 "fitted parameter, including those a least-squares fit leaves on a bound.",
    "gibbs": "Monte Carlo members are drawn from the calibration's joint (Jacobian-based) "
             "covariance, as a multivariate normal truncated to the parameter bounds (Gibbs "
             "sampling); parameters fitted on a bound are held there. Keeping the correlations "
             "keeps each member close to the data: parameters the data cannot separate vary "
             "together, not independently across their whole ranges.",
    "rejection": "Monte Carlo members are drawn from a multivariate normal (the "
                 "calibration's Jacobian-based covariance, or the normal parameters of the "
                 "uncertainty spec) truncated to the parameter bounds: draws outside the "
                 "bounds are redrawn.",
    "copula": "Too many parameters lie near their bounds for rejection sampling of the "
              "truncated multivariate normal; members are drawn with a Gaussian copula "
              "(fitted correlations, normal marginals truncated to each parameter's bounds).",
}


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def specialization_from_data(cfg) -> tuple[pd.Series | None, str]:
    """Krugman index per region from the long data table named in ``[specialization]``.

    Returns ``(None, reason)`` when the config has no such table or the file is absent.
    """
    spec = dict(cfg.specialization)
    if not spec:
        return None, "no [specialization] table in the report configuration"
    path = cfg.resolve(str(spec.get("data", "")))
    if path is None or not path.is_file():
        return None, f"specialization data not found: {path}"
    try:
        data = pd.read_csv(path)
        sel = data[(data[spec.get("year_column", "year")] == spec["year"])
                   & data[spec.get("indicator_column", "indicator")].isin(
                       spec["industries"].values())]
        table = sel.pivot_table(index=spec.get("region_column", "region"),
                                columns=spec.get("indicator_column", "indicator"),
                                values=spec.get("value_column", "value"), aggfunc="first")
        table = table.rename(columns={v: k for k, v in spec["industries"].items()})
        if "regions" in spec:
            table = table.reindex(spec["regions"])
        table = table[list(spec["industries"])].apply(pd.to_numeric)
    except (KeyError, ValueError) as e:
        raise SpecError(f"{cfg.path}: specialization: {e}") from e
    try:
        index = krugman_index(table)
    except DataError as e:
        raise DataError(f"{path}: specialization table for {spec['year']}: {e}") from e
    note = (f"Krugman relative specialization index of each region against the others, "
            f"from {', '.join(spec['industries'])} in {spec['year']} ({path.name}).")
    return index, str(spec.get("note", "")) or note


def _calibration(study: Study, progress: bool, log):
    """Return (params, uncertainty or None, calibration result or None, note)."""
    if study.params is not None:
        path = Path(study.params)
        params = read_parameters(path)
        if path.suffix.lower() != ".json":
            return params, None, None, f"Parameters read from {path}."
        return (params, read_uncertainty(path),  # posterior draws when there is a posterior
                StoredCalibration.from_record(path), f"Parameters read from {path}.")
    spec = study.calibration
    if not study.calibrate:
        return {}, None, None, "Calibration skipped: the model's own parameter values are used."
    if spec is None:
        return {}, None, None, ("No calibration spec given: the model's own parameter "
                                "values are used.")
    if not Path(spec).is_file():
        raise SpecError(f"{spec}: no such calibration spec "
                        "(pass --no-calibrate to use the model's own values)")
    log(f"calibrating {spec} ...")
    result = fit(spec, progress=progress)
    return (result.changes(), ParameterUncertainty.from_result(result), result,
            (f"Parameters calibrated from {spec} ({result.method}; sum of squared residuals, "
             f"each divided by its series' mean, {result.payoff:.4g})."))


def _record_as_params(study: Study, spec) -> Study:
    """Without fitted parameters or a calibration to run, the uncertainty spec's
    ``from_calibration`` record gives them: scenarios and Monte Carlo use the same fit."""
    record = spec.from_calibration if spec is not None else None
    if record is None or study.params is not None or (
            study.calibrate and study.calibration is not None):
        return study
    return dataclasses.replace(study, params=record)


def _sizes(study: Study, unc_spec, sens_spec, projections, notes, log) -> tuple[int, int]:
    """Monte Carlo members and sensitivity N: the specs', the study's overrides, or cut down
    when runs go through PySD one by one."""
    n_members = (unc_spec.members if unc_spec else 0) if study.members is None else study.members
    n_sens = (sens_spec.n if sens_spec else 0) if study.sensitivity_n is None \
        else study.sensitivity_n
    used = str(projections.attrs.get("sdkit_engine", ""))
    if used != "fast" and study.members is None and study.sensitivity_n is None:
        # member-by-member PySD runs take seconds each: keep the pipeline bounded
        why = projections.attrs.get("sdkit_fallback", "the vectorised engine is not in use")
        n_members, n_sens = min(n_members, SLOW_MEMBERS), 0
        notes.append(f"Runs go through PySD one by one ({why}); Monte Carlo is cut to "
                     f"{n_members} members and the sensitivity analysis is skipped. Pass "
                     "members / sensitivity_n explicitly to override.")
        log(notes[-1])
    return n_members, n_sens


def _monte_carlo(study, spec, unc, m, scen, base, outputs, n_members, notes, log, progress):
    """Ensembles per scenario named in the spec (default: the first scenario)."""
    if spec is None or not n_members:
        return {}
    if unc is None and spec.uncertainty is not None:
        unc = spec.uncertainty
        notes.append("Monte Carlo draws the parameters listed in the uncertainty spec "
                     f"({spec.path}) within their ranges (no calibrated covariance).")
    if unc is None:
        return {}
    by_name = {s.name: s for s in scen}
    ensembles = {}
    for name in spec.scenarios or [scen[0].name]:
        if name not in by_name:
            raise SpecError(f"{spec.path}: uncertainty.scenarios: no scenario {name!r} in "
                            f"{study.scenarios} (have {', '.join(by_name)})")
        log(f"Monte Carlo: {n_members} members, scenario {name} ...")
        seed = spec.seed if study.seed is None else study.seed
        ensembles[name] = monte_carlo(m, unc, outputs=outputs, members=n_members, seed=seed,
                                      params={**base, **by_name[name].params()},
                                      engine=study.engine, progress=progress,
                                      sampling=spec.sampling)
    used = {d.attrs.get("sampling") for d in ensembles.values()}
    notes.extend(SAMPLING_NOTES[k] for k in ("posterior", "gibbs", "rejection", "copula")
                 if k in used)
    return ensembles


def _sensitivity(study, spec, m, scen, base, n_sens, log, progress):
    if spec is None or not n_sens:
        return None
    fixed = dict(base)
    if spec.scenario:
        by_name = {s.name: s for s in scen}
        if spec.scenario not in by_name:
            raise SpecError(f"{spec.path}: sensitivity.scenario: no scenario {spec.scenario!r}")
        fixed.update(by_name[spec.scenario].params())
    log(f"sensitivity: {spec.method}, N = {n_sens} ...")
    return sensitivity_analysis(m, spec.factors, spec.outcomes, method=spec.method, n=n_sens,
                                seed=spec.seed, params=fixed, engine=study.engine,
                                progress=progress)


def _check_out(study: Study, overwrite: bool) -> None:
    for key, value in (("members", study.members), ("sensitivity_n", study.sensitivity_n)):
        if value is not None and value < 0:
            raise InvalidValueError(f"{key} must be >= 0: {value}")
    if os.path.lexists(study.out) and not overwrite:
        raise OutputError(f"{study.out}: report folder exists; pass --overwrite or choose "
                          "another --out")
    check_replaceable(study.out, overwrite=overwrite, folder=True, owned=is_report_folder,
                      what="report")  # a file, link or foreign folder: refused before work


def _provenance(study, m, cfg, unc_spec, unc, result, scen, ensembles, sens, projections,
                n_members, started) -> dict[str, str]:
    """What the report says it was made from."""
    return {
        "study": str(study.path or ""), **model_provenance(m),
        "parameters": str(study.params) if study.params else (
            str(study.calibration) if result is not None else "model defaults"),
        "scenario_files": ", ".join(str(s.path) for s in scen),
        "report_config": str(cfg.path), "monte_carlo_members": str(n_members),
        "monte_carlo_seed": str(study.seed if study.seed is not None
                                else unc_spec.seed if unc_spec is not None else "none"),
        "uncertainty_source": unc.source if unc else "none",
        "monte_carlo_sampling": ", ".join(sorted({str(d.attrs.get("sampling", ""))
                                                  for d in ensembles.values()})) or "none",
        "sensitivity": (f"{sens.method} N={sens.n} runs={sens.runs} seed={sens.seed}"
                        if sens else "none"),
        "engine": str(projections.attrs.get("sdkit_engine", study.engine)),
        "compute_seconds": f"{time.perf_counter() - started:.0f}",
    }


def run_pipeline(study: Study | str | os.PathLike = "study.toml", *, overwrite: bool = False,
                 progress: bool = False,
                 log: Callable[[str], None] | None = _stderr, **changes) -> Path:
    """Calibrate, project every scenario, run Monte Carlo and sensitivity, write the report.

    Parameters
    ----------
    study : Study or path-like, default "study.toml"
        The study, or its file (:func:`sdkit.workflow.study.read_study`).
    overwrite : bool, default False
        Replace an existing report folder.
    progress : bool, default False
        Show progress bars.
    log : callable, optional
        Receives one line per step (default: print to stderr; None: silent).
    **changes
        Fields of :class:`~sdkit.workflow.study.Study` to replace (e.g.
        ``members=0``, ``out="reports/test"``).

    Returns
    -------
    Path
        The report's ``index.html``.

    Raises
    ------
    InvalidValueError
        Negative `members` or `sensitivity_n`.
    OutputError
        The report folder exists and `overwrite` is False (checked first).
    SpecError
        Bad study, configuration, scenario, spec or calibration files.
    """
    if not isinstance(study, Study):
        study = read_study(study)
    study = dataclasses.replace(study, **changes) if changes else study
    log = log or (lambda _msg: None)
    _check_out(study, overwrite)
    started = time.perf_counter()
    cfg = read_report_config(study.report)
    unc_spec = read_uncertainty_spec(study.uncertainty) if study.uncertainty else None
    sens_spec = read_sensitivity_spec(study.sensitivity) if study.sensitivity else None
    model_path = study.model if study.model is not None else cfg.resolve(cfg.model)
    if model_path is None:
        raise SpecError(f"{study.report}: report.model: missing and no model given")
    m = load_model(model_path)
    check_report_variables(cfg, m)
    study = _record_as_params(study, unc_spec)
    scen = list_scenarios(study.scenarios)
    base, unc, result, calib_note = _calibration(study, progress, log)
    notes = [calib_note]
    log(f"running {len(scen)} scenarios on {model_path} ...")
    outputs = list(dict.fromkeys([*cfg.outputs, *(unc_spec.outputs if unc_spec else ())]))
    projections = run_scenarios(m, scen, outputs=outputs, params=base, engine=study.engine,
                                progress=progress)
    check_report_times(cfg, projections["time"].to_numpy())
    n_members, n_sens = _sizes(study, unc_spec, sens_spec, projections, notes, log)
    ensembles = _monte_carlo(study, unc_spec, unc, m, scen, base, outputs, n_members, notes,
                             log, progress)
    sens = _sensitivity(study, sens_spec, m, scen, base, n_sens, log, progress)
    spec_index, spec_note = specialization_from_data(cfg)
    if spec_index is None:
        notes.append(f"Specialization index not computed: {spec_note}.")
    provenance = _provenance(study, m, cfg, unc_spec, unc, result, scen, ensembles, sens,
                             projections, n_members, started)
    log("writing report ...")
    index = write_report(ReportInputs(config=cfg, scenarios=projections,
                                      titles={s.name: s.title for s in scen},
                                      ensembles=ensembles, sensitivity=sens, calibration=result,
                                      specialization=spec_index, specialization_note=spec_note,
                                      notes=tuple(notes), provenance=provenance),
                         study.out, overwrite=overwrite)
    log(f"report written: {index} ({time.perf_counter() - started:.0f} s)")
    return index
