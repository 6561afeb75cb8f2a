"""The fast engine on the IIS model equals PySD (one coarse-dt run, to keep PySD's cost down)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sdkit
from sdkit.engine.ensemble import member_frame

IIS = Path(__file__).resolve().parents[2] / "models" / "iis.mdl"
OUTPUTS = ["GDP", "CO2 emissions", "Carbon intensity", "Knowledge stock", "Patents",
           "Loans", "Service capacity", "Coordination degree"]


@pytest.mark.slow
def test_iis_fast_engine_equals_pysd_with_levers():
    params = {"Lever green transition": 1.0, "Lever policy collaboration": 0.5,
              "Investment rate[Enshi]": 0.3}
    kw = dict(dt=0.25, saveper=1)
    ref = sdkit.simulate(IIS, params, outputs=OUTPUTS, **kw)
    ds = sdkit.simulate_ensemble(IIS, pd.DataFrame([params]), outputs=OUTPUTS, **kw)
    assert ds.attrs["sdkit_engine"] == "fast"
    got = member_frame(ds)[ref.columns]
    np.testing.assert_allclose(got.index, ref.index)
    np.testing.assert_allclose(got.to_numpy(), ref.to_numpy(), rtol=1e-9, atol=0)
