"""Staging names and the checks made before any output is written (see :mod:`sdkit.io.files`).

:func:`check_replaceable` refuses a target sdkit must not replace;
:func:`stage_affixes` names a staging file or folder; :func:`clean_stale`
removes staging leftovers of processes that are gone.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import time
from collections.abc import Callable
from pathlib import Path

from sdkit.errors import OutputError

__all__ = ["check_replaceable", "clean_stale", "file_kind", "stage_affixes", "STAGE_PREFIX",
           "STALE_AFTER", "ACTIVE"]

#: every temporary name sdkit makes starts with this
STAGE_PREFIX = ".sdkit-stage-"
#: seconds after which a staging name is stale even if its process id is alive (pid reuse)
STALE_AFTER = 600.0
_STAGE_RE = re.compile(r"^\.sdkit-stage-(\d+)-[A-Za-z0-9_]+-(tmp|dir|old)\.(.+)$", re.S)
#: staging names this process is using right now (never cleaned as stale)
ACTIVE: set[str] = set()


def stage_affixes(target: Path, kind: str) -> tuple[str, str]:
    """``mkstemp``/``mkdtemp`` prefix and suffix of a staging name for `target`
    (`kind`: ``"tmp"``, ``"dir"`` or ``"old"``), as :func:`clean_stale` recognises it."""
    name = target.name if kind == "old" else target.name[:80]
    return f"{STAGE_PREFIX}{os.getpid()}-", f"-{kind}.{name}"


def file_kind(st: os.stat_result) -> str:
    """What a path is, in words (``\"symbolic link\"``, ``\"FIFO (named pipe)\"``, ...)."""
    mode = st.st_mode
    for test, name in ((stat.S_ISLNK, "symbolic link"), (stat.S_ISDIR, "folder"),
                       (stat.S_ISFIFO, "FIFO (named pipe)"), (stat.S_ISCHR, "character device"),
                       (stat.S_ISBLK, "block device"), (stat.S_ISSOCK, "socket")):
        if test(mode):
            return name
    return "regular file" if stat.S_ISREG(mode) else "special file"


def check_replaceable(target: str | os.PathLike, *, overwrite: bool, folder: bool = False,
                      owned: Callable[[Path], bool] | None = None, what: str = "") -> None:
    """Refuse, before anything is written, a target sdkit must not replace.

    A path that exists in any form counts as existing, a dangling symbolic
    link included (:func:`os.path.lexists`).

    Parameters
    ----------
    target : path-like
    overwrite : bool
        Whether an existing output may be replaced at all.
    folder : bool, default False
        The output is a folder (else a regular file).
    owned : callable, optional
        For folders: returns True if an existing folder is sdkit's own output
        of this kind (else it is refused even with `overwrite`).
    what : str
        What the output is, for messages (``"report folder"``).

    Raises
    ------
    OutputError
        The target exists and `overwrite` is False; or it is a symbolic link,
        a FIFO, a device, a socket, a folder where a file is written (or the
        reverse), or a folder that `owned` does not recognise.
    """
    target = Path(target)
    if not os.path.lexists(target):
        return
    if not overwrite:
        raise OutputError(f"{target}: exists; refusing to overwrite (pass --overwrite or "
                          "choose another path)")
    try:
        kind = file_kind(os.lstat(target))
    except OSError as e:
        raise OutputError(f"{target}: cannot inspect: {e.strerror or e}") from e
    expected = "folder" if folder else "regular file"
    if kind != expected:
        raise OutputError(f"{target}: is a {kind}; refusing to replace it (sdkit replaces "
                          f"only a {expected}{' it wrote' if folder else ''})")
    if folder and owned is not None and not owned(target):
        raise OutputError(f"{target}: folder exists and is not an sdkit {what or 'output'} "
                          "folder; refusing to replace it (choose another path)")


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # e.g. EPERM: it exists, owned by someone else
        return True
    return True


def clean_stale(folder: str | os.PathLike, *, now: float | None = None) -> list[Path]:
    """Remove sdkit's own staging leftovers in `folder`; return what was handled.

    A name is sdkit's if it matches ``.sdkit-stage-<pid>-<rand>-<kind>.<name>``;
    it is stale if this process is not using it and either process `pid` no
    longer exists or it is older than :data:`STALE_AFTER` seconds (a young name
    of this process is never stale: a thread may be between making it and
    registering it in :data:`ACTIVE`). A stale
    ``-old.`` folder or file whose target is missing is renamed back to the
    target (a run killed between the two renames of a swap); every other stale
    name is deleted. Errors are ignored: cleaning is best effort.
    """
    folder = Path(folder)
    now = time.time() if now is None else now
    handled: list[Path] = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return handled
    for entry in entries:
        m = _STAGE_RE.match(entry.name)
        if m is None or entry.path in ACTIVE:
            continue
        pid, kind, name = int(m.group(1)), m.group(2), m.group(3)
        try:
            age = now - entry.stat(follow_symlinks=False).st_mtime
        except OSError:
            continue
        # this process's own young names are live too: another thread may have made one
        # and not yet registered it in ACTIVE
        alive = pid == os.getpid() or _pid_alive(pid)
        if alive and age < STALE_AFTER:
            continue
        path = Path(entry.path)
        try:
            if kind == "old" and not os.path.lexists(folder / name):
                os.rename(path, folder / name)
            elif entry.is_dir(follow_symlinks=False):
                shutil.rmtree(path)
            else:
                path.unlink()
        except OSError:
            continue
        handled.append(path)
    return handled
