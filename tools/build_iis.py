"""Emit ``iis.mdl`` (Vensim) and ``iis.xmile`` (XMILE 1.0) from one description.

The committed ``iis.mdl`` and ``iis.xmile`` are the files users open and edit;
this script is how they were written and how they are kept identical in
structure. ``tests/test_iis_model.py`` checks that running it reproduces the
committed files byte for byte, so an edit to one model file must be made here
(or in both files by hand, with this script updated to match).

Usage::

    python tools/build_iis.py            # rewrite models/iis.mdl and models/iis.xmile
    python tools/build_iis.py --check    # exit 1 if the committed files differ

Equations are written once in Vensim syntax; :func:`to_xmile_eqn` turns them
into XMILE (names with underscores, ``IF c THEN a ELSE b``, ``TIME``, ``DT``).
Sums over cities of a plain array use the array reduction (``SUM(K[City!])`` in
Vensim, ``SUM(K[*])`` in XMILE, which sdkit's XMILE reader simulates correctly;
PySD 3.14.3's own XMILE reader does not); weighted sums are written out element
by element (see :func:`csum`).
"""

from __future__ import annotations

import argparse
import math
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

HERE = Path(__file__).resolve().parents[1] / "models"
CITIES = ("Yichang", "Jingzhou", "Jingmen", "Enshi")
CSV = "city_stats.csv"
S1 = "S1 (CSMAR CRE_Gdpct.csv)"
S3 = "S3 (census_city_2010-2020_v1.csv)"
S5 = "S5 (金融发展水平 xlsx)"
S6 = "S6 (EDGAR v8.0 downscaled, 地级市碳排放强度.xlsx)"
S7 = "S7 (CEADs 290-city inventory)"


@dataclass(frozen=True)
class Var:
    """One model variable.

    ``eqn`` is a Vensim expression, or for per-element constants a tuple of
    numbers (one per element, row-major over the dimensions). Stocks take
    their initial value from ``eqn`` and list their flows.
    """

    name: str
    eqn: str | tuple[float, ...]
    units: str
    doc: str
    dims: tuple[str, ...] = ()
    kind: str = "aux"  # aux | const | stock | flow
    inflows: tuple[str, ...] = ()
    outflows: tuple[str, ...] = ()
    group: str = ""


def csum(template: str) -> str:
    """Sum over cities.

    A plain array ``"K[{c}]"`` becomes the array reduction ``SUM(K[City!])``
    (XMILE: ``SUM(K[*])``, as a Stella user writes it); other terms are written
    out element by element: ``"(w[City,Yichang] * K[Yichang] + ...)"``.
    """
    plain = re.fullmatch(r"([A-Za-z0-9 ]+)\[\{c\}\]", template)
    if plain:
        return f"SUM({plain.group(1)}[City!])"
    return "(" + " + ".join(template.format(c=c) for c in CITIES) + ")"


def per_city(*values: float) -> tuple[float, ...]:
    assert len(values) == len(CITIES)
    return tuple(values)


# --------------------------------------------------------------------------
# Data (2010, from /work/shared/data/city_stats.csv; 万元 converted to 亿元)
# --------------------------------------------------------------------------
VA1_2010 = per_city(176.50, 231.07, 145.10, 107.65)
VA2_2010 = per_city(890.12, 325.33, 353.13, 100.92)
VA3_2010 = per_city(480.70, 280.70, 231.84, 142.56)
GDP_2010 = tuple(a + b + c for a, b, c in zip(VA1_2010, VA2_2010, VA3_2010))
POP_2010 = per_city(405.9686, 569.1707, 287.3687, 329.0294)
POP_2020 = per_city(401.7607, 523.1180, 259.6927, 345.6136)
POP_GROWTH = tuple(round(math.log(b / a) / 10, 6) for a, b in zip(POP_2010, POP_2020))
LOANS_KNOWN = (1415.8629, 461.0723, 317.2094)
ENSHI_LOANS = round(
    GDP_2010[3] * sum(x / g for x, g in zip(LOANS_KNOWN, GDP_2010[:3])) / 3, 2)
LOANS_2010 = (*LOANS_KNOWN, ENSHI_LOANS)
CO2_2010 = per_city(42.883432, 16.776016, 18.096530, 7.358735)
RD_INTENSITY = per_city(0.0262, 0.0103, 0.015, 0.007)
RD_2010 = tuple(round(r * g, 4) for r, g in zip(RD_INTENSITY, GDP_2010))
KNOW_2010 = tuple(round(r / (0.10 + 0.15), 4) for r in RD_2010)
LOAN_MATURITY = 5.0
LENDING_RATE = tuple(round(x / g * (1 / LOAN_MATURITY + 0.10), 4)
                     for x, g in zip(LOANS_2010, GDP_2010))
DISTANCE = {  # km, MODEL.md parameter table (city-centre straight lines)
    ("Yichang", "Jingzhou"): 100, ("Yichang", "Jingmen"): 93, ("Yichang", "Enshi"): 181,
    ("Jingzhou", "Jingmen"): 79, ("Jingzhou", "Enshi"): 264, ("Jingmen", "Enshi"): 274,
}


def distance(a: str, b: str) -> float:
    if a == b:
        return 0.0
    return float(DISTANCE.get((a, b), DISTANCE.get((b, a))))


DIST_MATRIX = tuple(distance(a, b) for a in CITIES for b in CITIES)
# Set so that the unfitted run reproduces the 2021 patents of the paper
# (see patent_scale() below and the doc of "Patent scale").
PATENT_SCALE = per_city(3251.7, 1536.0, 1141.0, 285.3)
MAX_DUPLICATION, DUPLICATION_EXPONENT, BASE_COORDINATION, COORDINATION_TFP = 0.1, 4.0, 0.2, 0.05


def _tfp_initial() -> tuple[float, ...]:
    """TFP level that makes 2010 secondary value added equal the data.

    Undoes the 2010 coordination gain and duplication loss (levers off).
    """
    share = [v2 / g for v2, g in zip(VA2_2010, GDP_2010)]
    out = []
    for i, a in enumerate(CITIES):
        w = [(100.0 / distance(a, b)) ** 2 if a != b else 0.0 for b in CITIES]
        sim = sum(wj * (1 - abs(share[i] - share[j])) for j, wj in enumerate(w)) / sum(w)
        loss = MAX_DUPLICATION * sim ** DUPLICATION_EXPONENT * (1 - BASE_COORDINATION)
        out.append(round(1 / ((1 + COORDINATION_TFP * BASE_COORDINATION) * (1 - loss)), 6))
    return tuple(out)


TFP_INITIAL = _tfp_initial()


def lever_vars(key: str, title: str, default_start: float, what: str) -> list[Var]:
    base = f"Lever {key}"
    return [
        Var(base, (0.0,), "Dmnl",
            f"Strategy lever '{title}': strength, 0 = off (baseline), 1 = full strategy; "
            f"bounds [0, 1]. {what}", kind="const", group="levers"),
        Var(f"{base} start year", (default_start,), "Year",
            f"Year the '{title}' lever starts to act; bounds [2022, 2050].",
            kind="const", group="levers"),
        Var(f"{base} ramp years", (5.0,), "Year",
            f"Years over which the '{title}' lever ramps linearly from 0 to its strength; "
            "0 gives a step; bounds [0, 20].", kind="const", group="levers"),
        Var(f"{title[0].upper()}{title[1:]} effect",
            f"{base} * MIN(1, MAX(0, (Time - {base} start year) / MAX({base} ramp years, "
            "Minimum ramp)))", "Dmnl",
            f"Ramped strength of the '{title}' lever at the current time (RAMP built "
            "from MIN/MAX/Time, portable to XMILE).", group="levers"),
    ]


