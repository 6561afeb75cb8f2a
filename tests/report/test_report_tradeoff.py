"""Trade-off, robustness and target tables, findings and config checks, on hand-made data."""

from __future__ import annotations

import re

import numpy as np
import pytest
import xarray as xr

from sdkit.analysis import tradeoff as T
from sdkit.analysis.bands import future_peak_shares
from sdkit.errors import InvalidValueError, SpecError
from sdkit.report.config import read_report_config
from sdkit.report.findings import Num, findings
from sdkit.report.tradeoff import robustness_table, target_table, tradeoff_table

TIMES = np.arange(2020.0, 2031.0)
CONFIG = """
[report]
title = "t"
dimension = "Region"
projection_start = 2021
summary_years = [2025, 2030]
[[report.levers]]
variable = "Lever a"
label = "lever a"
scenario = "a"
[[report.levers]]
variable = "Lever b"
label = "lever b"
scenario = "b"
[report.tradeoff]
benefit = "Output"
burden = "Emissions"
combination = "ab"
cost = "Cost share"
[report.target]
variable = "Emissions"
year = 2030
scenario = "ab"
label = "net zero"
reference = 2021
[[indicators]]
variable = "Output"
units = "money/yr"
[[indicators]]
variable = "Emissions"
units = "t/yr"
"""


def _write(tmp_path, text=CONFIG):
    p = tmp_path / "r.toml"
    p.write_text(text)
    return p


def _runs():
    """Output and emissions of two regions; each lever adds a known amount."""
    scen = ["baseline", "a", "b", "ab"]
    gain = {"baseline": 0.0, "a": 10.0, "b": 5.0, "ab": 13.0}      # synergy -2
    cut = {"baseline": 0.0, "a": 2.0, "b": -6.0, "ab": -5.0}       # synergy -1
    share = {"baseline": 0.0, "a": 0.01, "b": 0.03, "ab": 0.04}
    out = np.zeros((4, len(TIMES), 2))
    emi = np.zeros_like(out)
    cost = np.zeros_like(out)
    for i, s in enumerate(scen):
        for r, size in enumerate((100.0, 300.0)):
            out[i, :, r] = size + (TIMES - 2020) * gain[s] / 10 * (r + 1)
            emi[i, :, r] = 50.0 + (TIMES - 2020) * cut[s] / 10 * (r + 1)
            cost[i, :, r] = share[s] * (r + 1)
    coords = {"scenario": scen, "time": TIMES, "Region": ["x", "y"]}
    dims = ("scenario", "time", "Region")
    return xr.Dataset({"Output": (dims, out), "Emissions": (dims, emi),
                       "Cost share": (dims, cost)}, coords=coords)


def test_tradeoff_table_by_hand(tmp_path):
    cfg = read_report_config(_write(tmp_path))
    t = tradeoff_table(_runs(), cfg, {}).set_index("row")
    assert list(t.index) == ["a", "b", "ab", "sum of singles", "synergy"]
    # 2030: a adds 10*1 + 10*2 = 30 to output (baseline 400): +7.5 %
    assert t.loc["a", "Output 2030 vs baseline [money/yr]"] == pytest.approx(30.0)
    assert t.loc["a", "Output 2030 vs baseline [%]"] == pytest.approx(7.5)
    assert t.loc["synergy", "Output 2030 vs baseline [money/yr]"] == pytest.approx(-6.0)
    assert t.loc["synergy", "Emissions 2030 vs baseline [t/yr]"] == pytest.approx(-3.0)
    # cumulative 2021-2030: sum over years k=1..10 of cut * k/10 * 3 = cut * 16.5
    assert t.loc["b", "cumulative Emissions 2021-2030 vs baseline [t]"] == pytest.approx(-99.0)
    # cost as a share of total output: (0.03 * 100 + 0.06 * 300 + ...) / total output
    out = _runs()["Output"].sel(scenario="b", time=2025.0).to_numpy()
    want = (0.03 * out[0] + 0.06 * out[1]) / out.sum()
    assert t.loc["b", "Cost share 2025 []"] == pytest.approx(want)


def test_target_table_states_the_miss(tmp_path):
    cfg = read_report_config(_write(tmp_path))
    row = target_table(_runs(), cfg, {}).iloc[0]
    assert not row["reached"]
    assert row["Emissions 2030 [t/yr]"] == pytest.approx(100 - 15.0)
    assert row["Emissions 2030 vs 2021 [%]"] == pytest.approx(100 * (85 / 98.5 - 1))
    # with the captured amount in the results: the share of gross emissions it removes
    text = CONFIG.replace('reference = 2021', 'reference = 2021\ncaptured = "Captured"')
    cfg = read_report_config(_write(tmp_path, text))
    runs = _runs()
    runs["Captured"] = runs["Emissions"] * 3  # captured = 3 x net: 75 % of gross
    target = target_table(runs, cfg, {})
    assert target.iloc[0]["captured share of gross 2030 [%]"] == pytest.approx(75.0)
    found = findings(tradeoff_table(runs, cfg, {}), None, target, cfg)
    line = next("".join(p if isinstance(p, str) else p.text for p in f) for f in found
                if "Capture removes" in "".join(p for p in f if isinstance(p, str)))
    assert "Capture removes 75 % of gross Emissions" in line


