"""MAP and MCMC on the vectorized engine (decay model, SYNTHETIC data)."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from sdkit.calibration import mcmc
from sdkit.calibration import posterior as posterior_module
from sdkit.calibration.bayes import BayesProblem, Pool, TargetGroup
from sdkit.calibration.bayes_fit import calibrate_bayes, model_simulator
from sdkit.calibration.diagnostics import diagnose
from sdkit.calibration.likelihood import Likelihood
from sdkit.calibration.mcmc import initial_walkers, run_mcmc
from sdkit.calibration.objective import Objective
from sdkit.calibration.posterior import read_posterior, write_bayes_outputs
from sdkit.calibration.priors import Prior
from sdkit.calibration.problem import CalibrationProblem, Parameter, Target
from sdkit.engine.runner import run_ensemble
from sdkit.errors import InvalidValueError, SdkitWarning, SpecError

MODEL = "tests/models/decay.mdl"
TRUE_K, TRUE_S0, TRUE_SIGMA = 0.25, 120.0, 0.04
TIMES = tuple(np.arange(0.0, 21.0, 2.0))


def _synthetic(seed: int = 1) -> tuple[float, ...]:
    """SYNTHETIC observations: the exact decay with log-normal noise."""
    t = np.asarray(TIMES)
    rng = np.random.default_rng(seed)
    clean = TRUE_S0 * np.exp(-TRUE_K * t)
    return tuple(clean * np.exp(TRUE_SIGMA * rng.standard_normal(t.size)))


def _bayes(k_prior: Prior | None = None, values=None) -> BayesProblem:
    problem = CalibrationProblem(
        MODEL,
        (Parameter("k", "Decay Rate", 0.01, 1.0, 0.2),
         Parameter("s0", "Initial Stock", 10.0, 300.0, 100.0)),
        (Target("Stock", "Stock", TIMES, values or _synthetic(),
                source="SYNTHETIC: decay with log-normal noise (test)"),), dt=0.125)
    priors = {"k": k_prior} if k_prior else {}
    return BayesProblem(problem, priors, (TargetGroup("Stock", ("Stock",),
                                                      Likelihood(log=True)),))


def test_map_recovers_the_truth_and_a_tight_prior_pulls_it():
    loose = calibrate_bayes(_bayes(), method="map")
    k, s0, sigma = loose.point
    assert k == pytest.approx(TRUE_K, rel=0.05) and s0 == pytest.approx(TRUE_S0, rel=0.05)
    assert 0.01 < sigma < 0.1
    tight = Prior("normal", {"mu": 0.2, "sigma": 0.002}, 0.01, 1.0, "test: tight prior")
    pulled = calibrate_bayes(_bayes(tight), method="map")
    assert abs(pulled.point[0] - 0.2) < abs(k - 0.2) / 5
    assert pulled.samples is None and not pulled.converged


def counting_simulator(bp: BayesProblem):
    """The model's simulator for the sampler, and the list of its calls' row counts."""
    sim = model_simulator(Objective(bp.problem))
    calls: list[int] = []

    def counting(x):
        calls.append(len(x))
        return sim(x)

    return counting, calls


def test_each_half_step_is_one_ensemble_call_without_a_loop_over_walkers():
    bp = _bayes()
    counting, calls = counting_simulator(bp)
    walkers, steps = 16, 20
    start = initial_walkers(bp, walkers, np.random.default_rng(0),
                            center=np.array([0.25, 120.0, 0.05]))
    chain = run_mcmc(bp, counting, start, steps=steps, seed=0)
    assert len(calls) == 1 + 2 * steps  # the initial state, then two halves per step
    assert calls[0] == walkers and max(calls[1:]) <= walkers // 2  # rows out of bounds
    assert sum(calls[1:]) > 0.9 * steps * walkers  # are not run
    assert chain.samples.shape == (steps, walkers, 3)
    assert chain.n_runs == sum(calls)


def test_sampler_path_reads_the_same_values_as_the_ensemble_dataset():
    """The objective reads the engine's arrays directly: exactly what run_ensemble's
    dataset holds at save times, linear interpolation between them."""
    grid = Target("Stock", "Stock", TIMES, _synthetic(), source="SYNTHETIC (test)")
    between = Target("Stock@", "Stock", (0.5, 3.25, 19.5), (1.0, 1.0, 1.0), scale=2.0,
                     source="SYNTHETIC (test)")
    problem = CalibrationProblem(MODEL, (Parameter("k", "Decay Rate", 0.01, 1.0, 0.2),),
                                 (grid, between), dt=0.125)
    objective = Objective(problem)
    xs = np.array([[0.1], [0.25], [0.7]])
    sim = objective.simulate_many(xs)
    ds = run_ensemble(MODEL, pd.DataFrame({"Decay Rate": xs[:, 0]}), ["Stock"], stop=20,
                      dt=0.125).dataset
    t, stock = ds["time"].to_numpy(), ds["Stock"].to_numpy()
    np.testing.assert_array_equal(sim["Stock"], stock[:, np.searchsorted(t, TIMES)])
    expected = 2.0 * np.stack([np.interp(between.times, t, row) for row in stock])
    np.testing.assert_allclose(sim["Stock@"], expected, rtol=1e-12)
    again = objective.simulate_many(xs[::-1])  # the plan is reused; rows keep their order
    np.testing.assert_array_equal(again["Stock"], sim["Stock"][::-1])


def test_mcmc_posterior_covers_the_truth_and_writes_a_posterior_file(tmp_path):
    bp = _bayes()
    with pytest.warns(SdkitWarning, match="not converged"):
        result = calibrate_bayes(bp, method="mcmc", seed=3, walkers=16, steps=200, burn=80)
    lo, hi = result.interval(0.99).T
    assert lo[0] < TRUE_K < hi[0] and lo[1] < TRUE_S0 < hi[1]
    assert result.samples.shape == (120, 16, 3)
    assert 0.15 < result.diagnostics.acceptance < 0.75
    paths = write_bayes_outputs(result, tmp_path / "out")
    record = json.loads(paths["json"].read_text())
    assert record["converged"] is False and record["method"] == "mcmc"
    assert record["diagnostics"]["problems"]
    assert record["priors"]["k"]["prior"].startswith("uniform")
    cin = paths["cin"].read_text()
    assert "Decay Rate" in cin and "posterior median" in cin
    back = read_posterior(paths["posterior"], model_sha256=result.model_sha256)
    np.testing.assert_allclose(back.samples, np.swapaxes(result.samples, 0, 1))
    assert record["posterior_thin"] == back.attrs["thin"] == 1  # 120 steps: all kept
    assert back.keys == ("Decay Rate", "Initial Stock")
    draws = back.draws(50, np.random.default_rng(0))
    assert list(draws.columns) == ["Decay Rate", "Initial Stock"] and len(draws) == 50
    with pytest.raises(SpecError, match="posterior is from another model"):
        read_posterior(paths["posterior"], model_sha256="0" * 64)


def test_a_long_chain_is_stored_thinned_and_evenly(tmp_path, monkeypatch):
    monkeypatch.setattr(posterior_module, "POSTERIOR_STEPS", 25)
    bp = _bayes()
    with pytest.warns(SdkitWarning, match="not converged"):
        result = calibrate_bayes(bp, method="mcmc", seed=3, walkers=16, steps=200, burn=80)
    assert result.thin == 5  # 120 kept steps, at most 25 stored
    paths = write_bayes_outputs(result, tmp_path / "out")
    back = read_posterior(paths["posterior"], model_sha256=result.model_sha256)
    np.testing.assert_array_equal(back.samples, np.swapaxes(result.samples[::5], 0, 1))
    record = json.loads(paths["json"].read_text())
    assert record["posterior_thin"] == 5
    # the record's intervals are of the whole kept chain, not of the stored steps
    assert record["estimates"]["k"]["q05"] == pytest.approx(result.interval()[0, 0])


def test_ctrl_c_keeps_the_chain_so_far_marked_not_converged(tmp_path):
    bp = _bayes()
    sim = model_simulator(Objective(bp.problem))
    n = {"calls": 0}

    def interrupted_after_25(x):
        n["calls"] += 1
        if n["calls"] > 25:
            raise KeyboardInterrupt
        return sim(x)

    start = initial_walkers(bp, 16, np.random.default_rng(0),
                            center=np.array([0.25, 120.0, 0.05]))
    chain = run_mcmc(bp, interrupted_after_25, start, steps=500, seed=0)
    assert chain.interrupted and len(chain.samples) == 12  # 1 + 2 * 12 calls completed
    assert np.all(np.isfinite(chain.log_prob))
    diag = diagnose(chain.samples, bp.names, chain.acceptance, interrupted=True)
    assert not diag.converged and "interrupted" in diag.problems[0]


def test_chain_grown_in_blocks_gives_the_draws_of_one_run(monkeypatch):
    """The chain's storage grows block by block; the random state carries over."""
    bp = _bayes()
    sim = model_simulator(Objective(bp.problem))
    start = initial_walkers(bp, 16, np.random.default_rng(0),
                            center=np.array([0.25, 120.0, 0.05]))
    whole = run_mcmc(bp, sim, start, steps=25, seed=4)
    monkeypatch.setattr(mcmc, "BLOCK", 4)
    grown = []
    real = mcmc._steps

    def spy(sampler, state, steps):
        for i in real(sampler, state, steps):
            grown.append(len(sampler.backend.chain))
            yield i

    monkeypatch.setattr(mcmc, "_steps", spy)
    blocks = run_mcmc(bp, sim, start, steps=25, seed=4)
    np.testing.assert_array_equal(blocks.samples, whole.samples)
    np.testing.assert_array_equal(blocks.log_prob, whole.log_prob)
    assert grown[0] == 4 and grown[-1] == 25 and len(set(grown)) > 3  # grown, not at once


