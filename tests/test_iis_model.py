"""The IIS model (models/iis.mdl, models/iis.xmile): structure, agreement, behaviour.

Runs through sdkit/PySD are slow (several seconds each, much more on a busy
machine), so PySD runs only the baseline of both files and one lever run, at
four times the model's time step (agreement between files and engines does not
depend on the step; both sides use the same one). The many runs of the
extreme-condition, time-step and mass-balance tests use pysimlin at the
model's own step; the agreement tests show its results equal PySD's to 1e-6.
"""

from __future__ import annotations

import importlib.util
import math
import sys
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sdkit
from sdkit.engine.simulate import split_subscripted
from sdkit.structure.graph import model_graph
from sdkit.workflow.run_summary import read_summary_spec, summarize

MODELS = Path(__file__).resolve().parents[1] / "models"
MDL = MODELS / "iis.mdl"
XMILE = MODELS / "iis.xmile"
CITIES = ("Yichang", "Jingzhou", "Jingmen", "Enshi")
LEVERS = ("policy collaboration", "innovation chain", "division of labour",
          "green transition", "technology finance", "carbon removal")
CONTROL = {"INITIAL TIME", "FINAL TIME", "TIME STEP", "SAVEPER"}
REPORTED = ("GDP", "Value added primary", "Value added secondary", "Value added tertiary",
            "Productive capital", "Knowledge stock", "Patents", "Service capacity", "Loans",
            "CO2 emissions", "Carbon intensity", "Cumulative CO2 emissions",
            "Coordination degree", "Working age population", "Lever costs")
# city_stats.csv, indicator gdp, 2010, source S1 (100 million CNY)
GDP_2010 = {"Yichang": 1547.32, "Jingzhou": 837.10, "Jingmen": 730.07, "Enshi": 351.13}
# city_stats.csv, patents_obtained 2021 (Zhao, Wu & Qin 2023)
PATENTS_2021 = {"Yichang": 7093, "Jingzhou": 3674, "Jingmen": 2607, "Enshi": 762}


def _load_builder():
    builder = MODELS.parent / "tools" / "build_iis.py"
    spec = importlib.util.spec_from_file_location("build_iis", builder)
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("build_iis", module)  # dataclasses look the module up
    saved, sys.dont_write_bytecode = sys.dont_write_bytecode, True  # no tools/__pycache__
    try:
        spec.loader.exec_module(module)
    finally:
        sys.dont_write_bytecode = saved
    return module


BUILD = _load_builder()
MODEL_DT = float(BUILD.TIME_VARS[2][1])
TEST_DT = 4 * MODEL_DT  # PySD runs in these tests (see module docstring)
STOCKS = [v.name for v in BUILD.VARS if v.kind == "stock"]
ARRAYED = {v.name for v in BUILD.VARS if v.dims}
SIGNED_STOCKS = {"Relocated capital"}  # net capital received: negative for a giving city


# ------------------------------------------------------------------ helpers
def close(a, b, rtol: float) -> np.ndarray:
    a, b = np.asarray(a, float), np.asarray(b, float)
    return np.abs(a - b) <= rtol * np.maximum(np.abs(b), 1e-12)


def sl_name(name: str, elem: str | None = None) -> str:
    """Simlin's column name for a model variable (element)."""
    base = "_".join(name.lower().split())
    return f"{base}[{elem.lower()}]" if elem else base


def simlin_run(params: dict | None = None, *, path: Path = XMILE, dt: float | None = None,
               yearly: bool = True) -> pd.DataFrame:
    """Run with pysimlin; columns renamed to sdkit's ``Name[Elem]`` spelling."""
    import simlin

    model = simlin.load(str(path))
    if dt is not None:
        model.project.set_sim_specs(start=2010, stop=2060, dt=dt)
    overrides = {}
    for key, value in (params or {}).items():
        base, elems = split_subscripted(key)
        if elems:
            overrides[sl_name(base, elems[0])] = float(value)
        elif base in ARRAYED:
            overrides.update({sl_name(base, c): float(value) for c in CITIES})
        else:
            overrides[sl_name(base)] = float(value)
    res = model.run(overrides=overrides, analyze_loops=False).results
    names = {}
    for var in BUILD.VARS:
        if len(var.dims) == 1:
            names.update({sl_name(var.name, c): f"{var.name}[{c}]" for c in CITIES})
        elif len(var.dims) == 2:
            names.update({f"{sl_name(var.name)}[{a.lower()},{b.lower()}]": f"{var.name}[{a},{b}]"
                          for a in CITIES for b in CITIES})
        else:
            names[sl_name(var.name)] = var.name
    res = res[[c for c in res.columns if c in names]].rename(columns=names)
    if yearly:
        res = res[np.isclose(res.index % 1.0, 0.0)]
    return res


