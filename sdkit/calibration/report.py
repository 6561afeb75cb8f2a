"""Write a calibration's outputs: ``.cin``, JSON record, Markdown report and plots.

Reporting stays out of the fitting code (as lmfit's ``fit_report``): every
function here reads a finished :class:`CalibrationResult`. All files are
written atomically through :mod:`sdkit.io`.
"""

from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path

import numpy as np

from sdkit.calibration.result import CalibrationResult
from sdkit.io.files import atomic_path, atomic_write_text, staged_folder

__all__ = ["write_outputs", "to_record", "report_markdown"]


def _clean(value):
    """JSON-safe: NaN/inf become None, numpy scalars become Python numbers."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def to_record(result: CalibrationResult) -> dict:
    """The JSON record: values, uncertainty, fit, provenance (hashes, versions, seed)."""
    from sdkit import __version__

    problem = result.problem
    return _clean({
        "model": problem.model, "model_sha256": result.model_sha256,
        "data": problem.data_path, "data_sha256": result.data_sha256,
        "spec": problem.spec_path, "method": result.method, "seed": result.seed,
        "fit_window": [problem.start, problem.stop],
        "scipy_version": result.scipy_version, "sdkit_version": __version__,
        "payoff": result.payoff, "n_residuals": result.n_residuals,
        "n_evaluations": result.n_evaluations, "elapsed_s": result.elapsed,
        "interrupted": result.interrupted,
        "parameters": {
            p.name: {"variable": p.key, "value": result.values[p.name],
                     "stderr": result.stderr[p.name], "lower": p.lower, "upper": p.upper,
                     "initial": p.initial,
                     "interval_95": list(result.intervals.get(p.name, (None, None)))}
            for p in problem.parameters
        },
        "correlation": result.correlation.to_dict(orient="index"),
        "statistics": result.statistics.to_dict(orient="records"),
        "warnings": list(result.warnings),
    })


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_").lower()[:80] or "series"


_ASCII_UNITS = {"亿元": "100 million CNY", "万人": "10,000 persons"}


def _ascii(text: str) -> str:
    """Plot labels without CJK units (the default fonts have no CJK glyphs)."""
    for cjk, ascii_text in _ASCII_UNITS.items():
        text = text.replace(cjk, ascii_text)
    return text.encode("ascii", "replace").decode("ascii")


def _plot(result: CalibrationResult, target, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from sdkit.calibration.objective import _column

    pts = result.observed_vs_simulated
    pts = pts[pts["target"] == target.name]
    fig, ax = plt.subplots(figsize=(6, 3.5))
    traj = result.trajectories
    if not traj.empty:
        col = _column(traj, target.variable)
        ax.plot(traj.index, target.scale * traj[col], color="C0", label="simulated")
    for sample, marker, color in (("fit", "o", "k"), ("holdout", "s", "C3"),
                                  ("outside", "x", "grey"), ("shown", "^", "C2")):
        sel = pts[pts["sample"] == sample]
        if len(sel):
            ax.plot(sel["time"], sel["observed"], marker, color=color, linestyle="none",
                    label=f"observed ({sample})")
    if result.problem.stop is not None:
        ax.axvline(result.problem.stop, color="grey", linewidth=0.8, linestyle=":")
    ax.set_title(_ascii(target.name))
    ax.set_ylabel(_ascii(target.unit or target.indicator))
    ax.legend(fontsize=7)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=90)
    plt.close(fig)


def _fmt(value: float, spec: str = ".4g") -> str:
    return "–" if value is None or (isinstance(value, float) and not math.isfinite(value)) \
        else format(value, spec)


def report_markdown(result: CalibrationResult, plots: dict[str, str] | None = None) -> str:
    """A Markdown calibration report (parameters, fit by series, warnings, plots)."""
    problem = result.problem
    lines = [f"# Calibration report: {Path(problem.model).name}", "",
             f"- method: `{result.method}`, seed: {result.seed}, scipy {result.scipy_version}",
             f"- fit window: {_fmt(problem.start, 'g')} – {_fmt(problem.stop, 'g')} "
             "(later points are hold-out)",
             f"- payoff (sum of squared normalised residuals): {result.payoff:.6g} "
             f"over {result.n_residuals} points; {result.n_evaluations} runs in "
             f"{result.elapsed:.1f} s" + (" — **interrupted**" if result.interrupted else ""),
             f"- model sha256 `{result.model_sha256[:16]}`, data sha256 "
             f"`{result.data_sha256[:16]}`", "", "## Parameters", "",
             "| parameter | value | std. error | 95% profile interval | bounds |",
             "|---|---|---|---|---|"]
    for p in problem.parameters:
        low, high = result.intervals.get(p.name, (math.nan, math.nan))
        interval = f"[{_fmt(low)}, {_fmt(high)}]" if math.isfinite(low) else "–"
        lines.append(f"| {p.name} | {_fmt(result.values[p.name], '.6g')} | "
                     f"{_fmt(result.stderr[p.name])} | {interval} | [{p.lower:g}, {p.upper:g}] |")
    lines += ["", "## Fit by series", "",
              "Theil decomposition as in Sterman (1984): U_M bias, U_S unequal variation, "
              "U_C unequal covariation.", "",
              "| series | sample | n | MAPE % | RMSE | R² | Theil U | U_M | U_S | U_C |",
              "|---|---|---|---|---|---|---|---|---|---|"]
    for row in result.statistics.itertuples():
        lines.append(f"| {row.target} | {row.sample} | {row.n} | {_fmt(row.mape, '.2f')} | "
                     f"{_fmt(row.rmse)} | {_fmt(row.r2, '.3f')} | {_fmt(row.theil_u, '.3f')} | "
                     f"{_fmt(row.u_m, '.2f')} | {_fmt(row.u_s, '.2f')} | {_fmt(row.u_c, '.2f')} |")
    stats = result.statistics
    if (stats["sample"] == "holdout").any():
        lines += ["", "## In sample and hold-out", "",
                  "MAPE (%) inside the fit window and on the later, unfitted points.", "",
                  "| series | MAPE fit | MAPE hold-out |", "|---|---|---|"]
        wide = stats.pivot(index="target", columns="sample", values="mape")
        fitted = [t.name for t in problem.targets if t.weight > 0]
        for target in (t for t in dict.fromkeys(stats["target"]) if t in fitted):
            fit = wide.loc[target].get("fit", math.nan)
            out = wide.loc[target].get("holdout", math.nan)
            lines.append(f"| {target} | {_fmt(fit, '.2f')} | {_fmt(out, '.2f')} |")
    if problem.notes:
        lines += ["", "## Notes", "", problem.notes.strip()]
    lines += ["", "## Warnings", ""]
    lines += [f"- {w}" for w in result.warnings] or ["- none"]
    if plots:
        lines += ["", "## Observed vs simulated", ""]
        for name, rel in plots.items():
            lines.append(f"![{name}]({rel})")
    return "\n".join(lines) + "\n"


def write_outputs(result: CalibrationResult, out_dir: str | os.PathLike, *,
                  overwrite: bool = False, plots: bool = True) -> dict[str, Path]:
    """Write ``fitted.cin``, ``calibration.json``, ``report.md`` and ``plots/*.png``.

    Parameters
    ----------
    result : CalibrationResult
    out_dir : path-like
        Folder (created if needed).
    overwrite : bool, default False
        Replace existing files (else :class:`~sdkit.OutputError`).
    plots : bool, default True
        Draw observed-vs-simulated PNGs (matplotlib, Agg).

    Returns
    -------
    dict
        ``{"cin": path, "json": path, "report": path}``.

    Notes
    -----
    The whole folder is written to a staging folder beside `out_dir` and
    swapped in with renames (:func:`sdkit.io.staged_folder`; other files
    already in `out_dir` are kept). A failure or Ctrl-C while plotting or
    writing therefore leaves `out_dir` as it was, and a reader sees the old
    results or the new ones, never a mix.
    """
    from sdkit.edit.cin import write_cin
    from sdkit.errors import OutputError

    out = Path(out_dir)
    names = {"cin": "fitted.cin", "json": "calibration.json", "report": "report.md"}
    paths = {k: out / v for k, v in names.items()}
    if not overwrite:
        for path in paths.values():
            if os.path.lexists(path):
                raise OutputError(f"{path}: exists; refusing to overwrite (use another --out)")
    with staged_folder(out, overwrite=overwrite, merge=True, what="calibration") as stage:
        header = (f"fitted by sdkit calibrate ({result.method}, seed {result.seed}) to "
                  f"{Path(result.problem.data_path).name or 'data'}; "
                  f"payoff {result.payoff:.6g}")
        write_cin(stage / names["cin"], result.changes(), header=header)
        atomic_write_text(stage / names["json"], json.dumps(to_record(result), indent=2,
                                                            ensure_ascii=False) + "\n")
        figures = {}
        if plots:
            for target in result.problem.targets:
                rel = f"plots/{_slug(target.name)}.png"
                _plot(result, target, stage / rel)
                figures[target.name] = rel
        atomic_write_text(stage / names["report"], report_markdown(result, figures))
    return paths


