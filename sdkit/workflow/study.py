"""A study described by one file: which model, data, scenarios, specs and report.

``sdkit pipeline`` reads ``./study.toml`` unless given another file; paths
are relative to the file::

    [study]
    model = "models/iis.mdl"
    calibration = "calibration/iis.toml"   # optional: a calibration spec to fit
    # params = "calibration/results/iis/fitted.json"   # optional: fitted values instead
    scenarios = "models/scenarios"         # folder of scenario files
    uncertainty = "reports/iis.toml"       # optional: file with an [uncertainty] table
    sensitivity = "reports/iis.toml"       # optional: file with a [sensitivity] table
    report = "reports/iis.toml"            # report configuration
    out = "reports/iis"                    # report folder

:func:`read_study` returns a frozen :class:`Study`; the command line's
options replace fields with :func:`dataclasses.replace`, and
:func:`sdkit.workflow.pipeline.run_pipeline` runs it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from sdkit.errors import SpecError
from sdkit.io.schema import table, text, unknown_keys
from sdkit.io.textfile import read_toml_file

__all__ = ["Study", "read_study", "DEFAULT_STUDY"]

#: the study file ``sdkit pipeline`` reads when none is named
DEFAULT_STUDY = "study.toml"

_PATHS = ("model", "calibration", "params", "scenarios", "uncertainty", "sensitivity", "report",
          "out")


@dataclass(frozen=True)
class Study:
    """Everything a pipeline run needs, as paths and numbers (nothing is read yet).

    Attributes
    ----------
    report : Path
        Report configuration.
    scenarios : Path
        Folder of scenario files.
    out : Path
        Report folder to write.
    model : Path or None
        Model file (default: ``[report] model`` of the report configuration).
    calibration : Path or None
        Calibration spec, fitted when `calibrate` and no `params` are given.
    params : Path or None
        Fitted parameters (``.cin`` or calibration record ``.json``).
    uncertainty, sensitivity : Path or None
        Files holding an ``[uncertainty]`` / ``[sensitivity]`` table.
    calibrate : bool
        False uses the model's own values when `params` is not given.
    members, sensitivity_n, seed : int or None
        Override the specs' N (0 skips the step) and the Monte Carlo seed.
    engine : str
        ``"auto"``, ``"fast"`` or ``"pysd"`` (:data:`sdkit.engine.ENGINES`).
    path : Path or None
        The study file.
    """

    report: Path
    scenarios: Path
    out: Path
    model: Path | None = None
    calibration: Path | None = None
    params: Path | None = None
    uncertainty: Path | None = None
    sensitivity: Path | None = None
    calibrate: bool = True
    members: int | None = None
    sensitivity_n: int | None = None
    seed: int | None = None
    engine: str = "auto"
    path: Path | None = None


def read_study(path: str | os.PathLike = DEFAULT_STUDY) -> Study:
    """Read a study file (see the module docstring).

    Raises
    ------
    SpecError
        Missing file, unknown keys, a missing ``report``, ``scenarios`` or
        ``out``; the message names the file and the key.
    """
    path = Path(path)
    where = str(path)
    data = read_toml_file(path, error=SpecError, what="study file")
    unknown_keys(data, {"study"}, where=where, key="(top level)", error=SpecError)
    head = table(data, "study", where=where, error=SpecError)
    unknown_keys(head, set(_PATHS) | {"name"}, where=where, key="study", error=SpecError)
    for req in ("report", "scenarios", "out"):
        if req not in head:
            raise SpecError(f"{where}: study.{req}: missing (expected report, scenarios and out)")
    paths = {k: path.parent / text(head[k], where=where, key=f"study.{k}", error=SpecError)
             for k in _PATHS if k in head}
    return Study(**paths, path=path)
