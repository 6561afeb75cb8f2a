"""Loop dominance of one run: run the model on the compiled engine, then score its loops.

On a scalar model every loop is scored. On a subscripted model loops run
between elements; when they are more than `max_loops` (IIS: millions), the
loops scored are those the strongest-path search finds
(:mod:`sdkit.structure.strongest`, after Eberlein & Schoenberg 2020) at
`samples` steps of the run, and the result says so.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import numpy as np

from sdkit.engine.simulate import simulate
from sdkit.errors import InvalidValueError
from sdkit.model.load import Model, load_model
from sdkit.structure.element_loops import all_element_loops, label_loops
from sdkit.structure.elements import element_graph
from sdkit.structure.loop_score import LoopDominance, link_scores, loop_scores, score_inputs
from sdkit.structure.loops import LoopReport, find_loops, strongly_connected
from sdkit.structure.named_loops import documented_names
from sdkit.structure.strongest import strongest_loops

__all__ = ["loop_dominance"]


def loop_dominance(model: Model | str | os.PathLike, params: Mapping[str, object] | None = None,
                   *, start: float | None = None, stop: float | None = None,
                   dt: float | None = None, loops: LoopReport | None = None,
                   max_loops: int = 1000, samples: int = 100) -> LoopDominance:
    """Relative loop scores of the model's feedback loops over one run.

    Parameters
    ----------
    model : sdkit.Model or path-like
    params : mapping, optional
        Constants to set for the run (as :func:`sdkit.simulate`).
    start, stop, dt : float, optional
        Time settings of the run; results are saved every `dt`.
    loops : LoopReport, optional
        The variable loops (default :func:`sdkit.find_loops`); element loops
        are named after them.
    max_loops : int, default 1000
        Score every element loop up to this many; past it, search for the
        strongest loops instead.
    samples : int, default 100
        Steps the strongest-path search looks at (evenly spread).

    Returns
    -------
    LoopDominance

    Raises
    ------
    UnsupportedConstructError
        A loop passes through a delay or smooth, or an equation uses a
        function the evaluator does not know.
    """
    if max_loops < 1 or samples < 1:
        raise InvalidValueError(f"max_loops and samples must be >= 1: {max_loops}, {samples}")
    if not isinstance(model, Model):
        model = load_model(model)
    family = loops if loops is not None else find_loops(model)
    graph = element_graph(model)
    # element loops are (nearly always) at least as many: skip a hopeless enumeration
    cycles = (None if len(family) > max_loops
              else all_element_loops(graph, max_loops=max_loops))
    if cycles is not None:
        links = sorted({(a, b) for c in cycles for a, b in zip(c, c[1:] + c[:1])})
    else:
        succ = graph.successors()
        comps = strongly_connected(list(graph.nodes), succ)
        comp_of = {n: i for i, c in enumerate(comps) for n in c}
        links = sorted({(lk.source, lk.target) for lk in graph.links
                        if comp_of[lk.source] == comp_of[lk.target]})
    step = dt if dt is not None else model.time_settings.dt
    run = simulate(model, params, start=start, stop=stop, dt=step, saveper=step,
                   outputs=score_inputs(model, links, graph))
    scores = link_scores(model, run, links, graph)
    method = "all loops"
    if cycles is None:
        steps = np.unique(np.linspace(1, len(run) - 1, min(samples, len(run) - 1)).astype(int))
        cycles = strongest_loops(graph, scores, steps)
        method = (f"more than {max_loops} element loops: the strongest through each stock "
                  f"at {len(steps)} of {len(run) - 1} steps, by the strongest-path search "
                  "after Eberlein & Schoenberg 2020")
    report = label_loops(cycles, graph, family, str(getattr(model, "path", "model")))
    raw, relative = loop_scores(report, scores, run.index)
    names = documented_names(report, family)
    return LoopDominance(report, relative, raw, method, names)
