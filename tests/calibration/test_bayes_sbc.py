"""Simulation-based calibration check of the sampler and likelihood (SYNTHETIC data).

Truths are drawn from the prior, SYNTHETIC observations are simulated from
them with the likelihood's own noise, and each replication is sampled with
emcee. If sampler, prior and likelihood are right, each 90 % central
credible interval covers its truth in 90 % of the replications (Talts et al.
2018); with 50 replications we accept 90 % +/- 8 %. The 50 posteriors are
sampled side by side (:func:`run_lockstep`): one ensemble run per round.
"""

from __future__ import annotations

import numpy as np
import pytest

from sdkit.calibration.bayes import BayesProblem, TargetGroup
from sdkit.calibration.bayes_fit import model_simulator
from sdkit.calibration.likelihood import Likelihood
from sdkit.calibration.mcmc import initial_walkers, run_lockstep
from sdkit.calibration.objective import Objective
from sdkit.calibration.priors import Prior
from sdkit.calibration.problem import CalibrationProblem, Parameter, Target

N_REPLICATIONS, WALKERS, STEPS, BURN = 50, 16, 400, 200
TIMES = tuple(np.arange(0.0, 21.0, 2.0))
PARAMETERS = (Parameter("k", "Decay Rate", 0.01, 1.0, 0.2),
              Parameter("s0", "Initial Stock", 10.0, 300.0, 100.0))
PRIORS = {"k": Prior("lognormal", {"mu": float(np.log(0.2)), "sigma": 0.4}, 0.01, 1.0,
                     "SBC test prior"),
          "s0": Prior("normal", {"mu": 100.0, "sigma": 20.0}, 10.0, 300.0, "SBC test prior")}
LIKELIHOOD = Likelihood(log=True, sigma_prior=0.1)


def _bayes(values) -> BayesProblem:
    problem = CalibrationProblem(
        "tests/models/decay.mdl", PARAMETERS,
        (Target("Stock", "Stock", TIMES, tuple(values),
                source="SYNTHETIC: simulated from a prior draw (SBC test)"),), dt=0.25)
    return BayesProblem(problem, PRIORS, (TargetGroup("Stock", ("Stock",), LIKELIHOOD),))


def test_90_percent_intervals_cover_the_truth_in_90_percent_of_replications():
    template = _bayes(np.ones(len(TIMES)))
    rng = np.random.default_rng(20240601)
    truth = template.sample_prior(rng, N_REPLICATIONS)  # k, s0, sigma
    simulate = model_simulator(Objective(template.problem))
    clean = simulate(truth[:, :2])["Stock"]  # all truths in one ensemble run
    synthetic = clean * np.exp(truth[:, 2:3] * rng.standard_normal(clean.shape))
    problems = [_bayes(values) for values in synthetic]
    starts = [initial_walkers(bp, WALKERS, rng) for bp in problems]  # prior draws
    chains = run_lockstep(problems, simulate, starts, steps=STEPS,
                          seeds=list(range(N_REPLICATIONS)))
    covered = []
    for chain, true in zip(chains, truth):
        draws = chain.samples[BURN:].reshape(-1, truth.shape[1])
        low, high = np.quantile(draws, [0.05, 0.95], axis=0)
        covered.append((low <= true) & (true <= high))
    coverage = np.mean(covered, axis=0)
    for name, c in zip(template.names, coverage):
        assert 0.82 <= c <= 0.98, f"{name}: 90 % intervals cover the truth in {c:.0%}"
    assert np.mean(covered) == pytest.approx(0.9, abs=0.05)
