"""A compiled, vectorised simulation engine for ensembles.

PySD's abstract model is compiled into numpy code in which every variable
has a leading member axis, so N parameter sets are stepped together:

* :mod:`.expressions` — abstract-syntax nodes to numpy code;
* :mod:`.program` — model elements, stateful functions, lookups as nodes;
* :mod:`.codegen` — node order and the generated ``init``/``step`` functions;
* :mod:`.run` — the Euler loop on PySD's clock;
* :mod:`.chunks` — one chunk of members (the unit executors run);
* :mod:`.pysd_backend` — PySD runs (the fall-back), the only module that
  touches a model's PySD object;
* :mod:`.runner` — :func:`run_ensemble`, the one way to run many simulations;
* :mod:`.simulate` — :func:`simulate`, one run (a one-member ensemble);
* :mod:`.ensemble` — :func:`simulate_ensemble`, ``run_ensemble(...).dataset``.
"""

from __future__ import annotations

from sdkit.engine.ensemble import FallbackNote, simulate_ensemble
from sdkit.engine.expressions import Unsupported
from sdkit.engine.runner import ENGINES, EnsembleResult, run_ensemble

__all__ = ["simulate_ensemble", "run_ensemble", "EnsembleResult", "ENGINES", "FallbackNote",
           "Unsupported"]
