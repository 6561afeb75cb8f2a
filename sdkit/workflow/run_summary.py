"""What ``sdkit run`` prints: a readable summary of one run.

A model may carry a sidecar ``<model>.sdkit.toml`` naming what a reader wants
to see, e.g. for the IIS model::

    [summary]
    variables = ["GDP", "CO2 emissions", "Carbon intensity"]
    times = [2021, 2035, 2060]
    peak = ["CO2 emissions"]      # report the year each column peaks
    saveper = 1                   # save interval for the summary run (optional)
    report = "../reports/iis.toml"  # show values in this report config's units (optional)

With ``report``, each variable the report configuration lists under
``[[indicators]]`` is printed in the report's units and scale
(:mod:`sdkit.report.units`, the one conversion both use), so the terminal
and the report show the same numbers.

Without one, short runs print as a table and long ones as initial, final,
minimum and maximum of each column.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from sdkit.analysis.indicators import peak_status_values
from sdkit.edit.cin import check_changes
from sdkit.engine.simulate import simulate, split_subscripted
from sdkit.errors import InvalidValueError, OutputError, SpecError
from sdkit.io.files import TABLE_FORMATS, write_table
from sdkit.model.load import Model, load_model
from sdkit.model.sidecar import read_sidecar
from sdkit.report.config import read_report_config
from sdkit.report.tables import peak_start
from sdkit.report.units import frame_shown, shown_units

__all__ = ["SummarySpec", "read_summary_spec", "summarize", "run_and_summarize"]


@dataclass(frozen=True)
class SummarySpec:
    """What to show after a run (read from a model's ``.sdkit.toml`` sidecar)."""

    variables: tuple[str, ...] = ()
    times: tuple[float, ...] = ()
    peak: tuple[str, ...] = field(default_factory=tuple)
    saveper: float | None = None
    report: Path | None = None


def read_summary_spec(model_path: str | os.PathLike) -> SummarySpec | None:
    """Read the ``[summary]`` table of a model's sidecar, or None if there is none.

    Raises
    ------
    SpecError
        Invalid TOML, or keys of the wrong type.
    """
    found = read_sidecar(model_path)
    if found is None:
        return None
    path, data = found
    table = data.get("summary")
    if table is None:
        return None
    if not isinstance(table, dict):
        raise SpecError(f"{path}: [summary] must be a table")
    out = {}
    for key, kind in (("variables", str), ("times", (int, float)), ("peak", str)):
        value = table.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, kind) for v in value):
            raise SpecError(f"{path}: [summary].{key} must be a list of "
                            f"{'names' if kind is str else 'numbers'}")
        out[key] = tuple(float(v) if kind is not str else v for v in value)
    saveper = table.get("saveper")
    if saveper is not None:
        if isinstance(saveper, bool) or not isinstance(saveper, int | float) or saveper <= 0:
            raise SpecError(f"{path}: [summary].saveper must be a number > 0: {saveper!r}")
        out["saveper"] = float(saveper)
    report = table.get("report")
    if report is not None:
        if not isinstance(report, str) or not (path.parent / report).is_file():
            raise SpecError(f"{path}: [summary].report must name a report configuration "
                            f"file (relative to {path.name}): {report!r}")
        out["report"] = path.parent / report
    unknown = set(table) - {"variables", "times", "peak", "saveper", "report"}
    if unknown:
        raise SpecError(f"{path}: [summary] has unknown key(s) {sorted(unknown)}; "
                        "expected variables, times, peak, saveper, report")
    return SummarySpec(**out)


def _peak_times(frame: pd.DataFrame, columns: list[str]) -> pd.Series:
    return pd.Series({c: frame[c].idxmax() for c in columns}, name="peak time")


def _fmt(value: float) -> str:
    """Readable in a terminal: thousands separators for large numbers, 4 digits else."""
    if not np.isfinite(value):
        return str(value)
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.4g}"


def _peak_cell(series: pd.Series, start: float | None) -> str:
    """The peak year of one column; with `start` (the last history year) as the report
    counts it (:func:`sdkit.analysis.indicators.peak_status_values`: no xarray object,
    whose first use imports dask): projection years only, a peak in the history shown as such."""
    if start is None:
        return f"{series.idxmax():g}"
    st = peak_status_values(series.to_numpy(float), series.index.to_numpy(float),
                            last_observed=start)
    if st.already_peaked:
        return f"already peaked ({st.historical_peak_year:g})"
    return "not by horizon" if np.isnan(st.year) else f"{st.year:g}"


