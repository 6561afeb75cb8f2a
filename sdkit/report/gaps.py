"""What a re-rendered report cannot show, and which file it would need.

``sdkit report --results DIR`` renders from stored results only. A section
whose results are missing is still written (saying there is nothing to show),
but the command also says so, one line per section, naming the file: a
section is never dropped silently.
"""

from __future__ import annotations

import json
from pathlib import Path

from sdkit.report.calibration_tables import TARGETS_FILE, WARNINGS_FILE
from sdkit.report.sections import STORED_TABLES

__all__ = ["section_gaps"]


def _meta(data: Path) -> dict:
    try:
        return json.loads((data / "inputs.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _uncertainty(data: Path, inputs) -> list[str]:
    if inputs.ensembles:
        return []
    if not inputs.bands:
        return [f"Uncertainty: no Monte Carlo results (neither ensemble_*.nc nor "
                f"{data / 'bands.parquet'}): fan charts, robustness and peak probability "
                "not rendered"]
    return [f"Uncertainty: {data / f'{name}.csv'} missing: its table is not rendered"
            for name in STORED_TABLES if name not in inputs.stored]


#: parts of a stored calibration: (attribute, file it is read from, what is lost without it)
_CALIBRATION_PARTS = (
    ("observed_vs_simulated", "calibration_observed_vs_simulated.csv", "fit figures not rendered"),
    ("statistics", "calibration_statistics.csv", "fit statistics not rendered"),
    ("targets", TARGETS_FILE, "labels read from the target names, no units or sources"),
    ("warnings", WARNINGS_FILE, "the fit's warnings are not shown"),
)


def _calibration(data: Path, inputs) -> list[str]:
    calib = inputs.calibration
    if calib is None:
        return [f"Calibration: {data / 'calibration_parameters.csv'} missing: the section "
                "says the model's own values were used"]
    return [f"Calibration: {data / name} missing: {lost}"
            for attr, name, lost in _CALIBRATION_PARTS if getattr(calib, attr, None) is None]


def section_gaps(folder: str | Path, inputs) -> list[str]:
    """One line per report section (or part) the stored results in `folder` cannot fill.

    Parameters
    ----------
    folder : path-like
        The data folder (or the report folder holding ``data/``).
    inputs : ReportInputs
        What :func:`sdkit.report.results.load_inputs` read from it.
    """
    data = Path(folder)
    if (data / "data").is_dir():
        data = data / "data"
    meta = _meta(data)
    out = _uncertainty(data, inputs)
    if inputs.sensitivity is None:
        out.append(f"Sensitivity: {data / 'sensitivity.csv'} missing" if meta.get("sensitivity")
                   else "Sensitivity: these results hold no sensitivity analysis "
                        f"({data / 'inputs.json'} records none)")
    out += _calibration(data, inputs)
    if inputs.specialization is None:
        out.append(f"Structure: {data / 'inputs.json'} holds no specialization index: the "
                   "section is left out")
    return out
