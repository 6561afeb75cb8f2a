"""``sdkit run``'s peak cells count peaks as the report does.

The summary computes the cell from one pandas column with
:func:`sdkit.analysis.indicators.peak_status_values` (no xarray object: its
first use imports dask, a second of a one-run command); it must say what
:func:`sdkit.analysis.indicators.peak_status` says on the same series, and a
warm ``sdkit run`` must not import dask.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from sdkit.analysis.indicators import peak_status
from sdkit.errors import InvalidValueError
from sdkit.workflow.run_summary import _peak_cell, run_and_summarize

IIS = Path(__file__).resolve().parents[1] / "models" / "iis.mdl"

TIMES = np.arange(2010.0, 2061.0)


def _expected(series: pd.Series, start: float) -> str:
    da = xr.DataArray(series.to_numpy(float), coords={"time": series.index.to_numpy(float)},
                      dims="time")
    status = peak_status(da, last_observed=start)
    if bool(status["already_peaked"]):
        return f"already peaked ({float(status['historical_peak_year']):g})"
    year = float(status["year"])
    return "not by horizon" if not np.isfinite(year) else f"{year:g}"


def _series(kind: str, rng: np.random.Generator) -> pd.Series:  # synthetic test series
    t = TIMES - TIMES[0]
    values = {
        "peak-2030": -(t - 20.0) ** 2,
        "rising": t,
        "falling": -t,
        "history-peak": -(t - 5.0) ** 2,
        "flat": np.zeros_like(t),
        "plateau": np.minimum(t, 25.0),
        "noisy": rng.normal(size=t.size).cumsum(),
        "nan-in-projection": np.where(t == 30, np.nan, -(t - 30.0) ** 2),
        "nan-in-history": np.where(t == 2, np.nan, -(t - 2.0) ** 2),
    }[kind]
    return pd.Series(values, index=TIMES)


@pytest.mark.parametrize("start", [2012.0, 2021.0, 2058.0])
@pytest.mark.parametrize("kind", ["peak-2030", "rising", "falling", "history-peak", "flat",
                                  "plateau", "noisy", "nan-in-projection", "nan-in-history"])
def test_peak_cell_says_what_peak_status_says(kind, start):
    series = _series(kind, np.random.default_rng(7))
    assert _peak_cell(series, start) == _expected(series, start)


def test_peak_cell_needs_two_times_on_each_side():
    series = _series("rising", np.random.default_rng(0))
    with pytest.raises(InvalidValueError, match="two times on each side"):
        _peak_cell(series, 2059.5)
    with pytest.raises(InvalidValueError, match="two times on each side"):
        _peak_cell(series, 2010.0)


def test_warm_sdkit_run_imports_no_dask():
    # in this process: warms the cache (a cold load translates with PySD, which imports dask)
    expected = run_and_summarize(IIS)
    assert "peak after" in expected  # the sidecar's report counts peaks: peak_status_values
    code = ("import sys; from sdkit.cli import main; "
            f"rc = main(['run', {str(IIS)!r}]); "
            "print(rc, sorted(m for m in sys.modules if m.split('.')[0] == 'dask'))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    text, dask_modules = proc.stdout.rstrip("\n").rsplit("\n", 1)
    assert text == expected
    assert dask_modules == "0 []"
