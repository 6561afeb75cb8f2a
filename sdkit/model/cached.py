"""The front door to the translation cache: :func:`translate_cached`.

An entry's name covers the model's bytes, the PySD and sdkit versions, the
model's folder and the bytes of every declared data file
(:mod:`sdkit.model.inputs`). A model's declared files are remembered in a
small index beside the entries, so a later load can compute the entry's
name without parsing. Every load, hit or miss, checks the entry against its
manifest (:mod:`sdkit.model.cache`) and, unless the model is trusted, the
generated code against the allow-list (:mod:`sdkit.model.codecheck`).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
from pathlib import Path

import pysd

from sdkit.errors import CacheError, ModelFileError
from sdkit.io.textfile import read_checked_bytes
from sdkit.model.cache import (
    cache_root,
    dump_abstract,
    load_abstract,
    verify_entry,
    write_manifest,
)
from sdkit.model.codecheck import check_generated_file
from sdkit.model.derived import read_private_json, write_private_json
from sdkit.model.inputs import copy_inputs, declared_inputs, inputs_key
from sdkit.model.translate import (
    TRANSLATOR_VERSION,
    build_python,
    model_format,
    read_abstract_model,
    read_model_text,
)

__all__ = ["CachedTranslation", "translate_cached", "verify_translation"]

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


    h = hashlib.sha256(data)
    h.update(f"|pysd={pysd.__version__}|sdkit-translator={TRANSLATOR_VERSION}".encode())
    # data files are named relative to the model, so its folder is part of the key
    h.update(f"|dir={path.resolve().parent}".encode())
    return h.hexdigest()[:24]


def _index_file(root: Path, model_key: str) -> Path:
    return root / f"{model_key}.inputs.json"


def _read_index(root: Path, model_key: str) -> list[str] | None:
    """The data files a model declared when it was last translated (None if unknown)."""
    declared = read_private_json(_index_file(root, model_key), what="cache index file")
    if not (isinstance(declared, list) and all(isinstance(d, str) for d in declared)):
        return None
    return declared


def _write_index(root: Path, model_key: str, declared: list[str]) -> None:
    write_private_json(_index_file(root, model_key), declared)


def _open_entry(folder: Path, path: Path, trusted: bool,
                check_code: bool = True) -> CachedTranslation:
    meta = verify_entry(folder)
    py_file = folder / str(meta.get("py_file", ""))
    abstract_file = folder / "abstract.pkl"
    if not (py_file.is_file() and abstract_file.is_file()) or py_file.parent != folder:
        raise CacheError(f"{folder}: cache entry is incomplete; delete the folder to "
                         "translate the model again")
    if check_code and not trusted:
        for py in sorted(folder.rglob("*.py")):
            check_generated_file(py, path)
    return CachedTranslation(folder, py_file, abstract_file, folder.name)


def verify_translation(translation: CachedTranslation, path: Path, *,
                       trusted: bool = False) -> None:
    """Check an entry again (before PySD re-imports its module)."""
    _open_entry(translation.folder, path, trusted)


def translate_cached(path: str | os.PathLike, *, trusted: bool = False,
                     check_code: bool = True) -> CachedTranslation:
    """Translate `path` through the cache and return the verified entry.

    The entry is built in a private temporary folder and renamed into the
    cache whole, so concurrent loads never see half an entry. Every file of
    an entry is checked against its manifest on every call; with
    `check_code` False, an entry found in the cache skips the structural
    check of its generated code, which :func:`verify_translation` must then
    run right before the code is imported (a new translation's code is
    always checked when :func:`build_python` writes it).

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
        folder = root / f"{model_key}-{inputs_key(path, declared)[1][:16]}"
        if folder.is_dir():
            return _open_entry(folder, path, trusted, check_code)
    try:
        return _translate_into(root, path, model_key, trusted, check_code)
    except OSError as e:
        if isinstance(e, ModelFileError | CacheError):
            raise
        raise CacheError(f"{root}: cannot write the translation cache ({e.strerror or e}); "
                         "free some space or set SDKIT_CACHE_DIR") from None


def _translate_into(root: Path, path: Path, model_key: str, trusted: bool,
                    check_code: bool) -> CachedTranslation:
    stem = _SAFE_STEM.sub("_", path.stem) or "model"
    work = Path(tempfile.mkdtemp(prefix=f".{model_key}.", dir=root))  # mode 0700
    try:
        copy = work / f"{stem}{path.suffix.lower()}"
        with open(copy, "x", encoding="utf-8", newline="") as fh:
            fh.write(read_model_text(path))  # the decoded text: no BOM, one encoding
        abstract = read_abstract_model(copy, source_path=path)
        declared = declared_inputs(abstract)
        _write_index(root, model_key, declared)
        folder = root / f"{model_key}-{inputs_key(path, declared)[1][:16]}"
        if folder.is_dir():
            return _open_entry(folder, path, trusted, check_code)
        copy_inputs(path, abstract, work)
        py_file = build_python(abstract, work, source_path=path, trusted=trusted)
        dump_abstract(abstract, work / "abstract.pkl")
        write_manifest(work, {"py_file": py_file.name, "model": path.name,
                              "inputs": declared})
        try:
            os.rename(work, folder)
        except OSError:
            if not folder.is_dir():
                raise
        return _open_entry(folder, path, trusted, check_code)
    finally:
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)
