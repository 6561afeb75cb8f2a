"""Write-back editing: change constants and lookup tables in a model file.

:func:`edit_model` returns the model's text with only the edited numbers
replaced; every other byte (sketch, comments, formatting, groups, XMILE
views, line endings, encoding) stays as it was, so a ``git diff`` shows only
the edited equations. :func:`save_model` writes that text to a new file or,
keeping a numbered backup, over the original.

Vensim (``.mdl``) and XMILE (``.xmile``/``.xml``/``.stmx``) are both read as
text with small scanners (:mod:`sdkit.edit.mdl_text`, :mod:`sdkit.edit.xmile_text`)
rather than parsed and re-serialised, which would reformat the file.
"""

from __future__ import annotations

import difflib
import math
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from sdkit.edit.mdl_text import edit_mdl, scan_mdl
from sdkit.edit.numbers import format_number
from sdkit.edit.xmile_text import edit_xmile, scan_xmile
from sdkit.errors import InvalidValueError, ModelFileError, UnknownVariableError
from sdkit.io.files import atomic_write_bytes
from sdkit.io.textfile import read_checked_bytes
from sdkit.model.names import canonical, split_subscripted
from sdkit.model.timesettings import MODEL_NAMES, check_time_settings, check_time_value, warn_uneven

__all__ = ["edit_model", "save_model", "backup_path", "model_diff_text", "read_model_text",
           "format_number", "declared_ranges"]

Change = float | Sequence[tuple[float, float]]
_LIMIT = r"\s*([^,\]\s]*)\s*"
_MDL_RANGE = re.compile(rf"\[{_LIMIT},{_LIMIT}(?:,[^\]]*)?\]")
_XMILE_RANGE = re.compile(r"<range\b([^>]*)>")
_XMILE_ATTR = re.compile(r"\b(min|max)\s*=\s*([\"'])(.*?)\2")


def read_model_text(path: str | os.PathLike) -> tuple[str, str]:
    """Return ``(text, encoding)`` of a model file, with line endings untouched.

    UTF-8 is tried first (a byte-order mark is kept as a character, so it is
    written back); files that are not UTF-8 are read as Latin-1, which maps
    every byte to one character and back.
    """
    data = read_checked_bytes(path, error=ModelFileError, what="model file",
                              missing="no such file")
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return data.decode("latin-1"), "latin-1"


def _check_change(path: Path, name: str, value: object) -> float | list[tuple[float, float]]:
    what = f"{path}: new value of {name!r}"
    if isinstance(value, bool):
        raise InvalidValueError(f"{what} must be a number or a list of (x, y) points: {value!r}")
    if isinstance(value, int | float) or hasattr(value, "__float__") and not isinstance(
            value, str | bytes | Sequence):
        number = float(value)
        if not math.isfinite(number):
            raise InvalidValueError(f"{what} must be finite: {value!r}")
        return number
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            raise InvalidValueError(f"{what} must be a number: {value!r}") from None
        return _check_change(path, name, number)
    try:
        points = [(float(x), float(y)) for x, y in value]  # type: ignore[union-attr]
    except (TypeError, ValueError):
        raise InvalidValueError(
            f"{what} must be a number or a list of (x, y) points: {value!r}") from None
    if len(points) < 2:
        raise InvalidValueError(f"{what}: a lookup table needs at least 2 points")
    if not all(math.isfinite(v) for p in points for v in p):
        raise InvalidValueError(f"{what}: lookup points must be finite: {points}")
    xs = [x for x, _ in points]
    if any(b <= a for a, b in zip(xs, xs[1:])):
        raise InvalidValueError(f"{what}: lookup x values must increase strictly: {xs}")
    return points


