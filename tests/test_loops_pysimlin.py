"""sdkit's loop dominance against pysimlin's Loops That Matter, on the models both run.

pysimlin (the simlin engine's Python package) enumerates loops and scores
them with the same definitions (Schoenberg et al. 2020). Two differences
are by definition, and are mapped here rather than hidden:

* a Vensim stock whose rate is an expression (``INTEG(a - b, ...)``) gets a
  synthetic ``<stock> net flow`` variable in simlin; sdkit scores the
  expression as the stock's net flow, so the loop is the same without it;
* simlin normalises relative loop scores within each *cycle partition*
  (stocks connected by feedback); sdkit, as the paper, over every loop
  scored. Relative scores are compared where the model has one partition;
  raw loop scores (products of link scores, no normalisation) everywhere,
  per element for arrayed loops.

Scores are compared at pysimlin's saved times, to 1e-9 (both are double
precision and use the same formulas, so they agree to rounding).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import simlin

import sdkit
from sdkit.model.names import canonical, canonical_key
from sdkit.structure.elements import element_graph
from sdkit.workflow.loops import loop_dominance

SAMPLES = ["Lotka_Volterra/Lotka_Volterra.mdl", "pendulum/Single_Pendulum.mdl",
           "simple_harmonic_oscillator/simple_harmonic_oscillator.mdl", "SIR/SIR.xmile",
           "teacup/teacup.xmile"]
SUITE = ["except/test_except.mdl", "initial_function/test_initial.mdl", "ln/test_ln.mdl",
         "subscript_numeric_range/test_subscript_numeric_range.mdl", "time/test_time.mdl"]
LOCAL = ["SIR.mdl", "teacup.mdl", "teacup.xmile", "decay.mdl", "decay_city.mdl", "sir_regions.mdl"]


def _paths(models_dir, conformance_dir):
    return ([models_dir / p for p in LOCAL] + [conformance_dir / "samples" / p for p in SAMPLES]
            + [conformance_dir / "tests" / p for p in SUITE])


def _family(names, model_names):
    """Loop variables as a set of canonical variable names, simlin's synthetic ones dropped."""
    known = {canonical(n) for n in model_names}
    return frozenset(v for v in (canonical(n.split("[")[0]) for n in names) if v in known)


def _elements(lp, count, model):
    """simlin's loop as sets of element keys: one set, or one per element of an arrayed loop."""
    known = {canonical(n): n for n in model.names}
    names = [v for v in lp.variables if canonical(v.split("[")[0]) in known]
    if count == 1:
        return [frozenset(canonical_key(v) for v in names)]
    real = [known[canonical(v)] for v in names]
    dims = sorted({d for v in real for d in model.dims_of(v)})
    out = []
    for combo in itertools.product(*(model.subscripts[d] for d in dims)):
        at = dict(zip(dims, combo))
        out.append(frozenset(canonical_key(f"{v}[{','.join(at[d] for d in model.dims_of(v))}]"
                                           if model.dims_of(v) else v) for v in real))
    return out


def _ours(lp):
    return frozenset(canonical_key(v) for v in lp.variables)


def _saved(time, stop):
    """Entries of simlin's series that are real saves within the run.

    When SAVEPER is not a multiple of TIME STEP (the pendulum sample: 0.1 and
    1/128) simlin saves every ceil(SAVEPER/dt) steps, one of them past FINAL
    TIME, and pads the end of its series with repeated or zero times; those
    entries are left out.
    """
    keep = np.ones(len(time), dtype=bool)
    keep[1:] = np.diff(time) > 0
    return np.logical_and.accumulate(keep) & (time <= stop + 1e-9)


def _simlin(path):
    model = simlin.load(str(path))
    loops = model.loops
    with model.simulate(enable_ltm=True) as sim:
        sim.run_to_end()
        time = sim.get_series("time")
        keep = _saved(time, model.time_spec.stop)
        out = []
        for lp in loops:
            count = sim.get_loop_element_count(lp.id)
            raw = {None: sim.get_loop_score(lp.id)[keep]} if count == 1 else None
            rel = sim.get_relative_loop_score(lp.id)[keep] if count == 1 else None
            out.append((lp, count, raw, rel))
        return time[keep], out, len(model.loop_partitions)


@pytest.fixture(scope="module")
def compared(models_dir, conformance_dir):
    results = {}
    for path in _paths(models_dir, conformance_dir):
        model = sdkit.load_model(path)
        results[path.name] = (model, loop_dominance(model), _simlin(path)[:3])
    return results


