"""Scenario files: validation, parameters, lever timing, shipped IIS scenarios, CLI."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sdkit import SpecError, load_model
from sdkit.cli import main
from sdkit.scenarios.projection import run_members, run_scenarios, to_tidy
from sdkit.scenarios.spec import Lever, Scenario, list_scenarios, read_scenario

ROOT = Path(__file__).resolve().parents[1]

GREEN = """
[scenario]
name = "{name}"
title = "Green"
model = "{model}"

[levers.green]
variable = "Lever green transition"
strength = {strength}
start_year = {start}
ramp_years = {ramp}
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / f"{name}.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def mini(models_dir):
    return load_model(models_dir / "mini_iis.mdl")


def green(tmp_path, models_dir, name="green", strength=1.0, start=2026, ramp=5):
    return write(tmp_path, name, GREEN.format(name=name, strength=strength, start=start,
                                              ramp=ramp, model=models_dir / "mini_iis.mdl"))


def test_read_scenario_maps_levers_to_constants(tmp_path, models_dir):
    s = read_scenario(green(tmp_path, models_dir, start=2030, ramp=2))
    assert s.name == "green" and s.title == "Green"
    assert s.levers == (Lever("green", "Lever green transition", 1.0, 2030.0, 2.0,
                              "Lever green transition start year",
                              "Lever green transition ramp years"),)
    assert s.params() == {"Lever green transition": 1.0,
                          "Lever green transition start year": 2030.0,
                          "Lever green transition ramp years": 2.0}
    assert s.model == models_dir / "mini_iis.mdl"
    assert s.active_levers == ("green",)


@pytest.mark.parametrize("text, expected", [
    ("[levers.x]\nvariable='V'\nstrength=1\nstart_year=2025\nramp_years=1\n",
     "scenario: missing [scenario] table"),
    ("[scenario]\n[levers.x]\nvariable='V'\nstrength='high'\nstart_year=2025\nramp_years=1\n",
     "levers.x.strength: expected a number, got 'high'"),
    ("[scenario]\n[levers.x]\nvariable='V'\nstrength=1\nstart_year=2025\nramp_years=-1\n",
     "levers.x.ramp_years: expected a number >= 0, got -1"),
    ("[scenario]\n[levers.x]\nvariable='V'\nstrength=1\nramp_years=1\n",
     "levers.x.start_year: missing"),
    ("[scenario]\n[levers.x]\nvariable='V'\nstrength=1\nstart_year=2025\nramp_years=1\n"
     "speed=2\n", "levers.x: unknown key(s) 'speed'"),
    ("[scenario]\ncolour='red'\n", "scenario: unknown key(s) 'colour'"),
    ("[scenario]\n[constants]\nK = true\n", "constants.K: expected a number, got True"),
    ("[scenario]\n[levers.x]\nvariable='V'\nstrength=1\nstart_year=2025\nramp_years=1\n"
     "[constants]\nv = 2\n", "constants: 'v' is also set by levers.x"),
    ("[scenario\n", "not valid TOML"),
    ("[scenario]\nstrength = inf\n[levers.x]\nvariable=''\nstrength=1\nstart_year=1\n"
     "ramp_years=1\n", "unknown key(s) 'strength'"),
])
def test_invalid_scenarios_name_file_and_key(tmp_path, text, expected):
    path = write(tmp_path, "bad", text)
    with pytest.raises(SpecError) as err:
        read_scenario(path)
    assert str(path) in str(err.value)
    assert expected in str(err.value)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(SpecError, match="no such scenario file"):
        read_scenario(tmp_path / "nope.toml")
    with pytest.raises(SpecError, match="no such scenario folder"):
        list_scenarios(tmp_path / "nope")
    with pytest.raises(SpecError, match="no scenario files"):
        list_scenarios(tmp_path)


def test_list_scenarios_orders_and_rejects_duplicate_names(tmp_path, models_dir):
    green(tmp_path, models_dir, name="green")
    write(tmp_path, "baseline", "[scenario]\ntitle='Base'\n")
    names = [s.name for s in list_scenarios(tmp_path)]
    assert names == ["baseline", "green"]
    green(tmp_path, models_dir, name="green").rename(tmp_path / "green2.toml")
    green(tmp_path, models_dir, name="green")
    with pytest.raises(SpecError, match="'green' is also used by"):
        list_scenarios(tmp_path)


