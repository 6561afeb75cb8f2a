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

:func:`documented_ids` gives each documented loop the id its name starts with
(``R1`` of ``"R1 capital"``, the whole name if it starts with no id), and
:func:`sdkit.find_loops` lists those loops first, in the sidecar's order, and
numbers the others ``R``, ``B``, ``U`` by length, skipping the documented ids,
so an id never means two loops. On a subscripted model, every element loop
along a named loop carries its name (``R1[Enshi]`` -> ``"capital"``,
:func:`documented_names`).
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from sdkit.errors import SpecError
from sdkit.model.sidecar import read_sidecar
from sdkit.structure.graph import name_key

if TYPE_CHECKING:  # loops.py imports this module to name the loops it finds
    from sdkit.structure.loops import LoopReport

__all__ = ["DocumentedIds", "documented_ids", "documented_loops", "documented_names",
           "match_documented", "split_label"]

_LABEL = re.compile(r"([A-Za-z]+[0-9]+)(?:\s+(.*))?", re.S)


def documented_loops(model_path: str | os.PathLike) -> dict[str, tuple[str, ...]]:
    """``name -> variables`` from the ``[loops]`` table of the model's sidecar.

    Returns an empty mapping when there is no sidecar or no ``[loops]`` table.

    Raises
    ------
    SpecError
        Invalid TOML, or an entry that is not a list of at least two names.
    """
    found = read_sidecar(model_path)
    if found is None:
        return {}
    side, data = found
    table = data.get("loops", {})
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


def _fits(loops: Sequence, documented: Mapping[str, Sequence[str]],
          variables: Sequence[str], where: str) -> tuple[dict[int, str], list[str]]:
    """``position of a loop in loops -> documented label``, and the labels no loop fits."""
    known = {name_key(v) for v in variables}
    matched: dict[int, str] = {}
    unmatched = []
    for label, path in documented.items():
        if known:
            missing = [v for v in path if name_key(v) not in known]
            if missing:
                raise SpecError(f"{where}: [loops].{label!r}: {missing[0]!r} is not a "
                                "variable of the model")
        fits = [i for i, lp in enumerate(loops) if _visits_in_order(lp.variables, path)]
        if not fits:
            unmatched.append(label)
            continue
        matched.setdefault(min(fits, key=lambda i: len(loops[i])), label)
    return matched, unmatched


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
    loops = list(family)
    matched, unmatched = _fits(loops, documented, variables, where)
    return {loops[i].id: label for i, label in matched.items()}, unmatched


def split_label(label: str) -> tuple[str, str]:
    """``"R1 capital"`` -> ``("R1", "capital")``; a label with no leading id is both."""
    m = _LABEL.fullmatch(label.strip())
    return (m.group(1), (m.group(2) or "").strip() or label) if m else (label, label)


@dataclasses.dataclass(frozen=True)
class DocumentedIds:
    """What the documentation says of a model's loops (:func:`documented_ids`)."""

    ids: dict[int, str]  # position of a loop -> its documented id, in the sidecar's order
    names: dict[str, str]  # documented id -> name
    unmatched: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


def documented_ids(loops: Sequence, documented: Mapping[str, Sequence[str]],
                   variables: Sequence[str] = (), *, where: str = "") -> DocumentedIds:
    """The documented id and name of each loop the documentation names.

    Parameters
    ----------
    loops : sequence of Loop
        The model's variable loops, sorted as :func:`sdkit.find_loops` lists
        them (their ids are not read: :func:`sdkit.find_loops` numbers them
        once, from this result).
    documented, variables, where
        As :func:`match_documented`.

    Returns
    -------
    DocumentedIds
        ``ids`` (the loop's position -> the id its label starts with), ``names``
        (id -> name), ``unmatched`` (documented loops no loop fits) and
        ``notes`` (each name whose ``R``/``B`` disagrees with the polarity read
        off the links).

    Raises
    ------
    SpecError
        Two documented names start with the same id, or as
        :func:`match_documented`.
    """
    matched, unmatched = _fits(loops, documented, variables, where)
    ids, names, notes, seen = {}, {}, [], {}
    for i, label in sorted(matched.items(), key=lambda kv: list(documented).index(kv[1])):
        new, name = split_label(label)
        if new in seen:
            raise SpecError(f"{where}: [loops]: {seen[new]!r} and {label!r} both name loop "
                            f"{new!r}; give each documented loop its own id")
        seen[new] = label
        ids[i], names[new] = new, name
        said = {"R": "reinforcing", "B": "balancing"}.get(new[:1].upper())
        if said and loops[i].polarity not in (said, "ambiguous"):
            notes.append(f"documented loop {label!r} ({new}) is {loops[i].polarity} here")
    return DocumentedIds(ids, names, tuple(unmatched), tuple(notes))


def documented_names(report: LoopReport, family: LoopReport) -> dict[str, str]:
    """``element loop id -> documented name`` for the loops of `report`, from the names
    `family` (the variable loops) carries; element loop ids are
    ``<variable loop id>[elements]``."""
    return {lp.id: family.names[lp.id.split("[")[0]] for lp in report
            if lp.id.split("[")[0] in family.names}
