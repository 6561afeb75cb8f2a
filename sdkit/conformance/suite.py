"""Run a folder of SD test models against their canonical outputs, on one engine or both.

Every case (:func:`sdkit.conformance.cases.find_cases`) runs in its own
process with a timeout. With ``engine="both"`` that process runs the model
on sdkit's compiled engine (``"sdkit"``; PySD where the engine cannot compile
it) and on PySD (``"pysd"``), compares each with the canonical output and
the two runs with each other (within a relative 1e-9). Where they differ
because sdkit departs from PySD on purpose (:data:`DEPARTURES`: DELAY3 keeps
its order as Vensim does), the case is a known departure, not a failure.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

from sdkit.conformance.cases import (
    ConformanceCase,
    compare_engines,
    compare_outputs,
    find_cases,
    load_canonical,
    suite_data_files,
)
from sdkit.conformance.isolate import IsolatedPool, Outcome, one_line
from sdkit.conformance.report import Agreement, CaseResult, ConformanceReport, engines_of
from sdkit.engine.simulate import simulate
from sdkit.errors import InvalidValueError, SdkitError, SdkitWarning, UnsupportedConstructError
from sdkit.io.progress import Progress
from sdkit.model.load import load_model

__all__ = [
    "ConformanceCase", "CaseResult", "Agreement", "ConformanceReport", "find_cases",
    "compare_outputs", "compare_engines", "load_canonical", "run_case", "run_engines",
    "run_conformance", "suite_data_files", "ENGINES", "DEPARTURES",
]

#: engines a suite runs on; ``"fast"`` is accepted for ``"sdkit"``
ENGINES = ("sdkit", "pysd", "both")
#: sdkit's deliberate departures from PySD: a phrase of the warning the sdkit run gives
#: -> what the report says (docs/conformance.md)
DEPARTURES = {
    "shorter than TIME STEP": "DELAY3 keeps its order where a stage is shorter than TIME "
                              "STEP, as Vensim does; PySD lowers it",
}


def _engine_name(engine: str) -> str:
    engine = "sdkit" if engine == "fast" else engine
    if engine not in ENGINES:
        raise InvalidValueError(f"unknown engine {engine!r}; expected one of {ENGINES}")
    return engine


def _run(m, engine: str):
    """One run on `engine` ("sdkit" or "pysd"): (frame, engine used, sdkit's warnings)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SdkitWarning)
        frame = simulate(m, check_finite=False, engine="auto" if engine == "sdkit" else "pysd")
    notes = tuple(dict.fromkeys(" ".join(str(w.message).split()) for w in caught
                                if issubclass(w.category, SdkitWarning)))
    return frame, frame.attrs.get("sdkit_engine", engine), notes


def _on_engine(m, expected, engine: str) -> tuple[dict, object]:
    """The result dict of one engine and its frame (None when it did not run)."""
    try:
        actual, used, notes = _run(m, engine)
    except SdkitError as e:  # PySD's NotImplementedError, a construct refused: not a crash
        refused = (isinstance(e, UnsupportedConstructError)
                   or isinstance(e.__cause__, NotImplementedError))
        return {"status": "unsupported" if refused else "run_error", "detail": one_line(e),
                "engine": engine}, None
    except Exception as e:  # noqa: BLE001 - a crash of one engine; the other still runs
        return {"status": "run_error", "detail": f"{type(e).__name__}: {one_line(e)}",
                "engine": engine}, None
    if isinstance(expected, str):
        return {"status": "run_error", "detail": expected, "engine": engine,
                "engine_used": used, "notes": notes}, actual
    cmp = compare_outputs(actual, expected)
    return {"status": "match" if cmp["ok"] else "mismatch", "detail": cmp["detail"],
            "worst_column": cmp["worst_column"], "worst_error": cmp["worst_error"],
            "worst_abs_difference": cmp["worst_abs_difference"],
            "worst_rel_difference": cmp["worst_rel_difference"],
            "n_columns": cmp["n_columns"], "engine_used": used, "engine": engine,
            "notes": notes}, actual


def run_engines(model: str | os.PathLike, canonical: str | os.PathLike,
                engine: str = "both") -> dict:
    """Translate one model and run it on `engine` ("sdkit", "pysd" or "both") in this process.

    Returns
    -------
    dict
        ``{"sdkit": result, "pysd": result, "agreement": dict or None}`` (the
        engines run); each result as :func:`run_case` gives it. The agreement
        (both engines only) has ``status``, ``worst_column``,
        ``worst_difference`` and ``detail`` (see :class:`Agreement`).
    """
    engines = engines_of(_engine_name(engine))
    try:
        m = load_model(model, data_files=suite_data_files(model, canonical))
    except SdkitError as e:
        status = "unsupported" if isinstance(e, UnsupportedConstructError) else "translate_error"
        out = {e_: {"status": status, "detail": one_line(e), "engine": e_} for e_ in engines}
        return {**out, "agreement": _agreement(None, None, out) if len(engines) == 2 else None}
    try:
        expected = load_canonical(Path(canonical))
    except Exception as e:  # noqa: BLE001 - report, do not crash the suite
        expected = f"cannot read canonical output: {e}"
    out, frames = {}, {}
    for e_ in engines:
        out[e_], frames[e_] = _on_engine(m, expected, e_)
    agreement = _agreement(frames.get("sdkit"), frames.get("pysd"), out) \
        if len(engines) == 2 else None
    return {**out, "agreement": agreement}


def _agreement(ours, theirs, results: dict) -> dict:
    if ours is None or theirs is None or results["sdkit"].get("engine_used") == "pysd":
        why = ("the sdkit engine ran PySD" if ours is not None and theirs is not None
               else "not run on both engines")
        return {"status": "not compared", "detail": why}
    cmp = compare_engines(ours, theirs)
    status, detail = ("equal", "") if cmp["equal"] else ("differ", "")
    if not cmp["equal"]:
        for phrase, what in DEPARTURES.items():
            if any(phrase in note for note in results["sdkit"].get("notes", ())):
                status, detail = "known departure", what
    return {"status": status, "worst_column": cmp["worst_column"],
            "worst_difference": cmp["worst_difference"], "detail": detail}


def run_case(model: str | os.PathLike, canonical: str | os.PathLike,
             engine: str = "pysd") -> dict:
    """Translate, run and compare one model on one engine in this process.

    Returns a dict with ``status``, ``detail``, ``worst_column``,
    ``worst_error``, ``worst_abs_difference``, ``worst_rel_difference``
    (see :func:`~sdkit.conformance.cases.compare_outputs`), ``n_columns``,
    ``engine_used`` and ``notes`` (sdkit's warnings during the run).
    """
    engine = _engine_name(engine)
    if engine == "both":
        raise InvalidValueError("run_case runs one engine; run_engines runs both")
    return run_engines(model, canonical, engine)[engine]


def _number(value) -> float:
    return float("nan") if value is None else float(value)


def _case_results(case: ConformanceCase, engine: str, outcome: Outcome
                  ) -> tuple[list[CaseResult], Agreement | None]:
    engines = engines_of(engine)
    data, failed = outcome.result or {}, outcome.failure
    status = "timeout" if outcome.timed_out else "run_error"
    seconds = outcome.seconds
    results = []
    for e in engines:
        d = data.get(e) or {"status": status, "detail": failed}
        results.append(CaseResult(
            case.name, case.format, d["status"], d.get("detail", ""), d.get("worst_column", ""),
            _number(d.get("worst_error", 0.0)), int(d.get("n_columns", 0)), seconds,
            d.get("engine_used", ""), e, tuple(d.get("notes", ())),
            _number(d.get("worst_abs_difference")), _number(d.get("worst_rel_difference"))))
    agreement = None
    if engine == "both":
        a = data.get("agreement") or {"status": "not compared", "detail": failed or ""}
        agreement = Agreement(case.name, case.format, a["status"], a.get("worst_column", ""),
                              _number(a.get("worst_difference", 0.0)), a.get("detail", ""))
    return results, agreement


def run_conformance(
    suite_dir: str | os.PathLike,
    *,
    engine: str = "both",
    timeout: float = 120.0,
    jobs: int | None = None,
    progress=None,
) -> ConformanceReport:
    """Run every case of a suite, each in its own process.

    Parameters
    ----------
    suite_dir : path-like
        A folder laid out like SDXorg's test-models (``tests/*/``, ``samples/*/``).
    engine : {"both", "sdkit", "pysd"}, default "both"
        ``"sdkit"``: the compiled engine (PySD where it cannot compile the
        model); ``"pysd"``: PySD; ``"both"``: each, compared with the other.
    timeout : float, default 120
        Seconds allowed per model and engine.
    jobs : int, optional
        Models run at once (default: CPU count).
    progress : callable, optional
        Called with the :class:`CaseResult` list (one per engine) of each case
        as it finishes.

    Returns
    -------
    ConformanceReport
    """
    engine = _engine_name(engine)
    cases = find_cases(suite_dir)
    jobs = jobs or os.cpu_count() or 1
    results, agreement = [], []
    limit = timeout * len(engines_of(engine))
    calls = [(str(c.model), str(c.canonical), engine) for c in cases]
    with IsolatedPool(run_engines, "sdkit.conformance.worker", jobs) as pool, \
            Progress(len(cases), desc="conformance", unit="model", lines=True) as bar:
        for case, outcome in zip(cases, pool.map(calls, timeout=limit)):
            res, agreed = _case_results(case, engine, outcome)
            results += res
            if agreed is not None:
                agreement.append(agreed)
            bar.update(1)
            if progress is not None:
                progress(res)
    return ConformanceReport(str(suite_dir), engine, tuple(results), tuple(agreement))
