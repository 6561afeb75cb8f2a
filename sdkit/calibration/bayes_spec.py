"""Read the Bayesian keys of a calibration spec: :func:`read_bayes`.

The keys sit beside the least-squares ones, so one spec serves every method::

    [fit]
    method = "mcmc"                 # or "map"
    options = { walkers = 32, steps = 2000, burn = 500, seed = 1 }

    [[parameters]]
    variable = "Capital share"
    per_element = true
    lower = 0.2
    upper = 0.6
    prior = { distribution = "normal", mu = 0.4, sigma = 0.08,
              source = "national accounts labour shares (NBS 2019)" }
    pooled = true                   # cities drawn from a shared distribution
    pool_scale = 0.05               # half-normal scale of the pool's spread

    [[targets]]
    variable = "GDP"
    indicator = "gdp_real"
    likelihood = { family = "student_t", log = true, ar1 = true }

See :mod:`sdkit.calibration.priors` and :mod:`sdkit.calibration.likelihood`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

from sdkit.calibration.bayes import BayesProblem, Pool, TargetGroup
from sdkit.calibration.likelihood import Likelihood, read_likelihood
from sdkit.calibration.priors import read_prior, uniform_prior
from sdkit.calibration.problem import CalibrationProblem
from sdkit.errors import SpecError
from sdkit.io.textfile import read_toml_file

__all__ = ["read_bayes"]


def _entry_parameters(problem: CalibrationProblem, item: Mapping) -> list:
    """The parameters one ``[[parameters]]`` entry made (several entries may share a
    name, each with its own ``elements``)."""
    name = item.get("name", item.get("variable"))
    if isinstance(item.get("elements"), list):
        wanted = {f"{name}[{e}]" for e in item["elements"]}
        return [p for p in problem.parameters if p.name in wanted]
    if item.get("per_element", False):
        return [p for p in problem.parameters if p.name.startswith(f"{name}[")]
    return [p for p in problem.parameters if p.name == name]


def _entry_targets(problem: CalibrationProblem, item: Mapping) -> list:
    variable = str(item.get("variable", ""))
    indicator = item.get("indicator", item.get("series"))
    return [t for t in problem.targets if t.weight > 0
            and t.variable.partition("[")[0].strip() == variable
            and (indicator is None or t.indicator in ("", indicator))]


def _read_pool(item: Mapping, members: list, prior, where: str) -> Pool:
    if len(members) < 2 or any(p.element is None for p in members):
        raise SpecError(f"{where}: pooled = true needs a per-element parameter "
                        "(per_element = true with two or more elements)")
    lower, upper = members[0].lower, members[0].upper
    scale = item.get("pool_scale", (upper - lower) / 4)
    if isinstance(scale, bool) or not isinstance(scale, int | float) \
            or not (math.isfinite(scale) and scale > 0):
        raise SpecError(f"{where}: scale pool_scale must be a number > 0: {scale!r}")
    name = str(item.get("name", item.get("variable")))
    return Pool(name, tuple(p.name for p in members), prior, float(scale))


def read_bayes(problem: CalibrationProblem) -> BayesProblem:
    """The priors, likelihoods and pools of `problem`'s spec file.

    Parameters
    ----------
    problem : CalibrationProblem
        Read from a spec (its ``spec_path`` is read again for the Bayesian
        keys); a problem without a spec gets uniform priors and Gaussian
        likelihoods with sampled noise scales.

    Raises
    ------
    SpecError
        One line naming the file, the table and the key: an unknown
        distribution or family, a prior outside the bounds, a non-positive
        scale, ``pooled`` on a scalar parameter.
    """
    if not problem.spec_path:
        return BayesProblem(problem)
    path = Path(problem.spec_path)
    spec = read_toml_file(path, error=SpecError, what="calibration spec", missing="no such file")
    priors, pools = {}, []
    for i, item in enumerate(spec.get("parameters", [])):
        where = f"{path}: parameters[{i}]"
        members = _entry_parameters(problem, item)
        if not members:
            continue
        p0 = members[0]
        if "prior" in item:
            prior = read_prior(item["prior"], name=str(item.get("name", p0.variable)),
                               lower=p0.lower, upper=p0.upper, where=where)
        else:
            prior = uniform_prior(p0.name, p0.lower, p0.upper)
        pooled = item.get("pooled", False)
        if not isinstance(pooled, bool):
            raise SpecError(f"{where}: pooled must be true or false: {pooled!r}")
        if "pool_scale" in item and not pooled:
            raise SpecError(f"{where}: pool_scale is given but pooled is not true")
        if pooled:
            pools.append(_read_pool(item, members, prior, where))
        for p in members:
            priors[p.name] = prior
    groups = []
    for i, item in enumerate(spec.get("targets", [])):
        where = f"{path}: targets[{i}]"
        lik = (read_likelihood(item["likelihood"], where=where) if "likelihood" in item
               else Likelihood())
        names = tuple(t.name for t in _entry_targets(problem, item))
        if names:
            label = str(item.get("indicator", item.get("variable", f"targets[{i}]")))
            groups.append(TargetGroup(f"{label}#{i}" if any(g.name == label for g in groups)
                                      else label, names, lik))
    grouped = {n for g in groups for n in g.targets}
    groups += [TargetGroup(t.name, (t.name,)) for t in problem.targets
               if t.weight > 0 and t.name not in grouped]
    try:
        return BayesProblem(problem, priors, tuple(groups), tuple(pools))
    except SpecError as e:
        msg = str(e)
        raise SpecError(msg if msg.startswith(str(path)) else f"{path}: {msg}") from None
