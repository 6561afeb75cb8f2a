"""The calibration record (``calibration.json``): the one writer's helper and the one reader.

A calibration result becomes plain data with
:meth:`sdkit.calibration.CalibrationResult.to_record`; that record is what
the report renders and what ``sdkit calibrate --out`` writes. Everything
that reads a stored record (the report, parameter uncertainty for Monte
Carlo, the pipeline) goes through :func:`read_calibration_record`, which
checks it once and returns a :class:`CalibrationRecord`.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sdkit.errors import DataError, SdkitError
from sdkit.io.textfile import read_text_file

__all__ = ["RECORD_VERSION", "CalibrationRecord", "json_safe", "read_calibration_record",
           "record_json"]

#: version of the record layout (1: parameters, statistics; 2: + targets, points, trajectories)
RECORD_VERSION = 2


def json_safe(value):
    """JSON-safe copy: NaN/inf become None, numpy scalars and tuples become Python ones."""
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [json_safe(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def record_json(record: Mapping) -> str:
    """The record as the text of ``calibration.json``."""
    return json.dumps(json_safe(record), indent=2, ensure_ascii=False) + "\n"


def _num(value, default: float = math.nan) -> float:
    return default if value is None else float(value)


@dataclass(frozen=True)
class CalibrationRecord:
    """A checked calibration record.

    Attributes
    ----------
    path : str
        The file it was read from ("" when built in memory).
    data : dict
        The whole record (see ``CalibrationResult.to_record``).
    parameters : list of dict
        One per parameter, in order: ``name``, ``variable``, ``value``,
        ``stderr``, ``lower``, ``upper`` (floats; NaN / inf when absent).
    """

    path: str
    data: Mapping
    parameters: tuple[Mapping, ...]

    def get(self, key: str, default=None):
        return self.data.get(key, default)

    def correlation(self) -> np.ndarray | None:
        """The correlation matrix in parameter order (NaN entries 0); None if absent."""
        table = self.data.get("correlation")
        if not isinstance(table, Mapping):
            return None
        names = [p["name"] for p in self.parameters]
        corr = np.eye(len(names))
        for i, a in enumerate(names):
            for j, b in enumerate(names):
                r = (table.get(a) or {}).get(b)
                if i != j and r is not None and np.isfinite(r):
                    corr[i, j] = float(r)
        return corr


def parse_record(rec: object, *, where: str = "calibration record",
                 error: type[SdkitError] = DataError) -> CalibrationRecord:
    """Check a record (a mapping) and return it as a :class:`CalibrationRecord`."""
    params = rec.get("parameters") if isinstance(rec, Mapping) else None
    if isinstance(params, Mapping):
        params = [{"name": k, **v} for k, v in params.items() if isinstance(v, Mapping)]
    if not isinstance(params, list) or not params:
        raise error(f"{where}: parameters: expected a non-empty table of "
                    "{variable, value, stderr, lower, upper}")
    try:
        rows = tuple({"name": str(p["name"]), "variable": str(p.get("variable") or p["name"]),
                      "value": float(p["value"]), "stderr": _num(p.get("stderr")),
                      "lower": _num(p.get("lower"), -math.inf),
                      "upper": _num(p.get("upper"), math.inf),
                      "initial": _num(p.get("initial")),
                      "interval_95": p.get("interval_95") or [None, None]} for p in params)
    except (KeyError, TypeError, ValueError) as e:
        raise error(f"{where}: parameters: each needs a name and a numeric value: {e}") from e
    return CalibrationRecord(where, dict(rec), rows)


def read_calibration_record(path: str | os.PathLike, *,
                            error: type[SdkitError] = DataError) -> CalibrationRecord:
    """Read and check ``calibration.json`` (written by ``sdkit calibrate --out``).

    Raises
    ------
    error (DataError by default)
        Naming the file: missing, not UTF-8, not JSON, or without a
        non-empty ``parameters`` table of numeric values.
    """
    path = Path(path)
    text = read_text_file(path, error=error, what="calibration record (JSON)")
    try:
        rec = json.loads(text)
    except json.JSONDecodeError as e:
        raise error(f"{path}: line {e.lineno}: cannot read calibration record: {e.msg}") from e
    return parse_record(rec, where=str(path), error=error)
