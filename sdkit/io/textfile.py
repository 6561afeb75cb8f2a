"""Read a user's text input file (spec, scenario, data, changes) with clear errors.

The same checks as :func:`sdkit.model.translate.read_model_text` for model files,
for every other text file sdkit reads: a missing file, a folder, an empty
file, UTF-16, binary content and bytes that are not UTF-8 each give one
message naming the file (and the line where it can).
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

from sdkit.errors import SdkitError

__all__ = ["read_checked_bytes", "read_text_file", "read_toml_file"]


def read_checked_bytes(path: str | os.PathLike, *, error: type[SdkitError],
                       what: str = "file", empty_ok: bool = False,
                       missing: str | None = None) -> bytes:
    """Return the bytes of a text input file after the checks every input gets.

    Refuses a folder, a missing or unreadable file, an empty file (unless
    `empty_ok`), UTF-16 and binary content (a NUL byte), raising `error` with
    the file and, where it can, the line.
    """
    path = Path(path)
    if path.is_dir():
        raise error(f"{path}: is a folder, expected a {what}")
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise error(f"{path}: {missing or f'no such {what}'}") from None
    except OSError as e:
        raise error(f"{path}: cannot read: {e.strerror or e}") from e
    if not data.strip():
        if empty_ok:
            return b""
        raise error(f"{path}: file is empty; expected a {what}")
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise error(f"{path}: line 1: text is UTF-16 encoded; expected UTF-8")
    if b"\x00" in data:
        line = data[: data.index(b"\x00")].count(b"\n") + 1
        raise error(f"{path}: line {line}: binary content (NUL byte); expected a text {what}")
    return data


def read_text_file(path: str | os.PathLike, *, error: type[SdkitError], what: str = "file",
                   empty_ok: bool = False, missing: str | None = None) -> str:
    """Return the UTF-8 text of `path`, or raise `error` naming the file and line.

    Parameters
    ----------
    path : path-like
    error : type
        The :class:`~sdkit.SdkitError` subclass to raise.
    what : str
        What the file should be, for messages (``"scenario file"``).
    empty_ok : bool, default False
        Return ``""`` for an empty (or blank) file instead of raising.
    missing : str, optional
        Message after ``"{path}: "`` for a missing file (default
        ``"no such {what}"``).
    """
    data = read_checked_bytes(path, error=error, what=what, empty_ok=empty_ok, missing=missing)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise error(f"{path}: line {line}: not valid UTF-8 (byte {data[e.start]:#04x}); "
                    f"save the {what} as UTF-8") from None


def read_toml_file(path: str | os.PathLike, *, error: type[SdkitError], what: str = "file",
                   missing: str | None = None) -> dict:
    """Parse `path` as TOML after :func:`read_text_file`; errors name the line."""
    text = read_text_file(path, error=error, what=what, missing=missing)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        message = str(e)
        if "(at end of document)" in message:  # say where the document ends
            message = message.replace("(at end of document)",
                                      f"(at line {text.count(chr(10)) + 1}, end of document)")
        raise error(f"{path}: not valid TOML: {message}") from None
