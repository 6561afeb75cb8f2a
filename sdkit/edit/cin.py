"""Vensim changes files (``.cin``): read, write and merge parameter changes.

A ``.cin`` file holds one change per line::

    { fitted by sdkit calibrate, 2026-11-29 }
    Room Temperature = 20
    Capacity[Yichang] = 1.5e+06   : one subscript element
    : a comment line

Blank lines are ignored; ``:`` starts a comment that runs to the end of the
line and ``{ ... }`` comments may span lines. Later files win over earlier
ones and ``--set`` wins over every file (see :func:`merge_changes`).
"""

from __future__ import annotations

import difflib
import math
import os
import re
import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path

from sdkit.errors import SdkitWarning, SpecError, UnknownVariableError
from sdkit.io.files import atomic_write_text
from sdkit.io.textfile import read_text_file
from sdkit.model.load import Model
from sdkit.model.names import canonical, canonical_key, split_subscripted
from sdkit.model.timesettings import (
    MODEL_NAMES,
    check_time_settings,
    check_time_value,
    time_setting_name,
)

__all__ = ["read_cin", "write_cin", "merge_changes"]


def _tidy_key(name: str) -> str:
    """``"K [ a ,b ]"`` -> ``"K[a,b]"``: the user's spelling, spaces tidied."""
    base, sep, rest = name.partition("[")
    base = " ".join(base.split())
    if not sep:
        return base
    elems = [" ".join(e.split()) for e in rest.rstrip().rstrip("]").split(",")]
    return f"{base}[{','.join(elems)}]"

_NAME = re.compile(r"^[^\[\]=:{}\"\n]+(\[[^\[\]=:{}\n]+\])?$")


def _strip_comments(text: str, path: Path) -> list[tuple[int, str]]:
    """Return (line number, content) pairs with ``{}`` and ``:`` comments removed."""
    out: list[tuple[int, str]] = []
    depth_start: int | None = None  # line where an open { comment began
    for lineno, raw in enumerate(text.splitlines(), start=1):
        kept = []
        for ch in raw:
            if depth_start is not None:
                if ch == "}":
                    depth_start = None
                continue
            if ch == "{":
                depth_start = lineno
                continue
            if ch == "}":
                raise SpecError(f"{path}: line {lineno}: '}}' without an opening '{{'")
            kept.append(ch)
        line = "".join(kept)
        line = line.split(":", 1)[0]  # ':' comments run to the end of the line
        out.append((lineno, line))
    if depth_start is not None:
        raise SpecError(f"{path}: line {depth_start}: '{{' comment is never closed")
    return out


def _entries(path: Path) -> dict[str, tuple[float, int]]:
    """``{name: (value, line)}`` of a changes file, checked line by line (see :func:`read_cin`)."""
    text = read_text_file(path, error=SpecError, what="changes file", empty_ok=True,
                          missing="changes file not found")
    values: dict[str, tuple[float, int]] = {}
    seen: dict[str, int] = {}
    for lineno, line in _strip_comments(text, path):
        if not line.strip():
            continue
        name, sep, value = line.partition("=")
        name, value = name.strip(), value.strip()
        if not sep or not name or not value:
            raise SpecError(f"{path}: line {lineno}: expected 'name = value', got {line.strip()!r}")
        if not _NAME.match(name):
            raise SpecError(f"{path}: line {lineno}: invalid variable name {name!r}")
        try:
            number = float(value)
        except ValueError:
            raise SpecError(f"{path}: line {lineno}: value of {name!r} must be a number: "
                            f"{value!r}") from None
        if not math.isfinite(number):
            raise SpecError(f"{path}: line {lineno}: value of {name!r} must be finite: {value!r}")
        key = canonical_key(name)
        if key in seen:
            raise SpecError(f"{path}: line {lineno}: {name!r} is set twice "
                            f"(first on line {seen[key]})")
        seen[key] = lineno
        values[_tidy_key(name)] = (number, lineno)
        _check_time_setting(name, number, where=f"{path}: line {lineno}")
    return values


def read_cin(path: str | os.PathLike) -> dict[str, float]:
    """Read a Vensim changes file into ``{name: value}``.

    Parameters
    ----------
    path : path-like
        The ``.cin`` file (UTF-8 text).

    Returns
    -------
    dict
        Names as written (spaces collapsed; subscripts as ``Name[a,b]``),
        in file order, mapped to finite floats.

    Raises
    ------
    SpecError
        Unreadable file; a line that is not ``name = value``; a value that is
        not a finite number; the same name twice (names compare without case,
        see :func:`sdkit.model.names.canonical_key`); a TIME STEP or SAVEPER that is not > 0, or a
        FINAL TIME before the INITIAL TIME (see :mod:`sdkit.model.timesettings`).
        Messages name the file and line.

    Warns
    -----
    SdkitWarning
        The file holds no changes (empty, blank or only comments). As in
        Vensim, an empty changes file changes nothing: ``{}`` is returned.

    Examples
    --------
    >>> read_cin("calibration/fitted.cin")  # doctest: +SKIP
    {'Room Temperature': 20.0}
    """
    path = Path(path)
    values = {name: number for name, (number, _) in _entries(path).items()}
    times = {time_setting_name(k): v for k, v in values.items() if time_setting_name(k)}
    check_time_settings(times.get("INITIAL TIME"), times.get("FINAL TIME"), None, None,
                        where=str(path), names=MODEL_NAMES, error=SpecError)
    if not values:  # as Vensim: a changes file without changes changes nothing
        warnings.warn(f"{path}: changes file holds no changes; nothing is changed",
                      SdkitWarning, stacklevel=2)
    return values