def cols(frame: pd.DataFrame, name: str) -> list[str]:
    return [f"{name}[{c}]" for c in CITIES] if name in ARRAYED else [name]


# ------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module")
def mdl_model():
    return sdkit.load_model(MDL)


@pytest.fixture(scope="module")
def baseline(mdl_model) -> pd.DataFrame:
    return sdkit.simulate(mdl_model, dt=TEST_DT, saveper=1)


@pytest.fixture(scope="module")
def sidecar() -> dict:
    return tomllib.loads((MODELS / "iis.sdkit.toml").read_text(encoding="utf-8"))


# ------------------------------------------------------------------ files
def test_generator_output_equals_committed_files():
    for path, text in BUILD.outputs().items():
        assert path.read_text(encoding="utf-8") == text, (
            f"{path.name} differs from tools/build_iis.py output")


def test_xmile_is_xmile_1_0_with_views():
    import xml.etree.ElementTree as ET

    root = ET.parse(XMILE).getroot()
    ns = "{http://docs.oasis-open.org/xmile/ns/XMILE/v1.0}"
    assert root.tag == f"{ns}xmile" and root.get("version") == "1.0"
    for part in ("header", "sim_specs", "dimensions", "model/variables", "model/views/view"):
        assert root.find("/".join(ns + p for p in part.split("/"))) is not None, part
    text = MDL.read_text(encoding="utf-8")
    assert "\\\\\\---/// Sketch information" in text and "*IIS overview" in text


def test_every_variable_has_units_and_documentation(mdl_model):
    variables = [v for v in mdl_model.variables if v.name not in CONTROL | {"Time"}]
    missing_units = [v.name for v in variables if not (v.units or "").strip()]
    missing_doc = [v.name for v in variables if len((v.documentation or "").strip()) < 10]
    assert missing_units == []
    assert missing_doc == []
    assert len(variables) == len(BUILD.VARS)


def test_levers_declare_their_bounds_in_both_files(mdl_model):
    """Vensim `[min,max]` and XMILE `<range>` give the same bounds; `sdkit set` holds them."""
    xmile_model = sdkit.load_model(XMILE)
    for k in LEVERS:
        ranges = {f"Lever {k}": (0, 1), f"Lever {k} start year": (2022, 2050),
                  f"Lever {k} ramp years": (0, 20)}
        for name, bounds in ranges.items():
            assert mdl_model.variable(name).range == bounds, name
            assert xmile_model.variable(name).range == bounds, name
            assert bounds[0] <= mdl_model.variable(name).value <= bounds[1], name
    for path in (MDL, XMILE):
        with pytest.raises(sdkit.SdkitError, match=r"outside the declared range \[0, 1\]"):
            sdkit.edit_model(path, {f"Lever {LEVERS[0]}": 1.5})


def test_units_are_dimensionally_consistent():
    for path in (MDL, XMILE):
        report = sdkit.check_model(path)
        errors = [f for f in report.findings if f.severity == "error"]
        assert errors == [], errors


@pytest.mark.parametrize("path", [MDL, XMILE], ids=["mdl", "xmile"])
def test_pysimlin_finds_no_model_issues(path):
    import simlin

    assert tuple(simlin.load(str(path)).check()) == ()


# Each loop as a chain of direct causal links (the last links back to the first).
_ADOPTION = ("Knowledge adoption 1", "Knowledge adoption stage 1", "Knowledge adoption 2",
             "Knowledge adoption stage 2", "Knowledge adoption 3", "Knowledge in use",
             "Knowledge TFP effect", "TFP", "Nonprimary output")
