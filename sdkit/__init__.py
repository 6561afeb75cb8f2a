"""sdkit: run, check, calibrate and report system-dynamics models.

Front door::

    import sdkit
    model = sdkit.load_model("models/iis.mdl")
    out = sdkit.simulate(model, {"Room Temperature": 20}, outputs=["Teacup Temperature"])
"""

from __future__ import annotations

from .cin import read_cin, write_cin
from .conformance import run_conformance
from .errors import (
    DataError,
    InvalidValueError,
    ModelFileError,
    OutputError,
    SdkitError,
    SimulationError,
    SpecError,
    TranslationError,
    UnknownVariableError,
    UnsafeModelError,
    UnsupportedConstructError,
)
from .info import model_info
from .model import Model, TimeSettings, load_model
from .simulate import simulate, to_dataset

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "load_model",
    "simulate",
    "to_dataset",
    "model_info",
    "run_conformance",
    "read_cin",
    "write_cin",
    "Model",
    "TimeSettings",
    "SdkitError",
    "ModelFileError",
    "UnsafeModelError",
    "TranslationError",
    "UnsupportedConstructError",
    "UnknownVariableError",
    "InvalidValueError",
    "SimulationError",
    "SpecError",
    "DataError",
    "OutputError",
]
