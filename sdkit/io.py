"""Atomic output: every file sdkit writes goes to a temporary file first.

A crash, a Ctrl-C or a full disk therefore leaves either the old file or the
new one, never half of one. Nothing here overwrites an existing file unless
the caller says ``overwrite=True``.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

import pandas as pd

from .errors import InvalidValueError, OutputError

__all__ = ["atomic_path", "atomic_write_text", "atomic_write_bytes", "write_table", "TABLE_FORMATS"]

TABLE_FORMATS = (".csv", ".nc", ".parquet")


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike, *, overwrite: bool = True) -> Iterator[Path]:
    """Yield a temporary path beside `target`; rename it into place on success.

    Parameters
    ----------
    target : path-like
        The final file.
    overwrite : bool, default True
        If False and `target` exists, raise :class:`OutputError` before
        anything is written.

    Raises
    ------
    OutputError
        If `target` exists and `overwrite` is False, or its folder cannot be
        created.
    """
    target = Path(target)
    if not overwrite and target.exists():
        raise OutputError(f"{target}: exists; refusing to overwrite (choose another path)")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OutputError(f"{target.parent}: cannot create folder: {e.strerror or e}") from e
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        if tmp_path.exists():  # mkstemp makes 0600 files; give the usual permissions
            os.chmod(tmp_path, target.stat().st_mode & 0o7777 if target.exists()
                     else 0o666 & ~_umask())
        os.replace(tmp_path, target)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


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
    """Write a results table as CSV, netCDF or Parquet, chosen by suffix.

    Parameters
    ----------
    frame : pandas.DataFrame
        The table (index is written too).
    target : path-like
        ``.csv``, ``.nc`` or ``.parquet``.
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
        elif suffix == ".parquet":
            out = frame.copy()
            out.columns = [str(c) for c in out.columns]
            out.attrs = {k: str(v) for k, v in (attrs or {}).items()}
            out.to_parquet(tmp)
        else:
            ds = frame.to_xarray()
            # netCDF variable names cannot hold '/' etc.; keep the real name as attribute
            rename = {c: _nc_name(c) for c in ds.data_vars}
            ds = ds.rename(rename)
            for orig, new in rename.items():
                ds[new].attrs["long_name"] = str(orig)
            ds.attrs.update({k: str(v) for k, v in (attrs or {}).items()})
            ds.to_netcdf(tmp)
    return target


def _nc_name(name: object) -> str:
    out = "".join(ch if ch.isalnum() or ch in "_-." else "_" for ch in str(name))
    return out if out and not out[0].isdigit() else f"v_{out}"
