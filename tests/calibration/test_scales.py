"""Output scales (sdkit.calibration.scales): which constants qualify, and the draws of
``"de-gibbs"`` when the scales follow the model moves.

Every observed value here is SYNTHETIC: the model tests/models/scaled_outputs.mdl
is made up for these tests, and the posterior test's 'model' is numpy.
"""

from __future__ import annotations

import numpy as np
import pytest

from sdkit.calibration.bayes import BayesProblem, TargetGroup
from sdkit.calibration.bayes_fit import calibrate_bayes
from sdkit.calibration.bayes_spec import read_bayes
from sdkit.calibration.diagnostics import autocorr_time
from sdkit.calibration.likelihood import Likelihood
from sdkit.calibration.mcmc import initial_walkers, run_mcmc
from sdkit.calibration.objective import Objective
from sdkit.calibration.problem import CalibrationProblem, Parameter, Target
from sdkit.calibration.scales import OutputScale, ScaleMoves, describe_scales, find_output_scales
from sdkit.calibration.spec import read_problem
from sdkit.calibration.unbounded import Unbounded
from sdkit.errors import InvalidValueError, SdkitWarning
from sdkit.model.load import load_model
from sdkit.structure.elements import element_graph

MODEL = "tests/models/scaled_outputs.mdl"
TIMES = (2011.0, 2012.0, 2013.0)
#: the model's constants, and which of them are output scales
CONSTANTS = {"Reporting Scale[A]": True, "Reporting Scale[B]": True, "Nest Scale": True,
             "Shift Scale": False, "Read Scale": False, "Divisor": False,
             "Square Scale": False, "Start Scale": False, "Cross Scale[A]": False,
             "Growth Rate": False}
OUTPUTS = ("Reported[A]", "Reported[B]", "Nested", "Shifted", "Doubled", "Divided", "Squared",
           "Started", "Crossed[A]", "Crossed[B]")


def _model_problem(**likelihood) -> BayesProblem:
    params = []
    for key in CONSTANTS:
        variable, _, element = key.partition("[")
        params.append(Parameter(key, variable, 0.0 if key != "Growth Rate" else 0.01, 10.0,
                                1.0 if key != "Growth Rate" else 0.1,
                                element=element.rstrip("]") or None))
    targets = tuple(Target(o, o, TIMES, (20.0, 22.0, 24.0), source="SYNTHETIC (test)")
                    for o in OUTPUTS)
    problem = CalibrationProblem(MODEL, tuple(params), targets)
    return BayesProblem(problem, groups=tuple(
        TargetGroup(o, (o,), Likelihood(**likelihood)) for o in OUTPUTS))


def test_only_a_factor_of_an_output_nothing_reads_is_an_output_scale():
    bp = _model_problem(log=True)
    found = find_output_scales(bp, load_model(MODEL))
    assert {s.name for s in found} == {k for k, scale in CONSTANTS.items() if scale}
    by_name = {s.name: s for s in found}
    assert by_name["Reporting Scale[B]"].output == "Reported[B]"
    assert by_name["Nest Scale"].series == ((OUTPUTS.index("Nested"), 0),)
    # every series fitted to the output is the scale's: a second one on Reported[A]
    second = Target("Reported[A] again", "reported[a]", TIMES, (21.0, 23.0, 25.0),
                    source="SYNTHETIC (test)")
    both = BayesProblem(CalibrationProblem(MODEL, bp.problem.parameters,
                                           (*bp.problem.targets, second)))
    scale = next(s for s in find_output_scales(both, load_model(MODEL))
                 if s.name == "Reporting Scale[A]")
    assert [both.groups[g].targets[t] for g, t in scale.series] == ["Reported[A]",
                                                                    "Reported[A] again"]
    # pooled, prior_only or below 0 at its lower bound: not a scale
    low = CalibrationProblem(MODEL, (Parameter("Nest Scale", "Nest Scale", -1.0, 2.0, 1.0),),
                             bp.problem.targets)
    assert find_output_scales(BayesProblem(low), load_model(MODEL)) == ()