def check_changes(model: Model, files: Iterable[str | os.PathLike] | None) -> None:
    """Every name the changes `files` set is a variable of `model`, with its elements.

    Run before a run, so that a typo in a ``.cin`` file is reported where it
    is (the file and line), not as a parameter of the model.

    Raises
    ------
    UnknownVariableError
        ``<file>: line <n>: no variable named 'X'; did you mean ...? (in <model>)``,
        or an element that is not one of its dimension's.
    SpecError
        A file that :func:`read_cin` refuses.
    """
    for path in files or []:
        for name, (_, lineno) in _entries(Path(path)).items():
            problem = _not_in_model(model, name)
            if problem:
                raise UnknownVariableError(f"{path}: line {lineno}: {problem} (in {model.path})")


def _not_in_model(model: Model, name: str) -> str:
    """Why `name` (``Var`` or ``Var[a,b]``) is not settable in `model`, or ``""``."""
    base, elems = split_subscripted(name)
    if time_setting_name(base):
        return ""
    try:
        dims = model.dims_of(base)
    except UnknownVariableError as e:
        return str(e).removeprefix(f"{model.path}: ")
    if not elems:
        return ""
    if len(elems) != len(dims):
        return f"{base!r} has {len(dims)} subscript(s) {dims}, not {len(elems)}"
    for dim, elem in zip(dims, elems):
        known = model.subscripts[dim]
        if canonical(elem) not in {canonical(k) for k in known}:
            close = difflib.get_close_matches(elem, known, n=3)
            hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
            return (f"{elem!r} is not an element of {dim!r} of {base!r} "
                    f"(elements: {', '.join(known)}){hint}")
    return ""


def _check_time_setting(name: str, value: float, *, where: str) -> None:
    """A changes file may set a time setting; TIME STEP and SAVEPER must be > 0."""
    setting = time_setting_name(name)
    if setting:
        check_time_value(setting, value, positive=setting in ("TIME STEP", "SAVEPER"),
                         where=where, error=SpecError)


def _format_value(value: float) -> str:
    return repr(float(value))


def write_cin(path: str | os.PathLike, values: Mapping[str, float], *,
              header: str | None = None, overwrite: bool = False) -> Path:
    """Write ``{name: value}`` as a Vensim changes file, atomically.

    Parameters
    ----------
    path : path-like
        Target ``.cin`` file.
    values : mapping
        Names (``Name`` or ``Name[elem]``) to finite numbers.
    header : str, optional
        Text written first as a ``{ ... }`` comment (may span lines; must not
        contain braces).
    overwrite : bool, default False
        Replace `path` if it exists.

    Returns
    -------
    Path

    Raises
    ------
    SpecError
        A name that cannot be written (``=``, ``:``, braces, newlines), a
        non-finite value, the same name twice, or braces in `header`.
    OutputError
        `path` exists and `overwrite` is False.
    """
    path = Path(path)
    lines: list[str] = []
    if header is not None:
        if "{" in header or "}" in header:
            raise SpecError(f"{path}: header must not contain braces: {header!r}")
        lines.append("{ " + header.strip() + " }")
    seen: set[str] = set()
    for name, value in values.items():
        text = _tidy_key(str(name))
        if not text or not _NAME.match(text):
            raise SpecError(f"{path}: cannot write variable name {name!r}")
        key = canonical_key(text)
        if key in seen:
            raise SpecError(f"{path}: {name!r} is given twice")
        seen.add(key)
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise SpecError(f"{path}: value of {name!r} must be a number: {value!r}") from None
        if isinstance(value, bool) or not math.isfinite(number):
            raise SpecError(f"{path}: value of {name!r} must be a finite number: {value!r}")
        lines.append(f"{text} = {_format_value(number)}")
    return atomic_write_text(path, "\n".join(lines) + "\n", overwrite=overwrite)


def merge_changes(files: Iterable[str | os.PathLike] | None = None,
                  sets: Mapping[str, object] | None = None) -> dict[str, object]:
    """Merge changes files and explicit settings into one params dict.

    Parameters
    ----------
    files : iterable of path-like, optional
        ``.cin`` files, applied in order: a later file wins over an earlier one.
    sets : mapping, optional
        Explicit ``{name: value}`` settings (e.g. from ``--set``); they win
        over every file. Values are passed through unchanged.

    Returns
    -------
    dict
        A new dict; when two spellings of one name meet (see
        :func:`sdkit.model.names.canonical_key`), the winning spelling and value are kept.
    """
    merged: dict[str, tuple[str, object]] = {}
    for path in files or []:
        for name, value in read_cin(path).items():
            merged[canonical_key(name)] = (name, value)
    for name, value in (sets or {}).items():
        merged[canonical_key(name)] = (name, value)
    return {name: value for name, value in merged.values()}
