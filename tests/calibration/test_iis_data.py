"""IIS study data (calibration/iis_data.py, outside sdkit): units, deflation, bad rows,
and the committed calibration table it writes."""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path

import pytest

from sdkit import DataError, read_problem
from sdkit.calibration.data import load_data
from sdkit.calibration.spec import read_data_spec

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "calibration" / "data" / "city_stats.csv"
_spec = importlib.util.spec_from_file_location("iis_data", ROOT / "calibration" / "iis_data.py")
iis_data = sys.modules.setdefault("iis_data", importlib.util.module_from_spec(_spec))
_spec.loader.exec_module(iis_data)
load_city_data, series = iis_data.load_city_data, iis_data.series
HEADER = "city,year,indicator,value,unit,source\n"
GOOD = 'Yichang,2010,gdp,1547.32,"100 million CNY (亿元), current prices",S1\n'


@pytest.fixture(scope="module")
def data():
    return load_city_data(DATA)


def value(data, city, year, indicator):
    sel = data.query("city == @city and year == @year and indicator == @indicator")
    assert len(sel) == 1, (city, year, indicator)
    return sel["value"].item()


def test_shipped_copy_matches_shared_data():
    shared = ROOT.parent / "shared" / "data" / "city_stats.csv"
    assert DATA.read_bytes() == shared.read_bytes()


def test_units_are_converted_explicitly(data):
    # 1,765,000 万元 = 176.5 亿元 (10^4 / 10^8)
    assert value(data, "Yichang", 2010, "gdp_primary_industry") == pytest.approx(176.5)
    # 42,883,432 t = 42.883432 Mt
    assert value(data, "Yichang", 2010, "co2_emissions_EDGARv8_city") == pytest.approx(
        42.883432)
    # census persons -> 万人
    census = data.query("indicator == 'resident_population_census'")
    assert set(census["unit"]) == {"万人"}
    loans = data.query("indicator == 'loans_outstanding_financial_institutions_yearend'")
    assert set(loans["unit"]) == {"亿元"}
    assert {"city", "year", "indicator", "value", "unit", "source"} <= set(data.columns)


def test_sectors_add_up_to_gdp_after_conversion(data):
    for city in ("Yichang", "Jingzhou", "Jingmen", "Enshi"):
        total = sum(value(data, city, 2015, k) for k in (
            "gdp_primary_industry", "gdp_secondary_industry", "gdp_tertiary_industry"))
        assert total == pytest.approx(value(data, city, 2015, "gdp"), rel=1e-4)


def test_same_number_from_two_sources_is_kept_once_with_both(data):
    row = data.query("city == 'Jingmen' and year == 2021 and indicator == 'gdp'")
    assert len(row) == 1
    assert "CSMAR" in row["source"].item() and "confirmed by" in row["source"].item()


def test_real_gdp_chains_observed_growth_by_hand(data):
    y2010 = value(data, "Yichang", 2010, "gdp")
    assert value(data, "Yichang", 2010, "gdp_real") == y2010
    # Yichang real growth 2011: 16.1 %, 2012: 12.6 % (CSMAR GDPYoY)
    assert value(data, "Yichang", 2012, "gdp_real") == pytest.approx(y2010 * 1.161 * 1.126)


def test_derived_series_are_marked_and_explain_imputation(data):
    derived = data[~data["observed"]]
    assert set(derived["indicator"]) == {"gdp_real", "gdp_primary_industry_real",
                                         "gdp_secondary_industry_real",
                                         "gdp_tertiary_industry_real"}
    assert data[data["indicator"] == "gdp"]["observed"].all()
    enshi = derived.query("city == 'Enshi'")["source"].iloc[0]
    assert "2011: mean growth of other cities" in enshi
    yichang = derived.query("city == 'Yichang'")["source"].iloc[0]
    assert "2017: mean of own 2016/2018 growth (8.25%)" in yichang


def test_real_sectors_add_up_to_real_gdp(data):
    parts = sum(value(data, "Enshi", 2020, f"gdp_{s}_industry_real")
                for s in ("primary", "secondary", "tertiary"))
    assert parts == pytest.approx(value(data, "Enshi", 2020, "gdp_real"), rel=1e-4)


