"""Loaded models: :func:`load_model` and the :class:`Model` it returns."""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from sdkit.errors import ModelFileError, TranslationError, UnknownVariableError
from sdkit.model.timesettings import check_model_time_settings
from sdkit.model.translate import (
    CachedTranslation,
    file_hash,
    importing_without_bytecode,
    model_format,
    translate_cached,
    verify_translation,
)

__all__ = ["Model", "TimeSettings", "load_model"]


@dataclass(frozen=True)
class TimeSettings:
    """A model's time settings (in the model's time unit)."""

    start: float
    stop: float
    dt: float
    saveper: float
    units: str = ""


class Model:
    """A translated model: the file it came from and the PySD model behind it.

    Create with :func:`load_model`. The PySD model is private; runs go
    through :func:`sdkit.engine.simulate`, which resets it before each run.

    Attributes
    ----------
    path : Path
        The user's model file (never written to).
    format : str
        ``"vensim"`` or ``"xmile"``.
    sha256 : str
        Hash of the model file's bytes when it was loaded.
    """

    def __init__(self, path: Path, translation: CachedTranslation, *, trusted: bool = False):
        import pysd

        self.path = path
        self.trusted = trusted
        self.format = model_format(path)
        self.sha256 = file_hash(path)
        self._translation = translation
        try:
            with warnings.catch_warnings(), importing_without_bytecode():
                warnings.simplefilter("ignore")
                self._pysd = pysd.load(str(translation.py_file))
        except FileNotFoundError as e:  # external data (GET XLS ...) next to the model
            missing = Path(e.filename).name if e.filename else str(e)
            raise ModelFileError(
                f"{path}: the model reads {missing!r}, which is not in {path.parent}"
            ) from e
        except Exception as e:  # noqa: BLE001 - PySD raises many types while initialising
            raise TranslationError(
                f"{path}: cannot initialise the translated model: {type(e).__name__}: {e}"
            ) from e
        self._dirty = False
        self._names = {str(k): v for k, v in self._pysd.namespace.items()}
        self._by_lower = {k.lower(): v for k, v in self._names.items()}
        self._by_lower.update({v.lower(): v for v in self._names.values()})
        self._real = {v: k for k, v in self._names.items()}
        self._time_settings = self._read_time_settings()

    def __repr__(self) -> str:
        return f"<sdkit.Model {self.path.name} ({self.format}, {len(self._names)} names)>"

    # -- names ---------------------------------------------------------------
    @property
    def cache_folder(self) -> Path:
        """The cache folder holding this model's translation."""
        return self._translation.folder

    @cached_property
    def abstract(self):
        """PySD's abstract model of this file (loaded from the cache)."""
        return self._translation.load_abstract()

    def py_name(self, name: str) -> str:
        """Return PySD's Python name for a model name (case and space insensitive).

        Raises
        ------
        UnknownVariableError
            If the model defines no such variable; the message names the file
            and suggests close names.
        """
        key = " ".join(str(name).replace("_", " ").split()).lower()
        for candidate in (str(name).lower(), key, key.replace(" ", "_")):
            if candidate in self._by_lower:
                return self._by_lower[candidate]
        import difflib

        close = difflib.get_close_matches(str(name), list(self._names), n=3)
        hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        raise UnknownVariableError(f"{self.path}: no variable named {name!r}{hint}")

    def real_name(self, name: str) -> str:
        """Return the model's own spelling of a variable name."""
        return self._real[self.py_name(name)]

    @property
    def names(self) -> list[str]:
        """Model variable names as written in the model file."""
        return [n for n in self._names if n != "Time"]

    @property
    def subscripts(self) -> dict[str, list[str]]:
        """Subscript ranges: dimension name -> element names."""
        return {k: list(v) for k, v in self._pysd.subscripts.items()}

    def dims_of(self, name: str) -> list[str]:
        """The subscript dimensions of a variable (empty for scalars)."""
        py = self.py_name(name)
        comp = getattr(self._pysd.components, py, None)
        dims = getattr(comp, "subscripts", None) or []
        return list(dims)

    # -- time ----------------------------------------------------------------
    @property
    def time_settings(self) -> TimeSettings:
        """INITIAL TIME, FINAL TIME, TIME STEP and SAVEPER as the file sets them."""
        return self._time_settings

    def _read_time_settings(self) -> TimeSettings:
        c = self._pysd.components
        units = ""
        try:
            doc = self._pysd.doc
            row = doc[doc["Py Name"] == "time_step"]
            if len(row) and isinstance(row["Units"].iloc[0], str):
                units = row["Units"].iloc[0]
        except Exception:  # noqa: BLE001 - units are cosmetic here
            pass
        check_model_time_settings(self.path, c)  # refuse TIME STEP <= 0 etc. before any run
        return TimeSettings(
            float(c.initial_time()), float(c.final_time()), float(c.time_step()),
            float(c.saveper()), units,
        )

    # -- PySD access for the run layer ---------------------------------------
    def _fresh_pysd(self):
        """The PySD model, reloaded if a previous run changed it."""
        if self._dirty:
            verify_translation(self._translation, self.path, trusted=self.trusted)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                with importing_without_bytecode():
                    self._pysd.reload()
            self._dirty = False
        return self._pysd


def load_model(path: str | os.PathLike, *, trusted: bool = False) -> Model:
    """Load a Vensim (``.mdl``) or XMILE (``.xmile``, ``.xml``, ``.stmx``) model.

    The model is translated by PySD into a cache folder keyed by the file's
    content (see :func:`sdkit.model.cache.cache_dir`); loading an unchanged file
    again reuses that translation. Nothing is written beside the model.

    Parameters
    ----------
    path : path-like
        The model file.
    trusted : bool, default False
        Import PySD's generated code without the structural check of
        :mod:`sdkit.model.codecheck`. Only for models whose author you trust (the
        check refuses constructs PySD writes that it has not seen before).

    Returns
    -------
    Model

    Raises
    ------
    ModelFileError
        Missing, empty, binary or non-UTF-8 file, or an unknown extension.
    TranslationError
        The model does not parse, or has no variables besides time settings.

    Examples
    --------
    >>> model = load_model("tests/models/teacup.mdl")
    >>> model.time_settings.stop
    30.0
    """
    path = Path(path)
    translation = translate_cached(path, trusted=trusted)
    return Model(path, translation, trusted=trusted)
