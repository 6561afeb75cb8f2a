"""sdkit: run, check, calibrate and report system-dynamics models.

Front door::

    import sdkit
    model = sdkit.load_model("models/iis.mdl")
    out = sdkit.simulate(model, {"Room Temperature": 20}, outputs=["Teacup Temperature"])
"""

from __future__ import annotations

from sdkit.analysis.sensitivity import sensitivity_analysis
from sdkit.calibration import (
    CalibrationProblem,
    CalibrationResult,
    Parameter,
    calibrate,
    load_data,
    read_problem,
)
from sdkit.conformance.suite import run_conformance
from sdkit.edit.cin import read_cin, write_cin
from sdkit.edit.writeback import edit_model
from sdkit.engine import FallbackNote, simulate_ensemble
from sdkit.engine.executors import DaskExecutor, Executor, InProcessExecutor, ProcessPoolExecutor
from sdkit.engine.simulate import simulate, to_dataset
from sdkit.errors import (
    CacheError,
    DataError,
    InvalidValueError,
    ModelFileError,
    OutputError,
    SdkitError,
    SdkitWarning,
    SimulationError,
    SpecError,
    TranslationError,
    UnknownVariableError,
    UnsafeModelError,
    UnsupportedConstructError,
)
from sdkit.io.tidy import to_tidy, to_wide
from sdkit.model.load import Model, TimeSettings, load_model
from sdkit.scenarios.projection import run_scenarios
from sdkit.scenarios.spec import Lever, Scenario, list_scenarios, read_scenario
from sdkit.scenarios.uncertainty import ParameterUncertainty, monte_carlo
from sdkit.structure.diagram import causal_loop_diagram
from sdkit.structure.diff import diff_models
from sdkit.structure.info import model_info
from sdkit.structure.loops import find_loops
from sdkit.structure.units import check_model
from sdkit.version import __version__
from sdkit.workflow.loops import loop_dominance
from sdkit.workflow.pipeline import run_pipeline

__all__ = [
    "simulate_ensemble",
    "FallbackNote",
    "Executor",
    "InProcessExecutor",
    "ProcessPoolExecutor",
    "DaskExecutor",
    "__version__",
    "load_model",
    "simulate",
    "to_dataset",
    "to_tidy",
    "to_wide",
    "model_info",
    "run_conformance",
    "read_cin",
    "write_cin",
    "edit_model",
    "check_model",
    "find_loops",
    "causal_loop_diagram",
    "loop_dominance",
    "diff_models",
    "calibrate",
    "read_problem",
    "load_data",
    "CalibrationProblem",
    "CalibrationResult",
    "Parameter",
    "Model",
    "TimeSettings",
    "Lever",
    "Scenario",
    "read_scenario",
    "list_scenarios",
    "run_scenarios",
    "ParameterUncertainty",
    "monte_carlo",
    "sensitivity_analysis",
    "run_pipeline",
    "SdkitError",
    "SdkitWarning",
    "ModelFileError",
    "UnsafeModelError",
    "TranslationError",
    "UnsupportedConstructError",
    "UnknownVariableError",
    "InvalidValueError",
    "SimulationError",
    "SpecError",
    "DataError",
    "CacheError",
    "OutputError",
]
