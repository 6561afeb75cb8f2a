"""The pipeline's Monte Carlo on the calibrated IIS model tracks the calibrated run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sdkit
from sdkit.engine.ensemble import member_frame
from sdkit.report import read_report_config
from sdkit.scenarios.projection import run_members
from sdkit.scenarios.spec import list_scenarios
from sdkit.scenarios.uncertainty import ParameterUncertainty, monte_carlo
from sdkit.workflow.specs import read_uncertainty_spec

ROOT = Path(__file__).resolve().parents[1]
ANCHOR = 2021  # last data year: projections start here


@pytest.fixture(scope="module")
def calibrated():
    from sdkit.calibration import calibrate

    cfg = read_report_config(ROOT / "reports" / "iis.toml")
    model = sdkit.load_model(cfg.resolve(cfg.model))
    result = calibrate(ROOT / "calibration" / "iis.toml")
    baseline = {s.name: s for s in list_scenarios(ROOT / "models" / "scenarios")}["baseline"]
    base = {**result.changes(), **baseline.params()}
    return cfg, model, ParameterUncertainty.from_result(result), base


@pytest.mark.slow
def test_point_member_is_the_deterministic_run(calibrated):
    cfg, model, unc, base = calibrated
    outputs = [i.variable for i in cfg.indicators]
    det = sdkit.simulate(model, base, outputs=outputs)  # PySD
    point = pd.DataFrame([dict(zip(unc.names, unc.mean))])
    ds = run_members(model, point, outputs=outputs, base=base)
    member = member_frame(ds)
    np.testing.assert_allclose(member[det.columns].to_numpy(), det.to_numpy(), rtol=1e-10)


@pytest.mark.slow
def test_monte_carlo_median_tracks_the_calibrated_run(calibrated):
    cfg, model, unc, base = calibrated
    outputs = [i.variable for i in cfg.indicators]
    det = sdkit.simulate(model, base, outputs=outputs).loc[ANCHOR]
    spec = read_uncertainty_spec(ROOT / "reports" / "iis.toml")
    ens = monte_carlo(model, unc, outputs=outputs, members=300, seed=spec.seed, params=base,
                      sampling=spec.sampling)
    q = ens[outputs].sel(time=ANCHOR).quantile([0.05, 0.5, 0.95], dim="member")
    for var in outputs:
        # near-zero indicators (e.g. emissions carried by transfers) get an absolute
        # tolerance: 6 % of the largest value of that indicator across the cities
        scale = max(abs(det[f"{var}[{c}]"]) for c in q[cfg.dimension].to_numpy())
        for city in q[cfg.dimension].to_numpy():
            ref = det[f"{var}[{city}]"]
            lo, mid, hi = (float(q[var].sel(quantile=v, **{cfg.dimension: city}))
                           for v in (0.05, 0.5, 0.95))
            # members drawn with the calibration's covariance stay near the fitted run
            assert mid == pytest.approx(ref, rel=0.06, abs=0.06 * scale), (var, city, mid, ref)
            assert lo <= ref <= hi or abs(mid / ref - 1) < 0.01, (var, city, lo, ref, hi)
        hi_lo = (q[var].sel(quantile=0.95) - q[var].sel(quantile=0.05)) / q[var].sel(quantile=0.5)
        if var in ("GDP", "CO2 emissions"):
            assert float(hi_lo.max()) < 0.35, (var, hi_lo.values)
