"""Calibration: fit a model's free parameters to observed data.

Describe the problem (:class:`Parameter`, :class:`Target`,
:class:`CalibrationProblem`, or a TOML spec for :func:`read_problem`; data
files in a wide, long or Vensim-export layout, see
:mod:`sdkit.calibration.data`), fit it with :func:`calibrate`, and read the
:class:`CalibrationResult`. Calibration only returns results: its plain
record is :meth:`CalibrationResult.to_record`, rendered by
:func:`sdkit.report.calibration.fit_report` and written to a folder by
:func:`sdkit.workflow.calibration.write_outputs`.
"""

from __future__ import annotations

from sdkit.calibration.data import DataSpec, ObservedData, load_data
from sdkit.calibration.fit import calibrate
from sdkit.calibration.problem import METHODS, CalibrationProblem, Parameter, Target
from sdkit.calibration.result import CalibrationResult
from sdkit.calibration.spec import read_problem
from sdkit.calibration.stats import FitStatistics, fit_statistics

__all__ = [
    "calibrate",
    "read_problem",
    "load_data",
    "fit_statistics",
    "CalibrationProblem",
    "CalibrationResult",
    "DataSpec",
    "FitStatistics",
    "ObservedData",
    "Parameter",
    "Target",
    "METHODS",
]
