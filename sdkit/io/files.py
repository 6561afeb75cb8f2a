"""Atomic output: every file or folder sdkit writes is staged first, then renamed in.

A crash, a Ctrl-C, a full disk or a file-size limit therefore leaves either
the old output or the new one, never half of one, and outputs that belong
together (a calibration or report folder) appear together or not at all.

* :func:`atomic_path` stages one file as ``.sdkit-stage-<pid>-<rand>-tmp.<name>``
  beside the target and renames it into place.
* :func:`staged_folder` stages a whole folder as
  ``.sdkit-stage-<pid>-<rand>-dir.<name>`` and swaps it in with renames: the old
  folder becomes ``.sdkit-stage-<pid>-<rand>-old.<name>``, the staged one takes
  its name, and the old one is removed; if the second rename fails the old
  folder is put back.
* :func:`clean_stale` removes those names when the process that made them is
  gone (or they are older than :data:`STALE_AFTER` seconds), and puts back an
  ``-old.`` folder whose target is missing (a run killed between the two
  renames). Every write calls it on the target's folder first, so a ``kill -9``
  leaves nothing that the next run does not clean up.

Only regular files, and folders the caller recognises as its own output, are
ever replaced, and only when the caller says ``overwrite=True``: a symbolic
link (dangling or not), a FIFO, a device or a socket at the target is refused.
Every failure of the file system becomes an :class:`~sdkit.errors.OutputError`
naming the path.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

import pandas as pd

from sdkit.errors import InvalidValueError, OutputError, SdkitError
from sdkit.io.staging import ACTIVE as _ACTIVE
from sdkit.io.staging import (
    STAGE_PREFIX,
    STALE_AFTER,
    check_replaceable,
    clean_stale,
    file_kind,
    stage_affixes,
)
from sdkit.io.tidy import tab_text, to_dataset_from_wide

__all__ = ["atomic_path", "atomic_paths", "atomic_write_text", "atomic_write_bytes", "write_table",
           "staged_folder", "clean_stale", "check_replaceable", "to_netcdf", "TABLE_FORMATS",
           "STAGE_PREFIX", "STALE_AFTER"]

TABLE_FORMATS = (".csv", ".nc", ".parquet", ".tab")

def _prepare_parent(target: Path) -> None:
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OutputError(f"{target.parent}: cannot create folder: {e.strerror or e}") from e
    if not target.parent.is_dir():
        raise OutputError(f"{target.parent}: is not a folder; cannot write {target.name}")


def _clean_beside(target: Path) -> None:
    """Clean stale staging names beside `target` first: one may be its old version."""
    if target.parent.is_dir():
        clean_stale(target.parent)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _cannot_write(target: Path, e: OSError) -> OutputError:
    return OutputError(f"{target}: cannot write: {e.strerror or e}")


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike, *, overwrite: bool = True) -> Iterator[Path]:
    """Yield a temporary path beside `target`; rename it into place on success.

    Parameters
    ----------
    target : path-like
        The final file.
    overwrite : bool, default True
        If False and `target` exists (even as a dangling link), raise
        :class:`OutputError` before anything is written.

    Raises
    ------
    OutputError
        If `target` exists and `overwrite` is False; if it is not a regular
        file (see :func:`check_replaceable`); if its folder cannot be created;
        or if writing fails (disk full, file-size limit, permissions). The
        temporary file is removed and `target` left as it was.
    """
    target = Path(target)
    _clean_beside(target)
    check_replaceable(target, overwrite=overwrite)
    _prepare_parent(target)
    prefix, suffix = stage_affixes(target, "tmp")
    try:
        fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=target.parent)
    except OSError as e:
        raise _cannot_write(target, e) from e
    os.close(fd)
    _ACTIVE.add(tmp)
    tmp_path = Path(tmp)
    try:
        try:
            yield tmp_path
            # mkstemp makes 0600 files; give the usual permissions
            os.chmod(tmp_path, target.stat().st_mode & 0o7777 if target.is_file()
                     else 0o666 & ~_umask())
            check_replaceable(target, overwrite=overwrite)  # appeared while writing?
            os.replace(tmp_path, target)
        except SdkitError:
            raise
        except OSError as e:
            raise _cannot_write(target, e) from e
    finally:
        with contextlib.suppress(OSError):
            tmp_path.unlink()
        _ACTIVE.discard(tmp)


@contextlib.contextmanager
def atomic_paths(targets: list[str | os.PathLike], *,
                 overwrite: bool = True) -> Iterator[list[Path]]:
    """:func:`atomic_path` for several files that belong together (not in one folder of their own).

    Every target is checked first and every temporary file written before any
    is renamed into place, so a failure or Ctrl-C while writing leaves all
    targets as they were; only the final renames (microseconds) are not one
    step.
    """
    for target in targets:
        check_replaceable(target, overwrite=overwrite)
    with contextlib.ExitStack() as stack:
        yield [stack.enter_context(atomic_path(t, overwrite=overwrite)) for t in targets]


def _carry_over(old: Path, stage: Path, *, overwrite: bool) -> None:
    """Hard-link (or copy) into `stage` every entry of `old` that `stage` lacks."""
    for entry in os.scandir(old):
        if entry.name.startswith(STAGE_PREFIX):
            continue
        src, dst = Path(entry.path), stage / entry.name
        kind = file_kind(entry.stat(follow_symlinks=False))
        if os.path.lexists(dst):
            if kind == "folder" and dst.is_dir() and not dst.is_symlink():
                _carry_over(src, dst, overwrite=overwrite)
                continue
            check_replaceable(src, overwrite=overwrite)
            continue  # the new file wins
        if kind == "symbolic link":
            os.symlink(os.readlink(src), dst)
        elif kind == "folder":
            if os.path.ismount(src):
                raise OutputError(f"{src}: is a mount point; refusing to move it")
            dst.mkdir()
            shutil.copymode(src, dst)
            _carry_over(src, dst, overwrite=overwrite)
        elif kind == "regular file":
            try:
                os.link(src, dst)
            except OSError:
                shutil.copy2(src, dst)
        else:
            raise OutputError(f"{src}: is a {kind}; sdkit replaces only folders of regular "
                              "files (move it away first)")


def _swap(stage: Path, target: Path) -> None:
    """Rename `stage` to `target`, moving an existing `target` aside and removing it."""
    if not os.path.lexists(target):
        os.rename(stage, target)
        return
    prefix, suffix = stage_affixes(target, "old")
    backup = target.with_name(f"{prefix}{secrets.token_hex(6)}{suffix}")
    _ACTIVE.add(str(backup))
    try:
        os.rename(target, backup)
        os.rename(stage, target)
    except BaseException:
        if os.path.lexists(backup) and not os.path.lexists(target):
            os.rename(backup, target)  # put the old folder back
        raise
    finally:
        if os.path.lexists(backup) and os.path.lexists(target):
            shutil.rmtree(backup, ignore_errors=True)
        _ACTIVE.discard(str(backup))


@contextlib.contextmanager
def staged_folder(target: str | os.PathLike, *, overwrite: bool = False, merge: bool = False,
                  owned: Callable[[Path], bool] | None = None,
                  what: str = "output") -> Iterator[Path]:
    """Yield an empty staging folder beside `target`; swap it in as `target` on success.

    A reader of `target` sees the old folder or the new one, never a mix: the
    new folder is renamed in whole (see the module docstring). On any error
    or Ctrl-C inside the block, the staging folder is removed and `target` is
    left as it was.

    Parameters
    ----------
    target : path-like
        The output folder.
    overwrite : bool, default False
        Replace an existing `target` (``merge=False``), or let files of the
        new folder replace files of the same name (``merge=True``).
    merge : bool, default False
        Keep the entries of an existing `target` that the new folder does not
        have (hard-linked, else copied, into the staged folder before the swap),
        so a user's own files in an output folder survive.
    owned : callable, optional
        Returns True if an existing folder is sdkit's own output of this kind;
        other folders are refused (``merge=False`` only).
    what : str
        What the folder is, for messages.

    Raises
    ------
    OutputError
        The target cannot be replaced (:func:`check_replaceable`), or a file
        system operation fails.
    """
    target = Path(os.path.abspath(target))
    _clean_beside(target)
    if merge and os.path.lexists(target):
        check_replaceable(target, overwrite=True, folder=True, what=what)
    else:
        check_replaceable(target, overwrite=overwrite, folder=True, owned=owned, what=what)
    _prepare_parent(target)
    prefix, suffix = stage_affixes(target, "dir")
    try:
        stage = Path(tempfile.mkdtemp(prefix=prefix, suffix=suffix, dir=target.parent))
    except OSError as e:
        raise _cannot_write(target, e) from e
    _ACTIVE.add(str(stage))
    try:
        try:
            yield stage
            mode = target.stat().st_mode if target.is_dir() else 0o777 & ~_umask()
            os.chmod(stage, stat.S_IMODE(mode))  # mkdtemp makes 0700
            if merge and os.path.lexists(target):
                _carry_over(target, stage, overwrite=overwrite)
            elif os.path.lexists(target):
                check_replaceable(target, overwrite=overwrite, folder=True, owned=owned,
                                  what=what)
            _swap(stage, target)
        except SdkitError:
            raise
        except OSError as e:
            raise _cannot_write(target, e) from e
    finally:
        shutil.rmtree(stage, ignore_errors=True)
        _ACTIVE.discard(str(stage))


def _atomic_write(target, mode: str, writer: Callable[[IO], None], *, overwrite: bool,
                  encoding: str | None = None) -> Path:
    with atomic_path(target, overwrite=overwrite) as tmp:
        with open(tmp, mode, encoding=encoding) as fh:
            writer(fh)
            fh.flush()
            os.fsync(fh.fileno())
    return Path(target)


def atomic_write_text(target: str | os.PathLike, text: str, *, overwrite: bool = True,
                      encoding: str = "utf-8") -> Path:
    """Write `text` to `target` atomically and return the path."""
    return _atomic_write(target, "w", lambda fh: fh.write(text), overwrite=overwrite,
                         encoding=encoding)


def atomic_write_bytes(target: str | os.PathLike, data: bytes, *, overwrite: bool = True) -> Path:
    """Write `data` to `target` atomically and return the path."""
    return _atomic_write(target, "wb", lambda fh: fh.write(data), overwrite=overwrite)


def write_table(frame: pd.DataFrame, target: str | os.PathLike, *, overwrite: bool = True,
                attrs: dict | None = None) -> Path:
    """Write a results table as CSV, netCDF, Parquet or Vensim ``.tab``, chosen by suffix.

    Parameters
    ----------
    frame : pandas.DataFrame
        The table (index is written too). A run result in the wide shape of
        :mod:`sdkit.io.tidy` (``frame.attrs["sdkit_dims"]`` set, as
        :func:`sdkit.simulate` does) is written to ``.nc`` with its
        subscripts as dimensions and ``units``/``description`` attributes.
    target : path-like
        ``.csv``, ``.nc``, ``.parquet`` or ``.tab`` (see :func:`sdkit.io.tidy.tab_text`).
    overwrite : bool, default True
        Refuse to replace an existing file when False.
    attrs : dict, optional
        Provenance written as netCDF attributes or Parquet metadata.

    Raises
    ------
    InvalidValueError
        For an unknown suffix.
    """
    target = Path(target)
    suffix = target.suffix.lower()
    if suffix not in TABLE_FORMATS:
        raise InvalidValueError(
            f"{target}: unknown output format {suffix or '(none)'!r}; "
            f"expected one of {', '.join(TABLE_FORMATS)}"
        )
    with atomic_path(target, overwrite=overwrite) as tmp:
        if suffix == ".csv":
            frame.to_csv(tmp)
        elif suffix == ".tab":
            tmp.write_text(tab_text(frame), encoding="utf-8")
        elif suffix == ".parquet":
            out = frame.copy()
            out.columns = [str(c) for c in out.columns]
            out.attrs = {k: str(v) for k, v in (attrs or {}).items()}
            out.to_parquet(tmp)
        else:
            ds = to_dataset_from_wide(frame) if "sdkit_dims" in frame.attrs \
                else frame.to_xarray()
            # netCDF variable names cannot hold '/' etc.; keep the real name as attribute
            rename = {c: _nc_name(c) for c in ds.data_vars}
            rename.update({d: _nc_name(d) for d in ds.dims if d not in ds.data_vars})
            ds = ds.rename({k: v for k, v in rename.items() if k != v})
            for orig, new in rename.items():
                if new in ds.data_vars:
                    ds[new].attrs["long_name"] = str(orig)
            ds.attrs = {k: str(v) for k, v in (attrs or {}).items()}
            to_netcdf(ds, tmp, target=target)
    return target


def to_netcdf(ds, path: Path, *, target: Path) -> None:
    """``ds.to_netcdf(path)``; the netCDF library's failures (``RuntimeError``) name `target`.

    netCDF4 reports a failed write (disk full, file-size limit) as
    ``RuntimeError: NetCDF: HDF error``, not as ``OSError``.
    """
    try:
        ds.to_netcdf(path)
    except RuntimeError as e:
        raise OutputError(f"{target}: cannot write netCDF: {e}") from e


def _nc_name(name: object) -> str:
    out = "".join(ch if ch.isalnum() or ch in "_-." else "_" for ch in str(name))
    return out if out and not out[0].isdigit() else f"v_{out}"
