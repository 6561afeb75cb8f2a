"""XMILE reading for sdkit: PySD's XMILE translator, with sdkit's corrections.

:func:`read_xmile_abstract` is the single entry point used by
:mod:`sdkit.translate`; it returns PySD's ``AbstractModel``.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["read_xmile_abstract"]


def read_xmile_abstract(path: str | Path, *, source_path: Path | None = None):
    """Parse an XMILE file into PySD's abstract model.

    Parameters
    ----------
    path : path-like
        The XMILE file (``.xmile``, ``.xml``, ``.stmx``, ``.itmx``).
    source_path : Path, optional
        The user's path, for error messages.
    """
    from pysd.translators.xmile.xmile_file import XmileFile

    xf = XmileFile(Path(path))
    xf.parse()
    return xf.get_abstract_model()
