"""Observation model: how a measured series relates to the model output it is fitted to.

A statistical revision changes what is *measured*, not the economy: after
China's 4th economic census (2018/2019), for example, the sector split of
GDP was restated from 2019 on. Such a break belongs in the observation model
of the calibration, not in the model's equations. An :class:`Observation`
says that, from a given time on, the observed series equals the simulated one
times a factor (a level shift)::

    [[observations]]
    variable = "Value added secondary"      # the targets' model output
    indicator = "gdp_secondary_industry_real"  # optional: only this data series
    from = 2019                              # first time the shift applies
    factor = { Yichang = 0.91, Enshi = 0.78 }  # per element, or one number for all
    note = "4th economic census restated the sector split from 2019"

Elements not named keep factor 1. :func:`apply_observations` multiplies the
simulated values of the matching targets at the affected times before they
are compared with the data, so residuals, fit statistics and hold-out errors
all see the same observation model. The model's own trajectories (plots,
projections) are never shifted.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from sdkit.errors import SpecError

__all__ = ["Observation", "read_observations", "apply_observations", "observation_factors"]

_KEYS = {"variable", "indicator", "from", "factor", "note"}


@dataclass(frozen=True)
class Observation:
    """A multiplicative level shift of observed series from a given time on.

    Parameters
    ----------
    variable : str
        Model output of the targets it applies to (``"Name"``, without element).
    start : float
        First time the shift applies (``t >= start``).
    factors : mapping of str to float
        Factor per element (``""`` for a target without element). Each > 0.
    indicator : str, optional
        Only targets fitted to this data indicator; default all of `variable`.
    note : str
        Why the shift exists (for reports).
    """

    variable: str
    start: float
    factors: Mapping[str, float] = field(default_factory=dict)
    indicator: str = ""
    note: str = ""

    def __post_init__(self):
        if not math.isfinite(self.start):
            raise SpecError(f"observation {self.variable!r}: 'from' must be finite")
        for element, value in self.factors.items():
            if not (math.isfinite(value) and value > 0):
                raise SpecError(f"observation {self.variable!r}: factor for {element!r} must "
                                f"be a finite number > 0: {value!r}")
        object.__setattr__(self, "factors", MappingProxyType(dict(self.factors)))

    def factor_for(self, target) -> float | None:
        """Factor for `target`, or None when the observation does not concern it."""
        base, _, rest = target.variable.partition("[")
        element = rest.rstrip("]")
        if _norm(base) != _norm(self.variable):
            return None
        if self.indicator and target.indicator != self.indicator:
            return None
        return float(self.factors.get(element, self.factors.get("*", 1.0)))


def _norm(name: str) -> str:
    return "".join(str(name).replace("_", " ").lower().split())


def _number(value, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SpecError(f"{where} must be a number: {value!r}")
    return float(value)


def read_observations(items: object, *, where: str,
                      elements: Sequence[str] = ()) -> tuple[Observation, ...]:
    """Parse the ``[[observations]]`` tables of a calibration spec.

    Parameters
    ----------
    items : list of mapping
        The TOML array of tables.
    where : str
        File name for error messages.
    elements : sequence of str
        Known elements; a factor for any other element is refused.

    Raises
    ------
    SpecError
        Naming the table and key: unknown keys, missing ``variable``, ``from``
        or ``factor``, a non-positive factor or an unknown element.
    """
    if not isinstance(items, list):
        raise SpecError(f"{where}: observations must be an array of tables [[observations]]")
    out = []
    for i, item in enumerate(items):
        here = f"{where}: observations[{i}]"
        if not isinstance(item, Mapping):
            raise SpecError(f"{here}: expected a table")
        bad = [k for k in item if k not in _KEYS]
        if bad:
            raise SpecError(f"{here}: unknown key(s) {', '.join(map(repr, bad))}")
        for key in ("variable", "from", "factor"):
            if key not in item:
                raise SpecError(f"{here}: missing key {key!r}")
        variable = item["variable"]
        if not isinstance(variable, str) or not variable.strip():
            raise SpecError(f"{here}: 'variable' must be a model output name")
        start = _number(item["from"], f"{here}: 'from'")
        raw = item["factor"]
        if isinstance(raw, Mapping):
            factors = {str(k): _number(v, f"{here}: factor.{k}") for k, v in raw.items()}
            unknown = [k for k in factors if elements and k not in elements]
            if unknown:
                raise SpecError(f"{here}: factor for unknown element(s) {', '.join(unknown)}; "
                                f"expected one of {', '.join(elements)}")
        else:
            factors = {"*": _number(raw, f"{here}: 'factor'")}
        indicator = item.get("indicator", "")
        note = item.get("note", "")
        if not isinstance(indicator, str) or not isinstance(note, str):
            raise SpecError(f"{here}: 'indicator' and 'note' must be text")
        try:
            out.append(Observation(variable, start, factors, indicator, note))
        except SpecError as e:
            raise SpecError(f"{here}: {e}") from None
    return tuple(out)


def observation_factors(observations: Sequence[Observation], targets) -> dict[str, np.ndarray]:
    """Factor per observed time of every target the observations change.

    Returns ``{target name: array (n_times,)}``; targets left unchanged
    (every factor 1) are not in it.
    """
    out = {}
    for target in targets:
        times = np.asarray(target.times, float)
        scale = np.ones(times.shape)
        for obs in observations:
            f = obs.factor_for(target)
            if f is not None:
                scale = np.where(times >= obs.start, scale * f, scale)
        if np.any(scale != 1.0):
            out[target.name] = scale
    return out


def apply_observations(observations: Sequence[Observation], targets,
                       simulated: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Simulated values as the observations would record them.

    Parameters
    ----------
    observations : sequence of Observation
    targets : sequence of Target
        The problem's targets (their names key `simulated`).
    simulated : dict
        ``{target name: array (members, n_times)}`` at the targets' times.

    Returns
    -------
    dict
        A new dict; arrays of affected targets are new arrays, the others are
        passed through unchanged.
    """
    if not observations:
        return simulated
    out = dict(simulated)
    for name, scale in observation_factors(observations, targets).items():
        if name in out:
            out[name] = np.asarray(out[name], float) * scale
    return out
