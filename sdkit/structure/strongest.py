"""The strongest-path loop search (after Eberlein & Schoenberg 2020), stock to stock.

Eberlein & Schoenberg (2020, "Finding the loops that matter", ISDC) find
the loops that matter without enumerating them all: at a step, from each
stock, a search follows links weighted by their absolute link score (a
path's strength is the product of its scores) and keeps the strong loops
that close on the stock.

sdkit runs that search on the *stock graph*. Every feedback loop passes
through a stock (a model has no algebraic loops), so it splits into
stock-to-stock segments through auxiliaries and flows only. Those form an
acyclic graph, so the strongest segment from every stock to every stock is
found exactly, for all stocks at once, by one pass over the auxiliaries in
topological order (numpy). On the stock graph a best-first search from each
stock (Dijkstra on products) settles every stock once, strongest first, and
keeps the strongest loop closing on the start stock; that loop is expanded
back into its segments (a loop whose segments share a variable is not
elementary and is dropped).

What differs from the paper, and why: the paper's depth-first search keeps
*every* loop it closes, pruning a path that reaches a variable more weakly
than an earlier one; on IIS's stock graph (76 stocks, nearly all linked to
each other) that visits millions of paths per step. sdkit keeps one loop per
stock and step, the strongest the best-first search finds: exact when the
segment scores are at most 1, a greedy choice where a score exceeds 1.
The loops kept are the union over the sampled steps.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from sdkit.structure.elements import ElementGraph
from sdkit.structure.loops import strongly_connected

__all__ = ["strongest_loops"]


def strongest_loops(graph: ElementGraph, scores: Mapping[tuple[str, str], np.ndarray],
                    steps: Sequence[int]) -> list[list[str]]:
    """Loops found by the strongest-path search at the given steps.

    Parameters
    ----------
    graph : ElementGraph
    scores : mapping
        ``(source, target) -> link score array`` for every link inside a
        strongly connected component of `graph`.
    steps : sequence of int
        Indices of the steps to search at.

    Returns
    -------
    list of list of str
        Distinct elementary loops, each once, in the order found.
    """
    succ = graph.successors()
    found: dict[frozenset, list[str]] = {}
    for comp in strongly_connected(list(graph.nodes), succ):
        if len(comp) < 2 and not any(b in comp for b in succ.get(next(iter(comp)), ())):
            continue
        _search_component(graph, comp, scores, steps, found)
    return list(found.values())


def _levels(n: int, pairs, is_stock: list[bool]) -> list[int]:
    """Depth of each non-stock node in the acyclic graph of auxiliaries (stocks: 0).

    Stocks as targets get one level past the deepest auxiliary, so segments
    into stocks are closed last. A node on an algebraic cycle (an invalid
    model) keeps level -1 and is left out.
    """
    level = [0 if is_stock[i] else -1 for i in range(n)]
    inputs: dict[int, list[int]] = {}
    for a, b in pairs:
        if not is_stock[b]:
            inputs.setdefault(b, []).append(a)
    changed = True
    for _ in range(n + 1):
        if not changed:
            break
        changed = False
        for v, us in inputs.items():
            if all(level[u] >= 0 for u in us):
                new = 1 + max(level[u] for u in us)
                if new != level[v]:
                    level[v], changed = new, True
    top = max(level) + 1
    return [top if is_stock[i] else level[i] for i in range(n)]


def _groups(pairs, level: list[int]):
    """Edges by level of their target, sorted by target: (edges, sources, targets, starts)."""
    by_level: dict[int, list[int]] = {}
    for e, (_, b) in enumerate(pairs):
        if level[b] > 0:
            by_level.setdefault(level[b], []).append(e)
    out = []
    for lev in sorted(by_level):
        edges = np.array(sorted(by_level[lev], key=lambda e: pairs[e][1]))
        sources = np.array([pairs[e][0] for e in edges])
        targets = np.array([pairs[e][1] for e in edges])
        starts = np.flatnonzero(np.r_[True, targets[1:] != targets[:-1]])
        out.append((edges, sources, targets[starts], starts, np.diff(np.r_[starts, len(edges)])))
    return out


def _search_component(graph, comp, scores, steps, found) -> None:
    nodes = [n for n in graph.nodes if n in comp]
    index = {n: i for i, n in enumerate(nodes)}
    is_stock = [graph.equations[n].is_stock for n in nodes]
    stocks = [i for i in range(len(nodes)) if is_stock[i]]
    pairs = [(index[a], index[b]) for a, b in scores if a in comp and b in comp]
    if not stocks or not pairs:
        return
    weights = np.abs(np.stack([scores[(nodes[a], nodes[b])] for a, b in pairs]))
    weights = np.where(np.isfinite(weights), weights, 0.0)[:, list(steps)]
    groups = _groups(pairs, _levels(len(nodes), pairs, is_stock))
    for col in weights.T:
        best = np.zeros((len(stocks), len(nodes)))
        best[:, stocks] = np.eye(len(stocks))
        parent = np.full((len(stocks), len(nodes)), -1)
        arrive = np.zeros((len(stocks), len(stocks)))
        for edges, sources, targets, starts, counts in groups:
            cand = best[:, sources] * col[edges]
            top = np.maximum.reduceat(cand, starts, axis=1)
            local = np.where(cand == np.repeat(top, counts, axis=1),
                             np.arange(len(edges)), -1)
            pick = np.maximum.reduceat(local, starts, axis=1)
            parent[:, targets] = np.where(top > 0, sources[pick], -1)
            if is_stock[targets[0]]:  # segments closing on stocks: keep the seeds
                arrive[:, [stocks.index(t) for t in targets]] = top
            else:
                best[:, targets] = top
        parents = parent.tolist()
        for cycle in _strongest_cycles(arrive):
            full = _expand(cycle, stocks, parents)
            if full is not None:
                key = frozenset(zip(full, full[1:] + full[:1]))
                found.setdefault(key, [nodes[i] for i in full])


def _strongest_cycles(link: np.ndarray) -> list[list[int]]:
    """The strongest loop through each stock of the stock graph (best-first search).

    From each stock at once, a best-first (Dijkstra) search on the products
    of segment scores settles every stock once, strongest first; the loop
    closed by the settled stock with the strongest path back is kept. Exact
    when scores are at most 1, a greedy choice where they exceed it.
    """
    n = len(link)
    rows = np.arange(n)
    score = link.copy()
    score[rows, rows] = 0.0
    pred = np.tile(rows[:, None], (1, n))
    settled = np.eye(n, dtype=bool)
    close = link[rows, rows].copy()
    close_from = rows.copy()
    for _ in range(n - 1):
        masked = np.where(settled, -1.0, score)
        pick = masked.argmax(axis=1)
        value = masked[rows, pick]
        active = value > 0
        if not active.any():
            break
        settled[rows[active], pick[active]] = True
        closing = np.where(active, value * link[pick, rows], 0.0)
        better = closing > close
        close[better], close_from[better] = closing[better], pick[better]
        new = value[:, None] * link[pick, :]
        update = (new > score) & ~settled & active[:, None]
        score[update] = new[update]
        pred[update] = np.broadcast_to(pick[:, None], (n, n))[update]
    out = []
    for r in range(n):
        if close[r] <= 0:
            continue
        cycle, u = [], int(close_from[r])
        while u != r and len(cycle) <= n:
            cycle.append(u)
            u = int(pred[r, u])
        out.append([r] + cycle[::-1])
    return out


def _expand(cycle: list[int], stocks: list[int], parent: list[list[int]]) -> list[int] | None:
    """The element loop of a stock-graph loop (None if its segments cross)."""
    full: list[int] = []
    for a, b in zip(cycle, cycle[1:] + cycle[:1]):
        segment = []
        u = parent[a][stocks[b]]
        while u != stocks[a]:
            if u < 0 or len(segment) > len(parent[a]):
                return None
            segment.append(u)
            u = parent[a][u]
        full.append(stocks[a])
        full.extend(reversed(segment))
    return full if len(set(full)) == len(full) else None
