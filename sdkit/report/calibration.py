"""The calibration report, rendered from the calibration's plain record.

As lmfit's ``fit_report``: the fit returns a result, and the report is a
function of that result. The report layer may not import
:mod:`sdkit.calibration` (it never runs a model), so it works from the
record :meth:`sdkit.calibration.CalibrationResult.to_record` gives (plain
data: numbers, text, lists, dicts), or from the same record read back from
``calibration.json`` by
:func:`sdkit.io.calibration_record.read_calibration_record`. A result can
therefore be re-rendered from its JSON alone.

* :func:`fit_report` -> Markdown text (template
  ``templates/calibration.md.j2``);
* :func:`fit_figures` -> one :class:`matplotlib.figure.Figure` per target
  (observed vs simulated), drawn without pyplot or a global backend.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import jinja2

from sdkit.io.calibration_record import CalibrationRecord, parse_record
from sdkit.report.calibration_tables import display_names, targets_from_record
from sdkit.report.fonts import figure_fonts

__all__ = ["fit_report", "fit_figures", "figure_png", "plot_name"]

if TYPE_CHECKING:  # annotations only
    from matplotlib.figure import Figure


def _new_figure(**kwargs) -> Figure:
    """A :class:`matplotlib.figure.Figure` (matplotlib is imported on first use)."""
    from matplotlib.figure import Figure  # heavy: matplotlib only when a figure is drawn

    return Figure(**kwargs)

_TEMPLATES = Path(__file__).with_name("templates")
_SAMPLES = (("fit", "o", "k"), ("holdout", "s", "C3"), ("outside", "x", "grey"),
            ("shown", "^", "C2"))


def _record(record: Mapping | CalibrationRecord) -> CalibrationRecord:
    return record if isinstance(record, CalibrationRecord) else parse_record(record)


def _fmt(value, spec: str = ".4g") -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    return format(value, spec)


def plot_name(target: str) -> str:
    """The file name (``plots/<slug>.png``) of a target's figure."""
    slug = re.sub(r"[^A-Za-z0-9]+", "_", target).strip("_").lower()[:80] or "series"
    return f"plots/{slug}.png"


def _holdout(stats: list[Mapping], fitted: set[str]) -> list[dict]:
    if not any(r.get("sample") == "holdout" for r in stats):
        return []
    mape: dict[str, dict[str, float]] = {}
    for r in stats:
        mape.setdefault(r["target"], {})[r["sample"]] = r.get("mape")
    return [{"target": t, "fit": _fmt(m.get("fit"), ".2f"),
             "holdout": _fmt(m.get("holdout"), ".2f")} for t, m in mape.items() if t in fitted]


def _data_rows(targets: list[Mapping]) -> list[dict]:
    """One row per data series and source: readable label, the model variable, the elements
    fitted, the data file's indicator and its source."""
    rows: dict[tuple, dict] = {}
    table = targets_from_record(list(targets))
    for t, r in zip(targets, [] if table is None else table.itertuples()):
        key = (t.get("indicator") or r.variable, r.variable, r.unit, r.source, r.derived)
        row = rows.setdefault(key, {"series": r.label, "indicator": t.get("indicator") or "–",
                                    "variable": r.variable, "unit": r.unit or "–",
                                    "source": r.source, "derived": r.derived, "elements": []})
        if r.element:
            row["elements"].append(r.element)
    return [{**r, "elements": ", ".join(r["elements"]) or "–"} for r in rows.values()]


def _parameters(rec: CalibrationRecord) -> list[dict]:
    out = []
    for p in rec.parameters:
        low, high = (list(p["interval_95"]) + [None, None])[:2]
        interval = f"[{_fmt(low)}, {_fmt(high)}]" if low is not None else "–"
        out.append({"name": p["name"], "value": _fmt(p["value"], ".6g"),
                    "stderr": _fmt(p["stderr"]), "interval": interval,
                    "lower": _fmt(p["lower"], "g"), "upper": _fmt(p["upper"], "g")})
    return out


