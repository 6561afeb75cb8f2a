"""Nothing lost on Ctrl-C: best points kept, no half-written output, earlier results intact.

Ctrl-C reaches Python as ``KeyboardInterrupt`` (the default SIGINT handler),
so each test raises one from inside the work (an objective evaluation, a
figure, an ensemble chunk, a rename) and then checks what is on disk.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_bad_input import DATA, REPORT, SCENARIO, SPEC

import sdkit
from sdkit.calibration.objective import Objective
from sdkit.cli import main
from sdkit.scenarios.uncertainty import sample_parameters

MODELS = Path(__file__).resolve().parent / "models"


def snapshot(folder: Path) -> dict[str, bytes | None]:
    """Every path under `folder` with its bytes (None for folders)."""
    return {str(p.relative_to(folder)): (p.read_bytes() if p.is_file() else None)
            for p in sorted(folder.rglob("*"))}


def leftovers(folder: Path) -> list[str]:
    """Temporary files or folders (``.name.*``) left in `folder`."""
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def interrupt_after(monkeypatch, k: int) -> dict:
    """Make the k-th batch of objective runs raise KeyboardInterrupt; count what ran."""
    calls = {"batches": 0, "payoffs": []}
    original_many = Objective.simulate_many
    original_residuals = Objective.residuals_many

    def simulate_many(self, xs):
        calls["batches"] += 1
        if calls["batches"] == k:
            calls["before"] = list(calls["payoffs"])  # what was evaluated before Ctrl-C
            raise KeyboardInterrupt
        return original_many(self, xs)

    def residuals_many(self, xs):
        r = original_residuals(self, xs)
        calls["payoffs"] += [float(row @ row) for row in r]
        return r

    monkeypatch.setattr(Objective, "simulate_many", simulate_many)
    monkeypatch.setattr(Objective, "residuals_many", residuals_many)
    return calls


@pytest.fixture()
def spec(tmp_path) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copyfile(MODELS / "decay_city.mdl", folder / "decay_city.mdl")
    (folder / "data.csv").write_text(DATA, encoding="utf-8")
    path = folder / "spec.toml"
    initial_output = ('\n[[parameters]]\nvariable = "Initial Output"\nper_element = true\n'
                      'lower = 10.0\nupper = 1000.0\n')
    path.write_text(SPEC.replace('"least_squares"', '"multistart"') + initial_output,
                    encoding="utf-8")
    return path


# -- calibration ------------------------------------------------------------------------

def test_interrupted_fit_keeps_the_best_point_seen(spec, monkeypatch):
    calls = interrupt_after(monkeypatch, 8)
    result = sdkit.calibrate(spec, seed=3, n_starts=2, progress=False)
    assert result.interrupted
    assert "interrupted" in result.warnings[0] and result.intervals == {}
    # the result is the best of the points evaluated before Ctrl-C, not the last one
    before = calls["before"]
    assert len(before) >= 3
    assert result.payoff == pytest.approx(min(before), rel=1e-9)
    assert result.payoff < before[0]  # better than the initial guess


def test_interrupted_fit_reruns_to_the_same_answer(spec, monkeypatch):
    full = sdkit.calibrate(spec, seed=3, n_starts=2, progress=False, profile=False)
    with monkeypatch.context() as m:
        interrupt_after(m, 3)
        cut = sdkit.calibrate(spec, seed=3, n_starts=2, progress=False, profile=False)
    assert cut.interrupted and cut.values != full.values
    again = sdkit.calibrate(spec, seed=3, n_starts=2, progress=False, profile=False)
    assert not again.interrupted
    assert again.values == full.values  # same seed, same answer: nothing carried over
    assert again.n_evaluations == full.n_evaluations


def test_cli_interrupted_calibration_writes_nothing(spec, tmp_path, monkeypatch, capsys):
    out = tmp_path / "results"
    base = ["calibrate", str(spec), "--seed", "3", "--no-plots", "--no-profile", "--out"]
    assert main([*base, str(out)]) == 0
    earlier = snapshot(out)
    capsys.readouterr()
    interrupt_after(monkeypatch, 3)
    assert main([*base, str(out), "--overwrite"]) == 130
    interrupt_after(monkeypatch, 3)
    assert main([*base, str(tmp_path / "new")]) == 130
    printed = capsys.readouterr()
    assert "(INTERRUPTED)" in printed.out  # the best point so far is shown
    assert "g[Yichang]" in printed.out
    assert printed.err.count("sdkit: interrupted: best point so far shown above; "
                             "nothing written to") == 2
    assert snapshot(out) == earlier  # earlier results intact, byte for byte
    assert not (tmp_path / "new").exists()
    assert leftovers(tmp_path) == []


def test_results_interrupted_while_plotting_leave_folder_unchanged(spec, tmp_path,
                                                                   monkeypatch):
    from sdkit.workflow import calibration as report
    from sdkit.workflow.calibration import write_outputs

    result = sdkit.calibrate(spec, seed=3, n_starts=2, progress=False, profile=False)
    out = tmp_path / "results"
    write_outputs(result, out, plots=False)
    (out / "notes.txt").write_text("the user's own file\n")
    earlier = snapshot(out)
    drawn = []

    def plot_then_stop(fig, **_):
        drawn.append(fig)
        if len(drawn) == 2:
            raise KeyboardInterrupt
        return b"\x89PNG partial"

    monkeypatch.setattr(report, "figure_png", plot_then_stop)
    with pytest.raises(KeyboardInterrupt):
        write_outputs(result, out, overwrite=True)
    drawn.clear()
    with pytest.raises(KeyboardInterrupt):
        write_outputs(result, tmp_path / "fresh")
    assert snapshot(out) == earlier
    assert not (tmp_path / "fresh").exists()
    assert leftovers(tmp_path) == []


# -- pipeline and report ----------------------------------------------------------------

@pytest.fixture()
def mini(tmp_path):
    """A report configuration and one scenario for the mini IIS model."""
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copyfile(MODELS / "mini_iis.mdl", folder / "mini_iis.mdl")
    (folder / "report.toml").write_text(REPORT, encoding="utf-8")
    (folder / "scenarios").mkdir()
    (folder / "scenarios" / "green.toml").write_text(SCENARIO, encoding="utf-8")
    return folder


def pipeline_args(mini: Path, out: Path) -> list[str]:
    return ["pipeline", "--config", str(mini / "report.toml"), "--scenarios",
            str(mini / "scenarios"), "--no-calibrate", "--members", "0", "--sensitivity-n",
            "0", "--no-progress", "--out", str(out), "--overwrite"]


def test_pipeline_interrupted_leaves_earlier_report_intact(mini, tmp_path, monkeypatch,
                                                           capsys):
    from sdkit.report import render
    from sdkit.scenarios import projection

    reports = tmp_path / "reports"
    out = reports / "iis"
    assert main(pipeline_args(mini, out)) == 0
    earlier = snapshot(out)
    assert (out / "index.html").is_file() and (out / "data" / "scenarios.nc").is_file()

    # Ctrl-C while the scenarios run
    def stop(*args, **kwargs):
        raise KeyboardInterrupt

    with monkeypatch.context() as m:
        m.setattr(projection, "run_members", stop)
        assert main(pipeline_args(mini, out)) == 130
        assert main(pipeline_args(mini, reports / "new")) == 130
    assert "sdkit: interrupted" in capsys.readouterr().err
    # Ctrl-C while the report folder is being written (figures and tables done)
    with monkeypatch.context() as m:
        m.setattr(render, "_write_meta", stop)
        assert main(pipeline_args(mini, out)) == 130
        assert main(pipeline_args(mini, reports / "new")) == 130
    assert snapshot(out) == earlier
    assert sorted(p.name for p in reports.iterdir()) == ["iis"]  # no new, no temporaries


def test_report_interrupted_between_renames_keeps_the_old_folder(mini, tmp_path,
                                                                 monkeypatch):
    reports = tmp_path / "reports"
    out = reports / "iis"
    assert main(pipeline_args(mini, out)) == 0
    earlier = snapshot(out)
    real_rename = os.rename

    def rename(src, dst):  # stop after the old folder moved aside, before the new one moves in
        real_rename(src, dst)
        if Path(src) == out:
            raise KeyboardInterrupt

    monkeypatch.setattr(os, "rename", rename)
    args = ["report", "--config", str(mini / "report.toml"), "--results", str(out / "data"),
            "--root", str(reports), "--name", "iis", "--overwrite"]
    assert main(args) == 130
    assert snapshot(out) == earlier
    assert sorted(p.name for p in reports.iterdir()) == ["iis"]


# -- ensembles ------------------------------------------------------------------------

TABLE = pd.DataFrame({"Contact Infectivity": np.linspace(0.1, 0.6, 6),
                      "Duration": np.linspace(2, 9, 6)})
OUTPUTS = ["Infectious", "Recovered"]


class InterruptAfterFirstChunk(sdkit.InProcessExecutor):
    """Runs the first chunk, then acts as if Ctrl-C arrived."""

    n_workers = 3

    def __init__(self):
        self.ran = 0

    def map(self, fn, tasks):
        fn(*tasks[0])
        self.ran = 1
        raise KeyboardInterrupt


def ensemble_frame(ds) -> pd.DataFrame:
    return ds[OUTPUTS].to_dataframe()


def test_interrupted_ensemble_leaves_earlier_results_intact(sir_path, tmp_path, monkeypatch):
    target = tmp_path / "ensemble.csv"
    sdkit.io.files.write_table(ensemble_frame(sdkit.simulate_ensemble(sir_path, TABLE.iloc[:3],
                                                                outputs=OUTPUTS)), target)
    earlier = target.read_bytes()
    ex = InterruptAfterFirstChunk()
    with pytest.raises(KeyboardInterrupt):
        ds = sdkit.simulate_ensemble(sir_path, TABLE, outputs=OUTPUTS, executor=ex)
        sdkit.io.files.write_table(ensemble_frame(ds), target)
    assert ex.ran == 1
    # Ctrl-C while the new table is being written
    ds = sdkit.simulate_ensemble(sir_path, TABLE, outputs=OUTPUTS)
    real_to_csv = pd.DataFrame.to_csv

    def half_then_stop(self, path, *args, **kwargs):
        real_to_csv(self.iloc[: len(self) // 2], path, *args, **kwargs)
        raise KeyboardInterrupt

    monkeypatch.setattr(pd.DataFrame, "to_csv", half_then_stop)
    with pytest.raises(KeyboardInterrupt):
        sdkit.io.files.write_table(ensemble_frame(ds), target)
    assert target.read_bytes() == earlier
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ensemble.csv"]


@pytest.mark.slow
def test_same_seed_same_results_in_process_and_process_pool(sir_path):
    """The Dask LocalCluster case: tests/engine/test_engine_executors.py::test_dask_identical."""
    unc = sdkit.ParameterUncertainty.from_intervals(
        {"Contact Infectivity": (0.1, 0.6), "Duration": (2.0, 9.0)})
    table = sample_parameters(unc, 8, seed=11)
    pd.testing.assert_frame_equal(table, sample_parameters(unc, 8, seed=11))
    with sdkit.InProcessExecutor() as ex:
        here = sdkit.simulate_ensemble(sir_path, table, outputs=OUTPUTS, executor=ex)
    with sdkit.ProcessPoolExecutor(workers=2) as ex:
        pool = sdkit.simulate_ensemble(sir_path, table, outputs=OUTPUTS, executor=ex)
    for name in OUTPUTS:
        np.testing.assert_array_equal(here[name].values, pool[name].values)
    # and the members really differ: the seed, not a constant, drives them
    assert np.unique(here["Infectious"].values[:, -1]).size == 8


# -- calibrate --overwrite near the end (issue 12) -------------------------------------------

@pytest.mark.parametrize("when", ["before", "after"])
def test_calibration_folder_is_all_old_or_all_new(spec, tmp_path, monkeypatch, when):
    """Ctrl-C as the results move into --out: never a mix of new and old files."""
    from sdkit.workflow.calibration import write_outputs

    old = sdkit.calibrate(spec, seed=3, n_starts=2, progress=False, profile=False)
    new = sdkit.calibrate(spec, seed=4, n_starts=2, progress=False, profile=False)
    out = tmp_path / "results"
    write_outputs(old, out, plots=False)
    (out / "notes.txt").write_text("the user's own file\n")
    earlier = snapshot(out)
    write_outputs(new, tmp_path / "reference", plots=False)
    (tmp_path / "reference" / "notes.txt").write_text("the user's own file\n")
    complete_new = snapshot(tmp_path / "reference")
    assert complete_new != earlier and complete_new.keys() == earlier.keys()
    shutil.rmtree(tmp_path / "reference")
    real = {"replace": os.replace, "rename": os.rename}
    stopped = []

    def moving_into_out(name):
        def move(src, dst):
            into = Path(dst) == out or Path(dst).parent == out
            if into and when == "before" and not stopped:
                stopped.append(dst)
                raise KeyboardInterrupt
            real[name](src, dst)
            if into and when == "after" and not stopped:
                stopped.append(dst)
                raise KeyboardInterrupt
        return move

    monkeypatch.setattr(os, "replace", moving_into_out("replace"))
    monkeypatch.setattr(os, "rename", moving_into_out("rename"))
    with pytest.raises(KeyboardInterrupt):
        write_outputs(new, out, overwrite=True, plots=False)
    monkeypatch.undo()
    assert stopped
    assert snapshot(out) == (earlier if when == "before" else complete_new)
    assert leftovers(tmp_path) == []


# -- real processes: SIGINT and SIGKILL while a folder is staged --------------------------------

STAGING_SCRIPT = """
import os, signal, sys, time
from pathlib import Path
from sdkit.io.files import atomic_path, staged_folder

