"""Output scales: parameters that only multiply one output no other variable reads.

IIS's ``Patent scale[City]`` is one: ``Patents[City] = Patent scale[City] *
(...)``, and nothing reads ``Patents``. Every fitted point of that output is
the scale times a function of the other parameters, and no other fitted
point depends on the scale. In the sampler's model block such a scale and
the parameters behind the rest of the product form a curved ridge
(``scale * f(theta) = observed``) that differential evolution, whose
proposals are straight lines, crosses slowly: on IIS the four patent scales
and the constants behind ``f`` had the longest autocorrelation times.

:class:`ScaleMoves` lets ``moves = "de-gibbs"`` (:mod:`sdkit.calibration.gibbs`)
take them out of the model block:

* after the model block's proposal ``theta -> theta'`` is run, each scale
  follows it, ``s' = s * g(theta) / g(theta')`` with ``g`` the geometric
  mean (log-scale likelihood) or root mean square of the scaled output over
  its first target's fitted points: the output's fitted level is kept and
  the ridge is followed exactly. The map is deterministic and reverses
  itself with the reversed proposal; the Metropolis ratio carries its
  Jacobian (``s'/s`` in the parameters' own coordinates);
* then each scale gets an independence Metropolis-Hastings update from its
  conditional given the rest (a Student-t proposal on ``log s`` around the
  value that zeroes the mean residual), which needs no model run: the
  scaled output's cached residuals are rescaled.

Both are exact Metropolis updates of the posterior; the draws are of the
same posterior as without them (``tests/calibration/test_scales.py``
checks them against exact posteriors). :func:`find_output_scales` finds the
scales by structure, not by trial runs: a parameter qualifies only when

* it is a sampled model parameter (not ``prior_only``, not pooled) with a
  lower bound >= 0, of a scalar constant or of one element;
* exactly one element equation reads it (initial values included), once,
  as a factor of a product (``*`` and ``/`` only, nested products
  included) in the numerator, with that element's own subscripts;
* no equation reads that output, and one fitted target at least is it;
* no other parameter scales the same output.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pysd.translators.structures import abstract_expressions as ae

from sdkit.calibration.bayes import BayesProblem
from sdkit.calibration.likelihood import series_log_likelihood
from sdkit.calibration.unbounded import Unbounded
from sdkit.model.load import Model
from sdkit.model.names import canonical, canonical_key, split_subscripted
from sdkit.structure.elements import (
    ElementGraph,
    Resolver,
    element_graph,
    model_resolver,
    node_name,
    signed_element_references,
)

__all__ = ["OutputScale", "find_output_scales", "describe_scales", "ScaleMoves", "PROPOSAL_NU",
           "PROPOSAL_WIDTH"]

#: degrees of freedom of the Student-t proposal of a scale's conditional update
PROPOSAL_NU = 4.0
#: its width, times the conditional's approximate standard deviation
PROPOSAL_WIDTH = 1.5


@dataclass(frozen=True)
class OutputScale:
    """A parameter that multiplies one output and nothing else.

    Attributes
    ----------
    column : int
        Its position in ``theta`` (a model parameter).
    name : str
        The parameter's name.
    output : str
        The element it multiplies (``"Patents[Yichang]"``).
    series : tuple of (int, int)
        The fitted targets of that output, as (group, position in the group)
        of :attr:`BayesProblem.groups <sdkit.calibration.bayes.BayesProblem.groups>`.
    """

    column: int
    name: str
    output: str
    series: tuple[tuple[int, int], ...]


def _readers(graph: ElementGraph, resolver: Resolver) -> dict[str, list[str]]:
    """``element -> [element whose equation reads it, once per reference]``, initial
    values included."""
    out: dict[str, list[str]] = {}
    for node, eq in graph.equations.items():
        for ref, _s, _d, _kind in signed_element_references(eq.ast, frozenset()):
            if not isinstance(ref, ae.ReferenceStructure):
                continue
            variable = resolver.variable(ref.reference)
            if variable is None:
                continue
            subs = ref.subscripts.subscripts if ref.subscripts else None
            for elements in resolver.elements(variable, subs, eq.binding):
                out.setdefault(node_name(variable, elements), []).append(node)
    return out


def _is_factor(ast, refers) -> bool:
    """True when `ast` is the reference (`refers(ast)`) or a product (``*``, ``/``)
    with such a factor in its numerator."""
    if isinstance(ast, ae.ReferenceStructure):
        return refers(ast)
    if not isinstance(ast, ae.ArithmeticStructure) or len(ast.arguments) < 2 \
            or not set(ast.operators) <= {"*", "/"}:
        return False
    ops = ("*", *ast.operators)
    return any(op == "*" and _is_factor(arg, refers) for op, arg in zip(ops, ast.arguments))


def _node(resolver: Resolver, variable: str, element: str | None) -> str | None:
    """The element node a parameter sets (None: several elements, or unknown)."""
    real = resolver.variable(variable)
    if real is None:
        return None
    dims = resolver.dims.get(real, [])
    if element is None:
        return real if not dims else None
    _, elems = split_subscripted(f"x[{element}]")
    if len(elems) != len(dims):
        return None
    named = tuple(resolver.element_keys.get(canonical(e)) for e in elems)
    return None if None in named else node_name(real, named)


def find_output_scales(bp: BayesProblem, model: Model) -> tuple[OutputScale, ...]:
    """The sampled model parameters of `bp` that are output scales of `model` (see
    the module docstring), in parameter order."""
    graph = element_graph(model)
    resolver = model_resolver(model)
    readers = _readers(graph, resolver)
    pooled = {m for pool in bp.pools for m in pool.members}
    where = {name: (g, t) for g, group in enumerate(bp.groups)
             for t, name in enumerate(group.targets)}
    fitted: dict[str, list[tuple[int, int]]] = {}  # output -> every series the likelihood reads
    for target in bp.problem.targets:
        if target.name in where:
            fitted.setdefault(canonical_key(target.variable), []).append(where[target.name])
    found: dict[str, list[OutputScale]] = {}
    for j, q in enumerate(bp.problem.parameters):
        if q.prior_only or q.name in pooled or q.lower < 0:
            continue
        node = _node(resolver, q.variable, q.element)
        reads = readers.get(node, []) if node else []
        if len(reads) != 1 or reads[0] == node or readers.get(reads[0]):
            continue
        out = reads[0]
        eq = graph.equations[out]

        def refers(ref, eq=eq, node=node) -> bool:
            variable = resolver.variable(ref.reference)
            subs = ref.subscripts.subscripts if ref.subscripts else None
            return variable is not None and [node] == [
                node_name(variable, e) for e in resolver.elements(variable, subs, eq.binding)]

        if eq.is_stock or not _is_factor(eq.ast, refers):
            continue
        series = tuple(fitted.get(canonical_key(out), ()))
        if series:
            found.setdefault(out, []).append(OutputScale(j, q.name, out, series))
    return tuple(sorted((s[0] for s in found.values() if len(s) == 1),
                        key=lambda s: s.column))


def describe_scales(scales) -> str:
    """The record's words for the output scales the sampler moved."""
    return (f"output scales moved along with the model and updated without model runs: "
            f"{', '.join(s.name for s in scales)}")


