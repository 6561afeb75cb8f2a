"""Feedback loops: every elementary cycle of a model's causal graph.

:func:`find_loops` enumerates cycles with Johnson's algorithm (1975) over the
links of :func:`sdkit.structure.graph.model_graph` (initial-value links excluded) and
gives each loop its polarity: the product of its link signs, *reinforcing*
(``R``) if positive, *balancing* (``B``) if negative, *ambiguous* (``U``) if
any link is ``?``. Loops the model's documentation names (its sidecar's
``[loops]`` table, :mod:`sdkit.structure.named_loops`) come first, under the
documented ids.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import pandas as pd

from sdkit.errors import InvalidValueError
from sdkit.model.sidecar import sidecar_path
from sdkit.structure.graph import ModelGraph, model_graph
from sdkit.structure.named_loops import DocumentedIds, documented_ids, documented_loops

__all__ = ["Loop", "LoopReport", "find_loops", "simple_cycles", "strongly_connected",
           "polarity_of", "ID_PREFIX"]

#: the first letter of a loop id, by polarity
ID_PREFIX = {"reinforcing": "R", "balancing": "B", "ambiguous": "U"}


def polarity_of(signs: Sequence[str]) -> str:
    """A loop's polarity from its link signs: ``"ambiguous"`` if any is ``?``, else
    ``"balancing"`` for an odd number of ``-``, else ``"reinforcing"``."""
    if "?" in signs:
        return "ambiguous"
    return "balancing" if list(signs).count("-") % 2 else "reinforcing"


@dataclass(frozen=True)
class Loop:
    """One feedback loop.

    Attributes
    ----------
    id : str
        ``R1``, ``B2``, ``U1`` ... (numbered by length, then name).
    variables : tuple of str
        The variables in link order; the last links back to the first. The
        loop starts at its first stock (in model order), if it has one.
    polarities : tuple of str
        Sign of each link ``variables[i] -> variables[i+1]`` (cyclically).
    polarity : str
        ``"reinforcing"``, ``"balancing"`` or ``"ambiguous"``.
    """

    id: str
    variables: tuple[str, ...]
    polarities: tuple[str, ...]
    polarity: str

    def __len__(self) -> int:
        return len(self.variables)

    def describe(self) -> str:
        """``A -(+)-> B -(-)-> A``."""
        parts = []
        for name, sign in zip(self.variables, self.polarities):
            parts.append(f"{name} -({sign})->")
        return " ".join(parts) + f" {self.variables[0]}"


@dataclass(frozen=True)
class LoopReport:
    """All feedback loops of a model.

    Attributes
    ----------
    model : str
    loops : tuple of Loop
    names : mapping
        ``loop id -> name`` of the loops the model's documentation names
        (listed first, under the documented ids).
    unmatched : tuple of str
        Documented loops no loop of the model fits.
    notes : tuple of str
        Documented names whose ``R``/``B`` disagrees with the polarity.
    """

    model: str
    loops: tuple[Loop, ...]
    names: Mapping[str, str] = field(default_factory=dict, hash=False)
    unmatched: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.loops)

    def __iter__(self) -> Iterator[Loop]:
        return iter(self.loops)

    def counts(self) -> dict[str, int]:
        """Number of reinforcing, balancing and ambiguous loops."""
        out = {"reinforcing": 0, "balancing": 0, "ambiguous": 0}
        for loop in self.loops:
            out[loop.polarity] += 1
        return out

    def to_frame(self):
        """One row per loop: id, polarity, length, variables (and name, where documented)."""
        names = self.names
        columns = ["id", "polarity", "length", "variables"] + (["name"] if names else [])
        return pd.DataFrame(
            [{"id": lp.id, "polarity": lp.polarity, "length": len(lp),
              "variables": " -> ".join(lp.variables), "name": names.get(lp.id, "")}
             for lp in self.loops],
            columns=columns,
        )

    def to_dict(self, *, loops: bool = True) -> dict:
        """Counts, the documented loops, and every loop (unless `loops` is false)."""
        def row(lp: Loop) -> dict:
            return {"id": lp.id, "name": self.names.get(lp.id, ""), "polarity": lp.polarity,
                    "variables": list(lp.variables), "links": list(lp.polarities)}
        return {"model": self.model, "n_loops": len(self), "counts": self.counts(),
                "documented": [row(lp) for lp in self.loops if lp.id in self.names],
                "unmatched": list(self.unmatched), "notes": list(self.notes),
                **({"loops": [row(lp) for lp in self.loops]} if loops else {})}

    def headline(self) -> str:
        """``MODEL: 3 feedback loop(s): 1 reinforcing, 2 balancing, 0 ambiguous``."""
        c = self.counts()
        return (f"{self.model}: {len(self.loops)} feedback loop(s): {c['reinforcing']} "
                f"reinforcing, {c['balancing']} balancing, {c['ambiguous']} ambiguous")

    def summary(self, *, loops: bool = True) -> str:
        """A readable listing: documented loops first with their names in quotes.

        With `loops` false, only the headline, the documented loops and the notes.
        """
        names = self.names
        lines = [self.headline()]
        for loop in self.loops:
            name = names.get(loop.id)
            if loops or name:
                named = f'"{name}" ' if name else ""
                lines.append(f"  {loop.id:<5} {loop.polarity:<12} {named}{loop.describe()}")
        lines += [f"  documented loop {label!r} matches no loop of the model"
                  for label in self.unmatched]
        lines += [f"  note: {note}" for note in self.notes]
        return "\n".join(lines)


def _sccs(nodes: Sequence[Hashable], succ: Mapping[Hashable, Sequence[Hashable]]
          ) -> list[set[Hashable]]:
    """Strongly connected components (Tarjan, iterative)."""
    index: dict[Hashable, int] = {}
    low: dict[Hashable, int] = {}
    on_stack: set[Hashable] = set()
    stack: list[Hashable] = []
    out: list[set[Hashable]] = []
    counter = 0
    for root in nodes:
        if root in index:
            continue
        work = [(root, iter(succ.get(root, ())))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, it = work[-1]
            advanced = False
            for nxt in it:
                if nxt not in index:
                    index[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(succ.get(nxt, ()))))
                    advanced = True
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                comp = set()
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    comp.add(w)
                    if w == node:
                        break
                out.append(comp)
    return out


def strongly_connected(nodes: Sequence[Hashable], succ: Mapping[Hashable, Sequence[Hashable]]
                       ) -> list[set[Hashable]]:
    """Strongly connected components of a directed graph (Tarjan, iterative).

    Parameters
    ----------
    nodes : sequence
    succ : mapping
        ``node -> successors``.
    """
    return _sccs(nodes, succ)


def simple_cycles(nodes: Sequence[Hashable], succ: Mapping[Hashable, Sequence[Hashable]]
                  ) -> Iterator[list[Hashable]]:
    """Every elementary cycle of a directed graph (Johnson's algorithm).

    Parameters
    ----------
    nodes : sequence
        The nodes; cycles start at their earliest node in this order.
    succ : mapping
        ``node -> successors``.
    """
    order = {n: i for i, n in enumerate(nodes)}
    for start_i, start in enumerate(nodes):
        allowed = {n for n in nodes if order[n] >= start_i}
        sub = {n: [m for m in succ.get(n, ()) if m in allowed] for n in allowed}
        comp = next((c for c in _sccs([n for n in nodes if n in allowed], sub) if start in c),
                    set())
        if start in sub.get(start, ()):
            yield [start]
        if len(comp) < 2:
            continue
        graph = {n: [m for m in sub[n] if m in comp and m != n] for n in comp}
        blocked: set[Hashable] = {start}
        blocked_map: dict[Hashable, set[Hashable]] = {n: set() for n in comp}
        path = [start]
        work = [(start, iter(graph[start]))]
        closed = [False]

        def unblock(node, blocked=blocked, blocked_map=blocked_map):
            pending = [node]
            while pending:
                n = pending.pop()
                if n in blocked:
                    blocked.discard(n)
                    pending.extend(blocked_map[n])
                    blocked_map[n].clear()

        while work:
            node, it = work[-1]
            nxt = next(it, None)
            if nxt is not None:
                if nxt == start:
                    yield list(path)
                    closed[-1] = True
                elif nxt not in blocked:
                    path.append(nxt)
                    blocked.add(nxt)
                    work.append((nxt, iter(graph[nxt])))
                    closed.append(False)
                continue
            work.pop()
            path.pop()
            found = closed.pop()
            if found:
                unblock(node)
            else:
                for m in graph[node]:
                    blocked_map[m].add(node)
            if closed:
                closed[-1] = closed[-1] or found


def _rotate(cycle: list[str], graph: ModelGraph) -> list[str]:
    rank = {v: i for i, v in enumerate(graph.variables)}
    stocks = [v for v in cycle if v in graph.stocks]
    first = min(stocks or cycle, key=lambda v: rank.get(v, len(rank)))
    i = cycle.index(first)
    return cycle[i:] + cycle[:i]


def find_loops(model, *, max_loops: int = 100_000, documented: bool = True) -> LoopReport:
    """Enumerate every elementary feedback loop of a model.

    Parameters
    ----------
    model : sdkit.Model, ModelGraph or path-like
        The model (or its graph).
    max_loops : int, default 100000
        Stop with :class:`~sdkit.errors.InvalidValueError` if a model has
        more loops than this (large models can have millions).
    documented : bool, default True
        Give the loops the model's sidecar names (``[loops]`` in
        ``MODEL.sdkit.toml``) their documented ids, listed first
        (:func:`sdkit.structure.named_loops.documented_ids`).

    Returns
    -------
    LoopReport
        Loops sorted by length, then by their variables (documented loops first).

    Raises
    ------
    SpecError
        The sidecar's ``[loops]`` table is invalid or names an unknown variable.

    Examples
    --------
    >>> report = find_loops("tests/models/teacup.mdl")
    >>> [(lp.id, lp.variables) for lp in report]
    [('B1', ('Teacup Temperature', 'Heat Loss to Room'))]
    """

    graph = model if isinstance(model, ModelGraph) else model_graph(model)
    path = None if isinstance(model, ModelGraph) else getattr(model, "path", model)
    name = "model" if path is None else path
    signs: dict[tuple[str, str], str] = {}
    succ: dict[str, list[str]] = {}
    for link in graph.links:
        if link.kind == "init":
            continue
        key = (link.source, link.target)
        old = signs.get(key)
        signs[key] = link.polarity if old in (None, link.polarity) else "?"
        if link.target not in succ.setdefault(link.source, []):
            succ[link.source].append(link.target)
    cycles = []
    for cycle in simple_cycles(list(graph.variables), succ):
        cycles.append(_rotate(cycle, graph))
        if len(cycles) > max_loops:
            raise InvalidValueError(f"{name}: more than {max_loops} feedback loops; "
                                    "raise max_loops to enumerate them all")
    cycles.sort(key=lambda c: (len(c), c))
    loops = []
    for cycle in cycles:
        pols = tuple(signs[(a, b)] for a, b in zip(cycle, cycle[1:] + cycle[:1]))
        loops.append(Loop("", tuple(cycle), pols, polarity_of(pols)))
    named = documented_loops(path) if documented and path is not None else {}
    doc = (documented_ids(loops, named, graph.variables, where=str(sidecar_path(path)))
           if named else DocumentedIds({}, {}))
    return LoopReport(str(name), _numbered(loops, doc.ids), doc.names, doc.unmatched,
                      doc.notes)


def _numbered(loops: list[Loop], documented: Mapping[int, str]) -> tuple[Loop, ...]:
    """The loops' one numbering: those at the positions `documented` gives first, under
    its ids and in its order; then the others ``R``, ``B``, ``U`` by length, skipping
    the documented ids."""
    first = [dataclasses.replace(loops[i], id=new) for i, new in documented.items()]
    taken, counters, rest = set(documented.values()), dict.fromkeys(ID_PREFIX, 0), []
    for i, loop in enumerate(loops):
        if i in documented:
            continue
        new = ""
        while not new or new in taken:
            counters[loop.polarity] += 1
            new = f"{ID_PREFIX[loop.polarity]}{counters[loop.polarity]}"
        rest.append(dataclasses.replace(loop, id=new))
    return tuple(first + rest)
