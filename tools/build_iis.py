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
S23 = "S23 (census_city_2010-2020_v1.csv age columns)"


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
    limits: tuple[float, float] | None = None  # Vensim [min,max] after the units; XMILE <range>


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
NONPRIMARY_2010 = tuple(b + c for b, c in zip(VA2_2010, VA3_2010))
POP_2010 = per_city(405.9686, 569.1707, 287.3687, 329.0294)
POP_2020 = per_city(401.7607, 523.1180, 259.6927, 345.6136)
# census age shares (% of resident population, 0-14, 15-59, 60+), drivers_and_targets.csv S23
AGE_2010 = {"Yichang": (10.87, 73.07, 16.06), "Jingzhou": (13.21, 71.89, 14.89),
            "Jingmen": (11.87, 74.75, 13.38), "Enshi": (18.69, 65.18, 16.13)}
AGE_2020 = {"Yichang": (11.72, 63.33, 24.95), "Jingzhou": (15.19, 61.12, 23.69),
            "Jingmen": (13.56, 63.6, 22.84), "Enshi": (17.92, 61.53, 20.55)}
CHILD_YEARS, WORKING_YEARS, OLD_MORTALITY = 15.0, 45.0, 0.035
# UN WPP 2022 China (S50), thousand: 0-14 = total - (15-64) - (65+)
WPP_YOUNG_2020 = 1424932 - 988569 - 179518
WPP_YOUNG_2035 = 1399547 - 930551 - 315199
LOANS_KNOWN = (1415.8629, 461.0723, 317.2094)
ENSHI_LOANS = round(
    GDP_2010[3] * sum(x / g for x, g in zip(LOANS_KNOWN, GDP_2010[:3])) / 3, 2)
LOANS_2010 = (*LOANS_KNOWN, ENSHI_LOANS)
# implicit GDP deflator growth 2010-2018 = ln(nominal/real GDP 2018)/8 (city_stats.csv gdp and
# the chained gdp_real of calibration/data/README.md); 2019 on carries the census revision
INFLATION = per_city(0.020626, 0.022642, 0.01817, 0.01712)
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
# Hubei generation (drivers_and_targets.csv, S49): thermal share of thermal + hydro + wind
THERMAL_SHARE_2010 = 7527156.65 / (7527156.65 + 12494983.89 + 6600)
THERMAL_SHARE_2021 = 14659000 / (14659000 + 15315000 + 468564)
GRID_EF_2021 = 0.3672  # t/MWh, Hubei provincial average 2021 (S48)
GRID_EF_2010 = round(GRID_EF_2021 * THERMAL_SHARE_2010 / THERMAL_SHARE_2021, 4)


def distance(a: str, b: str) -> float:
    if a == b:
        return 0.0
    return float(DISTANCE.get((a, b), DISTANCE.get((b, a))))


DIST_MATRIX = tuple(distance(a, b) for a in CITIES for b in CITIES)
# Calibrated values (calibration/iis.toml fit 2010-2018; record in calibration/results/iis),
# used as the model's defaults so that a plain run is the calibrated baseline.
CAL_CATCH_UP = per_city(0.065954, 0.053656, 0.064492, 0.052441)
CAL_PRIMARY_GROWTH = per_city(0.14723, 0.076958, 0.059572, 0.053217)
CAL_STRUCTURAL_ELASTICITY = per_city(-0.14703, -0.20687, -0.18669, -0.21594)
CAL_STRUCTURAL_CURVATURE = 0.26208
CAL_PATENT_SCALE = per_city(3182.5, 1616.2, 1125.1, 315.85)
CAL_LENDING_RATE = (0.22291, 0.23454, 0.18972)
CAL_COMPLIANCE = (1.8412, 1.4847, 2.2331)
MAX_DUPLICATION, DUPLICATION_EXPONENT, BASE_COORDINATION, COORDINATION_TFP = 0.1, 4.0, 0.2, 0.05
CAPITAL_ELASTICITY = 0.5
# Hubei 2020 at comparable prices: GDP -5.0 %, primary 0.0 %, secondary -7.4 %, tertiary -3.8 %
HUBEI_2020 = ("Hubei Provincial Bureau of Statistics, 2020 economic data released 2021-01-19: "
              "hb.cri.cn/n/20210120/173985f5-e559-8a2f-e9db-12b878f010c1.html (湖北日报 "
              "2021-01-20)")
PANDEMIC_SECONDARY_RELATIVE = round((1 - 0.074) / (1 - 0.038), 4)


