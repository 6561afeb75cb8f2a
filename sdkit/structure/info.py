"""Describe a model: variables, their kind, units, subscripts and documentation."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field

import pandas as pd

from sdkit.model.load import Model, TimeSettings, load_model

__all__ = ["VariableInfo", "ModelInfo", "model_info"]

KINDS = ("stock", "flow", "auxiliary", "constant", "lookup", "data", "stateful")


@dataclass(frozen=True)
class VariableInfo:
    """One model variable as :func:`model_info` describes it."""

    name: str
    py_name: str
    kind: str
    units: str
    subscripts: tuple[str, ...]
    documentation: str


@dataclass(frozen=True)
class ModelInfo:
    """What a model contains; see :func:`model_info`."""

    path: str
    format: str
    time: TimeSettings
    subscripts: dict[str, list[str]]
    variables: tuple[VariableInfo, ...] = field(default_factory=tuple)

    @property
    def n_stocks(self) -> int:
        """Number of stock variables (INTEG)."""
        return sum(v.kind == "stock" for v in self.variables)

    def to_frame(self) -> pd.DataFrame:
        """One row per variable."""
        return pd.DataFrame([v.__dict__ for v in self.variables]).set_index("name")

    def summary(self) -> str:
        """A readable multi-line description."""
        t = self.time
        unit = f" {t.units}" if t.units else ""
        counts = {k: sum(v.kind == k for v in self.variables) for k in KINDS}
        lines = [
            f"{self.path} ({self.format})",
            f"time: {t.start:g} to {t.stop:g}{unit}, dt {t.dt:g}, saveper {t.saveper:g}",
            "variables: " + ", ".join(f"{n} {k}s" for k, n in counts.items() if n)
            + f" ({len(self.variables)} in all; {self.n_stocks} stocks)",
        ]
        if self.subscripts:
            lines.append("subscripts:")
            lines += [f"  {d}: {', '.join(map(str, e))}" for d, e in self.subscripts.items()]
        lines.append("")
        width = max((len(v.name) for v in self.variables), default=4)
        for v in sorted(self.variables, key=lambda v: (KINDS.index(v.kind), v.name.lower())):
            subs = f"[{','.join(v.subscripts)}]" if v.subscripts else ""
            doc = v.documentation.splitlines()[0] if v.documentation else ""
            lines.append(f"  {v.kind:<9} {v.name:<{width}} {subs} ({v.units or 'no units'})"
                         + (f"  {doc[:80]}" if doc else ""))
        return "\n".join(lines)


def _text(value: object) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value).strip()


def model_info(model: Model | str | os.PathLike) -> ModelInfo:
    """Describe a model's variables and time settings.

    Variables are classified as ``stock`` (INTEG), ``flow`` (an auxiliary
    that feeds a stock's rate directly), ``auxiliary``, ``constant``,
    ``lookup``, ``data`` or ``stateful`` (delays, smooths and other
    stateful functions).

    Parameters
    ----------
    model : Model or path-like

    Returns
    -------
    ModelInfo
    """
    if not isinstance(model, Model):
        model = load_model(model)
    variables = [VariableInfo(name=v.name, py_name=v.py_name, kind=v.kind, units=v.units,
                              subscripts=v.dims, documentation=v.documentation)
                 for v in model.variables]
    return ModelInfo(
        path=str(model.path), format=model.format, time=model.time_settings,
        subscripts=model.subscripts, variables=tuple(variables),
    )
