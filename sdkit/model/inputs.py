"""The data files a model declares, read, hashed and copied into its cache entry.

Vensim's ``GET DIRECT ...``/``GET XLS ...`` functions and ``GET DIRECT
SUBSCRIPT`` name files relative to the model. sdkit reads exactly those
files (a regular file each, or a clear error naming it), puts their hashes
into the cache key and copies them into the entry under ``_inputs/``; the
abstract model is pointed at the copies, so the generated code never reads
from the model's folder.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import stat
from pathlib import Path

from sdkit.errors import ModelFileError
from sdkit.model.cache import sha256_bytes
from sdkit.model.codecheck import INPUTS_FOLDER

__all__ = ["declared_inputs", "inputs_key", "copy_inputs", "walk_syntax", "data_without_source",
           "check_data_files", "DATA_FILE_SUFFIXES"]

#: the data-file formats PySD reads for data variables that name no source
DATA_FILE_SUFFIXES = (".tab", ".csv")

_SAFE_NAME = re.compile(r"[^A-Za-z0-9_.-]+")


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
                for node in walk_syntax(comp.ast):
                    file = getattr(node, "file", None)
                    if isinstance(file, str):
                        seen[file] = None
    return list(seen)


def data_without_source(abstract) -> list[str]:
    """Data variables that name no file (``x :INTERPOLATE:``); they need ``data_files``.

    Vensim fills them from a dataset loaded beside the run (often the output
    another model wrote); PySD from the ``.tab``/``.csv`` files it is given.
    """
    names = []
    for section in abstract.sections:
        for el in section.elements:
            if any(c.type == "Data" and type(c.ast).__name__ == "DataStructure"
                   for c in el.components):
                names.append(el.name)
    return names


def check_data_files(model: Path, files) -> tuple[Path, ...]:
    """The data files a caller declares for `model`: each a regular ``.tab``/``.csv`` file.

    Raises
    ------
    ModelFileError
        A file that is missing, not a regular file, or of another format.
    """
    if files is None:
        return ()
    if isinstance(files, str | Path):
        files = [files]
    out = []
    for f in files:
        path = Path(f)
        if path.suffix.lower() not in DATA_FILE_SUFFIXES:
            raise ModelFileError(f"{path}: data file for {model.name}: expected a "
                                 f"{' or '.join(DATA_FILE_SUFFIXES)} file")
        try:
            st = path.stat()
        except OSError:
            raise ModelFileError(f"{path}: data file for {model.name}: no such file") from None
        if not stat.S_ISREG(st.st_mode):
            raise ModelFileError(f"{path}: data file for {model.name}: not a regular file")
        out.append(path.resolve())
    return tuple(out)


def walk_syntax(node):
    if dataclasses.is_dataclass(node) and not isinstance(node, type):
        yield node
        for f in dataclasses.fields(node):
            yield from walk_syntax(getattr(node, f.name))
    elif isinstance(node, list | tuple):
        for item in node:
            yield from walk_syntax(item)


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


def inputs_key(model: Path, declared: list[str]) -> tuple[list[_Input], str]:
    inputs = [_Input(d, sha256_bytes(_read_input(model, d))) for d in declared]
    h = hashlib.sha256()
    for inp in inputs:
        h.update(f"|{inp.declared}={inp.sha256}".encode())
    return inputs, h.hexdigest()


def copy_inputs(model: Path, abstract, work: Path) -> dict[str, str]:
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
                for node in walk_syntax(comp.ast):
                    if isinstance(getattr(node, "file", None), str):
                        node.file = copies[node.file]
    return copies
