"""Records derived from a cache entry: what a warm load reads instead of rebuilding.

A translation entry (:mod:`sdkit.model.cached`) is written once and never
changed. What sdkit computes from it later (the model's names, units and time
settings; the compiled engine's code for a set of outputs) is kept beside it,
in ``<cache>/<entry>.derived/``, so that a later process skips PySD's model
object and the engine's code generation. The rules:

* The folder is created with mode 0700; a folder or record that is a link,
  not a regular file, owned by another user, or group- or world-writable is
  refused with :class:`~sdkit.errors.CacheError` (as entries are).
* A record is JSON: no pickle, nothing that runs when read. It names the
  entry it belongs to and a fingerprint of the sdkit code that wrote it; a
  record written by other code, for another entry, or unreadable is ignored
  and written again.
* Records are written to a private temporary file and renamed into place,
  so a reader never sees half a record; a record that cannot be written
  (disk full) is skipped: it only saves time. At most :data:`MAX_RECORDS`
  engine records are kept per entry (the oldest go); temporary files of a
  killed writer are removed by a later write.
* Readers check every value they use (:mod:`sdkit.model.facts`,
  :mod:`sdkit.engine.compiled_cache`); generated code read back passes the
  engine's allow-list (:mod:`sdkit.engine.sourcecheck`) on every load.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from sdkit.errors import CacheError
from sdkit.io.staging import STALE_AFTER
from sdkit.model.cache import check_private
from sdkit.version import __version__

__all__ = ["code_fingerprint", "read_record", "write_record", "encode_array", "decode_array"]

_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,120}$")
_DTYPES = ("float64", "int64", "bool")
#: engine records kept per entry at most; the least recently written go first
MAX_RECORDS = 200


def code_fingerprint(files: Iterable[str | os.PathLike]) -> str:
    """A hash of sdkit's version and the bytes of `files` (the code a record depends on)."""
    h = hashlib.sha256(f"sdkit={__version__}".encode())
    for f in files:
        h.update(Path(f).read_bytes())
    return h.hexdigest()[:24]


def _folder(entry: Path) -> Path:
    return entry.with_name(entry.name + ".derived")


def _checked(path: Path, *, folder: bool) -> bool:
    """False if `path` does not exist; raise if it is not a private folder / regular file."""
    try:
        st = path.lstat()
    except FileNotFoundError:
        return False
    ok = stat.S_ISDIR(st.st_mode) if folder else stat.S_ISREG(st.st_mode)
    if not ok:
        raise CacheError(f"{path}: expected a {'folder' if folder else 'regular file'} "
                         "written by sdkit; delete it")
    check_private(path, what="cache record folder" if folder else "cache record", st=st)
    return True


def read_record(entry: Path, name: str, fingerprint: str) -> dict | None:
    """The payload of record `name` of cache entry `entry`, or None (absent or stale).

    Raises
    ------
    CacheError
        The record or its folder is a link, not private, or not a file/folder.
    """
    if not _NAME.match(name):
        raise ValueError(f"bad record name {name!r}")
    folder = _folder(entry)
    if not _checked(folder, folder=True) or not _checked(folder / f"{name}.json", folder=False):
        return None
    try:
        record = json.loads((folder / f"{name}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):  # RecursionError: nested too deep
        return None
    if not isinstance(record, dict) or record.get("entry") != entry.name \
            or record.get("code") != fingerprint or not isinstance(record.get("data"), dict):
        return None
    return record["data"]


def write_record(entry: Path, name: str, fingerprint: str, data: dict) -> None:
    """Write record `name` of `entry` atomically (skipped when the disk says no)."""
    if not _NAME.match(name):
        raise ValueError(f"bad record name {name!r}")
    folder = _folder(entry)
    try:
        folder.mkdir(mode=0o700, exist_ok=True)
    except OSError:
        return
    _checked(folder, folder=True)
    _prune(folder, MAX_RECORDS - 1)
    text = json.dumps({"entry": entry.name, "code": fingerprint, "data": data})
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=folder)
    except OSError:
        return
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, folder / f"{name}.json")
    except OSError:
        Path(tmp).unlink(missing_ok=True)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _prune(folder: Path, keep: int) -> None:
    """Delete the oldest engine records beyond `keep` (facts and name lists stay), and
    temporary files a killed writer left (older than :data:`STALE_AFTER` seconds)."""
    try:
        records = [(p.lstat().st_mtime_ns, p) for p in folder.glob("engine-*.json")
                   if p.name != "engine-names.json"]
        stale = [p for p in folder.glob(".*.tmp")
                 if time.time() - p.lstat().st_mtime > STALE_AFTER]
    except OSError:
        return
    for p in stale:
        p.unlink(missing_ok=True)
    for _, p in sorted(records)[:max(0, len(records) - keep)]:
        p.unlink(missing_ok=True)


def encode_array(value: np.ndarray) -> dict:
    """A numpy array as JSON data (float64, int64 or bool; exact: floats keep their repr)."""
    arr = np.asarray(value)
    if arr.dtype.name not in _DTYPES:
        raise TypeError(f"cannot keep an array of {arr.dtype} in a cache record")
    return {"dtype": arr.dtype.name, "shape": list(arr.shape), "data": arr.ravel().tolist()}


def decode_array(data: object) -> np.ndarray:
    """The array :func:`encode_array` wrote (ValueError/TypeError for anything else)."""
    if not isinstance(data, dict) or data.get("dtype") not in _DTYPES:
        raise ValueError("not an array record")
    shape = data.get("shape")
    if not isinstance(shape, list) or not all(isinstance(n, int) and n >= 0 for n in shape):
        raise ValueError("bad array shape")
    values = data.get("data")
    if not isinstance(values, list) or not all(
            type(v) in (float, int, bool) for v in values):
        raise ValueError("bad array values")
    try:
        return np.array(values, dtype=data["dtype"]).reshape(shape)
    except OverflowError:  # an integer beyond int64 (or float64): sdkit never writes one
        raise ValueError("array value out of range") from None
