"""simulate_ensemble: references (canonical teacup, PySD runs) and input checks."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import sdkit
from sdkit.conformance.suite import load_canonical
from sdkit.engine.ensemble import member_frame

RTOL = 1e-9


def test_teacup_matches_canonical_output(teacup_path, models_dir):
    ds = sdkit.simulate_ensemble(teacup_path, None, outputs=["Teacup Temperature",
                                                              "Heat Loss to Room"])
    assert ds.attrs["sdkit_engine"] == "fast"
    expected = load_canonical(models_dir / "teacup_output.csv")
    actual = member_frame(ds)
    np.testing.assert_allclose(actual.index, expected.index)
    for col in ("Teacup Temperature", "Heat Loss to Room"):
        np.testing.assert_allclose(actual[col], expected[col], rtol=1e-5, atol=1e-5)


def test_sir_ensemble_equals_separate_pysd_runs(sir_path):
    table = pd.DataFrame({"Contact Infectivity": [0.1, 0.25, 0.3, 0.45],
                          "Duration": [3, 5, 5.5, 8]},
                         index=pd.Index(list("abcd"), name="run"))
    outputs = ["Infectious", "Recovered", "Succumbing"]
    ds = sdkit.simulate_ensemble(sir_path, table, outputs=outputs)
    assert ds["Infectious"].dims == ("member", "time")
    assert list(ds["member"].values) == list("abcd")
    model = sdkit.load_model(sir_path)
    for member, row in table.iterrows():
        ref = sdkit.simulate(model, row.to_dict(), outputs=outputs)
        got = member_frame(ds, member)
        np.testing.assert_allclose(got.index, ref.index)
        for col in outputs:
            np.testing.assert_allclose(got[col], ref[col], rtol=RTOL)


def test_time_settings_as_pysd(sir_path):
    kw = dict(start=2, stop=40, dt=0.25, saveper=2)
    ds = sdkit.simulate_ensemble(sir_path, pd.DataFrame({"Duration": [4.0]}),
                                 outputs=["Infectious"], **kw)
    ref = sdkit.simulate(sir_path, {"Duration": 4.0}, outputs=["Infectious"], **kw)
    got = member_frame(ds)
    np.testing.assert_allclose(got.index, ref.index)
    assert got.index[0] == 2 and got.index[-1] == 40
    np.testing.assert_allclose(got["Infectious"], ref["Infectious"], rtol=RTOL)


def test_subscripted_per_element_parameters(conformance_dir):
    path = conformance_dir / "tests/subscript_mapping_vensim/test_subscript_mapping_vensim.mdl"
    model = sdkit.load_model(path)
    table = pd.DataFrame({"Work Force[Machiners]": [1.0, 7.0],
                          "births": [150.0, 250.0],
                          "initial population": [500.0, 800.0]})
    ds = sdkit.simulate_ensemble(model, table, outputs=["Work Flow", "Population"])
    assert ds["POPULATION"].dims == ("member", "time", "AGE")
    assert ds.attrs["sdkit_engine"] == "fast"
    for i, row in table.iterrows():
        ref = sdkit.simulate(model, row.to_dict(), outputs=["Work Flow", "Population"])
        got = member_frame(ds, i)
        for col in ref.columns:
            np.testing.assert_allclose(got[col], ref[col], rtol=RTOL, err_msg=col)


def test_output_element_selection(sir_path, conformance_dir):
    path = conformance_dir / "tests/subscript_mapping_vensim/test_subscript_mapping_vensim.mdl"
    ds = sdkit.simulate_ensemble(path, None, outputs=["Population[Teen]"])
    assert list(ds.data_vars) == ["POPULATION[TEEN]"]
    assert ds["POPULATION[TEEN]"].dims == ("member", "time")


def test_unknown_names_and_bad_values(sir_path):
    with pytest.raises(sdkit.UnknownVariableError, match="Contact Infectivty"):
        sdkit.simulate_ensemble(sir_path, pd.DataFrame({"Contact Infectivty": [1]}),
                                outputs=["Infectious"])
    with pytest.raises(sdkit.UnknownVariableError):
        sdkit.simulate_ensemble(sir_path, None, outputs=["Nope"])
    with pytest.raises(sdkit.InvalidValueError, match="finite"):
        sdkit.simulate_ensemble(sir_path, pd.DataFrame({"Duration": [np.nan]}),
                                outputs=["Infectious"])
    with pytest.raises(sdkit.InvalidValueError, match="number"):
        sdkit.simulate_ensemble(sir_path, pd.DataFrame({"Duration": ["x"]}),
                                outputs=["Infectious"])
    with pytest.raises(sdkit.InvalidValueError, match="dt"):
        sdkit.simulate_ensemble(sir_path, None, outputs=["Infectious"], dt=0)
    with pytest.raises(sdkit.InvalidValueError, match="time settings"):
        sdkit.simulate_ensemble(sir_path, pd.DataFrame({"TIME STEP": [1]}),
                                outputs=["Infectious"])


def test_unknown_element(conformance_dir):
    path = conformance_dir / "tests/subscript_mapping_vensim/test_subscript_mapping_vensim.mdl"
    with pytest.raises(sdkit.UnknownVariableError, match="Welders"):
        sdkit.simulate_ensemble(path, pd.DataFrame({"Work Force[Welders]": [1.0]}),
                                outputs=["Work Flow"])


def test_one_member_uses_the_same_engine(sir_path):
    one = sdkit.simulate_ensemble(sir_path, pd.DataFrame({"Duration": [6.0]}),
                                  outputs=["Infectious"])
    many = sdkit.simulate_ensemble(sir_path, pd.DataFrame({"Duration": [2.0, 6.0]}),
                                   outputs=["Infectious"])
    assert one.attrs["sdkit_engine"] == "fast"
    np.testing.assert_array_equal(one["Infectious"].values[0], many["Infectious"].values[1])


@pytest.mark.parametrize(("multiples", "engine"), [([2.5, 2.6], "fast"), ([2.5, 4.0], "pysd")])
def test_delay_orders_that_differ_between_members_fall_back(conformance_dir, multiples,
                                                            engine):
    # the pipeline length of DELAY FIXED and the order of DELAY N depend on the delay
    # time: one array cannot hold members that differ, so those run with PySD
    path = conformance_dir / "tests/delay_pipeline/test_pipeline_delays.mdl"
    outputs = ["Output Fractional Pipeline Delay", "Output Third order Delay"]
    table = pd.DataFrame({"Fractional Multiple": multiples})
    with warnings.catch_warnings():  # both engines say where a DELAY N's order is lowered
        warnings.simplefilter("ignore", sdkit.errors.SdkitWarning)
        ds = sdkit.simulate_ensemble(path, table, outputs=outputs)
    assert ds.attrs["sdkit_engine"] == engine
    if engine == "pysd":
        assert "differs between members" in ds.attrs["sdkit_fallback"]
    for i, row in table.iterrows():
        with warnings.catch_warnings():  # sdkit warns where PySD lowers a delay's order
            warnings.simplefilter("ignore", sdkit.errors.SdkitWarning)
            ref = sdkit.simulate(path, row.to_dict(), outputs=outputs)
        got = member_frame(ds, i)
        for col in ref.columns:
            np.testing.assert_allclose(got[col], ref[col], rtol=RTOL, err_msg=col)
