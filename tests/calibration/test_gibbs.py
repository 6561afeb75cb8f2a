"""DE within Gibbs (moves "de-gibbs"): the blocks that need no model run, and the draws.

The posteriors here are SYNTHETIC: a constant level observed with AR(1) noise
(no model: the simulator is numpy), and the pooled decay model of
test_bayes_pooling.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from test_bayes_cli import SPEC, _spec
from test_bayes_mcmc import _bayes, counting_simulator

from sdkit.calibration.bayes import BayesProblem, Pool, TargetGroup
from sdkit.calibration.bayes_fit import calibrate_bayes, check_prior_only
from sdkit.calibration.fit import calibrate
from sdkit.calibration.likelihood import Likelihood
from sdkit.calibration.mcmc import initial_walkers, run_mcmc
from sdkit.calibration.priors import Prior
from sdkit.calibration.problem import CalibrationProblem, Parameter, Target
from sdkit.cli import main
from sdkit.errors import SpecError

TIMES = tuple(float(t) for t in range(10))
#: SYNTHETIC observations of a level of 10 with AR(1) noise (phi 0.6, sigma 0.05)
LEVEL = (10.31, 10.52, 10.14, 9.96, 9.48, 9.71, 10.06, 10.44, 10.37, 9.88)


def _level_problem(*unseen: Parameter) -> BayesProblem:
    """The level posterior; `unseen`: prior_only parameters the 'model' ignores."""
    problem = CalibrationProblem(
        "tests/models/decay.mdl",
        (Parameter("level", "Initial Stock", 8.0, 12.0, 10.0), *unseen),
        (Target("Stock", "Stock", TIMES, LEVEL, source="SYNTHETIC: level with AR(1) noise"),))
    priors = {"shock": SHOCK_PRIOR} if unseen else {}
    return BayesProblem(problem, priors, groups=(
        TargetGroup("Stock", ("Stock",), Likelihood(ar1=True, sigma_prior=0.1)),))


SHOCK = Parameter("shock", "Decay Rate", 0.0, 1.0, 0.5, prior_only=True)
SHOCK_PRIOR = Prior("normal", {"mu": 0.3, "sigma": 0.1}, 0.0, 1.0, "test: SYNTHETIC assumption")


def _level(x: np.ndarray) -> dict[str, np.ndarray]:
    """The SYNTHETIC 'model': a constant level, no run."""
    return {"Stock": np.repeat(x[:, :1], len(TIMES), axis=1)}


def _cdf_on_grid(bp: BayesProblem, column: int, size: int = 70):
    """Marginal CDF of one coordinate of the level posterior, by summing the exact
    density (bp.log_prob) over a grid of (level, sigma, phi)."""
    level = np.linspace(8.0, 12.0, 4 * size)
    sigma = np.linspace(1e-3, 0.12, size) * 10.06  # residuals are relative to the mean
    phi = np.linspace(-0.95, 0.95, size)
    axes = (level, sigma / 10.06, phi)
    grid = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 3)
    density = np.exp(bp.log_prob(grid, _level) - np.max(bp.log_prob(grid, _level)))
    density = density.reshape(4 * size, size, size)
    other = tuple(a for a in range(3) if a != column)
    marginal = density.sum(axis=other)
    cdf = np.cumsum(marginal) / marginal.sum()
    return axes[column], cdf


def test_each_cheap_block_carries_all_of_the_posterior_that_depends_on_it():
    """Changing one block's coordinates changes the log posterior by exactly the change
    of that block's term (noise blocks and pool blocks)."""
    bp = _bayes()
    pooled = _pooled_problem()
    for problem, simulate in ((bp, counting_simulator(bp)[0]),
                              (pooled, _rates_simulator(pooled)),
                              (_level_problem(SHOCK), _level)):
        rng = np.random.default_rng(4)
        theta = problem.sample_prior(rng, 6)
        sims = simulate(theta[:, :problem.n_model])
        res = problem.group_residuals(sims)
        assert problem.cheap_blocks
        for b, block in enumerate(problem.cheap_blocks):
            moved = theta.copy()
            moved[:, block] = problem.sample_prior(rng, 6)[:, block]
            full = problem.log_prob(moved, simulate) - problem.log_prob(theta, simulate)
            part = problem.block_log_density(moved, res)[:, b] \
                - problem.block_log_density(theta, res)[:, b]
            np.testing.assert_allclose(part, full, rtol=1e-9, atol=1e-9)