def test_robustness_counts_members_by_sign(tmp_path):
    cfg = read_report_config(_write(tmp_path))
    runs = _runs()
    rng = np.random.default_rng(0)
    noise = xr.DataArray(rng.normal(0, 1, 40), dims="member")
    ens = {s: runs.sel(scenario=s, drop=True) * (1 + 0.001 * noise) for s in ("baseline", "b")}
    flip = ens["b"]["Output"] + 40 * noise  # output change of b: +20 on average, spread 40
    ens["b"] = ens["b"].assign(Output=flip)
    rob = robustness_table(ens, cfg, {}).set_index("row")
    em = rob.loc["b: Emissions 2030"]
    assert em["share below 0"] == 1.0 and em["robust sign"]
    gdp = rob.loc["b: Output 2030"]
    d = flip.sel(time=2030.0).sum("Region") - ens["baseline"]["Output"].sel(time=2030.0).sum(
        "Region")
    assert gdp["share above 0"] == pytest.approx(float((d > 0).mean()))
    assert gdp["robust sign"] == (max(gdp["share above 0"], gdp["share below 0"]) >= 0.9)


def test_findings_numbers_are_table_cells(tmp_path):
    cfg = read_report_config(_write(tmp_path))
    runs = _runs()
    trade, target = tradeoff_table(runs, cfg, {}), target_table(runs, cfg, {})
    found = findings(trade, None, target, cfg)
    nums = [p for f in found for p in f if isinstance(p, Num)]
    assert len(found) >= 4 and len(nums) >= 8
    tables = {"tradeoff": trade, "target": target}
    for n in nums:
        assert n.value == tables[n.table].set_index("row").loc[n.row, n.column]
    text = " ".join("".join(p if isinstance(p, str) else p.text for p in f) for f in found)
    assert "not reached" in text and "Synergy" in text


def test_synergy_and_paired_change_errors():
    d = xr.DataArray([1.0, 2.0, 2.5], dims="scenario", coords={"scenario": ["a", "b", "ab"]})
    assert float(T.synergy(d, ["a", "b"], "ab")) == pytest.approx(-0.5)
    a = xr.DataArray([1.0, 2.0], dims="member", coords={"member": [0, 1]})
    b = xr.DataArray([1.0, 2.0], dims="member", coords={"member": [0, 2]})
    with pytest.raises(InvalidValueError, match="different member"):
        T.paired_change(a, b)
    with pytest.raises(InvalidValueError, match="no scenario 'baseline'"):
        T.change(d)


def test_future_peak_shares_keep_history_apart():
    t = np.arange(2010.0, 2031.0)
    hist_peak = np.where(t <= 2015, t - 2010, 5 - 0.1 * (t - 2015))   # peaked 2015
    future = np.where(t <= 2025, t - 2010, 15 - (t - 2025))            # peaks 2025
    rising = t - 2010                                                  # no peak by 2030
    da = xr.DataArray(np.stack([hist_peak, future, rising]), dims=("member", "time"),
                      coords={"time": t})
    s = future_peak_shares(da, before=2028, last_observed=2020)
    assert float(s["already_peaked"]) == pytest.approx(1 / 3)
    assert float(s["peak_before"]) == pytest.approx(1 / 3)
    s = future_peak_shares(da, before=2024, last_observed=2020)
    assert float(s["peak_before"]) == 0.0


@pytest.mark.parametrize("change, message", [
    ("[[report.peaks]]\nvariable = \"Emissions\"\nstart = 2030\nbefore = 2025\n",
     "peaks[0]: before: expected a time after start (2030), got 2025"),
    ("[[report.peaks]]\nvariable = \"Emissions\"\nstart = 2000\n",
     "peaks[0]: start: expected the last history year or a projection year"),
])
def test_config_times_checked_when_read(tmp_path, change, message):
    text = CONFIG.replace("[[report.levers]]", change + "[[report.levers]]", 1)
    with pytest.raises(SpecError, match=re.escape(message)):
        read_report_config(_write(tmp_path, text))


def test_bad_config_is_one_line_exit_2(tmp_path, capsys):
    from sdkit.cli import main

    text = CONFIG.replace("summary_years = [2025, 2030]", "summary_years = [2030, 2025]")
    code = main(["report", "--config", str(_write(tmp_path, text)), "--root", str(tmp_path),
                 "--results", str(tmp_path)])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1 and "summary_years: expected increasing years" in err
    assert not (tmp_path / "iis").exists()


def test_bands_table_round_trip_and_the_older_layout():
    from sdkit.report.tables import bands_from_table, bands_table

    t = np.array([2020.0, 2021.0])
    q = xr.Dataset({"X": (("quantile", "time", "Region"), np.arange(12.0).reshape(3, 2, 2))},
                   coords={"quantile": [0.05, 0.5, 0.95], "time": t, "Region": ["z", "a"]})
    back = bands_from_table(bands_table({"s": q, "r": q + 1}))
    xr.testing.assert_identical(back["s"], q)
    xr.testing.assert_identical(back["r"], q + 1)
    # the layout written before: the element in "level_2" for the first scenario and in
    # its own column for the next, the other column holding None
    old = bands_table({"s": q, "r": q + 1}).rename(columns={"Region": "level_2"})
    first = old["scenario"] == "s"
    old["Region"] = old["level_2"].where(~first, "None")
    old["level_2"] = old["level_2"].where(first, None)
    back = bands_from_table(old.set_index("variable"))
    xr.testing.assert_identical(back["r"], q + 1)
    assert list(back["s"]["Region"].to_numpy()) == ["z", "a"]
