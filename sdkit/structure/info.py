"""Describe a model: variables with kind, units, range, value, equation and documentation.

:func:`model_info` returns a :class:`ModelInfo`; :meth:`ModelInfo.select`
filters it by name pattern and kind, :meth:`ModelInfo.summary` formats it
for a terminal and :meth:`ModelInfo.to_dict` for JSON (``sdkit info --json``).

Name patterns are shell-style globs (``Pop*``, ``*rate?``), matched without
regard to case; a pattern without ``*``, ``?`` or ``[`` matches every name
that contains it.
"""

from __future__ import annotations

import fnmatch
import json
import math
import os
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, replace

import numpy as np
import pandas as pd

from sdkit.errors import InvalidValueError
from sdkit.model.load import Model, TimeSettings, load_model
from sdkit.model.names import canonical
from sdkit.structure.equations import model_equations

__all__ = ["VariableInfo", "ModelInfo", "model_info", "KINDS", "plural"]

KINDS = ("stock", "flow", "auxiliary", "constant", "lookup", "data", "stateful")
#: short spellings accepted by :meth:`ModelInfo.select` (and ``sdkit info --kind``)
KIND_ALIASES = {"aux": "auxiliary"}
_NOUNS = {"auxiliary": ("auxiliary", "auxiliaries"), "data": ("data variable", "data variables"),
          "stateful": ("stateful variable", "stateful variables")}


def plural(n: int, kind: str) -> str:
    """``"1 stock"``, ``"58 auxiliaries"``, ``"2 data variables"``."""
    one, many = _NOUNS.get(kind, (kind, kind + "s"))
    return f"{n} {one if n == 1 else many}"


@dataclass(frozen=True)
class VariableInfo:
    """One model variable as :func:`model_info` describes it.

    Attributes
    ----------
    name, py_name, kind, units : str
    subscripts : tuple of str
        Dimension names (empty for scalars).
    documentation : str
    range : tuple of (float or None, float or None)
        The declared ``[min, max]``; None where the model gives none.
    value : float, list or None
        A constant's value (nested lists over the subscripts); None otherwise.
    equations : tuple of str
        The equation text as the file writes it (one per equation).
    """

    name: str
    py_name: str
    kind: str
    units: str
    subscripts: tuple[str, ...]
    documentation: str
    range: tuple[float | None, float | None] = (None, None)
    value: float | list | None = None
    equations: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        """A JSON-ready dict (NaN becomes None)."""
        out = asdict(self)
        out["subscripts"] = list(self.subscripts)
        out["range"] = list(self.range)
        out["equations"] = list(self.equations)
        return out


@dataclass(frozen=True)
class ModelInfo:
    """What a model contains; see :func:`model_info`."""

    path: str
    format: str
    time: TimeSettings
    subscripts: dict[str, list[str]]
    variables: tuple[VariableInfo, ...] = field(default_factory=tuple)
    total: int | None = None  # variables before :meth:`select`

    @property
    def n_stocks(self) -> int:
        """Number of stock variables (INTEG)."""
        return sum(v.kind == "stock" for v in self.variables)

    def select(self, *, names: Iterable[str] | None = None,
               kinds: Iterable[str] | None = None) -> ModelInfo:
        """Only the variables matching any of `names` (globs) and any of `kinds`.

        Raises
        ------
        InvalidValueError
            An unknown kind.
        """
        wanted = None
        if kinds:
            wanted = set()
            for k in kinds:
                kind = KIND_ALIASES.get(k.lower(), k.lower())
                if kind not in KINDS:
                    raise InvalidValueError(f"unknown kind {k!r}; expected one of "
                                            f"{', '.join(KINDS)} (or aux)")
                wanted.add(kind)
        patterns = [p.casefold() for p in names or []]
        keep = tuple(v for v in self.variables
                     if (wanted is None or v.kind in wanted)
                     and (not patterns or any(_matches(v.name, p) for p in patterns)))
        return replace(self, variables=keep, total=self.total or len(self.variables))

    def to_frame(self) -> pd.DataFrame:
        """One row per variable."""
        return pd.DataFrame([v.__dict__ for v in self.variables]).set_index("name")

    def to_dict(self) -> dict:
        """Model, time settings, subscripts and variables as plain JSON-ready data."""
        return {"path": self.path, "format": self.format, "time": asdict(self.time),
                "subscripts": {k: list(map(str, v)) for k, v in self.subscripts.items()},
                "variables": [v.to_dict() for v in self.variables]}

    def to_json(self) -> str:
        """:meth:`to_dict` as JSON text (NaN and inf written as null)."""
        return json.dumps(_finite(self.to_dict()), indent=2, ensure_ascii=False)

    def summary(self, *, doc: bool = False) -> str:
        """A readable description: one block per variable.

        Each block gives kind, name, subscripts, units and range, then the
        equation (and a constant's value where the equation is not just that
        number), then the documentation: its first line, or all of it with
        `doc`.
        """
        t = self.time
        unit = f" {t.units}" if t.units else ""
        counts = {k: sum(v.kind == k for v in self.variables) for k in KINDS}
        shown = f"{len(self.variables)} in all" if self.total is None else \
            f"{len(self.variables)} of {self.total} shown"
        lines = [
            f"{self.path} ({self.format})",
            f"time: {t.start:g} to {t.stop:g}{unit}, dt {t.dt:g}, saveper {t.saveper:g}",
            "variables: " + (", ".join(plural(n, k) for k, n in counts.items() if n) or "none")
            + f" ({shown})",
        ]
        if self.subscripts:
            lines.append("subscripts:")
            lines += [f"  {d}: {', '.join(map(str, e))}" for d, e in self.subscripts.items()]
        lines.append("")
        width = max((len(v.name) for v in self.variables), default=4)
        for v in sorted(self.variables, key=lambda v: (KINDS.index(v.kind), v.name.lower())):
            lines += _block(v, width, doc=doc)
        return "\n".join(lines)


