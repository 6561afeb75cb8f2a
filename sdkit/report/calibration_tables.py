"""The calibration section of a planner's report: fit overview, parameters, statistics,
the data series behind each target (readable label, unit, source) and the fit's warnings.

The section is rendered from whatever holds the calibration: a
:class:`~sdkit.calibration.CalibrationResult` (``problem.targets``,
``warnings``) or the tables stored in a report's ``data/`` folder
(:func:`write_calibration_extras` / :func:`read_calibration_extras`), so a
re-rendered report shows the same section.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from sdkit.io.files import atomic_write_text, write_table

__all__ = ["CALIBRATION_LEGEND", "fit_overview", "parameter_table", "statistics_table",
           "calibration_notes", "calibration_warnings", "calibration_targets",
           "targets_from_record",
           "series_label", "display_names", "data_table", "calibration_section", "guess_targets",
           "write_calibration_extras", "read_calibration_extras"]

#: files in a report's data/ folder (besides calibration_*.csv of the tables)
TARGETS_FILE, WARNINGS_FILE = "calibration_targets.csv", "calibration_warnings.json"
_TARGET_COLUMNS = ("target", "variable", "element", "label", "unit", "indicator", "source",
                   "fitted", "derived")


CALIBRATION_LEGEND = {
    "data series": "The data each model variable is compared with: unit, source, the elements "
                   "with data, and whether the series is fitted or only shown beside the fit "
                   "(a second source). Derived series are computed from observations, not "
                   "observed themselves.",
    "fit overview": "Mean absolute percentage error (MAPE) of each fitted series in the fit "
                    "window and in the hold-out years (predicted, not fitted).",
    "parameters": "Fitted value, standard error from the Jacobian at the optimum (a standard "
                  "error larger than the bounds' span means the data do not pin the parameter "
                  "down), profile-likelihood 95 % interval where computed (n/a: not computed), "
                  "the bounds of the search and its start value.",
    "statistics": "Per series and sample: n points, MAPE [%], RMSE (in the series' units), "
                  "R², Theil's inequality coefficient U (0 = perfect) and the shares of the mean "
                  "squared error due to bias (U_M), unequal variance (U_S) and unequal "
                  "covariation (U_C) (Sterman 1984). Rows 'not fitted' compare a second data "
                  "source with the run.",
}


def display_names(targets: pd.DataFrame | None) -> dict[str, str]:
    """Target name -> "readable label [element]" (:func:`calibration_targets`)."""
    if targets is None:
        return {}
    return {r.target: f"{r.label} [{r.element}]" if r.element else str(r.label)
            for r in targets.itertuples()}


def data_table(targets: pd.DataFrame | None) -> pd.DataFrame | None:
    """One row per data series: label, model variable, elements, unit, source, fitted or not."""
    if targets is None or targets.empty:
        return None
    rows = []
    for (label, indicator), part in targets.groupby(["label", "indicator"], sort=False):
        first = part.iloc[0]
        rows.append({"data series": label, "model variable": first["variable"],
                     "elements": ", ".join(e for e in part["element"] if e) or "-",
                     "unit": first["unit"] or "-", "fitted": "yes" if first["fitted"] else "no",
                     "source": ("derived, not observed: " if first["derived"] else "")
                     + str(first["source"]), "data indicator": indicator})
    return pd.DataFrame(rows)


def fit_overview(stats, ovs, targets: pd.DataFrame | None = None) -> pd.DataFrame | None:
    """Target x sample MAPE table (fit window and hold-out), with the years of each; targets
    named by their readable labels when the `targets` table is given."""
    if not isinstance(stats, pd.DataFrame) or not {"target", "sample"} <= set(stats.columns):
        return None
    mape = next((c for c in stats.columns if str(c).lower() == "mape"), None)
    if mape is None:
        return None
    years = {}
    if isinstance(ovs, pd.DataFrame) and {"target", "sample", "time"} <= set(ovs.columns):
        # the windows of the series that have a hold-out (single always-fitted points aside)
        held = set(ovs.loc[ovs["sample"] == "holdout", "target"])
        part = ovs[ovs["target"].isin(held)] if held else ovs
        for sample, rows in part.groupby("sample"):
            years[sample] = f" {rows['time'].min():g}-{rows['time'].max():g}"
    names = {"fit": "fit", "holdout": "hold-out"}
    rows = stats[stats["sample"].isin(list(names))]
    if rows.empty:
        return None
    table = rows.pivot_table(index="target", columns="sample", values=mape, aggfunc="first",
                             sort=False)
    table = table.reindex(columns=[c for c in names if c in table.columns])
    table.columns = [f"MAPE {names[c]}{years.get(c, '')} [%]" for c in table.columns]
    table = table.reset_index()
    table["target"] = table["target"].replace(display_names(targets))
    return table.rename(columns={"target": "series"})


def parameter_table(frame: pd.DataFrame) -> pd.DataFrame:
    """The parameter table with planner-readable headers; no column repeating the index."""
    out = frame.copy()
    if "variable" in out and (out["variable"].astype(str) == out.index.astype(str)).all():
        out = out.drop(columns="variable")
    return out.rename(columns={"value": "fitted value", "stderr": "std. error",
                               "ci_low": "95 % interval low", "ci_high": "95 % interval high",
                               "lower": "bound low", "upper": "bound high",
                               "initial": "start value"})


def statistics_table(stats, targets: pd.DataFrame | None = None) -> pd.DataFrame | None:
    """The fit statistics with readable headers; targets named by their readable labels (and
    the internal indicator column dropped) when the `targets` table is given."""
    if not isinstance(stats, pd.DataFrame):
        return None
    if targets is not None and "target" in stats:
        stats = stats.assign(target=stats["target"].replace(display_names(targets)))
        stats = stats.drop(columns=["indicator"], errors="ignore").rename(
            columns={"target": "series"})
    out = stats.rename(columns={"mape": "MAPE [%]", "rmse": "RMSE", "r2": "R²",
                                "theil_u": "Theil U", "u_m": "U_M", "u_s": "U_S",
                                "u_c": "U_C"})
    if "sample" in out:
        out["sample"] = out["sample"].replace({"holdout": "hold-out", "shown": "not fitted"})
    return out


def calibration_notes(calibration) -> str:
    """Free-text notes of a calibration (its spec's ``notes``), or ``""``."""
    if calibration is None:
        return ""
    notes = getattr(calibration, "notes", None)
    if notes is None:
        notes = getattr(getattr(calibration, "problem", None), "notes", "")
    return str(notes or "")


def calibration_warnings(calibration) -> list[str] | None:
    """The fit's warnings (parameters at a bound, strongly correlated pairs, ...), as
    ``sdkit calibrate`` prints them; None when they are not known (no calibration, or
    results stored without them)."""
    warnings = getattr(calibration, "warnings", None)
    return None if warnings is None else [str(w) for w in warnings]


def calibration_section(calibration) -> dict[str, pd.DataFrame] | None:
    """The section's tables by heading: fit overview, data series, parameters, statistics
    (each None when the calibration lacks what it needs)."""
    if calibration is None:
        return None
    stats = getattr(calibration, "statistics", None)
    ovs = getattr(calibration, "observed_vs_simulated", None)
    stored = calibration_targets(calibration)
    # stored without labels: read them from the target names (no units or sources to list)
    targets = stored if stored is not None else guess_targets(ovs)
    return {"fit overview": fit_overview(stats, ovs, targets),
            "data series": data_table(stored),
            "parameters": parameter_table(calibration.to_frame()),
            "statistics": statistics_table(stats, targets)}


def series_label(variable: str, fitted: bool, *, label: str = "") -> str:
    """A readable name for a data series: its own `label` if the data give one, else the model
    variable it is compared with; series shown beside the fit are marked so."""
    text = label or variable
    return text if fitted else f"{text}: second data source (not fitted)"


def _row(name, variable, unit, indicator, source, weight, derived, label="") -> dict:
    base, _, rest = str(variable).partition("[")
    fitted = bool(weight and float(weight) > 0)
    return {"target": str(name), "variable": base.strip(), "element": rest.rstrip("]").strip(),
            "label": series_label(base.strip(), fitted, label=str(label or "")),
            "unit": str(unit or ""), "indicator": str(indicator or ""),
            "source": str(source or ""), "fitted": fitted, "derived": bool(derived)}


def calibration_targets(calibration) -> pd.DataFrame | None:
    """One row per calibration target: target name, model variable, element, readable label,
    unit, data indicator and source, fitted or only shown, derived or observed."""
    stored = getattr(calibration, "targets", None)
    if isinstance(stored, pd.DataFrame):
        return stored
    targets = getattr(getattr(calibration, "problem", None), "targets", None)
    if not targets:
        return None
    rows = [_row(t.name, t.variable, t.unit, t.indicator, t.source, t.weight, t.derived,
                 getattr(t, "label", "")) for t in targets]
    return pd.DataFrame(rows, columns=list(_TARGET_COLUMNS))


def guess_targets(ovs) -> pd.DataFrame | None:
    """A target table read from the target names alone (``Var[el]``, ``Var[el] vs indicator
    (not fitted)``), for results stored without one: labels, no units or sources."""
    if not isinstance(ovs, pd.DataFrame) or "target" not in ovs:
        return None
    rows = []
    for name in dict.fromkeys(ovs["target"]):
        fitted = bool((ovs.loc[ovs["target"] == name, "sample"] != "shown").any())
        variable, _, indicator = str(name).partition(" vs ")
        rows.append(_row(name, variable, "", indicator.removesuffix(" (not fitted)"), "",
                         1.0 if fitted else 0.0, False))
    return pd.DataFrame(rows, columns=list(_TARGET_COLUMNS))


def targets_from_record(targets: list) -> pd.DataFrame | None:
    """:func:`calibration_targets` from a calibration record's ``targets`` (plain dicts)."""
    if not targets:
        return None
    rows = [_row(t.get("name"), t.get("variable"), t.get("unit"), t.get("indicator"),
                 t.get("source"), t.get("weight"), t.get("derived"), t.get("label", ""))
            for t in targets]
    return pd.DataFrame(rows, columns=list(_TARGET_COLUMNS))


def write_calibration_extras(calibration, data: Path) -> None:
    """Write the target table and the warnings into a report's `data` folder."""
    if calibration is None:
        return
    table = calibration_targets(calibration)
    if table is not None:
        write_table(table.set_index("target"), data / TARGETS_FILE)
    warnings = calibration_warnings(calibration)
    if warnings is not None:
        atomic_write_text(data / WARNINGS_FILE,
                          json.dumps(warnings, indent=1, ensure_ascii=False))


def read_calibration_extras(data: Path) -> tuple[pd.DataFrame | None, tuple[str, ...] | None]:
    """(target table, warnings) stored by :func:`write_calibration_extras`; None if absent."""
    targets = pd.read_csv(data / TARGETS_FILE, keep_default_na=False) \
        if (data / TARGETS_FILE).is_file() else None
    if targets is not None:
        targets = targets.astype({"fitted": bool, "derived": bool})
    warnings = None
    if (data / WARNINGS_FILE).is_file():
        warnings = tuple(json.loads((data / WARNINGS_FILE).read_text(encoding="utf-8")))
    return targets, warnings
