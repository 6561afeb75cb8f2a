"""Check a report configuration against its model and runs before anything is drawn.

The report renders whatever it is given; a variable the model lacks or a
time the runs did not save would otherwise surface mid-render as a
traceback. :func:`check_report_variables` runs before any simulation,
:func:`check_report_times` on the saved times of the scenario runs.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from sdkit.errors import SpecError
from sdkit.model.load import Model
from sdkit.report.config import ReportConfig
from sdkit.scenarios.runs import check_outputs

__all__ = ["check_report_variables", "check_report_times"]


def _variables(cfg: ReportConfig) -> Iterator[tuple[str, str]]:
    """(key, variable) of every model variable the configuration names."""
    yield from ((f"indicators[{k}].variable", i.variable) for k, i in enumerate(cfg.indicators))
    yield from (("report.summary", v) for v in cfg.summary)
    for key in ("peaks", "changes", "totals"):
        yield from ((f"report.{key}[{k}].variable", x.variable)
                    for k, x in enumerate(getattr(cfg, key)))
    yield from (("report.growth", v) for v in [cfg.growth] if v)
    if cfg.tradeoff is not None:
        t = cfg.tradeoff
        yield from ((f"report.tradeoff.{k}", v) for k, v in
                    (("benefit", t.benefit), ("burden", t.burden), ("cost", t.cost),
                     ("transfer", t.transfer)) if v)
    if cfg.target is not None:
        yield from ((f"report.target.{k}", v) for k, v in
                    (("variable", cfg.target.variable), ("captured", cfg.target.captured)) if v)


def check_report_variables(cfg: ReportConfig, model: Model) -> None:
    """Every variable the configuration names exists in `model`.

    Raises
    ------
    SpecError
        ``<config>: <key>: no variable named ...; did you mean ... (in <model>)``.
    """
    for key, name in _variables(cfg):
        check_outputs(model, [name], where=str(cfg.path or "report configuration"), key=key)


def check_report_times(cfg: ReportConfig, times: Sequence[float]) -> None:
    """Summary times are saved times of the runs; a peak's `start` leaves two saved
    times on each side.

    Raises
    ------
    SpecError
        ``<config>: <key>: time ... is not a saved time of the runs (...)``.
    """
    where = str(cfg.path or "report configuration")
    saved = np.asarray(times, dtype=float)
    span = f"saved from {saved[0]:g} to {saved[-1]:g}" if saved.size else "nothing saved"
    for y in cfg.summary_years:
        if not np.any(np.isclose(saved, y, rtol=0, atol=1e-9)):
            raise SpecError(f"{where}: report.summary_years: time {y:g} is not a saved time "
                            f"of the runs ({span}, every {_step(saved)})")
    for k, p in enumerate(cfg.peaks):
        if p.start is not None and ((saved <= p.start).sum() < 2 or (saved > p.start).sum() < 2):
            raise SpecError(f"{where}: report.peaks[{k}].start: time {p.start:g} leaves fewer "
                            f"than two saved times on one side ({span}); expected a time "
                            "inside the run")


def _step(saved: np.ndarray) -> str:
    return f"{saved[1] - saved[0]:g}" if saved.size > 1 else "-"