def build_vars() -> tuple[Var, ...]:
    c = "[City]"
    v: list[Var] = []
    add = v.append
    # ---------------------------------------------------------------- levers
    add(Var("Minimum ramp", (0.001,), "Year",
            "Smallest ramp length used in the lever ramps (avoids division by zero; "
            "a 0-year ramp becomes a step).", kind="const", group="levers"))
    v += lever_vars("policy collaboration", "policy collaboration", 2025,
                    "Raises agglomeration coordination, spillover strength and service "
                    "efficiency (paper strategy i).")
    v += lever_vars("innovation chain", "innovation chain", 2025,
                    "Innovation chain around the industry chain: extra R&D intensity, "
                    "external absorption and conversion efficiency (paper strategy ii).")
    v += lever_vars("division of labour", "division of labour", 2025,
                    "Division of labour and cooperation: lowers duplication losses, "
                    "strengthens multicentre spillovers (paper strategy iii).")
    v += lever_vars("green transition", "green transition", 2025,
                    "Faster decline of carbon intensity (industry first), at an "
                    "investment cost (low-carbon perspective of the paper).")
    v += lever_vars("technology finance", "technology finance", 2025,
                    "Share of new lending directed to innovation (S&T finance, paper "
                    "service-chain strategy).")

    # ---------------------------------------------------------------- data
    src = f"{CSV}, year 2010, source {S1}"
    add(Var("Base year", (2010.0,), "Year",
            "First model year; money is in constant 2010 prices (2010 nominal = real).",
            kind="const", group="data"))
    add(Var("Value added primary 2010", VA1_2010, "Cyuan/Year",
            f"Primary-sector value added 2010 ({src}, indicator gdp_primary_industry, "
            "万元/10^4).", dims=("City",), kind="const", group="data"))
    add(Var("Value added secondary 2010", VA2_2010, "Cyuan/Year",
            f"Secondary-sector value added 2010 ({src}, indicator gdp_secondary_industry, "
            "万元/10^4).", dims=("City",), kind="const", group="data"))
    add(Var("Value added tertiary 2010", VA3_2010, "Cyuan/Year",
            f"Tertiary-sector value added 2010 ({src}, indicator gdp_tertiary_industry, "
            "万元/10^4).", dims=("City",), kind="const", group="data"))
    add(Var("GDP 2010", f"Value added primary 2010{c} + Value added secondary 2010{c} + "
            f"Value added tertiary 2010{c}", "Cyuan/Year",
            f"GDP 2010 = sum of sectors (equals {CSV} indicator gdp 2010, {S1}).",
            dims=("City",), group="data"))
    add(Var("Population 2010", POP_2010, "wperson",
            f"Resident population 2010 ({CSV}, indicator resident_population_census, 2010, "
            f"{S3}; persons/10^4).", dims=("City",), kind="const", group="data"))
    add(Var("Population growth rate", POP_GROWTH, "1/Year",
            f"Exponential resident-population growth 2010-2020 = ln(P2020/P2010)/10 from "
            f"{CSV} resident_population_census 2010 and 2020 ({S3}).",
            dims=("City",), kind="const", group="data"))
    add(Var("Population hold year", (2020.0,), "Year",
            "Population is held constant after this year (last census; assumption).",
            kind="const", group="data"))
    add(Var("Population", f"Population 2010{c} * EXP(Population growth rate{c} * "
            "(MIN(Time, Population hold year) - Base year))", "wperson",
            "Resident population, exogenous (census trend to 2020, held after); the labour "
            "input of the secondary sector.", dims=("City",), group="data"))
    add(Var("Loans 2010", LOANS_2010, "Cyuan",
            f"Loans outstanding end 2010 ({CSV}, indicator "
            f"loans_outstanding_financial_institutions_yearend, 2010, {S5}; 万元/10^4). "
            "Enshi has no loan data: assumption = Enshi GDP 2010 x mean loans/GDP of the "
            "other three cities.", dims=("City",), kind="const", group="data"))
    add(Var("CO2 emissions 2010", CO2_2010, "Mt/Year",
            f"CO2 emissions 2010: Yichang, Jingzhou, Jingmen from {CSV} indicator "
            f"co2_emissions_EDGARv8_city 2010 ({S6}, t/10^6); Enshi (no EDGAR series) from "
            f"indicator co2_emissions_CEADs_city 2010 ({S7}).",
            dims=("City",), kind="const", group="data"))
    add(Var("Pandemic year", (2020.0,), "Year",
            "Year of the COVID-19 output shock (data: real growth -4 to -6% in 2020, "
            f"{CSV} gdp_real_growth_yoy 2020, {S1}).", kind="const", group="data"))
    add(Var("Pandemic duration", (1.0,), "Year", "Length of the pandemic output shock.",
            kind="const", group="data"))
    add(Var("Pandemic output loss", (0.10,), "Dmnl",
            "Fraction of output lost during the pandemic year, relative to trend (free "
            "parameter; bounds [0, 0.2]; about 0.10 = 7% trend growth vs -5% observed).",
            kind="const", group="data"))
    add(Var("Pandemic factor", "1 - Pandemic output loss * IF THEN ELSE(Time >= Pandemic "
            "year, 1, 0) * IF THEN ELSE(Time < Pandemic year + Pandemic duration, 1, 0)",
            "Dmnl", "Output multiplier: 1 except during the pandemic year.", group="data"))

    # ---------------------------------------------------------------- industry chain
    g = "industry"
    add(Var("Capital output ratio 2010", per_city(2.0, 2.0, 2.0, 2.0), "Year",
            "Productive capital / secondary value added in 2010 (assumption; free "
            "parameter, bounds [1, 4]).", dims=("City",), kind="const", group=g))
    add(Var("Productive capital 2010", f"Capital output ratio 2010{c} * Value added "
            f"secondary 2010{c}", "Cyuan", "Initial productive (industrial) capital.",
            dims=("City",), group=g))
    add(Var("Productive capital", f"Productive capital 2010{c}", "Cyuan",
            "Productive (industrial) capital stock, constant 2010 prices (loop R1, B1).",
            dims=("City",), kind="stock", inflows=("Investment",),
            outflows=("Capital depreciation",), group=g))
    add(Var("Capital depreciation rate", (0.096,), "1/Year",
            "Capital depreciation 9.6%/yr (Zhang Jun 2004, Economic Research Journal; "
            "MODEL.md table).", kind="const", group=g))
    add(Var("Capital depreciation", f"Productive capital{c} * Capital depreciation rate",
            "Cyuan/Year", "Depreciation of productive capital (loop B1).", dims=("City",),
            kind="flow", group=g))
    add(Var("Investment rate", per_city(0.25, 0.25, 0.25, 0.25), "Dmnl",
            "Share of GDP invested in productive capital (assumption; free parameter, "
            "bounds [0, 0.6]).", dims=("City",), kind="const", group=g))
    add(Var("Maximum investment share", (0.8,), "Dmnl",
            "Upper limit on investment / GDP (assumption).", kind="const", group=g))
    add(Var("Service investment elasticity", (0.05,), "Dmnl",
            "Elasticity of the investment rate to the service capacity index "
            "(assumption; loop R3).", kind="const", group=g))
    add(Var("Finance investment elasticity", (0.05,), "Dmnl",
            "Elasticity of the investment rate to financial depth relative to 2010 "
            "(assumption).", kind="const", group=g))
    add(Var("Service investment multiplier", f"Service capacity index{c} ^ Service "
            "investment elasticity", "Dmnl",
            "Service support raises the investment rate (loop R3).", dims=("City",), group=g))
    add(Var("Finance investment multiplier", f"(Financial depth{c} / Financial depth "
            f"2010{c}) ^ Finance investment elasticity", "Dmnl",
            "Deeper credit raises the investment rate.", dims=("City",), group=g))
    add(Var("Carbon policy investment cost", f"MIN(0.9, Stringency investment cost * "
            f"Policy stringency{c} + Green transition cost * Green transition effect)",
            "Dmnl", "Fraction of investment diverted by carbon policy (loop B4; "
            "green-transition lever cost).", dims=("City",), group=g))
    add(Var("Investment", f"GDP{c} * MIN(Maximum investment share, Investment rate{c} * "
            f"Service investment multiplier{c} * Finance investment multiplier{c}) * "
            f"(1 - Carbon policy investment cost{c})", "Cyuan/Year",
            "Investment in productive capital (loop R1).", dims=("City",), kind="flow",
            group=g))
    add(Var("Capital elasticity", (0.5,), "Dmnl",
            "Output elasticity of capital in the secondary sector (assumption, common "
            "estimate for China 0.4-0.6); labour gets 1 minus this.", kind="const", group=g))
    add(Var("TFP initial", TFP_INITIAL, "Dmnl",
            "TFP level in 2010; default undoes the 2010 coordination gain and "
            "duplication loss so that 2010 secondary value added equals the data "
            "(free parameter, bounds [0.8, 1.2]).", dims=("City",), kind="const", group=g))
    add(Var("TFP growth initial", per_city(0.045, 0.045, 0.045, 0.045), "1/Year",
            "Autonomous TFP growth rate in 2010 (assumption; free parameter, bounds "
            "[0, 0.08]).", dims=("City",), kind="const", group=g))
    add(Var("TFP growth decay time", (15.0,), "Year",
            "Time constant over which autonomous TFP growth fades (convergence; "
            "assumption; free parameter, bounds [5, 40]).", kind="const", group=g))
    add(Var("Autonomous TFP", "EXP(TFP growth initial[City] * TFP growth decay time * "
            "(1 - EXP(-(Time - Base year) / TFP growth decay time)))", "Dmnl",
            "Autonomous TFP index (growth rate TFP growth initial x exp(-t/decay time)).",
            dims=("City",), group=g))
    add(Var("Knowledge TFP elasticity", (0.12,), "Dmnl",
            "Elasticity of TFP to the knowledge stock in use (assumption from the R&D "
            "capital literature, about 0.08-0.15, Hall, Mairesse & Mohnen 2010).",
            kind="const", group=g))
    add(Var("Knowledge TFP effect", f"(Knowledge in use{c} / Knowledge stock 2010{c}) ^ "
            "Knowledge TFP elasticity", "Dmnl",
            "TFP multiplier from delayed knowledge (loop R2).", dims=("City",), group=g))
    add(Var("Coordination TFP gain", (COORDINATION_TFP,), "Dmnl",
            "TFP gain at full agglomeration coordination (assumption).",
            kind="const", group=g))
    add(Var("TFP", f"TFP initial{c} * Autonomous TFP{c} * Knowledge TFP effect{c} * "
            f"(1 + Coordination TFP gain * Agglomeration coordination{c}) * "
            f"(1 - Duplication loss{c})", "Dmnl",
            "Total factor productivity of the secondary sector (index; loops R2, B5).",
            dims=("City",), group=g))
    add(Var("Industrial output index", f"TFP{c} * (Productive capital{c} / Productive "
            f"capital 2010{c}) ^ Capital elasticity * (Population{c} / Population 2010{c}) "
            "^ (1 - Capital elasticity)", "Dmnl",
            "Cobb-Douglas secondary output relative to 2010 (TFP x capital x labour).",
            dims=("City",), group=g))
    add(Var("Value added secondary", f"Value added secondary 2010{c} * Industrial output "
            f"index{c} * Pandemic factor", "Cyuan/Year",
            "Secondary-sector value added, constant 2010 prices.", dims=("City",), group=g))
    add(Var("Primary growth rate", per_city(0.03, 0.03, 0.03, 0.03), "1/Year",
            "Real growth of primary value added (assumption; free parameter, bounds "
            "[0, 0.08]).", dims=("City",), kind="const", group=g))
    add(Var("Value added primary", f"Value added primary 2010{c} * EXP(Primary growth "
            f"rate{c} * (Time - Base year)) * Pandemic factor", "Cyuan/Year",
            "Primary-sector value added (exogenous trend).", dims=("City",), group=g))
    add(Var("Tertiary elasticity", (0.8,), "Dmnl",
            "Elasticity of tertiary output to the industrial output index (assumption).",
            kind="const", group=g))
    add(Var("Tertiary growth", per_city(0.01, 0.01, 0.01, 0.01), "1/Year",
            "Tertiary growth beyond what industry drives (structural shift to services; "
            "free parameter, bounds [-0.02, 0.06]).", dims=("City",), kind="const", group=g))
    add(Var("Value added tertiary", f"Value added tertiary 2010{c} * Industrial output "
            f"index{c} ^ Tertiary elasticity * EXP(Tertiary growth{c} * (Time - Base year)) "
            "* Pandemic factor", "Cyuan/Year",
            "Tertiary-sector value added, driven by industry and a structural trend.",
            dims=("City",), group=g))
    add(Var("GDP", f"Value added primary{c} + Value added secondary{c} + Value added "
            f"tertiary{c}", "Cyuan/Year",
            "Gross domestic product, 100 million CNY (亿元) at constant 2010 prices.",
            dims=("City",), group=g))
    add(Var("GDP per capita", f"GDP{c} / Population{c}", "Cyuan/(Year*wperson)",
            "GDP per resident (亿元 per 万人 = 10^4 CNY per person).", dims=("City",), group=g))
    add(Var("Share primary", f"Value added primary{c} / GDP{c}", "Dmnl",
            "Primary share of GDP.", dims=("City",), group=g))
    add(Var("Share secondary", f"Value added secondary{c} / GDP{c}", "Dmnl",
            "Secondary share of GDP.", dims=("City",), group=g))
    add(Var("Share tertiary", f"Value added tertiary{c} / GDP{c}", "Dmnl",
            "Tertiary share of GDP.", dims=("City",), group=g))

    # ---------------------------------------------------------------- coordination
    g = "coordination"
    add(Var("Distance", DIST_MATRIX, "km",
            "Straight-line distance between city centres (MODEL.md table; 0 on the "
            "diagonal).", dims=("City", "Partner"), kind="const", group=g))
    add(Var("Reference distance", (100.0,), "km",
            "Distance at which the spillover weight is 1.", kind="const", group=g))
    add(Var("Distance decay exponent", (2.0,), "Dmnl",
            "Exponent of the inverse-power distance decay (gravity-model literature, "
            "MODEL.md table).", kind="const", group=g))
    add(Var("Spillover weight", "IF THEN ELSE(Distance[City,Partner] > 0, (Reference "
            "distance / MAX(Distance[City,Partner], 1)) ^ Distance decay exponent, 0)",
            "Dmnl", "Inverse-power distance weight of partner city on city (0 for "
            "itself).", dims=("City", "Partner"), group=g))
    pairs = " + ".join(f"Spillover weight[City,{p}] * (1 - ABS(Share secondary[City] - "
                       f"Share secondary[{p}]))" for p in CITIES)
    add(Var("Structural similarity", f"({pairs}) / " + csum("Spillover weight[City,{c}]"),
            "Dmnl", "Distance-weighted similarity of the city's industry structure to its "
            "partners: 1 - abs(difference of secondary shares) (the paper's 36-industry "
            "specialisation index cannot be built from the data).", dims=("City",), group=g))
    pairs0 = " + ".join(
        f"Spillover weight[City,{p}] * (1 - ABS(Value added secondary 2010[City] / GDP "
        f"2010[City] - Value added secondary 2010[{p}] / GDP 2010[{p}]))" for p in CITIES)
    add(Var("Structural similarity 2010", f"({pairs0}) / " + csum("Spillover weight[City,{c}]"),
            "Dmnl", "Structural similarity from the 2010 secondary shares (initial perceived "
            "similarity).", dims=("City",), group=g))
    add(Var("Similarity perception time", (2.0,), "Year",
            "Time for competition between cities to respond to their sector structures "
            "(assumption; also breaks the simultaneous loop B5).", kind="const", group=g))
    add(Var("Similarity perception", f"(Structural similarity{c} - Perceived structural "
            f"similarity{c}) / Similarity perception time", "1/Year",
            "Adjustment of perceived structural similarity.", dims=("City",), kind="flow",
            group=g))
    add(Var("Perceived structural similarity", f"Structural similarity 2010{c}", "Dmnl",
            "Structural similarity as it shapes competition (first-order smooth; loop B5).",
            dims=("City",), kind="stock", inflows=("Similarity perception",), group=g))
    add(Var("Maximum duplication loss", (MAX_DUPLICATION,), "Dmnl",
            "TFP loss at identical structures and no coordination (assumption; free "
            "parameter, bounds [0, 0.2]).", kind="const", group=g))
    add(Var("Duplication similarity exponent", (DUPLICATION_EXPONENT,), "Dmnl",
            "Curvature of the duplication loss in structural similarity (assumption).",
            kind="const", group=g))
    add(Var("Division duplication reduction", (0.6,), "Dmnl",
            "Fraction of duplication loss removed by the full division-of-labour lever.",
            kind="const", group=g))
    add(Var("Duplication loss", f"Maximum duplication loss * Perceived structural similarity{c} ^ "
            f"Duplication similarity exponent * (1 - Agglomeration coordination{c}) * "
            "(1 - Division duplication reduction * Division of labour effect)", "Dmnl",
            "TFP lost to duplicated industries and competition between cities (loop B5).",
            dims=("City",), group=g))
    add(Var("Base coordination", (BASE_COORDINATION,), "Dmnl",
            "Agglomeration coordination in 2010 (assumption: the paper finds collaboration "
            "at a primary stage).", kind="const", group=g))
    add(Var("Coordination service elasticity", (0.2,), "Dmnl",
            "Elasticity of coordination to the service capacity index (assumption).",
            kind="const", group=g))
    add(Var("Coordination gain policy", (0.4,), "Dmnl",
            "Coordination added by the full policy-collaboration lever.", kind="const",
            group=g))
    add(Var("Coordination gain division", (0.2,), "Dmnl",
            "Coordination added by the full division-of-labour lever.", kind="const",
            group=g))
    add(Var("Agglomeration coordination", f"MIN(1, Base coordination * Service capacity "
            f"index{c} ^ Coordination service elasticity + Coordination gain policy * "
            "Policy collaboration effect + Coordination gain division * Division of labour "
            "effect)", "Dmnl",
            "Inter-city coordination (0-1): raised by service capacity and the policy and "
            "division levers; strengthens spillovers and TFP, lowers duplication.",
            dims=("City",), group=g))

    # ---------------------------------------------------------------- innovation chain
    g = "innovation"
    add(Var("Research intensity", RD_INTENSITY, "Dmnl",
            f"R&D expenditure / GDP. Yichang 2.62% ({CSV} "
            "rd_expenditure_to_gdp_AS_REPORTED_NOV2021, S9-S22 news 2021); Jingzhou 1.03% "
            f"({CSV} rd_expenditure_to_gdp 2020); Jingmen 1.5% and Enshi 0.7% are "
            "assumptions (no data). Free parameter, bounds [0, 0.05].",
            dims=("City",), kind="const", group=g))
    add(Var("Innovation intensity gain", (0.3,), "Dmnl",
            "Relative increase of R&D intensity at the full innovation-chain lever "
            "(assumption: +30%, e.g. Yichang 2.6% to 3.4%).", kind="const", group=g))
    add(Var("Research spending", f"GDP{c} * Research intensity{c} * (1 + Innovation "
            "intensity gain * Innovation chain effect)", "Cyuan/Year",
            "R&D spending (loop R2).", dims=("City",), group=g))
    add(Var("Research spending 2010", RD_2010, "Cyuan/Year",
            "Reference R&D spending: default Research intensity x GDP 2010 (fixed, so "
            "setting R&D to 0 gives no 0/0).", dims=("City",), kind="const", group=g))
    add(Var("Knowledge stock 2010", KNOW_2010, "Cyuan",
            "Initial knowledge (R&D capital) stock by perpetual inventory: R&D 2010 / "
            "(g + delta) with g = 10%/yr, delta = 15%/yr (Hall 2007, NBER w13473).",
            dims=("City",), kind="const", group=g))
    add(Var("Conversion efficiency 2010", (1.0,), "Dmnl",
            "Knowledge created per yuan of R&D in 2010 (knowledge measured as R&D "
            "capital).", kind="const", group=g))
    add(Var("Service conversion elasticity", (0.2,), "Dmnl",
            "Elasticity of conversion efficiency to the service capacity index "
            "(assumption; loop R3).", kind="const", group=g))
    add(Var("Innovation conversion gain", (0.3,), "Dmnl",
            "Conversion efficiency gain at the full innovation-chain lever (better "
            "transformation institutions).", kind="const", group=g))
    add(Var("Policy service gain", (0.1,), "Dmnl",
            "Service efficiency gain at the full policy-collaboration lever.",
            kind="const", group=g))
    add(Var("Knowledge fishing out", (0.1,), "Dmnl",
            "Diminishing returns of knowledge production in the knowledge stock "
            "(Jones 1995 'fishing out'; assumption; loop B3).", kind="const", group=g))
    add(Var("Conversion efficiency", f"Conversion efficiency 2010 * Service capacity "
            f"index{c} ^ Service conversion elasticity * (1 + Innovation conversion gain * "
            "Innovation chain effect + Policy service gain * Policy collaboration effect) * "
            f"(Knowledge stock 2010{c} / Knowledge stock{c}) ^ Knowledge fishing out", "Dmnl",
            "Knowledge created per yuan of R&D: rises with service capacity and levers, "
            "falls as knowledge accumulates (loops R3, B3).", dims=("City",), group=g))
    add(Var("Knowledge creation", f"(Research spending{c} + Innovation lending{c}) * "
            f"Conversion efficiency{c}", "Cyuan/Year",
            "Knowledge created from R&D and innovation lending (loop R2).", dims=("City",),
            kind="flow", group=g))
    add(Var("Spillover rate", (0.01,), "1/Year",
            "Fraction of a partner's knowledge absorbed per year at weight 1 (assumption; "
            "free parameter, bounds [0, 0.05]).", kind="const", group=g))
    add(Var("Spillover coordination gain", (0.5,), "Dmnl",
            "Relative spillover increase at full coordination (assumption).",
            kind="const", group=g))
    add(Var("Division spillover gain", (0.3,), "Dmnl",
            "Relative spillover increase at the full division-of-labour lever (multicentre "
            "spillovers).", kind="const", group=g))
    add(Var("Knowledge spillover", "Spillover rate * (1 + Spillover coordination gain * "
            "Agglomeration coordination[City] + Division spillover gain * Division of labour "
            "effect) * " + csum("Spillover weight[City,{c}] * Knowledge stock[{c}]"),
            "Cyuan/Year", "Distance-weighted knowledge spillover from partner cities "
            "(loop R4).", dims=("City",), kind="flow", group=g))
    add(Var("External absorption rate", per_city(0.02, 0.02, 0.02, 0.02), "1/Year",
            "Absorption of outside knowledge (Wuhan, national) per unit of own knowledge "
            "(absorptive capacity; assumption; free parameter, bounds [0, 0.06]).",
            dims=("City",), kind="const", group=g))
    add(Var("Innovation absorption gain", (0.5,), "Dmnl",
            "Relative absorption increase at the full innovation-chain lever (talent, "
            "external absorption).", kind="const", group=g))
    add(Var("External knowledge absorption", f"External absorption rate{c} * Knowledge "
            f"stock{c} * (1 + Innovation absorption gain * Innovation chain effect)",
            "Cyuan/Year", "Knowledge absorbed from outside the agglomeration.",
            dims=("City",), kind="flow", group=g))
    add(Var("Knowledge depreciation rate", (0.15,), "1/Year",
            "Knowledge depreciation 15%/yr (Griliches convention; Hall 2007; MODEL.md "
            "table; range 0-0.4).", kind="const", group=g))
    add(Var("Knowledge depreciation", f"Knowledge stock{c} * Knowledge depreciation rate",
            "Cyuan/Year", "Obsolescence of knowledge (loop B2).", dims=("City",),
            kind="flow", group=g))
    add(Var("Knowledge stock", f"Knowledge stock 2010{c}", "Cyuan",
            "Knowledge (innovation capacity) stock measured as R&D capital, constant 2010 "
            "prices (loops R2, R4, B2, B3).", dims=("City",), kind="stock",
            inflows=("Knowledge creation", "Knowledge spillover",
                     "External knowledge absorption"),
            outflows=("Knowledge depreciation",), group=g))
    add(Var("Innovation to TFP delay", (3.0,), "Year",
            "Delay from knowledge to industrial productivity, about 3 years (Nanjing "
            "collaborative-innovation SD study, Complex Syst. Model. Simul. 1(1)).",
            kind="const", group=g))
    stages = ("Knowledge adoption stage 1", "Knowledge adoption stage 2", "Knowledge in use")
    sources = ("Knowledge stock", *stages[:2])
    for i, (stage, source) in enumerate(zip(stages, sources), start=1):
        flow = f"Knowledge adoption {i}"
        add(Var(flow, f"({source}{c} - {stage}{c}) / (Innovation to TFP delay / 3)",
                "Cyuan/Year", f"Adjustment of third-order information delay stage {i} "
                "(SMOOTH3 written with plain stocks).", dims=("City",), kind="flow", group=g))
        add(Var(stage, f"Knowledge stock 2010{c}", "Cyuan",
                "Knowledge in use by industry: third-order smooth of the knowledge stock "
                "over the innovation-to-TFP delay." if i == 3 else
                f"Stage {i} of the third-order knowledge adoption delay.",
                dims=("City",), kind="stock", inflows=(flow,), group=g))
    add(Var("Patent scale", PATENT_SCALE, "patent/Year",
            "Patents per year at 2010 R&D and knowledge; default set so that the unfitted "
            f"run gives the 2021 patents of the paper ({CSV} patents_obtained 2021, Zhao, "
            "Wu & Qin 2023). Free parameter, bounds [0.3x, 3x] default.",
            dims=("City",), kind="const", group=g))
    add(Var("Patent research elasticity", (0.6,), "Dmnl",
            "Patent-R&D elasticity: about 1 in OECD, lower in developing economies (Bosch, "
            "Lederman & Maloney, World Bank).", kind="const", group=g))
    add(Var("Patent knowledge elasticity", (0.2,), "Dmnl",
            "Patent elasticity to the knowledge stock; with the R&D elasticity sums below 1 "
            "(diminishing returns, loop B3; assumption).", kind="const", group=g))
    add(Var("Patents", f"Patent scale{c} * ((Research spending{c} + Innovation lending{c}) "
            f"/ Research spending 2010{c}) ^ Patent research elasticity * (Knowledge "
            f"stock{c} / Knowledge stock 2010{c}) ^ Patent knowledge elasticity",
            "patent/Year", "Patents obtained per year (patent production function).",
            dims=("City",), group=g))

    # ---------------------------------------------------------------- service chain
    g = "service"
    add(Var("Service investment share", per_city(0.04, 0.04, 0.04, 0.04), "Dmnl",
            "Share of GDP spent building service capacity (public services, finance, "
            "intermediaries; assumption; free parameter, bounds [0.01, 0.1]).",
            dims=("City",), kind="const", group=g))
    add(Var("Service depreciation rate", (0.1,), "1/Year",
            "Depreciation of service capacity (assumption).", kind="const", group=g))
    add(Var("Service initial growth", (0.1,), "1/Year",
            "Growth rate assumed before 2010 for the perpetual-inventory initial service "
            "capacity.", kind="const", group=g))
    add(Var("Policy service investment gain", (0.3,), "Dmnl",
            "Relative increase of service investment at the full policy-collaboration "
            "lever (shared public services).", kind="const", group=g))
    add(Var("Service capacity 2010", f"Service investment share{c} * GDP 2010{c} / "
            "(Service depreciation rate + Service initial growth)", "Cyuan",
            "Initial service capacity (perpetual inventory).", dims=("City",), group=g))
    add(Var("Service investment", f"GDP{c} * Service investment share{c} * (1 + Policy "
            "service investment gain * Policy collaboration effect)", "Cyuan/Year",
            "Building of service capacity from the city's output (fiscal and financial "
            "base) and policy (loop R3).", dims=("City",), kind="flow", group=g))
    add(Var("Service depreciation", f"Service capacity{c} * Service depreciation rate",
            "Cyuan/Year", "Depreciation of service capacity.", dims=("City",),
            kind="flow", group=g))
    add(Var("Service capacity", f"Service capacity 2010{c}", "Cyuan",
            "Service support capacity (government coordination, public services, "
            "finance, intermediaries), constant 2010 prices (loop R3).", dims=("City",),
            kind="stock", inflows=("Service investment",),
            outflows=("Service depreciation",), group=g))
    add(Var("Service capacity index", f"(Service capacity{c} / Population{c}) / (Service "
            f"capacity 2010{c} / Population 2010{c})", "Dmnl",
            "Service capacity per resident relative to 2010.", dims=("City",), group=g))
    add(Var("Lending rate", LENDING_RATE, "Dmnl",
            "New lending / GDP; default = loans/GDP 2010 x (1/maturity + 10%/yr) "
            "(steady growth; free parameter, bounds [0.05, 0.8]).",
            dims=("City",), kind="const", group=g))
    add(Var("Loan maturity", (LOAN_MATURITY,), "Year",
            "Average loan maturity (assumption; bounds [2, 10]).", kind="const", group=g))
    add(Var("New lending", f"GDP{c} * Lending rate{c}", "Cyuan/Year",
            "New loans issued by financial institutions.", dims=("City",), kind="flow",
            group=g))
    add(Var("Loan repayment", f"Loans{c} / Loan maturity", "Cyuan/Year",
            "Loans repaid.", dims=("City",), kind="flow", group=g))
    add(Var("Loans", f"Loans 2010{c}", "Cyuan",
            "Loans outstanding of financial institutions (constant 2010 prices; data are "
            "nominal).", dims=("City",), kind="stock", inflows=("New lending",),
            outflows=("Loan repayment",), group=g))
    add(Var("Financial depth", f"Loans{c} / GDP{c}", "Year", "Loans / GDP.",
            dims=("City",), group=g))
    add(Var("Financial depth 2010", f"Loans 2010{c} / GDP 2010{c}", "Year",
            "Loans / GDP in 2010.", dims=("City",), group=g))
    add(Var("Maximum technology finance share", (0.02,), "Dmnl",
            "Share of new lending directed to innovation at the full technology-finance "
            "lever (assumption).", kind="const", group=g))
    add(Var("Innovation lending", f"New lending{c} * Maximum technology finance share * "
            "Technology finance effect", "Cyuan/Year",
            "New lending directed to innovation (adds to R&D).", dims=("City",), group=g))

    # ---------------------------------------------------------------- carbon
    g = "carbon"
    add(Var("Industry emission share 2010", per_city(0.75, 0.75, 0.75, 0.75), "Dmnl",
            "Share of 2010 CO2 emitted by the secondary sector (assumption; free parameter, "
            "bounds [0.5, 0.9]).", dims=("City",), kind="const", group=g))
    add(Var("Industry carbon intensity 2010", f"CO2 emissions 2010{c} * Industry emission "
            f"share 2010{c} / Value added secondary 2010{c}", "Mt/Cyuan",
            "Initial industrial carbon intensity.", dims=("City",), group=g))
    add(Var("Other carbon intensity 2010", f"CO2 emissions 2010{c} * (1 - Industry emission "
            f"share 2010{c}) / (Value added primary 2010{c} + Value added tertiary 2010{c})",
            "Mt/Cyuan", "Initial carbon intensity of the rest of the economy.",
            dims=("City",), group=g))
    add(Var("Carbon intensity floor fraction", (0.02,), "Dmnl",
            "Floor of each carbon intensity as a fraction of its 2010 value (assumption).",
            kind="const", group=g))
    add(Var("Autonomous industry decline rate", per_city(0.04, 0.04, 0.04, 0.04), "1/Year",
            "Autonomous decline of industrial carbon intensity (Hubei total intensity fell "
            "about 5.5%/yr 2012-2021, HDRC 2022; free parameter, bounds [0, 0.1]).",
            dims=("City",), kind="const", group=g))
    add(Var("Autonomous other decline rate", per_city(0.04, 0.04, 0.04, 0.04), "1/Year",
            "Autonomous decline of the rest-of-economy carbon intensity (free parameter, "
            "bounds [0, 0.1]).", dims=("City",), kind="const", group=g))
    add(Var("Green innovation coefficient", (0.03,), "1/Year",
            "Extra intensity decline as knowledge in use grows far above 2010: rate = "
            "coefficient x (1 - K2010/K) (assumption).",
            kind="const", group=g))
    add(Var("Green innovation decline rate", f"Green innovation coefficient * MAX(0, 1 - "
            f"Knowledge stock 2010{c} / Knowledge in use{c})", "1/Year",
            "Carbon-intensity decline from green innovation (knowledge growth).",
            dims=("City",), group=g))
    add(Var("Green transition max rate", (0.04,), "1/Year",
            "Extra industrial intensity decline at the full green-transition lever.",
            kind="const", group=g))
    add(Var("Green transition other fraction", (0.5,), "Dmnl",
            "Part of the green-transition extra decline that applies outside industry.",
            kind="const", group=g))
    add(Var("Green transition cost", (0.03,), "Dmnl",
            "Fraction of investment diverted at the full green-transition lever.",
            kind="const", group=g))
    add(Var("Stringency max decline rate", (0.05,), "1/Year",
            "Extra intensity decline at full policy stringency (loop B4).",
            kind="const", group=g))
    add(Var("Stringency investment cost", (0.05,), "Dmnl",
            "Fraction of investment diverted at full policy stringency (loop B4).",
            kind="const", group=g))
    add(Var("Industry decline rate", f"Autonomous industry decline rate{c} + Green "
            f"innovation decline rate{c} + Green transition max rate * Green transition "
            f"effect + Stringency max decline rate * Policy stringency{c}", "1/Year",
            "Fractional decline of industrial carbon intensity above its floor.",
            dims=("City",), group=g))
    add(Var("Other decline rate", f"Autonomous other decline rate{c} + Green innovation "
            "decline rate[City] + Green transition max rate * Green transition other "
            "fraction * Green transition effect + Stringency max decline rate * Policy "
            f"stringency{c}", "1/Year",
            "Fractional decline of the rest-of-economy carbon intensity above its floor.",
            dims=("City",), group=g))
    add(Var("Industry intensity decline", f"(Industry carbon intensity{c} - Carbon "
            f"intensity floor fraction * Industry carbon intensity 2010{c}) * Industry "
            f"decline rate{c}", "Mt/(Cyuan*Year)",
            "Decline of industrial carbon intensity (never below the floor).",
            dims=("City",), kind="flow", group=g))
    add(Var("Industry carbon intensity", f"Industry carbon intensity 2010{c}", "Mt/Cyuan",
            "CO2 per unit of secondary value added (1 Mt/Cyuan = 100 t per 10^4 CNY).",
            dims=("City",), kind="stock", outflows=("Industry intensity decline",), group=g))
    add(Var("Other intensity decline", f"(Other carbon intensity{c} - Carbon intensity "
            f"floor fraction * Other carbon intensity 2010{c}) * Other decline rate{c}",
            "Mt/(Cyuan*Year)", "Decline of the rest-of-economy carbon intensity.",
            dims=("City",), kind="flow", group=g))
    add(Var("Other carbon intensity", f"Other carbon intensity 2010{c}", "Mt/Cyuan",
            "CO2 per unit of primary + tertiary value added.", dims=("City",),
            kind="stock", outflows=("Other intensity decline",), group=g))
    add(Var("Industry CO2 emissions", f"Industry carbon intensity{c} * Value added "
            f"secondary{c}", "Mt/Year", "CO2 from the secondary sector.", dims=("City",),
            group=g))
    add(Var("Other CO2 emissions", f"Other carbon intensity{c} * (Value added primary{c} + "
            f"Value added tertiary{c})", "Mt/Year", "CO2 from the rest of the economy.",
            dims=("City",), group=g))
    add(Var("CO2 emissions", f"Industry CO2 emissions{c} + Other CO2 emissions{c}",
            "Mt/Year", "Total CO2 emissions of the city (EDGAR-consistent level).",
            dims=("City",), kind="flow", group=g))
    add(Var("Carbon intensity", f"CO2 emissions{c} / GDP{c}", "Mt/Cyuan",
            "CO2 per unit of GDP (Mt per 亿元; x100 = t per 10^4 CNY).", dims=("City",),
            group=g))
    add(Var("Cumulative CO2 emissions", "0", "Mt", "CO2 emitted since 2010.",
            dims=("City",), kind="stock", inflows=("CO2 emissions",), group=g))
    add(Var("Agglomeration CO2 emissions", csum("CO2 emissions[{c}]"), "Mt/Year",
            "CO2 emissions of the four cities together.", kind="flow", group=g))
    add(Var("Agglomeration cumulative CO2 emissions", "0", "Mt",
            "CO2 emitted by the four cities since 2010. (Also the model's one scalar stock, "
            "which keeps PySD's state vector ragged so stocks stay float arrays: about 8x "
            "faster runs.)", kind="stock", inflows=("Agglomeration CO2 emissions",), group=g))
    add(Var("Target peak year", (2028.0,), "Year",
            "Peak year of the target path (China: peak before 2030, NDC 2021).",
            kind="const", group=g))
    add(Var("Target neutrality year", (2060.0,), "Year",
            "Year the target path reaches its residual (carbon neutrality 2060, NDC 2021).",
            kind="const", group=g))
    add(Var("Target growth before peak", (0.02,), "1/Year",
            "Linear growth of the target path before its peak, relative to 2010 "
            "(assumption).", kind="const", group=g))
    add(Var("Target residual fraction", (0.1,), "Dmnl",
            "Gross emissions at neutrality as a fraction of the target peak (rest offset by "
            "sinks; assumption).", kind="const", group=g))
    add(Var("Target peak index", "1 + Target growth before peak * (Target peak year - "
            "Base year)", "Dmnl", "Target path at its peak relative to 2010.", group=g))
    add(Var("Target index", "IF THEN ELSE(Time <= Target peak year, 1 + Target growth "
            "before peak * (Time - Base year), Target peak index * (1 - (1 - Target "
            "residual fraction) * MIN(1, (Time - Target peak year) / (Target neutrality "
            "year - Target peak year))))", "Dmnl",
            "Emission target path relative to 2010 emissions: rise to the peak year, then "
            "linear decline to the residual at neutrality.", group=g))
    add(Var("Emission target", f"CO2 emissions 2010{c} * Target index", "Mt/Year",
            "City emission target path.", dims=("City",), group=g))
    add(Var("Stringency sensitivity", (2.0,), "Dmnl",
            "Indicated stringency per unit relative excess of emissions over target "
            "(assumption).", kind="const", group=g))
    add(Var("Indicated stringency", f"MIN(1, MAX(0, Stringency sensitivity * (CO2 "
            f"emissions{c} / Emission target{c} - 1)))", "Dmnl",
            "Stringency the government aims at given the emission gap (loop B4).",
            dims=("City",), group=g))
    add(Var("Stringency adjustment time", (3.0,), "Year",
            "Time to adjust policy stringency (assumption).", kind="const", group=g))
    add(Var("Stringency change", f"(Indicated stringency{c} - Policy stringency{c}) / "
            "Stringency adjustment time", "1/Year", "Adjustment of policy stringency.",
            dims=("City",), kind="flow", group=g))
    add(Var("Policy stringency", "0", "Dmnl",
            "Carbon policy stringency (0-1): speeds the transition and costs investment "
            "(loop B4).", dims=("City",), kind="stock", inflows=("Stringency change",),
            group=g))

    # ---------------------------------------------------------------- coupling
    g = "coupling"
    pop = csum("Population 2010[{c}]")
    add(Var("Industry index reference", csum("Value added secondary 2010[{c}]") + " / " + pop,
            "Cyuan/(Year*wperson)", "Agglomeration secondary value added per resident "
            "2010 (normalisation).", group=g))
    add(Var("Innovation index reference", csum("Knowledge stock 2010[{c}]") + " / " + pop,
            "Cyuan/wperson", "Agglomeration knowledge per resident 2010 (normalisation).",
            group=g))
    add(Var("Service index reference", csum("Service capacity 2010[{c}]") + " / " + pop,
            "Cyuan/wperson", "Agglomeration service capacity per resident 2010 "
            "(normalisation).", group=g))
    for name, x, ref in (
        ("Industry chain index", "Value added secondary", "Industry index reference"),
        ("Innovation chain index", "Knowledge stock", "Innovation index reference"),
        ("Service chain index", "Service capacity", "Service index reference"),
    ):
        add(Var(name, f"({x}{c} / Population{c}) / ({x}{c} / Population{c} + {ref})",
                "Dmnl", f"Normalised {name.split()[0].lower()}-chain subsystem index "
                "x/(x + agglomeration 2010 mean), in (0, 1).", dims=("City",), group=g))
    u = "Industry chain index[City]", "Innovation chain index[City]", \
        "Service chain index[City]"
    add(Var("Coupling degree", f"3 * ({u[0]} * {u[1]} * {u[2]}) ^ (1 / 3) / ({u[0]} + "
            f"{u[1]} + {u[2]})", "Dmnl",
            "Coupling C of the three chains (n = 3 coupling model).", dims=("City",),
            group=g))
    add(Var("Development index", f"({u[0]} + {u[1]} + {u[2]}) / 3", "Dmnl",
            "Comprehensive development index T (equal weights).", dims=("City",), group=g))
    add(Var("Coordination degree", f"(Coupling degree{c} * Development index{c}) ^ 0.5",
            "Dmnl", "Coupling coordination degree D = sqrt(C*T) of the industry, innovation "
            "and service chains.", dims=("City",), group=g))
    return tuple(v)


