"""calibration/iis_mcmc.toml: the IIS problem of calibration/iis.toml, sampled with MCMC."""

from __future__ import annotations

import numpy as np

from sdkit.calibration.bayes_spec import read_bayes
from sdkit.calibration.spec import read_problem


def test_the_mcmc_spec_is_the_least_squares_problem_with_likelihoods():
    ls, mc = read_problem("calibration/iis.toml"), read_problem("calibration/iis_mcmc.toml")
    assert mc.method == "mcmc" and ls.method == "least_squares"
    # the pandemic constants iis.toml fixes are sampled here, over their stated ranges
    unseen = {p.variable: p for p in mc.parameters if p.variable.startswith("Pandemic")}
    assert set(unseen) == {"Pandemic output loss", "Pandemic recovery time",
                           "Pandemic secondary relative output"}
    assert tuple(p for p in mc.parameters if p.variable not in unseen) == ls.parameters
    assert dict(mc.fixed) == {k: v for k, v in ls.fixed.items() if k not in unseen}
    assert unseen["Pandemic output loss"].lower <= ls.fixed["Pandemic output loss"] \
        <= unseen["Pandemic output loss"].upper
    assert (mc.start, mc.stop, mc.dt, mc.model) == (ls.start, ls.stop, ls.dt, ls.model)
    assert [(t.name, t.variable, t.times, t.values, t.weight, t.always_fit)
            for t in mc.targets] == [(t.name, t.variable, t.times, t.values, t.weight,
                                      t.always_fit) for t in ls.targets]
    assert [repr(o) for o in mc.observations] == [repr(o) for o in ls.observations]
    bp = read_bayes(mc)
    assert all(p.distribution == "uniform" for p in bp.priors.values())
    assert all(bp.priors[p.name].source for p in unseen.values())
    families = {g.name: g.likelihood for g in bp.groups}
    assert families["patents_obtained"].sigma == 0.05  # fixed: no funnel
    assert all(lik.family == "student_t" and lik.log for lik in families.values())
    # AR(1) residuals in every series with more than one point a city (not patents)
    assert {n for n, lik in families.items() if not lik.ar1} == {"patents_obtained"}
    # one sampled noise scale and one AR(1) coefficient a series
    assert len(bp.names) == len(mc.parameters) + 12
    theta = np.concatenate([mc.initial, np.tile([0.1, 0.5], 6)])
    assert np.isfinite(bp.log_prior(theta)[0])
