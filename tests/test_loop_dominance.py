"""Loop dominance per element (Loops That Matter on subscripted models).

References: the scalar SIR model (a subscripted copy with uncoupled regions
must score each region as the scalar model does), link scores written out by
hand for a cross-region link, and the engine's own run (every equation on a
loop of IIS, evaluated by the loop scorer, must give the engine's values).
"""

from __future__ import annotations

import json
import re
import shutil
import tomllib
from pathlib import Path

import numpy as np
import pytest

import sdkit
from sdkit.cli import main
from sdkit.errors import SpecError, UnsupportedConstructError
from sdkit.structure.elements import element_graph, model_resolver
from sdkit.structure.loop_score import link_scores, lookup_tables
from sdkit.structure.loops import find_loops, strongly_connected
from sdkit.structure.named_loops import documented_loops, match_documented
from sdkit.structure.vector_eval import VectorEvaluator
from sdkit.workflow.loops import loop_dominance

IIS_LOOPS = tomllib.loads(  # the loops models/README.md names, as the model ships them
    (Path(__file__).resolve().parents[1] / "models" / "iis.sdkit.toml").read_text("utf-8"))["loops"]
# the README says their sign depends on values: the link signs agree (ambiguous)
IIS_AMBIGUOUS = {"B5 duplication", "B7 talent"}


@pytest.fixture(scope="module")
def regions(models_dir):
    return sdkit.load_model(models_dir / "sir_regions.mdl")


@pytest.fixture(scope="module")
def iis(models_dir):
    return sdkit.load_model(models_dir.parents[1] / "models" / "iis.mdl")


@pytest.fixture(scope="module")
def iis_dominance(iis):
    return loop_dominance(iis, samples=40)


def test_element_graph_links_follow_subscripts(regions):
    links = {(lk.source, lk.target) for lk in element_graph(regions).links}
    # SUM(Infectious[Region!]) reads every region; Infectious[Region] its own
    assert ("Infectious[South]", "Met Infectious[North]") in links
    assert ("Infectious[North]", "Met Infectious[North]") in links
    # an explicit element reads that element only
    assert ("Infectious[North]", "Seeding[South]") in links
    assert ("Infectious[South]", "Seeding[South]") not in links
    assert ("Succumbing[North]", "Infectious[South]") not in links


@pytest.mark.parametrize("region, infectivity", [("North", 0.3), ("South", 0.45)])
def test_uncoupled_regions_score_as_the_scalar_model(sir_path, regions, region, infectivity):
    arrayed = loop_dominance(regions)
    scalar = loop_dominance(sir_path, {"Contact Infectivity": infectivity}, stop=40, dt=0.125)
    pairs = {"U1": "R1", "B1": "B1", "B2": "B2"}  # U1: the contagion loop, via Met Infectious
    for ours, theirs in pairs.items():
        np.testing.assert_allclose(arrayed.raw[f"{ours}[{region}]"], scalar.raw[theirs],
                                   rtol=1e-9, atol=1e-12)
    # the loop between the regions exists, and scores 0 while Travel is 0
    assert np.all(arrayed.raw["U1[North>South]"] == 0.0)


def test_cross_region_link_score_by_hand(regions):
    travel = 0.2
    run = sdkit.simulate(regions, {"Travel": travel}, saveper=0.125)
    graph = element_graph(regions)
    link = ("Infectious[South]", "Met Infectious[North]")
    got = link_scores(regions, run, [link], graph)[link]
    i_n, i_s = run["Infectious[North]"].to_numpy(), run["Infectious[South]"].to_numpy()
    d_n, d_s = np.diff(i_n), np.diff(i_s)
    # Met[N] = I[N] + travel * I[S]: only I[S] moving changes it by travel * dI[S]
    expected = np.abs(travel * d_s / (d_n + travel * d_s))
    np.testing.assert_allclose(got[1:], expected, rtol=1e-9)
    assert got[0] == 0.0


