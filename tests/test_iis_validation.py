"""Validation battery of the IIS model (issue 13), on the fast compiled engine.

Integration error, extreme conditions, mass balances, units, behaviour
reproduction against the data (in sample and hold-out, with the calibration's
observation model), the growth and carbon behaviour the model must show, and
the robustness of projections to the fit window. Every run goes through
:func:`sdkit.simulate_ensemble`, so the whole file takes seconds, not minutes.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sdkit
from sdkit.calibration.objective import Objective

ROOT = Path(__file__).resolve().parents[1]
MDL = ROOT / "models" / "iis.mdl"
SPEC = ROOT / "calibration" / "iis.toml"
FULL_SPEC = ROOT / "calibration" / "iis_full_window.toml"
RECORD = ROOT / "calibration" / "results" / "iis" / "calibration.json"
FULL_RECORD = ROOT / "calibration" / "results" / "iis_full_window" / "calibration.json"
CITIES = ("Yichang", "Jingzhou", "Jingmen", "Enshi")
LEVERS = ("policy collaboration", "innovation chain", "division of labour",
          "green transition", "technology finance", "carbon removal")
MODEL_DT = 0.0625
REPORTED = ("GDP", "Value added primary", "Value added secondary", "Value added tertiary",
            "Productive capital", "Knowledge stock", "Patents", "Service capacity", "Loans",
            "CO2 emissions", "Carbon intensity", "Working age population", "Lever costs",
            "Coordination degree")


def fitted(path: Path = RECORD) -> dict[str, float]:
    record = json.loads(path.read_text(encoding="utf-8"))
    return {name: p["value"] for name, p in record["parameters"].items()}


def levers(strength: float, start: float = 2022.0, ramp: float = 0.0) -> dict[str, float]:
    out = {}
    for k in LEVERS:
        out.update({f"Lever {k}": strength, f"Lever {k} start year": start,
                    f"Lever {k} ramp years": ramp})
    return out


@pytest.fixture(scope="module")
def model():
    return sdkit.load_model(MDL)


def _defaults() -> dict[str, float]:
    """The model's constants, one key per element (``Name[City]``), from tools/build_iis.py."""
    import importlib.util
    import sys

    spec = importlib.util.spec_from_file_location("build_iis", ROOT / "tools" / "build_iis.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("build_iis", module)
    saved, sys.dont_write_bytecode = sys.dont_write_bytecode, True
    try:
        spec.loader.exec_module(module)
    finally:
        sys.dont_write_bytecode = saved
    out = {}
    for var in module.VARS:
        if var.kind != "const" or len(var.dims) > 1:
            continue
        if var.dims:
            out.update({f"{var.name}[{c}]": float(x) for c, x in zip(CITIES, var.eqn)})
        else:
            out[var.name] = float(var.eqn[0])
    return out


DEFAULTS = _defaults()


def _expand(row: dict[str, float]) -> dict[str, float]:
    out = dict(DEFAULTS)
    for key, value in row.items():
        if f"{key}[{CITIES[0]}]" in DEFAULTS:  # arrayed constant set for every city
            out.update({f"{key}[{c}]": float(value) for c in CITIES})
        else:
            assert key in DEFAULTS, key
            out[key] = float(value)
    return out


def run(model, rows: list[dict], outputs, **kw):
    """One ensemble, a member per row; keys a row does not set keep the model's values."""
    table = pd.DataFrame([_expand(r) for r in rows])
    ds = sdkit.simulate_ensemble(model, table, outputs=list(outputs), **kw)
    assert ds.attrs.get("sdkit_engine") == "fast"
    return ds


# ------------------------------------------------------------------ numerics and units
def test_halving_the_time_step_changes_no_output_by_half_a_percent(model):
    rows = [fitted(), {**fitted(), **levers(1.0, start=2025.0, ramp=5.0)}]
    coarse = run(model, rows, REPORTED, saveper=1.0)
    fine = run(model, rows, REPORTED, saveper=1.0, dt=MODEL_DT / 2)
    for name in REPORTED:
        a, b = coarse[name].values, fine[name].values
        rel = np.abs(a - b) / np.maximum(np.abs(b), 1e-9)
        assert np.nanmax(rel) < 0.005, name


@pytest.mark.parametrize("path", [MDL, MDL.with_suffix(".xmile")], ids=["mdl", "xmile"])
def test_units_check_has_zero_errors(path):
    report = sdkit.check_model(path)
    assert [f for f in report.findings if f.severity == "error"] == []


# ------------------------------------------------------------------ extreme conditions
EXTREMES = {
    "no investment": {"Investment rate 2010": 0.0},
    "no R&D": {"Research intensity": 0.0},
    "no labour": {"Census share young 2010": 0.0, "Census share working 2010": 0.0},
    "every lever full": levers(1.0),
    "every lever full, clean grid": {**levers(1.0), "Grid emission factor 2060": 0.0},
}


@pytest.fixture(scope="module")
def extremes(model):
    rows = [fitted()] + [{**fitted(), **p} for p in EXTREMES.values()]
    outputs = ("GDP", "Nonprimary output", "Value added primary", "Productive capital",
               "CO2 balance after forest sink",
               "Knowledge stock", "Working age population", "Patents", "CO2 emissions",
               "Gross CO2 emissions", "Electricity share", "Coordination degree",
               "Policy stringency", "Lever costs", "Investment")
    return run(model, rows, outputs, saveper=1.0)


def test_extreme_conditions_stay_finite_and_physical(extremes):
    for name in extremes.data_vars:
        values = extremes[name].values
        assert np.isfinite(values).all(), name
    for name in ("GDP", "Productive capital", "Knowledge stock", "Working age population",
                 "Patents", "CO2 emissions", "Lever costs", "Investment"):
        assert (extremes[name].values >= -1e-9).all(), name
    for name in ("Electricity share", "Coordination degree", "Policy stringency"):
        assert (extremes[name].values <= 1 + 1e-9).all(), name
    assert (extremes["CO2 emissions"].values
            <= extremes["Gross CO2 emissions"].values * (1 + 1e-12)).all()


def test_extreme_conditions_behave_as_their_cause_says(extremes):
    base, no_inv, no_rd, no_lab, full, clean = (extremes.isel(member=i) for i in range(6))
    k = no_inv["Productive capital"]
    assert (k.diff("time") < 0).all() and float((k / base["Productive capital"])
                                                .sel(time=2060).max()) < 0.1
    assert float((no_inv["GDP"] / base["GDP"]).sel(time=2060).max()) < 0.5
    assert float(no_rd["Patents"].sel(time=2030).max()) == 0.0
    assert float((no_rd["Knowledge stock"] / base["Knowledge stock"]).sel(time=2060).max()) < 0.1
    # no working-age residents, ever: no non-primary output; land still yields
    assert float(np.abs(no_lab["Nonprimary output"]).max()) < 1e-9
    assert (no_lab["Value added primary"].sel(time=2030) > 0).all()
    # all levers: more output, lower emissions, every lever costing something
    assert (full["GDP"].sel(time=2060) > base["GDP"].sel(time=2060)).all()
    assert (full["CO2 emissions"].sel(time=2060) < base["CO2 emissions"].sel(time=2060)).all()
    assert (full["Lever costs"].sel(time=2030) > 0).all()
    # strongest levers with a clean grid: net emissions near zero by 2060
    total = clean["CO2 emissions"].sum("City")
    assert float(total.sel(time=2060)) < 0.1 * float(total.sel(time=2021))
    # with its sourced forest sink Yichang is about net zero; the cluster is not, because
    # the other cities' sinks are not in the data (models/README.md, "Near-zero net emissions")
    balance = clean["CO2 balance after forest sink"].sel(time=2060)
    yichang_2021 = float(clean["CO2 emissions"].sel(City="Yichang", time=2021))
    assert float(balance.sel(City="Yichang")) < 0.05 * yichang_2021
    assert float(balance.sum("City")) > 0.02 * float(total.sel(time=2021))


# ------------------------------------------------------------------ mass balance
def test_capital_loans_knowledge_and_people_balance(model):
    outputs = ("Productive capital", "Investment", "Capital inflow", "Capital outflow",
               "Capital depreciation", "Loans", "New lending", "Loan repayment",
               "Knowledge stock", "Knowledge creation", "Knowledge spillover",
               "External knowledge absorption", "Knowledge depreciation",
               "Talent inflow", "Talent outflow")
    ds = run(model, [{**fitted(), **levers(1.0)}], outputs, saveper=MODEL_DT).isel(member=0)
    dt = MODEL_DT
    balances = {
        "Productive capital": ("Investment", "Capital inflow", "-Capital outflow",
                               "-Capital depreciation"),
        "Loans": ("New lending", "-Loan repayment"),
        "Knowledge stock": ("Knowledge creation", "Knowledge spillover",
                            "External knowledge absorption", "-Knowledge depreciation"),
    }
    for stock, flows in balances.items():
        net = sum((-1 if f[0] == "-" else 1) * ds[f.lstrip("-")] for f in flows)
        integral = np.concatenate([np.zeros((1, 4)), np.cumsum(net.values[:-1] * dt, axis=0)])
        change = ds[stock].values - ds[stock].values[0]
        scale = np.abs(ds[stock].values).max()
        assert np.allclose(change, integral, rtol=1e-9, atol=1e-9 * scale), stock
    # transfers between the cities neither create nor destroy capital or people
    for a, b in (("Capital inflow", "Capital outflow"), ("Talent inflow", "Talent outflow")):
        assert np.allclose(ds[a].sum("City"), ds[b].sum("City"), rtol=1e-9, atol=1e-12)
    assert float(ds["Capital inflow"].sum("City").max()) > 0  # the test is not vacuous


# ------------------------------------------------------------------ behaviour reproduction
@pytest.fixture(scope="module")
def reproduction():
    from sdkit import read_problem

    problem = read_problem(SPEC)
    objective = Objective(problem)
    x = np.array([fitted()[p.name] for p in problem.parameters])
    sim = objective.simulate(x)
    mape = {}
    for t in problem.targets:
        if t.weight == 0 or len(t.times) < 2:
            continue
        times, obs = np.asarray(t.times), np.asarray(t.values)
        err = np.abs(sim[t.name] - obs) / np.abs(obs) * 100
        mape[t.name] = (float(err[times <= 2018].mean()), float(err[times > 2018].mean()))
    return mape


@pytest.mark.parametrize("city", CITIES)
def test_gdp_is_reproduced_in_sample_and_hold_out(reproduction, city):
    fit, hold = reproduction[f"GDP[{city}]"]
    assert fit <= 3.0 and hold <= 6.0, (fit, hold)


def test_sectors_and_co2_are_reproduced_in_sample(reproduction):
    for name, (fit, _) in reproduction.items():
        if name.startswith(("Value added", "CO2 emissions")):
            assert fit <= 6.0, (name, fit)


def test_sector_and_co2_hold_out_errors(reproduction):
    """Issue 13 targets: sectors <= 10 %, CO2 <= 10 % hold-out. The one known exception
    (Enshi's secondary sector, 12.7 %: its 2020 fall, named in calibration/data/README.md) is
    held to a looser bound, so that it cannot grow unseen."""
    exceptions = {"Value added secondary[Enshi]": 15.0}
    for name, (_, hold) in reproduction.items():
        if name.startswith(("Value added", "CO2 emissions")):
            assert hold <= exceptions.get(name, 10.0), (name, hold)


# ------------------------------------------------------------------ projections
@pytest.fixture(scope="module")
def baseline(model):
    return run(model, [fitted()], ("GDP", "Capital output ratio", "CO2 emissions",
                                   "Policy stringency"), saveper=1.0).isel(member=0)


def _growth(gdp, a: int, b: int):
    return (gdp.sel(time=b) / gdp.sel(time=a)) ** (1 / (b - a)) - 1


def test_growth_slows_toward_the_long_run_projections(baseline):
    gdp = baseline["GDP"]
    near = _growth(gdp, 2021, 2030)
    far = _growth(gdp, 2030, 2060)
    assert ((near >= 0.035) & (near <= 0.065)).all(), near.values
    assert (far <= 0.035).all(), far.values
    assert (_growth(gdp, 2045, 2060) < _growth(gdp, 2030, 2045)).all()
    assert float(baseline["Capital output ratio"].max()) < 5


def test_emissions_do_not_rebound_and_policy_waits_for_the_pledges(baseline):
    co2 = baseline["CO2 emissions"].sel(time=slice(2035, 2060))
    assert (co2.diff("time") < 0).all()
    assert float(baseline["Policy stringency"].sel(time=slice(2010, 2020)).max()) == 0.0


def test_levers_cost_something_and_synergy_emerges(model):
    rows = [{**fitted(), **levers(0.0)}]
    for k in LEVERS[:5]:
        rows.append({**fitted(), **levers(0.0), f"Lever {k}": 1.0})
    rows.append({**fitted(), **levers(0.0), **{f"Lever {k}": 1.0 for k in LEVERS[:5]}})
    ds = run(model, rows, ("GDP", "Lever costs", "Knowledge stock"), saveper=1.0)
    costs = ds["Lever costs"].sel(time=2035)
    assert float(costs.isel(member=0).max()) == 0.0
    # a giving city pays no relocation cost: each lever costs something in the agglomeration
    assert (costs.isel(member=slice(1, None)).sum("City") > 0).all()
    gdp = ds["GDP"].sel(time=2035).sum("City")
    singles = sum(float(gdp.isel(member=i) - gdp.isel(member=0)) for i in range(1, 6))
    synergy = float(gdp.isel(member=6) - gdp.isel(member=0)) - singles
    assert np.isfinite(synergy) and synergy != 0.0  # emerges from the structure


# ------------------------------------------------------------------ fit-window robustness
def test_full_window_spec_differs_only_in_the_fit_window():
    a = tomllib.loads(SPEC.read_text(encoding="utf-8"))
    b = tomllib.loads(FULL_SPEC.read_text(encoding="utf-8"))
    assert (a["fit"]["stop"], b["fit"]["stop"]) == (2018, 2021)
    a["fit"].pop("stop"), b["fit"].pop("stop")
    assert a == b


def test_projections_are_robust_to_the_fit_window(model):
    ds = run(model, [fitted(RECORD), fitted(FULL_RECORD)], ("GDP", "CO2 emissions"),
             saveper=1.0).sel(time=2035)
    for name, limit in (("GDP", 0.10), ("CO2 emissions", 0.15)):
        rel = np.abs(ds[name].isel(member=1) / ds[name].isel(member=0) - 1)
        assert (rel <= limit).all(), (name, rel.values)


# ------------------------------------------------------------------ after the data
VALIDATION = ROOT / "calibration" / "data" / "validation_after_2021.csv"


def test_growth_after_2021_against_published_statistics(model):
    """Out of sample beyond 2021: real GDP growth of the calibrated baseline against the
    published city statistics in calibration/data/validation_after_2021.csv (never fitted;
    only Jingzhou 2022 was in reach: observed 5.1 %, model 6.2 %). Held within 2 points."""
    for spec in (SPEC, FULL_SPEC):
        assert VALIDATION.name not in spec.read_text(encoding="utf-8")
    rows = pd.read_csv(VALIDATION)
    assert rows["source"].str.startswith("http").all()
    growth = rows[rows["indicator"] == "gdp_real_growth_yoy"]
    assert len(growth) >= 1 and (growth["year"] > 2021).all()
    gdp = run(model, [fitted()], ("GDP",), saveper=1.0).isel(member=0)["GDP"]
    for r in growth.itertuples():
        model_growth = float(gdp.sel(City=r.city, time=r.year)
                             / gdp.sel(City=r.city, time=r.year - 1) - 1) * 100
        assert abs(model_growth - r.value) <= 2.0, (r.city, r.year, model_growth, r.value)