# --------------------------------------------------------------------------
# Vensim writer
# --------------------------------------------------------------------------
TIME_VARS = (
    ("INITIAL TIME", "2010", "Year", "The initial time for the simulation."),
    ("FINAL TIME", "2060", "Year", "The final time for the simulation."),
    ("TIME STEP", "0.0625", "Year [0,?]",
     "Euler time step; halving it changes no reported output by more than 0.5%."),
    ("SAVEPER", "1", "Year [0,?]", "The frequency with which output is stored."),
)


def fmt_num(x: float) -> str:
    return repr(float(x)).removesuffix(".0") if float(x).is_integer() else repr(float(x))


def _dims_str(dims: tuple[str, ...]) -> str:
    return f"[{','.join(dims)}]" if dims else ""


def mdl_equation(var: Var) -> str:
    lhs = var.name + _dims_str(var.dims)
    if var.kind == "const":
        vals = var.eqn
        if len(var.dims) == 2:
            n = len(CITIES)
            rows = [", ".join(fmt_num(x) for x in vals[i * n:(i + 1) * n]) for i in range(n)]
            rhs = ";\n\t".join(rows) + ";"
        else:
            rhs = ", ".join(fmt_num(x) for x in vals)
    elif var.kind == "stock":
        net = " + ".join(var.inflows)
        if var.outflows:
            net = (net + " - " if net else "-") + " - ".join(var.outflows)
        net = re.sub(r"([A-Za-z][A-Za-z0-9 ]*[A-Za-z0-9])",
                     lambda m: m.group(1) + _dims_str(var.dims), net)
        rhs = f"INTEG({net}, {var.eqn})"
    else:
        rhs = var.eqn
    units = var.units
    return f"{lhs} =\n\t{rhs}\n\t~\t{units}\n\t~\t{var.doc}\n\t|\n"


