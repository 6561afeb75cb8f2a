"""Loop dominance over a run: the loop score of Schoenberg, Davidsen & Eberlein.

Schoenberg, W., Davidsen, P. & Eberlein, R. (2020), "Understanding model
behavior using the Loops that Matter method", *System Dynamics Review* 36(2),
158-190. For each saved step ``t`` (the run saves every ``dt``):

* link ``x -> z`` between auxiliaries: ``LS = |Δ_x z / Δz| * sign(Δ_x z / Δx)``
  where ``Δ_x z = f(x_t, others_{t-dt}) - z_{t-dt}`` is the change of ``z``
  had only ``x`` changed;
* link flow ``f -> stock s``: ``LS = ±|Δf / Δ(net flow of s)|`` (``+`` for an
  inflow, ``-`` for an outflow);
* loop score = product of its link scores; relative loop score = loop score
  divided by the sum of the absolute loop scores at that step.

Equations are evaluated from PySD's abstract model by a small evaluator
that knows arithmetic, comparisons, ``IF THEN ELSE``, ``MIN``/``MAX``/
``ABS``/``EXP``/``LN``/``SQRT``/``XIDZ``/``ZIDZ`` and lookup tables; loops
through subscripted variables, delays or smooths raise
:class:`~sdkit.errors.UnsupportedConstructError`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pysd.translators.structures import abstract_expressions as ae

from sdkit.errors import UnsupportedConstructError
from sdkit.model.load import Model
from sdkit.structure.graph import main_section, model_graph, name_key
from sdkit.structure.loops import LoopReport

__all__ = ["LoopDominance", "score_inputs", "score_loops"]

_FUNCTIONS = {
    "min": min, "max": max, "abs": abs, "exp": math.exp, "ln": math.log, "sqrt": math.sqrt,
    "integer": lambda v: float(int(v)),
    "xidz": lambda a, b, x: x if b == 0 else a / b,
    "zidz": lambda a, b: 0.0 if b == 0 else a / b,
    "if_then_else": lambda c, a, b: a if c else b,
}
_BINARY = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b,
           "/": lambda a, b: a / b, "^": lambda a, b: a ** b}
_LOGIC = {"=": lambda a, b: a == b, "<>": lambda a, b: a != b, "<": lambda a, b: a < b,
          ">": lambda a, b: a > b, "<=": lambda a, b: a <= b, ">=": lambda a, b: a >= b,
          ":and:": lambda a, b: a and b, ":or:": lambda a, b: a or b}


@dataclass(frozen=True)
class LoopDominance:
    """Relative loop scores over a run.

    Attributes
    ----------
    loops : LoopReport
        The loops scored (their ids name the columns).
    scores : pandas.DataFrame
        Relative loop scores, indexed by time, one column per loop id; NaN
        where nothing changes. Columns of a step sum to 1 in absolute value.
    """

    loops: LoopReport
    scores: pd.DataFrame

    def to_frame(self) -> pd.DataFrame:
        """The relative loop scores (a copy)."""
        return self.scores.copy()

    def dominant(self) -> pd.Series:
        """The loop with the largest absolute relative score at each step."""
        return self.scores.abs().dropna(how="all").idxmax(axis=1)

    def summary(self) -> str:
        """Which loop dominates when, as periods of time."""
        dom = self.dominant()
        if dom.empty:
            return f"{self.loops.model}: no loop activity"
        lines = [f"{self.loops.model}: dominant loop by period"]
        start, current = dom.index[0], dom.iloc[0]
        names = {lp.id: lp for lp in self.loops}
        for t, loop_id in list(dom.items())[1:] + [(None, None)]:
            if loop_id != current:
                end = t if t is not None else dom.index[-1]
                lp = names[current]
                lines.append(f"  {start:g} - {end:g}: {current} ({lp.polarity}) "
                             + " -> ".join(lp.variables))
                start, current = t, loop_id
        return "\n".join(lines)


class _Evaluator:
    def __init__(self, real: Mapping[str, str], lookups: Mapping[str, object]):
        self.real = real
        self.lookups = lookups

    def __call__(self, node, values: Mapping[str, float], time: float) -> float:
        if isinstance(node, bool):
            return float(node)
        if isinstance(node, int | float | np.number):
            return float(node)
        if isinstance(node, ae.ReferenceStructure):
            if node.subscripts:
                raise UnsupportedConstructError("loop scores: subscripted reference "
                                                f"{node.reference!r}")
            key = name_key(node.reference)
            return time if key == "time" else values[self.real[key]]
        if isinstance(node, ae.ArithmeticStructure):
            args = [self(a, values, time) for a in node.arguments]
            if len(args) == 1:
                return -args[0] if node.operators[0] == "negative" else args[0]
            acc = args[0]
            for op, arg in zip(node.operators, args[1:]):
                acc = _BINARY[op](acc, arg)
            return acc
        if isinstance(node, ae.LogicStructure):
            args = [self(a, values, time) for a in node.arguments]
            if len(args) == 1:
                return float(not args[0])
            return float(_LOGIC[node.operators[0].lower()](args[0], args[1]))
        if isinstance(node, ae.CallStructure):
            fn = node.function.reference if isinstance(node.function,
                                                       ae.ReferenceStructure) else ""
            args = [self(a, values, time) for a in node.arguments]
            table = self.lookups.get(name_key(fn))
            if table is not None:
                return float(np.interp(args[0], table.x, table.y))
            if fn in _FUNCTIONS:
                return float(_FUNCTIONS[fn](*args))
        raise UnsupportedConstructError(f"loop scores: cannot evaluate {type(node).__name__}")


def score_inputs(model: Model, loops: LoopReport) -> list[str]:
    """The variables a run must save (every TIME STEP) for :func:`score_loops`.

    Raises
    ------
    UnsupportedConstructError
        A loop passes through a subscripted variable, a delay or a smooth.
    """
    graph = model_graph(model)
    section = main_section(model.abstract)
    elements = {el.name: el for el in section.elements}
    in_loops = {v for lp in loops for v in lp.variables}
    for name in in_loops:
        comps = elements[name].components
        if len(comps) != 1 or comps[0].subscripts[0]:
            raise UnsupportedConstructError(f"{model.path}: loop scores: {name!r} is "
                                            "subscripted")
        if not isinstance(comps[0].ast, ae.IntegStructure) and any(
                lk.delayed for lk in graph.links if lk.target == name):
            raise UnsupportedConstructError(f"{model.path}: loop scores: {name!r} is a delay "
                                            "or smooth")
    inputs = ({lk.source for lk in graph.links if lk.target in in_loops} | in_loops) \
        - set(graph.lookups)
    return sorted(n for n in inputs if n in elements)


def score_loops(model: Model, run: pd.DataFrame, loops: LoopReport) -> LoopDominance:
    """Relative loop scores of `loops` over one run (Loops That Matter, scalar models).

    Parameters
    ----------
    model : sdkit.Model
        A model whose loops run through scalar variables only.
    run : pandas.DataFrame
        A run saved every TIME STEP (index time) holding at least the columns
        :func:`score_inputs` names.
    loops : LoopReport
        Loops to score (from :func:`sdkit.find_loops`).

    Returns
    -------
    LoopDominance

    Raises
    ------
    UnsupportedConstructError
        As :func:`score_inputs`, or an equation uses a function the
        evaluator does not know.
    """
    score_inputs(model, loops)
    graph = model_graph(model)
    section = main_section(model.abstract)
    elements = {el.name: el for el in section.elements}
    real = {name_key(el.name): el.name for el in section.elements}
    lookups = {name_key(el.name): el.components[0].ast for el in section.elements
               if el.components and isinstance(el.components[0].ast, ae.LookupsStructure)}
    signs = {(lk.source, lk.target): lk.polarity for lk in graph.links if lk.kind != "init"}
    evaluate = _Evaluator(real, lookups)
    times = run.index.to_numpy()
    step = float(times[1] - times[0]) if len(times) > 1 else 1.0
    rows = run.to_dict("records")
    link_scores: dict[tuple[str, str], np.ndarray] = {}
    for lp in loops:
        for a, b in zip(lp.variables, lp.variables[1:] + lp.variables[:1]):
            if (a, b) not in link_scores:
                link_scores[(a, b)] = _link_score(a, b, elements[b], rows, times, run, step,
                                                  signs, evaluate)
    scores = {}
    for lp in loops:
        total = np.ones(len(times))
        for a, b in zip(lp.variables, lp.variables[1:] + lp.variables[:1]):
            total = total * link_scores[(a, b)]
        scores[lp.id] = total
    frame = pd.DataFrame(scores, index=run.index)
    denom = frame.abs().sum(axis=1).replace(0.0, np.nan)
    return LoopDominance(loops, frame.div(denom, axis=0))


def _link_score(a, b, element, rows, times, run, step, signs, evaluate) -> np.ndarray:
    n = len(times)
    out = np.full(n, np.nan)
    ast = element.components[0].ast
    if isinstance(ast, ae.IntegStructure):
        stock = run[b].to_numpy()
        net = np.full(n, np.nan)
        net[:-1] = (stock[1:] - stock[:-1]) / step
        flow = run[a].to_numpy()
        sign = -1.0 if signs[(a, b)] == "-" else 1.0
        with np.errstate(divide="ignore", invalid="ignore"):
            d_net = net[1:] - net[:-1]
            out[1:] = np.where(d_net != 0, sign * np.abs((flow[1:] - flow[:-1]) / d_net), np.nan)
        return out
    for t in range(1, n):
        prev, now = rows[t - 1], rows[t]
        mixed = dict(prev)
        mixed[a] = now[a]
        dz = now[b] - prev[b]
        dx = now[a] - prev[a]
        if dz == 0 or dx == 0:
            continue
        dz_x = evaluate(ast, mixed, times[t - 1]) - prev[b]
        out[t] = abs(dz_x / dz) * np.sign(dz_x / dx)
    return out
