"""IIS study data: check the city statistics, convert units, derive constant-price GDP.

Study code of the IIS calibration, not part of sdkit (moved out of
``sdkit/calibration/data.py``, issue 14). It reads
``calibration/data/city_stats.csv`` (one observed number a row,
``city,year,indicator,value,unit,source``), checks every row against the
indicators this study knows, converts units (money to 亿元 = 1e8 CNY, CO2 to
Mt, people to 万人 = 1e4 persons), adds the constant-price series of
:func:`deflate_gdp`, and writes the table the calibration specs read::

    python calibration/iis_data.py            # -> calibration/data/city_stats_calibration.csv

The output is a long CSV ``city,year,indicator,value,unit,source,derived``:
every observed number keeps its source; the derived rows (``*_real``) say
``derived = true`` and how they were derived in their source. The specs
(``calibration/iis*.toml``) read it through a column mapping
(``columns = { time = "year", element = "city", series = "indicator" }``).
``tests/calibration/test_iis_data.py`` checks the committed table is what
this script writes. Nothing missing is filled in the observed rows; nothing
derived is presented as observed.
"""

from __future__ import annotations

import csv
import io
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sdkit.calibration.data import read_number
from sdkit.errors import DataError
from sdkit.io.files import atomic_write_text
from sdkit.io.textfile import read_text_file

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "data" / "city_stats.csv"
TABLE = HERE / "data" / "city_stats_calibration.csv"

__all__ = [
    "load_city_data",
    "write_calibration_table",
    "deflate_gdp",
    "series",
    "CITIES",
    "INDICATORS",
    "TEXT_INDICATORS",
    "BASE_YEAR",
]

#: cities the loader accepts (the four IIS cities and the province for context)
CITIES = ("Yichang", "Jingzhou", "Jingmen", "Enshi", "Hubei (province)")
#: constant-price base year of the derived real series
BASE_YEAR = 2010
COLUMNS = ["city", "year", "indicator", "value", "unit", "source"]


@dataclass(frozen=True)
class _UnitRule:
    pattern: str  # regular expression searched in the unit text
    family: str
    factor: float  # multiply the value by this to get `unit`
    unit: str


# first match wins: 万元 before 亿元, "items per 10,000" before "10,000 persons"
_UNIT_RULES = (
    _UnitRule(r"万元|10,000 CNY", "money", 1e-4, "亿元"),
    _UnitRule(r"亿元|100 million CNY", "money", 1.0, "亿元"),
    _UnitRule(r"million tonnes CO2|Mt CO2|\(Mt\)", "co2", 1.0, "Mt CO2"),
    _UnitRule(r"^tonnes CO2", "co2", 1e-6, "Mt CO2"),
    _UnitRule(r"^items per", "other", 1.0, ""),
    _UnitRule(r"万人|10,000 persons", "persons", 1.0, "万人"),
    _UnitRule(r"^persons", "persons", 1e-4, "万人"),
    _UnitRule(r"^%", "percent", 1.0, "%"),
    _UnitRule(r"^items", "count", 1.0, "items"),
    _UnitRule(r"^CNY$", "cny", 1.0, "CNY"),
)

#: known indicators (the name before any " (" note) and the unit family each must have
INDICATORS: dict[str, str] = {
    "gdp": "money",
    "gdp_primary_industry": "money",
    "gdp_secondary_industry": "money",
    "gdp_tertiary_industry": "money",
    "gdp_real_growth_yoy": "percent",
    "gdp_per_capita": "cny",
    "share_primary_in_gdp": "percent",
    "share_secondary_in_gdp": "percent",
    "share_tertiary_in_gdp": "percent",
    "loans_outstanding_financial_institutions_yearend": "money",
    "deposits_financial_institutions_yearend": "money",
    "co2_emissions_EDGARv8_city": "co2",
    "co2_emissions_CEADs_city": "co2",
    "co2_emissions_CEADs_process": "co2",
    "co2_emissions_CEADs_scope1_total": "co2",
    "resident_population_yearend": "persons",
    "resident_population_census": "persons",
    "urban_resident_population_census": "persons",
    "total_population_yearend_CSMAR_Eect01": "persons",
    "patents_obtained": "count",
    "patent_applications": "count",
    "patent_grants": "count",
    "invention_patent_grants": "count",
    "rd_expenditure_total_society": "money",
    "rd_expenditure_to_gdp": "percent",
    "rd_expenditure_to_gdp_AS_REPORTED_NOV2021_reference_year_not_stated": "percent",
    "high_tech_industry_value_added": "money",
    "high_tech_industry_gross_output": "money",
    "high_tech_industry_value_added_share_of_gdp": "percent",
    "above_scale_high_tech_enterprises_value_added": "money",
    "agriculture_forestry_husbandry_fishery_value_added": "money",
    "coal_share_of_energy_consumption": "percent",
    "non_fossil_share_of_energy_consumption": "percent",
    "urban_registered_unemployment_rate": "percent",
    "carbon_intensity_cumulative_decline_since_2012": "percent",
    "energy_intensity_cumulative_decline_since_2012": "percent",
    "invention_patents_per_10k_population_stock": "other",
    "market_entities_yearend": "other",
    "new_energy_generation_capacity": "other",
    "high_tech_enterprises_total": "other",
    "high_tech_enterprises_total_EXPECTED": "other",
    "high_tech_enterprises_total_Wuhan": "other",
    "above_scale_high_tech_enterprises_and_registered_high_tech_product_enterprises": "other",
    "national_high_tech_enterprises_total": "other",
    "new_high_tech_enterprises": "other",
    "tech_based_SMEs_registered": "other",
}