def write_mdl() -> str:
    out = ["{UTF-8}\n",
           f"City:\n\t{', '.join(CITIES)}\n\t~\t\n\t~\tThe four cities of the "
           "Yichang-Jingzhou-Jingmen-Enshi agglomeration.\n\t|\n",
           "Partner <-> City\n\t~\t\n\t~\tCopy of City for inter-city terms (the partner "
           "city).\n\t|\n"]
    group = None
    for var in VARS:
        if var.group != group:
            group = var.group
            out.append(f"********************************************************\n"
                       f"\t.{group}\n********************************************************"
                       "~\n\t\t\n\t|\n")
        out.append(mdl_equation(var))
    out.append("********************************************************\n\t.Control\n"
               "********************************************************~\n"
               "\t\tSimulation Control Parameters\n\t|\n")
    for name, eqn, units, doc in TIME_VARS:
        out.append(f"{name} = {eqn}\n\t~\t{units}\n\t~\t{doc}\n\t|\n")
    out.append(mdl_sketch())
    return "\n".join(out)


SKETCH = {  # view name -> [(variable, x, y, is_stock)]
    "IIS overview": [
        ("Productive capital", 250, 150, True), ("Investment", 120, 150, False),
        ("Capital depreciation", 380, 150, False), ("TFP", 250, 260, False),
        ("Value added secondary", 420, 260, False), ("GDP", 600, 260, False),
        ("Value added primary", 600, 170, False), ("Value added tertiary", 600, 350, False),
        ("Knowledge stock", 250, 450, True), ("Knowledge creation", 110, 450, False),
        ("Knowledge spillover", 250, 560, False), ("Knowledge depreciation", 390, 450, False),
        ("Knowledge in use", 250, 340, True), ("Patents", 420, 520, False),
        ("Research spending", 110, 560, False), ("Service capacity", 800, 450, True),
        ("Service investment", 660, 450, False), ("Loans", 800, 560, True),
        ("New lending", 660, 560, False), ("Loan repayment", 940, 560, False),
        ("Industry carbon intensity", 800, 150, True), ("Other carbon intensity", 1000, 150, True),
        ("CO2 emissions", 900, 260, False), ("Carbon intensity", 1000, 350, False),
        ("Policy stringency", 1000, 450, True), ("Emission target", 1100, 260, False),
        ("Duplication loss", 420, 350, False), ("Agglomeration coordination", 600, 450, False),
        ("Coordination degree", 600, 620, False),
    ],
    "Strategy levers": [
        (f"Lever {k}", 150 + 220 * i, 100, False) for i, k in enumerate(
            ("policy collaboration", "innovation chain", "division of labour",
             "green transition", "technology finance"))
    ] + [
        (f"{k} effect", 150 + 220 * i, 200, False) for i, k in enumerate(
            ("Policy collaboration", "Innovation chain", "Division of labour",
             "Green transition", "Technology finance"))
    ],
}


