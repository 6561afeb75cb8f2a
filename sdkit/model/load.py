"""Loaded models: :func:`load_model` and the :class:`Model` it returns."""

from __future__ import annotations

import difflib
import math
import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import pysd

from sdkit.errors import ModelFileError, TranslationError, UnknownVariableError
from sdkit.model.cached import CachedTranslation, translate_cached
from sdkit.model.inputs import check_data_files
from sdkit.model.names import canonical
from sdkit.model.timesettings import check_model_time_settings
from sdkit.model.translate import file_hash, importing_without_bytecode, model_format

__all__ = ["Model", "TimeSettings", "Variable", "load_model"]

#: what a variable is, as :attr:`Variable.kind` says
KINDS = ("stock", "flow", "auxiliary", "constant", "lookup", "data", "stateful")
_CONTROL = ("time", "initial_time", "final_time", "time_step", "saveper")


@dataclass(frozen=True)
class TimeSettings:
    """A model's time settings (in the model's time unit)."""

    start: float
    stop: float
    dt: float
    saveper: float
    units: str = ""


@dataclass(frozen=True)
class Variable:
    """One model variable: what :attr:`Model.variables` lists.

    Attributes
    ----------
    name : str
        As written in the model file.
    py_name : str
        PySD's Python name (the engine's too).
    kind : str
        One of :data:`KINDS`: ``stock`` (INTEG), ``flow`` (an auxiliary that
        feeds a stock's rate directly), ``auxiliary``, ``constant``,
        ``lookup``, ``data`` or ``stateful`` (delays, smooths, ...).
    units : str
    documentation : str
    dims : tuple of str
        Subscript dimensions (empty for scalars).
    elements : tuple of tuple of str
        The elements of each dimension, in order.
    range : tuple of (float or None, float or None)
        The declared ``[min, max]`` (None where the model gives none).
    value : float, numpy.ndarray or None
        A constant's value as the file sets it (an array over `dims` for a
        subscripted constant); None for other kinds.
    """

    name: str
    py_name: str
    kind: str
    units: str = ""
    documentation: str = ""
    dims: tuple[str, ...] = ()
    elements: tuple[tuple[str, ...], ...] = ()
    range: tuple[float | None, float | None] = (None, None)
    value: float | np.ndarray | None = None


def _text(value: object) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value).strip()


def _limit(value: object) -> float | None:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


class Model:
    """A translated model: the file it came from, its variables and time settings.

    Create with :func:`load_model`. Read a model through its public API
    (:attr:`names`, :attr:`variables`, :meth:`variable`, :attr:`subscripts`,
    :attr:`time_settings`); runs go through :func:`sdkit.engine.simulate` or
    :func:`sdkit.engine.runner.run_ensemble`. The PySD object behind it is
    private to :mod:`sdkit.engine.pysd_backend`, which alone resets it.

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
        try:
            with warnings.catch_warnings(), importing_without_bytecode():
                warnings.simplefilter("ignore")
                self._pysd_object = pysd.load(str(translation.py_file),
                                              data_files=[str(f) for f in data_files] or None)
        except FileNotFoundError as e:  # external data (GET XLS ...) next to the model
            missing = Path(e.filename).name if e.filename else str(e)
            raise ModelFileError(
                f"{path}: the model reads {missing!r}, which is not in {path.parent}"
            ) from e
        except Exception as e:  # noqa: BLE001 - PySD raises many types while initialising
            raise TranslationError(
                f"{path}: cannot initialise the translated model: {type(e).__name__}: {e}"
            ) from e
        self._names = {str(k): v for k, v in self._pysd_object.namespace.items()}
        self._by_canonical = {canonical(k): v for k, v in self._names.items()}
        self._by_canonical.update({canonical(v): v for v in self._names.values()})
        self._real = {v: k for k, v in self._names.items()}
        self._time_settings = self._read_time_settings()

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
        return {k: list(v) for k, v in self._pysd_object.subscripts.items()}

    def dims_of(self, name: str) -> list[str]:
        """The subscript dimensions of a variable (empty for scalars)."""
        py = self.py_name(name)
        comp = getattr(self._pysd_object.components, py, None)
        dims = getattr(comp, "subscripts", None) or []
        return list(dims)

    @cached_property
    def saveper_follows_dt(self) -> bool:
        """True if SAVEPER is computed from TIME STEP (a new dt moves it too)."""
        return "time_step" in (self._pysd_object.dependencies.get("saveper") or {})

    @cached_property
    def variables(self) -> tuple[Variable, ...]:
        """Every model variable but time and the time settings, in the file's order."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            doc = self._pysd_object.doc
        flows: set[str] = set()
        for key, val in (self._pysd_object.dependencies or {}).items():
            if key.startswith("_integ_") and isinstance(val, dict):
                flows.update(k for k in (val.get("step") or {}) if not k.startswith("_"))
        subs = self.subscripts
        out = []
        for _, row in doc.iterrows():
            py = row["Py Name"]
            if py in _CONTROL:
                continue
            kind = _kind(_text(row.get("Type")), _text(row.get("Subtype")), py in flows)
            dims = row.get("Subscripts")
            dims = tuple(dims) if isinstance(dims, list | tuple) else ()
            limits = row.get("Limits")
            limits = tuple(limits) if isinstance(limits, list | tuple) else (None, None)
            out.append(Variable(
                name=str(row["Real Name"]), py_name=py, kind=kind, units=_text(row.get("Units")),
                documentation=_text(row.get("Comment")), dims=dims,
                elements=tuple(tuple(subs.get(d, ())) for d in dims),
                range=(_limit(limits[0]), _limit(limits[-1])) if limits else (None, None),
                value=self._constant(py) if kind == "constant" else None,
            ))
        return tuple(out)

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

    def _constant(self, py: str) -> float | np.ndarray | None:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                value = getattr(self._pysd_object.components, py)()
        except Exception:  # noqa: BLE001 - a value PySD cannot give before a run
            return None
        value = getattr(value, "values", value)
        try:
            arr = np.asarray(value, dtype=float)
        except OverflowError:  # an integer such as 1000 ^ 1000: infinite as a float
            return math.inf if value > 0 else -math.inf
        return float(arr) if arr.ndim == 0 else arr

    # -- time ----------------------------------------------------------------
    @property
    def time_settings(self) -> TimeSettings:
        """INITIAL TIME, FINAL TIME, TIME STEP and SAVEPER as the file sets them."""
        return self._time_settings

    def _read_time_settings(self) -> TimeSettings:
        c = self._pysd_object.components
        units = ""
        try:
            doc = self._pysd_object.doc
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


def _kind(typ: str, sub: str, is_flow: bool) -> str:
    if typ == "Stateful":
        return "stock" if sub == "Integ" else "stateful"
    if typ in ("Constant", "Lookup", "Data"):
        return typ.lower()
    return "flow" if is_flow else "auxiliary"


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
    translation = translate_cached(path, trusted=trusted)
    return Model(path, translation, trusted=trusted, data_files=files)
