"""The likelihood of an observed series: :class:`Likelihood` and :func:`log_likelihood`.

Written per ``[[targets]]`` entry of the calibration spec (all elements of the
entry share it)::

    [[targets]]
    variable = "GDP"
    indicator = "gdp_real"
    likelihood = { family = "student_t", nu = 4, log = true, ar1 = true,
                   sigma_prior = 0.1 }

Residuals are *relative*, so one noise scale fits series of any size:

* ``log = false``: ``r = (simulated - observed) / mean|observed in the fit window|``;
* ``log = true`` (positive quantities): ``r = log(observed) - log(simulated)``.

The noise scale ``sigma`` is either given (``sigma = 0.05``) or sampled with
a half-normal prior of scale ``sigma_prior`` (default 0.2). With ``ar1 = true``
the residuals follow ``r_t = phi r_{t-1} + e_t`` with ``phi`` sampled uniform
on (-0.95, 0.95); the first point has the stationary variance
``sigma^2 / (1 - phi^2)``. Points are taken in time order.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from scipy import special

from sdkit.errors import SpecError

__all__ = ["Likelihood", "read_likelihood", "log_likelihood", "series_log_likelihood",
           "GroupedLikelihood", "FAMILIES", "PHI_LIMIT"]

FAMILIES = ("normal", "student_t")
#: the AR(1) coefficient is sampled on (-PHI_LIMIT, PHI_LIMIT)
PHI_LIMIT = 0.95
_KEYS = {"family", "log", "sigma", "sigma_prior", "nu", "ar1"}


@dataclass(frozen=True)
class Likelihood:
    """How observed points scatter around the simulated series.

    Parameters
    ----------
    family : {"normal", "student_t"}
    log : bool
        Compare logarithms (positive quantities only).
    sigma : float or None
        Fixed relative noise scale; None samples it.
    sigma_prior : float
        Scale of the half-normal prior of a sampled `sigma`.
    nu : float
        Degrees of freedom of the Student-t family (> 0).
    ar1 : bool
        AR(1) residuals with a sampled coefficient.
    """

    family: str = "normal"
    log: bool = False
    sigma: float | None = None
    sigma_prior: float = 0.2
    nu: float = 4.0
    ar1: bool = False

    def __post_init__(self):
        if self.family not in FAMILIES:
            raise SpecError(f"likelihood family {self.family!r} unknown; expected one of "
                            f"{', '.join(FAMILIES)}")
        for key in ("sigma", "sigma_prior", "nu"):
            value = getattr(self, key)
            if value is None and key == "sigma":
                continue
            if isinstance(value, bool) or not isinstance(value, int | float) \
                    or not (math.isfinite(value) and value > 0):
                raise SpecError(f"likelihood: scale {key} must be a number > 0: {value!r}")

    @property
    def sampled(self) -> tuple[str, ...]:
        """Names of the sampled noise parameters (``"sigma"``, ``"phi"``)."""
        return (("sigma",) if self.sigma is None else ()) + (("phi",) if self.ar1 else ())


def read_likelihood(table: object, *, where: str) -> Likelihood:
    """Parse a ``likelihood = { ... }`` table (see the module docstring).

    Raises
    ------
    SpecError
        Not a table, unknown keys, an unknown family, a non-positive scale;
        the message starts with `where`.
    """
    if not isinstance(table, Mapping):
        raise SpecError(f"{where}: likelihood must be a table {{ family = ..., ... }}")
    bad = [k for k in table if k not in _KEYS]
    if bad:
        raise SpecError(f"{where}: likelihood: unknown key(s) {', '.join(map(repr, bad))}; "
                        f"expected {', '.join(sorted(_KEYS))}")
    for key in ("log", "ar1"):
        if key in table and not isinstance(table[key], bool):
            raise SpecError(f"{where}: likelihood: {key} must be true or false")
    try:
        return Likelihood(**dict(table))
    except SpecError as e:
        raise SpecError(f"{where}: {e}") from None
    except TypeError as e:  # a wrong value type scipy/dataclass cannot take
        raise SpecError(f"{where}: likelihood: {e}") from None


def _density(e: np.ndarray, scale: np.ndarray, lik: Likelihood) -> np.ndarray:
    """Log density of `e` (..., points) with `scale` (..., 1), summed over the points."""
    n = e.shape[-1]
    z = e / scale
    log_scale = n * np.log(scale[..., 0])
    if lik.family == "normal":
        return -0.5 * (z * z).sum(axis=-1) - log_scale - n * 0.5 * math.log(2 * math.pi)
    nu = lik.nu
    const = special.gammaln((nu + 1) / 2) - special.gammaln(nu / 2) - 0.5 * math.log(nu * math.pi)
    return n * const - log_scale - (nu + 1) / 2 * np.log1p(z * z / nu).sum(axis=-1)


def series_log_likelihood(residuals: np.ndarray, sigma: np.ndarray, lik: Likelihood,
                          phi: np.ndarray | None = None) -> np.ndarray:
    """Log likelihood of each of several series of equal length, each with its own noise.

    Parameters
    ----------
    residuals : ndarray (members, series, points)
        Relative residuals in time order (NaN for a failed run).
    sigma, phi : ndarray (members, series)
        Noise scale and AR(1) coefficient (`phi` required when ``lik.ar1``).
    lik : Likelihood

    Returns
    -------
    ndarray (members, series)
        NaN or ``-inf`` where a residual is not finite.
    """
    r = np.asarray(residuals, float)
    scale = np.asarray(sigma, float)[:, :, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        if not lik.ar1:
            return _density(r, scale, lik)
        p = np.asarray(phi, float)[:, :, None]
        return _density(r[:, :, :1], scale / np.sqrt(1 - p * p), lik) \
            + _density(r[:, :, 1:] - p * r[:, :, :-1], scale, lik)


def log_likelihood(residuals, sigma: np.ndarray, lik: Likelihood,
                   phi: np.ndarray | None = None) -> np.ndarray:
    """Log likelihood of residual rows.

    Parameters
    ----------
    residuals : ndarray (members, points), or a sequence of them
        Relative residuals in time order (NaN for a failed run); a sequence
        holds independent series (e.g. one per element) sharing `sigma` and
        `phi`, each in its own time order.
    sigma : ndarray (members,)
        Noise scale per member.
    lik : Likelihood
    phi : ndarray (members,), optional
        AR(1) coefficient per member (required when ``lik.ar1``).

    Returns
    -------
    ndarray (members,)
        ``-inf`` for rows with a non-finite residual.
    """
    series = ([np.atleast_2d(np.asarray(residuals, float))] if isinstance(residuals, np.ndarray)
              else [np.atleast_2d(np.asarray(r, float)) for r in residuals])
    one_group = GroupedLikelihood([lik], [[r.shape[1] for r in series]])
    noise = (np.asarray(sigma, float), None if phi is None else np.asarray(phi, float))
    return one_group([series], [noise])[:, 0]


class GroupedLikelihood:
    """The log likelihood of several groups of series, one density call per bucket.

    A group's series share a likelihood and its noise (one ``[[targets]]``
    entry); series of any groups with the same likelihood and length form a
    bucket, evaluated in one :func:`series_log_likelihood` call and summed back
    by group.

    Parameters
    ----------
    likelihoods : sequence of Likelihood
        One per group.
    lengths : sequence of sequences of int
        Per group, the number of points of each of its series.
    """

    def __init__(self, likelihoods, lengths):
        buckets: dict = {}
        for g, (lik, sizes) in enumerate(zip(likelihoods, lengths)):
            for t, n in enumerate(sizes):
                buckets.setdefault((lik, n), []).append((g, t))
        self.n_groups = len(likelihoods)
        self.buckets = []
        for (lik, _), members in buckets.items():
            of = np.array([g for g, _ in members])
            self.buckets.append((lik, of, tuple(members),
                                 (of[:, None] == np.arange(self.n_groups)).astype(float)))

    def __call__(self, residuals, noise) -> np.ndarray:
        """(members, groups) log likelihoods (``-inf`` where a residual is not finite).

        Parameters
        ----------
        residuals : list
            Per group, per series: residual rows (members, points).
        noise : list
            Per group: ``(sigma, phi)``, arrays (members,) (`phi` None without AR(1)).
        """
        out = bad = None
        for lik, of, members, by_group in self.buckets:
            r = np.stack([residuals[g][t] for g, t in members], axis=1)
            sigma = np.column_stack([noise[g][0] for g in of])
            phi = np.column_stack([noise[g][1] for g in of]) if lik.ar1 else None
            per = series_log_likelihood(r, sigma, lik, phi)
            finite = np.isfinite(per)
            if out is None:
                out = np.zeros((len(per), self.n_groups))
                bad = np.zeros(out.shape, bool)
            out += np.where(finite, per, 0.0) @ by_group
            bad |= (~finite).astype(float) @ by_group > 0
        if out is None:
            return np.zeros((len(noise[0][0]) if noise else 0, self.n_groups))
        return np.where(bad, -np.inf, out)