@pytest.mark.parametrize("name", [p.split("/")[-1] for p in LOCAL + SAMPLES + SUITE])
def test_same_loops_as_pysimlin(compared, name):
    """The same element loops (arrayed simlin loops expanded element by element)."""
    model, ours, (_, theirs, _) = compared[name]
    assert theirs, "pysimlin finds no loop: not a useful comparison"
    their_sets = [s for lp, count, *_ in theirs for s in _elements(lp, count, model)]
    assert {_ours(lp) for lp in ours.loops} == set(their_sets)
    assert len(ours.loops) == len(set(their_sets))


@pytest.mark.parametrize("name", [p.split("/")[-1] for p in LOCAL + SAMPLES + SUITE])
def test_same_scores_as_pysimlin(compared, name):
    """Scores of every scalar simlin loop that is the only one along its variables.

    simlin keeps parallel references to one element as separate links (in
    sir_regions, ``Infectious[North]`` reaches ``Met Infectious[North]``
    directly and through the SUM), so a cycle of elements can be several of its
    loops; sdkit has one link per pair of elements. Those are compared in
    :func:`test_parallel_references_are_one_link`.
    """
    model, ours, (time, theirs, partitions) = compared[name]
    sets = [s for lp, count, *_ in theirs for s in _elements(lp, count, model)]
    compared_any = False
    for lp, count, raw, rel in theirs:
        if count != 1 or sets.count(_elements(lp, 1, model)[0]) > 1:
            continue
        match = [o for o in ours.loops if _ours(o) == _elements(lp, 1, model)[0]]
        assert len(match) == 1
        loop_id = match[0].id
        our_raw = ours.raw[loop_id].reindex(time, method="nearest", tolerance=1e-9).to_numpy()
        np.testing.assert_allclose(our_raw, raw[None], rtol=1e-9, atol=1e-12)
        if partitions == 1 and len(sets) == len(theirs):
            our_rel = ours.scores[loop_id].reindex(time, method="nearest",
                                                   tolerance=1e-9).to_numpy()
            active = np.isfinite(our_rel)
            np.testing.assert_allclose(our_rel[active], rel[active], rtol=1e-9, atol=1e-12)
            assert np.all(rel[~active] == 0.0)  # simlin writes 0 where sdkit writes NaN
        compared_any = True
    assert compared_any or any(count > 1 for _, count, *_ in theirs)


def test_parallel_references_are_one_link(models_dir):
    """Where simlin has two loops along one cycle of elements, sdkit's loop score is their sum.

    ``Met Infectious[North] = I[North] + Travel * (SUM(I[Region!]) - I[North])``
    reads ``I[North]`` twice; sdkit's link score moves it in both places at
    once (ceteris paribus on the element), simlin scores each reference. The
    equation is linear in ``I[North]``, so the two simlin loops add up to
    sdkit's. The loop between the regions is one loop in both.
    """
    path = models_dir / "sir_regions.mdl"
    ours = loop_dominance(path, {"Travel": 0.2})
    m = simlin.load(str(path))
    with m.simulate(overrides={"travel": 0.2}, enable_ltm=True) as sim:
        sim.run_to_end()
        loops = {_elements(lp, 1, sdkit.load_model(path))[0]: lp.id for lp in m.loops
                 if sim.get_loop_element_count(lp.id) == 1}
        by_id = {lp.id: lp for lp in ours.loops}
        contagion = {"infectious", "met infectious", "succumbing"}
        (arrayed,) = [lp.id for lp in m.loops if sim.get_loop_element_count(lp.id) == 2
                      and {canonical(v) for v in lp.variables} == contagion]
        for region in ("North", "South"):
            direct = sim.get_loop_score(arrayed, element=region)
            via_sum = sim.get_loop_score(loops[_ours(by_id[f"U1[{region}]"])])
            np.testing.assert_allclose(ours.raw[f"U1[{region}]"], direct + via_sum,
                                       rtol=1e-9, atol=1e-12)
            assert np.abs(via_sum[1:]).min() > 0  # both paths carry feedback
        np.testing.assert_allclose(ours.raw["U1[North>South]"],
                                   sim.get_loop_score(loops[_ours(by_id["U1[North>South]"])]),
                                   rtol=1e-9)