def test_a_found_scale_multiplies_its_output_and_nothing_else():
    """The structural finding checked by runs of the model: each scale doubled."""
    bp = _model_problem(log=True)
    found = find_output_scales(bp, load_model(MODEL))
    objective = Objective(bp.problem, engine="fast")
    rows = np.repeat(bp.problem.initial[None, :], len(found) + 1, axis=0)
    for k, s in enumerate(found, start=1):
        rows[k, s.column] *= 2
    sims = objective.simulate_many(rows)
    for k, s in enumerate(found, start=1):
        for name, sim in sims.items():
            ratio = sim[k] / sim[0]
            expected = 2.0 if name == s.output else 1.0
            np.testing.assert_allclose(ratio, expected, rtol=1e-12, err_msg=f"{s.name}: {name}")


#: conformance models of every kind of structure (subscripts, mappings, subranges, macros,
#: delays, smooths; Vensim, XMILE, Stella); only test_parens has an output scale
VARIED = ("parentheses/test_parens.mdl", "parentheses/test_parens.xmile",
          "parentheses/test_parens.stmx",
          "subscript_mapping_vensim/test_subscript_mapping_vensim.mdl",
          "subscript_subranges/test_subscript_subrange.mdl",
          "subscript_transposition/test_subscript_transposition.mdl",
          "macro_stock/test_macro_stock.mdl", "delay_pipeline/test_pipeline_delays.mdl",
          "delay_xmile/test_delay_xmile.xmile", "smooth/test_smooth.mdl",
          "subscripted_flows/test_subscripted_flows.mdl",
          "subscript_individually_defined_1d_arrays/"
          "subscript_individually_defined_1d_arrays.stmx")


@pytest.mark.parametrize("name", VARIED)
def test_any_model_every_constant_a_parameter(name, conformance_dir):
    """Every constant element a parameter, every other element a target (SYNTHETIC
    points): the search runs on any structure and finds only a factor of a product."""
    model = load_model(conformance_dir / "tests" / name)
    graph = element_graph(model)
    params, targets = [], []
    for node, eq in graph.equations.items():
        element = ",".join(e for _, e in eq.binding) or None
        if isinstance(eq.ast, int | float | np.ndarray):  # a constant (an array's element)
            params.append(Parameter(node, eq.variable, 0.0, 1e6, 1.0, element=element))
        else:
            targets.append(Target(node, node, tuple(map(float, range(40))), (1.0,) * 40,
                                  source="SYNTHETIC (test)"))
    problem = CalibrationProblem(model.path, tuple(params), tuple(targets))
    found = find_output_scales(BayesProblem(problem), model)
    expected = [("Var1", "Equation Parenthesis Test")] if "parens" in name else []
    assert [(s.name, s.output) for s in found] == expected


def test_the_iis_patent_scales_are_its_output_scales():
    bp = read_bayes(read_problem("calibration/iis_mcmc.toml"))
    found = find_output_scales(bp, load_model(bp.problem.model))
    assert [s.name for s in found] == [f"Patent scale[{c}]" for c in
                                       ("Yichang", "Jingzhou", "Jingmen", "Enshi")]
    assert [s.output for s in found] == [f"Patents[{c}]" for c in
                                         ("Yichang", "Jingzhou", "Jingmen", "Enshi")]


# -- the draws ---------------------------------------------------------------------------
T = np.arange(6.0)
#: SYNTHETIC: 2 exp(0.2 t) with 25 % log-normal noise (log series) and the same curve
#: times 3 with 25 % of its mean as Gaussian noise (linear series): noisy, so that the
#: scale's posterior is wide (a wrong Jacobian would move it by a fifth of its spread)
LOG_OBS = (2.02, 3.43, 4.05, 3.21, 4.13, 4.77)
LIN_OBS = (7.49, 7.18, 10.91, 6.09, 17.46, 16.06)
LIN_SIGMA = 0.25
#: the grid the exact posterior is summed on: r and s over their whole bounds
AXES = (np.linspace(0.0, 0.5, 100), np.linspace(0.5, 5.0, 100), np.linspace(1e-3, 0.8, 50))


