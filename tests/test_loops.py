"""Feedback loops: Johnson's algorithm against brute force, and known model loops."""

from __future__ import annotations

import itertools
import random

import numpy as np
import pytest

from sdkit.cli import main
from sdkit.structure.graph import model_graph
from sdkit.structure.loops import find_loops, simple_cycles


def _brute_force(nodes, succ):
    found = set()
    for size in range(1, len(nodes) + 1):
        for combo in itertools.permutations(nodes, size):
            if combo[0] != min(combo):
                continue
            if all(combo[(i + 1) % size] in succ.get(combo[i], ()) for i in range(size)):
                found.add(combo)
    return found


def _canonical(cycle):
    i = cycle.index(min(cycle))
    return tuple(cycle[i:] + cycle[:i])


@pytest.mark.parametrize("seed", range(40))
def test_johnson_matches_brute_force(seed):
    rng = random.Random(seed)
    nodes = list(range(rng.randint(1, 6)))
    succ = {n: [m for m in nodes if rng.random() < 0.4] for n in nodes}
    cycles = [tuple(c) for c in simple_cycles(nodes, succ)]
    assert len(cycles) == len(set(map(_canonical, cycles)))
    assert set(map(_canonical, map(list, cycles))) == _brute_force(nodes, succ)


def test_complete_graph_count():
    # a complete digraph on n nodes has sum_{k=2..n} C(n,k)(k-1)! elementary cycles
    nodes = list(range(5))
    succ = {n: [m for m in nodes if m != n] for n in nodes}
    assert len(list(simple_cycles(nodes, succ))) == 10 + 20 + 30 + 24


def test_teacup_one_balancing_loop(teacup_path):
    report = find_loops(teacup_path)
    assert [(lp.id, lp.variables, lp.polarities, lp.polarity) for lp in report] == [
        ("B1", ("Teacup Temperature", "Heat Loss to Room"), ("+", "-"), "balancing")]


def test_teacup_link_polarities(teacup_path):
    links = {(lk.source, lk.target): lk.polarity for lk in model_graph(teacup_path).links}
    assert links == {("Teacup Temperature", "Heat Loss to Room"): "+",
                     ("Room Temperature", "Heat Loss to Room"): "-",
                     ("Characteristic Time", "Heat Loss to Room"): "-",
                     ("Heat Loss to Room", "Teacup Temperature"): "-"}


def test_sir_loops(sir_path):
    report = find_loops(sir_path)
    loops = {lp.variables: lp.polarity for lp in report}
    assert loops == {
        ("Infectious", "Succumbing"): "reinforcing",   # contagion
        ("Susceptible", "Succumbing"): "balancing",    # depletion of susceptibles
        ("Infectious", "Recovering"): "balancing",     # recovery
    }
    assert report.counts() == {"reinforcing": 1, "balancing": 2, "ambiguous": 0}
    assert list(report.to_frame()["id"]) == ["B1", "R1", "B2"]


def test_xmile_same_loops_as_mdl(models_dir):
    a = [(lp.variables, lp.polarity) for lp in find_loops(models_dir / "teacup.mdl")]
    b = [(lp.variables, lp.polarity) for lp in find_loops(models_dir / "teacup.xmile")]
    assert a == b


def test_iis_loops(models_dir):
    report = find_loops(models_dir.parents[1] / "models" / "iis.mdl")
    loops = {lp.variables: lp.polarity for lp in report}
    assert loops[("Productive capital", "Capital depreciation")] == "balancing"
    assert loops[("Knowledge stock", "Knowledge spillover")] == "reinforcing"
    assert loops[("Productive capital", "Nonprimary output", "GDP",
                  "Investment")] == "reinforcing"
    assert loops[("Policy stringency", "Stringency change")] == "balancing"
    assert len(report) >= 50


def test_too_many_loops_is_an_error(models_dir):
    with pytest.raises(sdkit_error()):
        find_loops(models_dir.parents[1] / "models" / "iis.mdl", max_loops=3)


def sdkit_error():
    from sdkit.errors import InvalidValueError

    return InvalidValueError


def test_loops_cli(sir_path, tmp_path, capsys):
    out = tmp_path / "loops.csv"
    assert main(["loops", str(sir_path), "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "1 reinforcing, 2 balancing" in text
    assert "R1    reinforcing  Infectious -(+)-> Succumbing -(+)-> Infectious" in text
    assert out.read_text().startswith("id,polarity,length,variables")


def test_loop_score_teacup_single_balancing_loop(teacup_path):
    from sdkit.workflow.loops import loop_dominance

    scores = loop_dominance(teacup_path).scores["B1"].dropna()
    assert len(scores) > 200
    assert np.allclose(scores, -1.0)


def test_loop_score_sir_matches_hand_formulas(sir_path):
    """Link scores of the SIR loops written out by hand (Schoenberg et al. 2020)."""
    import sdkit
    from sdkit.workflow.loops import loop_dominance

    model = sdkit.load_model(sir_path)
    result = loop_dominance(model, stop=40)
    dt = model.time_settings.dt
    run = sdkit.simulate(model, stop=40, saveper=dt, outputs=["Susceptible", "Infectious"])
    s, i = run["Susceptible"].to_numpy(), run["Infectious"].to_numpy()
    c, n, d = 0.3, 1000.0, 5.0
    succ, rec = s * i * c / n, i / d
    net_i = np.full_like(i, np.nan)
    net_i[:-1] = (i[1:] - i[:-1]) / dt
    t = np.arange(1, len(i) - 1)
    d_succ, d_rec, d_net = succ[t] - succ[t - 1], rec[t] - rec[t - 1], net_i[t] - net_i[t - 1]
    ls_i_succ = np.abs((s[t - 1] * i[t] * c / n - succ[t - 1]) / d_succ)
    ls_s_succ = np.abs((s[t] * i[t - 1] * c / n - succ[t - 1]) / d_succ)
    r1 = ls_i_succ * np.abs(d_succ / d_net)
    b1 = 1.0 * -np.abs(d_rec / d_net)
    b2 = ls_s_succ * -1.0
    total = np.abs(r1) + np.abs(b1) + np.abs(b2)
    got = result.scores.iloc[t]
    np.testing.assert_allclose(got["R1"], r1 / total, rtol=1e-6)
    np.testing.assert_allclose(got["B1"], b1 / total, rtol=1e-6)
    np.testing.assert_allclose(got["B2"], b2 / total, rtol=1e-6)
    dominant = result.dominant()
    assert dominant.iloc[0] == "R1" and dominant.iloc[-1] != "R1"


def test_loops_cli_dominance(sir_path, capsys):
    assert main(["loops", str(sir_path), "--dominance"]) == 0
    out = capsys.readouterr().out
    assert "dominant loop by period (3 loops scored; all loops)" in out
    assert out.split("all loops)\n")[1].startswith("  0.03125 - ")