LOOPS = {
    "R1 capital": ("GDP", "Investment", "Productive capital", "Nonprimary output"),
    "R2 innovation": ("GDP", "Research spending", "Knowledge creation", "Knowledge stock",
                      *_ADOPTION),
    "R3 service": ("GDP", "Service investment", "Service capacity", "Service capacity index",
                   "Conversion efficiency", "Knowledge creation", "Knowledge stock",
                   *_ADOPTION),
    "R4 spillover": ("Knowledge stock", "Knowledge spillover"),
    "B1 capital depreciation": ("Productive capital", "Capital depreciation"),
    "B2 knowledge depreciation": ("Knowledge stock", "Knowledge depreciation"),
    "B3 diminishing returns": ("Knowledge stock", "Conversion efficiency",
                               "Knowledge creation"),
    "B4 carbon policy": ("CO2 emissions", "Indicated stringency", "Stringency change",
                         "Policy stringency", "Industry intensity decline rate",
                         "Industry energy intensity decline", "Industry energy intensity",
                         "Industry energy CO2", "Gross CO2 emissions"),
    "B5 duplication": ("Perceived structural similarity", "Duplication loss", "TFP",
                       "Nonprimary output", "Value added secondary", "Share secondary",
                       "Structural similarity", "Similarity perception"),
    "B6 return on capital": ("Productive capital", "Marginal product of capital",
                             "Investment rate", "Investment"),
    "B7 talent": ("Working age population", "Wage", "Attractiveness", "Talent inflow"),
    "B8 lever cost": ("GDP", "Extra research spending", "Innovation chain cost", "Lever costs",
                      "Investment", "Productive capital", "Nonprimary output"),
}
# loops whose sign depends on the state (shares, wage order); only their links are checked
SIGN_FREE = ("B5", "B7")
LOOP_SIGN = {"R": "+", "B": "-"}


@pytest.mark.parametrize("loop", list(LOOPS))
def test_named_loops_exist_with_their_polarity(mdl_model, loop):
    graph = model_graph(mdl_model)
    links = {(lk.source, lk.target): lk.polarity for lk in graph.links if lk.kind != "init"}
    chain = LOOPS[loop]
    sign = 1
    for a, b in zip(chain, chain[1:] + chain[:1]):
        assert (a, b) in links, f"{loop}: no link {a} -> {b}"
        sign *= {"+": 1, "-": -1}.get(links[(a, b)], 0)
    if loop.startswith(SIGN_FREE):  # the sign depends on the state (see SIGN_FREE)
        return
    assert sign == (1 if loop[0] == "R" else -1), f"{loop}: polarity {sign}"


def test_sdkit_loops_finds_every_named_loop():
    """`sdkit loops` (find_loops) lists each loop named in models/README.md."""
    from sdkit.structure.loops import find_loops

    found = {}
    for lp in find_loops(MDL).loops:
        found.setdefault(frozenset(lp.variables), []).append(lp)
    for name, chain in LOOPS.items():
        matches = found.get(frozenset(chain), [])
        assert matches, f"{name}: not among the loops sdkit finds"
        if not name.startswith(SIGN_FREE):
            want = "reinforcing" if name[0] == "R" else "balancing"
            assert any(lp.polarity == want for lp in matches), (name, matches)


# ------------------------------------------------------------------ agreement
@pytest.mark.slow
def test_mdl_and_xmile_agree_through_sdkit(baseline):
    other = sdkit.simulate(sdkit.load_model(XMILE), dt=TEST_DT, saveper=1)
    assert list(other.index) == list(baseline.index)
    columns = [c for c in baseline.columns if c not in CONTROL]
    assert set(columns) <= set(other.columns)
    a, b = baseline[columns].to_numpy(float), other[columns].to_numpy(float)
    bad = ~close(a, b, 1e-6)
    assert not bad.any(), [columns[j] for j in np.nonzero(bad.any(axis=0))[0]][:5]


@pytest.mark.parametrize("path", [MDL, XMILE], ids=["mdl", "xmile"])
def test_pysimlin_agrees_with_pysd(baseline, path):
    other = simlin_run(path=path, dt=TEST_DT)
    columns = [c for c in baseline.columns if c not in CONTROL]
    assert set(columns) <= set(other.columns), set(columns) - set(other.columns)
    a = baseline[columns].to_numpy(float)
    b = other.loc[baseline.index, columns].to_numpy(float)
    bad = ~close(a, b, 1e-6)
    assert not bad.any(), [columns[j] for j in np.nonzero(bad.any(axis=0))[0]][:5]


# ------------------------------------------------------------------ numerics
@pytest.mark.parametrize("levers", [0.0, 1.0], ids=["baseline", "all-levers"])
def test_halving_time_step_changes_reported_outputs_by_less_than_half_percent(levers):
    params = {f"Lever {k}": levers for k in LEVERS}
    coarse = simlin_run(params)
    fine = simlin_run(params, dt=MODEL_DT / 2).loc[coarse.index]
    columns = [c for name in REPORTED for c in cols(coarse, name)]
    rel = ((coarse[columns] - fine[columns]).abs() / fine[columns].abs()).to_numpy()
    assert np.nanmax(rel) < 0.005, columns[int(np.nanargmax(rel.max(axis=0)))]