def _ridge_problem() -> BayesProblem:
    """Growth rate r and scale s of ``s exp(r t)``: one log-scale series with a sampled
    noise scale, one linear series (3 times the first) with a fixed one."""
    problem = CalibrationProblem(
        MODEL, (Parameter("r", "Growth Rate", *AXES[0][[0, -1]], 0.2),
                Parameter("s", "Nest Scale", *AXES[1][[0, -1]], 2.0)),
        (Target("y", "Nested", tuple(T), LOG_OBS, source="SYNTHETIC (test)"),
         Target("z", "Doubled", tuple(T), LIN_OBS, source="SYNTHETIC (test)")))
    return BayesProblem(problem, groups=(
        TargetGroup("y", ("y",), Likelihood(family="student_t", nu=4, log=True,
                                            sigma_prior=0.3)),
        TargetGroup("z", ("z",), Likelihood(sigma=LIN_SIGMA))))


def _ridge(x: np.ndarray) -> dict[str, np.ndarray]:
    """The SYNTHETIC 'model': both series are the scale times exp(r t)."""
    curve = x[:, 1:2] * np.exp(x[:, :1] * T)
    return {"y": curve, "z": 3 * curve}


RIDGE_SCALE = (OutputScale(1, "s", "Nested", ((0, 0), (1, 0))),)


@pytest.fixture(scope="module")
def ridge_density() -> np.ndarray:
    """The exact posterior density on the grid :data:`AXES` (its sigma axis is
    checked to hold the posterior; r and s span their bounds)."""
    grid = np.stack(np.meshgrid(*AXES, indexing="ij"), axis=-1).reshape(-1, 3)
    lp = _ridge_problem().log_prob(grid, _ridge)
    density = np.exp(lp - lp.max()).reshape(tuple(len(a) for a in AXES))
    sigma = density.sum(axis=(0, 1))
    assert sigma[-1] < 1e-3 * sigma.max(), "grid too narrow for sigma"
    return density


@pytest.fixture(scope="module")
def ridge_chain():
    bp = _ridge_problem()
    start = initial_walkers(bp, 16, np.random.default_rng(1),
                            center=np.array([0.2, 2.0, 0.2]))
    return bp, run_mcmc(bp, _ridge, start, steps=3000, seed=7, moves="de-gibbs",
                        scales=RIDGE_SCALE)


@pytest.mark.parametrize("column", [0, 1, 2])
def test_draws_with_the_scale_moves_follow_the_exact_posterior(column, ridge_chain,
                                                               ridge_density):
    """Growth rate, scale and noise scale: the marginal CDF of the draws against the
    exact one (Kolmogorov-Smirnov distance)."""
    _, chain = ridge_chain
    draws = np.sort(chain.samples[1000::5, :, column].ravel())
    marginal = ridge_density.sum(axis=tuple(a for a in range(3) if a != column))
    # the mass up to each grid point: half of its own cell's
    cdf = (np.cumsum(marginal) - marginal / 2) / marginal.sum()
    exact = np.interp(draws, AXES[column], cdf)
    empirical = np.arange(1, len(draws) + 1) / len(draws)
    assert np.max(np.abs(empirical - exact)) < 0.03


def test_the_scale_moves_keep_the_stored_density_exact(ridge_chain):
    bp, chain = ridge_chain
    last = chain.samples[-1]
    np.testing.assert_allclose(chain.log_prob[-1], bp.log_prob(last, _ridge), rtol=1e-9)


