"""sdkit: run, check, calibrate and report system-dynamics models.

Front door::

    import sdkit
    model = sdkit.load_model("models/iis.mdl")
    out = sdkit.simulate(model, {"Room Temperature": 20}, outputs=["Teacup Temperature"])
"""

from __future__ import annotations

from .calibration import (
    CalibrationProblem,
    CalibrationResult,
    Parameter,
    calibrate,
    load_city_data,
    read_problem,
)
from .cin import read_cin, write_cin
from .conformance import run_conformance
from .diagram import causal_loop_diagram
from .diff import diff_models
from .edit import edit_model
from .engine import FallbackNote, simulate_ensemble
from .errors import (
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
from .executors import DaskExecutor, Executor, InProcessExecutor, ProcessPoolExecutor
from .info import model_info
from .loop_score import loop_dominance
from .loops import find_loops
from .model import Model, TimeSettings, load_model
from .pipeline import run_pipeline
from .projection import run_scenarios
from .scenarios import Lever, Scenario, list_scenarios, read_scenario
from .sensitivity import sensitivity_analysis
from .simulate import simulate, to_dataset
from .uncertainty import ParameterUncertainty, monte_carlo
from .units import check_model

__version__ = "0.1.0"

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
    "load_city_data",
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
