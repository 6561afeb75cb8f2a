"""Feedback loops between elements: all of them, or the strongest ones.

A subscripted model has far more element loops than variable loops (IIS:
2,766 loops between variables, millions between the elements of its four
coupled cities). :func:`all_element_loops` enumerates them (Johnson's
algorithm) up to a cap; past it,
:func:`sdkit.structure.strongest.strongest_loops` finds the loops that
matter as Eberlein & Schoenberg (2020) do.

:func:`label_loops` names element loops after the variable loop they run
along (:func:`sdkit.find_loops` ids): ``R3[Enshi]`` is loop R3 within
Enshi, ``R4[Yichang>Jingzhou]`` visits Yichang then Jingzhou.
"""

from __future__ import annotations

from collections.abc import Sequence

from sdkit.structure.elements import ElementGraph
from sdkit.structure.loops import ID_PREFIX, Loop, LoopReport, polarity_of, simple_cycles

__all__ = ["all_element_loops", "label_loops"]


def all_element_loops(graph: ElementGraph, *, max_loops: int) -> list[list[str]] | None:
    """Every elementary cycle of the element graph, or None past `max_loops`."""
    cycles = []
    for cycle in simple_cycles(list(graph.nodes), graph.successors()):
        cycles.append(cycle)
        if len(cycles) > max_loops:
            return None
    return cycles


def _canonical(cycle: Sequence[str]) -> tuple[str, ...]:
    i = min(range(len(cycle)), key=lambda k: cycle[k])
    return tuple(cycle[i:]) + tuple(cycle[:i])


def _root(families: list[str]) -> list[str]:
    n = len(families)
    for p in range(1, n + 1):
        if n % p == 0 and families == families[:p] * (n // p):
            return families[:p]
    return families


def label_loops(cycles: list[list[str]], graph: ElementGraph, family: LoopReport,
                model: str) -> LoopReport:
    """Element loops as a :class:`LoopReport`, named after their variable loop.

    Each cycle starts at its first stock (model order); loops are sorted by
    variable loop, then length, then elements.
    """
    rank = {n: i for i, n in enumerate(graph.nodes)}
    by_family = {_canonical(lp.variables): lp for lp in family}
    sign_of = {(lk.source, lk.target): lk.polarity for lk in graph.links}
    extra = dict.fromkeys(ID_PREFIX, 0)
    rows = []
    for cycle in cycles:
        stocks = [n for n in cycle if graph.equations[n].is_stock] or cycle
        i = cycle.index(min(stocks, key=lambda n: rank[n]))
        cycle = cycle[i:] + cycle[:i]
        pols = tuple(sign_of[(a, b)] for a, b in zip(cycle, cycle[1:] + cycle[:1]))
        polarity = polarity_of(pols)
        parent = by_family.get(_canonical(_root([graph.family[n] for n in cycle])))
        rows.append((parent, cycle, pols, polarity))
    order = {lp.id: i for i, lp in enumerate(family)}
    rows.sort(key=lambda r: (order.get(r[0].id, len(order)) if r[0] else len(order),
                             len(r[1]), [rank[n] for n in r[1]]))
    loops, seen = [], set()
    for parent, cycle, pols, polarity in rows:
        if parent is None:
            extra[polarity] += 1
            base = f"{ID_PREFIX[polarity]}x{extra[polarity]}"
        else:
            base = parent.id
        elems = []
        for n in cycle:
            suffix = n[len(graph.family[n]):].strip("[]")
            if suffix and suffix not in elems:
                elems.append(suffix)
        loop_id = f"{base}[{'>'.join(elems)}]" if elems else base
        k = 2
        while loop_id in seen:
            loop_id, k = f"{loop_id.split('#')[0]}#{k}", k + 1
        seen.add(loop_id)
        loops.append(Loop(loop_id, tuple(cycle), pols, polarity))
    return LoopReport(model, tuple(loops))
