"""``sdkit calibrate`` with ``method = "map"``/``"mcmc"`` on the SIR example (SYNTHETIC data)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from sdkit.calibration.bayes_spec import read_bayes
from sdkit.calibration.objective import Objective
from sdkit.calibration.spec import read_problem
from sdkit.cli import main
from sdkit.io.calibration_record import read_calibration_record

SIR = Path("examples/sir").resolve()
SPEC = f"""
model = "{SIR / 'sir.mdl'}"
[data]
file = "{SIR / 'synthetic_cases.csv'}"    # SYNTHETIC (examples/sir/make_synthetic_data.py)
format = "long"
[fit]
start = 1
stop = 40
method = "mcmc"
options = {{ walkers = 12, steps = 40, burn = 10 }}
[[parameters]]
variable = "Transmission rate"
lower = 0.1
upper = 1.0
initial = 0.4
prior = {{ distribution = "lognormal", mu = -0.9, sigma = 0.5, source = "test: wide prior" }}
[[parameters]]
variable = "Infectious duration"
lower = 1.0
upper = 15.0
initial = 5.0
prior = {{ distribution = "normal", mu = 5, sigma = 2, source = "test: wide prior" }}
[[targets]]
variable = "Reported cases"
likelihood = {{ family = "student_t", nu = 5, log = true, ar1 = true }}
"""


def _spec(tmp_path, text: str = SPEC) -> Path:
    path = tmp_path / "spec.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_spec_keys_give_priors_likelihood_and_noise_parameters(tmp_path):
    bp = read_bayes(read_problem(_spec(tmp_path)))
    assert bp.names == ("Transmission rate", "Infectious duration",
                        "sigma::Reported cases", "phi::Reported cases")
    assert bp.priors["Transmission rate"].distribution == "lognormal"
    assert bp.priors["Transmission rate"].source == "test: wide prior"
    (group,) = bp.groups
    assert group.likelihood.family == "student_t" and group.likelihood.ar1


def test_cli_map_writes_cin_and_a_record_the_readers_accept(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["calibrate", str(_spec(tmp_path)), "--method", "map", "--out", str(out)]) == 0
    assert "map:" in capsys.readouterr().out
    record = read_calibration_record(out / "calibration.json")
    values = {p["name"]: p["value"] for p in record.parameters}
    # SYNTHETIC data made with 0.45 and 4 (examples/sir/make_synthetic_data.py)
    assert values["Transmission rate"] == pytest.approx(0.45, rel=0.1)
    assert values["Infectious duration"] == pytest.approx(4.0, rel=0.2)
    assert not (out / "posterior.nc").exists()
    assert (out / "plots" / "predictive_reported_cases.png").stat().st_size > 0
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "hold-out points" in report and "test: wide prior" in report
    predictive = record.get("predictive")
    assert predictive["n_holdout"] == 10 and 0 <= predictive["coverage_holdout"] <= 1
    missed = predictive["holdout_missed"]
    assert len(missed) == round((1 - predictive["coverage_holdout"]) * 10)
    assert report.count("  - missed: ") == len(missed)


def test_cli_mcmc_writes_posterior_and_warns_when_not_converged(tmp_path, capsys):
    out = tmp_path / "out"
    code = main(["calibrate", str(_spec(tmp_path)), "--seed", "2", "--out", str(out),
                 "--no-plots"])
    assert code == 0
    printed = capsys.readouterr()
    assert "NOT converged" in printed.out
    assert "warning: MCMC not converged: R-hat >= 1.01: Transmission rate" in printed.err
    record = json.loads((out / "calibration.json").read_text(encoding="utf-8"))
    assert record["converged"] is False and "R-hat" in " ".join(record["warnings"])
    assert record["sampler"].startswith("emcee")
    assert (out / "posterior.nc").stat().st_size > 0
    rate = record["parameters"]["Transmission rate"]
    assert rate["interval_95"][0] < rate["value"] < rate["interval_95"][1]
    assert np.isfinite(rate["stderr"])


@pytest.mark.parametrize(("old", "new", "message"), [
    ('distribution = "normal"', 'distribution = "gamma"', "distribution 'gamma' unknown"),
    ("mu = 5, sigma = 2", "mu = 50, sigma = 2", "of its mass inside the bounds [1, 15]"),
    ("mu = 5, sigma = 2", "mu = 5, sigma = -2", "scale sigma must be > 0: -2"),
    ("nu = 5,", "nu = 0,", "scale nu must be a number > 0: 0"),
])
def test_bad_prior_or_likelihood_is_one_line_exit_2_nothing_written(tmp_path, capsys, old, new,
                                                                     message):
    spec = _spec(tmp_path, SPEC.replace(old, new))
    out = tmp_path / "out"
    assert main(["calibrate", str(spec), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and str(spec) in err and len(err.splitlines()) == 1
    assert not out.exists() or not any(out.iterdir())


def test_entries_sharing_a_name_keep_their_own_bounds_iis():
    bp = read_bayes(read_problem("calibration/iis.toml"))
    x = np.concatenate([bp.problem.initial, np.full(len(bp.names) - bp.n_model, 0.1)])
    assert np.isfinite(bp.log_prior(x)[0])
    assert bp.priors["Patent scale[Enshi]"].upper == 900.0
    assert bp.priors["Patent scale[Yichang]"].upper == 10000.0


def test_ctrl_c_during_mcmc_writes_the_chain_so_far_not_converged(tmp_path, capsys,
                                                                    monkeypatch):
    original = Objective.simulate_many
    calls = {"n": 0}

    def interrupted(self, xs):
        calls["n"] += 1
        if calls["n"] > 12:  # the start, then 11 half-steps: 5 full steps kept
            raise KeyboardInterrupt
        return original(self, xs)

    monkeypatch.setattr(Objective, "simulate_many", interrupted)
    spec = _spec(tmp_path, SPEC.replace("burn = 10 }", 'burn = 10, init = "prior" }'))
    out = tmp_path / "out"
    assert main(["calibrate", str(spec), "--out", str(out), "--no-plots"]) == 130
    printed = capsys.readouterr()
    assert "interrupted: the chain so far is kept" in printed.err
    record = json.loads((out / "calibration.json").read_text(encoding="utf-8"))
    assert record["interrupted"] is True and record["converged"] is False
    assert record["diagnostics"]["problems"][0].startswith("interrupted")
    assert (out / "posterior.nc").is_file()
