"""Loop dominance of one run: run the model, then score its loops."""

from __future__ import annotations

import os
from collections.abc import Mapping

from sdkit.engine.simulate import simulate
from sdkit.model.load import Model, load_model
from sdkit.structure.loop_score import LoopDominance, score_inputs, score_loops
from sdkit.structure.loops import LoopReport, find_loops

__all__ = ["loop_dominance"]


def loop_dominance(model: Model | str | os.PathLike, params: Mapping[str, object] | None = None,
                   *, start: float | None = None, stop: float | None = None,
                   dt: float | None = None, loops: LoopReport | None = None) -> LoopDominance:
    """Relative loop scores of every feedback loop over one run.

    Parameters
    ----------
    model : sdkit.Model or path-like
        A model whose loops run through scalar variables only.
    params : mapping, optional
        Constants to set for the run (as :func:`sdkit.simulate`).
    start, stop, dt : float, optional
        Time settings of the run; results are saved every `dt`.
    loops : LoopReport, optional
        Loops to score (default: all of :func:`sdkit.find_loops`).

    Returns
    -------
    LoopDominance

    Raises
    ------
    UnsupportedConstructError
        A loop passes through a subscripted variable, a delay or a smooth, or
        an equation uses a function the evaluator does not know.
    """
    if not isinstance(model, Model):
        model = load_model(model)
    report = loops if loops is not None else find_loops(model)
    step = dt if dt is not None else model.time_settings.dt
    run = simulate(model, params, start=start, stop=stop, dt=step, saveper=step,
                   outputs=score_inputs(model, report))
    return score_loops(model, run, report)