def test_the_scale_update_draws_from_the_exact_conditional():
    """Many walkers at one growth rate and noise scale, the scale's update alone, again
    and again: the scales end distributed as their exact conditional (summed on a
    fine grid), and the walkers' cached residuals stay those of their scales."""
    bp = _ridge_problem()
    moves = ScaleMoves(bp, RIDGE_SCALE, Unbounded(bp.lower, bp.upper))
    x = np.tile([0.15, 1.0, 0.2], (8000, 1))  # every scale starts far from the posterior
    z = moves.free.to_z(x)
    res = bp.group_residuals(_ridge(x))
    random = np.random.RandomState(0)
    for _ in range(60):
        z, _ = moves.sweep(z, res, random)
    x = moves.free.to_x(z)
    for got, want in zip(res, bp.group_residuals(_ridge(x))):
        np.testing.assert_allclose(got[0], want[0], rtol=1e-9, atol=1e-12)
    grid = np.column_stack([np.full(4000, 0.15), np.linspace(0.5, 5.0, 4000),
                            np.full(4000, 0.2)])
    density = np.exp(bp.log_prob(grid, _ridge) - bp.log_prob(grid, _ridge).max())
    cdf = (np.cumsum(density) - density / 2) / density.sum()
    draws = np.sort(x[:, 1])
    exact = np.interp(draws, grid[:, 1], cdf)
    assert np.max(np.abs(np.arange(1, len(draws) + 1) / len(draws) - exact)) < 0.03


def test_the_scales_leave_the_model_block_and_mix_faster():
    """Same start and seed: with the scales out of the DE block, the scale's
    autocorrelation time is shorter (a curved ridge s exp(r t) = data)."""
    bp = _ridge_problem()
    start = initial_walkers(bp, 16, np.random.default_rng(2),
                            center=np.array([0.2, 2.0, 0.2]))
    taus = []
    for scales in ((), RIDGE_SCALE):
        chain = run_mcmc(bp, _ridge, start, steps=1000, seed=3, moves="de-gibbs",
                         scales=scales)
        taus.append(autocorr_time(chain.samples[300:])[1])
    assert taus[1] < 0.75 * taus[0]  # measured: 4.5 against 8.8 steps


def test_a_problem_whose_only_model_parameter_is_a_scale():
    """No DE block left: the scale and the noise move by their own updates alone."""
    bp = _ridge_problem()
    only = CalibrationProblem(MODEL, bp.problem.parameters[1:], bp.problem.targets)
    bp = BayesProblem(only, groups=bp.groups)

    def simulate(x):  # the SYNTHETIC curve at r = 0.15
        return _ridge(np.column_stack([np.full(len(x), 0.15), x]))

    start = initial_walkers(bp, 8, np.random.default_rng(0), center=np.array([2.0, 0.2]))
    scale = (OutputScale(0, "s", "Nested", ((0, 0), (1, 0))),)
    chain = run_mcmc(bp, simulate, start, steps=300, seed=1, moves="de-gibbs", scales=scale)
    assert np.isfinite(chain.log_prob).all()
    assert np.ptp(chain.samples[-1, :, 0]) > 0  # the scales moved
    np.testing.assert_allclose(chain.log_prob[-1], bp.log_prob(chain.samples[-1], simulate),
                               rtol=1e-9)


def test_scales_need_de_gibbs():
    bp = _ridge_problem()
    start = initial_walkers(bp, 8, np.random.default_rng(0), center=np.array([0.2, 2.0, 0.2]))
    with pytest.raises(InvalidValueError, match="de-gibbs"):
        run_mcmc(bp, _ridge, start, steps=2, moves="de", scales=RIDGE_SCALE)


def test_the_record_names_the_scales_and_the_option_turns_them_off():
    bp = _model_problem(log=True, sigma=0.05)
    kw = {"method": "mcmc", "seed": 0, "walkers": 24, "steps": 6, "burn": 2,
          "moves": "de-gibbs", "engine": "fast"}
    with pytest.warns(SdkitWarning, match="not converged"):  # 6 steps: not meant to
        on = calibrate_bayes(bp, **kw)
    found = find_output_scales(bp, load_model(MODEL))
    assert describe_scales(found) in on.sampler
    with pytest.warns(SdkitWarning, match="not converged"):
        off = calibrate_bayes(bp, output_scales=False, **kw)
    assert "output scales" not in off.sampler
    with pytest.raises(InvalidValueError, match="output_scales"):
        calibrate_bayes(bp, output_scales="yes", **kw)