def mdl_sketch() -> str:
    lines = []
    for view, items in SKETCH.items():
        lines.append("\\\\\\---/// Sketch information - do not modify anything except names")
        lines.append("V300  Do not put anything below this section - it will be ignored")
        lines.append(f"*{view}")
        lines.append("$192-192-192,0,Times New Roman|12||0-0-0|0-0-0|0-0-255|-1--1--1|"
                     "-1--1--1|96,96,100,0")
        for i, (name, x, y, stock) in enumerate(items, start=1):
            shape = "3,3" if stock else "8,3"
            w, h = (40, 20) if stock else (46, 11)
            lines.append(f"10,{i},{name},{x},{y},{w},{h},{shape},0,0,0,0,0,0")
    lines.append("///---\\\\\\")
    lines.append(":L<%^E!@")
    lines.append("9:Current")
    lines.append("15:0,0,0,0,0,0")
    lines.append("19:100,0")
    lines.append("27:0,")
    lines.append("34:0,")
    lines.append("5:GDP[Yichang]")
    lines.append("35:Date")
    lines.append("36:YYYY-MM-DD")
    lines.append("37:2010")
    lines.append("38:1")
    lines.append("39:1")
    lines.append("40:0")
    lines.append("41:0")
    lines.append("42:0")
    lines.append("24:2010")
    lines.append("25:2060")
    lines.append("26:2060")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------