#: indicators whose values are text, not observed numbers; left out of the table
#: (ratio strings such as "13.1:41.4:45.5", and policy targets such as ">=20", "~51")
TEXT_INDICATORS: dict[str, str] = {
    "industry_structure_primary:secondary:tertiary": "ratio text a:b:c",
    "TARGET_coal_share_of_energy_consumption": "policy target, not an observation",
    "TARGET_natural_gas_share_of_energy_consumption": "policy target, not an observation",
    "TARGET_non_fossil_share_of_energy_consumption": "policy target, not an observation",
    "TARGET_pv_plus_wind_installed_capacity": "policy target, not an observation",
}

_NOT_NEGATIVE = {"money", "co2", "persons", "count", "cny"}
_SECTORS = ("gdp", "gdp_primary_industry", "gdp_secondary_industry", "gdp_tertiary_industry")


def _indicator_key(raw: str) -> str:
    return raw.split(" (", 1)[0].strip()


def _unit_rule(unit: str) -> _UnitRule | None:
    for rule in _UNIT_RULES:
        if re.search(rule.pattern, unit):
            return rule
    return None


def _check_row(path: Path, line: int, row: pd.Series) -> dict | None:
    """Validate and convert one CSV row; None for a known text indicator."""
    where = f"{path}: line {line}"
    city = str(row["city"]).strip() if isinstance(row["city"], str) else ""
    if not city:
        raise DataError(f"{where}: missing city")
    if city not in CITIES:
        raise DataError(f"{where}: unknown city {city!r} (expected one of {', '.join(CITIES)})")
    try:
        year = int(str(row["year"]).strip())
    except ValueError:
        raise DataError(f"{where}: year must be an integer: {row['year']!r}") from None
    raw_ind = str(row["indicator"]).strip() if isinstance(row["indicator"], str) else ""
    key = _indicator_key(raw_ind)
    if key in TEXT_INDICATORS:
        return None
    if key not in INDICATORS:
        raise DataError(f"{where}: unknown indicator {raw_ind!r}")
    text = str(row["value"]).strip() if isinstance(row["value"], str) else ""
    value = read_number(text, f"{key} value", where)
    unit_text = str(row["unit"]).strip() if isinstance(row["unit"], str) else ""
    family = INDICATORS[key]
    rule = _unit_rule(unit_text)
    if family == "other":
        factor, unit = 1.0, unit_text
    elif rule is None or rule.family != family:
        raise DataError(f"{where}: {key} needs a {family} unit, got {unit_text!r}")
    else:
        factor, unit = rule.factor, rule.unit
    if family in _NOT_NEGATIVE and value < 0:
        raise DataError(f"{where}: {key} must not be negative: {text}")
    source = str(row["source"]).strip() if isinstance(row["source"], str) else ""
    if not source:
        raise DataError(f"{where}: missing source")
    return {"city": city, "year": year, "indicator": key, "value": value * factor,
            "unit": unit, "source": source, "observed": True, "line": line}


def _check_field_counts(path: Path, text: str, expected: int) -> None:
    """Every non-blank row has as many fields as the header (a cut line does not)."""
    reader = csv.reader(io.StringIO(text))
    for fields in reader:
        if fields and len(fields) != expected:
            raise DataError(f"{path}: line {reader.line_num}: expected {expected} fields "
                            f"({', '.join(COLUMNS)}), got {len(fields)}")