def test_stop_when_ends_sampling_early_with_the_same_draws_not_interrupted():
    bp = _bayes()
    sim = model_simulator(Objective(bp.problem))
    start = initial_walkers(bp, 16, np.random.default_rng(0),
                            center=np.array([0.25, 120.0, 0.05]))
    seen = []

    def enough(n, chain):
        seen.append(len(chain()))
        assert seen[-1] == n
        return n >= 20

    early = run_mcmc(bp, sim, start, steps=500, seed=0, stop_when=enough, check_every=10)
    full = run_mcmc(bp, sim, start, steps=30, seed=0)
    assert seen == [10, 20] and len(early.samples) == 20 and not early.interrupted
    np.testing.assert_array_equal(early.samples, full.samples[:20])
    assert early.n_runs < full.n_runs


def test_diagnostics_pass_for_independent_draws_and_name_a_stuck_parameter():
    rng = np.random.default_rng(5)
    good = rng.standard_normal((2000, 8, 2))
    ok = diagnose(good, ("a", "b"), np.full(8, 0.4))
    assert ok.converged, ok.problems
    assert np.all(ok.rhat < 1.01) and np.all(ok.ess_bulk > 400)
    bad = good.copy()
    bad[:, :4, 1] += 3.0  # half the walkers sit elsewhere in b
    stuck = diagnose(bad, ("a", "b"), np.full(8, 0.4))
    assert not stuck.converged
    assert any(p.startswith("R-hat") and p.endswith(": b") for p in stuck.problems)
    low = diagnose(good, ("a", "b"), np.full(8, 0.01))
    assert any("acceptance fraction" in p for p in low.problems)


