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

import dataclasses
import hashlib
import json
import os
import re
import shutil
import stat
import sys
import tempfile
import warnings
from contextlib import contextmanager
from pathlib import Path

from sdkit.errors import (
    CacheError,
    ModelFileError,
    TranslationError,
    UnsafeModelError,
    UnsupportedConstructError,
)
from sdkit.io.textfile import read_checked_bytes
from sdkit.model.cache import (
    cache_dir,
    cache_root,
    check_private,
    dump_abstract,
    load_abstract,
    sha256_bytes,
    verify_entry,
    write_manifest,
)
from sdkit.model.codecheck import INPUTS_FOLDER, check_generated_file

__all__ = [
    "MODEL_FORMATS",
    "model_format",
    "read_model_text",
    "file_hash",
    "cache_dir",
    "declared_inputs",
    "importing_without_bytecode",
    "read_abstract_model",
    "build_python",
    "translate_cached",
    "CachedTranslation",
    "verify_translation",
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
TRANSLATOR_VERSION = "4"

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
    from sdkit.io.textfile import read_text_file

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
    from sdkit.model.safety import check_model_text, pysd_parser_without_eval

    check_model_text(text, shown, fmt)
    with pysd_parser_without_eval() as guard:
        try:
            if fmt == "vensim":
                vf = _vensim_file(path, text)
                vf.parse()
                abstract = vf.get_abstract_model()
            else:
                from sdkit.model.xmile import read_xmile_abstract

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
    from sdkit.model.safety import check_abstract_model

    check_abstract_model(abstract, shown)
    return abstract


def _vensim_file(path: Path, text: str):
    """PySD's VensimFile over `text` (the decoded, checked text), not a second read."""
    from pysd.translators.vensim.vensim_file import VensimFile

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
                for node in _walk(comp.ast):
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
    defined = {" ".join(el.name.replace("_", " ").split()).lower()
               for el in abstract.sections[0].elements}
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
    from pysd.builders.python.python_model_builder import ModelBuilder

    out_dir = Path(out_dir)
    for section in abstract.sections:
        section.path = out_dir / section.path.name
    abstract.original_path = out_dir / Path(abstract.original_path).name
    shown = source_path or Path(abstract.original_path)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            py_file = Path(ModelBuilder(abstract).build_model())
    except Exception as e:  # noqa: BLE001
        what = f"undefined name {e}" if isinstance(e, KeyError) else f"{type(e).__name__}: {e}"
        raise TranslationError(f"{shown}: cannot translate model: {what}") from e
    _unimplemented_functions(abstract, caught, shown)
    if not trusted:
        for py in sorted(out_dir.rglob("*.py")):
            check_generated_file(py, shown)
    return py_file


# -- declared external inputs ---------------------------------------------------
@dataclasses.dataclass(frozen=True)
class _Input:
    declared: str  # as written in the model
    sha256: str


def declared_inputs(abstract) -> list[str]:
    """Every data file the model names (GET DIRECT/XLS ..., GET DIRECT SUBSCRIPT), in order."""
    seen: dict[str, None] = {}
    for section in abstract.sections:
        for rng in section.subscripts:
            if isinstance(rng.subscripts, dict) and isinstance(rng.subscripts.get("file"), str):
                seen[rng.subscripts["file"]] = None
        for el in section.elements:
            for comp in el.components:
                for node in _walk(comp.ast):
                    file = getattr(node, "file", None)
                    if isinstance(file, str):
                        seen[file] = None
    return list(seen)


def _walk(node):
    if dataclasses.is_dataclass(node) and not isinstance(node, type):
        yield node
        for f in dataclasses.fields(node):
            yield from _walk(getattr(node, f.name))
    elif isinstance(node, list | tuple):
        for item in node:
            yield from _walk(item)


def _input_path(model: Path, declared: str) -> Path:
    return (model.resolve().parent / declared.strip()).resolve()


def _read_input(model: Path, declared: str) -> bytes:
    """The bytes of one declared data file; a clear error if it is not a readable file."""
    target = _input_path(model, declared)
    try:
        st = target.stat()
    except OSError:
        raise ModelFileError(f"{model}: the model reads {declared!r}, which is not in "
                             f"{model.resolve().parent} (expected a data file there)") from None
    if not stat.S_ISREG(st.st_mode):
        raise ModelFileError(f"{model}: the model reads {declared!r}, which is not a "
                             "regular file")
    try:
        return target.read_bytes()
    except OSError as e:
        raise ModelFileError(f"{model}: cannot read {declared!r}: {e.strerror}") from None


def _inputs_key(model: Path, declared: list[str]) -> tuple[list[_Input], str]:
    inputs = [_Input(d, sha256_bytes(_read_input(model, d))) for d in declared]
    h = hashlib.sha256()
    for inp in inputs:
        h.update(f"|{inp.declared}={inp.sha256}".encode())
    return inputs, h.hexdigest()


def _copy_inputs(model: Path, abstract, work: Path) -> dict[str, str]:
    """Copy the declared files into the entry and point the abstract model at the copies."""
    copies: dict[str, str] = {}
    for n, declared in enumerate(declared_inputs(abstract)):
        safe = _SAFE_NAME.sub("_", Path(declared.strip()).name) or "input"
        rel = f"{INPUTS_FOLDER}/{n}_{safe}"
        (work / INPUTS_FOLDER).mkdir(mode=0o700, exist_ok=True)
        with open(work / rel, "xb") as fh:
            fh.write(_read_input(model, declared))
        copies[declared] = rel
    for section in abstract.sections:
        for rng in section.subscripts:
            if isinstance(rng.subscripts, dict) and rng.subscripts.get("file") in copies:
                rng.subscripts["file"] = copies[rng.subscripts["file"]]
        for el in section.elements:
            for comp in el.components:
                for node in _walk(comp.ast):
                    if isinstance(getattr(node, "file", None), str):
                        node.file = copies[node.file]
    return copies


# -- the cache --------------------------------------------------------------------
_SAFE_STEM = re.compile(r"[^A-Za-z0-9_]+")
_SAFE_NAME = re.compile(r"[^A-Za-z0-9_.-]+")


class CachedTranslation:
    """Paths of one verified cache entry (plain record, no behaviour)."""

    def __init__(self, folder: Path, py_file: Path, abstract_file: Path, key: str):
        self.folder = folder
        self.py_file = py_file
        self.abstract_file = abstract_file
        self.key = key

    def load_abstract(self):
        """The abstract model stored in the entry (read without running code)."""
        return load_abstract(self.abstract_file)


def _model_key(data: bytes, path: Path) -> str:
    import pysd

    h = hashlib.sha256(data)
    h.update(f"|pysd={pysd.__version__}|sdkit-translator={TRANSLATOR_VERSION}".encode())
    # data files are named relative to the model, so its folder is part of the key
    h.update(f"|dir={path.resolve().parent}".encode())
    return h.hexdigest()[:24]


def _index_file(root: Path, model_key: str) -> Path:
    return root / f"{model_key}.inputs.json"


def _read_index(root: Path, model_key: str) -> list[str] | None:
    """The data files a model declared when it was last translated (None if unknown)."""
    file = _index_file(root, model_key)
    try:
        st = file.lstat()
    except FileNotFoundError:
        return None
    if not stat.S_ISREG(st.st_mode):
        raise CacheError(f"{file}: not a regular file; delete it")
    check_private(file, what="cache index file", st=st)
    try:
        declared = json.loads(file.read_text(encoding="utf-8"))
    except ValueError:
        return None
    if not (isinstance(declared, list) and all(isinstance(d, str) for d in declared)):
        return None
    return declared


def _write_index(root: Path, model_key: str, declared: list[str]) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{model_key}.", suffix=".tmp", dir=root)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(declared, fh)
        os.replace(tmp, _index_file(root, model_key))
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _open_entry(folder: Path, path: Path, trusted: bool) -> CachedTranslation:
    meta = verify_entry(folder)
    py_file = folder / str(meta.get("py_file", ""))
    abstract_file = folder / "abstract.pkl"
    if not (py_file.is_file() and abstract_file.is_file()) or py_file.parent != folder:
        raise CacheError(f"{folder}: cache entry is incomplete; delete the folder to "
                         "translate the model again")
    if not trusted:
        for py in sorted(folder.rglob("*.py")):
            check_generated_file(py, path)
    return CachedTranslation(folder, py_file, abstract_file, folder.name)


def verify_translation(translation: CachedTranslation, path: Path, *,
                       trusted: bool = False) -> None:
    """Check an entry again (before PySD re-imports its module)."""
    _open_entry(translation.folder, path, trusted)


def translate_cached(path: str | os.PathLike, *, trusted: bool = False) -> CachedTranslation:
    """Translate `path` through the cache and return the verified entry.

    The entry is built in a private temporary folder and renamed into the
    cache whole, so concurrent loads never see half an entry.

    Parameters
    ----------
    path : path-like
        The model file.
    trusted : bool, default False
        Skip the structural check of the generated code (it still runs
        nothing from the model's folder).

    Raises
    ------
    ModelFileError, TranslationError
        As :func:`read_abstract_model`; a declared data file is missing.
    UnsafeModelError
        Model text that would reach code.
    CacheError
        The cache folder is unusable or an entry was changed.
    """
    path = Path(path)
    model_format(path)
    data = read_checked_bytes(path, error=ModelFileError, what="model file",
                              missing="no such file")
    read_model_text(path)  # clear errors for text that is not UTF-8
    root = cache_root()
    model_key = _model_key(data, path)
    declared = _read_index(root, model_key)
    if declared is not None:
        folder = root / f"{model_key}-{_inputs_key(path, declared)[1][:16]}"
        if folder.is_dir():
            return _open_entry(folder, path, trusted)
    try:
        return _translate_into(root, path, model_key, trusted)
    except OSError as e:
        if isinstance(e, ModelFileError | CacheError):
            raise
        raise CacheError(f"{root}: cannot write the translation cache ({e.strerror or e}); "
                         "free some space or set SDKIT_CACHE_DIR") from None


def _translate_into(root: Path, path: Path, model_key: str, trusted: bool) -> CachedTranslation:
    stem = _SAFE_STEM.sub("_", path.stem) or "model"
    work = Path(tempfile.mkdtemp(prefix=f".{model_key}.", dir=root))  # mode 0700
    try:
        copy = work / f"{stem}{path.suffix.lower()}"
        with open(copy, "x", encoding="utf-8", newline="") as fh:
            fh.write(read_model_text(path))  # the decoded text: no BOM, one encoding
        abstract = read_abstract_model(copy, source_path=path)
        declared = declared_inputs(abstract)
        _write_index(root, model_key, declared)
        folder = root / f"{model_key}-{_inputs_key(path, declared)[1][:16]}"
        if folder.is_dir():
            return _open_entry(folder, path, trusted)
        _copy_inputs(path, abstract, work)
        py_file = build_python(abstract, work, source_path=path, trusted=trusted)
        dump_abstract(abstract, work / "abstract.pkl")
        write_manifest(work, {"py_file": py_file.name, "model": path.name,
                              "inputs": declared})
        try:
            os.rename(work, folder)
        except OSError:
            if not folder.is_dir():
                raise
        return _open_entry(folder, path, trusted)
    finally:
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)


@contextmanager
def importing_without_bytecode():
    """Import generated modules from source only: no ``.pyc`` is read or written."""
    saved = sys.dont_write_bytecode
    sys.dont_write_bytecode = True
    try:
        yield
    finally:
        sys.dont_write_bytecode = saved