def fit_report(record: Mapping | CalibrationRecord, plots: Mapping[str, str] | None = None,
               ) -> str:
    """A Markdown calibration report: parameters, data, fit by series, warnings, plots.

    Parameters
    ----------
    record : mapping or CalibrationRecord
        ``CalibrationResult.to_record()``, or a record read from
        ``calibration.json``.
    plots : mapping, optional
        Target name -> relative path of its figure, linked at the end.

    Examples
    --------
    >>> text = fit_report(result.to_record())  # doctest: +SKIP
    """
    rec = _record(record)
    window = rec.get("fit_window") or [None, None]
    raw = list(rec.get("statistics") or [])
    names = display_names(targets_from_record(list(rec.get("targets") or [])))
    raw = [{**r, "target": names.get(r["target"], r["target"])} for r in raw]
    stats = [{**r, **{k: _fmt(r.get(k), f) for k, f in (
        ("mape", ".2f"), ("rmse", ".4g"), ("r2", ".3f"), ("theil_u", ".3f"), ("u_m", ".2f"),
        ("u_s", ".2f"), ("u_c", ".2f"))}} for r in raw]
    targets = rec.get("targets") or []
    fitted = {names.get(t["name"], t["name"]) for t in targets if (t.get("weight") or 0) > 0}
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(_TEMPLATES)),
                             undefined=jinja2.StrictUndefined, trim_blocks=True,
                             keep_trailing_newline=True, autoescape=False)
    return env.get_template("calibration.md.j2").render(
        model_name=Path(str(rec.get("model", ""))).name, method=rec.get("method"),
        seed=rec.get("seed"), scipy_version=rec.get("scipy_version", ""),
        window=f"{_fmt(window[0], 'g')} – {_fmt(window[1], 'g')}",
        payoff=_fmt(rec.get("payoff"), ".6g"), n_residuals=rec.get("n_residuals"),
        n_evaluations=rec.get("n_evaluations"), elapsed=_fmt(rec.get("elapsed_s"), ".1f"),
        interrupted=bool(rec.get("interrupted")),
        model_sha=str(rec.get("model_sha256") or "")[:16],
        data_sha=str(rec.get("data_sha256") or "")[:16], parameters=_parameters(rec),
        data_rows=_data_rows(targets), statistics=stats, holdout=_holdout(raw, fitted),
        notes=str(rec.get("notes") or "").strip(), warnings=list(rec.get("warnings") or []),
        plots=list((plots or {}).items()))


def _figure(rec: CalibrationRecord, target: Mapping) -> Figure:
    fig = _new_figure(figsize=(6, 3.5), layout="constrained")
    ax = fig.add_subplot()
    time = rec.get("trajectory_time") or []
    if target.get("trajectory"):
        ax.plot(time, target["trajectory"], color="C0", label="simulated")
    points = [p for p in rec.get("observed_vs_simulated") or [] if p["target"] == target["name"]]
    for sample, marker, color in _SAMPLES:
        sel = [p for p in points if p["sample"] == sample]
        if sel:
            label = f"{'derived' if target.get('derived') else 'observed'} ({sample})"
            ax.plot([p["time"] for p in sel], [p["observed"] for p in sel], marker,
                    color=color, linestyle="none", label=label)
    stop = (rec.get("fit_window") or [None, None])[1]
    if stop is not None:
        ax.axvline(stop, color="grey", linewidth=0.8, linestyle=":")
    row = targets_from_record([target]).iloc[0]
    ax.set_title(f"{row['label']}: {row['element']}" if row["element"] else row["label"],
                 fontsize=10)
    ax.set_ylabel(row["unit"] or row["label"])
    ax.legend(fontsize=7)
    return fig


def fit_figures(record: Mapping | CalibrationRecord) -> dict[str, Figure]:
    """Observed vs simulated, one :class:`~matplotlib.figure.Figure` per target, by name."""
    rec = _record(record)
    return {t["name"]: _figure(rec, t) for t in rec.get("targets") or []}


def figure_png(fig: Figure, *, dpi: int = 90) -> bytes:
    """PNG bytes of `fig` (no pyplot, no backend switch; CJK text in the bundled font)."""
    buf = io.BytesIO()
    with figure_fonts(fig):
        fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()
