"""The sampler's options: proposal moves, the engine, and runs over the fit window only.

Decay model and the SIR example, SYNTHETIC data (see test_bayes_mcmc and
test_bayes_cli).
"""

from __future__ import annotations

import numpy as np
import pytest
from test_bayes_cli import SPEC, _spec
from test_bayes_mcmc import _bayes, counting_simulator, short_chain

from sdkit.calibration import diagnostics, stopping
from sdkit.calibration.bayes import BayesProblem
from sdkit.calibration.bayes_fit import (
    calibrate_bayes,
    fit_simulator,
    fit_window_problem,
    model_simulator,
)
from sdkit.calibration.bayes_spec import read_bayes
from sdkit.calibration.mcmc import MOVES, check_moves, initial_walkers, run_mcmc
from sdkit.calibration.objective import Objective
from sdkit.calibration.problem import CalibrationProblem, Parameter, Target
from sdkit.calibration.spec import read_problem
from sdkit.cli import main
from sdkit.errors import InvalidValueError, SdkitWarning


@pytest.fixture(scope="module")
def decay_map():
    return calibrate_bayes(_bayes(), method="map").point


@pytest.mark.parametrize("moves", MOVES)
def test_every_move_samples_the_posterior_and_is_named_in_the_record(moves, decay_map):
    """The short chain's 90 % intervals hold the posterior's mode and are about as wide
    as the posterior (a 3,000-step chain: k 0.2422-0.2507 at 99 %, s0 115-128). The
    truth (k = 0.25) sits near the posterior's 99.5 % point for these SYNTHETIC data,
    so it is not the yardstick of a 200-step chain."""
    with pytest.warns(SdkitWarning, match="not converged"):
        result = calibrate_bayes(_bayes(), method="mcmc", seed=3, walkers=16, steps=200,
                                 burn=80, moves=moves)
    lo, hi = result.interval(0.9).T
    assert np.all(lo[:2] < decay_map[:2]) and np.all(decay_map[:2] < hi[:2])
    assert 0.003 < hi[0] - lo[0] < 0.012 and 4 < hi[1] - lo[1] < 16
    assert 0.15 < result.diagnostics.acceptance < 0.75
    assert result.sampler.startswith(f"emcee {moves} move")


