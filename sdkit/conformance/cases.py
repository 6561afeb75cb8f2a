"""The cases of a test-model suite and how their outputs are compared.

The layout is the public SDXorg test-models suite: every model file under
``SUITE/tests/*/`` and ``SUITE/samples/*/`` that has an ``output.csv`` or
``output.tab`` beside it is a case. A run is compared with that canonical
output using the suite's tolerance ``|expected - actual| <= 1e-5 + 1e-5*|actual|``
(NaN equals NaN), on the columns and times both have
(:func:`compare_outputs`); the runs of two engines are compared with each
other within a relative 1e-9 (:func:`compare_engines`).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from pysd.py_backend.utils import detect_encoding, load_outputs

from sdkit.errors import ModelFileError
from sdkit.model.cached import translate_cached
from sdkit.model.inputs import DATA_FILE_SUFFIXES, data_without_source
from sdkit.model.translate import MODEL_FORMATS

__all__ = ["ATOL", "RTOL", "ENGINE_RTOL", "ConformanceCase", "find_cases", "load_canonical",
           "compare_outputs", "compare_engines", "suite_data_files"]

#: the suite's tolerance against the canonical output
ATOL = 1e-5
RTOL = 1e-5
#: two engines agree where ``|a - b| <= ENGINE_RTOL * max(|a|, |b|)`` (issue 16: "equal to
#: PySD within 1e-9")
ENGINE_RTOL = 1e-9


@dataclass(frozen=True)
class ConformanceCase:
    """One model file with its canonical output."""

    name: str  # e.g. "tests/lookups/test_lookups.mdl"
    model: Path
    canonical: Path | None
    format: str  # "vensim" | "xmile"



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


def _aligned(first: pd.DataFrame, second: pd.DataFrame, key=None):
    """The columns two runs share and the rows of the times they share.

    Columns are matched by name, or by `key` of the name (in `first`'s order), times
    after rounding to 1e-6 (a repeated time: its first row).

    Returns
    -------
    columns : list of (str, str)
        ``(column of first, column of second)`` pairs.
    rows : tuple of two numpy.ndarray
        The rows of `first` and of `second`, one per shared time.
    """
    key = key or (lambda c: c)
    by_key = {key(c): c for c in second.columns}
    columns = [(c, by_key[key(c)]) for c in first.columns if key(c) in by_key]
    _, rows_first, rows_second = np.intersect1d(
        np.round(first.index.to_numpy(dtype=float), 6),
        np.round(second.index.to_numpy(dtype=float), 6), return_indices=True)
    return columns, (rows_first, rows_second)


def _differences(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``|a - b|`` and ``|a - b| / max(|a|, |b|)``, elementwise: 0 where the values are
    equal (infinities and zeros included) or both NaN, ``inf`` where one is NaN."""
    with np.errstate(invalid="ignore", divide="ignore"):
        diff = np.abs(a - b)
        rel = diff / np.maximum(np.abs(a), np.abs(b))
    both_nan = np.isnan(a) & np.isnan(b)
    return tuple(np.where(both_nan, 0.0, np.where(np.isnan(x), np.inf, x))
                 for x in (np.where(a == b, 0.0, diff), np.where(a == b, 0.0, rel)))


def compare_outputs(actual: pd.DataFrame, expected: pd.DataFrame) -> dict:
    """Compare on shared columns and times with the SDXorg tolerance.

    Returns
    -------
    dict
        ``ok`` (bool), ``n_columns``, ``worst_column``, ``worst_error``
        (largest ``|e - a| - (atol + rtol|a|)`` excess, 0 when all pass),
        ``worst_abs_difference`` and ``worst_rel_difference`` (the largest
        ``|e - a|`` and ``|e - a| / max(|e|, |a|)`` over all shared values,
        however close: how near a match is; ``inf`` where one is NaN, NaN
        when nothing was compared) and ``detail``.
    """
    nan = float("nan")
    shared, (ei, ai) = _aligned(expected, actual, _norm)
    if not shared or ei.size == 0:
        return {"ok": False, "n_columns": len(shared), "worst_column": "", "worst_error": nan,
                "worst_abs_difference": nan, "worst_rel_difference": nan,
                "detail": "no times in common" if shared
                else "no columns in common with the canonical output"}
    worst, worst_col, worst_abs, worst_rel = 0.0, "", 0.0, 0.0
    for e_col, a_col in shared:
        e = expected[e_col].to_numpy(dtype=float)[ei]
        a = actual[a_col].to_numpy(dtype=float)[ai]
        diff, rel = _differences(e, a)
        worst_abs, worst_rel = max(worst_abs, float(diff.max())), max(worst_rel, float(rel.max()))
        with np.errstate(invalid="ignore"):
            excess = np.abs(e - a) - (ATOL + RTOL * np.abs(a))
        excess = np.where((np.isnan(e) & np.isnan(a)) | (e == a), -1.0, excess)  # inf == inf
        m = float(np.where(np.isnan(excess), np.inf, excess).max())
        if m > worst:
            worst, worst_col = m, str(e_col)
    ok = worst <= 0.0
    return {"ok": ok, "n_columns": len(shared), "worst_column": worst_col,
            "worst_error": worst, "worst_abs_difference": worst_abs,
            "worst_rel_difference": worst_rel,
            "detail": "" if ok else f"at {ei.size} shared times"}


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




def compare_engines(first: pd.DataFrame, second: pd.DataFrame) -> dict:
    """How far two runs of one model are apart, on the columns and times both have.

    Returns
    -------
    dict
        ``equal`` (every value within :data:`ENGINE_RTOL` of the other, NaN
        equal to NaN), ``n_columns``, ``worst_column`` and ``worst_difference``
        (the largest ``|a - b| / max(|a|, |b|)``; ``inf`` where one is NaN).
    """
    shared, (ai, bi) = _aligned(first, second)
    if not shared or ai.size == 0:
        return {"equal": False, "n_columns": 0, "worst_column": "",
                "worst_difference": float("nan")}
    worst, worst_col = 0.0, ""
    for col, other in shared:
        a = first[col].to_numpy(dtype=float)[ai]
        b = second[other].to_numpy(dtype=float)[bi]
        m = float(_differences(a, b)[1].max())
        if m > worst:
            worst, worst_col = m, str(col)
    return {"equal": worst <= ENGINE_RTOL, "n_columns": len(shared), "worst_column": worst_col,
            "worst_difference": worst}