def _limit(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:  # '?' or empty: no limit
        return None
    return value if math.isfinite(value) else None


Range = tuple[str, float | None, float | None]


def declared_ranges(text: str, suffix: str, *, path: Path = Path("model")) -> dict[str, Range]:
    """``canonical name -> (name, min, max)`` for every variable of a model text.

    Vensim gives the range after the units (``~ Minutes [0,?] ~``; ``?`` is
    no limit, a third number is the slider step); XMILE in
    ``<range min=".." max=".."/>``. Variables without a range have
    ``(name, None, None)``.
    """
    out: dict[str, Range] = {}
    if suffix == ".mdl":
        for eq in scan_mdl(text):
            if eq.in_macro or eq.kind not in ("eq", "lookup"):
                continue
            units = re.split(r"[~|]", text[eq.expr_end + 1:], maxsplit=1)[0]
            m = _MDL_RANGE.search(units)
            lo, hi = (_limit(m.group(1)), _limit(m.group(2))) if m else (None, None)
            old = out.get(canonical(eq.name), (eq.name, None, None))
            out[canonical(eq.name)] = (eq.name, lo if lo is not None else old[1],
                                       hi if hi is not None else old[2])
        return out
    for var in scan_xmile(text, path=path):
        m = _XMILE_RANGE.search(text, var.start, var.end)
        attrs = dict((k, v) for k, _, v in _XMILE_ATTR.findall(m.group(1))) if m else {}
        out[canonical(var.name)] = (var.name, _limit(attrs.get("min", "")),
                                    _limit(attrs.get("max", "")))
    return out


def _check_names(path: Path, ranges: dict, checked: Mapping[str, object]) -> None:
    """Refuse unknown names, suggesting close ones as ``sdkit run`` does."""
    names = {r[0].lower(): r[0] for r in ranges.values()}
    for key in checked:
        base = split_subscripted(key)[0]
        if canonical(base) not in ranges:
            close = difflib.get_close_matches(base.lower(), list(names), n=3)
            hint = (f"; did you mean {', '.join(repr(names[c]) for c in close)}?"
                    if close else "")
            raise UnknownVariableError(f"{path}: no variable named {base!r}{hint}")


def _check_ranges(path: Path, ranges: dict, checked: Mapping[str, object]) -> None:
    """Refuse a number outside its variable's declared ``[min, max]``."""
    for key, value in checked.items():
        name, lo, hi = ranges[canonical(split_subscripted(key)[0])]
        if not isinstance(value, float):
            continue
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            raise InvalidValueError(
                f"{path}: {key} = {format_number(value)} is outside the declared range "
                f"[{'?' if lo is None else format_number(lo)}, "
                f"{'?' if hi is None else format_number(hi)}] of {name!r}; "
                "use --force (force=True) to set it anyway")


def edit_model(path: str | os.PathLike, changes: Mapping[str, Change], *,
               force: bool = False) -> str:
    """Return the text of a model file with constants and lookups changed.

    Parameters
    ----------
    path : path-like
        A Vensim ``.mdl`` or XMILE ``.xmile``/``.xml``/``.stmx`` file. It is
        not written to; see :func:`save_model`.
    changes : mapping
        ``{name: value}``. A number replaces a constant; ``Name[elem]`` (or
        ``Name[e1,e2]``) replaces one element of a subscripted constant
        defined by a list (``a, b, c``) or by one equation per element. A
        list of ``(x, y)`` points replaces a lookup table.
    force : bool, default False
        Allow a value outside the variable's declared ``[min, max]``.

    Returns
    -------
    str
        The new text; outside the edited numbers it is byte-for-byte the old.

    Raises
    ------
    UnknownVariableError
        A name (or element) the file does not define; the message names the
        file and suggests close names.
    InvalidValueError
        A value outside the variable's declared range (unless `force`). A
        target that is not a plain constant (e.g. an equation with
        references), a number given for a lookup or points for a constant,
        a non-finite value, or one element of a variable defined by a
        single apply-to-all value. A change that leaves the time settings
        unusable: a TIME STEP or SAVEPER that is not > 0, a FINAL TIME
        before the INITIAL TIME (see :mod:`sdkit.model.timesettings`).
    ModelFileError
        Missing, empty, UTF-16 or binary file, or unknown extension.

    Examples
    --------
    >>> text = edit_model("tests/models/teacup.mdl", {"Room Temperature": 20})
    >>> "Room Temperature=\\n\\t20\\n" in text
    True
    """
    path = Path(path)
    text, _ = read_model_text(path)
    checked = {str(k): _check_change(path, str(k), v) for k, v in changes.items()}
    suffix = path.suffix.lower()
    if suffix not in {".mdl", ".xmile", ".xml", ".stmx"}:
        raise ModelFileError(f"{path}: unknown model format {suffix!r}; "
                             "expected .mdl, .xmile, .xml or .stmx")
    ranges = declared_ranges(text, suffix, path=path)
    _check_names(path, ranges, checked)
    if suffix == ".mdl":
        new = edit_mdl(text, checked, path=path)
        _check_mdl_time_settings(new, checked, path)
    else:
        new = edit_xmile(text, checked, path=path)
    if not force:
        _check_ranges(path, ranges, checked)
    return new


def _check_mdl_time_settings(text: str, changes: Mapping[str, object], path: Path) -> None:
    """After a change to a time setting, check the four as the edited file gives them.

    Settings written as expressions (other than ``SAVEPER = TIME STEP``)
    are left to the check made when the model is loaded.

    Warns
    -----
    SdkitWarning
        The TIME STEP does not divide the run, or SAVEPER does not reach
        the final time (see :func:`sdkit.model.timesettings.warn_uneven`).
    """
    wanted = {n.lower(): n for n in MODEL_NAMES}
    if not any(canonical(str(k).split("[")[0]) in wanted for k in changes):
        return
    found: dict[str, tuple[str, str]] = {}
    for eq in scan_mdl(text):
        key = canonical(eq.name)
        if eq.kind == "eq" and not eq.in_macro and key in wanted and key not in found:
            line = text.count("\n", 0, eq.expr_start) + 1
            expr = " ".join(text[eq.expr_start:eq.expr_end].replace("\\\n", " ").split())
            found[key] = (expr, f"{path}: line {line}")
    values: dict[str, float | None] = {}
    for key, name in wanted.items():
        expr, where = found.get(key, ("", ""))
        if key == "saveper" and canonical(expr) == "time step":
            values[key] = values.get("time step")
            continue
        try:
            float(expr)
        except ValueError:  # an expression (or missing): checked when the model loads
            values[key] = None
            continue
        values[key] = check_time_value(name, expr, positive=key in ("time step", "saveper"),
                                       where=where)
    start, stop, dt, saveper = (values[k] for k in wanted)
    check_time_settings(start, stop, None, None, where=str(path), names=MODEL_NAMES)
    if None not in (start, stop, dt, saveper):
        warn_uneven(start, stop, dt, saveper, where=str(path), names=MODEL_NAMES,
                    stacklevel=4)


def backup_path(path: str | os.PathLike) -> Path:
    """The backup :func:`save_model` would make now: ``MODEL.bak``, else ``.bak.1``, ..."""
    path = Path(path)
    candidate = path.with_name(path.name + ".bak")
    n = 1
    while candidate.exists():
        candidate = path.with_name(f"{path.name}.bak.{n}")
        n += 1
    return candidate


def save_model(path: str | os.PathLike, text: str, *, out: str | os.PathLike | None = None,
               in_place: bool = False, overwrite: bool = False) -> Path:
    """Write edited model text, in the original file's encoding.

    Parameters
    ----------
    path : path-like
        The original model file (its encoding is kept).
    text : str
        The new text, usually from :func:`edit_model`.
    out : path-like, optional
        Write to this new file (refused if it exists, unless `overwrite`).
    in_place : bool, default False
        Replace `path`, first copying it to ``path.bak`` (or ``.bak.1``,
        ``.bak.2``, ... if a backup already exists; none is overwritten).
    overwrite : bool, default False
        Allow `out` to replace an existing file.

    Returns
    -------
    Path
        The file written.

    Raises
    ------
    InvalidValueError
        Neither or both of `out` and `in_place` given.
    OutputError
        `out` exists and `overwrite` is False.
    """
    path = Path(path)
    if (out is None) == (not in_place):
        raise InvalidValueError(f"{path}: give exactly one of out=... or in_place=True")
    original, encoding = read_model_text(path)
    data = text.encode(encoding)
    if in_place:  # edit the real file (a symlink stays a link), back it up beside it
        path = Path(os.path.realpath(path))
        atomic_write_bytes(backup_path(path), original.encode(encoding), overwrite=False)
        return atomic_write_bytes(path, data, overwrite=True)
    return atomic_write_bytes(Path(out), data, overwrite=overwrite)


def model_diff_text(path: str | os.PathLike, text: str) -> str:
    """A unified diff between a model file and new text (empty when equal)."""
    path = Path(path)
    old, _ = read_model_text(path)
    lines = difflib.unified_diff(old.splitlines(keepends=True), text.splitlines(keepends=True),
                                 fromfile=str(path), tofile=f"{path} (edited)")
    return "".join(lines)
