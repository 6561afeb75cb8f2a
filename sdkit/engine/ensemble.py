"""The ensemble front door kept for callers: :func:`simulate_ensemble` and :func:`simulate_all`.

Both go through :func:`sdkit.engine.runner.run_ensemble`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import pandas as pd

from sdkit.engine.chunks import FallbackNote
from sdkit.engine.runner import member_frame, run_ensemble
from sdkit.engine.simulate import simulate
from sdkit.model.load import Model, load_model

__all__ = ["simulate_ensemble", "simulate_all", "member_frame", "FallbackNote"]


def simulate_ensemble(
    model: Model | str | os.PathLike,
    param_table: pd.DataFrame | None,
    *,
    outputs: Sequence[str] | str,
    saveper: float | None = None,
    start: float | None = None,
    stop: float | None = None,
    dt: float | None = None,
    executor=None,
    engine: str = "auto",
):
    """``run_ensemble(...).dataset``: one simulation per row of `param_table`.

    ``ds.attrs["sdkit_engine"]`` is ``"fast"`` or ``"pysd"`` and, where PySD
    ran instead of the compiled engine, ``ds.attrs["sdkit_fallback"]`` says
    which construct, in one line. See :func:`sdkit.engine.runner.run_ensemble`
    for the parameters.

    Examples
    --------
    >>> table = pd.DataFrame({"Contact Infectivity": [0.2, 0.3]})
    >>> ds = simulate_ensemble("tests/models/SIR.mdl", table, outputs=["Infectious"])
    >>> ds["Infectious"].dims
    ('member', 'time')
    """
    return run_ensemble(model, param_table, outputs, engine=engine, executor=executor,
                        start=start, stop=stop, dt=dt, saveper=saveper).dataset


def simulate_all(model: Model | str | os.PathLike) -> tuple[pd.DataFrame, str]:
    """One run of every variable (compiled engine, PySD where it falls back).

    Returns the frame (as :func:`sdkit.engine.simulate` gives it) and the engine
    used, ``"fast"`` or ``"pysd"``. Used by the conformance harness.
    """
    if not isinstance(model, Model):
        model = load_model(model)
    frame = simulate(model, check_finite=False)
    return frame, frame.attrs["sdkit_engine"]