# Ctrl-C as at a terminal: a job started in the background inherits SIGINT ignored
signal.signal(signal.SIGINT, signal.default_int_handler)

out, between = Path(sys.argv[1]), sys.argv[2] == "between"
if between:  # stop after the old folder moved aside, before the new one moves in
    real = os.rename
    def rename(src, dst):
        real(src, dst)
        if Path(src) == out:
            print("ready", flush=True)
            time.sleep(60)
    os.rename = rename
with atomic_path(out.parent / "table.csv") as tmp:
    tmp.write_text("half a table")
    with staged_folder(out, overwrite=True) as stage:
        (stage / "index.html").write_text("new report")
        if not between:
            print("ready", flush=True)
            time.sleep(60)
"""


def _stop_at_ready(tmp_path: Path, out: Path, how: signal.Signals, where: str) -> int:
    proc = subprocess.Popen([sys.executable, "-c", STAGING_SCRIPT, str(out), where],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "ready", proc.stderr.read()
        proc.send_signal(how)
        return proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.fixture()
def old_report(tmp_path) -> Path:
    out = tmp_path / "report"
    out.mkdir()
    (out / "index.html").write_text("old report")
    (tmp_path / "table.csv").write_text("old table")
    return out


def test_sigint_while_staging_leaves_old_outputs_and_no_temporaries(tmp_path, old_report):
    earlier = snapshot(tmp_path)
    assert _stop_at_ready(tmp_path, old_report, signal.SIGINT, "staging") != 0
    assert snapshot(tmp_path) == earlier
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("where", ["staging", "between"])
def test_kill_9_leftovers_are_cleaned_by_the_next_write(tmp_path, old_report, where):
    earlier = snapshot(tmp_path)
    assert _stop_at_ready(tmp_path, old_report, signal.SIGKILL, where) == -signal.SIGKILL
    left = leftovers(tmp_path)
    assert left and all(name.startswith(sdkit.io.files.STAGE_PREFIX) for name in left)
    if where == "between":
        assert not old_report.exists()  # killed with the old folder moved aside
    sdkit.io.files.atomic_write_text(tmp_path / "later.txt", "a later run")
    assert leftovers(tmp_path) == []
    assert snapshot(tmp_path) == {**earlier, "later.txt": b"a later run"}


def test_scenario_tables_appear_together(mini, tmp_path, monkeypatch):
    """Ctrl-C while the second table is written: the first is not replaced either."""
    from test_bad_input import _scen

    scen = mini / "scenarios"
    (scen / "other.toml").write_text(_scen('name = "green"', 'name = "other"'),
                                     encoding="utf-8")
    out = tmp_path / "tables"
    args = ["scenarios", "run", str(scen), "--model", str(mini / "mini_iis.mdl"),
            "--columns", "GDP", "--out", str(out), "--overwrite"]
    assert main(args) == 0
    earlier = snapshot(out)
    assert sorted(earlier) == ["green.parquet", "other.parquet"]
    real = sdkit.scenarios.runs.write_table
    calls = []

    def second_stops(frame, target, **kwargs):
        calls.append(target)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(frame.assign(value=frame["value"] * 2), target, **kwargs)

    monkeypatch.setattr(sdkit.scenarios.runs, "write_table", second_stops)
    assert main(args) == 130
    assert len(calls) == 2
    assert snapshot(out) == earlier
    assert leftovers(out) == [] and leftovers(tmp_path) == []
