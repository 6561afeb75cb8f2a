"""Sampling coordinates without bounds: :class:`Unbounded`.

A sampler that proposes moves in the parameters' own coordinates wastes
its proposals where the posterior presses against a bound: every proposal
past the bound is rejected, and an ensemble move (differential evolution,
stretch) whose walkers crowd a bound hardly moves along it. Stan and PyMC
therefore sample bounded parameters in unbounded coordinates; so does
:func:`sdkit.calibration.mcmc.run_mcmc` (option ``unbounded``, on by
default):

* both bounds finite: ``x = lower + (upper - lower) * logistic(z)``;
* only the lower bound (noise scales): ``x = lower + exp(z)``;
* only the upper bound: ``x = upper - exp(z)``;
* none: ``x = z``.

The density of ``z`` is the posterior density of ``x`` times the Jacobian
``|dx/dz|`` (:meth:`Unbounded.log_jacobian`), so the draws of ``x`` are
draws of the same posterior; only the sampler's coordinates change.
"""

from __future__ import annotations

import numpy as np

__all__ = ["Unbounded"]


def _softplus(z: np.ndarray) -> np.ndarray:
    """``log(1 + exp(z))`` without overflow."""
    return np.logaddexp(0.0, z)


class Unbounded:
    """The map between bounded parameters ``x`` and unbounded coordinates ``z``.

    Parameters
    ----------
    lower, upper : array_like (ndim,)
        Bounds of each parameter (``-inf``/``inf`` where there is none).
    """

    def __init__(self, lower, upper):
        self.lower = np.asarray(lower, float)
        self.upper = np.asarray(upper, float)
        lo, hi = np.isfinite(self.lower), np.isfinite(self.upper)
        self.both = lo & hi
        self.low_only = lo & ~hi
        self.high_only = hi & ~lo
        self.span = np.where(self.both, self.upper - self.lower, 1.0)
        self._log_span = float(np.sum(np.log(self.span[self.both])))

    def to_z(self, x: np.ndarray) -> np.ndarray:
        """Unbounded coordinates of `x` (rows; a bound itself maps to an infinity)."""
        x = np.asarray(x, float)
        z = x.copy()
        with np.errstate(divide="ignore", invalid="ignore"):
            u = (x - self.lower) / self.span
            z = np.where(self.both, np.log(u) - np.log1p(-u), z)
            z = np.where(self.low_only, np.log(x - self.lower), z)
            z = np.where(self.high_only, np.log(self.upper - x), z)
        return z

    def to_x(self, z: np.ndarray) -> np.ndarray:
        """Bounded parameters of unbounded coordinates `z` (rows)."""
        z = np.asarray(z, float)
        with np.errstate(over="ignore"):
            x = np.where(self.both, self.lower + self.span * (0.5 + 0.5 * np.tanh(0.5 * z)), z)
            x = np.where(self.low_only, self.lower + np.exp(z), x)
            x = np.where(self.high_only, self.upper - np.exp(z), x)
        return x

    def log_jacobian(self, z: np.ndarray) -> np.ndarray:
        """``log |dx/dz|`` summed over the parameters, per row of `z`."""
        z = np.atleast_2d(np.asarray(z, float))
        out = np.full(len(z), self._log_span)
        if self.both.any():
            zb = z[:, self.both]
            out -= np.sum(_softplus(zb) + _softplus(-zb), axis=1)
        one = self.low_only | self.high_only
        if one.any():
            out += np.sum(z[:, one], axis=1)
        return out

    def log_jacobian_terms(self, z: np.ndarray, columns=None) -> np.ndarray:
        """``log |dx_j/dz_j|`` of each parameter (rows, ndim), or of the parameters
        `columns` only (rows, len(columns)): :meth:`log_jacobian` is their sum over
        the parameters."""
        z = np.atleast_2d(np.asarray(z, float))
        both, one, span = self.both, self.low_only | self.high_only, self.span
        if columns is not None:
            z, both, one, span = z[:, columns], both[columns], one[columns], span[columns]
        with np.errstate(over="ignore"):
            inside = np.log(span) - _softplus(z) - _softplus(-z)
        return np.where(both, inside, np.where(one, z, 0.0))

    def inside(self, x: np.ndarray, rng: np.random.Generator | None = None,
               margin: float = 1e-3) -> np.ndarray:
        """`x` moved strictly inside the bounds, where ``z`` is finite.

        A point within ``margin`` of the span (or on the wrong side) of a
        bound is put at ``margin * span * (1 + U)`` from it, ``U`` uniform
        on [0, 1) (distinct points, so that an ensemble started there has
        spread); a one-sided bound uses ``margin * max(|x|, 1)``.
        """
        x = np.array(x, float)
        rng = rng or np.random.default_rng(0)
        gap = margin * np.where(self.both, self.span, np.maximum(np.abs(x), 1.0))
        jitter = gap * (1.0 + rng.uniform(size=x.shape))
        low = np.isfinite(self.lower) & (x < self.lower + gap)
        high = np.isfinite(self.upper) & (x > self.upper - gap)
        x = np.where(low, self.lower + jitter, x)
        return np.where(high, self.upper - jitter, x)