# XMILE writer
# --------------------------------------------------------------------------
def xname(name: str) -> str:
    return name.replace(" ", "_")


def _split_args(text: str) -> list[str]:
    args, depth, cur = [], 0, ""
    for ch in text:
        if ch == "," and depth == 0:
            args.append(cur.strip())
            cur = ""
            continue
        depth += ch in "(["
        depth -= ch in ")]"
        cur += ch
    args.append(cur.strip())
    return args


def _convert_if(eqn: str) -> str:
    key = "IF THEN ELSE("
    while key in eqn:
        start = eqn.index(key)
        i, depth = start + len(key), 1
        while depth:
            depth += {"(": 1, ")": -1}.get(eqn[i], 0)
            i += 1
        cond, a, b = _split_args(eqn[start + len(key):i - 1])
        eqn = eqn[:start] + f"(IF {cond} THEN {a} ELSE {b})" + eqn[i:]
    return eqn


def to_xmile_eqn(eqn: str) -> str:
    """Translate a Vensim expression of this model into XMILE syntax."""
    eqn = _convert_if(eqn)
    for name in NAMES_LONGEST_FIRST:
        eqn = re.sub(rf"(?<![\w]){re.escape(name)}(?![\w])", xname(name), eqn)
    eqn = re.sub(r"(?<![\w])Time(?![\w])", "TIME", eqn)
    return eqn.replace("[City!]", "[*]")  # Vensim's SUM(K[City!]) is XMILE's SUM(K[*])