def test_loans_mass_balance():
    run = simlin_run({"Lever technology finance": 1}, yearly=False)
    dt = MODEL_DT
    for c in CITIES:
        net = (run[f"New lending[{c}]"] - run[f"Loan repayment[{c}]"]).to_numpy()
        integral = np.concatenate([[0.0], np.cumsum(net[:-1] * dt)])
        change = run[f"Loans[{c}]"].to_numpy() - run[f"Loans[{c}]"].iloc[0]
        assert np.allclose(change, integral, rtol=1e-9, atol=1e-9 * run[f"Loans[{c}]"].max())


# ------------------------------------------------------------------ levers
def test_levers_off_reproduce_the_baseline_exactly():
    base = simlin_run()
    params = {}
    for k in LEVERS:
        params.update({f"Lever {k}": 0, f"Lever {k} start year": 2022,
                       f"Lever {k} ramp years": 0})
    moved = simlin_run(params)
    keep = [c for c in base.columns if c not in params]
    assert len(keep) == len(base.columns) - 3 * len(LEVERS)
    pd.testing.assert_frame_equal(base[keep], moved[keep], check_exact=True)


@pytest.mark.slow
def test_lever_start_year_is_respected(mdl_model, baseline):
    params = {"Lever green transition": 1, "Lever green transition start year": 2026,
              "Lever policy collaboration": 1, "Lever policy collaboration start year": 2026}
    run = sdkit.simulate(mdl_model, params, dt=TEST_DT, saveper=1, stop=2035)
    columns = [c for c in baseline.columns if c not in CONTROL]
    before = run.index[run.index <= 2026]
    columns = [c for c in columns if c not in params]
    pd.testing.assert_frame_equal(run.loc[before, columns], baseline.loc[before, columns],
                                  check_exact=True)
    later = [f"Carbon intensity[{c}]" for c in CITIES]
    assert (run.loc[2030, later] < baseline.loc[2030, later]).all()


# ------------------------------------------------------------------ extreme conditions
def test_no_research_knowledge_decays_and_patents_vanish():
    """Without R&D, absorption (at most 10 %/yr of the stock) cannot beat 15 %/yr decay."""
    run = simlin_run({"Research intensity": 0})
    base = simlin_run()
    for c in CITIES:
        k = run[f"Knowledge stock[{c}]"]
        assert (np.diff(k.to_numpy()) < 0).all()
        assert k.iloc[-1] < 0.5 * k.iloc[0]
        assert k.iloc[-1] < 0.05 * base[f"Knowledge stock[{c}]"].iloc[-1]
        assert (run[f"Patents[{c}]"].iloc[1:] == 0).all()


def test_no_investment_capital_decays_geometrically():
    run = simlin_run({"Investment rate 2010": 0, "Transfer rate": 0})
    dt = MODEL_DT
    steps = (run.index.to_numpy() - 2010) / dt
    for c in CITIES:
        k = run[f"Productive capital[{c}]"].to_numpy()
        assert np.allclose(k, k[0] * (1 - 0.096 * dt) ** steps, rtol=1e-9)


def _extreme_cases(sidecar) -> dict[str, dict]:
    cases = {}
    for k in LEVERS:
        cases[f"{k}=1"] = {f"Lever {k}": 1, f"Lever {k} start year": 2022,
                           f"Lever {k} ramp years": 0}
    cases["all levers=1"] = {f"Lever {k}": 1 for k in LEVERS}
    bounds = sidecar["free_parameters"]
    for side, label in ((0, "free parameters low"), (1, "free parameters high")):
        cases[label] = {name: b[side] for name, b in bounds.items()}
        cases[label + " + levers"] = {**cases[label], **cases["all levers=1"]}
    return cases


def test_levers_and_parameters_at_bounds_stay_physical(sidecar):
    for label, params in _extreme_cases(sidecar).items():
        run = simlin_run(params)
        values = run.to_numpy(float)
        assert np.isfinite(values).all(), label
        for name in STOCKS:
            if name in SIGNED_STOCKS:
                continue
            assert (run[cols(run, name)].to_numpy() >= -1e-12).all(), f"{label}: {name} < 0"
        for name in ("Electricity share", "Coordination degree", "Policy stringency"):
            assert (run[cols(run, name)].to_numpy() <= 1 + 1e-12).all(), f"{label}: {name}"
        net = run[cols(run, "CO2 emissions")].to_numpy()
        assert (net >= 0).all() and (net <= run[cols(run, "Gross CO2 emissions")].to_numpy()
                                     * (1 + 1e-12)).all(), label