def test_cross_region_loop_scored_when_coupled(regions):
    result = loop_dominance(regions, {"Travel": 0.2})
    cross = result.raw["U1[North>South]"].to_numpy()
    assert np.all(np.abs(cross[1:]) > 0)
    total = result.scores.abs().sum(axis=1)
    assert np.allclose(total[result.scores.notna().any(axis=1)], 1.0)


def test_strongest_path_search_finds_the_dominant_loops(regions):
    full = loop_dominance(regions, {"Travel": 0.2})
    searched = loop_dominance(regions, {"Travel": 0.2}, max_loops=1, samples=50)
    assert "strongest-path search" in searched.method and "50 of 320 steps" in searched.method
    assert {lp.id for lp in searched.loops} <= {lp.id for lp in full.loops}
    # every loop that dominates some step of the full analysis is found
    assert set(full.dominant()) <= {lp.id for lp in searched.loops}


def test_evaluator_reproduces_the_engine_on_iis(iis):
    """Each equation on a loop of IIS, evaluated by the scorer, gives the engine's values."""
    graph = element_graph(iis)
    succ = graph.successors()
    on_loops = [n for c in strongly_connected(list(graph.nodes), succ) if len(c) > 1 for n in c]
    run = sdkit.simulate(iis, saveper=iis.time_settings.dt)
    columns = dict(zip(run.columns, run.to_numpy(dtype=float).T))
    time = run.index.to_numpy(dtype=float)
    evaluate = VectorEvaluator(model_resolver(iis), lookup_tables(iis))
    dt = iis.time_settings.dt
    for node in on_loops:
        eq = graph.equations[node]
        value = evaluate(eq.ast.flow if eq.is_stock else eq.ast, eq.binding, columns.get,
                         time, where=node)
        if eq.is_stock:
            np.testing.assert_allclose(value[:-1] * dt, np.diff(columns[node]),
                                       rtol=1e-9, atol=1e-9, err_msg=node)
        else:
            np.testing.assert_allclose(value, columns[node], rtol=1e-9, atol=1e-12,
                                       err_msg=node)
    assert len(on_loops) > 300


def test_iis_dominance_per_element(iis, iis_dominance):
    result = iis_dominance
    assert "strongest-path search" in result.method and "40 of 800 steps" in result.method
    links = {(lk.source, lk.target) for lk in element_graph(iis).links}
    for lp in result.loops:
        assert all((a, b) in links for a, b in zip(lp.variables, lp.variables[1:]
                                                   + lp.variables[:1]))
        assert len(set(lp.variables)) == len(lp.variables)
    cities = set(iis.subscripts["City"])
    assert {lp.id.split("[")[1].rstrip("]") for lp in result.loops} >= cities
    active = result.scores.notna().any(axis=1)
    assert active.sum() > 700
    np.testing.assert_allclose(result.scores[active].abs().sum(axis=1), 1.0)
    periods = result.periods(every=1.0)
    assert periods[0][0] == 2011.0 and periods[-1][1] == 2060.0


def test_iis_documented_loops_are_found(iis):
    family = find_loops(iis)
    names, unmatched = match_documented(family, IIS_LOOPS, iis.names)
    assert unmatched == [] and len(names) == len(IIS_LOOPS)  # each on its own loop
    by_name = {v: k for k, v in names.items()}
    loops = {lp.id: lp for lp in family}
    for label, path in IIS_LOOPS.items():
        loop = loops[by_name[label]]
        assert set(path) <= set(loop.variables), label
        expected = ("ambiguous" if label in IIS_AMBIGUOUS
                    else {"R": "reinforcing", "B": "balancing"}[label[0]])
        assert loop.polarity == expected, label
    # where the documentation lists every variable, the loop is exactly those
    for label in ("R1 capital", "R4 spillover", "B1 capital depreciation",
                  "B3 diminishing returns", "B6 return on capital", "B7 talent"):
        assert set(loops[by_name[label]].variables) == set(IIS_LOOPS[label]), label