def _tfp_initial() -> tuple[float, ...]:
    """TFP level that makes 2010 non-primary value added equal the data.

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


def _demography() -> tuple[tuple[float, ...], tuple[float, ...], tuple[float, ...]]:
    """Birth rate, ageing factor and net migration rate per city.

    Solved so that the model's own age block (same equations, Euler at the
    model's time step) takes each city from its 2010 census age structure to
    its 2020 census total population and 0-14 and 60+ shares exactly.
    """
    from scipy.optimize import fsolve

    dt = 0.0625
    births, ageing, migration = [], [], []
    for i, c in enumerate(CITIES):
        s10, s20 = AGE_2010[c], AGE_2020[c]

        def run(p, s10=s10, i=i):
            b, a, m = p
            y, w, o = (x / sum(s10) * POP_2010[i] for x in s10)
            for _ in range(int(round(10 / dt))):
                flows = (b * w - y / CHILD_YEARS, y / CHILD_YEARS - a * w / WORKING_YEARS
                         + m * w, a * w / WORKING_YEARS - OLD_MORTALITY * o)
                y, w, o = (x + dt * f for x, f in zip((y, w, o), flows))
            return y, w, o

        def gap(p, s20=s20, i=i, run=run):
            y, w, o = run(p)
            total = y + w + o
            return [total / POP_2020[i] - 1, y / total - s20[0] / 100, o / total - s20[2] / 100]

        b, a, m = fsolve(gap, [0.015, 1.0, 0.0], xtol=1e-12)
        births.append(round(float(b), 6))
        ageing.append(round(float(a), 6))
        migration.append(round(float(m), 6))
    return tuple(births), tuple(ageing), tuple(migration)


BIRTH_RATE, AGEING_FACTOR, MIGRATION_RATE = _demography()
def lever_vars(key: str, title: str, default_start: float, what: str) -> list[Var]:
    base = f"Lever {key}"
    return [
        Var(base, (0.0,), "Dmnl",
            f"Strategy lever '{title}': strength, 0 = off (baseline), 1 = full strategy; "
            f"bounds [0, 1]. {what}", kind="const", group="levers", limits=(0, 1)),
        Var(f"{base} start year", (default_start,), "Year",
            f"Year the '{title}' lever starts to act; bounds [2022, 2050].",
            kind="const", group="levers", limits=(2022, 2050)),
        Var(f"{base} ramp years", (5.0,), "Year",
            f"Years over which the '{title}' lever ramps linearly from 0 to its strength; "
            "0 gives a step; bounds [0, 20].", kind="const", group="levers", limits=(0, 20)),
        Var(f"{title[0].upper()}{title[1:]} effect",
            f"{base} * MIN(1, MAX(0, (Time - {base} start year) / MAX({base} ramp years, "
            "Minimum ramp)))", "Dmnl",
            f"Ramped strength of the '{title}' lever at the current time (RAMP built "
            "from MIN/MAX/Time, portable to XMILE).", group="levers"),
    ]


def _pairwise(flow_in: str, flow_out: str) -> str:
    """Gross inflow minus gross outflow over partners, written element by element."""
    return (csum(f"Spillover weight[City,{{c}}] * ({flow_in})") + " - "
            + csum(f"Spillover weight[City,{{c}}] * ({flow_out})"))


def levers_and_data() -> list[Var]:
    c = "[City]"
    v: list[Var] = []
    add = v.append
    add(Var("Minimum ramp", (0.001,), "Year",
            "Smallest ramp length used in the lever ramps (avoids division by zero; "
            "a 0-year ramp becomes a step).", kind="const", group="levers"))
    v += lever_vars("policy collaboration", "policy collaboration", 2025,
                    "Joint planning, shared services, integrated administration: raises "
                    "agglomeration coordination, spillover strength and service efficiency "
                    "(paper strategy i); costs a share of GDP (joint bodies, shared services).")
    v += lever_vars("innovation chain", "innovation chain", 2025,
                    "Innovation chain around the industry chain: extra R&D intensity, talent "
                    "attraction, external absorption and conversion efficiency (paper strategy "
                    "ii); the extra R&D is paid out of investment.")
    v += lever_vars("division of labour", "division of labour", 2025,
                    "Division of labour and cooperation: lower duplication losses, faster "
                    "industrial gradient transfer, multicentre spillovers (paper strategy "
                    "iii); relocation costs a share of the capital moved.")
    v += lever_vars("green transition", "green transition", 2025,
                    "Faster energy-intensity decline and electrification (industry first), "
                    "paid out of investment (low-carbon perspective of the paper).")
    v += lever_vars("technology finance", "technology finance", 2025,
                    "Share of new lending directed to innovation (S&T finance, paper "
                    "service-chain strategy); that lending no longer finances investment.")
    v += lever_vars("carbon removal", "carbon removal", 2030,
                    "Carbon capture and storage on industrial and process emissions (CCS), "
                    "paid per tonne captured out of investment.")

    src = f"{CSV}, year 2010, source {S1}"
    g = "data"
    add(Var("Base year", (2010.0,), "Year",
            "First model year; money is in constant 2010 prices (2010 nominal = real).",
            kind="const", group=g))
    add(Var("Value added primary 2010", VA1_2010, "Cyuan/Year",
            f"Primary-sector value added 2010 ({src}, indicator gdp_primary_industry, "
            "万元/10^4).", dims=("City",), kind="const", group=g))
    add(Var("Value added secondary 2010", VA2_2010, "Cyuan/Year",
            f"Secondary-sector value added 2010 ({src}, indicator gdp_secondary_industry, "
            "万元/10^4).", dims=("City",), kind="const", group=g))
    add(Var("Value added tertiary 2010", VA3_2010, "Cyuan/Year",
            f"Tertiary-sector value added 2010 ({src}, indicator gdp_tertiary_industry, "
            "万元/10^4).", dims=("City",), kind="const", group=g))
    add(Var("GDP 2010", f"Value added primary 2010{c} + Value added secondary 2010{c} + "
            f"Value added tertiary 2010{c}", "Cyuan/Year",
            f"GDP 2010 = sum of sectors (equals {CSV} indicator gdp 2010, {S1}).",
            dims=("City",), group=g))
    add(Var("Nonprimary output 2010", f"Value added secondary 2010{c} + Value added "
            f"tertiary 2010{c}", "Cyuan/Year", "Secondary + tertiary value added 2010.",
            dims=("City",), group=g))
    add(Var("Population 2010", POP_2010, "wperson",
            f"Resident population 2010 ({CSV}, indicator resident_population_census, 2010, "
            f"{S3}; persons/10^4).", dims=("City",), kind="const", group=g))
    for key, label, k in (("young", "0-14", 0), ("working", "15-59", 1), ("old", "60+", 2)):
        add(Var(f"Census share {key} 2010", tuple(AGE_2010[x][k] / 100 for x in CITIES),
                "Dmnl", f"Share of residents aged {label} in the 2010 census "
                f"(drivers_and_targets.csv census_share_age_*, {S23}).",
                dims=("City",), kind="const", group=g))
    add(Var("Loans 2010", LOANS_2010, "Cyuan",
            f"Loans outstanding end 2010 ({CSV}, indicator "
            f"loans_outstanding_financial_institutions_yearend, 2010, {S5}; 万元/10^4). "
            "Enshi has no loan data: assumption = Enshi GDP 2010 x mean loans/GDP of the "
            "other three cities.", dims=("City",), kind="const", group=g))
    add(Var("Inflation rate", INFLATION, "1/Year",
            "Growth of the GDP deflator: ln(nominal / real GDP in 2018) / 8 from "
            f"{CSV} gdp and the chained real series (calibration/data/README.md); 2019 on "
            "is left out because it carries the census revision. Held after 2018 "
            "(assumption; range 0.01-0.03).", dims=("City",), kind="const", group=g))
    add(Var("Price level", f"EXP(Inflation rate{c} * (Time - Base year))", "Dmnl",
            "GDP deflator, 2010 = 1: turns the model's constant-price money into current "
            "prices for the nominal loan stock.", dims=("City",), group=g))
    add(Var("CO2 emissions 2010", CO2_2010, "Mt/Year",
            f"CO2 emissions 2010: Yichang, Jingzhou, Jingmen from {CSV} indicator "
            f"co2_emissions_EDGARv8_city 2010 ({S6}, t/10^6); Enshi (no EDGAR series) from "
            f"indicator co2_emissions_CEADs_city 2010 ({S7}).",
            dims=("City",), kind="const", group=g))
    add(Var("Pandemic year", (2020.0,), "Year",
            "Year of the COVID-19 output shock (data: real growth -4 to -6% in 2020, "
            f"{CSV} gdp_real_growth_yoy 2020, {S1}).", kind="const", group=g))
    add(Var("Pandemic duration", (1.0,), "Year", "Length of the pandemic output shock.",
            kind="const", group=g))
    add(Var("Pandemic output loss", (0.10,), "Dmnl",
            "Fraction of non-primary output lost during the pandemic year, relative to the "
            "model path (bounds [0, 0.2]; set from the observed 2020 real growth of -4 to "
            "-6% against 5-7% before; it lies in the hold-out years).",
            kind="const", group=g))
    add(Var("Pandemic recovery time", (20.0,), "Year",
            "Time constant over which the pandemic output loss fades after the pandemic year. "
            "Output losses after large shocks are highly persistent (Cerra & Saxena 2008, "
            "American Economic Review 98(1)); China's zero-COVID restrictions lasted until "
            "December 2022 (assumption, range 5-50 years).", kind="const", group=g))
    add(Var("Pandemic intensity", "IF THEN ELSE(Time >= Pandemic year, EXP(-MAX(0, Time - "
            "Pandemic year - Pandemic duration) / Pandemic recovery time), 0)", "Dmnl",
            "Strength of the pandemic shock: 0 before, 1 in the pandemic year, then fading "
            "exponentially.", group=g))
    add(Var("Pandemic factor", "1 - Pandemic output loss * Pandemic intensity", "Dmnl",
            "Output multiplier: 1 before the pandemic; 1 - loss in the pandemic year, then the "
            "loss fades exponentially.", group=g))
    add(Var("Pandemic secondary relative output", (PANDEMIC_SECONDARY_RELATIVE,), "Dmnl",
            "Secondary / tertiary real output in the pandemic year relative to the path "
            "without it: Hubei 2020 secondary -7.4 %, tertiary -3.8 % at comparable prices "
            f"(0.926 / 0.962 = {PANDEMIC_SECONDARY_RELATIVE}; {HUBEI_2020}). Applied to each "
            "city (assumption, range 0.94-1).", kind="const", group=g))
    add(Var("Pandemic secondary ratio", "1 - (1 - Pandemic secondary relative output) * "
            "Pandemic intensity", "Dmnl",
            "Secondary / tertiary output ratio relative to the path without the pandemic: "
            "industry and construction lost more than services, and the shift fades with the "
            "output loss.", group=g))
    return v


def demography() -> list[Var]:
    c = "[City]"
    g = "demography"
    v: list[Var] = []
    add = v.append
    add(Var("Birth rate", BIRTH_RATE, "1/Year",
            "Births per working-age resident (15-59). Solved by tools/build_iis.py so that "
            "the age block takes each city from its 2010 to its 2020 census (total, 0-14 and "
            f"60+ shares; {S3}, {S23}) exactly; held after 2020 (assumption).",
            dims=("City",), kind="const", group=g))
    add(Var("Ageing factor", AGEING_FACTOR, "Dmnl",
            "Ratio of the flow into 60+ to working-age population / 45 years (cohort "
            "unevenness). Solved with Birth rate to reproduce the 2010 and 2020 censuses.",
            dims=("City",), kind="const", group=g))
    add(Var("Net migration rate", MIGRATION_RATE, "1/Year",
            "Net migration of working-age residents per year (negative = out-migration), "
            "solved with Birth rate to reproduce the 2010 and 2020 censuses.",
            dims=("City",), kind="const", group=g))
    add(Var("Migration fade time", (20.0,), "Year",
            "Time constant over which the 2010-2020 net migration rate fades after 2020, as "
            "regional income gaps narrow (assumption; range 10-60 years).",
            kind="const", group=g))
    add(Var("Migration fade", "IF THEN ELSE(Time < Census year, 1, EXP(-(Time - Census year) "
            "/ Migration fade time))", "Dmnl", "Multiplier of the census net migration rate.",
            group=g))
    add(Var("Childhood years", (CHILD_YEARS,), "Year", "Years in the 0-14 group.",
            kind="const", group=g))
    add(Var("Working age years", (WORKING_YEARS,), "Year", "Years in the 15-59 group.",
            kind="const", group=g))
    add(Var("Old age mortality", (OLD_MORTALITY,), "1/Year",
            "Deaths per resident aged 60+ (China 2020: crude death rate 7.07 per 1000 with "
            "most deaths at 60+, 264 million aged 60+ (census, S26): about 0.03; assumption "
            "0.035, range 0.025-0.045). Deaths below 60 are neglected.",
            kind="const", group=g))
    add(Var("Fertility factor 2035", (round(WPP_YOUNG_2035 / WPP_YOUNG_2020, 4),), "Dmnl",
            "Births per working-age resident in 2035 relative to 2010-2020: UN WPP 2022 "
            "medium variant, China's population aged 0-14 in 2035 / 2020 (total - 15-64 - 65+, "
            f"{WPP_YOUNG_2035} / {WPP_YOUNG_2020} thousand; drivers_and_targets.csv, S50). "
            "Reached linearly from 2020, held after (assumption).", kind="const", group=g))
    add(Var("Census year", (2020.0,), "Year", "Year of the 7th census (1 Nov 2020).",
            kind="const", group=g))
    add(Var("Fertility decline years", (15.0,), "Year",
            "Years from the 2020 census to the 2035 fertility factor.", kind="const", group=g))
    add(Var("Fertility factor", "IF THEN ELSE(Time < Census year, 1, 1 - (1 - Fertility "
            "factor 2035) * MIN(1, (Time - Census year) / Fertility decline years))", "Dmnl",
            "Multiplier of the census birth rate after 2020 (China's fertility decline).",
            group=g))
    add(Var("Births", f"Birth rate{c} * Fertility factor * Working age population{c}",
            "wperson/Year", "Births per year.", dims=("City",), kind="flow", group=g))
    add(Var("Maturing", f"Young population{c} / Childhood years", "wperson/Year",
            "Residents turning 15.", dims=("City",), kind="flow", group=g))
    add(Var("Ageing", f"Ageing factor{c} * Working age population{c} / Working age years",
            "wperson/Year", "Residents turning 60.", dims=("City",), kind="flow", group=g))
    add(Var("Old age deaths", f"Old population{c} * Old age mortality", "wperson/Year",
            "Deaths of residents aged 60+.", dims=("City",), kind="flow", group=g))
    add(Var("Net migration", f"Net migration rate{c} * Working age population{c} * "
            "Migration fade", "wperson/Year",
            "Net migration of working-age residents to and from outside the agglomeration.",
            dims=("City",), kind="flow", group=g))
    add(Var("Talent mobility", (0.02,), "1/Year",
            "Share of a city's working-age residents moving per year to a partner at spillover "
            "weight 1 per unit difference in log attractiveness (assumption; range 0-0.05; "
            "inter-city migration elasticities of this size in Chinese gravity studies).",
            kind="const", group=g))
    add(Var("Service attraction elasticity", (0.5,), "Dmnl",
            "Weight of public services (service capacity per resident) against wages in "
            "attractiveness (assumption; range 0-1).", kind="const", group=g))
    add(Var("Innovation talent gain", (0.05,), "Dmnl",
            "Log-attractiveness added by the full innovation-chain lever (talent programmes; "
            "assumption; range 0-0.1).", kind="const", group=g))
    add(Var("Attractiveness", f"LN(Wage{c} / Wage 2010{c}) + Service attraction elasticity * "
            f"LN(Service capacity index{c}) + Innovation talent gain * Innovation chain effect",
            "Dmnl", "Log attractiveness of the city to working-age residents relative to its "
            "own 2010 level (the 2010 gaps are already in the census migration rates).",
            dims=("City",), group=g))
    add(Var("Talent inflow", "Talent mobility * " + csum(
        "Spillover weight[City,{c}] * MAX(0, Attractiveness[City] - Attractiveness[{c}]) * "
        "Working age population[{c}]"), "wperson/Year",
        "Working-age residents moving in from partner cities whose attractiveness is lower "
        "(distance-weighted).", dims=("City",), kind="flow", group=g))
    add(Var("Talent outflow", "Talent mobility * " + csum(
        "Spillover weight[City,{c}] * MAX(0, Attractiveness[{c}] - Attractiveness[City])") +
        f" * Working age population{c}", "wperson/Year",
        "Working-age residents moving out to partner cities whose attractiveness is higher; "
        "the four cities' inflows and outflows balance exactly.", dims=("City",),
        kind="flow", group=g))
    shares = ("Census share young 2010", "Census share working 2010", "Census share old 2010")
    for name, share, inflows, outflows, doc in (
        ("Young population", shares[0], ("Births",), ("Maturing",), "Residents aged 0-14."),
        ("Working age population", shares[1], ("Maturing", "Net migration", "Talent inflow"),
         ("Ageing", "Talent outflow"), "Residents aged 15-59: the labour input."),
        ("Old population", shares[2], ("Ageing",), ("Old age deaths",), "Residents aged 60+."),
    ):
        add(Var(name, f"Population 2010{c} * {share}{c} / (Census share young 2010{c} + Census "
                f"share working 2010{c} + Census share old 2010{c})", "wperson",
                doc + " Initial value from the 2010 census age shares.", dims=("City",),
                kind="stock", inflows=inflows, outflows=outflows, group=g))
    add(Var("Population", f"Young population{c} + Working age population{c} + Old "
            f"population{c}", "wperson", "Resident population.", dims=("City",), group=g))
    add(Var("Working age population 2010", f"Population 2010{c} * Census share working "
            f"2010{c} / (Census share young 2010{c} + Census share working 2010{c} + Census "
            f"share old 2010{c})", "wperson", "Working-age residents 2010 (census).",
            dims=("City",), group=g))
    return v
def economy() -> list[Var]:
    c = "[City]"
    g = "economy"
    v: list[Var] = []
    add = v.append
    # -- capital and investment
    add(Var("Capital output ratio 2010", (2.5,), "Year",
            "Capital / non-primary value added in 2010 (China's aggregate capital-output "
            "ratio was about 2.5-3 in the 2000s: Bai, Hsieh & Qian 2006, Brookings Papers on "
            "Economic Activity; assumption for the cities, range 2-3.5).",
            kind="const", group=g))
    add(Var("Productive capital 2010", f"Capital output ratio 2010 * Nonprimary output "
            f"2010{c}", "Cyuan", "Initial productive capital.", dims=("City",), group=g))
    add(Var("Capital depreciation rate", (0.096,), "1/Year",
            "Capital depreciation 9.6%/yr (Zhang Jun 2004, Economic Research Journal; "
            "MODEL.md table; range 0.07-0.12).", kind="const", group=g))
    add(Var("Capital depreciation", f"Productive capital{c} * Capital depreciation rate",
            "Cyuan/Year", "Depreciation (loop B1).", dims=("City",), kind="flow", group=g))
    add(Var("Capital elasticity", (CAPITAL_ELASTICITY,), "Dmnl",
            "Output elasticity of capital (capital share about 0.5 in China: Bai, Hsieh & "
            "Qian 2006; Zhu 2012, J. Econ. Perspectives 26(4); range 0.4-0.6).",
            kind="const", group=g))
    add(Var("Marginal product of capital", f"Capital elasticity * Nonprimary output{c} / "
            f"Productive capital{c}", "1/Year",
            "Return on capital (output elasticity x output / capital).", dims=("City",),
            group=g))
    add(Var("Marginal product of capital 2010", "Capital elasticity / Capital output ratio "
            "2010", "1/Year", "Return on capital in 2010.", group=g))
    add(Var("Investment rate 2010", per_city(0.47, 0.47, 0.47, 0.47), "Dmnl",
            "Gross investment / GDP in 2010: China's gross capital formation was about 47% "
            "of GDP in 2010 (NBS; World Bank WDI NE.GDI.TOTL.ZS); city values are not in the "
            "data (assumption; range 0.35-0.6).", dims=("City",), kind="const", group=g))
    add(Var("Investment return elasticity", (1.0,), "Dmnl",
            "Elasticity of the investment rate to the return on capital relative to 2010 "
            "(assumption; range 0.5-2: investment falls as capital deepens).",
            kind="const", group=g))
    add(Var("Maximum investment share", (0.8,), "Dmnl",
            "Upper limit on investment / GDP (assumption).", kind="const", group=g))
    add(Var("Service investment elasticity", (0.05,), "Dmnl",
            "Elasticity of the investment rate to the service capacity index "
            "(assumption; range 0-0.1; loop R3).", kind="const", group=g))
    add(Var("Finance investment elasticity", (0.05,), "Dmnl",
            "Elasticity of the investment rate to financial depth relative to 2010 "
            "(assumption; range 0-0.1).", kind="const", group=g))
    add(Var("Investment rate", f"MIN(Maximum investment share, Investment rate 2010{c} * "
            f"(Marginal product of capital{c} / Marginal product of capital 2010) ^ "
            f"Investment return elasticity * Service capacity index{c} ^ Service investment "
            f"elasticity * (Financial depth{c} / Financial depth 2010{c}) ^ Finance investment "
            "elasticity)", "Dmnl",
            "Investment / GDP: falls with the return on capital, rises with service support "
            "and financial depth (loops R1, R3).", dims=("City",), group=g))
    add(Var("Investment", f"MAX(0, GDP{c} * Investment rate{c} - Lever costs{c} - Carbon "
            f"policy cost{c})", "Cyuan/Year",
            "Gross investment after the lever costs and the carbon-policy cost crowd it out "
            "(loop R1).", dims=("City",), kind="flow", group=g))
    # -- gradient transfer between cities
    add(Var("Transfer rate", (0.003,), "1/Year",
            "Share of a city's capital relocated per year to a partner at spillover weight 1 "
            "per unit log wage gap (industrial gradient transfer; assumption; range 0-0.01).",
            kind="const", group=g))
    add(Var("Division transfer gain", (1.0,), "Dmnl",
            "Relative increase of the transfer rate at the full division-of-labour lever "
            "(assumption; range 0.5-2).", kind="const", group=g))
    add(Var("Relocation cost", (0.1,), "Dmnl",
            "Cost of relocating capital as a share of the capital moved, paid by the "
            "receiving city out of investment when the lever drives it (assumption; range "
            "0.05-0.2).", kind="const", group=g))
    add(Var("Effective transfer rate", "Transfer rate * (1 + Division transfer gain * "
            "Division of labour effect)", "1/Year", "Transfer rate with the lever.",
            group=g))
    add(Var("Capital inflow", "Effective transfer rate * " + csum(
        "Spillover weight[City,{c}] * MAX(0, LN(Wage[{c}] / Wage[City])) * "
        "Productive capital[{c}]"), "Cyuan/Year",
        "Capital relocated into the city from partners with higher wages.",
        dims=("City",), kind="flow", group=g))
    add(Var("Capital outflow", "Effective transfer rate * " + csum(
        "Spillover weight[City,{c}] * MAX(0, LN(Wage[City] / Wage[{c}]))") +
        f" * Productive capital{c}", "Cyuan/Year",
        "Capital relocated to partners with lower wages (inflows and outflows of the four "
        "cities balance exactly).", dims=("City",), kind="flow", group=g))
    add(Var("Productive capital", f"Productive capital 2010{c}", "Cyuan",
            "Productive capital of the non-primary economy (industry and services), constant "
            "2010 prices (loops R1, B1).", dims=("City",), kind="stock",
            inflows=("Investment", "Capital inflow"),
            outflows=("Capital depreciation", "Capital outflow"), group=g))
    add(Var("Relocated capital depreciation", f"Relocated capital{c} * Capital depreciation "
            "rate", "Cyuan/Year", "Depreciation of the relocated capital (negative when the "
            "city gave capital away).", dims=("City",), kind="flow", group=g))
    add(Var("Relocated capital", "0", "Cyuan",
            "Net capital received through gradient transfer since 2010 and still in use "
            "(negative = given away; memo stock, not a second capital stock).",
            dims=("City",), kind="stock", inflows=("Capital inflow",),
            outflows=("Capital outflow", "Relocated capital depreciation"), group=g))
    # -- TFP
    add(Var("Frontier TFP growth", (0.01,), "1/Year",
            "Growth of the technology frontier's TFP (US TFP about 1%/yr over 1950-2014: "
            "Fernald 2014, FRBSF; range 0.005-0.015).", kind="const", group=g))
    add(Var("Frontier TFP", "EXP(Frontier TFP growth * (Time - Base year))", "Dmnl",
            "Frontier TFP, 2010 = 1 (exogenous).", group=g))
    add(Var("Agglomeration relative TFP 2010", (0.4,), "Dmnl",
            "TFP of the agglomeration relative to the frontier in 2010 (PWT 10.0 puts China's "
            "TFP at about 0.4 of the US level around 2010, Feenstra, Inklaar & Timmer 2015; "
            "applied to the cities: assumption, range 0.3-0.5).",
            kind="const", group=g))
    add(Var("Catch up speed", CAL_CATCH_UP, "1/Year",
            "TFP growth per unit relative gap to the frontier at 2010 absorptive capacity "
            "(Nelson & Phelps 1966; Benhabib & Spiegel 1994; free parameter per city, bounds "
            "[0.002, 0.15]; default = the calibrated value).", dims=("City",), kind="const",
            group=g))
    add(Var("Absorptive elasticity", (0.5,), "Dmnl",
            "Elasticity of absorptive capacity to the city's knowledge intensity relative to "
            "2010 (Cohen & Levinthal 1990; Griffith, Redding & Van Reenen 2004: R&D raises "
            "absorption; assumption, range 0.2-1).", kind="const", group=g))
    add(Var("Absorptive capacity", f"(Knowledge intensity{c} / Knowledge intensity 2010{c}) ^ "
            "Absorptive elasticity", "Dmnl",
            "Capacity to absorb outside technology, 2010 = 1.", dims=("City",), group=g))
    add(Var("TFP catch up", f"Catch up TFP{c} * Catch up speed{c} * Absorptive capacity{c} * "
            f"MAX(0, Frontier TFP / (Agglomeration relative TFP 2010 * Catch up TFP{c}) - 1)",
            "1/Year",
            "TFP growth from closing the gap to the frontier: proportional to the relative "
            "gap and to absorptive capacity.", dims=("City",), kind="flow", group=g))
    add(Var("Catch up TFP", "1", "Dmnl",
            "TFP from technology adoption, 2010 = 1.", dims=("City",), kind="stock",
            inflows=("TFP catch up",), group=g))
    add(Var("Knowledge TFP elasticity", (0.12,), "Dmnl",
            "Elasticity of TFP to knowledge intensity in use (R&D capital literature, "
            "0.08-0.15: Hall, Mairesse & Mohnen 2010).", kind="const", group=g))
    add(Var("Knowledge TFP effect", f"(Knowledge in use{c} / Productive capital{c} / "
            f"Knowledge intensity 2010{c}) ^ Knowledge TFP elasticity", "Dmnl",
            "TFP multiplier from the delayed knowledge stock per unit of capital (loop R2); "
            "a level effect, so knowledge that grows with the economy adds no growth by "
            "itself.",
            dims=("City",), group=g))
    add(Var("TFP initial", TFP_INITIAL, "Dmnl",
            "Undoes the 2010 coordination gain and duplication loss so that 2010 output "
            "equals the data.", dims=("City",), kind="const", group=g))
    add(Var("Coordination TFP gain", (COORDINATION_TFP,), "Dmnl",
            "TFP gain at full agglomeration coordination (assumption; range 0-0.1).",
            kind="const", group=g))
    add(Var("TFP", f"TFP initial{c} * Catch up TFP{c} * Knowledge TFP effect{c} * (1 + "
            f"Coordination TFP gain * Agglomeration coordination{c}) * (1 - Duplication "
            f"loss{c})", "Dmnl",
            "Total factor productivity, 2010 = 1 (loops R2, B5).", dims=("City",), group=g))
    # -- output
    add(Var("Nonprimary output", f"Nonprimary output 2010{c} * TFP{c} * (Productive "
            f"capital{c} / Productive capital 2010{c}) ^ Capital elasticity * (Working age "
            f"population{c} / MAX(Working age population 2010{c}, Minimum working population)) "
            "^ (1 - Capital elasticity) * "
            "Pandemic factor", "Cyuan/Year",
            "Secondary + tertiary value added: Cobb-Douglas in capital and working-age "
            "labour.", dims=("City",), group=g))
    add(Var("Primary growth rate", CAL_PRIMARY_GROWTH, "1/Year",
            "Initial real growth of primary value added before the land bound bites (free "
            "parameter, bounds [0, 0.2]; default = the calibrated value).", dims=("City",),
            kind="const", group=g))
    add(Var("Land bound multiple", (4.0,), "Dmnl",
            "Primary value added the fixed farm and forest land can yield, as a multiple "
            "of 2010 at constant prices (assumption; range 3-6; Yichang's real primary value "
            "added was already 2.6 times its 2010 level in 2021).", kind="const", group=g))
    add(Var("Primary growth", f"Primary growth rate{c} * Primary output index{c} * (1 - "
            "Primary output index[City] / Land bound multiple)", "1/Year",
            "Logistic growth of primary output toward the land bound.", dims=("City",),
            kind="flow", group=g))
    add(Var("Primary output index", "1", "Dmnl", "Primary value added relative to 2010.",
            dims=("City",), kind="stock", inflows=("Primary growth",), group=g))
    add(Var("Value added primary", f"Value added primary 2010{c} * Primary output index{c}",
            "Cyuan/Year", "Primary-sector value added, constant 2010 prices.",
            dims=("City",), group=g))
    add(Var("GDP", f"Value added primary{c} + Nonprimary output{c}", "Cyuan/Year",
            "Gross domestic product, 100 million CNY (亿元) at constant 2010 prices.",
            dims=("City",), group=g))
    add(Var("GDP per capita", f"GDP{c} / Population{c}", "Cyuan/(Year*wperson)",
            "GDP per resident (亿元 per 万人 = 10^4 CNY per person).", dims=("City",), group=g))
    add(Var("Income index", f"GDP per capita{c} / (GDP 2010{c} / Population 2010{c})",
            "Dmnl", "GDP per resident relative to 2010.", dims=("City",), group=g))
    add(Var("Structural elasticity", CAL_STRUCTURAL_ELASTICITY, "Dmnl",
            "Fall of the secondary share of non-primary output (share points) per unit of "
            "log income per head, at 2010 (negative while a city still industrialises; free "
            "parameter, bounds [-1, 1.5]; default = the calibrated value).", dims=("City",),
            kind="const", group=g))
    add(Var("Structural curvature", (CAL_STRUCTURAL_CURVATURE,), "Dmnl",
            "Curvature of the secondary share (share points) in log income, pooled over the "
            "cities as the share regressions of the literature are written in share levels: "
            "the share rises, peaks and falls as income grows (hump of Chenery & Syrquin "
            "1975, Herrendorf, Rogerson & Valentinyi 2014; pooled free parameter, bounds "
            "[0, 1]; default = the calibrated value).",
            kind="const", group=g))
    add(Var("Secondary share floor", (0.25,), "Dmnl",
            "Secondary share of non-primary output that structural change approaches at high "
            "income (industry is about 20-30% of GDP in high-income manufacturing economies, "
            "World Bank WDI NV.IND.TOTL.ZS; assumption, range 0.15-0.35).",
            kind="const", group=g))
    add(Var("Secondary share gap 2010", f"Value added secondary 2010{c} / Nonprimary output "
            f"2010{c} - Secondary share floor", "Dmnl",
            "2010 secondary share of non-primary output above the floor.", dims=("City",),
            group=g))
    add(Var("Secondary share of nonprimary", f"MIN(0.9, Secondary share floor + Secondary "
            f"share gap 2010{c} * EXP(-(Structural elasticity{c} * LN(Income index{c}) + "
            f"Structural curvature * LN(Income index{c}) ^ 2) / Secondary share gap 2010{c}))",
            "Dmnl",
            "Secondary share of non-primary value added as a function of income per head "
            "(structural change toward services): near 2010 the share moves by -e ln I - "
            "c (ln I)^2 share points (Chenery-Syrquin form in levels); far from it the "
            "exponential keeps it above the floor.", dims=("City",), group=g))
    add(Var("Secondary share after pandemic", f"Secondary share of nonprimary{c} * Pandemic "
            f"secondary ratio / (Secondary share of nonprimary{c} * Pandemic secondary ratio + "
            f"1 - Secondary share of nonprimary{c})", "Dmnl",
            "Secondary share of non-primary output with the pandemic's sector shift (equal to "
            "the structural share outside the pandemic years).", dims=("City",), group=g))
    add(Var("Value added secondary", f"Nonprimary output{c} * Secondary share after "
            f"pandemic{c}", "Cyuan/Year", "Secondary-sector value added, constant 2010 "
            "prices.", dims=("City",), group=g))
    add(Var("Secondary activity", f"Nonprimary output{c} / Pandemic factor * Secondary share "
            f"of nonprimary{c}", "Cyuan/Year",
            "Secondary output before the pandemic loss and its sector shift: the activity "
            "that drives industrial energy use and process emissions.", dims=("City",),
            group=g))
    add(Var("Value added tertiary", f"Nonprimary output{c} - Value added secondary{c}",
            "Cyuan/Year", "Tertiary-sector value added, constant 2010 prices.",
            dims=("City",), group=g))
    add(Var("Share secondary", f"Value added secondary{c} / GDP{c}", "Dmnl",
            "Secondary share of GDP.", dims=("City",), group=g))
    add(Var("Capital output ratio", f"Productive capital{c} / GDP{c}", "Year",
            "Capital / GDP.", dims=("City",), group=g))
    add(Var("Minimum working population", (0.001,), "wperson",
            "Ten residents: keeps the wage finite in the no-labour extreme condition.",
            kind="const", group=g))
    add(Var("Wage floor", (1e-6,), "Cyuan/(Year*wperson)",
            "0.01 CNY per resident and year: keeps wage ratios finite when output is zero "
            "(extreme conditions only; negligible otherwise).", kind="const", group=g))
    add(Var("Wage", f"(1 - Capital elasticity) * Nonprimary output{c} / MAX(Working age "
            f"population{c}, Minimum working population) + Wage floor", "Cyuan/(Year*wperson)",
            "Labour income per working-age resident (labour share x output per worker).",
            dims=("City",), group=g))
    add(Var("Wage 2010", f"(1 - Capital elasticity) * Nonprimary output 2010{c} / MAX(Working "
            f"age population 2010{c}, Minimum working population)", "Cyuan/(Year*wperson)",
            "Wage in 2010.",
            dims=("City",), group=g))
    return v
def coordination() -> list[Var]:
    c = "[City]"
    g = "coordination"
    v: list[Var] = []
    add = v.append
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
            "itself); symmetric.", dims=("City", "Partner"), group=g))
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
            "Dmnl", "Structural similarity from the 2010 secondary shares.",
            dims=("City",), group=g))
    add(Var("Similarity perception time", (2.0,), "Year",
            "Time for competition between cities to respond to their sector structures "
            "(assumption; range 1-5; also breaks the simultaneous loop B5).",
            kind="const", group=g))
    add(Var("Similarity perception", f"(Structural similarity{c} - Perceived structural "
            f"similarity{c}) / Similarity perception time", "1/Year",
            "Adjustment of perceived structural similarity.", dims=("City",), kind="flow",
            group=g))
    add(Var("Perceived structural similarity", f"Structural similarity 2010{c}", "Dmnl",
            "Structural similarity as it shapes competition (first-order smooth; loop B5).",
            dims=("City",), kind="stock", inflows=("Similarity perception",), group=g))
    add(Var("Maximum duplication loss", (MAX_DUPLICATION,), "Dmnl",
            "TFP loss at identical structures and no coordination (assumption; range "
            "0-0.2).", kind="const", group=g))
    add(Var("Duplication similarity exponent", (DUPLICATION_EXPONENT,), "Dmnl",
            "Curvature of the duplication loss in structural similarity (assumption; range "
            "2-6).", kind="const", group=g))
    add(Var("Division duplication reduction", (0.6,), "Dmnl",
            "Fraction of duplication loss removed by the full division-of-labour lever "
            "(assumption; range 0.3-0.9).", kind="const", group=g))
    add(Var("Duplication loss", f"Maximum duplication loss * Perceived structural "
            f"similarity{c} ^ Duplication similarity exponent * (1 - Agglomeration "
            f"coordination{c}) * (1 - Division duplication reduction * Division of labour "
            "effect)", "Dmnl",
            "TFP lost to duplicated industries and competition between cities (loop B5).",
            dims=("City",), group=g))
    add(Var("Base coordination", (BASE_COORDINATION,), "Dmnl",
            "Agglomeration coordination in 2010 (assumption: the paper finds collaboration "
            "at a primary stage; range 0.1-0.3).", kind="const", group=g))
    add(Var("Coordination service elasticity", (0.2,), "Dmnl",
            "Elasticity of coordination to the service capacity index (assumption; range "
            "0-0.4).", kind="const", group=g))
    add(Var("Coordination gain policy", (0.4,), "Dmnl",
            "Coordination added by the full policy-collaboration lever (assumption; range "
            "0.2-0.6).", kind="const", group=g))
    add(Var("Coordination gain division", (0.2,), "Dmnl",
            "Coordination added by the full division-of-labour lever (assumption; range "
            "0.1-0.3).", kind="const", group=g))
    add(Var("Agglomeration coordination", f"MIN(1, Base coordination * Service capacity "
            f"index{c} ^ Coordination service elasticity + Coordination gain policy * "
            "Policy collaboration effect + Coordination gain division * Division of labour "
            "effect)", "Dmnl",
            "Inter-city coordination (0-1): raised by service capacity and the policy and "
            "division levers; strengthens spillovers and TFP, lowers duplication.",
            dims=("City",), group=g))
    return v


def innovation() -> list[Var]:
    c = "[City]"
    g = "innovation"
    v: list[Var] = []
    add = v.append
    add(Var("Research intensity", RD_INTENSITY, "Dmnl",
            f"R&D expenditure / GDP. Yichang 2.62% ({CSV} "
            "rd_expenditure_to_gdp_AS_REPORTED_NOV2021, S9-S22 news 2021); Jingzhou 1.03% "
            f"({CSV} rd_expenditure_to_gdp 2020); Jingmen 1.5% and Enshi 0.7% are "
            "assumptions (no data; range 0.5-2.5%).",
            dims=("City",), kind="const", group=g))
    add(Var("Innovation intensity gain", (0.3,), "Dmnl",
            "Relative increase of R&D intensity at the full innovation-chain lever "
            "(assumption: +30%, e.g. Yichang 2.6% to 3.4%; range 0.1-0.5).",
            kind="const", group=g))
    add(Var("Extra research spending", f"GDP{c} * Research intensity{c} * Innovation "
            "intensity gain * Innovation chain effect", "Cyuan/Year",
            "R&D added by the innovation-chain lever (paid out of investment).",
            dims=("City",), group=g))
    add(Var("Research spending", f"GDP{c} * Research intensity{c} + Extra research "
            f"spending{c}", "Cyuan/Year", "R&D spending (loop R2).", dims=("City",), group=g))
    add(Var("Research spending 2010", RD_2010, "Cyuan/Year",
            "Reference R&D spending: default Research intensity x GDP 2010 (fixed, so "
            "setting R&D to 0 gives no 0/0).", dims=("City",), kind="const", group=g))
    add(Var("Perpetual inventory rate", (0.25,), "1/Year",
            "Pre-2010 R&D growth (10%/yr) + knowledge depreciation (15%/yr) for the "
            "perpetual-inventory initial stock (Hall 2007, NBER w13473).",
            kind="const", group=g))
    add(Var("Knowledge stock 2010", KNOW_2010, "Cyuan",
            "Initial knowledge (R&D capital) stock by perpetual inventory: R&D 2010 / "
            "(g + delta) with g = 10%/yr, delta = 15%/yr (Hall 2007, NBER w13473).",
            dims=("City",), kind="const", group=g))
    add(Var("Knowledge intensity", f"Knowledge stock{c} / Productive capital{c}", "Dmnl",
            "R&D capital per unit of productive capital.", dims=("City",), group=g))
    add(Var("Knowledge intensity 2010", f"Knowledge stock 2010{c} / Productive capital "
            f"2010{c}", "Dmnl", "Knowledge intensity in 2010.", dims=("City",), group=g))
    add(Var("Frontier research intensity", (0.03,), "Dmnl",
            "R&D / GDP of the knowledge frontier the cities learn from (China 2.40% in 2020, "
            "NBS/MOST/MOF statistical communiqué on S&T expenditure 2020; Wuhan higher; "
            "assumption 3%, range 2.4-3.5%).", kind="const", group=g))
    add(Var("Frontier knowledge intensity", "Frontier research intensity / Perpetual "
            "inventory rate / Capital output ratio 2010", "Dmnl",
            "Knowledge per unit of capital at the frontier (steady-state perpetual inventory "
            "at the frontier's R&D intensity, at the cities' 2010 capital-output ratio).",
            group=g))
    add(Var("Conversion efficiency 2010", (1.0,), "Dmnl",
            "Knowledge created per yuan of R&D in 2010 (knowledge measured as R&D "
            "capital).", kind="const", group=g))
    add(Var("Service conversion elasticity", (0.2,), "Dmnl",
            "Elasticity of conversion efficiency to the service capacity index "
            "(assumption; range 0-0.4; loop R3).", kind="const", group=g))
    add(Var("Innovation conversion gain", (0.3,), "Dmnl",
            "Conversion efficiency gain at the full innovation-chain lever (better "
            "transformation institutions; assumption; range 0.1-0.5).",
            kind="const", group=g))
    add(Var("Policy service gain", (0.1,), "Dmnl",
            "Service efficiency gain at the full policy-collaboration lever (assumption; "
            "range 0-0.2).", kind="const", group=g))
    add(Var("Knowledge fishing out", (0.1,), "Dmnl",
            "Diminishing returns of knowledge production in the knowledge stock "
            "(Jones 1995 'fishing out'; assumption; range 0-0.3; loop B3).",
            kind="const", group=g))
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
            "range 0-0.03).", kind="const", group=g))
    add(Var("Spillover coordination gain", (0.5,), "Dmnl",
            "Relative spillover increase at full coordination (assumption; range 0-1).",
            kind="const", group=g))
    add(Var("Division spillover gain", (0.3,), "Dmnl",
            "Relative spillover increase at the full division-of-labour lever (multicentre "
            "spillovers; assumption; range 0-0.6).", kind="const", group=g))
    add(Var("Knowledge spillover", "Spillover rate * (1 + Spillover coordination gain * "
            "Agglomeration coordination[City] + Division spillover gain * Division of labour "
            "effect) * " + csum("Spillover weight[City,{c}] * Knowledge stock[{c}]"),
            "Cyuan/Year", "Distance-weighted knowledge spillover from partner cities "
            "(loop R4).", dims=("City",), kind="flow", group=g))
    add(Var("External absorption rate", (0.1,), "1/Year",
            "Share of the gap to the frontier's knowledge intensity absorbed per year at "
            "full absorptive capacity (assumption; range 0.03-0.3).",
            kind="const", group=g))
    add(Var("Innovation absorption gain", (0.5,), "Dmnl",
            "Relative absorption increase at the full innovation-chain lever (talent, "
            "external absorption; assumption; range 0.2-1).", kind="const", group=g))
    add(Var("External knowledge absorption", f"External absorption rate * MIN(1, Knowledge "
            f"intensity{c} / Frontier knowledge intensity) * MAX(0, Frontier knowledge "
            f"intensity * Productive capital{c} - Knowledge stock{c}) * (1 + Innovation "
            "absorption gain * Innovation chain effect)", "Cyuan/Year",
            "Knowledge absorbed from the exogenous frontier (Wuhan / national): a share of "
            "the gap to the frontier's knowledge intensity, limited by absorptive capacity "
            "(own knowledge intensity relative to the frontier's).",
            dims=("City",), kind="flow", group=g))
    add(Var("Knowledge depreciation rate", (0.15,), "1/Year",
            "Knowledge depreciation 15%/yr (Griliches convention; Hall 2007; MODEL.md "
            "table; range 0.08-0.25).", kind="const", group=g))
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
    add(Var("Patent scale", CAL_PATENT_SCALE, "patent/Year",
            "Patents per year at 2010 R&D and knowledge; fitted to the 2021 patents of the "
            f"paper ({CSV} patents_obtained 2021, Zhao, Wu & Qin 2023): one observation, one "
            "value, exact by construction.", dims=("City",), kind="const", group=g))
    add(Var("Patent research elasticity", (0.6,), "Dmnl",
            "Patent-R&D elasticity: about 1 in OECD, lower in developing economies (Bosch, "
            "Lederman & Maloney, World Bank).", kind="const", group=g))
    add(Var("Patent knowledge elasticity", (0.2,), "Dmnl",
            "Patent elasticity to the knowledge stock; with the R&D elasticity sums below 1 "
            "(diminishing returns, loop B3; assumption; range 0-0.4).", kind="const", group=g))
    add(Var("Patents", f"Patent scale{c} * ((Research spending{c} + Innovation lending{c}) "
            f"/ Research spending 2010{c}) ^ Patent research elasticity * (Knowledge "
            f"stock{c} / Knowledge stock 2010{c}) ^ Patent knowledge elasticity",
            "patent/Year", "Patents obtained per year (patent production function).",
            dims=("City",), group=g))
    return v


def service() -> list[Var]:
    c = "[City]"
    g = "service"
    v: list[Var] = []
    add = v.append
    add(Var("Service investment share", (0.04,), "Dmnl",
            "Share of GDP spent building service capacity (public services, finance, "
            "intermediaries; assumption; range 0.02-0.08).", kind="const", group=g))
    add(Var("Service depreciation rate", (0.1,), "1/Year",
            "Depreciation of service capacity (assumption; range 0.05-0.15).",
            kind="const", group=g))
    add(Var("Service initial growth", (0.1,), "1/Year",
            "Growth rate assumed before 2010 for the perpetual-inventory initial service "
            "capacity.", kind="const", group=g))
    add(Var("Policy service investment gain", (0.3,), "Dmnl",
            "Relative increase of service investment at the full policy-collaboration "
            "lever (shared public services; assumption; range 0.1-0.5).",
            kind="const", group=g))
    add(Var("Service capacity 2010", f"Service investment share * GDP 2010{c} / "
            "(Service depreciation rate + Service initial growth)", "Cyuan",
            "Initial service capacity (perpetual inventory).", dims=("City",), group=g))
    add(Var("Extra service investment", f"GDP{c} * Service investment share * Policy "
            "service investment gain * Policy collaboration effect", "Cyuan/Year",
            "Service investment added by the policy-collaboration lever.", dims=("City",),
            group=g))
    add(Var("Service investment", f"GDP{c} * Service investment share + Extra service "
            f"investment{c}", "Cyuan/Year",
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
    add(Var("Lending rate", (*CAL_LENDING_RATE, LENDING_RATE[3]), "Dmnl",
            "New lending / nominal GDP (free parameter, bounds [0.05, 0.8]; default = the "
            "calibrated value; Enshi, without loan data: loans/GDP 2010 x (1/maturity + "
            "10%/yr)).",
            dims=("City",), kind="const", group=g))
    add(Var("Loan maturity", (LOAN_MATURITY,), "Year",
            "Average loan maturity (assumption; range 3-10; fixed: it cannot be separated "
            "from the lending rate with loans data alone).", kind="const", group=g))
    add(Var("New lending", f"GDP{c} * Price level{c} * Lending rate{c}", "Cyuan/Year",
            "New loans issued by financial institutions, current prices.", dims=("City",),
            kind="flow", group=g))
    add(Var("Loan repayment", f"Loans{c} / Loan maturity", "Cyuan/Year",
            "Loans repaid, current prices.", dims=("City",), kind="flow", group=g))
    add(Var("Loans", f"Loans 2010{c}", "Cyuan",
            "Loans outstanding of financial institutions, current prices (as the data).",
            dims=("City",), kind="stock", inflows=("New lending",),
            outflows=("Loan repayment",), group=g))
    add(Var("Financial depth", f"Loans{c} / (GDP{c} * Price level{c})", "Year",
            "Loans / nominal GDP.", dims=("City",), group=g))
    add(Var("Financial depth 2010", f"Loans 2010{c} / GDP 2010{c}", "Year",
            "Loans / GDP in 2010.", dims=("City",), group=g))
    add(Var("Maximum technology finance share", (0.02,), "Dmnl",
            "Share of new lending directed to innovation at the full technology-finance "
            "lever (assumption; range 0.01-0.05).", kind="const", group=g))
    add(Var("Innovation lending", f"New lending{c} / Price level{c} * Maximum technology "
            "finance share * Technology finance effect", "Cyuan/Year",
            "New lending directed to innovation, constant prices (adds to R&D; no longer "
            "finances investment).", dims=("City",), group=g))
    return v
FYP_ENERGY_TARGETS = (  # (name, first year, % change over the plan), drivers_and_targets.csv
    ("11th", 2006, -20.0, "S27"), ("12th", 2011, -16.0, "S29, S31 (Hubei allocation -16%)"),
    ("13th", 2016, -15.0, "S32"), ("14th", 2021, -13.5, "S34"),
)
# Hubei's achieved energy-intensity change (drivers_and_targets.csv): (variable suffix, first
# year, last year, % change from the year before the first to the last year, source)
HUBEI_ENERGY_OUTCOMES = (
    ("12th FYP", 2011, 2015, -22.78, "S40 (鄂政发〔2016〕62号)"),
    ("2016 to 2018", 2016, 2018, -13.96, "S42 (湖北日报 2019-06-18)"),
    ("13th FYP", 2016, 2020, -18.0, "S41 (湖北省应对气候变化“十四五”规划, 初步核算)"),
)


def costs() -> list[Var]:
    c = "[City]"
    g = "costs"
    v: list[Var] = []
    add = v.append
    add(Var("Policy collaboration budget share", (0.002,), "Dmnl",
            "Running cost of joint planning bodies and integrated administration, share of "
            "GDP at the full lever (assumption; range 0.001-0.005).", kind="const", group=g))
    add(Var("Green transition cost share", (0.015,), "Dmnl",
            "Extra low-carbon investment at the full green-transition lever, share of GDP "
            "(Tsinghua ICCSD 2020, China's long-term low-carbon strategies: about 138 "
            "trillion CNY over 2020-2050 for the 1.5 C pathway, roughly 2-2.5% of GDP a year "
            "for the whole transition; range 0.005-0.025).", kind="const", group=g))
    add(Var("CCS cost", (4.0,), "Cyuan/Mt",
            "Capture, transport and storage cost, 400 CNY/t CO2 (China CCUS annual report "
            "2021, CAEP/ACCA21: capture about 90-730 CNY/t by source; range 2-7 Cyuan/Mt).",
            kind="const", group=g))
    add(Var("Policy collaboration cost", f"GDP{c} * Policy collaboration budget share * "
            f"Policy collaboration effect + Extra service investment{c}", "Cyuan/Year",
            "Cost of the policy-collaboration lever: running costs and the extra service "
            "investment.", dims=("City",), group=g))
    add(Var("Innovation chain cost", f"Extra research spending{c}", "Cyuan/Year",
            "Cost of the innovation-chain lever: the extra R&D.", dims=("City",), group=g))
    add(Var("Division of labour cost", f"Relocation cost * Capital inflow{c} * Division "
            "transfer gain * Division of labour effect / (1 + Division transfer gain * "
            "Division of labour effect)", "Cyuan/Year",
            "Cost of the division-of-labour lever: relocation of the capital it moves.",
            dims=("City",), group=g))
    add(Var("Green transition cost", f"GDP{c} * Green transition cost share * Green "
            "transition effect", "Cyuan/Year", "Cost of the green-transition lever.",
            dims=("City",), group=g))
    add(Var("Technology finance cost", f"Innovation lending{c}", "Cyuan/Year",
            "Cost of the technology-finance lever: lending diverted from investment.",
            dims=("City",), group=g))
    add(Var("Carbon removal cost", f"CCS cost * Captured CO2{c}", "Cyuan/Year",
            "Cost of the carbon-removal lever: CCS per tonne captured.", dims=("City",),
            group=g))
    add(Var("Lever costs", f"Policy collaboration cost{c} + Innovation chain cost{c} + "
            f"Division of labour cost{c} + Green transition cost{c} + Technology finance "
            f"cost{c} + Carbon removal cost{c}", "Cyuan/Year",
            "All lever costs; they crowd out investment one for one.", dims=("City",),
            group=g))
    add(Var("Lever cost share", f"Lever costs{c} / GDP{c}", "Dmnl",
            "Lever costs as a share of GDP.", dims=("City",), group=g))
    return v


def carbon() -> list[Var]:
    c = "[City]"
    g = "carbon"
    v: list[Var] = []
    add = v.append
    add(Var("Process emission share 2010", (0.0775,), "Dmnl",
            "Process (cement etc.) share of 2010 CO2: Hubei 26.16 of 337.66 Mt "
            "(city_stats.csv co2_emissions_CEADs_process and scope1_total 2010, S8); applied "
            "to each city (assumption; range 0.05-0.12).", kind="const", group=g))
    add(Var("Industry energy share 2010", (0.75,), "Dmnl",
            "Industry's share of 2010 energy-related CO2 (no city energy balance in the "
            "data; assumption; range 0.6-0.85).", kind="const", group=g))
    add(Var("Process intensity 2010", f"CO2 emissions 2010{c} * Process emission share 2010 "
            f"/ Value added secondary 2010{c}", "Mt/Cyuan",
            "Process CO2 per unit of secondary value added, 2010.", dims=("City",), group=g))
    add(Var("Industry energy CO2 intensity 2010", f"CO2 emissions 2010{c} * (1 - Process "
            f"emission share 2010) * Industry energy share 2010 / Value added secondary "
            f"2010{c}", "Mt/Cyuan", "Energy CO2 per unit of secondary value added, 2010.",
            dims=("City",), group=g))
    add(Var("Other energy CO2 intensity 2010", f"CO2 emissions 2010{c} * (1 - Process "
            f"emission share 2010) * (1 - Industry energy share 2010) / (Value added primary "
            f"2010{c} + Value added tertiary 2010{c})", "Mt/Cyuan",
            "Energy CO2 per unit of primary + tertiary value added (with households), 2010.",
            dims=("City",), group=g))
    # -- Five-Year-Plan targets
    for name, first, pct, src in FYP_ENERGY_TARGETS:
        add(Var(f"Energy intensity target {name} FYP", (pct,), "Dmnl",
                f"National energy-intensity change over the {name} Five-Year Plan "
                f"({first}-{first + 4}), % (drivers_and_targets.csv, {src}).",
                kind="const", group=g))
    add(Var("Plan period", (5.0,), "Year", "Length of a Five-Year Plan.",
            kind="const", group=g))
    t12, t13, t14 = (f"Energy intensity target {n} FYP" for n in ("12th", "13th", "14th"))
    add(Var("Required energy intensity decline", "-LN(1 + IF THEN ELSE(Time < 2010, Energy "
            f"intensity target 11th FYP, IF THEN ELSE(Time < 2015, {t12}, IF THEN ELSE(Time < "
            f"2020, {t13}, {t14}))) / 100) / Plan period", "1/Year",
            "Continuous annual decline of energy intensity that the plan in force requires; "
            "each target acts on the years of its plan (the change into year t acts during "
            "[t-1, t)). After 2025 the 14th-plan rate continues (assumption: later plans "
            "were not set when the data end).",
            group=g))
    for suffix, first, last, pct, src in HUBEI_ENERGY_OUTCOMES:
        add(Var(f"Hubei energy intensity outcome {suffix}", (pct,), "Dmnl",
                f"Hubei's achieved energy-intensity change {first - 1}-{last}, % "
                f"(drivers_and_targets.csv, {src}).", kind="const", group=g))
    add(Var("Last outcome year", (2020.0,), "Year",
            "Last year with an achieved Hubei energy-intensity change (S41): the plan "
            "targets take over after it.", kind="const", group=g))
    o12, o1618, o13 = (f"Hubei energy intensity outcome {x[0]}" for x in HUBEI_ENERGY_OUTCOMES)
    add(Var("Outcome years 2016 to 2018", (3.0,), "Year",
            "Length of the 2016-2018 outcome period (S42).", kind="const", group=g))
    add(Var("Outcome years 2019 to 2020", (2.0,), "Year",
            "Length of the rest of the 13th plan after 2018.", kind="const", group=g))
    add(Var("Achieved energy intensity decline", f"IF THEN ELSE(Time < 2015, -LN(1 + {o12} / "
            f"100) / Plan period, IF THEN ELSE(Time < 2018, -LN(1 + {o1618} / 100) / Outcome "
            f"years 2016 to 2018, -LN((1 + {o13} / 100) / (1 + {o1618} / 100)) / Outcome years "
            "2019 to 2020))", "1/Year",
            "Hubei's achieved continuous annual decline of energy intensity: 2011-2015 "
            "(12th plan outcome), 2016-2018 and 2019-2020 (the 13th-plan outcome net of "
            "2016-2018: the decline slowed to 2.4 %/yr, from 5.0 %/yr in 2016-2018).",
            group=g))
    add(Var("Provincial energy intensity decline", "IF THEN ELSE(Time < Last outcome year, "
            "Achieved energy intensity decline, Required energy intensity decline)", "1/Year",
            "Energy-intensity decline of Hubei: achieved to 2020 (S40-S42), then the plan "
            "target in force (14th plan -13.5 % over five years; the province is assumed to "
            "meet it).", group=g))
    add(Var("Target compliance", (*CAL_COMPLIANCE, 1.0), "Dmnl",
            "City / Hubei energy-intensity decline (Hubei's achieved decline to 2020, the "
            "plan target after). Fitted per city to EDGAR CO2 (bounds [0, 6]; default = the "
            "calibrated value); Enshi (no series) follows Hubei (1; assumption, range "
            "0.7-1.5).",
            dims=("City",), kind="const", group=g))
    add(Var("Compliance fade time", (10.0,), "Year",
            "Time constant over which a city's faster decline than the province's "
            "(compliance above 1) fades after the last data year: the fitted excess reflects "
            "one-off "
            "restructuring in 2010-2021 (e.g. chemical plants moved away from the Yangtze from "
            "2017) and cannot be extrapolated for decades; China's best five-year energy-"
            "intensity decline was about 5%/yr (assumption, range 5-40 years).",
            kind="const", group=g))
    add(Var("Effective compliance", f"1 + (Target compliance{c} - 1) * IF THEN ELSE(Time <= "
            "Grid factor data year, 1, EXP(-(Time - Grid factor data year) / Compliance fade "
            "time))", "Dmnl",
            "City / provincial decline: the fitted compliance to the last data year, then "
            "fading toward the provincial rate (the plan target).", dims=("City",), group=g))
    add(Var("Green transition intensity rate", (0.02,), "1/Year",
            "Extra energy-intensity decline at the full green-transition lever (assumption; "
            "range 0.01-0.04).", kind="const", group=g))
    add(Var("Green transition other fraction", (0.5,), "Dmnl",
            "Part of the green-transition extra decline that applies outside industry "
            "(assumption; range 0.25-1).", kind="const", group=g))
    add(Var("Stringency max decline rate", (0.03,), "1/Year",
            "Extra energy-intensity decline at full policy stringency (assumption; range "
            "0.01-0.05; loop B4).", kind="const", group=g))
    add(Var("Industry intensity decline rate", f"Effective compliance{c} * Provincial energy "
            "intensity decline + Green transition intensity rate * Green transition effect + "
            f"Stringency max decline rate * Policy stringency{c}", "1/Year",
            "Fractional decline of industrial energy intensity.", dims=("City",), group=g))
    add(Var("Other intensity decline rate", f"Effective compliance{c} * Provincial energy "
            "intensity decline + Green transition intensity rate * Green transition other "
            "fraction * Green transition effect + Stringency max decline rate * Policy "
            f"stringency{c}", "1/Year",
            "Fractional decline of the rest-of-economy energy intensity.", dims=("City",),
            group=g))
    for sector, rate in (("Industry", "Industry intensity decline rate"),
                         ("Other", "Other intensity decline rate")):
        add(Var(f"{sector} energy intensity decline", f"{sector} energy intensity{c} * "
                f"{rate}{c}", "1/Year", f"Decline of the {sector.lower()} energy-intensity "
                "index (no floor: the index falls exponentially).", dims=("City",),
                kind="flow", group=g))
        add(Var(f"{sector} energy intensity", "1", "Dmnl",
                f"Energy use per unit of value added, {sector.lower()}, 2010 = 1.",
                dims=("City",), kind="stock", outflows=(f"{sector} energy intensity decline",),
                group=g))
    # -- emission factors
    add(Var("Electricity share 2010", (0.21,), "Dmnl",
            "Electricity share of final energy use in 2010 (China about 21%: IEA World "
            "Energy Balances; assumption for the cities, range 0.15-0.3).",
            kind="const", group=g))
    add(Var("Electrification pace", (0.006,), "1/Year",
            "Autonomous rise of the electricity share per year (China about 21% in 2010 to "
            "27% in 2020, IEA; range 0.004-0.01).", kind="const", group=g))
    add(Var("Green electrification pace", (0.02,), "1/Year",
            "Extra electrification per year at the full green-transition lever (assumption; "
            "range 0.01-0.03: deep-decarbonisation pathways electrify most final energy by "
            "2060, Tsinghua ICCSD 2020).", kind="const", group=g))
    add(Var("Stringency electrification pace", (0.005,), "1/Year",
            "Extra electrification per year at full policy stringency (assumption; range "
            "0-0.01).", kind="const", group=g))
    add(Var("Maximum electricity share", (0.9,), "Dmnl",
            "Electricity share that cannot be exceeded (assumption; range 0.7-0.95).",
            kind="const", group=g))
    add(Var("Electrification", f"(Electrification pace + Green electrification pace * Green "
            f"transition effect + Stringency electrification pace * Policy stringency{c}) * "
            f"MAX(0, 1 - Electricity share{c} / Maximum electricity share)", "1/Year",
            "Rise of the electricity share.", dims=("City",), kind="flow", group=g))
    add(Var("Electricity share", "Electricity share 2010", "Dmnl",
            "Electricity share of final energy use.", dims=("City",), kind="stock",
            inflows=("Electrification",), group=g))
    add(Var("Fossil emission factor", (2.66,), "tCO2/tce",
            "CO2 per tonne of coal equivalent of fossil fuel burnt (standard coal, IPCC 2006 "
            "and NDRC provincial inventory guideline 2011; coal dominates Hubei's fossil "
            "use).", kind="const", group=g))
    add(Var("Electricity calorific equivalent", (0.1229,), "tce/MWh",
            "Coal equivalent of 1 MWh (calorific-value method of China's energy "
            "statistics).", kind="const", group=g))
    add(Var("Grid emission factor 2010", (GRID_EF_2010,), "tCO2/MWh",
            "Hubei average grid factor 2010, derived: the 2021 factor x thermal share of "
            f"Hubei generation 2010 ({THERMAL_SHARE_2010:.4f}) / 2021 "
            f"({THERMAL_SHARE_2021:.4f}) (S49).", kind="const", group=g))
    add(Var("Grid emission factor 2021", (GRID_EF_2021,), "tCO2/MWh",
            "Hubei provincial average electricity CO2 factor 2021 (MEE/NBS via S48).",
            kind="const", group=g))
    add(Var("Grid emission factor 2060", (0.1,), "tCO2/MWh",
            "Grid factor reached in 2060 (exogenous; scenario input. Assumption 0.1: the "
            "2060 neutrality pledge, set in 2020, needs a nearly carbon-free power system, "
            "Tsinghua ICCSD 2020; range 0-0.25).", kind="const", group=g))
    add(Var("Grid factor data year", (2021.0,), "Year",
            "Last year with an official grid factor (S48).", kind="const", group=g))
    add(Var("Grid factor target year", (2060.0,), "Year",
            "Year the exogenous grid path reaches its 2060 value.", kind="const", group=g))
    add(Var("Grid emission factor", "IF THEN ELSE(Time <= Grid factor data year, Grid "
            "emission factor 2010 + (Grid emission factor 2021 - Grid emission factor 2010) * "
            "(Time - Base year) / (Grid factor data year - Base year), Grid emission factor "
            "2021 + (Grid emission factor 2060 - Grid emission factor 2021) * MIN(1, (Time - "
            "Grid factor data year) / (Grid factor target year - Grid factor data year)))",
            "tCO2/MWh",
            "Average CO2 per MWh of electricity used (exogenous path: linear between the "
            "2010 and 2021 values, then to the 2060 value).", group=g))
    add(Var("Energy emission factor", f"(1 - Electricity share{c}) * Fossil emission factor "
            f"+ Electricity share{c} * Grid emission factor / Electricity calorific "
            "equivalent", "tCO2/tce", "CO2 per tonne of coal equivalent of final energy.",
            dims=("City",), group=g))
    add(Var("Energy emission factor 2010", "(1 - Electricity share 2010) * Fossil emission "
            "factor + Electricity share 2010 * Grid emission factor 2010 / Electricity "
            "calorific equivalent", "tCO2/tce", "Energy emission factor in 2010.", group=g))
    add(Var("Emission factor index", f"Energy emission factor{c} / Energy emission factor "
            "2010", "Dmnl", "CO2 per unit of final energy relative to 2010.",
            dims=("City",), group=g))
    add(Var("Process intensity decline rate", (0.02,), "1/Year",
            "Decline of process CO2 per unit of secondary value added (clinker substitution, "
            "structural change inside industry; assumption; range 0-0.04).",
            kind="const", group=g))
    add(Var("Process intensity", "EXP(-Process intensity decline rate * (Time - Base "
            "year))", "Dmnl", "Process CO2 per unit of secondary value added, 2010 = 1.",
            group=g))
    # -- emissions
    add(Var("Industry energy CO2", f"Secondary activity{c} * Industry "
            f"energy CO2 intensity 2010{c} * Industry energy intensity{c} * Emission factor "
            f"index{c}", "Mt/Year",
            "Energy CO2 of the secondary sector: activity x energy intensity x emission "
            "factor. Activity is output before the pandemic loss: energy use did not follow "
            "the 2020 output drop (China's CO2 rose in 2020, Global Carbon Budget 2021; the "
            "cities' EDGAR series too), so emissions are computed on pre-shock activity "
            "(assumption).", dims=("City",), group=g))
    add(Var("Process CO2", f"Secondary activity{c} * Process intensity "
            f"2010{c} * Process intensity", "Mt/Year", "Process CO2 (cement, chemicals).",
            dims=("City",), group=g))
    add(Var("Other energy CO2", f"(Value added primary{c} + Nonprimary output{c} / "
            f"Pandemic factor - Secondary activity{c}) * Other energy CO2 intensity "
            f"2010{c} * Other energy intensity{c} * Emission factor index{c}", "Mt/Year",
            "Energy CO2 of agriculture, services and households (pre-shock activity, as for "
            "industry).", dims=("City",), group=g))
    add(Var("Power plant capacity", per_city(0.0, 1320.0, 0.0, 0.0), "MWh/Hour",
            "Large coal power plant commissioned in the city during 2010-2021 whose output is "
            "mostly fed to the grid: Jingzhou, Huadian Jiangling plant phase I, 2 x 660 MW "
            "ultra-supercritical, due in operation June/August 2017 (lnmo.com.cn news "
            "2015-09-30 on the start of construction). None found for the other cities "
            "(assumption).", dims=("City",), kind="const", group=g))
    add(Var("Power plant start year", (2017.5,), "Year",
            "Commissioning of the Jiangling units (June and August 2017).",
            kind="const", group=g))
    add(Var("Power plant load hours", (4500.0,), "Hour/Year",
            "Full-load hours of the plant (assumption; Chinese coal units ran about "
            "4,000-4,500 h/yr in the late 2010s; range 3500-5500).", kind="const", group=g))
    add(Var("Power plant emission factor", (0.8,), "tCO2/MWh",
            "CO2 per MWh of an ultra-supercritical coal unit (about 290 gce/kWh x 2.66 "
            "tCO2/tce; assumption, range 0.75-0.85).", kind="const", group=g))
    add(Var("Tonnes per megatonne", (1e6,), "tCO2/Mt", "Unit conversion.", kind="const",
            group=g))
    add(Var("Power plant CO2", f"Power plant capacity{c} * Power plant load hours * Power "
            "plant emission factor / Tonnes per megatonne * IF THEN ELSE(Time >= Power plant "
            "start year, 1, 0) * MIN(1, Grid emission factor / Grid emission factor 2021)",
            "Mt/Year",
            "Territorial CO2 of the grid-feeding plant (EDGAR counts it in the city); its "
            "output falls with the grid's emission factor after 2021 (assumption).",
            dims=("City",), group=g))
    add(Var("Gross CO2 emissions", f"Industry energy CO2{c} + Process CO2{c} + Other energy "
            f"CO2{c} + Power plant CO2{c}", "Mt/Year", "CO2 before capture.", dims=("City",),
            group=g))
    add(Var("Maximum CCS capture", (0.9,), "Dmnl",
            "Share of industrial energy and process CO2 captured at the full carbon-removal "
            "lever (capture rates of 85-90% at equipped plants, IEA 2020 CCUS in Clean "
            "Energy Transitions; assumption that all large industrial sources are equipped, range "
            "0.5-0.9).",
            kind="const", group=g))
    add(Var("Captured CO2", f"Maximum CCS capture * Carbon removal effect * (Industry energy "
            f"CO2{c} + Process CO2{c} + Power plant CO2{c})", "Mt/Year",
            "CO2 captured and stored (industry, process and power plant).",
            dims=("City",), group=g))
    add(Var("CO2 emissions", f"Gross CO2 emissions{c} - Captured CO2{c}", "Mt/Year",
            "Net CO2 emissions of the city (EDGAR-consistent level; equals gross "
            "emissions when no CCS).", dims=("City",), kind="flow", group=g))
    add(Var("Forest carbon sink", per_city(5.73, 0.0, 0.0, 0.0), "Mt/Year",
            "CO2 taken up by the city's forests. Yichang: 5.73 Mt CO2 in 2022 (forest carbon "
            "stock +1.56 Mt C; Yichang Forestry and Landscape Bureau via China News Service, "
            "2023-04-22, news.9774.com.cn/news/shiz/2023/0422/32507.html). Held at that level "
            "(assumption, range 0.5-1.2 times: sinks fall as forests mature, rise with "
            "afforestation). Jingzhou, Jingmen, Enshi: no city figure in reach (searched), "
            "so 0, a lower bound.",
            dims=("City",), kind="const", group=g))
    add(Var("CO2 balance after forest sink", f"CO2 emissions{c} - Forest carbon sink{c}",
            "Mt/Year",
            "Net emissions (after CCS) minus the forest sink: zero is net zero. Not fitted "
            "(EDGAR counts no land-use fluxes).", dims=("City",), group=g))
    add(Var("Industry CO2 emissions", f"(Industry energy CO2{c} + Process CO2{c}) * (1 - "
            "Maximum CCS capture * Carbon removal effect)", "Mt/Year",
            "Net CO2 of the secondary sector (power plant excluded).", dims=("City",),
            group=g))
    add(Var("Carbon intensity", f"CO2 emissions{c} / GDP{c}", "Mt/Cyuan",
            "CO2 per unit of GDP (Mt per 亿元; x100 = t per 10^4 CNY).", dims=("City",),
            group=g))
    add(Var("Transferred CO2 emissions", f"Relocated capital{c} * Nonprimary output{c} / "
            f"Productive capital{c} * Secondary share of nonprimary{c} * Industry CO2 "
            f"emissions{c} / Value added secondary{c}", "Mt/Year",
            "Emissions of the industry relocated into the city by gradient transfer (negative "
            "= moved out): carbon leakage inside the cluster.", dims=("City",), group=g))
    add(Var("Cumulative CO2 emissions", "0", "Mt", "CO2 emitted since 2010.",
            dims=("City",), kind="stock", inflows=("CO2 emissions",), group=g))
    add(Var("Agglomeration CO2 emissions", csum("CO2 emissions[{c}]"), "Mt/Year",
            "CO2 emissions of the four cities together.", kind="flow", group=g))
    add(Var("Agglomeration cumulative CO2 emissions", "0", "Mt",
            "CO2 emitted by the four cities since 2010. (Also the model's one scalar stock, "
            "which keeps PySD's state vector ragged so stocks stay float arrays: about 8x "
            "faster runs.)", kind="stock", inflows=("Agglomeration CO2 emissions",), group=g))
    # -- pledges and policy stringency (loop B4)
    add(Var("Pledge year", (2020.0,), "Year",
            "Year the peak-before-2030 and neutrality-before-2060 pledges were announced "
            "(22 Sep 2020, S39): the stringency loop acts from then on.",
            kind="const", group=g))
    add(Var("Target peak year", (2030.0,), "Year",
            "Emissions may not rise after this year (peak before 2030, NDC 2021, S38).",
            kind="const", group=g))
    add(Var("Target neutrality year", (2060.0,), "Year",
            "Year the target path reaches its residual (neutrality before 2060, S39).",
            kind="const", group=g))
    add(Var("Target residual fraction", (0.1,), "Dmnl",
            "Gross emissions at neutrality as a fraction of the pledge-year level (rest "
            "offset by sinks; assumption; range 0.05-0.2).", kind="const", group=g))
    add(Var("Reference adjustment time", (1.0,), "Year",
            "Averaging time of the emissions level the pledge refers to.",
            kind="const", group=g))
    add(Var("Reference update", f"IF THEN ELSE(Time < Pledge year, (CO2 emissions{c} - "
            f"Reference emissions{c}) / Reference adjustment time, 0)", "Mt/(Year*Year)",
            "Tracks emissions until the pledge year, then holds.", dims=("City",),
            kind="flow", group=g))
    add(Var("Reference emissions", f"CO2 emissions 2010{c}", "Mt/Year",
            "Emissions level at the pledge (smoothed over one year, frozen afterwards).",
            dims=("City",), kind="stock", inflows=("Reference update",), group=g))
    add(Var("Target index", "IF THEN ELSE(Time <= Target peak year, 1, MAX(Target residual "
            "fraction, 1 - (1 - Target residual fraction) * (Time - Target peak year) / "
            "(Target neutrality year - Target peak year)))", "Dmnl",
            "Pledge path relative to the pledge-year level: no rise to the peak year, then a "
            "linear decline to the residual at neutrality.", group=g))
    add(Var("Emission target", f"Reference emissions{c} * Target index", "Mt/Year",
            "City emission target path.", dims=("City",), group=g))
    add(Var("Stringency sensitivity", (2.0,), "Dmnl",
            "Indicated stringency per unit relative excess of emissions over target "
            "(assumption; range 1-4).", kind="const", group=g))
    add(Var("Indicated stringency", f"IF THEN ELSE(Time >= Pledge year, MIN(1, MAX(0, "
            f"Stringency sensitivity * (CO2 emissions{c} / Emission target{c} - 1))), 0)",
            "Dmnl", "Stringency the government aims at given the emission gap; 0 before the "
            "pledges existed (loop B4).", dims=("City",), group=g))
    add(Var("Stringency adjustment time", (3.0,), "Year",
            "Time to adjust policy stringency (assumption; range 1-5).",
            kind="const", group=g))
    add(Var("Stringency change", f"(Indicated stringency{c} - Policy stringency{c}) / "
            "Stringency adjustment time", "1/Year", "Adjustment of policy stringency.",
            dims=("City",), kind="flow", group=g))
    add(Var("Policy stringency", "0", "Dmnl",
            "Carbon policy stringency (0-1): speeds intensity decline and electrification "
            "and costs GDP share (loop B4).", dims=("City",), kind="stock",
            inflows=("Stringency change",), group=g))
    add(Var("Stringency cost share", (0.01,), "Dmnl",
            "Compliance cost of full policy stringency, share of GDP (assumption; range "
            "0.005-0.02).", kind="const", group=g))
    add(Var("Carbon policy cost", f"GDP{c} * Stringency cost share * Policy stringency{c}",
            "Cyuan/Year", "Cost of carbon policy, crowding out investment (loop B4).",
            dims=("City",), group=g))
    return v
SERVICE_2010 = tuple(0.04 * g / 0.2 for g in GDP_2010)
BENCHMARKS = {  # 2010 per-resident values of the four cities: (lowest, highest)
    "Industry": (min(x / p for x, p in zip(VA2_2010, POP_2010)),
                 max(x / p for x, p in zip(VA2_2010, POP_2010))),
    "Innovation": (min(x / p for x, p in zip(KNOW_2010, POP_2010)),
                   max(x / p for x, p in zip(KNOW_2010, POP_2010))),
    "Service": (min(x / p for x, p in zip(SERVICE_2010, POP_2010)),
                max(x / p for x, p in zip(SERVICE_2010, POP_2010))),
}


def coupling() -> list[Var]:
    c = "[City]"
    g = "coupling"
    v: list[Var] = []
    add = v.append
    add(Var("Benchmark lower fraction", (0.5,), "Dmnl",
            "Lower benchmark of each chain index as a fraction of the lowest 2010 city value "
            "(reference set: the four cities in 2010; assumption).", kind="const", group=g))
    add(Var("Benchmark upper multiple", (8.0,), "Dmnl",
            "Upper benchmark of each chain index as a multiple of the highest 2010 city "
            "value (reference set: the four cities in 2010; chosen so that every scenario "
            "stays below it to 2060; assumption).", kind="const", group=g))
    for chain, x, units in (("Industry", "Value added secondary", "Cyuan/(Year*wperson)"),
                            ("Innovation", "Knowledge stock", "Cyuan/wperson"),
                            ("Service", "Service capacity", "Cyuan/wperson")):
        low, high = BENCHMARKS[chain]
        add(Var(f"{chain} lowest 2010", (round(low, 6),), units,
                f"Lowest 2010 value of {x.lower()} per resident among the four cities "
                "(from the 2010 data and initial stocks).", kind="const", group=g))
        add(Var(f"{chain} highest 2010", (round(high, 6),), units,
                f"Highest 2010 value of {x.lower()} per resident among the four cities.",
                kind="const", group=g))
        lo = f"Benchmark lower fraction * {chain} lowest 2010"
        hi = f"Benchmark upper multiple * {chain} highest 2010"
        add(Var(f"{chain} chain index", f"MIN(1, MAX(0, ({x}{c} / Population{c} - {lo}) / "
                f"({hi} - {lo})))", "Dmnl",
                f"{chain}-chain subsystem index: {x.lower()} per resident, min-max "
                "normalised against fixed benchmarks (not against the run itself), so "
                "scenarios can differ.", dims=("City",), group=g))
    u = "Industry chain index[City]", "Innovation chain index[City]", \
        "Service chain index[City]"
    add(Var("Coupling degree", f"IF THEN ELSE({u[0]} * {u[1]} * {u[2]} > 0, 3 * ({u[0]} * "
            f"{u[1]} * {u[2]}) ^ (1 / 3) / ({u[0]} + {u[1]} + {u[2]}), 0)", "Dmnl",
            "Coupling C of the three chains (n = 3 coupling model).", dims=("City",),
            group=g))
    add(Var("Development index", f"({u[0]} + {u[1]} + {u[2]}) / 3", "Dmnl",
            "Comprehensive development index T (equal weights).", dims=("City",), group=g))
    add(Var("Coordination degree", f"(Coupling degree{c} * Development index{c}) ^ 0.5",
            "Dmnl", "Coupling coordination degree D = sqrt(C*T) of the industry, innovation "
            "and service chains.", dims=("City",), group=g))
    return v


def build_vars() -> tuple[Var, ...]:
    return tuple(levers_and_data() + demography() + economy() + coordination()
                 + innovation() + service() + costs() + carbon() + coupling())

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
    if var.limits is not None:
        units += " [{},{}]".format(*map(fmt_num, var.limits))
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
        ("Catch up TFP", 120, 260, True), ("TFP catch up", 40, 260, False),
        ("Nonprimary output", 420, 260, False), ("GDP", 600, 260, False),
        ("Value added primary", 600, 170, False), ("Value added secondary", 600, 350, False),
        ("Working age population", 420, 60, True), ("Ageing", 560, 60, False),
        ("Knowledge stock", 250, 450, True), ("Knowledge creation", 110, 450, False),
        ("External knowledge absorption", 110, 520, False),
        ("Knowledge spillover", 250, 560, False), ("Knowledge depreciation", 390, 450, False),
        ("Knowledge in use", 250, 340, True), ("Patents", 420, 520, False),
        ("Research spending", 110, 560, False), ("Service capacity", 800, 450, True),
        ("Service investment", 660, 450, False), ("Loans", 800, 560, True),
        ("New lending", 660, 560, False), ("Loan repayment", 940, 560, False),
        ("Industry energy intensity", 800, 150, True), ("Other energy intensity", 1000, 150, True),
        ("Electricity share", 900, 60, True), ("Grid emission factor", 1050, 60, False),
        ("CO2 emissions", 900, 260, False), ("Carbon intensity", 1000, 350, False),
        ("Policy stringency", 1000, 450, True), ("Emission target", 1100, 260, False),
        ("Lever costs", 120, 60, False),
        ("Duplication loss", 420, 350, False), ("Agglomeration coordination", 600, 450, False),
        ("Coordination degree", 600, 620, False),
    ],
    "Strategy levers": [
        (f"Lever {k}", 150 + 220 * i, 100, False) for i, k in enumerate(
            ("policy collaboration", "innovation chain", "division of labour",
             "green transition", "technology finance", "carbon removal"))
    ] + [
        (f"{k} effect", 150 + 220 * i, 200, False) for i, k in enumerate(
            ("Policy collaboration", "Innovation chain", "Division of labour",
             "Green transition", "Technology finance", "Carbon removal"))
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
    if var.limits is not None:
        lines.append('\t\t\t\t<range min="{}" max="{}"/>'.format(*map(fmt_num, var.limits)))
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
