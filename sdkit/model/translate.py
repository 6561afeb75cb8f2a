"""From a Vensim/XMILE file to PySD's abstract model and on to cached Python.

The pipeline is PySD's own (``translators`` → ``AbstractModel`` →
``builders.python``), run so that nothing is ever written beside the user's
model and nothing from the model's folder reaches the code sdkit imports:

1. :func:`read_abstract_model` decodes the file once, checks it, and hands
   PySD's parser exactly that text, with the parser's ``eval`` replaced by a
   literal evaluator (:func:`sdkit.model.safety.pysd_parser_without_eval`).
2. :func:`build_python` writes the Python module and checks it against the
   structural allow-list of :mod:`sdkit.model.codecheck`.
3. :func:`translate_cached` does both inside the cache (:mod:`sdkit.model.cache`):
   the entry's name covers the model's bytes, the PySD and sdkit versions,
   the model's folder and the bytes of every data file the model declares
   (``GET DIRECT DATA``, ``GET XLS ...``, ``GET DIRECT SUBSCRIPT``); those
   files are copied into the entry, never linked, and the generated code
   points at the copies. A load from the cache checks the entry against its
   manifest and the generated code against the allow-list again.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import sys
import tempfile
import threading
import warnings
from contextlib import contextmanager
from pathlib import Path

from sdkit.errors import (
    ModelFileError,
    TranslationError,
    UnsafeModelError,
    UnsupportedConstructError,
)
from sdkit.io.textfile import read_text_file
from sdkit.model.codecheck import check_generated_file
from sdkit.model.inputs import walk_syntax
from sdkit.model.names import canonical
from sdkit.model.safety import check_abstract_model, check_model_text, pysd_parser_without_eval
from sdkit.model.xmile import read_xmile_abstract

__all__ = [
    "MODEL_FORMATS",
    "TRANSLATOR_VERSION",
    "model_format",
    "read_model_text",
    "file_hash",
    "read_abstract_model",
    "build_python",
    "importing_without_bytecode",
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
TRANSLATOR_VERSION = "5"  # 5: XMILE <range> read as limits

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
    return read_text_file(path, error=ModelFileError, what="model file", missing="no such file")


def file_hash(path: str | os.PathLike) -> str:
    """SHA-256 of the file's bytes (hex)."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


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
    # universal newlines, as PySD's own text-mode read gives them
    text = read_model_text(path).replace("\r\n", "\n").replace("\r", "\n")
    check_model_text(text, shown, fmt)
    with pysd_parser_without_eval() as guard:
        try:
            if fmt == "vensim":
                vf = _vensim_file(path, text)
                vf.parse()
                abstract = vf.get_abstract_model()
            else:
                abstract = read_xmile_abstract(path, source_path=shown)
        except (ModelFileError, TranslationError):
            raise
        except Exception as e:  # PySD raises many types; all mean "cannot translate"
            if guard.refused:
                bad = guard.refused[0]
                line = text.find(bad.strip()[:30])
                at = f"line {text.count(chr(10), 0, line) + 1}: " if line >= 0 else ""
                raise UnsafeModelError(
                    f"{shown}: {at}PySD's parser would evaluate {bad[:60]!r} as Python; "
                    "expected a number, a numeric lookup range or a quoted string"
                ) from None
            raise _parse_error(shown, e) from e
    _check_not_empty(abstract, shown)
    if fmt == "vensim":
        _check_control(abstract, shown)
    _check_element_names(abstract, shown)
    check_abstract_model(abstract, shown)
    return abstract


def _vensim_file(path: Path, text: str):
    """PySD's VensimFile over `text` (the decoded, checked text), not a second read."""
    from pysd.translators.vensim.vensim_file import VensimFile  # heavy: only when parsing

    class _CheckedText(VensimFile):
        def _read(self, encoding):  # noqa: ARG002 - the text is already decoded
            return text

    return _CheckedText(path)


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


_ELEMENT_CHARS = re.compile(r"[\[\],]")


