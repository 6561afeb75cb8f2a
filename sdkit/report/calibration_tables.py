"""The calibration section of a planner's report: fit overview, parameters, statistics."""

from __future__ import annotations

import pandas as pd

__all__ = ["CALIBRATION_LEGEND", "fit_overview", "parameter_table", "statistics_table",
           "calibration_notes"]


CALIBRATION_LEGEND = {
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


def fit_overview(stats, ovs) -> pd.DataFrame | None:
    """Target x sample MAPE table (fit window and hold-out), with the years of each."""
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
    return table.reset_index()


def parameter_table(frame: pd.DataFrame) -> pd.DataFrame:
    """The parameter table with planner-readable headers; no column repeating the index."""
    out = frame.copy()
    if "variable" in out and (out["variable"].astype(str) == out.index.astype(str)).all():
        out = out.drop(columns="variable")
    return out.rename(columns={"value": "fitted value", "stderr": "std. error",
                               "ci_low": "95 % interval low", "ci_high": "95 % interval high",
                               "lower": "bound low", "upper": "bound high",
                               "initial": "start value"})


def statistics_table(stats) -> pd.DataFrame | None:
    if not isinstance(stats, pd.DataFrame):
        return None
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