def test_lever_starting_2026_changes_nothing_before_2026(mini, tmp_path, models_dir):
    base = Scenario("baseline")
    lever = read_scenario(green(tmp_path, models_dir, start=2026, ramp=4))
    ds = run_scenarios(mini, [base, lever], outputs=["CO2 emissions", "Carbon intensity"])
    diff = abs(ds["CO2 emissions"].sel(scenario="green") - ds["CO2 emissions"]
               .sel(scenario="baseline"))
    before = diff.sel(time=diff["time"] <= 2026)
    after = diff.sel(time=diff["time"] >= 2028)
    assert float(before.max()) == 0.0
    assert float(after.min()) > 0.0
    # the lever lowers intensity once it acts
    ci = ds["Carbon intensity"].sel(time=2040)
    assert np.all(ci.sel(scenario="green") < ci.sel(scenario="baseline"))
    assert ds.attrs["model_sha256"] == mini.sha256
    tidy = to_tidy(ds)
    assert list(tidy.columns[:4]) == ["variable", "scenario", "City", "time"]
    assert len(tidy) == 2 * 2 * 2 * 51


def test_scenario_with_unknown_variable_names_file(mini, tmp_path):
    path = write(tmp_path, "typo", "[scenario]\n[levers.g]\nvariable='Lever gren'\n"
                 "strength=1\nstart_year=2026\nramp_years=1\n")
    with pytest.raises(SpecError, match=r"typo.toml.*Lever gren"):
        run_scenarios(mini, [read_scenario(path)], outputs=["GDP"])


def test_pysd_and_compiled_engines_agree(mini):
    table = pd.DataFrame({"Lever innovation": [0.0, 0.5, 1.0], "Growth rate[Jingzhou]": 0.04})
    a = run_members(mini, table, outputs=["GDP"], engine="pysd")
    b = run_members(mini, table, outputs=["GDP"], engine="auto")
    np.testing.assert_allclose(a["GDP"].to_numpy(), b["GDP"].to_numpy(), rtol=1e-10)
    assert float(a["GDP"].sel(member=2, time=2060, City="Yichang")) > float(
        a["GDP"].sel(member=0, time=2060, City="Yichang"))


def test_shipped_iis_scenarios_are_valid():
    scenarios = list_scenarios(ROOT / "models" / "scenarios")
    names = [s.name for s in scenarios]
    assert names[0] == "baseline" and names[-2:] == ["iis", "iis_net_zero"]
    assert len(scenarios) == 9
    assert scenarios[0].active_levers == ()
    assert len(scenarios[-2].active_levers) == 5 and len(scenarios[-1].active_levers) == 6
    assert all(len(s.active_levers) == 1 for s in scenarios[1:-2])
    text = (ROOT / "models" / "iis.mdl").read_text(encoding="utf-8")
    for s in scenarios:
        assert s.model == ROOT / "models" / "scenarios" / "../iis.mdl"
        for name in s.params():
            assert f"\n{name} =" in text or f"\n{name}=" in text, name


def test_cli_list_and_run(tmp_path, models_dir, capsys):
    folder = tmp_path / "sc"
    folder.mkdir()
    green(folder, models_dir)
    assert main(["scenarios", "list", str(folder)]) == 0
    assert "green=1 from 2026" in capsys.readouterr().out
    out = tmp_path / "out"
    args = ["scenarios", "run", str(folder / "green.toml"), "--out", str(out),
            "--columns", "CO2 emissions", "GDP"]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert f"wrote {out / 'green.parquet'}" in printed
    table = pd.read_parquet(out / "green.parquet")
    assert set(table.index) == {"CO2 emissions", "GDP"}
    assert main(args) == 2  # refuses to overwrite
    assert "exists" in capsys.readouterr().err