def _merge_duplicates(path: Path, rows: list[dict]) -> list[dict]:
    """Keep one row per city-year-indicator.

    The same number from two different sources (e.g. the CSMAR extract and
    the city's own bulletin) is kept once with both sources named; any other
    repeat is an error.
    """
    kept: dict[tuple, dict] = {}
    for row in rows:
        k = (row["city"], row["year"], row["indicator"])
        first = kept.get(k)
        if first is None:
            kept[k] = row
            continue
        same_value = math.isclose(first["value"], row["value"], rel_tol=1e-9, abs_tol=1e-12)
        if first["source"] == row["source"] or not same_value:
            raise DataError(
                f"{path}: line {row['line']}: duplicated {row['indicator']} for {row['city']} "
                f"{row['year']} (first on line {first['line']}: {first['value']:g} vs "
                f"{row['value']:g})"
            )
        first["source"] = f"{first['source']}; confirmed by {row['source']}"
    return list(kept.values())


def load_city_data(path: str | os.PathLike = SOURCE, *,
                   deflate: bool = True) -> pd.DataFrame:
    """Read a city statistics table, check every row and convert units.

    Parameters
    ----------
    path : path-like
        CSV with columns ``city, year, indicator, value, unit, source``.
    deflate : bool, default True
        Append the constant-price series of :func:`deflate_gdp`
        (``observed`` False).

    Returns
    -------
    pandas.DataFrame
        Columns ``city, year, indicator, value, unit, source, observed``,
        sorted. Money is in 亿元, CO2 in Mt CO2, population in 万人. The
        indicator is the name before any ``" ("`` note in the file. Rows of
        :data:`TEXT_INDICATORS` are left out (they hold no number).

    Raises
    ------
    DataError
        Naming the line: missing/unknown city, unknown indicator,
        non-numeric value, unit of the wrong kind, negative money, CO2,
        population or counts, a missing source, or a city-year-indicator
        given twice with different values (or twice by the same source);
        a missing, empty, binary or non-UTF-8 file, a name not ending in
        ``.csv``, a row with the wrong number of fields, no rows.

    Examples
    --------
    >>> data = load_city_data()
    >>> data.query("city == 'Enshi' and year == 2019 and indicator == 'gdp'").value.item()
    1159.37
    """
    path = Path(path)
    if path.suffix.lower() != ".csv":
        raise DataError(f"{path}: unknown data format {path.suffix or '(no extension)'!r}; "
                        "expected .csv")
    text = read_text_file(path, error=DataError, what="data table (CSV)", missing="no such file")
    try:
        raw = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    except pd.errors.ParserError as e:
        raise DataError(f"{path}: cannot read as CSV: {e}") from e
    missing = [c for c in COLUMNS if c not in raw.columns]
    if missing:
        raise DataError(f"{path}: missing column(s) {', '.join(missing)}; expected {COLUMNS}")
    _check_field_counts(path, text, len(raw.columns))
    if raw.empty:
        raise DataError(f"{path}: no data rows below the header")
    rows = []
    for i, row in raw.iterrows():
        checked = _check_row(path, int(i) + 2, row)  # header is line 1
        if checked is not None:
            rows.append(checked)
    rows = _merge_duplicates(path, rows)
    frame = pd.DataFrame(rows, columns=[*COLUMNS, "observed", "line"]).drop(columns="line")
    if deflate:
        frame = pd.concat([frame, deflate_gdp(frame)], ignore_index=True)
    frame = frame.sort_values(["city", "indicator", "year"], kind="stable")
    frame.attrs["path"] = str(path)
    return frame.reset_index(drop=True)


def series(data: pd.DataFrame, indicator: str, city: str) -> pd.Series:
    """One city's series of one indicator, indexed by year (empty if missing)."""
    sel = data[(data["indicator"] == indicator) & (data["city"] == city)]
    return pd.Series(sel["value"].to_numpy(float), index=sel["year"].to_numpy(int),
                     name=f"{indicator}[{city}]")


def _own_neighbours(growth: dict[str, pd.Series], city: str, year: int) -> float:
    own = [growth[city].get(y, np.nan) for y in (year - 1, year + 1)]
    return float(np.mean(own)) if not np.isnan(own).any() else np.nan


