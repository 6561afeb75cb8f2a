"""Calibration: fit a model's free parameters to observed data.

Describe the problem (:class:`Parameter`, :class:`Target`,
:class:`CalibrationProblem`, or a TOML spec for :func:`read_problem`), fit it
with :func:`calibrate`, and read the :class:`CalibrationResult`; write its
``.cin``, JSON record and Markdown report with :func:`write_outputs`.
"""

from __future__ import annotations

from sdkit.calibration.data import load_city_data
from sdkit.calibration.fit import calibrate
from sdkit.calibration.problem import METHODS, CalibrationProblem, Parameter, Target, read_problem
from sdkit.calibration.report import write_outputs
from sdkit.calibration.result import CalibrationResult
from sdkit.calibration.stats import FitStatistics, fit_statistics

__all__ = [
    "calibrate",
    "read_problem",
    "load_city_data",
    "write_outputs",
    "fit_statistics",
    "CalibrationProblem",
    "CalibrationResult",
    "FitStatistics",
    "Parameter",
    "Target",
    "METHODS",
]
