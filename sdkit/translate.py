"""From a Vensim/XMILE file to PySD's abstract model and on to cached Python.

The pipeline is PySD's own (``translators`` → ``AbstractModel`` →
``builders.python``), run so that nothing is ever written beside the user's
model: the file is hashed, and the translated Python lives in a cache folder
named by that hash. A second load of an unchanged file reuses it.

Stages, each a function so other parts of sdkit (the ensemble engine, the
units checker, the loop finder) can stop at the abstract model:

1. :func:`read_abstract_model` parses the file (Vensim or XMILE) and returns
   a :class:`pysd.translators.structures.abstract_model.AbstractModel`.
2. :func:`build_python` writes the Python module for an abstract model.
3. :func:`translate_cached` does both through the cache.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import re
import shutil
import tempfile
from pathlib import Path

from .errors import ModelFileError, TranslationError

__all__ = [
    "MODEL_FORMATS",
    "model_format",
    "read_model_text",
    "file_hash",
    "cache_dir",
    "read_abstract_model",
    "build_python",
    "translate_cached",
    "CachedTranslation",
]

#: file suffix -> format name
MODEL_FORMATS = {
    ".mdl": "vensim",
    ".xmile": "xmile",
    ".xml": "xmile",
    ".stmx": "xmile",
    ".itmx": "xmile",
}

#: bump when sdkit changes how it translates, so stale cache entries are not reused
TRANSLATOR_VERSION = "3"

_CONTROL_NAMES = {"initial time", "final time", "time step", "saveper", "time"}


def model_format(path: str | os.PathLike) -> str:
    """Return ``"vensim"`` or ``"xmile"`` for a model path, by suffix.

    Raises
    ------
    ModelFileError
        If the suffix is not a known model format.
    """
    suffix = Path(path).suffix.lower()
    try:
        return MODEL_FORMATS[suffix]
    except KeyError:
        raise ModelFileError(
            f"{path}: unknown model format {suffix or '(no extension)'!r}; "
            f"expected one of {', '.join(sorted(MODEL_FORMATS))}"
        ) from None


def read_model_text(path: str | os.PathLike) -> str:
    """Read a model file as UTF-8 text, with clear errors for the usual failures.

    Raises
    ------
    ModelFileError
        Missing file, a folder, an empty file, UTF-16 or binary content, or
        text that is not UTF-8.
    """
    from ._textfile import read_text_file

    return read_text_file(path, error=ModelFileError, what="model file", missing="no such file")


def file_hash(path: str | os.PathLike) -> str:
    """SHA-256 of the file's bytes (hex)."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def cache_dir() -> Path:
    """The folder holding translated models.

    ``$SDKIT_CACHE_DIR`` if set, else ``$XDG_CACHE_HOME/sdkit``, else
    ``~/.cache/sdkit``.
    """
    env = os.environ.get("SDKIT_CACHE_DIR")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".cache"
    return base / "sdkit"


def _parse_error(path: Path, exc: Exception) -> TranslationError:
    """Wrap a parser exception with the file and, where known, line and column."""
    line = getattr(exc, "line", None)
    col = getattr(exc, "column", None)
    if callable(line):
        try:
            line, col = exc.line(), exc.column()
        except Exception:  # noqa: BLE001 - best effort only
            line = col = None
    where = f"line {line}, column {col}: " if line else ""
    msg = str(exc).strip().splitlines()
    first = msg[0] if msg else exc.__class__.__name__
    return TranslationError(f"{path}: {where}cannot translate model: {first}")


def read_abstract_model(path: str | os.PathLike, *, source_path: Path | None = None):
    """Parse a model file into PySD's abstract model.

    Parameters
    ----------
    path : path-like
        The model file to parse.
    source_path : Path, optional
        The user's original path, used in error messages when `path` is a
        cached copy.

    Returns
    -------
    pysd.translators.structures.abstract_model.AbstractModel

    Raises
    ------
    ModelFileError
        The file cannot be read.
    TranslationError
        The file does not parse, or holds nothing but control variables.
    """
    path = Path(path)
    shown = source_path or path
    fmt = model_format(path)
    text = read_model_text(path)
    from .safety import check_model_text

    check_model_text(text, shown, fmt)
    try:
        if fmt == "vensim":
            from pysd.translators.vensim.vensim_file import VensimFile

            vf = VensimFile(path, encoding="utf-8")
            vf.parse()
            abstract = vf.get_abstract_model()
        else:
            from .xmile import read_xmile_abstract

            abstract = read_xmile_abstract(path, source_path=shown)
    except (ModelFileError, TranslationError):
        raise
    except Exception as e:  # PySD raises many types; all mean "cannot translate"
        raise _parse_error(shown, e) from e
    _check_not_empty(abstract, shown)
    if fmt == "vensim":
        _check_control(abstract, shown)
    from .safety import check_abstract_model

    check_abstract_model(abstract, shown)
    return abstract


def _check_not_empty(abstract, shown: Path) -> None:
    names = [
        el.name
        for section in abstract.sections
        for el in section.elements
        if el.name.strip().lower() not in _CONTROL_NAMES
    ]
    if not names:
        raise TranslationError(
            f"{shown}: the model translates to no variables besides the time "
            "settings (an old-format .stmx, or a file with no equations?)"
        )


