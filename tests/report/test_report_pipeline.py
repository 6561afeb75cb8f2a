"""Pipeline pieces that need no report rendering: parameters in, specialization from data."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from sdkit import SpecError
from sdkit.report import read_report_config
from sdkit.scenarios.uncertainty import ParameterUncertainty
from sdkit.workflow.pipeline import _calibration, specialization_from_data
from sdkit.workflow.study import Study


def _study(spec, params):
    return Study(report=Path("r.toml"), scenarios=Path("s"), out=Path("o"), calibration=spec,
                 params=params)


def test_parameters_from_record_and_cin(tmp_path):
    rec = tmp_path / "calibration.json"
    rec.write_text(json.dumps({"parameters": {"g": {
        "variable": "Growth rate[Yichang]", "value": 0.061, "stderr": 0.004,
        "lower": 0.0, "upper": 0.2}}}))
    params, unc, result, note = _calibration(_study(None, rec), False, print)
    assert params == {"Growth rate[Yichang]": 0.061}
    assert unc.stderr == pytest.approx([0.004])
    assert result.to_frame().loc["g", "variable"] == "Growth rate[Yichang]"
    assert result.statistics is None
    assert str(rec) in note
    cin = tmp_path / "fitted.cin"
    cin.write_text("Growth rate[Yichang] = 0.07\n")
    params, unc, _, _ = _calibration(_study(None, cin), False, print)
    assert params == {"Growth rate[Yichang]": 0.07} and unc is None
    params, unc, _, note = _calibration(_study(None, None), False, print)
    assert params == {} and unc is None and "model's own parameter values" in note
    with pytest.raises(SpecError, match="no such calibration spec"):
        _calibration(_study(tmp_path / "none.toml", None), False, print)
    with pytest.raises(SpecError, match="expected a .cin file"):
        _calibration(_study(None, tmp_path / "x.txt"), False, print)


def test_uncertainty_from_calibration_result():
    params = [SimpleNamespace(name="a", key="A", lower=0.0, upper=1.0),
              SimpleNamespace(name="b", key="B[x]", lower=-1.0, upper=1.0),
              SimpleNamespace(name="c", key="C", lower=0.0, upper=5.0)]
    corr = pd.DataFrame([[1, 0.5, 0], [0.5, 1, 0], [0, 0, 1]], index=list("abc"),
                        columns=list("abc"), dtype=float)
    result = SimpleNamespace(problem=SimpleNamespace(parameters=params),
                             x=np.array([0.5, 0.1, 2.0]),
                             stderr={"a": 0.1, "b": 0.2, "c": float("nan")}, correlation=corr)
    unc = ParameterUncertainty.from_result(result)
    assert unc.names == ("A", "B[x]", "C")
    np.testing.assert_allclose(unc.cov, [[0.01, 0.01, 0], [0.01, 0.04, 0], [0, 0, 0]])
    assert "held fixed (no stderr): c" in unc.source
    np.testing.assert_allclose(unc.lower, [0, -1, 0])


def test_specialization_from_city_data(mini_setup):
    _, _, config = mini_setup
    cfg = read_report_config(config)
    index, note = specialization_from_data(cfg)
    assert list(index.index) == ["Yichang", "Jingzhou"]
    # two regions: each is compared with the other, so both get the pairwise value
    data = pd.read_csv(cfg.specialization["data"])
    row = data[(data["year"] == 2021) & data["indicator"].isin(
        ["gdp_primary_industry", "gdp_secondary_industry", "gdp_tertiary_industry"])]
    row = row.assign(value=pd.to_numeric(row["value"]))
    wide = row.pivot_table(index="city", columns="indicator", values="value")
    shares = wide.div(wide.sum(axis=1), axis=0)
    expected = (shares.loc["Yichang"] - shares.loc["Jingzhou"]).abs().sum()
    np.testing.assert_allclose(index.to_numpy(), [expected, expected])
    assert "Krugman" in note and "2021" in note
