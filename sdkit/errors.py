"""The sdkit exception tree.

Every error sdkit raises on purpose derives from :class:`SdkitError`, so a
caller (and the CLI) can catch one type. Subclasses also inherit the fitting
built-in, so ``except KeyError`` still works where a name is unknown::

    SdkitError(Exception)
    ├── ModelFileError(SdkitError, OSError)        missing/unreadable file, bad extension
    │   └── UnsafeModelError                       text that would reach generated code
    ├── TranslationError(SdkitError, ValueError)   the model does not parse or build
    │   └── UnsupportedConstructError              a construct sdkit refuses to guess
    ├── UnknownVariableError(SdkitError, KeyError) a name the model does not define
    ├── InvalidValueError(SdkitError, ValueError)  wrong type, NaN, out of bounds
    ├── SimulationError(SdkitError, RuntimeError)  a run failed or went non-finite
    ├── SpecError(SdkitError, ValueError)          bad calibration/scenario/.cin file
    ├── DataError(SdkitError, ValueError)          bad observed-data table
    └── OutputError(SdkitError, OSError)           refusing to overwrite, cannot write
        └── CacheError                             translation cache unusable or tampered with

    SdkitWarning(UserWarning)                      a result that is probably wrong
                                                   (e.g. dt too large for a time constant)

Messages name the thing, where it is, and what was expected, e.g.
``models/iis.mdl: line 12: 'Room Temperature' must be a number: 'abc'``.
"""

from __future__ import annotations

__all__ = [
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
    "CacheError",
    "SdkitWarning",
]


class SdkitError(Exception):
    """Base of every error sdkit raises deliberately."""

    def __str__(self) -> str:  # KeyError quotes its message; we do not want that
        return str(self.args[0]) if self.args else self.__class__.__name__


class ModelFileError(SdkitError, OSError):
    """A model file is missing, unreadable, empty or of an unknown format."""


class UnsafeModelError(ModelFileError):
    """A model's text would reach generated Python code unescaped."""


class TranslationError(SdkitError, ValueError):
    """A model file could not be parsed or translated."""


class UnsupportedConstructError(TranslationError):
    """A model uses a construct sdkit cannot simulate faithfully."""


class UnknownVariableError(SdkitError, KeyError):
    """A variable (or subscript element) name the model does not define."""


class InvalidValueError(SdkitError, ValueError):
    """A value of the wrong type or outside what is allowed."""


class SimulationError(SdkitError, RuntimeError):
    """A simulation failed, or produced NaN/inf values."""


class SpecError(SdkitError, ValueError):
    """A calibration, scenario or changes (.cin) specification is invalid."""


class DataError(SdkitError, ValueError):
    """An observed-data table is invalid."""


class OutputError(SdkitError, OSError):
    """An output cannot be written (or would overwrite without permission)."""


class CacheError(OutputError):
    """The translation cache cannot be used: not a private folder, full, or changed."""


class SdkitWarning(UserWarning):
    """A run finished, but its result is probably inaccurate (e.g. dt too large)."""