def _check_control(abstract, shown: Path) -> None:
    """A Vensim model must define its four time settings (PySD fails later without)."""
    defined = {" ".join(el.name.replace("_", " ").split()).lower()
               for el in abstract.sections[0].elements}
    missing = [n.upper() for n in ("initial time", "final time", "time step", "saveper")
               if n not in defined]
    if missing:
        raise TranslationError(
            f"{shown}: the model does not define {', '.join(missing)}; expected an "
            "equation 'NAME = value ~ units ~ comment |' for each time setting"
        )


def build_python(abstract, out_dir: str | os.PathLike, *,
                 source_path: Path | None = None) -> Path:
    """Write the Python module for `abstract` into `out_dir` and return its path.

    Parameters
    ----------
    abstract : AbstractModel
        As returned by :func:`read_abstract_model`.
    out_dir : path-like
        Folder for the generated files (external data references are
        resolved against this folder; see :func:`translate_cached`).
    source_path : Path, optional
        The user's model file, for error messages.

    Raises
    ------
    TranslationError
        PySD cannot build the model.
    UnsafeModelError
        The generated code does something no PySD model does.
    """
    from pysd.builders.python.python_model_builder import ModelBuilder

    out_dir = Path(out_dir)
    for section in abstract.sections:
        section.path = out_dir / section.path.name
    abstract.original_path = out_dir / Path(abstract.original_path).name
    try:
        py_file = Path(ModelBuilder(abstract).build_model())
    except Exception as e:  # noqa: BLE001
        shown = source_path or abstract.original_path.name
        what = f"undefined name {e}" if isinstance(e, KeyError) else f"{type(e).__name__}: {e}"
        raise TranslationError(f"{shown}: cannot translate model: {what}") from e
    from .safety import check_generated_code

    for section in abstract.sections:
        if Path(section.path).is_file():
            check_generated_code(section.path, source_path or Path(abstract.original_path))
    return py_file


def _link_siblings(source_dir: Path, work: Path) -> None:
    """Make the model's folder visible from the cache folder.

    External data (GET XLS DATA, GET DIRECT SUBSCRIPT, ...) are named
    relative to the model file; a symlink per entry of the user's folder lets
    PySD find them from the cache without copying or writing anything there.
    """
    for entry in source_dir.iterdir():
        if entry.suffix.lower() in MODEL_FORMATS or entry.suffix == ".py":
            continue
        target = work / entry.name
        if not target.exists():
            try:
                target.symlink_to(entry.resolve())
            except OSError:  # e.g. a filesystem without symlinks: data refs fail later
                pass


_SAFE_STEM = re.compile(r"[^A-Za-z0-9_]+")


class CachedTranslation:
    """Paths of one cached translation (plain record, no behaviour)."""

    def __init__(self, folder: Path, py_file: Path, abstract_file: Path, key: str):
        self.folder = folder
        self.py_file = py_file
        self.abstract_file = abstract_file
        self.key = key

    def load_abstract(self):
        """Unpickle the abstract model stored beside the translation."""
        with open(self.abstract_file, "rb") as fh:
            return pickle.load(fh)


def _cache_key(path: Path) -> str:
    import pysd

    h = hashlib.sha256()
    h.update(Path(path).read_bytes())
    h.update(f"|pysd={pysd.__version__}|sdkit-translator={TRANSLATOR_VERSION}".encode())
    # the cache folder links to the model's data files, so the folder is part of the key
    h.update(f"|dir={Path(path).resolve().parent}".encode())
    return h.hexdigest()[:24]


def translate_cached(path: str | os.PathLike) -> CachedTranslation:
    """Translate `path` through the cache and return where the results live.

    The model file is copied into a fresh folder, translated there, and the
    folder renamed into the cache under the content hash, so concurrent
    loads of the same model never see a half-written entry.

    Raises
    ------
    ModelFileError, TranslationError
        As :func:`read_abstract_model`.
    """
    path = Path(path)
    model_format(path)
    read_model_text(path)  # clear errors before hashing
    key = _cache_key(path)
    stem = _SAFE_STEM.sub("_", path.stem) or "model"
    root = cache_dir()
    folder = root / key
    py_file = folder / f"{stem}.py"
    abstract_file = folder / "abstract.pkl"
    if py_file.exists() and abstract_file.exists():
        return CachedTranslation(folder, py_file, abstract_file, key)
    root.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{key}.", dir=root))
    try:
        copy = work / f"{stem}{path.suffix.lower()}"
        shutil.copyfile(path, copy)
        _link_siblings(path.resolve().parent, work)
        abstract = read_abstract_model(copy, source_path=path)
        with open(work / "abstract.pkl", "wb") as fh:
            pickle.dump(abstract, fh)
        build_python(abstract, work, source_path=path)
        try:
            os.rename(work, folder)
        except OSError:
            if not (py_file.exists() and abstract_file.exists()):  # not a lost race
                shutil.rmtree(folder, ignore_errors=True)
                os.rename(work, folder)
    finally:
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)
    return CachedTranslation(folder, py_file, abstract_file, key)
