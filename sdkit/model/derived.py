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
* :func:`read_private_json` and :func:`write_private_json` read and write
  every such JSON file of the cache, the translation index of
  :mod:`sdkit.model.cached` included.
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
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from sdkit.errors import CacheError
from sdkit.io.staging import ACTIVE, clean_stale, stage_affixes
from sdkit.model.cache import check_private
from sdkit.version import __version__

__all__ = ["code_fingerprint", "read_record", "write_record", "read_private_json",
           "write_private_json", "encode_array", "decode_array"]

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


def _checked_folder(folder: Path) -> bool:
    """False if `folder` does not exist; raise if it is not a private folder."""
    try:
        st = folder.lstat()
    except FileNotFoundError:
        return False
    _refuse_unless(folder, st, folder=True, what="cache record folder")
    return True


def _refuse_unless(path: Path, st: os.stat_result, *, folder: bool, what: str) -> None:
    ok = stat.S_ISDIR(st.st_mode) if folder else stat.S_ISREG(st.st_mode)
    if not ok:
        raise CacheError(f"{path}: expected a {'folder' if folder else 'regular file'} "
                         "written by sdkit; delete it")
    check_private(path, what=what, st=st)


def read_private_json(path: Path, *, what: str) -> object | None:
    """The JSON value of a file sdkit keeps in its cache, or None (absent, unreadable, not
    JSON, or nested too deep).

    The path is checked before it is opened (nothing else is ever opened), then
    opened without following a link (``O_NOFOLLOW``; ``O_NONBLOCK``: nothing
    blocks) and the open file checked again.

    Raises
    ------
    CacheError
        `path` is a link or not a regular file, owned by another user, or group-
        or world-writable (`what` names it in the message).
    """
    try:
        st = path.lstat()
    except FileNotFoundError:
        return None
    _refuse_unless(path, st, folder=False, what=what)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:  # gone, or swapped for a link since the check: not read
        return None
    with os.fdopen(fd, "rb") as fh:
        _refuse_unless(path, os.fstat(fh.fileno()), folder=False, what=what)
        try:
            return json.loads(fh.read().decode("utf-8"))
        except (OSError, ValueError, RecursionError):  # RecursionError: nested too deep
            return None


def write_private_json(path: Path, value: object) -> None:
    """Write `value` as JSON to `path` atomically, as a private (0600) file.

    The JSON goes to a temporary file beside `path` (``mkstemp``: mode 0600,
    whatever the umask), named as :func:`sdkit.io.staging.stage_affixes` names
    staging files, which is renamed into place; first, such files that a
    killed writer left in the folder are removed (:func:`sdkit.io.staging.clean_stale`).

    Raises
    ------
    OSError
        The file could not be written (nothing is left behind).
    """
    text = json.dumps(value)
    clean_stale(path.parent)
    prefix, suffix = stage_affixes(path, "tmp")
    fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=path.parent)
    ACTIVE.add(tmp)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    finally:
        ACTIVE.discard(tmp)


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
    if not _checked_folder(folder):
        return None
    record = read_private_json(folder / f"{name}.json", what="cache record")
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
    _checked_folder(folder)
    _prune(folder, MAX_RECORDS - 1)
    try:
        write_private_json(folder / f"{name}.json",
                           {"entry": entry.name, "code": fingerprint, "data": data})
    except OSError:
        return


def _prune(folder: Path, keep: int) -> None:
    """Delete the oldest engine records beyond `keep` (facts and name lists stay)."""
    try:
        records = [(p.lstat().st_mtime_ns, p) for p in folder.glob("engine-*.json")
                   if p.name != "engine-names.json"]
    except OSError:
        return
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
