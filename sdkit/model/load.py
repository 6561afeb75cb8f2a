"""Loaded models: :func:`load_model` and the :class:`Model` it returns."""

from __future__ import annotations

import difflib
import os
import threading
import warnings
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path

from sdkit.errors import ModelFileError, TranslationError, UnknownVariableError
from sdkit.model.cached import CachedTranslation, translate_cached, verify_translation
from sdkit.model.facts import (
    KINDS,
    ModelFacts,
    TimeSettings,
    Variable,
    facts_from_pysd,
    read_facts,
    write_facts,
)
from sdkit.model.inputs import check_data_files
from sdkit.model.names import canonical
from sdkit.model.translate import file_hash, importing_without_bytecode, model_format

__all__ = ["KINDS", "Model", "TimeSettings", "Variable", "load_model"]


class Model:
    """A translated model: the file it came from, its variables and time settings.

    Create with :func:`load_model`. Read a model through its public API
    (:attr:`names`, :attr:`variables`, :meth:`variable`, :attr:`subscripts`,
    :attr:`time_settings`); runs go through :func:`sdkit.engine.simulate` or
    :func:`sdkit.engine.runner.run_ensemble`. The PySD object behind it is
    private to :mod:`sdkit.engine.pysd_backend`, which alone resets it.

    Names, variables and time settings come from the facts kept beside the
    cached translation (:mod:`sdkit.model.facts`) when a previous load wrote
    them; PySD's model object is then built only when a run needs PySD.

    Attributes
    ----------
    path : Path
        The user's model file (never written to).
    format : str
        ``"vensim"`` or ``"xmile"``.
    sha256 : str
        Hash of the model file's bytes when it was loaded.
    data_files : tuple of Path
        The data files given to :func:`load_model` (absolute paths).
    """

    def __init__(self, path: Path, translation: CachedTranslation, *, trusted: bool = False,
                 data_files: tuple[Path, ...] = ()):
        self.path = path
        self.trusted = trusted
        self.data_files = tuple(data_files)
        self.format = model_format(path)
        self.sha256 = file_hash(path)
        self._translation = translation
        self._lock = threading.Lock()
        self._pysd = None
        # data files fill data variables when PySD loads: such a model is built now
        facts = None if data_files else read_facts(translation.folder, path)
        if facts is None:
            self._pysd = self._build_pysd()
            facts = facts_from_pysd(self._pysd, path)
            if not data_files:
                write_facts(translation.folder, facts)
        self._facts: ModelFacts = facts
        self._names = facts.names
        self._by_canonical = {canonical(k): v for k, v in self._names.items()}
        self._by_canonical.update({canonical(v): v for v in self._names.values()})
        self._real = {v: k for k, v in self._names.items()}

    def _build_pysd(self):
        """PySD's model object for the cached translation (imports its module).

        The entry is checked again first, its generated code included: the
        code is checked right before every import of it.
        """
        import pysd  # heavy: xarray, scipy and dask (through xarray) load with it

        verify_translation(self._translation, self.path, trusted=self.trusted)
        try:
            with warnings.catch_warnings(), importing_without_bytecode():
                warnings.simplefilter("ignore")
                return pysd.load(str(self._translation.py_file),
                                 data_files=[str(f) for f in self.data_files] or None)
        except FileNotFoundError as e:  # external data (GET XLS ...) next to the model
            missing = Path(e.filename).name if e.filename else str(e)
            raise ModelFileError(
                f"{self.path}: the model reads {missing!r}, which is not in {self.path.parent}"
            ) from e
        except Exception as e:  # noqa: BLE001 - PySD raises many types while initialising
            raise TranslationError(
                f"{self.path}: cannot initialise the translated model: {type(e).__name__}: {e}"
            ) from e

    @property
    def _pysd_object(self):
        """PySD's model object, built on first use (for :mod:`sdkit.engine.pysd_backend`)."""
        with self._lock:
            if self._pysd is None:
                self._pysd = self._build_pysd()
            return self._pysd

    def __repr__(self) -> str:
        return f"<sdkit.Model {self.path.name} ({self.format}, {len(self._names)} names)>"

    # -- names ---------------------------------------------------------------
    @property
    def translation(self) -> CachedTranslation:
        """The cached translation this model was loaded from."""
        return self._translation

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
        key = canonical(name)
        if key in self._by_canonical:
            return self._by_canonical[key]
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
        return {k: list(v) for k, v in self._facts.subscripts.items()}

    def dims_of(self, name: str) -> list[str]:
        """The subscript dimensions of a variable (empty for scalars)."""
        return list(self._facts.dims.get(self.py_name(name), ()))

    @property
    def saveper_follows_dt(self) -> bool:
        """True if SAVEPER is computed from TIME STEP (a new dt moves it too)."""
        return self._facts.saveper_follows_dt

    @property
    def time_inputs(self) -> frozenset[str]:
        """Python names of everything the four time settings are computed from."""
        return self._facts.time_inputs

    @property
    def variables(self) -> tuple[Variable, ...]:
        """Every model variable but time and the time settings, in the file's order."""
        return self._facts.variables

    def variable(self, name: str) -> Variable:
        """The :class:`Variable` called `name` (case, spaces and underscores ignored).

        Raises
        ------
        UnknownVariableError
            As :meth:`py_name`.
        """
        py = self.py_name(name)
        for v in self.variables:
            if v.py_name == py:
                return v
        raise UnknownVariableError(f"{self.path}: {name!r} is a time setting, not a variable")

    # -- time ----------------------------------------------------------------
    @property
    def time_settings(self) -> TimeSettings:
        """INITIAL TIME, FINAL TIME, TIME STEP and SAVEPER as the file sets them."""
        return self._facts.time


def load_model(path: str | os.PathLike, *, trusted: bool = False,
               data_files: Sequence[str | os.PathLike] | None = None) -> Model:
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
    data_files : sequence of path-like, optional
        ``.tab``/``.csv`` files (Vensim's layout, e.g. another model's output)
        that fill the data variables naming no source (``x :INTERPOLATE:``).
        They are read where they are, by this call and when a run resets the
        model; the model's folder is not searched for them.

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
    files = check_data_files(path, data_files)
    # the generated code is checked when it is imported (Model._build_pysd), not here
    translation = translate_cached(path, trusted=trusted, check_code=False)
    return Model(path, translation, trusted=trusted, data_files=files)