def xmile_var(var: Var) -> str:
    tag = var.kind if var.kind in ("stock", "flow") else "aux"
    lines = [f'\t\t\t<{tag} name="{escape(var.name)}">']
    if var.dims:
        lines.append("\t\t\t\t<dimensions>")
        lines += [f'\t\t\t\t\t<dim name="{d}"/>' for d in var.dims]
        lines.append("\t\t\t\t</dimensions>")
    if var.kind == "const" and var.dims:
        elems = ([(a,) for a in CITIES] if len(var.dims) == 1
                 else [(a, b) for a in CITIES for b in CITIES])
        for el, val in zip(elems, var.eqn):
            lines.append(f'\t\t\t\t<element subscript="{", ".join(el)}">'
                         f"<eqn>{fmt_num(val)}</eqn></element>")
    elif var.kind == "const":
        lines.append(f"\t\t\t\t<eqn>{fmt_num(var.eqn[0])}</eqn>")
    else:
        lines.append(f"\t\t\t\t<eqn>{escape(to_xmile_eqn(var.eqn))}</eqn>")
    for f in var.inflows:
        lines.append(f"\t\t\t\t<inflow>{xname(f)}</inflow>")
    for f in var.outflows:
        lines.append(f"\t\t\t\t<outflow>{xname(f)}</outflow>")
    lines.append(f"\t\t\t\t<units>{escape(xmile_units(var.units))}</units>")
    lines.append(f"\t\t\t\t<doc>{escape(var.doc)}</doc>")
    lines.append(f"\t\t\t</{tag}>")
    return "\n".join(lines)


