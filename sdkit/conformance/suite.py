"""Run a folder of SD test models against their canonical outputs.

The layout is the public SDXorg test-models suite: every model file under
``SUITE/tests/*/`` and ``SUITE/samples/*/`` is run, each in its own process
with a timeout, and compared with the ``output.csv`` or ``output.tab`` beside
it using the suite's tolerance ``|expected - actual| <= 1e-5 + 1e-5*|actual|``
(NaN equals NaN), on the columns and times both have.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from pysd.py_backend.utils import detect_encoding, load_outputs

from sdkit.engine.ensemble import simulate_all
from sdkit.engine.simulate import simulate
from sdkit.errors import (
    InvalidValueError,
    ModelFileError,
    SdkitError,
    SimulationError,
    UnsupportedConstructError,
)
from sdkit.io.progress import Progress
from sdkit.model.cached import translate_cached
from sdkit.model.inputs import DATA_FILE_SUFFIXES, data_without_source
from sdkit.model.load import load_model
from sdkit.model.translate import MODEL_FORMATS

__all__ = [
    "ConformanceCase",
    "CaseResult",
    "ConformanceReport",
    "find_cases",
    "compare_outputs",
    "run_case",
    "run_conformance",
    "suite_data_files",
    "ENGINES",
]

ATOL = 1e-5
RTOL = 1e-5
ENGINES = ("pysd", "fast")
STATUSES = ("match", "mismatch", "translate_error", "run_error", "timeout", "unsupported")


@dataclass(frozen=True)
class ConformanceCase:
    """One model file with its canonical output."""

    name: str  # e.g. "tests/lookups/test_lookups.mdl"
    model: Path
    canonical: Path | None
    format: str  # "vensim" | "xmile"


@dataclass(frozen=True)
class CaseResult:
    """The outcome of one case."""

    name: str
    format: str
    status: str
    detail: str = ""
    worst_column: str = ""
    worst_error: float = 0.0
    n_columns: int = 0
    seconds: float = 0.0
    engine_used: str = ""


@dataclass(frozen=True)
class ConformanceReport:
    """All case results of a run; :meth:`summary` gives the printed report."""

    suite: str
    engine: str
    results: tuple[CaseResult, ...] = field(default_factory=tuple)

    def counts(self) -> dict[str, tuple[int, int]]:
        """``{format: (matched, with_canonical_output)}``."""
        out = {}
        for fmt in ("vensim", "xmile"):
            rs = [r for r in self.results if r.format == fmt]
            out[fmt] = (sum(r.status == "match" for r in rs), len(rs))
        return out

    def by_name(self) -> dict[str, CaseResult]:
        """Results keyed by case name."""
        return {r.name: r for r in self.results}

    def summary(self) -> str:
        """Counts per format, failures grouped by reason; the last line is the tally."""
        lines = [f"suite: {self.suite} (engine: {self.engine})"]
        for fmt in ("vensim", "xmile"):
            tally = Counter(r.status for r in self.results if r.format == fmt)
            if tally:
                parts = ", ".join(f"{k} {tally[k]}" for k in STATUSES if tally[k])
                lines.append(f"{fmt}: {parts}")
        fallbacks = [r for r in self.results if r.engine_used and r.engine_used != self.engine]
        if fallbacks:
            lines.append(f"fell back to another engine: {len(fallbacks)}")
        for status in STATUSES[1:]:
            failed = [r for r in self.results if r.status == status]
            if not failed:
                continue
            lines.append("")
            lines.append(f"{status} ({len(failed)}):")
            for r in sorted(failed, key=lambda r: r.name):
                extra = ""
                if status == "mismatch":
                    extra = f" worst column {r.worst_column!r} (error {r.worst_error:.3g})"
                lines.append(f"  {r.name}:{extra} {r.detail}".rstrip())
        c = self.counts()
        lines.append("")
        lines.append(f"vensim: {c['vensim'][0]}/{c['vensim'][1]} match; "
                     f"xmile: {c['xmile'][0]}/{c['xmile'][1]} match")
        return "\n".join(lines)

    def to_json(self) -> str:
        """The report as JSON (suite, engine, counts, results)."""
        return json.dumps({
            "suite": self.suite, "engine": self.engine,
            "counts": {k: {"match": m, "total": n} for k, (m, n) in self.counts().items()},
            "results": [asdict(r) for r in self.results],
        }, indent=2)


def find_cases(suite_dir: str | os.PathLike) -> list[ConformanceCase]:
    """List the model files of a suite folder that have a canonical output.

    Raises
    ------
    ModelFileError
        If the folder does not exist or holds no ``tests/*`` or ``samples/*``.
    """
    suite = Path(suite_dir)
    if not suite.is_dir():
        raise ModelFileError(f"{suite}: not a folder (expected a suite with tests/ and samples/)")
    cases = []
    dirs = sorted(
        [d for sub in ("tests", "samples") for d in (suite / sub).glob("*") if d.is_dir()]
    )
    if not dirs:
        raise ModelFileError(f"{suite}: no tests/*/ or samples/*/ folders found")
    for d in dirs:
        canonical = next((d / n for n in ("output.csv", "output.tab") if (d / n).is_file()), None)
        if canonical is None:
            continue
        for f in sorted(d.iterdir()):
            fmt = MODEL_FORMATS.get(f.suffix.lower())
            if fmt and f.is_file():
                name = f.relative_to(suite).as_posix()
                cases.append(ConformanceCase(name, f, canonical, fmt))
    return cases


_NORM = re.compile(r"[\s_]+")


def _norm(name: str) -> str:
    name = str(name).strip().strip('"').lower()
    name = name.replace('"', "")
    name = re.sub(r"\s*([\[\],])\s*", r"\1", name)
    return _NORM.sub(" ", name).strip()


def load_canonical(path: Path) -> pd.DataFrame:
    """Read a canonical output file (either orientation) indexed by time."""

    encoding = detect_encoding(path)
    sep = "\t" if path.suffix.lower() == ".tab" else ","
    header = pd.read_csv(path, sep=sep, nrows=0, encoding=encoding).columns
    transpose = len(header) > 1 and _is_number(header[1])  # times across the top
    if not transpose and header[0] != "Time":  # e.g. Stella's lower-case "time"
        frame = pd.read_csv(path, sep=sep, encoding=encoding, index_col=0)
    else:
        frame = load_outputs(path, transpose=transpose, encoding=encoding)
    frame.index = pd.to_numeric(frame.index, errors="coerce").astype(float)
    frame = frame.apply(pd.to_numeric, errors="coerce")
    if len(frame) > 1:  # Vensim exports constants once; the later rows are empty
        const = frame.iloc[1:].isna().all() & frame.iloc[0].notna()
        for col in frame.columns[const.to_numpy()]:
            frame[col] = frame[col].iloc[0]
    return frame


def _is_number(text: object) -> bool:
    try:
        float(str(text))
    except ValueError:
        return False
    return True


def compare_outputs(actual: pd.DataFrame, expected: pd.DataFrame) -> dict:
    """Compare on shared columns and times with the SDXorg tolerance.

    Returns
    -------
    dict
        ``ok`` (bool), ``n_columns``, ``worst_column``, ``worst_error``
        (largest ``|e - a| - (atol + rtol|a|)`` excess, 0 when all pass) and
        ``detail``.
    """
    act_cols = {_norm(c): c for c in actual.columns}
    shared = [(c, act_cols[_norm(c)]) for c in expected.columns if _norm(c) in act_cols]
    if not shared:
        return {"ok": False, "n_columns": 0, "worst_column": "", "worst_error": float("nan"),
                "detail": "no columns in common with the canonical output"}
    a_t = np.round(actual.index.to_numpy(dtype=float), 6)
    e_t = np.round(expected.index.to_numpy(dtype=float), 6)
    times = np.intersect1d(a_t, e_t)
    if times.size == 0:
        return {"ok": False, "n_columns": len(shared), "worst_column": "",
                "worst_error": float("nan"), "detail": "no times in common"}
    a_idx = {t: i for i, t in enumerate(a_t)}
    e_idx = {t: i for i, t in enumerate(e_t)}
    ai = [a_idx[t] for t in times]
    ei = [e_idx[t] for t in times]
    worst, worst_col = 0.0, ""
    for e_col, a_col in shared:
        e = expected[e_col].to_numpy(dtype=float)[ei]
        a = actual[a_col].to_numpy(dtype=float)[ai]
        both_nan = np.isnan(e) & np.isnan(a)
        with np.errstate(invalid="ignore"):
            excess = np.abs(e - a) - (ATOL + RTOL * np.abs(a))
        excess = np.where(both_nan, -1.0, excess)
        excess = np.where(np.isnan(excess), np.inf, excess)
        m = float(excess.max())
        if m > worst:
            worst, worst_col = m, str(e_col)
    ok = worst <= 0.0
    return {"ok": ok, "n_columns": len(shared), "worst_column": worst_col,
            "worst_error": worst, "detail": "" if ok else f"at {times.size} shared times"}


def run_case(model: str | os.PathLike, canonical: str | os.PathLike, engine: str = "pysd") -> dict:
    """Translate, run and compare one model in this process (used by the worker).

    Returns a dict with ``status``, ``detail``, ``worst_column``,
    ``worst_error``, ``n_columns`` and ``engine_used``.
    """

    try:
        m = load_model(model, data_files=suite_data_files(model, canonical))
    except SdkitError as e:
        status = "unsupported" if isinstance(e, UnsupportedConstructError) else "translate_error"
        return {"status": status, "detail": _one_line(e)}
    try:
        if engine == "fast":

            actual, engine_used = simulate_all(m)
        else:
            actual = simulate(m, check_finite=False, engine="pysd")
            engine_used = "pysd"
    except SimulationError as e:  # PySD's NotImplementedError: a refusal, not a crash
        status = "unsupported" if isinstance(e.__cause__, NotImplementedError) else "run_error"
        return {"status": status, "detail": _one_line(e)}
    try:
        expected = load_canonical(Path(canonical))
    except Exception as e:  # noqa: BLE001 - report, do not crash the suite
        return {"status": "run_error", "detail": f"cannot read canonical output: {e}"}
    cmp = compare_outputs(actual, expected)
    return {"status": "match" if cmp["ok"] else "mismatch", "detail": cmp["detail"],
            "worst_column": cmp["worst_column"], "worst_error": cmp["worst_error"],
            "n_columns": cmp["n_columns"], "engine_used": engine_used}


def suite_data_files(model: str | os.PathLike, canonical: str | os.PathLike) -> list[Path]:
    """The data files a suite case declares: only for data variables that name no source.

    Such a model (``x :INTERPOLATE:``) reads the output another model of its
    folder wrote; the suite ships that output as the folder's ``.tab``/``.csv``
    files other than the canonical output, which are declared here (as
    PySD's own test runner declares them). Other models get none.
    """
    model = Path(model)
    abstract = translate_cached(model).load_abstract()
    if not data_without_source(abstract):
        return []
    canonical = Path(canonical).resolve()
    return sorted(f for f in model.parent.iterdir()
                  if f.suffix.lower() in DATA_FILE_SUFFIXES and f.is_file()
                  and f.resolve() != canonical and not f.name.startswith("output"))


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text[:300]


def _run_in_subprocess(case: ConformanceCase, engine: str, timeout: float) -> CaseResult:
    t0 = time.perf_counter()
    cmd = [sys.executable, "-m", "sdkit.conformance.worker", str(case.model),
           str(case.canonical), engine]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return CaseResult(case.name, case.format, "timeout", f"no result in {timeout:g} s",
                          seconds=time.perf_counter() - t0)
    seconds = time.perf_counter() - t0
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        err = (proc.stderr.strip().splitlines() or ["worker died"])[-1]
        return CaseResult(case.name, case.format, "run_error", err[:300], seconds=seconds)
    data = json.loads(lines[-1])
    worst = data.get("worst_error", 0.0)
    return CaseResult(
        case.name, case.format, data["status"], data.get("detail", ""),
        data.get("worst_column", ""), float("nan") if worst is None else float(worst),
        int(data.get("n_columns", 0)), seconds, data.get("engine_used", ""),
    )


def run_conformance(
    suite_dir: str | os.PathLike,
    *,
    engine: str = "pysd",
    timeout: float = 120.0,
    jobs: int | None = None,
    progress=None,
) -> ConformanceReport:
    """Run every case of a suite, each in its own process.

    Parameters
    ----------
    suite_dir : path-like
        A folder laid out like SDXorg's test-models (``tests/*/``, ``samples/*/``).
    engine : str, default "pysd"
        Simulation engine.
    timeout : float, default 120
        Seconds allowed per model.
    jobs : int, optional
        Models run at once (default: CPU count).
    progress : callable, optional
        Called with each :class:`CaseResult` as it finishes.

    Returns
    -------
    ConformanceReport
    """

    if engine not in ENGINES:
        raise InvalidValueError(f"unknown engine {engine!r}; expected one of {ENGINES}")
    cases = find_cases(suite_dir)
    jobs = jobs or os.cpu_count() or 1
    results = []
    with ThreadPoolExecutor(max_workers=jobs) as pool, \
            Progress(len(cases), desc="conformance", unit="model", lines=True) as bar:
        for res in pool.map(lambda c: _run_in_subprocess(c, engine, timeout), cases):
            results.append(res)
            bar.update(1)
            if progress is not None:
                progress(res)
    return ConformanceReport(str(suite_dir), engine, tuple(results))