def _sir_with_sidecar(sir_path, tmp_path, loops: str) -> Path:
    model = tmp_path / "sir.mdl"
    shutil.copy(sir_path, model)
    (tmp_path / "sir.sdkit.toml").write_text(loops, encoding="utf-8")
    return model


SIR_LOOPS = ('[loops]\n"R1 contagion" = ["Infectious", "Succumbing"]\n'
             '"B9 vaccination" = ["Susceptible", "Recovering"]\n'
             '"R2 recovery" = ["Infectious", "Recovering"]\n')


def test_documented_names_in_cli(sir_path, tmp_path, capsys):
    model = _sir_with_sidecar(sir_path, tmp_path, SIR_LOOPS)
    scores = tmp_path / "scores.csv"
    assert main(["loops", str(model), "--dominance", "--every", "10",
                 "--scores-out", str(scores)]) == 0
    out = capsys.readouterr().out
    listing, dominance = out.split("dominant loop by period")
    # --dominance: the count and the documented loops, not the full listing
    assert listing.splitlines()[1:] == [
        '  R1    reinforcing  "contagion" Infectious -(+)-> Succumbing -(+)-> Infectious',
        '  R2    balancing    "recovery" Infectious -(+)-> Recovering -(-)-> Infectious',
        "  documented loop 'B9 vaccination' matches no loop of the model",
        "  note: documented loop 'R2 recovery' (R2) is balancing here",
        f"{model}: "]
    assert "\n  10 - " in dominance  # read on the --every grid; step 0 has no scores
    assert 'R1 "contagion" (reinforcing, 2 links)' in dominance
    # the undocumented loop is numbered around the documented ids
    assert scores.read_text().splitlines()[0] == "time,R1,R2,B1"
    assert main(["loops", str(model), "--dominance", "--list", "--every", "10"]) == 0
    full = capsys.readouterr().out.split("dominant loop by period")[0]
    assert "  B1    balancing    Susceptible -(+)-> Succumbing -(-)-> Susceptible" in full


