"""Loop dominance: link, loop and relative loop scores (Loops That Matter).

Schoenberg, Davidsen & Eberlein (2020), "Understanding model behavior
using the Loops that Matter method", *System Dynamics Review* 36(2). From a
run saved every TIME STEP:

* the **link score** of ``x -> z`` at step ``t`` is
  ``|Δz_x / Δz| · sign(Δz_x / Δx)``, where ``Δz_x`` is the change ``z``
  would have made had only ``x`` moved (its equation evaluated at the
  previous step's inputs with ``x`` at its new value) and ``Δz`` the change
  it made. For a stock, ``z`` is its net flow: the score of an inflow is
  ``|Δinflow / Δnet flow|``, of an outflow minus that. A step where ``Δz``
  or ``Δx`` is zero scores 0;
* the **loop score** is the product of the link scores around the loop;
* the **relative loop score** is a loop score over the sum of the absolute
  loop scores of all loops scored (NaN where they are all zero), so the
  relative scores of a step sum to 1 in absolute value; its sign is the
  loop's polarity at that step.

Everything is computed per element: a subscripted model is scored on its
element graph (:mod:`sdkit.structure.elements`), each equation evaluated
for a whole run at once (:mod:`sdkit.structure.vector_eval`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pysd.translators.structures import abstract_expressions as ae

from sdkit.errors import UnsupportedConstructError
from sdkit.model.load import Model
from sdkit.structure.elements import ElementGraph, element_graph, first_order, model_resolver
from sdkit.structure.graph import CONTROL, main_section, name_key
from sdkit.structure.loops import LoopReport
from sdkit.structure.vector_eval import VectorEvaluator

__all__ = ["LoopDominance", "link_scores", "lookup_tables", "loop_scores", "score_inputs",
           "score_loops"]

_STATEFUL = (ae.SmoothStructure, ae.SmoothNStructure, ae.DelayStructure, ae.DelayNStructure,
             ae.DelayFixedStructure, ae.SampleIfTrueStructure, ae.TrendStructure,
             ae.ForecastStructure, ae.InitialStructure)


@dataclass(frozen=True)
class LoopDominance:
    """Loop scores over a run.

    Attributes
    ----------
    loops : LoopReport
        The loops scored (their ids name the columns); on a subscripted
        model one loop per element path (``R3[Enshi]``).
    scores : pandas.DataFrame
        Relative loop scores, indexed by time, one column per loop id; NaN
        where no loop is active. Columns of a step sum to 1 in absolute value.
    raw : pandas.DataFrame or None
        Loop scores (products of link scores), same shape.
    method : str
        How the loops were found: ``"all loops"`` or the strongest-path
        search and the steps it looked at.
    names : mapping
        ``loop id -> name`` the model's documentation gives (see
        :mod:`sdkit.structure.named_loops`).
    """

    loops: LoopReport
    scores: pd.DataFrame
    raw: pd.DataFrame | None = None
    method: str = "all loops"
    names: Mapping[str, str] | None = None

    def to_frame(self) -> pd.DataFrame:
        """The relative loop scores (a copy)."""
        return self.scores.copy()

    def dominant(self, *, every: float | None = None) -> pd.Series:
        """The loop with the largest absolute relative score at each step.

        With `every`, only the steps on that grid (from the first time) count.
        """
        frame = self.scores.abs().dropna(how="all")
        if every is not None and len(frame):
            t0 = float(self.scores.index[0])
            k = (frame.index.to_numpy(dtype=float) - t0) / every
            frame = frame[np.isclose(k, np.round(k), rtol=0.0, atol=1e-6)]
        return frame.idxmax(axis=1)

    def periods(self, *, every: float | None = None) -> list[tuple[float, float, str]]:
        """``(start, end, loop id)`` for each run of steps one loop dominates."""
        out: list[tuple[float, float, str]] = []
        for t, loop_id in self.dominant(every=every).items():
            if out and out[-1][2] == loop_id:
                out[-1] = (out[-1][0], float(t), loop_id)
            else:
                out.append((float(t), float(t), loop_id))
        return out

    def summary(self, *, every: float | None = None, top: int = 5) -> str:
        """Which loop dominates when, as periods, and the loops with the largest mean share.

        Parameters
        ----------
        every : float, optional
            Read dominance on this time grid (e.g. the model's SAVEPER)
            rather than at every step.
        top : int
            How many loops to list by mean absolute relative score.
        """
        periods = self.periods(every=every)
        if not periods:
            return f"{self.loops.model}: no loop activity"
        by_id = {lp.id: lp for lp in self.loops}
        lines = [f"{self.loops.model}: dominant loop by period "
                 f"({len(self.loops)} loops scored; {self.method})"]
        for start, end, loop_id in periods:
            lines.append(f"  {start:g} - {end:g}: {self._label(by_id[loop_id])}")
        lines.append("loops with the largest mean |relative score|:")
        share = self.scores.abs().mean().sort_values(ascending=False).head(top)
        for loop_id, value in share.items():
            lines.append(f"  {value:.3f}  {self._label(by_id[loop_id])}")
        return "\n".join(lines)

    def to_dict(self, *, every: float | None = None, top: int = 5) -> dict:
        """:meth:`summary` as plain data: method, periods and the loops with the largest share."""
        names = self.names or {}
        share = self.scores.abs().mean().sort_values(ascending=False).head(top)
        return {"method": self.method, "n_loops": len(self.loops),
                "periods": [{"start": a, "end": b, "loop": i, "name": names.get(i, "")}
                            for a, b, i in self.periods(every=every)],
                "largest_mean_share": [{"loop": i, "name": names.get(i, ""), "share": float(v)}
                                       for i, v in share.items()]}

    def _label(self, loop) -> str:
        name = (self.names or {}).get(loop.id)
        families = [v.split("[")[0] for v in loop.variables]
        shown = " -> ".join(families[:8]) + (" -> ..." if len(families) > 8 else "")
        named = f' "{name}"' if name else ""
        return f"{loop.id}{named} ({loop.polarity}, {len(loop)} links) {shown}"


def _control_columns(model: Model, time: np.ndarray) -> dict[str, np.ndarray]:
    """INITIAL TIME, FINAL TIME, TIME STEP and SAVEPER of the run, as columns."""
    dt = float(time[1] - time[0]) if len(time) > 1 else model.time_settings.dt
    saveper = model.time_settings.saveper or dt
    values = {"initial time": float(time[0]), "final time": float(time[-1]),
              "time step": dt, "saveper": dt if model.saveper_follows_dt else saveper}
    section = main_section(model.abstract)
    return {el.name: np.full(len(time), values[name_key(el.name)])
            for el in section.elements if name_key(el.name) in CONTROL}


def lookup_tables(model: Model) -> dict[str, object]:
    """``name_key -> LookupsStructure`` of the model's lookup tables."""
    section = main_section(model.abstract)
    return {name_key(el.name): el.components[0].ast for el in section.elements
            if el.components and isinstance(el.components[0].ast, ae.LookupsStructure)}


def _expression(graph: ElementGraph, node: str):
    """What a link into `node` changes: its equation, or a stock's net flow."""
    eq = graph.equations[node]
    if first_order(eq.ast):  # (input - itself) / time
        time = eq.ast.smooth_time if hasattr(eq.ast, "smooth_time") else eq.ast.delay_time
        gap = ae.ArithmeticStructure(["-"], (eq.ast.input, ae.ReferenceStructure(eq.variable)))
        return ae.ArithmeticStructure(["/"], (gap, time))
    ast = eq.ast.flow if eq.is_stock else eq.ast
    if isinstance(ast, _STATEFUL):
        raise UnsupportedConstructError(
            f"loop scores: {node!r} is a {type(ast).__name__.replace('Structure', '')}: "
            "delays and smooths of order above 1 inside a loop are not scored (write them "
            "as stocks)")
    return ast


def score_inputs(model: Model, links: Iterable[tuple[str, str]],
                 graph: ElementGraph | None = None) -> list[str]:
    """The variables a run must save (every TIME STEP) to score `links`.

    Parameters
    ----------
    model : sdkit.Model
    links : iterable of (str, str)
        Element links ``(source, target)`` to score.
    graph : ElementGraph, optional
        The model's element graph (built if not given).

    Returns
    -------
    list of str
        Variable names: every target and every input of a target's equation.

    Raises
    ------
    UnsupportedConstructError
        A target is a delay, smooth or other stateful function.
    """
    graph = graph if graph is not None else element_graph(model)
    targets = {b for _, b in links}
    wanted = set()
    inputs: dict[str, set[str]] = {}
    for lk in graph.links:
        inputs.setdefault(lk.target, set()).add(lk.source)
    for node in targets:
        _expression(graph, node)
        wanted.add(graph.family[node])
        wanted.update(graph.family[s] for s in inputs.get(node, ()) if s in graph.family)
    return sorted(wanted)


def link_scores(model: Model, run: pd.DataFrame, links: Iterable[tuple[str, str]],
                graph: ElementGraph | None = None) -> dict[tuple[str, str], np.ndarray]:
    """Link scores of element links over one run.

    Parameters
    ----------
    model : sdkit.Model
    run : pandas.DataFrame
        A run saved every TIME STEP (index time; one column per element,
        named as the engine names them) holding :func:`score_inputs`.
    links : iterable of (str, str)
        ``(source, target)`` element links.
    graph : ElementGraph, optional

    Returns
    -------
    dict
        ``(source, target) -> array`` over the run's steps (0 at the first).
    """
    graph = graph if graph is not None else element_graph(model)
    evaluate = VectorEvaluator(model_resolver(model), lookup_tables(model))
    time = run.index.to_numpy(dtype=float)
    columns = dict(zip(run.columns, run.to_numpy(dtype=float).T))
    columns.update(_control_columns(model, time))
    by_target: dict[str, list[str]] = {}
    for a, b in links:
        by_target.setdefault(b, []).append(a)
    out = {}
    for target, sources in by_target.items():
        ast, binding = _expression(graph, target), graph.equations[target].binding
        now = evaluate(ast, binding, lambda n: columns[n][1:], time[1:], where=target)
        base = evaluate(ast, binding, lambda n: columns[n][:-1], time[:-1], where=target)
        dz = now - base
        for source in sources:
            def mixed(n, source=source):
                return columns[n][1:] if n == source else columns[n][:-1]
            dzx = evaluate(ast, binding, mixed, time[:-1], where=target) - base
            dx = columns[source][1:] - columns[source][:-1]
            score = np.zeros(len(time))
            with np.errstate(all="ignore"):
                ok = (dz != 0) & (dx != 0) & np.isfinite(dzx)
                score[1:][ok] = np.abs(dzx[ok] / dz[ok]) * np.sign(dzx[ok] / dx[ok])
            out[(source, target)] = score
    return out


def loop_scores(loops: LoopReport, scores: Mapping[tuple[str, str], np.ndarray],
                index: pd.Index) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Loop scores and relative loop scores from link scores.

    Returns
    -------
    (raw, relative) : pandas.DataFrame
        One column per loop id, indexed by `index`.
    """
    raw = {}
    for lp in loops:
        total = np.ones(len(index))
        for a, b in zip(lp.variables, lp.variables[1:] + lp.variables[:1]):
            total = total * scores[(a, b)]
        raw[lp.id] = total
    frame = pd.DataFrame(raw, index=index, columns=[lp.id for lp in loops])
    denom = frame.abs().sum(axis=1).replace(0.0, np.nan)
    return frame, frame.div(denom, axis=0)


def score_loops(model: Model, run: pd.DataFrame, loops: LoopReport, *,
                graph: ElementGraph | None = None, method: str = "all loops",
                names: Mapping[str, str] | None = None) -> LoopDominance:
    """Relative loop scores of `loops` over one run (Loops That Matter).

    Parameters
    ----------
    model : sdkit.Model
    run : pandas.DataFrame
        A run saved every TIME STEP holding the columns of :func:`score_inputs`.
    loops : LoopReport
        Element loops to score (scalar models: :func:`sdkit.find_loops`).
    graph : ElementGraph, optional
    method, names
        Stored on the result (see :class:`LoopDominance`).

    Returns
    -------
    LoopDominance

    Raises
    ------
    UnsupportedConstructError
        A loop passes through a delay or smooth, or an equation uses a
        function the evaluator does not know.
    """
    graph = graph if graph is not None else element_graph(model)
    needed = {(a, b) for lp in loops
              for a, b in zip(lp.variables, lp.variables[1:] + lp.variables[:1])}
    scores = link_scores(model, run, sorted(needed), graph)
    raw, relative = loop_scores(loops, scores, run.index)
    return LoopDominance(loops, relative, raw, method, names)