@pytest.mark.parametrize("name", ["decay_city.mdl", "test_subscript_numeric_range.mdl"])
def test_arrayed_loop_scores_per_element_match_pysimlin(compared, models_dir, conformance_dir,
                                                        name):
    """Raw loop scores per element, where pysimlin's run agrees with sdkit's.

    pysimlin 0.8.5 simulates the ``dc2`` half of test_subscript_numeric_range
    wrong: ``Matrix_A`` and ``Matrix_B`` are defined in two parts (``dc1``,
    ``dc2``) and it reads the second as zero, so ``Level_1[..,dc2]`` stays at
    10 (sdkit matches the suite's Vensim output there). Those elements are
    checked against the analytical scores in
    :func:`test_linear_stock_scores_are_analytical` instead.
    """
    path = next(p for p in _paths(models_dir, conformance_dir) if p.name == name)
    model, ours, _ = compared[name]
    m = simlin.load(str(path))
    stocks = sdkit.simulate(model, saveper=model.time_settings.dt)
    checked = 0
    with m.simulate(enable_ltm=True) as sim:
        sim.run_to_end()
        time = sim.get_series("time")
        keep = _saved(time, m.time_spec.stop)
        time = time[keep]
        for lp in m.loops:
            for o in ours.loops:
                if _family(o.variables, model.names) != _family(lp.variables, model.names):
                    continue
                element = o.id.split("[", 1)[1].rstrip("]")
                stock = o.variables[0]
                run = stocks[stock].reindex(time, method="nearest", tolerance=1e-9).to_numpy()
                if not np.allclose(run, sim.get_series(canonical(stock).replace(" ", "_"))[keep]):
                    continue
                theirs = sim.get_loop_score(lp.id, element=tuple(element.split(",")))[keep]
                mine = ours.raw[o.id].reindex(time, method="nearest",
                                                    tolerance=1e-9).to_numpy()
                np.testing.assert_allclose(mine, theirs, rtol=1e-9, atol=1e-12)
                checked += 1
    assert checked >= len(ours.loops) // 2 > 0


def test_linear_stock_scores_are_analytical(conformance_dir):
    """``Level' = A·Level − B·Level``: loop scores |A/(A−B)| and −|B/(A−B)|, per element."""
    path = (conformance_dir / "tests" / "subscript_numeric_range"
            / "test_subscript_numeric_range.mdl")
    model = sdkit.load_model(path)
    ours = loop_dominance(model)
    run = sdkit.simulate(model)
    checked = 0
    for lp in ours.loops:
        element = lp.id.split("[", 1)[1].rstrip("]")
        a = run[f"Matrix_A[{element}]"].iloc[0]
        b = run[f"Matrix_B[{element}]"].iloc[0]
        sign, rate = (1, a) if lp.polarity == "reinforcing" else (-1, b)
        expected = sign * abs(rate / (a - b)) if a != b else 0.0
        np.testing.assert_allclose(ours.raw[lp.id].iloc[1:], expected, rtol=1e-9, atol=1e-12)
        checked += 1
    assert checked == 60


def test_iis_loops_agree_with_pysimlin_discovery(models_dir):
    """IIS: both search for the loops that matter (pysimlin: discovery mode).

    Every loop pysimlin reports is an elementary cycle of sdkit's element
    graph (its synthetic ``Productive capital net flow`` dropped), and the ten
    loops sdkit ranks highest by mean |relative score| are among them. The
    two searches differ in how many loops they keep (pysimlin caps at 200,
    sdkit keeps the strongest through each stock at each sampled step), so the
    sets themselves are not compared.
    """
    path = models_dir.parents[1] / "models" / "iis.mdl"
    model = sdkit.load_model(path)
    ours = loop_dominance(model, samples=50)
    links = {(lk.source, lk.target) for lk in element_graph(model).links}
    keys = {canonical_key(n): n for n in element_graph(model).nodes}
    theirs = set()
    analysis = simlin.load(str(path)).analyze()
    assert len(analysis.loops) > 50
    for lp in analysis.loops:
        names = [v for v in lp.variables if not canonical(v.split("[")[0]).endswith("net flow")]
        cycle = [keys[canonical_key(v)] for v in names]
        assert all(pair in links for pair in zip(cycle, cycle[1:] + cycle[:1])), lp.id
        theirs.add(frozenset(cycle))
    top = ours.scores.abs().mean().sort_values(ascending=False).head(10).index
    by_id = {lp.id: frozenset(lp.variables) for lp in ours.loops}
    assert [i for i in top if by_id[i] not in theirs] == []