def xmile_units(units: str) -> str:
    return "dmnl" if units == "Dmnl" else units


def write_xmile() -> str:
    dims = "\n".join(
        f'\t\t<dim name="{d}">\n' + "\n".join(f'\t\t\t<elem name="{c}"/>' for c in CITIES)
        + "\n\t\t</dim>" for d in ("City", "Partner"))
    body = "\n".join(xmile_var(v) for v in VARS)
    views = []
    for view, items in SKETCH.items():
        views.append(f'\t\t\t<view name="{escape(view)}">')
        for name, x, y, stock in items:
            tag = "stock" if stock else ("flow" if VAR_BY_NAME[name].kind == "flow" else "aux")
            if tag == "flow":
                views.append(f'\t\t\t\t<flow name="{xname(name)}" x="{x}" y="{y}">'
                             f'<pts><pt x="{x - 40}" y="{y}"/><pt x="{x + 40}" y="{y}"/>'
                             "</pts></flow>")
            else:
                views.append(f'\t\t\t\t<{tag} name="{xname(name)}" x="{x}" y="{y}"/>')
        views.append("\t\t\t</view>")
    dt = TIME_VARS[2][1]
    return f"""<?xml version="1.0" encoding="utf-8"?>
<xmile version="1.0" xmlns="http://docs.oasis-open.org/xmile/ns/XMILE/v1.0">
\t<header>
\t\t<name>IIS model: Yichang-Jingzhou-Jingmen-Enshi</name>
\t\t<vendor>sdkit</vendor>
\t\t<product version="0.1.0" lang="en">sdkit tools/build_iis.py</product>
\t</header>
\t<sim_specs method="Euler" time_units="Year">
\t\t<start>2010</start>
\t\t<stop>2060</stop>
\t\t<dt>{dt}</dt>
\t</sim_specs>
\t<dimensions>
{dims}
\t</dimensions>
\t<model>
\t\t<variables>
{body}
\t\t</variables>
\t\t<views>
{chr(10).join(views)}
\t\t</views>
\t</model>
</xmile>
"""


VARS = build_vars()
VAR_BY_NAME = {v.name: v for v in VARS}
NAMES_LONGEST_FIRST = sorted(VAR_BY_NAME, key=len, reverse=True)


def outputs() -> dict[Path, str]:
    """The files this script writes, and their text."""
    return {HERE / "iis.mdl": write_mdl(), HERE / "iis.xmile": write_xmile()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="exit 1 if the committed files differ from the generated ones")
    args = parser.parse_args(argv)
    stale = []
    for path, text in outputs().items():
        if args.check:
            if not path.is_file() or path.read_text(encoding="utf-8") != text:
                stale.append(path.name)
        else:
            tmp = path.with_suffix(path.suffix + ".tmp")
            tmp.write_text(text, encoding="utf-8")
            tmp.replace(path)
    if stale:
        print(f"out of date: {', '.join(stale)} (run python tools/build_iis.py)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