def _matches(name: str, pattern: str) -> bool:
    if not any(c in pattern for c in "*?["):
        return pattern in name.casefold()
    return fnmatch.fnmatchcase(name.casefold(), pattern)


def _finite(obj):
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_finite(v) for v in obj]
    return obj


def _num(x: float | None) -> str:
    return "?" if x is None else f"{x:g}"


def _value_text(value) -> str:
    if isinstance(value, list):
        text = np.array2string(np.asarray(value, dtype=float), separator=", ",
                               threshold=12, edgeitems=3,
                               formatter={"float_kind": lambda x: f"{x:g}"}).replace("\n", "")
        return " ".join(text.split())
    return f"{value:g}"


def _block(v: VariableInfo, width: int, *, doc: bool) -> list[str]:
    pad = " " * 12
    subs = f"[{','.join(v.subscripts)}]" if v.subscripts else ""
    rng = f" range [{_num(v.range[0])}, {_num(v.range[1])}]" if v.range != (None, None) else ""
    out = [f"  {v.kind:<9} {v.name:<{width}} {subs} ({v.units or 'no units'}){rng}".rstrip()]
    for eq in v.equations:
        out.append(f"{pad}= {eq}")
    if v.value is not None:
        value = _value_text(v.value)
        if [value.strip("[]").replace(" ", "")] != [e.replace(" ", "") for e in v.equations]:
            out.append(f"{pad}value {value}")
    text = v.documentation.strip()
    if text:
        doc_lines = text.splitlines() if doc else [text.splitlines()[0][:100]]
        out += [f"{pad}{line.strip()}" for line in doc_lines if line.strip()]
    return out


def _equations(texts: list[str], dims: tuple[str, ...]) -> tuple[str, ...]:
    """Drop the ``[dims]`` prefix of a variable defined by one apply-to-all equation."""
    if len(texts) == 1 and texts[0].startswith("["):
        subs, _, rhs = texts[0][1:].partition("] ")
        if [canonical(s) for s in subs.split(",")] == [canonical(d) for d in dims]:
            return (rhs,)
    return tuple(texts)


def _value(value) -> float | list | None:
    if value is None:
        return None
    arr = np.asarray(value, dtype=float)
    return float(arr) if arr.ndim == 0 else arr.tolist()


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

    Examples
    --------
    >>> info = model_info("tests/models/teacup.mdl").select(kinds=["constant"])
    >>> [(v.name, v.value) for v in info.variables]
    [('Characteristic Time', 10.0), ('Room Temperature', 70.0)]
    """
    if not isinstance(model, Model):
        model = load_model(model)
    equations = model_equations(model.path)
    variables = [VariableInfo(name=v.name, py_name=v.py_name, kind=v.kind, units=v.units,
                              subscripts=v.dims, documentation=v.documentation, range=v.range,
                              value=_value(v.value),
                              equations=_equations(equations.get(canonical(v.name), []), v.dims))
                 for v in model.variables]
    return ModelInfo(
        path=str(model.path), format=model.format, time=model.time_settings,
        subscripts=model.subscripts, variables=tuple(variables),
    )