def _check_element_names(abstract, shown: Path) -> None:
    """Subscript elements must be writable as ``Name[elem,elem]`` (no ``[``, ``]``, ``,``)."""
    for section in abstract.sections:
        for rng in section.subscripts:
            if not isinstance(rng.subscripts, list):
                continue
            for elem in rng.subscripts:
                if _ELEMENT_CHARS.search(str(elem)):
                    text = str(elem) if len(str(elem)) <= 60 else str(elem)[:57] + "..."
                    raise UnsupportedConstructError(
                        f"{shown}: subscript range {rng.name!r}: element {text!r} holds "
                        "'[', ']' or ','; sdkit names one element as Name[elem,elem], so "
                        "element names cannot contain these characters")


def _unimplemented_functions(abstract, caught: list[warnings.WarningMessage],
                             shown: Path) -> None:
    """Turn PySD's "not implemented" build warnings into one clear refusal."""
    names = []
    for w in caught:
        m = re.search(r"Trying to translate '([^']*)' which it is not implemented", str(w.message))
        if m:
            names.append(m.group(1))
    if not names:
        return
    wanted = {n.lower() for n in names}
    users = []
    for section in abstract.sections:
        for el in section.elements:
            for comp in el.components:
                for node in walk_syntax(comp.ast):
                    fn = getattr(node, "function", None)
                    fn = getattr(fn, "reference", fn)
                    if isinstance(fn, str) and fn.lower() in wanted:
                        users.append(el.name)
    where = f"variable {users[0]!r}: " if users else ""
    raise UnsupportedConstructError(
        f"{shown}: {where}function {names[0]!r} is not supported (PySD cannot translate it); "
        "expected a Vensim/XMILE built-in PySD implements")


def _check_control(abstract, shown: Path) -> None:
    """A Vensim model must define its four time settings (PySD fails later without)."""
    defined = {canonical(el.name) for el in abstract.sections[0].elements}
    missing = [n.upper() for n in ("initial time", "final time", "time step", "saveper")
               if n not in defined]
    if missing:
        raise TranslationError(
            f"{shown}: the model does not define {', '.join(missing)}; expected an "
            "equation 'NAME = value ~ units ~ comment |' for each time setting"
        )


def build_python(abstract, out_dir: str | os.PathLike, *, source_path: Path | None = None,
                 trusted: bool = False) -> Path:
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
    trusted : bool, default False
        Skip the structural check of the generated code (only for models
        whose author you trust).

    Raises
    ------
    TranslationError
        PySD cannot build the model.
    UnsafeModelError
        The generated code holds something PySD's builder never writes.
    """
    out_dir = Path(out_dir)
    for section in abstract.sections:
        section.path = out_dir / section.path.name
    abstract.original_path = out_dir / Path(abstract.original_path).name
    shown = source_path or Path(abstract.original_path)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            from pysd.builders.python.python_model_builder import (  # heavy: scipy, black
                ModelBuilder,
            )

            py_file = Path(ModelBuilder(abstract).build_model())
    except Exception as e:  # noqa: BLE001
        what = f"undefined name {e}" if isinstance(e, KeyError) else f"{type(e).__name__}: {e}"
        raise TranslationError(f"{shown}: cannot translate model: {what}") from e
    _unimplemented_functions(abstract, caught, shown)
    if not trusted:
        for py in sorted(out_dir.rglob("*.py")):
            check_generated_file(py, shown)
    return py_file


_NO_BYTECODE = threading.RLock()  # the two settings below are the whole process's


@contextmanager
def importing_without_bytecode():
    """Import generated modules from source only: no ``.pyc`` is read or written.

    ``sys.dont_write_bytecode`` stops writing. ``sys.pycache_prefix`` points at
    a new empty private folder, so Python looks for bytecode only there and
    never reads a ``__pycache__/*.pyc`` that appears beside the generated module
    after sdkit checked the entry. Both are restored on exit (under a lock, so
    concurrent loads never restore each other's folder); the folder is removed.
    """
    with _NO_BYTECODE:
        saved = sys.dont_write_bytecode, sys.pycache_prefix
        empty = tempfile.mkdtemp(prefix="sdkit-no-bytecode-")  # mode 0700, ours
        sys.dont_write_bytecode, sys.pycache_prefix = True, empty
        try:
            yield
        finally:
            sys.dont_write_bytecode, sys.pycache_prefix = saved
            shutil.rmtree(empty, ignore_errors=True)