def _growth(growth: dict[str, pd.Series], city: str, year: int,
            cities: list[str]) -> tuple[float, str]:
    """Real growth of `city` in `year` and a note saying how it was imputed ("" if observed)."""
    g = growth[city].get(year, np.nan)
    if not np.isnan(g):
        return float(g), ""
    others = [growth[o][year] for o in cities if o != city and year in growth[o]]
    if others:
        g = float(np.mean(others))
        return g, f"{year}: mean growth of other cities ({g:.2f}%)"
    g = _own_neighbours(growth, city, year)
    if not np.isnan(g):
        return g, f"{year}: mean of own {year - 1}/{year + 1} growth ({g:.2f}%)"
    filled = [_own_neighbours(growth, o, year) for o in cities if o != city]
    filled = [f for f in filled if not np.isnan(f)]
    if filled:
        g = float(np.mean(filled))
        return g, f"{year}: mean of other cities' {year - 1}/{year + 1} growth ({g:.2f}%)"
    return np.nan, ""


def deflate_gdp(data: pd.DataFrame, *, base_year: int = BASE_YEAR) -> pd.DataFrame:
    """Constant-price GDP and sector value added, derived from the data.

    One method, for every city:

    1. Real GDP at `base_year` prices chains the observed real growth rates
       (``gdp_real_growth_yoy``) from the nominal level in `base_year`:
       ``real[t] = real[t-1] * (1 + g[t] / 100)``.
    2. A missing growth rate ``g[c, t]`` is replaced by the mean observed
       growth of the other cities in year ``t``; if no city has one (2017 in
       the shipped data), by the mean of the city's own rates in ``t-1`` and
       ``t+1``, or failing that the mean of the other cities' such means.
       Each such year is named in the ``source`` of the rows it affects.
    3. Sector value added is deflated with the city's implicit GDP deflator
       (nominal / real GDP), so sectors add up to real GDP.

    Because growth rates are chained, the real series stay on the
    pre-revision level through the 2018/2019 economic-census revision; the
    level break shows only in the implicit deflator.

    Returns
    -------
    pandas.DataFrame
        Rows ``gdp_real``, ``gdp_primary_industry_real``, ... in 亿元 at
        `base_year` prices, with ``observed`` False.
    """
    out = []
    cities = [c for c in CITIES if not c.startswith("Hubei")]
    growth = {c: series(data, "gdp_real_growth_yoy", c) for c in cities}
    for city in cities:
        nominal = {k: series(data, k, city) for k in _SECTORS}
        gdp = nominal["gdp"]
        if base_year not in gdp.index:
            continue
        years = [y for y in sorted(gdp.index) if y >= base_year]
        real = {base_year: gdp[base_year]}
        notes = []
        for year in years[1:]:
            if year - 1 not in real:
                break
            g, note = _growth(growth, city, year, cities)
            if np.isnan(g):
                break  # the chain stops: nothing honest to fill with
            if note:
                notes.append(note)
            real[year] = real[year - 1] * (1 + g / 100)
        note = "; ".join(notes) if notes else "no gaps"
        source = (f"derived (calibration/iis_data.py): nominal GDP {base_year} chained with "
                  f"real growth rates; imputed growth: {note}")
        for key, values in nominal.items():
            for year, r in real.items():
                if year not in values.index or year not in gdp.index:
                    continue
                value = r if key == "gdp" else values[year] * r / gdp[year]
                out.append({"city": city, "year": int(year), "indicator": f"{key}_real",
                            "value": float(value), "unit": f"亿元 ({base_year} prices)",
                            "source": source, "observed": False})
    return pd.DataFrame(out, columns=[*COLUMNS, "observed"])


def calibration_table(path: str | os.PathLike = SOURCE) -> str:
    """The CSV text of the calibration table derived from `path` (see the module docstring)."""
    data = load_city_data(path)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*COLUMNS, "derived"])
    for row in data.itertuples(index=False):
        writer.writerow([row.city, row.year, row.indicator, repr(float(row.value)), row.unit,
                         row.source, "false" if row.observed else "true"])
    return out.getvalue()


def write_calibration_table(path: str | os.PathLike = SOURCE,
                            out: str | os.PathLike = TABLE) -> Path:
    """Write :func:`calibration_table` of `path` to `out` (atomically); return `out`."""
    atomic_write_text(out, calibration_table(path))
    return Path(out)


if __name__ == "__main__":
    print(f"wrote {write_calibration_table()}")