def _pooled_problem() -> BayesProblem:
    cities = ("A", "B", "C")
    params = tuple(Parameter(f"r[{c}]", f"Growth Rate[{c}]", 0.0, 0.3, 0.1) for c in cities)
    targets = tuple(Target(f"y[{c}]", f"Output[{c}]", (0.0, 1.0, 2.0), (1.0, 1.1, 1.2),
                           source="SYNTHETIC (test)") for c in cities)
    problem = CalibrationProblem("tests/models/decay_city.mdl", params, targets)
    mu = Prior("normal", {"mu": 0.1, "sigma": 0.05}, 0.0, 0.3, "test")
    return BayesProblem(problem, pools=(Pool("r", tuple(p.name for p in params), mu, 0.05),))


def _rates_simulator(bp: BayesProblem):
    def simulate(x):  # SYNTHETIC growth from 1 at each element's rate
        t = np.array([0.0, 1.0, 2.0])
        return {f"y[{c}]": np.exp(x[:, [j]] * t) for j, c in enumerate("ABC")}
    return simulate


@pytest.fixture(scope="module")
def level_chain():
    bp = _level_problem()
    start = initial_walkers(bp, 16, np.random.default_rng(0),
                            center=np.array([10.0, 0.03, 0.3]))
    return bp, run_mcmc(bp, _level, start, steps=3000, seed=5, moves="de-gibbs")


@pytest.mark.parametrize("column", [0, 1, 2])
def test_de_gibbs_draws_follow_the_exact_posterior(column, level_chain):
    """The level, its noise scale and the AR(1) coefficient: the draws' marginal CDF
    against the exact one summed on a grid (Kolmogorov-Smirnov distance)."""
    bp, chain = level_chain
    draws = np.sort(chain.samples[500::7, :, column].ravel())
    axis, cdf = _cdf_on_grid(bp, column)
    ks = np.max(np.abs(np.interp(draws, axis, cdf) - np.arange(1, draws.size + 1) / draws.size))
    assert ks < 0.05, ks
    # the stored log density is the posterior's at the stored draws (the Gibbs updates
    # keep it current without a model run)
    np.testing.assert_allclose(chain.log_prob[-1], bp.log_prob(chain.samples[-1], _level),
                               rtol=1e-9)


def test_de_gibbs_makes_one_ensemble_run_a_half_step_and_one_to_start():
    bp = _bayes()
    counting, calls = counting_simulator(bp)
    start = initial_walkers(bp, 8, np.random.default_rng(0),
                            center=np.array([0.25, 120.0, 0.05]))
    chain = run_mcmc(bp, counting, start, steps=30, seed=1, moves="de-gibbs")
    # emcee's initial state, the move's residuals of it, then two halves a step
    assert calls[:2] == [8, 8] and len(calls) == 2 + 2 * 30
    assert max(calls[2:]) <= 4
    assert chain.acceptance.mean() > 0.1
    sigma = chain.samples[:, :, 2]
    assert len(np.unique(sigma[-10:])) > 10  # the noise scale moves without model runs


