"""The front door from data to a planner's report: :func:`run_pipeline`.

Steps: calibrate (when the calibration library and spec are there, or read
fitted parameters from a file), run every scenario, Monte Carlo over the
parameter uncertainty, global sensitivity, then write the report folder.
Each step is a library call that can also be made on its own.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from sdkit.errors import DataError, InvalidValueError, OutputError, SpecError

__all__ = ["run_pipeline", "specialization_from_data"]

#: Monte Carlo members when runs fall back to PySD one by one (seconds per run)
SLOW_MEMBERS = 20

GIBBS_NOTE = (
    "Monte Carlo members are drawn from the calibration's joint (Jacobian-based) covariance, "
    "as a multivariate normal truncated to the parameter bounds (Gibbs sampling); parameters "
    "fitted on a bound are held there. Keeping the correlations keeps each member close to "
    "the data: parameters the data cannot separate (e.g. the two autonomous intensity decline "
    "rates of one city) vary together, not independently across their whole ranges.")


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def specialization_from_data(cfg) -> tuple[pd.Series | None, str]:
    """Krugman index per region from the long data table named in ``[specialization]``.

    Returns ``(None, reason)`` when the config has no such table or the file is absent.
    """
    from sdkit.indicators import krugman_index

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
    note = (f"Krugman relative specialization index (Zhao, Wu & Qin 2023, eq. 1) of each "
            f"city against the other cities, from {', '.join(spec['industries'])} value added "
            f"in {spec['year']} ({path.name}).")
    return index, note


def _calibration(spec, params_file, calibrate: bool, progress: bool, log):
    """Return (params, uncertainty or None, calibration result or None, note)."""
    from sdkit.scenarios.projection import read_parameters
    from sdkit.scenarios.uncertainty import ParameterUncertainty

    if params_file is not None:
        path = Path(params_file)
        params = read_parameters(path)
        if path.suffix.lower() != ".json":
            return params, None, None, f"Parameters read from {path}."
        from sdkit.report.results import StoredCalibration

        return (params, ParameterUncertainty.from_record(path),
                StoredCalibration.from_record(path), f"Parameters read from {path}.")
    if not calibrate:
        return {}, None, None, "Calibration skipped: the model's own parameter values are used."
    from sdkit.calibration import calibrate as fit

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


def run_pipeline(
    *,
    spec: str | os.PathLike | None = "calibration/iis.toml",
    scenarios: str | os.PathLike = "models/scenarios",
    out: str | os.PathLike = "reports/iis",
    config: str | os.PathLike = "reports/iis.toml",
    model: str | os.PathLike | None = None,
    params: str | os.PathLike | None = None,
    calibrate: bool = True,
    members: int | None = None,
    sensitivity_n: int | None = None,
    seed: int | None = None,
    overwrite: bool = False,
    progress: bool = False,
    engine: str = "auto",
    log: Callable[[str], None] | None = _stderr,
) -> Path:
    """Calibrate, project every scenario, run Monte Carlo and sensitivity, write the report.

    Parameters
    ----------
    spec : path-like or None
        Calibration spec (used when the calibration library is installed and
        `params` is not given).
    scenarios : path-like
        Folder of scenario TOML files.
    out : path-like
        Report folder to write.
    config : path-like
        Report configuration (``reports/iis.toml``).
    model : path-like, optional
        Model file; default: ``[report] model`` in the configuration.
    params : path-like, optional
        Fitted parameters (``.cin``) or a calibration record (``.json``);
        skips calibration.
    calibrate : bool, default True
        False uses the model's own values when `params` is not given.
    members : int, optional
        Monte Carlo members per scenario (default: the configuration's; 0 skips).
    sensitivity_n : int, optional
        Base sample size of the sensitivity analysis (default: the
        configuration's; 0 skips).
    seed : int, optional
        Overrides the configuration's Monte Carlo seed.
    overwrite : bool, default False
        Replace an existing report folder.
    progress : bool, default False
        Show progress bars.
    engine : {"auto", "loop", "ensemble"}
    log : callable, optional
        Receives one line per step (default: print to stderr; None: silent).

    Returns
    -------
    Path
        The report's ``index.html``.

    Raises
    ------
    InvalidValueError
        Negative `members` or `sensitivity_n`.
    OutputError
        `out` exists and `overwrite` is False (checked first).
    SpecError
        Bad configuration, scenario or calibration files.
    """
    from sdkit import __version__
    from sdkit.io.files import check_replaceable
    from sdkit.model.load import load_model
    from sdkit.report import ReportInputs, read_report_config, write_report
    from sdkit.report.render import is_report_folder
    from sdkit.scenarios.projection import run_scenarios
    from sdkit.scenarios.sensitivity import sensitivity_analysis
    from sdkit.scenarios.spec import list_scenarios
    from sdkit.scenarios.uncertainty import ParameterUncertainty, monte_carlo

    log = log or (lambda _msg: None)
    for key, value in (("members", members), ("sensitivity_n", sensitivity_n)):
        if value is not None and value < 0:
            raise InvalidValueError(f"{key} must be >= 0: {value}")
    out = Path(out)
    if os.path.lexists(out) and not overwrite:
        raise OutputError(f"{out}: report folder exists; pass --overwrite or choose another "
                          "--out")
    check_replaceable(out, overwrite=overwrite, folder=True, owned=is_report_folder,
                      what="report")  # a file, link or foreign folder: refused before work
    started = time.perf_counter()
    cfg = read_report_config(config)
    model_path = Path(model) if model is not None else cfg.resolve(cfg.model)
    if model_path is None:
        raise SpecError(f"{config}: report.model: missing and no model given")
    m = load_model(model_path)
    scen = list_scenarios(scenarios)
    titles = {s.name: s.title for s in scen}
    base, unc, result, calib_note = _calibration(spec, params, calibrate, progress, log)
    notes = [calib_note]
    log(f"running {len(scen)} scenarios on {model_path} ...")
    outputs = cfg.outputs
    projections = run_scenarios(m, scen, outputs=outputs, params=base, engine=engine,
                                progress=progress)
    n_members = cfg.members if members is None else members
    mc_seed = cfg.seed if seed is None else seed
    n_sens = cfg.sensitivity_n if sensitivity_n is None else sensitivity_n
    used = str(projections.attrs.get("sdkit_engine", ""))
    if used != "fast" and members is None and sensitivity_n is None:
        # member-by-member PySD runs take seconds each: keep the pipeline bounded
        why = projections.attrs.get("sdkit_fallback", "the vectorised engine is not in use")
        n_members, n_sens = min(n_members, SLOW_MEMBERS), 0
        notes.append(f"Runs go through PySD one by one ({why}); Monte Carlo is cut to "
                     f"{n_members} members and the sensitivity analysis is skipped. Pass "
                     "members / sensitivity_n explicitly to override.")
        log(notes[-1])
    if unc is None and cfg.uncertain:
        unc = ParameterUncertainty.from_intervals({n: (lo, hi) for n, lo, hi in cfg.uncertain},
                                                  source=f"{cfg.path} [uncertainty.parameters]")
        notes.append("Monte Carlo draws the parameters listed in the report configuration "
                     "uniformly within their ranges (no calibrated covariance).")
    ensembles = {}
    by_name = {s.name: s for s in scen}
    if n_members and unc is not None:
        for name in cfg.mc_scenarios or [scen[0].name]:
            if name not in by_name:
                raise SpecError(f"{cfg.path}: uncertainty.scenarios: no scenario {name!r} in "
                                f"{scenarios} (have {', '.join(by_name)})")
            log(f"Monte Carlo: {n_members} members, scenario {name} ...")
            ensembles[name] = monte_carlo(m, unc, outputs=outputs, members=n_members,
                                          seed=mc_seed, params={**base,
                                                                **by_name[name].params()},
                                          engine=engine, progress=progress,
                                          sampling=cfg.sampling)
    used_sampling = {d.attrs.get("sampling") for d in ensembles.values()}
    if "gibbs" in used_sampling:
        notes.append(GIBBS_NOTE)
    if "copula" in used_sampling:
        notes.append("Too many parameters lie near their bounds for rejection sampling of the "
                     "truncated multivariate normal; members are drawn with a Gaussian copula "
                     "(fitted correlations, normal marginals truncated to each parameter's "
                     "bounds).")
    sens = None
    if n_sens and len(cfg.factors) >= 2 and cfg.outcomes:
        fixed = dict(base)
        if cfg.sensitivity_scenario:
            if cfg.sensitivity_scenario not in by_name:
                raise SpecError(f"{cfg.path}: sensitivity.scenario: no scenario "
                                f"{cfg.sensitivity_scenario!r}")
            fixed.update(by_name[cfg.sensitivity_scenario].params())
        log(f"sensitivity: {cfg.sensitivity_method}, N = {n_sens} ...")
        sens = sensitivity_analysis(m, cfg.factors, cfg.outcomes, method=cfg.sensitivity_method,
                                    n=n_sens, seed=cfg.sensitivity_seed, params=fixed,
                                    engine=engine, progress=progress)
    spec_index, spec_note = specialization_from_data(cfg)
    if spec_index is None:
        notes.append(f"Specialization index not computed: {spec_note}.")
    elapsed = time.perf_counter() - started
    provenance = {
        "model": str(model_path), "model_sha256": m.sha256, "sdkit_version": __version__,
        "parameters": str(params) if params else (str(spec) if result is not None
                                                  else "model defaults"),
        "scenario_files": ", ".join(str(s.path) for s in scen),
        "report_config": str(cfg.path), "monte_carlo_members": str(n_members),
        "monte_carlo_seed": str(mc_seed), "uncertainty_source": unc.source if unc else "none",
        "monte_carlo_sampling": ", ".join(sorted({str(d.attrs.get("sampling", ""))
                                                  for d in ensembles.values()})) or "none",
        "sensitivity": (f"{sens.method} N={sens.n} runs={sens.runs} seed={sens.seed}"
                        if sens else "none"),
        "engine": str(projections.attrs.get("sdkit_engine", engine)),
        "compute_seconds": f"{elapsed:.0f}",
    }
    log("writing report ...")
    index = write_report(ReportInputs(config=cfg, scenarios=projections, titles=titles,
                                      ensembles=ensembles, sensitivity=sens, calibration=result,
                                      specialization=spec_index, specialization_note=spec_note,
                                      notes=tuple(notes), provenance=provenance),
                         out, overwrite=overwrite)
    log(f"report written: {index} ({time.perf_counter() - started:.0f} s)")
    return index