def test_loops_json(sir_path, tmp_path, capsys):
    model = _sir_with_sidecar(sir_path, tmp_path, SIR_LOOPS)
    assert main(["loops", str(model), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [(lp["id"], lp["name"]) for lp in data["loops"]] == [
        ("R1", "contagion"), ("R2", "recovery"), ("B1", "")]
    assert [lp["id"] for lp in data["documented"]] == ["R1", "R2"]
    assert data["unmatched"] == ["B9 vaccination"] and len(data["notes"]) == 1
    assert main(["loops", str(model), "--json", "--dominance", "--every", "10"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert "loops" not in data and data["dominance"]["method"] == "all loops"
    periods = data["dominance"]["periods"]
    assert periods[0]["start"] == 10 and {p["loop"] for p in periods} <= {"R1", "R2", "B1"}
    assert {p["name"] for p in periods if p["loop"] == "R1"} <= {"contagion"}


def test_dominance_names_come_from_the_loop_report(sir_path, tmp_path):
    """The names are the loop report's: the sidecar is read once, by find_loops."""
    model = _sir_with_sidecar(sir_path, tmp_path, SIR_LOOPS)
    m = sdkit.load_model(model)
    family = find_loops(m)
    assert dict(family.names) == {"R1": "contagion", "R2": "recovery"}
    model.with_name("sir.sdkit.toml").unlink()  # what the report carries is what counts
    assert dict(loop_dominance(m, loops=family).names) == dict(family.names)
    plain = find_loops(m, documented=False)  # numbered once, by length: no names
    assert sorted(lp.id for lp in plain) == ["B1", "B2", "R1"]
    assert dict(loop_dominance(m, loops=plain).names) == {}


def test_loops_cli_cin_runs_with_the_changed_constants(sir_path, tmp_path, capsys):
    """--cin: dominance of the run with the file's constants, as the library call gives it."""
    cin = tmp_path / "fitted.cin"
    cin.write_text("Duration = 1\n", encoding="utf-8")  # R0 = 0.3 * 1: the epidemic dies out
    args = ["loops", str(sir_path), "--json", "--dominance", "--every", "5"]
    assert main(args) == 0
    plain = json.loads(capsys.readouterr().out)["dominance"]
    assert main([*args, "--cin", str(cin)]) == 0
    fitted = json.loads(capsys.readouterr().out)["dominance"]
    reference = loop_dominance(sdkit.load_model(sir_path), {"Duration": 1.0}).to_dict(every=5)
    assert fitted == json.loads(json.dumps(reference))
    assert [p["loop"] for p in fitted["periods"]] != [p["loop"] for p in plain["periods"]]


@pytest.mark.parametrize(("text", "dominance", "message"), [
    ("Duraton = 1\n", True, r"fitted\.cin: line 1: no variable named 'Duraton'; did you mean "
                          r"'Duration'\?"),
    ("Duration = long\n", True, r"fitted\.cin: line 1"),
    ("Duration = 1\n", False, r"--cin needs --dominance"),
])
def test_loops_cli_bad_cin_is_one_line(sir_path, tmp_path, capsys, text, dominance, message):
    cin = tmp_path / "fitted.cin"
    cin.write_text(text, encoding="utf-8")
    scores = tmp_path / "scores.csv"
    flags = ["--dominance", "--scores-out", str(scores)] if dominance else []
    assert main(["loops", str(sir_path), *flags, "--cin", str(cin)]) == 2
    captured = capsys.readouterr()
    err = captured.err.strip().splitlines()
    assert len(err) == 1 and re.search(message, err[0]), err
    assert captured.out == "" and not scores.exists()  # nothing listed, nothing written


def test_two_documented_loops_with_one_id_are_refused(sir_path, tmp_path, capsys):
    model = _sir_with_sidecar(sir_path, tmp_path, '[loops]\n"R1 contagion" = '
                              '["Infectious", "Succumbing"]\n"R1 again" = '
                              '["Susceptible", "Succumbing"]\n')
    assert main(["loops", str(model)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "'R1 contagion' and 'R1 again' both name loop 'R1'" in err[0]


def test_iis_loops_under_their_documented_ids(iis):
    """The loops models/iis.sdkit.toml names come first, under its ids; no id is taken twice."""
    report = find_loops(iis)
    plain = find_loops(iis, documented=False)
    labels = list(IIS_LOOPS)
    documented = report.loops[:len(labels)]
    assert [lp.id for lp in documented] == [label.split()[0] for label in labels]
    assert [report.names[lp.id] for lp in documented] == [
        label.split(maxsplit=1)[1] for label in labels]
    auto, _ = match_documented(plain, IIS_LOOPS, iis.names)  # the same loops as before
    by_id = {lp.id: lp for lp in plain}
    assert [lp.variables for lp in documented] == [
        by_id[next(i for i, lb in auto.items() if lb == label)].variables for label in labels]
    ids = [lp.id for lp in report]
    assert len(set(ids)) == len(ids) == len(plain)
    assert sorted((lp.variables, lp.polarity) for lp in report) == sorted(
        (lp.variables, lp.polarity) for lp in plain)
    assert set(report.names) == {lp.id for lp in documented}
    # every other loop keeps an id of its polarity, numbered around the documented ones
    prefix = {"reinforcing": "R", "balancing": "B", "ambiguous": "U"}
    assert all(lp.id[0] == prefix[lp.polarity] and lp.id[1:].isdigit()
               for lp in report.loops[len(labels):])
    # --dominance prints the count and the documented loops, not the 2,766-line listing
    assert report.summary(loops=False).splitlines()[1:] == [
        ln for ln in report.summary().splitlines()[1:len(labels) + 1]]
    assert report.unmatched == () and report.notes == ()


def test_documented_name_of_unknown_variable_is_one_line(sir_path, tmp_path, capsys):
    model = tmp_path / "sir.mdl"
    shutil.copy(sir_path, model)
    (tmp_path / "sir.sdkit.toml").write_text(
        '[loops]\n"R1 contagion" = ["Infectious", "Succumbed"]\n', encoding="utf-8")
    with pytest.raises(SpecError, match=r"sir.sdkit.toml: \[loops\].'R1 contagion': "
                                        r"'Succumbed' is not a variable"):
        _match(model)
    assert main(["loops", str(model)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "'Succumbed' is not a variable of the model" in err[0]


def _match(model):
    m = sdkit.load_model(model)
    match_documented(find_loops(m), documented_loops(model), m.names,
                     where=str(model.with_name("sir.sdkit.toml")))


def _smooth_model(path, perceived: str) -> None:
    path.write_text(
        "{UTF-8}\nStock= INTEG(Inflow - Outflow, 1)\n~ u\n~ |\n"
        "Inflow= 0.3 * Perceived\n~ u\n~ |\nOutflow= Stock / 4\n~ u\n~ |\n"
        f"Perceived= {perceived}\n~ u\n~ |\n"
        "INITIAL TIME=0\n~ t\n~ |\nFINAL TIME=10\n~ t\n~ |\n"
        "TIME STEP=0.25\n~ t\n~ |\nSAVEPER=TIME STEP\n~ t\n~ |\n", encoding="utf-8")


@pytest.mark.parametrize("function", ["SMOOTH", "DELAY1"])
def test_first_order_smooth_scores_as_its_stock(tmp_path, function):
    """SMOOTH(x, T) and DELAY1(x, T) (constant T) score as the stock dS/dt = (x - S)/T."""
    _smooth_model(tmp_path / "builtin.mdl", f"{function}(Stock, 2)")
    _smooth_model(tmp_path / "stock.mdl", "INTEG((Stock - Perceived) / 2, Stock)")
    builtin = loop_dominance(tmp_path / "builtin.mdl")
    explicit = loop_dominance(tmp_path / "stock.mdl")
    assert len(builtin.loops) == len(explicit.loops) == 3  # outflow, via the smooth, its own
    by_vars = {frozenset(lp.variables): lp.id for lp in explicit.loops}
    for lp in builtin.loops:
        np.testing.assert_allclose(builtin.raw[lp.id], explicit.raw[by_vars[frozenset(
            lp.variables)]], rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(builtin.scores[lp.id], explicit.scores[by_vars[frozenset(
            lp.variables)]], rtol=1e-9)


def test_third_order_smooth_on_a_loop_is_refused_by_name(tmp_path):
    _smooth_model(tmp_path / "smooth3.mdl", "SMOOTH3(Stock, 2)")
    with pytest.raises(UnsupportedConstructError, match="'Perceived' is a Smooth"):
        loop_dominance(tmp_path / "smooth3.mdl")


@pytest.mark.parametrize("extra, message", [
    (["--samples", "0"], "--max-element-loops and --samples must be >= 1: 1000, 0"),
    (["--max-element-loops", "-1"], "--max-element-loops and --samples must be >= 1: -1, 100"),
    (["--every", "0"], "--every must be > 0: 0.0"),
    (["--scores-out", "{tmp}/s.csv"], "--scores-out needs --dominance"),
    (["--list"], "--list needs --dominance"),
    (["--dominance", "--scores-out", "{tmp}/s.txt"], "unknown output format '.txt'"),
    (["--dominance", "--out", "{tmp}/loops.csv", "--scores-out", "{tmp}/exists.csv"],
     "exists.csv"),
])
def test_loops_cli_bad_options(sir_path, tmp_path, capsys, extra, message):
    (tmp_path / "exists.csv").write_text("keep\n", encoding="utf-8")
    argv = ["loops", str(sir_path)] + [a.format(tmp=tmp_path) for a in extra]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["exists.csv"]  # nothing written
    assert (tmp_path / "exists.csv").read_text(encoding="utf-8") == "keep\n"