def test_a_prior_only_parameter_is_drawn_from_its_prior_without_model_runs():
    """The 'model' ignores `shock` (it acts on no fitted point): its draws follow its
    prior, the level's posterior is the one without it, and the ensemble move spans
    the level alone."""
    bp = _level_problem(SHOCK)
    assert bp.expensive.tolist() == [0] and [b.tolist() for b in bp.cheap_blocks] == [[2, 3], [1]]
    check_prior_only(bp, _level, np.array([10.0, 0.5]))  # it moves no fitted point
    start = initial_walkers(bp, 16, np.random.default_rng(0),
                            center=np.array([10.0, 0.5, 0.03, 0.3]))
    chain = run_mcmc(bp, _level, start, steps=2000, seed=6, moves="de-gibbs")
    draws = np.sort(chain.samples[400::5, :, 1].ravel())
    exact = stats.truncnorm(-3.0, 7.0, loc=0.3, scale=0.1).cdf(draws)  # the prior on [0, 1]
    ks = np.max(np.abs(exact - np.arange(1, draws.size + 1) / draws.size))
    assert ks < 0.05, ks
    level = np.sort(chain.samples[400::5, :, 0].ravel())
    axis, cdf = _cdf_on_grid(_level_problem(), 0)
    ks = np.max(np.abs(np.interp(level, axis, cdf) - np.arange(1, level.size + 1) / level.size))
    assert ks < 0.05, ks


def test_a_prior_only_parameter_that_moves_a_fitted_point_is_one_line():
    bp = _bayes()
    problem = bp.problem
    k = problem.parameters[0]
    flagged = BayesProblem(CalibrationProblem(
        problem.model, (Parameter(k.name, k.variable, k.lower, k.upper, k.initial,
                                  prior_only=True), *problem.parameters[1:]),
        problem.targets, dt=problem.dt), groups=bp.groups)
    with pytest.raises(SpecError, match=r"parameter 'k' is prior_only but at its bound 0.01 "
                                        r"it changes the fitted point Stock at 2; .* remove "
                                        r"prior_only"):
        calibrate_bayes(flagged, method="mcmc", walkers=8, steps=2, init="prior")
    with pytest.raises(SpecError, match=r"parameter\(s\) k are prior_only .* least_squares "
                                        r"cannot fit them"):
        calibrate(flagged.problem, method="least_squares")


@pytest.mark.parametrize(("edit", "message"), [
    ('prior_only = "yes"', "parameters[1]: 'prior_only' must be bool, got 'yes'"),
    ("prior_only = true", "parameter(s) Infectious duration are prior_only (no fitted point "
                          "depends on them): least_squares cannot fit them"),
])
def test_prior_only_in_a_spec_bad_or_with_least_squares_is_one_line_exit_2(
        tmp_path, capsys, edit, message):
    text = SPEC.replace('initial = 5.0\n', f'initial = 5.0\n{edit}\n')
    if edit == "prior_only = true":
        text = text.replace('method = "mcmc"', 'method = "least_squares"')
    spec = _spec(tmp_path, text)
    out = tmp_path / "out"
    assert main(["calibrate", str(spec), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and str(spec) in err and len(err.splitlines()) == 1
    assert not out.exists()


def test_a_walker_starting_outside_the_prior_is_not_run_and_joins_the_others():
    """The level's prior covers [9, 11] inside its bounds [8, 12]; one walker starts at
    11.5, where the prior is 0: its residuals are unknown (NaN) until it moves in."""
    bp = _level_problem()
    narrow = Prior("uniform", {"low": 9.0, "high": 11.0}, 8.0, 12.0, "test: narrower than bounds")
    bp = BayesProblem(bp.problem, {"level": narrow}, bp.groups)
    start = initial_walkers(bp, 12, np.random.default_rng(0),
                            center=np.array([10.0, 0.03, 0.3]))
    start[0, 0] = 11.5
    chain = run_mcmc(bp, _level, start, steps=300, seed=2, moves="de-gibbs")
    assert chain.log_prob[0, 0] == -np.inf
    assert np.all(np.isfinite(chain.log_prob[-1])) and np.all(chain.samples[-1, :, 0] < 11.0)
    np.testing.assert_allclose(chain.log_prob[-1], bp.log_prob(chain.samples[-1], _level),
                               rtol=1e-9)