def summarize(frame: pd.DataFrame, spec: SummarySpec | None = None,
              units: dict[str, str] | None = None,
              peak_starts: dict[str, float] | None = None) -> str:
    """Format a run result for a terminal.

    With a `spec`: one table per variable (rows: subscript elements, columns:
    the spec's times) and the peak time of the `peak` variables. Without:
    the whole table when it is small, else initial/final/min/max per column.
    `units` (name -> units) labels each variable's table; `peak_starts`
    (name -> last history year) counts peaks as the report does.
    """
    if spec is None or not spec.variables:
        if len(frame.columns) <= 8 and len(frame) <= 30:
            return frame.to_string()
        stats = pd.DataFrame({
            "initial": frame.iloc[0], "final": frame.iloc[-1],
            "min": frame.min(), "max": frame.max(),
        })
        return (f"{len(frame)} saved times from {frame.index[0]:g} to {frame.index[-1]:g}; "
                f"{len(frame.columns)} columns\n" + stats.to_string(float_format="{:.6g}".format))
    blocks = []
    times = [t for t in spec.times if frame.index[0] - 1e-9 <= t <= frame.index[-1] + 1e-9]
    idx = frame.index.to_numpy()
    rows = [int(np.argmin(np.abs(idx - t))) for t in times]
    for var in spec.variables:
        cols = [c for c in frame.columns if split_subscripted(c)[0] == var]
        if not cols:
            continue
        table = pd.DataFrame(
            {f"{idx[r]:g}": frame[cols].iloc[r].to_numpy() for r in rows},
            index=[", ".join(split_subscripted(c)[1]) or var for c in cols],
        )
        if var in spec.peak:
            start = (peak_starts or {}).get(var)
            table["peak" if start is None else f"peak after {start:g}"] = [
                _peak_cell(frame[c], start) for c in cols]
        unit = (units or {}).get(var)
        title = f"{var} ({unit})" if unit else var
        blocks.append(f"{title}\n{table.to_string(float_format=_fmt)}")
    return "\n\n".join(blocks)


def run_and_summarize(
    model: Model | str | os.PathLike,
    params: dict | None = None,
    *,
    start: float | None = None,
    stop: float | None = None,
    dt: float | None = None,
    saveper: float | None = None,
    outputs: list[str] | None = None,
    out: str | os.PathLike | None = None,
    overwrite: bool = False,
    engine: str = "auto",
    method: str | None = None,
    changes: Sequence[str | os.PathLike] = (),
) -> str:
    """Run once; write `out` if given; return the text ``sdkit run`` prints.

    `changes` names the ``.cin`` files `params` was merged from: their names
    are checked against the model first, so that a typo is reported at its
    file and line (:func:`sdkit.edit.cin.check_changes`).

    `out` is a file (``.csv``, ``.nc``, ``.parquet``, ``.tab``; see
    :func:`sdkit.io.files.write_table`) or ``"-"``: the result as CSV (the
    wide shape of :mod:`sdkit.io.tidy`), returned to be printed on standard
    output.

    `engine` is ``"auto"`` (sdkit's compiled engine, PySD where it cannot
    compile the model, logged in one line), ``"fast"`` or ``"pysd"``;
    `method` the integration method (see :mod:`sdkit.engine.methods`).
    """
    if not isinstance(model, Model):
        model = load_model(model)
    check_changes(model, changes)
    spec = read_summary_spec(model.path)
    use_spec = outputs is None and out is None and spec is not None and bool(spec.variables)
    if use_spec:
        outputs = list(spec.variables)
        if saveper is None:
            saveper = spec.saveper
    to_stdout = out is not None and str(out) == "-"
    if out is not None and not to_stdout:
        out_path = Path(out)
        if out_path.suffix.lower() not in TABLE_FORMATS:
            raise InvalidValueError(f"--out {out}: expected a file ending in "
                                    f"{', '.join(TABLE_FORMATS)}")
        if out_path.exists() and not overwrite:
            raise OutputError(f"{out}: exists; pass --overwrite to replace it")
    frame = simulate(model, params, start=start, stop=stop, dt=dt, saveper=saveper,
                     outputs=outputs, engine=engine, method=method)
    if to_stdout:
        return frame.to_csv().rstrip("\n")
    if out is not None:
        write_table(frame, out, overwrite=overwrite,
                    attrs={"model": str(model.path), "model_sha256": model.sha256})
        return f"wrote {len(frame)} rows x {len(frame.columns)} columns to {out}"
    if not use_spec:
        return summarize(frame)
    units = {v.name: v.units for v in model.variables}
    starts = None
    if spec.report is not None:  # the report's units and peaks: the same numbers as the report
        cfg = read_report_config(spec.report)
        frame = frame_shown(frame, cfg.indicators, lambda c: split_subscripted(c)[0])
        units = {v: shown_units(cfg.indicators, v, units.get(v, "")) for v in spec.variables}
        starts = {p.variable: peak_start(p, cfg) for p in cfg.peaks
                  if peak_start(p, cfg) is not None}
    return summarize(frame, spec, units, starts)
