"""XMILE reading for sdkit: XMILE 1.0 text to PySD's abstract model.

:func:`read_xmile_abstract` is the single entry point used by
:mod:`sdkit.model.translate`; it returns PySD's ``AbstractModel``, which PySD's
own builder turns into Python.

sdkit reads the XML and parses the equations itself, instead of PySD's
XMILE translator, because that translator rejects or silently mis-reads
parts of the standard (``SUM(K[*])``, ``SUM(K)``, lower-case keywords,
``LOOKUP()``, names with special characters, modules). The modules:

``document``  XML to plain descriptions (variables, dimensions, modules, macros)
``modules``   module instances flattened to one model (``hares.births``)
``expr``      equation text to a small syntax tree
``builtins``  XMILE builtin functions as PySD structures
``lower``     syntax tree to PySD structures, with the shape of every value
``reader``    the ``AbstractModel``, with the shape and coverage checks

Whatever cannot be simulated faithfully is refused with
:class:`~sdkit.errors.UnsupportedConstructError` naming the construct, the
variable and the line.
"""

from __future__ import annotations

from pathlib import Path

from sdkit.model.xmile.reader import build_abstract_model

__all__ = ["read_xmile_abstract"]


def read_xmile_abstract(path: str | Path, *, source_path: Path | None = None):
    """Parse an XMILE file into PySD's abstract model.

    Parameters
    ----------
    path : path-like
        The XMILE file (``.xmile``, ``.xml``, ``.stmx``, ``.itmx``).
    source_path : Path, optional
        The user's path, for error messages.

    Returns
    -------
    pysd.translators.structures.abstract_model.AbstractModel

    Raises
    ------
    TranslationError
        The file is not XMILE 1.0, or an equation does not parse or refers
        to unknown names, or a result's shape does not fit its variable.
    UnsupportedConstructError
        A construct sdkit refuses (``???`` placeholder equations, undefined
        macros, RK45 or Gear with stocks, conveyors, ...), naming it and the line.
    """
    return build_abstract_model(Path(path), source_path=source_path)