def test_pooled_elements_share_a_sampled_location_and_scale():
    problem = CalibrationProblem(
        MODEL, (Parameter("k[a]", "Decay Rate", 0.01, 1.0, 0.2, "a"),
                Parameter("k[b]", "Initial Stock", 0.01, 1.0, 0.2, "b")),
        (Target("Stock", "Stock", TIMES, _synthetic()),))
    prior = Prior("normal", {"mu": 0.3, "sigma": 0.1}, 0.01, 1.0, "test")
    bp = BayesProblem(problem, {}, (), (Pool("k", ("k[a]", "k[b]"), prior, 0.05),))
    assert bp.names[:4] == ("k[a]", "k[b]", "k::mu", "k::tau")
    theta = np.array([[0.3, 0.3, 0.3, 0.05, 0.05], [0.3, 0.3, 0.3, -0.05, 0.05]])
    lp = bp.log_prior(theta)
    assert np.isfinite(lp[0]) and lp[1] == -np.inf  # tau must be > 0
    near, far = bp.log_prior(np.array([[0.3, 0.31, 0.3, 0.02, 0.05],
                                       [0.3, 0.6, 0.3, 0.02, 0.05]]))
    assert near > far + 10 * math.log(10)  # a small tau pulls the elements together


def test_report_figures_are_laid_out_with_the_bundled_cjk_font(monkeypatch):
    """Figures are built (and tight_layout measures text) inside report_fonts()."""
    import matplotlib

    import sdkit.workflow.bayes as wb
    from sdkit.report.fonts import FAMILY

    seen = []
    real = wb.trace_figure

    def spy(*args, **kwargs):
        seen.append(list(matplotlib.rcParams["font.family"]))
        return real(*args, **kwargs)

    monkeypatch.setattr(wb, "trace_figure", spy)
    with pytest.warns(SdkitWarning, match="not converged"):
        result = calibrate_bayes(_bayes(), method="mcmc", seed=0, walkers=8, steps=12, burn=4)
    files = wb.bayes_report_files(result)
    assert seen and FAMILY in seen[0]
    assert FAMILY not in matplotlib.rcParams["font.family"]  # restored afterwards
    assert files["plots/trace.png"].startswith(b"\x89PNG")