def test_de_snooker_mixes_de_half_steps_with_snooker_quarter_steps():
    """A snooker step moves the walkers in four groups (four ensemble runs of a
    quarter each), a DE step in two halves; the mixture uses both."""
    bp = _bayes()
    counting, calls = counting_simulator(bp)
    walkers, steps = 16, 60
    start = initial_walkers(bp, walkers, np.random.default_rng(0),
                            center=np.array([0.25, 120.0, 0.05]))
    run_mcmc(bp, counting, start, steps=steps, seed=1, moves="de-snooker")
    n_calls = len(calls) - 1  # the initial state first
    snooker = (n_calls - 2 * steps) // 2  # each snooker step makes two calls more
    assert 0 < snooker < steps / 2  # about a fifth of the steps
    assert 2 * steps < n_calls < 4 * steps
    assert max(calls[1:]) <= walkers // 2
    assert sum(c <= walkers // 4 for c in calls[1:]) >= 4 * snooker


@pytest.mark.parametrize("moves", ["hmc", "DE", 3])
def test_unknown_moves_is_one_line(moves):
    with pytest.raises(InvalidValueError, match=r"moves .* unknown; expected one of "
                                                r"'stretch', 'de', 'de-snooker'"):
        check_moves(moves, "spec.toml: fit.options")
    with pytest.raises(InvalidValueError, match="unknown; expected one of"):
        calibrate_bayes(_bayes(), method="mcmc", seed=0, walkers=8, steps=4, moves=moves)


@pytest.mark.parametrize(("option", "message"), [
    ('moves = "hmc"', "fit.options: moves 'hmc' unknown; expected one of 'stretch', 'de', "
                      "'de-snooker'"),
    ('engine = "gpu"', "fit.options: engine 'gpu' unknown; expected one of 'auto', 'fast', "
                       "'native'"),
])
def test_unknown_moves_or_engine_in_a_spec_is_one_line_exit_2_nothing_written(
        tmp_path, capsys, option, message):
    spec = _spec(tmp_path, SPEC.replace("burn = 10 }", f"burn = 10, {option} }}"))
    out = tmp_path / "out"
    assert main(["calibrate", str(spec), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and str(spec) in err and len(err.splitlines()) == 1
    assert not out.exists() or not any(out.iterdir())


def test_the_sampler_runs_only_to_the_last_fitted_observation(tmp_path):
    """SIR: fit window days 1-40, hold-out 41-50. The sampler's runs stop at day 40
    and give the full run's values at the fitted points (NaN at the hold-out ones,
    which the likelihood never reads)."""
    bp = read_bayes(read_problem(_spec(tmp_path)))
    full = Objective(bp.problem)
    fitting = Objective(fit_window_problem(bp.problem))
    assert full.stop == 50 and fitting.stop == 40
    simulate = fit_simulator(bp, fitting)
    x = np.array([[0.4, 5.0], [0.5, 3.5], [0.3, 8.0]])
    short, long = simulate(x), full.simulate_many(x)
    (target,) = [t.name for t in bp.problem.targets]
    fitted = bp.fit_indices(target)
    assert short[target].shape == long[target].shape
    np.testing.assert_allclose(short[target][:, fitted], long[target][:, fitted], rtol=1e-12)
    held_out = np.setdiff1d(np.arange(long[target].shape[1]), fitted)
    assert held_out.size == 10 and np.isnan(short[target][:, held_out]).all()
    theta = np.column_stack([x, np.full(3, 0.1), np.zeros(3)])
    np.testing.assert_allclose(bp.log_prob(theta, simulate),
                               bp.log_prob(theta, model_simulator(full)), rtol=1e-12)


def test_fit_window_keeps_always_fitted_points_and_drops_unfitted_targets():
    problem = read_problem("calibration/iis.toml")
    trimmed = fit_window_problem(problem)
    assert all(t.weight > 0 for t in trimmed.targets)
    assert len(trimmed.targets) == sum(t.weight > 0 for t in problem.targets)
    patents = [t for t in trimmed.targets if t.variable.startswith("Patents")]
    assert patents and all(t.times == (2021.0,) for t in patents)  # always_fit
    gdp = next(t for t in trimmed.targets if t.name == "GDP[Yichang]")
    assert max(gdp.times) == 2018.0 and len(gdp.times) == len(gdp.values) == 9


def test_native_engine_gives_the_same_chain():
    fast = short_chain(4, 12, 4)
    native = short_chain(4, 12, 4, engine="native")
    np.testing.assert_allclose(native.samples, fast.samples, rtol=1e-9)
    assert native.sampler.endswith("on the native engine")


def test_until_converged_keeps_the_last_three_quarters_and_says_why_it_stopped():
    with pytest.warns(SdkitWarning, match="not converged"):
        result = calibrate_bayes(_bayes(), method="mcmc", seed=2, walkers=16, steps=300,
                                 until_converged=True)
    assert result.burn == 75 and result.samples.shape[0] == 225  # never passed: all steps
    assert "stopped" not in result.sampler


def test_until_converged_records_the_statistics_of_the_checks_that_stopped_it(monkeypatch):
    """The record's R-hat, ESS and autocorrelation times are those the stopper computed
    on the whole kept chain when it stopped: ArviZ runs once on it, not twice. (The
    screen and the statistics are stand-ins that pass at the first look, values no
    real 100-step chain has; tests/calibration/test_stopping.py checks the real ones.)"""
    seen = []

    def passing(kept):
        seen.append(len(kept))
        n = kept.shape[2]
        return np.full(n, 1.0001), np.full(n, 4321.0), np.full(n, 1234.0), np.full(n, 1.5)

    monkeypatch.setattr(stopping, "_screen", lambda *a: (True, True))
    monkeypatch.setattr(stopping, "chain_stats", passing)
    monkeypatch.setattr(diagnostics, "chain_stats",
                        lambda kept: pytest.fail("the record computed the statistics again"))
    result = calibrate_bayes(_bayes(), method="mcmc", seed=2, walkers=16, steps=20000,
                             until_converged=True)
    assert "stopped when the checks passed" in result.sampler
    assert seen == [len(result.samples)] and result.burn + len(result.samples) == 100
    diag = result.diagnostics
    assert diag.converged and np.all(diag.ess_bulk == 4321.0) and np.all(diag.tau == 1.5)


def test_max_seconds_stops_sampling_keeps_the_chain_and_is_not_converged():
    with pytest.warns(SdkitWarning, match="not converged"):
        result = calibrate_bayes(_bayes(), method="mcmc", seed=2, walkers=16, steps=200000,
                                 max_seconds=3)
    assert not result.interrupted and 0 < result.samples.shape[0] < 100000
    assert "stopped after max_seconds = 3" in result.sampler
    assert result.bands  # not interrupted: the predictive bands are made


@pytest.mark.parametrize(("key", "value", "message"), [
    ("until_converged", "yes", "until_converged must be true or false: 'yes'"),
    ("max_seconds", 0, "max_seconds must be a number > 0: 0"),
    ("max_seconds", True, "max_seconds must be a number > 0: True"),
])
def test_bad_stopping_options_are_one_line(key, value, message):
    with pytest.raises(InvalidValueError, match=message):
        calibrate_bayes(_bayes(), method="mcmc", seed=0, walkers=8, steps=4, **{key: value})


def test_a_fitted_target_without_points_in_the_window_is_not_run_but_still_answered():
    """A second SYNTHETIC series observed only after the fit window: the sampler's
    runs stop at the window's end and give it NaN rows (the likelihood reads none)."""
    problem = CalibrationProblem(
        "tests/models/decay.mdl", (Parameter("k", "Decay Rate", 0.01, 1.0, 0.2),),
        (Target("Stock", "Stock", (0.0, 2.0, 4.0), (100.0, 60.0, 36.0),
                source="SYNTHETIC (test)"),
         Target("Late", "Stock", (30.0,), (0.1,), source="SYNTHETIC (test)")),
        start=0.0, stop=10.0, dt=0.125)
    bp = BayesProblem(problem)
    fitting = Objective(fit_window_problem(problem))
    assert [t.name for t in fitting.problem.targets] == ["Stock"] and fitting.stop == 4.0
    sims = fit_simulator(bp, fitting)(np.array([[0.25], [0.3]]))
    assert sims["Late"].shape == (2, 1) and np.isnan(sims["Late"]).all()
    theta = np.array([[0.25, 0.1, 0.1], [0.3, 0.1, 0.1]])
    np.testing.assert_allclose(bp.log_prob(theta, fit_simulator(bp, fitting)),
                               bp.log_prob(theta, model_simulator(Objective(problem))),
                               rtol=1e-12)