# ------------------------------------------------------------------ behaviour
def test_default_baseline_is_plausible():
    """The defaults are the calibrated values: growth slows, patents match the paper."""
    baseline = simlin_run()
    for c in CITIES:
        gdp = baseline[f"GDP[{c}]"]
        assert math.isclose(gdp[2010], GDP_2010[c], rel_tol=1e-3)
        assert gdp[2060] > 1.5 * gdp[2021] > 3 * gdp[2010]
        growth = gdp.pct_change().drop([2010, 2020])
        assert (growth.drop(2021) > 0).all()
        assert growth.loc[2031:2040].mean() < growth.loc[2011:2020].mean()
        assert math.isclose(baseline.loc[2021, f"Patents[{c}]"], PATENTS_2021[c], rel_tol=0.01)
        ci = baseline[f"Carbon intensity[{c}]"]
        assert ci[2060] < ci[2035] < ci[2021] < ci[2010]
        assert 0 < baseline.loc[2060, f"Coordination degree[{c}]"] <= 1


def test_strong_green_transition_makes_emissions_peak():
    run = simlin_run({"Lever green transition": 1, "Lever green transition start year": 2022})
    for c in CITIES:
        e = run[f"CO2 emissions[{c}]"]
        assert e.idxmax() < 2035
        assert e[2060] < 0.7 * e.max()


def test_integrated_scenario_gives_more_output_at_lower_intensity():
    base = simlin_run()
    iis = simlin_run({f"Lever {k}": 1 for k in LEVERS})
    for c in CITIES:
        assert iis.loc[2060, f"GDP[{c}]"] > base.loc[2060, f"GDP[{c}]"]
        assert iis.loc[2060, f"Carbon intensity[{c}]"] < base.loc[2060, f"Carbon intensity[{c}]"]
        assert iis.loc[2060, f"Coordination degree[{c}]"] > base.loc[2060,
                                                                     f"Coordination degree[{c}]"]


def test_summary_reads_per_city():
    text = summarize(simlin_run(), read_summary_spec(MDL))
    for word in ("GDP", "CO2 emissions", "Carbon intensity", "peak", "2035", *CITIES):
        assert word in text


def test_sdkit_run_summary_of_the_xmile_uses_yearly_saves_and_units():
    from sdkit.workflow.run_summary import read_summary_spec

    assert read_summary_spec(XMILE).saveper == 1
    frame = simlin_run(path=XMILE)
    yearly = frame.loc[[t for t in frame.index if float(t).is_integer()]]
    text = summarize(yearly, read_summary_spec(XMILE), {"GDP": "Cyuan/Year"})
    assert "GDP (Cyuan/Year)" in text
    peak_years = [ln.split()[-1] for ln in text.splitlines() if ln.startswith(CITIES[0])][1:2]
    assert peak_years and float(peak_years[0]).is_integer()


def test_provincial_intensity_path_reproduces_hubei_outcomes():
    """The achieved Hubei energy-intensity changes (drivers_and_targets.csv S40-S42) come back
    out of the integrated decline rate: -22.78 % 2010-2015, -13.96 % 2015-2018, -18 % 2015-2020;
    then the 14th-plan target (-13.5 % over 2020-2025, S34)."""
    res = simlin_run(yearly=False)
    rate = res["Provincial energy intensity decline"]
    index = pd.Series(np.exp(-np.concatenate([[0.0], np.cumsum(rate.values[:-1] * MODEL_DT)])),
                      index=rate.index)
    at = lambda t: float(index[np.isclose(index.index, t)].iloc[0])  # noqa: E731
    assert math.isclose(at(2015) / at(2010), 1 - 0.2278, rel_tol=1e-9)
    assert math.isclose(at(2018) / at(2015), 1 - 0.1396, rel_tol=1e-9)
    assert math.isclose(at(2020) / at(2015), 1 - 0.18, rel_tol=1e-9)
    assert math.isclose(at(2025) / at(2020), 1 - 0.135, rel_tol=1e-9)


def test_pandemic_shifts_output_from_industry_to_services_as_in_hubei():
    """In 2020 the secondary / tertiary ratio is the Hubei ratio of 2020 real growth
    (0.926 / 0.962) times its path without the shift; non-primary output is unchanged
    and the shift is absent before 2020."""
    res = simlin_run()
    s = res["Secondary share of nonprimary[Enshi]"]
    va2, va3 = res["Value added secondary[Enshi]"], res["Value added tertiary[Enshi]"]
    ratio = (va2 / va3) / (s / (1 - s))
    assert math.isclose(float(ratio.loc[2020]), 0.926 / 0.962, rel_tol=1e-3)
    assert np.allclose(ratio.loc[2010:2019], 1.0, rtol=1e-9)
    assert 0.9626 < float(ratio.loc[2030]) < 1.0  # fades with the output loss
    assert np.allclose(va2 + va3, res["Nonprimary output[Enshi]"], rtol=1e-9)
