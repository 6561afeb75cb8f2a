"""The translation cache: a trust boundary, not a convenience folder.

sdkit imports PySD-generated Python from this folder, so what lies there is
treated as code. The rules (tested in ``tests/test_cache_security.py``):

* The cache root is created with mode 0700. A root or entry that is not a
  folder, is owned by another user, or is group- or world-writable is
  refused with :class:`~sdkit.errors.CacheError`.
* The root is resolved once (links followed) and every later access goes
  through that resolved path. It is refused if any folder above it, or a
  folder holding a link on the way to it, is group- or world-writable
  without the sticky bit or owned by someone other than the user or root
  (OpenSSH's ``StrictModes`` rule): whoever can write such a folder could
  swap the cache between sdkit's checks and PySD's import.
* Nothing in an entry is a link, and nothing in it comes from the model's
  folder but the model text and the data files the model declares
  (``GET DIRECT ...``), copied (never linked) into the entry.
* Every entry carries ``manifest.json`` with the SHA-256 of every file in
  it. An entry whose files differ from its manifest in any way (an extra
  ``__pycache__``, a changed byte, a missing file) is refused on load.
* The abstract model is stored as a pickle inside the entry and read back
  with an unpickler that can build only PySD's abstract-model dataclasses,
  numpy arrays and paths: it cannot call anything else.
* Files are written into a private temporary folder which is renamed into
  place whole, so a reader never sees half an entry.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import pickle
import stat
from pathlib import Path

from sdkit.errors import CacheError

__all__ = [
    "cache_dir",
    "cache_root",
    "check_private",
    "write_manifest",
    "verify_entry",
    "dump_abstract",
    "load_abstract",
    "sha256_bytes",
]

MANIFEST = "manifest.json"


def cache_dir() -> Path:
    """The folder holding translated models.

    ``$SDKIT_CACHE_DIR`` if set, else ``$XDG_CACHE_HOME/sdkit``, else
    ``~/.cache/sdkit``.
    """
    env = os.environ.get("SDKIT_CACHE_DIR")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".cache"
    return base / "sdkit"


def _why(e: OSError) -> str:
    return e.strerror or type(e).__name__


def cache_root() -> Path:
    """Return the cache root, resolved, creating it with mode 0700 and checking who owns it.

    Returns
    -------
    Path
        The root with every link resolved; use it (not :func:`cache_dir`) for
        every access, so a link swapped later cannot redirect sdkit.

    Raises
    ------
    CacheError
        The folder cannot be created (a file is in the way, the disk is full,
        no permission), it is not a private folder of the current user, or a
        folder above it is open to others (see the module docstring).
    """
    given = cache_dir()
    root = Path(os.path.realpath(given))  # resolved once: a link swapped later changes nothing
    try:
        # missing folders above are made private too (XDG asks 0700 for ~/.cache), so a
        # group-writable umask does not create a folder the ancestor check refuses
        for folder in reversed([f for f in root.parents if not f.exists()]):
            folder.mkdir(mode=0o700, exist_ok=True)
        root.mkdir(mode=0o700, exist_ok=True)
    except FileExistsError:
        raise CacheError(f"{given}: the translation cache is a file, expected a folder; "
                         "remove it or set SDKIT_CACHE_DIR to a folder") from None
    except OSError as e:
        raise CacheError(f"{given}: cannot create the translation cache ({_why(e)}); "
                         "set SDKIT_CACHE_DIR to a writable folder") from None
    if not root.is_dir():
        raise CacheError(f"{given}: the translation cache is not a folder; "
                         "set SDKIT_CACHE_DIR to a folder")
    for folder in _folders_above(given, root):
        _check_ancestor(folder, given)
    check_private(root, what="translation cache folder")
    return root


def _folders_above(given: Path, real: Path) -> list[Path]:
    """The folders whoever could swap `given` must be able to write, top first.

    The real folders above `real`, and above every link met on the way from
    `given` (a link in a folder others may write can be pointed elsewhere).
    """
    found = set(real.parents)
    lexical = Path(os.path.abspath(given))
    for prefix in (lexical, *lexical.parents):
        if prefix.is_symlink():
            holder = Path(os.path.realpath(prefix.parent))
            found.update((holder, *holder.parents))
    return sorted(found, key=lambda f: len(f.parts))


def _check_ancestor(folder: Path, root: Path) -> None:
    """Refuse `folder` (above the cache `root`) if someone else may rename what it holds."""
    st = folder.stat()
    fix = "set SDKIT_CACHE_DIR to a private folder of yours (e.g. under your home)"
    if st.st_uid not in (os.geteuid(), 0):
        raise CacheError(f"{root}: the translation cache lies under {folder}, which is owned "
                         f"by another user (uid {st.st_uid}), who could swap the cache for "
                         f"code sdkit imports; {fix}")
    if st.st_mode & 0o022 and not st.st_mode & stat.S_ISVTX:
        raise CacheError(f"{root}: the translation cache lies under {folder}, which is group- "
                         f"or world-writable without the sticky bit "
                         f"(mode {stat.filemode(st.st_mode)}), so others could swap the cache "
                         f"for code sdkit imports; {fix}, or run 'chmod go-w {folder}'")


def check_private(path: Path, *, what: str, st: os.stat_result | None = None) -> None:
    """Refuse `path` unless the current user owns it and nobody else may write to it."""
    st = st or path.stat()
    if st.st_uid != os.geteuid():
        raise CacheError(f"{path}: the {what} is owned by another user (uid {st.st_uid}); "
                         "sdkit imports code from it, so it must be yours")
    if st.st_mode & 0o022:
        raise CacheError(f"{path}: the {what} is group- or world-writable "
                         f"(mode {stat.filemode(st.st_mode)}); sdkit imports code from it: "
                         f"run 'chmod go-w {path}' or delete it")


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _entry_files(folder: Path) -> dict[str, Path]:
    """Every regular file under `folder` by relative POSIX path; refuses links and oddities."""
    files: dict[str, Path] = {}
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=False):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            st = p.lstat()
            rel = p.relative_to(folder).as_posix()
            if stat.S_ISLNK(st.st_mode):
                raise CacheError(f"{folder}: cache entry holds a link {rel!r}; sdkit never "
                                 "writes links there: delete the folder")
            check_private(p, what="cache entry file", st=st)
            if stat.S_ISREG(st.st_mode):
                files[rel] = p
            elif not stat.S_ISDIR(st.st_mode):
                raise CacheError(f"{folder}: cache entry holds {rel!r}, which is not a "
                                 "regular file: delete the folder")
    return files


def _make_private(folder: Path) -> None:
    """Modes 0700/0600 for everything sdkit and PySD wrote into a staging folder.

    The files were created under the user's umask (002 makes them group-writable,
    which :func:`check_private` refuses); the staging folder is 0700 from
    ``mkdtemp``, so nobody else could have written into it. Links are left for
    :func:`_entry_files` to refuse.
    """
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=False):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            st = p.lstat()
            if stat.S_ISDIR(st.st_mode):
                os.chmod(p, 0o700)
            elif stat.S_ISREG(st.st_mode):
                os.chmod(p, 0o600)


def write_manifest(folder: Path, meta: dict) -> None:
    """Make `folder` private and record the hash of every file in it (called last, before
    the rename)."""
    _make_private(folder)
    files = _entry_files(folder)
    files.pop(MANIFEST, None)
    record = {"meta": meta,
              "files": {rel: sha256_bytes(p.read_bytes()) for rel, p in sorted(files.items())}}
    fd = os.open(folder / MANIFEST, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(record, fh, indent=1, sort_keys=True)


def verify_entry(folder: Path) -> dict:
    """Check a cache entry against its manifest and return the manifest's ``meta``.

    Raises
    ------
    CacheError
        The entry is not private, holds a link or a file the manifest does not
        list (a ``__pycache__``, a pickle), lacks a listed file, or a file's
        hash differs.
    """
    check_private(folder, what="cache entry")
    files = _entry_files(folder)
    hint = "; delete the folder to translate the model again"
    try:
        record = json.loads(files.pop(MANIFEST).read_text(encoding="utf-8"))
        listed = dict(record["files"])
        meta = dict(record["meta"])
    except (KeyError, ValueError, TypeError):
        raise CacheError(f"{folder}: cache entry has no valid {MANIFEST}{hint}") from None
    extra = sorted(set(files) - set(listed))
    missing = sorted(set(listed) - set(files))
    if extra or missing:
        what = f"unexpected {extra[0]!r}" if extra else f"missing {missing[0]!r}"
        raise CacheError(f"{folder}: cache entry was changed after sdkit wrote it "
                         f"({what}){hint}")
    for rel, digest in listed.items():
        if sha256_bytes(files[rel].read_bytes()) != digest:
            raise CacheError(f"{folder}: cache entry was changed after sdkit wrote it "
                             f"({rel!r} differs from its recorded hash){hint}")
    return meta


# -- the abstract model ---------------------------------------------------------
_ALLOWED_MODULE_PREFIXES = (
    "pysd.translators.structures.abstract_model",
    "pysd.translators.structures.abstract_expressions",
)
_ALLOWED_GLOBALS = frozenset({
    ("numpy", "ndarray"), ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
    ("numpy._core.numeric", "_frombuffer"), ("numpy.core.numeric", "_frombuffer"),
    ("pathlib", "PosixPath"), ("pathlib", "WindowsPath"), ("pathlib", "Path"),
    ("builtins", "set"), ("builtins", "frozenset"), ("builtins", "slice"),
    ("collections", "OrderedDict"),
})


class _AbstractUnpickler(pickle.Unpickler):
    """Builds only abstract-model dataclasses, numpy arrays and paths."""

    def find_class(self, module: str, name: str):
        allowed = (module, name) in _ALLOWED_GLOBALS or (
            module in _ALLOWED_MODULE_PREFIXES and name[:1].isupper() and "." not in name)
        if not allowed:
            raise pickle.UnpicklingError(f"{module}.{name} is not part of an abstract model")
        return super().find_class(module, name)


def dump_abstract(abstract, file: Path) -> None:
    """Write the abstract model into a (new) file of a cache entry."""
    with open(file, "xb") as fh:
        pickle.dump(abstract, fh, protocol=pickle.HIGHEST_PROTOCOL)


def load_abstract(file: Path):
    """Read an abstract model written by :func:`dump_abstract`.

    Raises
    ------
    CacheError
        The file holds anything but an abstract model.
    """
    try:
        return _AbstractUnpickler(io.BytesIO(Path(file).read_bytes())).load()
    except (pickle.UnpicklingError, EOFError, AttributeError, ValueError, TypeError) as e:
        raise CacheError(f"{file}: not an abstract model written by sdkit ({e}); "
                         "delete the cache folder to translate the model again") from None
