"""Read a report's ``data/`` folder back, to re-render it (``sdkit report --results``)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import xarray as xr

from sdkit.analysis.sensitivity import SensitivityResult
from sdkit.errors import DataError
from sdkit.io.calibration_record import read_calibration_record
from sdkit.report.calibration_tables import read_calibration_extras, targets_from_record
from sdkit.report.config import ReportConfig
from sdkit.report.render import ReportInputs
from sdkit.report.sections import STORED_TABLES
from sdkit.report.tables import bands_from_table

__all__ = ["load_inputs", "StoredCalibration"]


@dataclass(frozen=True)
class StoredCalibration:
    """Calibration tables (what the report shows) without the fitting machinery."""

    parameters: pd.DataFrame
    statistics: pd.DataFrame | None = None
    observed_vs_simulated: pd.DataFrame | None = None
    notes: str = ""
    targets: pd.DataFrame | None = None  # label, unit, source per target (calibration_tables)
    warnings: tuple[str, ...] | None = None  # the fit's warnings; None: not stored

    def to_frame(self) -> pd.DataFrame:
        return self.parameters

    @classmethod
    def from_record(cls, path: str | os.PathLike) -> StoredCalibration:
        """From ``calibration.json`` (:func:`sdkit.workflow.calibration.write_outputs`).

        Raises
        ------
        DataError
            If the file is not such a record.
        """
        rec = read_calibration_record(path)  # the one reader of calibration.json
        params = pd.DataFrame([{"parameter": p["name"], **{k: p[k] for k in (
            "variable", "value", "stderr", "lower", "upper")}} for p in rec.parameters])
        stats, points = rec.get("statistics"), rec.get("observed_vs_simulated")
        return cls(params.set_index("parameter"), pd.DataFrame(stats) if stats else None,
                   pd.DataFrame(points) if points else None, notes=rec.get("notes") or "",
                   targets=targets_from_record(list(rec.get("targets") or [])),
                   warnings=tuple(rec.get("warnings") or ()))


def _read_nc(path: Path):
    with xr.open_dataset(path) as ds:
        ds = ds.load()
    return ds.rename({v: ds[v].attrs.get("long_name", v) for v in ds.data_vars})


def _csv(path: Path, **kw) -> pd.DataFrame | None:
    return pd.read_csv(path, float_precision="round_trip", **kw) if path.is_file() else None


def load_inputs(folder: str | os.PathLike, config: ReportConfig) -> ReportInputs:
    """Rebuild :class:`ReportInputs` from ``<report>/data`` written by :func:`write_report`.

    Raises
    ------
    DataError
        If the folder lacks ``scenarios.nc`` or ``inputs.json``.
    """
    data = Path(folder)
    if (data / "data").is_dir():
        data = data / "data"
    if not (data / "scenarios.nc").is_file() or not (data / "inputs.json").is_file():
        raise DataError(f"{data}: not a report data folder (expected scenarios.nc and "
                        "inputs.json, written by sdkit pipeline / write_report)")
    meta = json.loads((data / "inputs.json").read_text(encoding="utf-8"))
    scenarios = _read_nc(data / "scenarios.nc")
    ensembles = {}
    for f in sorted(data.glob("ensemble_*.nc")):
        ds = _read_nc(f)
        ensembles[str(ds.attrs.get("scenario_name", f.stem[len("ensemble_"):]))] = ds
    sens = None
    if meta.get("sensitivity") and (data / "sensitivity.csv").is_file():
        s = meta["sensitivity"]
        sens = SensitivityResult(method=s["method"], table=_csv(data / "sensitivity.csv"),
                                 n=int(s["n"]), runs=int(s["runs"]), seed=s["seed"])
    calib = None
    params = _csv(data / "calibration_parameters.csv", index_col=0)
    if params is not None:
        targets, warnings = read_calibration_extras(data)
        calib = StoredCalibration(params, _csv(data / "calibration_statistics.csv", index_col=0),
                                   _csv(data / "calibration_observed_vs_simulated.csv",
                                        index_col=0), notes=meta.get("calibration_notes", ""),
                                   targets=targets, warnings=warnings)
    spec = meta.get("specialization")
    bands, stored = {}, {}
    if not ensembles:  # the members are not committed: the compact tables stand in
        if (data / "bands.parquet").is_file():
            bands = bands_from_table(pd.read_parquet(data / "bands.parquet"))
        stored = {k: _csv(data / f"{k}.csv") for k in STORED_TABLES
                  if (data / f"{k}.csv").is_file()}
    return ReportInputs(
        config=config, scenarios=scenarios, titles=meta.get("titles", {}), ensembles=ensembles,
        sensitivity=sens, calibration=calib,
        specialization=None if spec is None else pd.Series(spec, name="krugman_index"),
        specialization_note=meta.get("specialization_note", ""),
        notes=tuple(meta.get("notes", [])), provenance={**meta.get("provenance", {}),
                                                        "re_rendered_from": str(data)},
        bands=bands, stored=stored, members={} if ensembles else _members(meta, bands),
    )


def _members(meta: dict, bands: dict) -> dict[str, int]:
    """Members per scenario: recorded in inputs.json, else the provenance's count."""
    if meta.get("members"):
        return {str(k): int(v) for k, v in meta["members"].items()}
    n = meta.get("provenance", {}).get("monte_carlo_members")
    return {k: int(n) for k in bands} if n and str(n).isdigit() else {}
