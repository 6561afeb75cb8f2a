"""Loops the model's documentation names (``R1 capital``, ``B4 carbon policy``).

The names live in the model's sidecar ``<model>.sdkit.toml``, table
``[loops]``: each key is the name as the documentation writes it, each
value the variables the loop passes through, in link order::

    [loops]
    "R1 capital" = ["GDP", "Investment", "Productive capital", "Nonprimary output"]
    "B4 carbon policy" = ["CO2 emissions", "Indicated stringency", "Policy stringency"]

The list need not name every variable: the name goes to the shortest loop
(:func:`sdkit.find_loops`) that visits the listed variables in that cyclic
order (ties: the first in the report), so a documented loop survives an
intermediate variable being added. A listed name the model does not define
is an error (:class:`~sdkit.errors.SpecError`, naming the sidecar and the
key); a documented loop no loop matches is reported as unmatched.
On a subscripted model, every element loop along a named loop carries its
name (``R7[Enshi]`` -> ``"R1 capital"``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from sdkit.errors import SpecError
from sdkit.io.textfile import read_toml_file
from sdkit.structure.graph import name_key
from sdkit.structure.loops import LoopReport

__all__ = ["documented_loops", "documented_names", "match_documented", "sidecar_of"]


def sidecar_of(model_path: str | os.PathLike) -> Path:
    """``models/iis.mdl`` -> ``models/iis.sdkit.toml``."""
    p = Path(model_path)
    return p.with_name(p.stem + ".sdkit.toml")


def documented_loops(model_path: str | os.PathLike) -> dict[str, tuple[str, ...]]:
    """``name -> variables`` from the ``[loops]`` table of the model's sidecar.

    Returns an empty mapping when there is no sidecar or no ``[loops]`` table.

    Raises
    ------
    SpecError
        Invalid TOML, or an entry that is not a list of at least two names.
    """
    side = sidecar_of(model_path)
    if not side.is_file():
        return {}
    table = read_toml_file(side, error=SpecError, what="sidecar").get("loops", {})
    if not isinstance(table, dict):
        raise SpecError(f"{side}: [loops] must be a table of name = [variables]")
    out = {}
    for name, path in table.items():
        if (not isinstance(path, list) or len(path) < 2
                or not all(isinstance(v, str) for v in path)):
            raise SpecError(f"{side}: [loops].{name!r} must be a list of at least two "
                            f"variable names in link order: {path!r}")
        out[name] = tuple(path)
    return out


def _visits_in_order(cycle: Sequence[str], waypoints: Sequence[str]) -> bool:
    keys = [name_key(v) for v in cycle]
    wanted = [name_key(v) for v in waypoints]
    if wanted[0] not in keys:
        return False
    start = keys.index(wanted[0])
    rotated = keys[start:] + keys[:start]
    pos = 0
    for w in wanted:
        if w not in rotated[pos:]:
            return False
        pos = rotated.index(w, pos) + 1
    return True


def match_documented(family: LoopReport, documented: Mapping[str, Sequence[str]],
                     variables: Sequence[str] = (), *, where: str = "") -> tuple[
                         dict[str, str], list[str]]:
    """Give each documented loop to the shortest variable loop it fits.

    Parameters
    ----------
    family : LoopReport
        The model's variable loops.
    documented : mapping
        ``name -> variables`` (:func:`documented_loops`).
    variables : sequence of str, optional
        The model's variables; when given, a documented name that is not one
        raises :class:`~sdkit.errors.SpecError`.
    where : str
        The sidecar, for error messages.

    Returns
    -------
    (names, unmatched)
        ``loop id -> documented name`` and the documented names no loop fits.
    """
    known = {name_key(v) for v in variables}
    names: dict[str, str] = {}
    unmatched = []
    for label, path in documented.items():
        if known:
            missing = [v for v in path if name_key(v) not in known]
            if missing:
                raise SpecError(f"{where}: [loops].{label!r}: {missing[0]!r} is not a "
                                "variable of the model")
        fits = [lp for lp in family if _visits_in_order(lp.variables, path)]
        if not fits:
            unmatched.append(label)
            continue
        best = min(fits, key=len)
        names.setdefault(best.id, label)
    return names, unmatched


def documented_names(model, report: LoopReport, family: LoopReport) -> dict[str, str]:
    """``element loop id -> documented name`` for the loops of `report`.

    `model` is a loaded model (its ``path`` locates the sidecar); element
    loop ids are ``<variable loop id>[elements]``.
    """
    path = getattr(model, "path", None)
    if path is None:
        return {}
    documented = documented_loops(path)
    if not documented:
        return {}
    names, _ = match_documented(family, documented, getattr(model, "names", ()),
                                where=str(sidecar_of(path)))
    return {lp.id: names[lp.id.split("[")[0]] for lp in report
            if lp.id.split("[")[0] in names}
