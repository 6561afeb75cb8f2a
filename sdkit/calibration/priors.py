"""Prior distributions of calibrated parameters: :class:`Prior` and :func:`read_prior`.

A prior is written in the calibration spec beside the parameter's bounds and
always carries its source or the reason for it::

    [[parameters]]
    variable = "Decay Rate"
    lower = 0.01
    upper = 1.0
    prior = { distribution = "lognormal", mu = -1.6, sigma = 0.5,
              source = "half-lives of 2-6 years in the literature (Smith 2020)" }

Every prior is truncated to the parameter's bounds ``[lower, upper]``.
Distributions and their keys:

============  =======================  ========================================
name          keys                     density
============  =======================  ========================================
normal        mu, sigma                Normal(mu, sigma)
truncnormal   mu, sigma, [low, high]   Normal(mu, sigma) on [low, high]
lognormal     mu, sigma                log x ~ Normal(mu, sigma)
halfnormal    sigma                    |Normal(0, sigma)|
beta          alpha, beta              Beta(alpha, beta) on [0, 1]
uniform       [low, high]              Uniform(low, high) (default: the bounds)
============  =======================  ========================================

A prior that puts almost no mass inside the bounds (less than
:data:`MIN_MASS`), a non-positive scale, a ``low``/``high`` outside the
bounds or an unknown distribution is refused with one line naming the
parameter.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np
from scipy import special

from sdkit.errors import SpecError

__all__ = ["Prior", "read_prior", "uniform_prior", "halfnormal_logpdf", "truncnorm_logpdf",
           "DISTRIBUTIONS", "MIN_MASS"]

#: distribution name -> (required keys, optional keys)
DISTRIBUTIONS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "normal": (("mu", "sigma"), ()),
    "truncnormal": (("mu", "sigma"), ("low", "high")),
    "lognormal": (("mu", "sigma"), ()),
    "halfnormal": (("sigma",), ()),
    "beta": (("alpha", "beta"), ()),
    "uniform": ((), ("low", "high")),
}
#: a prior with less than this probability inside the bounds is refused
MIN_MASS = 1e-3
_POSITIVE = ("sigma", "alpha", "beta")
_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


@dataclass(frozen=True)
class Prior:
    """A prior density, truncated to ``[lower, upper]``.

    Parameters
    ----------
    distribution : str
        One of :data:`DISTRIBUTIONS`.
    params : mapping of str to float
        The distribution's keys (``{"mu": 0.2, "sigma": 0.05}``).
    lower, upper : float
        Truncation bounds (the parameter's bounds).
    source : str
        Where the prior comes from, or why it was chosen.
    name : str
        The parameter's name, for messages.
    """

    distribution: str
    params: Mapping[str, float] = field(default_factory=dict)
    lower: float = -math.inf
    upper: float = math.inf
    source: str = ""
    name: str = ""

    def __post_init__(self):
        at = f"parameter {self.name!r}: prior" if self.name else "prior"
        if self.distribution not in DISTRIBUTIONS:
            raise SpecError(f"{at}: distribution {self.distribution!r} unknown; expected one "
                            f"of {', '.join(DISTRIBUTIONS)}")
        need, optional = DISTRIBUTIONS[self.distribution]
        missing = [k for k in need if k not in self.params]
        extra = [k for k in self.params if k not in need + optional]
        if missing or extra:
            raise SpecError(f"{at}: {self.distribution} needs {', '.join(need) or 'no keys'}"
                            f"{' (optional ' + ', '.join(optional) + ')' if optional else ''}"
                            f"; got {', '.join(sorted(self.params)) or 'none'}")
        for key, value in self.params.items():
            if isinstance(value, bool) or not isinstance(value, int | float) \
                    or not math.isfinite(value):
                raise SpecError(f"{at}: {key} must be a finite number: {value!r}")
            if key in _POSITIVE and value <= 0:
                raise SpecError(f"{at}: scale {key} must be > 0: {value!r}")
        object.__setattr__(self, "params", MappingProxyType(
            {k: float(v) for k, v in self.params.items()}))
        self._check_support(at)
        object.__setattr__(self, "_log_mass", math.log(self.mass))  # logpdf is hot: once

    def _check_support(self, at: str) -> None:
        low, high = self.params.get("low"), self.params.get("high")
        for key, value in (("low", low), ("high", high)):
            if value is not None and not self.lower <= value <= self.upper:
                raise SpecError(f"{at}: {key} {value:g} is outside the parameter's bounds "
                                f"[{self.lower:g}, {self.upper:g}]")
        if low is not None and high is not None and not low < high:
            raise SpecError(f"{at}: low ({low:g}) must be < high ({high:g})")
        mass = self.mass
        if not mass >= MIN_MASS:
            raise SpecError(
                f"{at}: {self.describe()} puts {100 * mass:.2g}% of its mass inside the "
                f"bounds [{self.lower:g}, {self.upper:g}]; expected a prior that overlaps them")

    # -- the density ------------------------------------------------------------------
    def _frozen(self):
        from scipy import stats  # heavy: scipy.stats only when a prior is evaluated

        p = self.params
        if self.distribution in ("normal", "truncnormal"):
            return stats.norm(p["mu"], p["sigma"])
        if self.distribution == "lognormal":
            return stats.lognorm(p["sigma"], scale=math.exp(p["mu"]))
        if self.distribution == "halfnormal":
            return stats.halfnorm(scale=p["sigma"])
        if self.distribution == "beta":
            return stats.beta(p["alpha"], p["beta"])
        low, high = self.support
        return stats.uniform(low, high - low)

    @property
    def support(self) -> tuple[float, float]:
        """The interval the density lives on: the bounds, narrowed by ``low``/``high``."""
        return (max(self.lower, self.params.get("low", -math.inf)),
                min(self.upper, self.params.get("high", math.inf)))

    @property
    def mass(self) -> float:
        """Probability of the untruncated distribution inside :attr:`support`."""
        low, high = self.support
        dist = self._frozen()
        return float(dist.cdf(high) - dist.cdf(low))

    def logpdf(self, x) -> np.ndarray:
        """Log density of the truncated prior (``-inf`` outside its support).

        Written out in numpy: the sampler calls it at every step, and building
        a scipy distribution costs more than the model run of a small model.
        """
        x = np.asarray(x, float)
        low, high = self.support
        inside = (x >= low) & (x <= high)
        p = self.params
        with np.errstate(divide="ignore", invalid="ignore"):
            if self.distribution in ("normal", "truncnormal"):
                z = (x - p["mu"]) / p["sigma"]
                out = -0.5 * z * z - math.log(p["sigma"]) - _HALF_LOG_2PI
            elif self.distribution == "lognormal":
                z = (np.log(x) - p["mu"]) / p["sigma"]
                out = -0.5 * z * z - np.log(x) - math.log(p["sigma"]) - _HALF_LOG_2PI
                inside &= x > 0
            elif self.distribution == "halfnormal":
                z = x / p["sigma"]
                out = 0.5 * math.log(2 / math.pi) - math.log(p["sigma"]) - 0.5 * z * z
                inside &= x >= 0
            elif self.distribution == "beta":
                a, b = p["alpha"], p["beta"]
                out = (a - 1) * np.log(x) + (b - 1) * np.log1p(-x) - special.betaln(a, b)
                inside &= (x >= 0) & (x <= 1)
            else:
                out = np.full(x.shape, -math.log(high - low))
        out = out - self._log_mass
        return np.where(inside & ~np.isnan(out), out, -np.inf)

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """`size` draws of the truncated prior (inverse CDF)."""
        low, high = self.support
        dist = self._frozen()
        u = rng.uniform(dist.cdf(low), dist.cdf(high), size)
        return np.clip(dist.ppf(u), low, high)

    def quantile(self, q) -> np.ndarray:
        """Quantiles of the truncated prior."""
        low, high = self.support
        dist = self._frozen()
        c0, c1 = dist.cdf(low), dist.cdf(high)
        return np.clip(dist.ppf(c0 + np.asarray(q, float) * (c1 - c0)), low, high)

    def describe(self) -> str:
        """``"normal(mu=0.2, sigma=0.05)"``."""
        args = ", ".join(f"{k}={v:g}" for k, v in self.params.items())
        return f"{self.distribution}({args})"


def uniform_prior(name: str, lower: float, upper: float) -> Prior:
    """The default prior of a parameter without one: uniform on its bounds."""
    return Prior("uniform", {}, lower, upper, "no prior given: uniform on the bounds", name)


def read_prior(table: object, *, name: str, lower: float, upper: float,
               where: str) -> Prior:
    """Parse a ``prior = { distribution = ..., source = ..., ... }`` table.

    Parameters
    ----------
    table : mapping
        The TOML inline table.
    name : str
        The parameter's name.
    lower, upper : float
        The parameter's bounds (the prior is truncated to them).
    where : str
        File and table for messages (``"spec.toml: parameters[0]"``).

    Raises
    ------
    SpecError
        Not a table, no ``distribution`` or ``source``, an unknown
        distribution, a missing or extra key, a non-positive scale, or a prior
        outside the bounds; the message starts with `where`.
    """
    if not isinstance(table, Mapping):
        raise SpecError(f"{where}: prior must be a table {{ distribution = ..., source = ... }}")
    items = dict(table)
    distribution = items.pop("distribution", None)
    source = items.pop("source", None)
    if not isinstance(distribution, str):
        raise SpecError(f"{where}: prior needs 'distribution' (one of "
                        f"{', '.join(DISTRIBUTIONS)})")
    if not isinstance(source, str) or not source.strip():
        raise SpecError(f"{where}: prior needs 'source' (where it comes from, or why)")
    try:
        return Prior(distribution, items, float(lower), float(upper), source, name)
    except SpecError as e:
        raise SpecError(f"{where}: {e}") from None


def halfnormal_logpdf(x: np.ndarray, scale: float) -> np.ndarray:
    """Log density of a half-normal of `scale` at `x` (``-inf`` where ``x <= 0``)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        out = 0.5 * math.log(2 / math.pi) - math.log(scale) - 0.5 * (x / scale) ** 2
    return np.where(x > 0, out, -np.inf)


def truncnorm_logpdf(x, mu, tau, lower, upper) -> np.ndarray:
    """Log density at `x` of a normal (`mu`, `tau`) truncated to [`lower`, `upper`]
    (``-inf`` outside it or where ``tau <= 0``)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        a, b = (lower - mu) / tau, (upper - mu) / tau
        mass = special.ndtr(b) - special.ndtr(a)
        out = -0.5 * ((x - mu) / tau) ** 2 - np.log(tau) - 0.5 * math.log(2 * math.pi) \
            - np.log(mass)
    ok = (tau > 0) & (x >= lower) & (x <= upper) & (mass > 0)
    return np.where(ok, out, -np.inf)