def test_report_lists_the_missed_hold_out_points():
    """report.md names each hold-out point outside its band (a hand-made band with
    SYNTHETIC values on a short chain's result), under the coverage line."""
    import dataclasses

    import sdkit.workflow.bayes as wb
    from sdkit.calibration.predictive import PredictiveBand

    band = PredictiveBand("Stock", np.array([1.0, 2.0, 3.0]), observed=np.array([2.0, 2.5, 9.0]),
                          low=np.full(3, 1.0), median=np.full(3, 2.0), high=np.full(3, 3.0),
                          fitted=np.array([True, False, False]), level=0.9)
    result = dataclasses.replace(short_chain(1, 10, 2), bands=(band,))
    text = wb._markdown(result, [])
    assert "covers 100% of 1 fit points and 50% of 2 hold-out points\n" \
           "  - missed: Stock 3: observed 9, band 1-3 (+350% from its median)\n" in text


def short_chain(seed: int, steps: int, burn: int, **options):
    """Eight walkers from the prior, too few steps to converge (and warned so)."""
    with pytest.warns(SdkitWarning, match="not converged"):
        return calibrate_bayes(_bayes(), method="mcmc", seed=seed, walkers=8, steps=steps,
                               burn=burn, init="prior", **options)


def test_walkers_split_over_worker_processes_give_the_same_draws():
    one = short_chain(5, 10, 2)
    two = short_chain(5, 10, 2, workers=2)
    np.testing.assert_array_equal(one.samples, two.samples)
    assert one.n_runs == two.n_runs


@pytest.mark.parametrize("workers", [0, 1.5, True])
def test_workers_must_be_a_positive_integer(workers):
    with pytest.raises(InvalidValueError, match="option 'workers' must be an integer >= 1"):
        calibrate_bayes(_bayes(), method="mcmc", seed=0, walkers=8, steps=4, workers=workers)
