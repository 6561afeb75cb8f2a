"""Indicators against hand-computed values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from sdkit import DataError, InvalidValueError
from sdkit.analysis.indicators import (
    coupling_coordination,
    intensity_reduction,
    intensity_reduction_vs_2005,
    krugman_index,
    krugman_pairwise,
    minmax_benchmarks,
    normalise,
    peak,
    peak_status,
    peak_year,
)


def test_krugman_index_three_regions_by_hand():
    # shares: A (0.5, 0.3, 0.2), B (0.2, 0.2, 0.6), C (0.1, 0.6, 0.3)
    table = pd.DataFrame({"p": [50, 20, 10], "s": [30, 20, 60], "t": [20, 60, 30]},
                         index=["A", "B", "C"])
    k = krugman_index(table)
    # A vs B+C: rest = (30, 80, 90)/200 = (0.15, 0.40, 0.45) -> 0.35 + 0.10 + 0.25 = 0.70
    # B vs A+C: rest = (60, 90, 50)/200 = (0.30, 0.45, 0.25) -> 0.10 + 0.25 + 0.35 = 0.70
    # C vs A+B: rest = (70, 50, 80)/200 = (0.35, 0.25, 0.40) -> 0.25 + 0.35 + 0.10 = 0.70
    np.testing.assert_allclose(k.to_numpy(), [0.70, 0.70, 0.70])
    table2 = pd.DataFrame({"p": [1, 1], "s": [1, 3]}, index=["X", "Y"])
    # X (0.5, 0.5) vs Y (0.25, 0.75): 0.25 + 0.25
    np.testing.assert_allclose(krugman_index(table2).to_numpy(), [0.5, 0.5])
    pair = krugman_pairwise(table)
    assert pair.loc["A", "B"] == pytest.approx(0.3 + 0.1 + 0.4)
    assert pair.loc["B", "C"] == pytest.approx(0.1 + 0.4 + 0.3)
    assert pair.loc["A", "A"] == 0


def test_krugman_bounds_and_many_industries():
    rng = np.random.default_rng(3)
    table = pd.DataFrame(rng.uniform(0, 10, size=(4, 36)), index=list("ABCD"))
    k = krugman_index(table)
    assert ((k >= 0) & (k <= 2)).all()
    same = pd.DataFrame([[1, 2, 3], [2, 4, 6]], index=["a", "b"])
    np.testing.assert_allclose(krugman_index(same).to_numpy(), 0, atol=1e-15)
    disjoint = pd.DataFrame([[5, 0], [0, 7]], index=["a", "b"])
    np.testing.assert_allclose(krugman_index(disjoint).to_numpy(), 2)


@pytest.mark.parametrize("table", [
    pd.DataFrame([[1, -1], [1, 1]]), pd.DataFrame([[1, np.nan], [1, 1]]),
    pd.DataFrame([[0, 0], [1, 1]]), pd.DataFrame([[1, 2]]), pd.DataFrame(),
])
def test_krugman_rejects_bad_tables(table):
    with pytest.raises(DataError):
        krugman_index(table)


def test_coupling_coordination_by_hand():
    # U = (0.2, 0.4, 0.8): prod = 0.064, cube root 0.4, sum 1.4
    c, t, d = coupling_coordination([0.2, 0.4, 0.8])
    assert c == pytest.approx(3 * 0.4 / 1.4)
    assert t == pytest.approx(1.4 / 3)
    assert d == pytest.approx(np.sqrt(3 * 0.4 / 1.4 * 1.4 / 3))
    # equal indices: C = 1, D = sqrt(U)
    c, t, d = coupling_coordination(np.array([[0.5, 0.5, 0.5], [0.0, 0.3, 0.9]]))
    np.testing.assert_allclose(c, [1.0, 0.0])
    np.testing.assert_allclose(d, [np.sqrt(0.5), 0.0])
    c, t, d = coupling_coordination([0.2, 0.4, 0.8], weights=[0.5, 0.25, 0.25])
    assert t == pytest.approx(0.1 + 0.1 + 0.2)
    assert coupling_coordination([0, 0, 0])[2] == 0
    with pytest.raises(InvalidValueError, match="in \\[0, 1\\]"):
        coupling_coordination([0.2, 1.2, 0.4])
    with pytest.raises(InvalidValueError, match="summing to 1"):
        coupling_coordination([0.2, 0.2, 0.4], weights=[0.5, 0.5, 0.5])


def test_normalise():
    np.testing.assert_allclose(normalise([5, 10, 20], 5, 15), [0, 0.5, 1])
    np.testing.assert_allclose(normalise([5, 10], 5, 15, positive=False), [1, 0.5])
    with pytest.raises(InvalidValueError):
        normalise([1], 2, 2)


def series(values, start=2018):
    return xr.DataArray(np.asarray(values, dtype=float).T, dims=("time", "City"),
                        coords={"time": np.arange(start, start + len(values[0])),
                                "City": ["a", "b"]})


def test_peak_year_and_level():
    da = series([[1, 3, 5, 4, 2], [1, 2, 3, 4, 5]])
    p = peak(da)
    assert float(p["year"].sel(City="a")) == 2020
    assert float(p["level"].sel(City="a")) == 5
    assert np.isnan(float(p["year"].sel(City="b")))  # still rising at the end
    assert float(peak_year(da, start=2021).sel(City="a")) == 2021


def test_intensity_reductions_and_2005_assumption():
    ci = series([[2.0, 1.8, 1.5, 1.2, 1.0], [1.0, 1.0, 1.0, 0.5, 0.25]], start=2010)
    r = intensity_reduction(ci, base_year=2011, years=[2014])
    np.testing.assert_allclose(r.to_numpy().ravel(), [1 - 1.0 / 1.8, 0.75])
    r05 = intensity_reduction_vs_2005(ci, annual_decline=0.055, years=[2014])
    expected_2005 = np.array([2.0, 1.0]) / 0.945 ** 5
    np.testing.assert_allclose(r05.to_numpy().ravel(), 1 - np.array([1.0, 0.25]) /
                               expected_2005)
    assert "ASSUMPTION" in r05.attrs["assumption"] and "5.5%" in r05.attrs["assumption"]
    with pytest.raises(InvalidValueError, match="no time 2009"):
        intensity_reduction(ci, base_year=2009)


@pytest.mark.slow
def test_iis_model_coordination_degree_matches_standard_form():
    """The model's D per city equals coupling_coordination of its three chain indices."""
    from pathlib import Path

    import sdkit

    model = sdkit.load_model(Path(__file__).resolve().parents[1] / "models" / "iis.mdl")
    names = ["Industry chain index", "Innovation chain index", "Service chain index"]
    ds = sdkit.simulate_ensemble(model, pd.DataFrame({"Lever policy collaboration": [0.0, 1.0]}),
                                 outputs=[*names, "Coordination degree"], saveper=5)
    u = np.stack([ds[n].to_numpy() for n in names], axis=-1)
    c, t, d = coupling_coordination(u)
    np.testing.assert_allclose(d, ds["Coordination degree"].to_numpy(), rtol=1e-10)
    assert 0 < d.min() and d.max() < 1


