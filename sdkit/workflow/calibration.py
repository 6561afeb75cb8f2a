"""Write a calibration's results folder: ``fitted.cin``, ``calibration.json``, ``report.md``, plots.

Calibration returns a :class:`~sdkit.calibration.CalibrationResult`; this
workflow step turns it into files. The record
(:meth:`~sdkit.calibration.CalibrationResult.to_record`) is written as
``calibration.json`` and rendered by :func:`sdkit.report.calibration.fit_report`;
the plots are :func:`sdkit.report.calibration.fit_figures`. All files are
written atomically through :mod:`sdkit.io`.
"""

from __future__ import annotations

import os
from pathlib import Path

from sdkit.calibration.result import CalibrationResult
from sdkit.edit.cin import write_cin
from sdkit.errors import OutputError
from sdkit.io.calibration_record import record_json
from sdkit.io.files import atomic_write_bytes, atomic_write_text, check_replaceable, staged_folder
from sdkit.report.calibration import figure_png, fit_figures, fit_report, plot_name

__all__ = ["write_outputs", "check_out", "OUTPUT_NAMES"]

#: the files a results folder holds (besides plots/)
OUTPUT_NAMES = {"cin": "fitted.cin", "json": "calibration.json", "report": "report.md"}


def check_out(out: str | os.PathLike, *, overwrite: bool) -> None:
    """Refuse an `out` that is not a folder, or whose result files exist without `overwrite`.

    Called before a fit, so that a wrong ``--out`` costs no fitting time.
    """
    check_replaceable(out, overwrite=True, folder=True)
    for name in OUTPUT_NAMES.values():
        check_replaceable(Path(out) / name, overwrite=overwrite)


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
        Draw observed-vs-simulated PNGs.

    Returns
    -------
    dict
        ``{"cin": path, "json": path, "report": path}``.

    Notes
    -----
    The whole folder is written to a staging folder beside `out_dir` and
    swapped in with renames (:func:`sdkit.io.files.staged_folder`; other
    files already in `out_dir` are kept). A failure or Ctrl-C while plotting
    or writing leaves `out_dir` as it was: a reader sees the old results or
    the new ones, never a mix.
    """
    out = Path(out_dir)
    paths = {k: out / v for k, v in OUTPUT_NAMES.items()}
    if not overwrite:
        for path in paths.values():
            if os.path.lexists(path):
                raise OutputError(f"{path}: exists; refusing to overwrite (use another --out)")
    record = result.to_record()
    with staged_folder(out, overwrite=overwrite, merge=True, what="calibration") as stage:
        header = (f"fitted by sdkit calibrate ({result.method}, seed {result.seed}) to "
                  f"{Path(result.problem.data_path).name or 'data'}; "
                  f"payoff {result.payoff:.6g}")
        write_cin(stage / OUTPUT_NAMES["cin"], result.changes(), header=header)
        atomic_write_text(stage / OUTPUT_NAMES["json"], record_json(record))
        links = {}
        if plots:
            for name, fig in fit_figures(record).items():
                links[name] = plot_name(name)
                atomic_write_bytes(stage / links[name], figure_png(fig))
        atomic_write_text(stage / OUTPUT_NAMES["report"], fit_report(record, links))
    return paths