@pytest.mark.slow
def test_iis_levers_starting_2026_change_nothing_before_2026():
    import dataclasses

    scenarios = {s.name: s for s in list_scenarios(ROOT / "models" / "scenarios")}
    iis = scenarios["iis"]
    late = dataclasses.replace(iis, name="iis_2026", levers=tuple(
        dataclasses.replace(lv, start_year=2026.0) for lv in iis.levers))
    model = load_model(ROOT / "models" / "iis.mdl")
    ds = run_scenarios(model, [scenarios["baseline"], late],
                       outputs=["GDP", "CO2 emissions", "Knowledge stock"])
    for var in ("GDP", "CO2 emissions", "Knowledge stock"):
        diff = abs(ds[var].sel(scenario="iis_2026") - ds[var].sel(scenario="baseline"))
        assert float(diff.sel(time=diff["time"] <= 2026).max()) == 0.0, var
        assert float(diff.sel(time=2035).min()) > 0.0, var


def test_table_settings_win_over_base_values(mini):
    from sdkit.scenarios.projection import merge_base

    table = pd.DataFrame({"Growth rate": [0.03, 0.04], "Intensity initial[Jingzhou]": 3.0})
    base = {"growth rate[Yichang]": 0.09, "Intensity initial": 1.0, "Green decline": 0.1}
    merged = merge_base(mini, table, base)
    assert sorted(merged.columns) == sorted(["Growth rate", "Intensity initial[Jingzhou]",
                                             "Intensity initial[Yichang]", "Green decline"])
    assert (merged["Intensity initial[Yichang]"] == 1.0).all()
    for engine in ("pysd", "auto"):
        ds = run_members(mini, table, outputs=["GDP", "Carbon intensity"], base=base,
                         engine=engine)
        gdp = ds["GDP"].sel(time=2011)
        np.testing.assert_allclose(gdp.sel(member=0).to_numpy(), [103.0, 61.8])
        ci = ds["Carbon intensity"].sel(time=2010, member=1).to_numpy()
        np.testing.assert_allclose(ci, [1.0, 3.0])


# -- scenario names become file names: refused, never mapped (issue 12) -------------------

def named(folder: Path, models_dir: Path, name: str) -> Path:
    """A valid scenario file ``s.toml`` whose [scenario] name is `name` (TOML-escaped)."""
    quoted = name.replace("\\", "\\\\").replace("\u0007", "\\u0007")
    return write(folder, "s", GREEN.format(name=quoted, strength=1, start=2026, ramp=5,
                                           model=models_dir / "mini_iis.mdl"))


@pytest.mark.parametrize("name, why", [
    ("../../escaped", "path separator"), ("/tmp/sdkit-escaped", "path separator"),
    ("a\\b", "path separator"), ("C:evil", "drive colon"), ("..", "starts with a dot"),
    (".hidden", "starts with a dot"), ("bell\u0007", "control characters"),
    ("x" * 101, "longer than 100"),
])
def test_unsafe_scenario_names_are_refused_at_load(tmp_path, models_dir, name, why):
    path = named(tmp_path, models_dir, name)
    with pytest.raises(SpecError, match=r"s\.toml: scenario\.name: .* cannot be used as a "
                                        rf"file name \(.*{why}") as info:
        read_scenario(path)
    assert repr(name) in str(info.value)


def test_unsafe_file_stem_is_refused_too(tmp_path, models_dir):
    text = GREEN.format(name="x", strength=1, start=2026, ramp=5,
                        model=models_dir / "mini_iis.mdl").replace('name = "x"\n', "")
    path = tmp_path / ".hidden.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SpecError, match=r"'\.hidden' cannot be used as a file name"):
        read_scenario(path)


def test_scenario_name_cannot_escape_out(tmp_path, models_dir):
    """The attacker's file: `name = "../../escaped"` wrote two folders above --out."""
    spec = named(tmp_path, models_dir, "../../escaped")
    out = tmp_path / "deep" / "a" / "b"
    assert main(["scenarios", "run", str(spec), "--columns", "GDP", "--out", str(out)]) == 2
    assert not list(tmp_path.rglob("*escaped*"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.toml"]


def test_scenario_built_in_code_with_a_path_name_is_refused(tmp_path, models_dir):
    from sdkit.scenarios.runs import run_scenario_files

    bad = Scenario(name="../escaped", model=models_dir / "mini_iis.mdl")
    with pytest.raises(SpecError, match=r"'\.\./escaped' cannot be used as a file name"):
        list(run_scenario_files([bad], outputs=["GDP"], out=tmp_path / "out"))
    assert sorted(p.name for p in tmp_path.iterdir()) == []
