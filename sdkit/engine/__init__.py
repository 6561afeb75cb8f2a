"""A compiled, vectorised simulation engine for ensembles.

PySD's abstract model is compiled into numpy code in which every variable
has a leading member axis, so N parameter sets are stepped together:

* :mod:`.expressions` — abstract-syntax nodes to numpy code;
* :mod:`.program` — model elements, stateful functions, lookups as nodes;
* :mod:`.codegen` — node order and the generated ``init``/``step`` functions;
* :mod:`.run` — the Euler loop on PySD's clock;
* :mod:`.chunks` — one chunk of members (the unit executors run), with the
  PySD fall-back;
* :mod:`.ensemble` — :func:`simulate_ensemble`, the front door.
"""

from __future__ import annotations

from sdkit.engine.ensemble import FallbackNote, simulate_ensemble
from sdkit.engine.expressions import Unsupported

__all__ = ["simulate_ensemble", "FallbackNote", "Unsupported"]