def _series(values, years, cities=("A", "B")):
    return xr.DataArray(np.asarray(values, float).T, dims=("time", "City"),
                        coords={"time": years, "City": list(cities)})


def test_peak_status_keeps_history_and_projection_apart():
    years = [2018, 2019, 2020, 2021, 2022, 2023]
    # A peaked in 2019 (history) and falls; B rises to 2022, then falls
    da = _series([[5, 9, 8, 7, 6, 5], [1, 2, 3, 4, 6, 5]], years)
    st = peak_status(da, last_observed=2020)
    assert st["already_peaked"].sel(City="A").item() is True
    assert st["historical_peak_year"].sel(City="A").item() == 2019
    assert st["already_peaked"].sel(City="B").item() is False
    assert st["year"].sel(City="B").item() == 2022
    assert st["level"].sel(City="B").item() == 6
    # A's projection maximum is its first projection year, not its 2019 peak
    assert st["year"].sel(City="A").item() == 2021
    with pytest.raises(InvalidValueError):
        peak_status(da, last_observed=2022)


def test_intensity_vs_2005_uses_observed_values_where_given():
    years = [2010, 2015]
    da = _series([[1.0, 0.5], [2.0, 1.0]], years)
    observed = xr.DataArray([2.0, np.nan], dims="City", coords={"City": ["A", "B"]})
    out = intensity_reduction_vs_2005(da, annual_decline=0.0, observed_2005=observed)
    assert out.attrs["basis"] == {"A": "observed", "B": "back-cast"}
    assert out.sel(City="A", time=2015).item() == pytest.approx(0.75)   # 1 - 0.5/2
    assert out.sel(City="B", time=2015).item() == pytest.approx(0.5)    # back-cast = 2010 level
    with pytest.raises(InvalidValueError):
        intensity_reduction_vs_2005(da, observed_2005=observed * -1)


def test_minmax_benchmarks_are_fixed_so_scenarios_differ():
    lower, upper = minmax_benchmarks([2.0, 4.0, 3.0], lower_fraction=0.5, upper_multiple=2.0)
    assert (lower, upper) == (1.0, 8.0)
    low_run, high_run = normalise([3.0], lower, upper), normalise([6.0], lower, upper)
    assert low_run[0] == pytest.approx(2 / 7) and high_run[0] == pytest.approx(5 / 7)
    for bad in ([], [1.0, np.nan], [3.0, 3.0]):
        with pytest.raises(InvalidValueError):
            minmax_benchmarks(bad)
