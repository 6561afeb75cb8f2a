"""sdkit: run, check, calibrate and report system-dynamics models.

Front door::

    import sdkit
    model = sdkit.load_model("models/iis.mdl")
    out = sdkit.simulate(model, {"Room Temperature": 20}, outputs=["Teacup Temperature"])

Every name below is imported when first used (PEP 562 ``__getattr__``), so
``import sdkit`` (and so the command line) loads PySD, pandas, scipy and pint
only when something needs them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

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
from sdkit.lazy import lazy_names as _lazy_names
from sdkit.version import __version__

if TYPE_CHECKING:  # for type checkers and IDEs; nothing is imported at run time
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
    from sdkit.engine.executors import (
        DaskExecutor,
        Executor,
        InProcessExecutor,
        ProcessPoolExecutor,
        ThreadExecutor,
    )
    from sdkit.engine.simulate import simulate, to_dataset
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
    from sdkit.workflow.loops import loop_dominance
    from sdkit.workflow.pipeline import run_pipeline

#: public name -> the module that defines it (imported on first use)
_LAZY: dict[str, str] = {
    "sensitivity_analysis": "sdkit.analysis.sensitivity",
    "CalibrationProblem": "sdkit.calibration",
    "CalibrationResult": "sdkit.calibration",
    "Parameter": "sdkit.calibration",
    "calibrate": "sdkit.calibration",
    "load_data": "sdkit.calibration",
    "read_problem": "sdkit.calibration",
    "run_conformance": "sdkit.conformance.suite",
    "read_cin": "sdkit.edit.cin",
    "write_cin": "sdkit.edit.cin",
    "edit_model": "sdkit.edit.writeback",
    "FallbackNote": "sdkit.engine",
    "simulate_ensemble": "sdkit.engine",
    "DaskExecutor": "sdkit.engine.executors",
    "Executor": "sdkit.engine.executors",
    "InProcessExecutor": "sdkit.engine.executors",
    "ProcessPoolExecutor": "sdkit.engine.executors",
    "ThreadExecutor": "sdkit.engine.executors",
    "simulate": "sdkit.engine.simulate",
    "to_dataset": "sdkit.engine.simulate",
    "to_tidy": "sdkit.io.tidy",
    "to_wide": "sdkit.io.tidy",
    "Model": "sdkit.model.load",
    "TimeSettings": "sdkit.model.load",
    "load_model": "sdkit.model.load",
    "run_scenarios": "sdkit.scenarios.projection",
    "Lever": "sdkit.scenarios.spec",
    "Scenario": "sdkit.scenarios.spec",
    "list_scenarios": "sdkit.scenarios.spec",
    "read_scenario": "sdkit.scenarios.spec",
    "ParameterUncertainty": "sdkit.scenarios.uncertainty",
    "monte_carlo": "sdkit.scenarios.uncertainty",
    "causal_loop_diagram": "sdkit.structure.diagram",
    "diff_models": "sdkit.structure.diff",
    "model_info": "sdkit.structure.info",
    "find_loops": "sdkit.structure.loops",
    "check_model": "sdkit.structure.units",
    "loop_dominance": "sdkit.workflow.loops",
    "run_pipeline": "sdkit.workflow.pipeline",
}

__all__ = [
    "simulate_ensemble",
    "FallbackNote",
    "Executor",
    "InProcessExecutor",
    "ProcessPoolExecutor",
    "ThreadExecutor",
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

__getattr__, __dir__ = _lazy_names(__name__, globals(), _LAZY, __all__)