def test_missing_series_stay_missing(data):
    assert series(data, "loans_outstanding_financial_institutions_yearend", "Enshi").empty
    assert series(data, "co2_emissions_EDGARv8_city", "Enshi").empty
    assert 2013 not in series(data, "co2_emissions_CEADs_city", "Yichang").index


@pytest.mark.parametrize("row, message", [
    (',2011,gdp,1.0,亿元,S1\n', "line 3: missing city"),
    ('Wuhan,2011,gdp,1.0,亿元,S1\n', "line 3: unknown city 'Wuhan'"),
    ('Yichang,2011,gdp_total,1.0,亿元,S1\n', "line 3: unknown indicator 'gdp_total'"),
    ('Yichang,2011,gdp,n/a,亿元,S1\n', "line 3: gdp value must be a number: 'n/a'"),
    ('Yichang,2011,gdp,-5,亿元,S1\n', "line 3: gdp must not be negative"),
    ('Yichang,2011,gdp,5,tonnes CO2,S1\n', "line 3: gdp needs a money unit"),
    ('Yichang,2010,gdp,1600,亿元,S2\n', "line 3: duplicated gdp for Yichang 2010"),
    (GOOD, "line 3: duplicated gdp for Yichang 2010"),
    ('Yichang,20x1,gdp,5,亿元,S1\n', "line 3: year must be an integer"),
])
def test_bad_rows_name_the_line(tmp_path, row, message):
    path = tmp_path / "bad.csv"
    path.write_text(HEADER + GOOD + row, encoding="utf-8")
    with pytest.raises(DataError, match=message.replace("(", r"\(")) as info:
        load_city_data(path)
    assert str(path) in str(info.value)


def test_missing_column_and_file(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("city,year,indicator,value,unit\n", encoding="utf-8")
    with pytest.raises(DataError, match="missing column"):
        load_city_data(path)
    with pytest.raises(DataError, match="no such file"):
        load_city_data(tmp_path / "nope.csv")


def test_deflate_flag_off_gives_only_observed(data):
    raw = load_city_data(DATA, deflate=False)
    assert raw["observed"].all()
    assert len(raw) == int(data["observed"].sum())
    assert not any(math.isnan(v) for v in raw["value"])


def test_committed_calibration_table_is_what_the_script_writes():
    """calibration/data/city_stats_calibration.csv cannot drift from its source."""
    table = ROOT / "calibration" / "data" / "city_stats_calibration.csv"
    assert table.read_text(encoding="utf-8") == iis_data.calibration_table(DATA)


def test_calibration_table_reads_through_the_column_mapping(data):
    spec = read_data_spec({"file": "city_stats_calibration.csv", "columns": {
        "time": "year", "element": "city", "series": "indicator"}},
        where="iis.toml", base=ROOT / "calibration" / "data")
    table = load_data(spec)
    real = {s.element: s for s in table.find("gdp_real")}
    assert set(real) == {"Yichang", "Jingzhou", "Jingmen", "Enshi"}
    assert real["Yichang"].derived and "derived (calibration/iis_data.py)" in real[
        "Yichang"].source
    assert real["Yichang"].values[2] == value(data, "Yichang", 2012, "gdp_real")
    observed = {s.element: s for s in table.find("gdp")}
    assert not observed["Jingmen"].derived and "CSMAR" in observed["Jingmen"].source
    assert table.element_label == "city"


def test_iis_spec_targets_the_derived_and_observed_series():
    problem = read_problem(ROOT / "calibration" / "iis.toml")
    by_name = {t.name: t for t in problem.targets}
    assert by_name["GDP[Yichang]"].derived and by_name["GDP[Yichang]"].unit.startswith("亿元")
    co2 = by_name["CO2 emissions[Jingzhou]"]
    assert not co2.derived and co2.indicator == "co2_emissions_EDGARv8_city"
    assert "CO2 emissions[Enshi]" not in by_name  # no EDGAR series for Enshi
