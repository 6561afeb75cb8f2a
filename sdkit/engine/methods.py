"""Integration methods: the names sdkit accepts and the one a model asks for.

``"euler"``
    Euler's method, as Vensim and PySD step (PySD has no other).
``"rk2"``
    Second-order Runge-Kutta, the explicit midpoint rule: rates at `t`, a
    half step, rates there, and the whole step with those. This is what
    Vensim documents for its "RK2 Fixed" integration type.
``"rk4"``
    The classic fourth-order Runge-Kutta (Vensim's "RK4 Fixed", XMILE's
    ``method="RK4"``).

A Vensim ``.mdl`` carries no integration method, so its default is Euler; an
XMILE file's default is its ``<sim_specs method=...>``.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from sdkit.errors import InvalidValueError, UnsupportedConstructError
from sdkit.model.load import Model
from sdkit.model.xmile.reader import sim_method

__all__ = ["METHODS", "check_method", "model_method", "resolve_method", "refuse_pysd"]

#: the integration methods every sdkit entry point accepts
METHODS = ("euler", "rk2", "rk4")

_INTEGRATING = ("stock", "stateful")


def check_method(method: str) -> str:
    """Return `method` in lower case if it is one of :data:`METHODS`.

    Raises
    ------
    InvalidValueError
        Any other name.
    """
    name = str(method).strip().lower()
    if name not in METHODS:
        raise InvalidValueError(f"method must be one of {', '.join(METHODS)}: {method!r}")
    return name


def model_method(model: Model) -> str:
    """The model's own method: its XMILE ``<sim_specs method=...>``, else Euler."""
    if model.format != "xmile":
        return "euler"
    name = _xmile_method(model.path, model.sha256)
    # the reader refuses other methods (RK45, Gear) in a model that integrates anything;
    # in one that does not, every method gives Euler's result
    return name if name in METHODS else "euler"


@lru_cache(maxsize=64)
def _xmile_method(path: Path, sha256: str) -> str:
    return sim_method(path).strip().lower()


def resolve_method(model: Model, method: str | None) -> str:
    """The method a run uses: `method` if given, else the model's own.

    A model that integrates nothing (no stock, no delay or smooth) gives the
    same result with every method; for it this returns ``"euler"``.
    """
    name = model_method(model) if method is None else check_method(method)
    if name != "euler" and not any(v.kind in _INTEGRATING for v in model.variables):
        return "euler"
    return name


def refuse_pysd(model: Model, method: str) -> None:
    """Raise if PySD is asked to run `method` (it integrates with Euler only).

    Raises
    ------
    UnsupportedConstructError
        `method` is not ``"euler"``.
    """
    if method != "euler":
        raise UnsupportedConstructError(
            f"{model.path}: PySD integrates with Euler only, not {method.upper()} "
            "(use engine 'fast', or method 'euler')")