class ScaleMoves:
    """The scales' part of a ``"de-gibbs"`` step (see the module docstring).

    Parameters
    ----------
    bp : BayesProblem
    scales : sequence of OutputScale
    free : Unbounded or None
        The sampling coordinates' map (None: the parameters' own).
    """

    def __init__(self, bp: BayesProblem, scales, free: Unbounded | None):
        self.bp, self.scales, self.free = bp, tuple(scales), free
        self.columns = np.array([s.column for s in self.scales], int)
        self.spec = {}  # (group, position) -> (log, observed, scale of the series)
        for s in self.scales:
            for g, t in s.series:
                name = bp.groups[g].targets[t]
                target = next(x for x in bp.problem.targets if x.name == name)
                obs = np.asarray(target.values, float)[bp.fit_indices(name)]
                self.spec[g, t] = (bp.groups[g].likelihood.log, obs, bp.scale_of(name))

    # -- the series of a scaled output, from their residuals --------------------------------
    def _shift(self, g: int, t: int, r: np.ndarray, log_ratio: np.ndarray) -> np.ndarray:
        """Residuals `r` of series (g, t) after its output is multiplied by
        ``exp(log_ratio)`` (one per row)."""
        log, obs, norm = self.spec[g, t]
        if log:
            return r - log_ratio[:, None]
        ratio = np.exp(log_ratio)[:, None]
        return r * ratio + obs / norm * (ratio - 1)

    def _log_level(self, g: int, t: int, r: np.ndarray) -> np.ndarray:
        """Log of the simulated series' level (geometric mean, or root mean square)."""
        log, obs, norm = self.spec[g, t]
        if log:
            return np.mean(np.log(obs) - r, axis=1)
        sim = obs + norm * r
        return 0.5 * np.log(np.mean(sim * sim, axis=1))

    def _x(self, z: np.ndarray) -> np.ndarray:
        return z if self.free is None else self.free.to_x(z)

    def _jacobian(self, z: np.ndarray, columns) -> np.ndarray:
        """``log |dx/dz|`` of the parameters `columns`, summed per row."""
        if self.free is None:
            return np.zeros(len(z))
        return self.free.log_jacobian_terms(z, columns).sum(axis=1)

    def _prior(self, s: OutputScale, v: np.ndarray) -> np.ndarray:
        """The log prior of the scale `s` at the values `v` (``-inf`` outside its bounds)."""
        q = self.bp.problem.parameters[s.column]
        inside = (v >= q.lower) & (v <= q.upper)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(inside, self.bp.priors[q.name].logpdf(np.where(inside, v, q.lower)),
                            -np.inf)

    def _series_ll(self, x: np.ndarray, g: int, *residuals: np.ndarray) -> np.ndarray:
        """(rows, len(residuals)): the log likelihood of series of group `g`, one
        column per residual array (same noise, that of the rows `x`)."""
        group = self.bp.groups[g]
        sigma, phi = self.bp.noise(x, group)
        k = len(residuals)
        out = series_log_likelihood(np.stack(residuals, axis=1), np.repeat(sigma[:, None], k, 1),
                                    group.likelihood,
                                    None if phi is None else np.repeat(phi[:, None], k, 1))
        return np.where(np.isfinite(out), out, -np.inf)

    # -- the scales follow a model move -------------------------------------------------
    def follow(self, q: np.ndarray, lp: np.ndarray, before: list, after: list) -> tuple:
        """Move the scales of the proposals `q` along with their model parameters.

        Parameters
        ----------
        q : ndarray (rows, ndim)
            Proposals in the sampling coordinates, scales as at the current state.
        lp : ndarray (rows,)
            Their log density as run (``-inf``: outside the prior or failed).
        before, after : list
            Per group, per series: the residuals at the current state and at `q`.

        Returns
        -------
        q, lp, after, correction
            The proposals with their scales moved, their log density and
            residuals, and the log Jacobian of the map, to add to the
            Metropolis ratio.
        """
        x = self._x(q)
        moved_x = x.copy()
        change = np.zeros(len(q))  # of the log density, but for the coordinates' Jacobian
        log_gain = np.zeros(len(q))
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            for s in self.scales:
                g, t = s.series[0]
                log_ratio = self._log_level(g, t, before[g][t]) - self._log_level(g, t, after[g][t])
                moved_x[:, s.column] *= np.exp(log_ratio)
                for g, t in s.series:
                    shifted = self._shift(g, t, after[g][t], log_ratio)
                    ll = self._series_ll(x, g, after[g][t], shifted)
                    change += ll[:, 1] - ll[:, 0]
                    after[g][t] = shifted
                change += self._prior(s, moved_x[:, s.column]) - self._prior(s, x[:, s.column])
                log_gain += log_ratio
            moved = q.copy()
            if self.free is None:
                moved[:, self.columns] = moved_x[:, self.columns]
            else:
                moved[:, self.columns] = self.free.to_z(moved_x)[:, self.columns]
            jacobian = self._jacobian(moved, self.columns) - self._jacobian(q, self.columns)
            new = lp + change + jacobian
            ok = np.isfinite(new) & np.isfinite(log_gain)
        return moved, np.where(ok, new, -np.inf), after, np.where(ok, log_gain - jacobian, 0.0)

    # -- each scale from its conditional --------------------------------------------------
    def _conditional(self, x: np.ndarray, s: OutputScale, res: list) -> tuple:
        """Centre and standard deviation of ``log s`` given the rest (approximate: the
        noise as Gaussian and independent); NaN where the series give none."""
        u = np.log(x[:, s.column])
        weight = np.zeros(len(x))
        centre = np.zeros(len(x))
        for g, t in s.series:
            log, obs, norm = self.spec[g, t]
            sigma = self.bp.noise(x, self.bp.groups[g])[0]
            r = res[g][t]
            if log:
                c, w = u + r.mean(axis=1), r.shape[1] / sigma ** 2
            else:
                sim = obs + norm * r
                a = (sim * obs).sum(axis=1) / (sim * sim).sum(axis=1)
                c, w = u + np.log(a), a * a * ((sim / norm) ** 2).sum(axis=1) / sigma ** 2
            centre += w * c
            weight += w
        return centre / weight, 1 / np.sqrt(weight)

    def sweep(self, z: np.ndarray, res: list, random) -> tuple[np.ndarray, np.ndarray]:
        """One update of every scale of the walkers `z` (rows), no model run.

        `res` (per group, per series: the rows' residuals) is updated in place.
        Returns the new coordinates and each row's change of log density.
        """
        z = z.copy()
        x = self._x(z)
        change = np.zeros(len(z))
        nu = PROPOSAL_NU
        for s in self.scales:
            j = s.column
            with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
                centre, sd = self._conditional(x, s, res)
                width = PROPOSAL_WIDTH * sd
                u = np.log(x[:, j])
                step = random.standard_t(nu, size=len(z))
                log_ratio = centre + width * step - u
                moved = x[:, j] * np.exp(log_ratio)
                gain = self._prior(s, moved) - self._prior(s, x[:, j]) + log_ratio
                shifted = {}
                for g, t in s.series:
                    shifted[g, t] = self._shift(g, t, res[g][t], log_ratio)
                    ll = self._series_ll(x, g, res[g][t], shifted[g, t])
                    gain += ll[:, 1] - ll[:, 0]
                back = (u - centre) / width  # the Student-t proposal's densities (ratio)
                hastings = (nu + 1) / 2 * (np.log1p(step * step / nu) - np.log1p(back * back / nu))
                take = (gain + hastings > np.log(random.rand(len(z)))) & np.isfinite(width)
            if not take.any():
                continue
            z_old = z[take]
            x[take, j] = moved[take]
            z[take, j] = x[take, j] if self.free is None else self.free.to_z(x[take])[:, j]
            change[take] += gain[take] - log_ratio[take] \
                + self._jacobian(z[take], [j]) - self._jacobian(z_old, [j])
            for g, t in s.series:
                res[g][t][take] = shifted[g, t][take]
        return z, change
