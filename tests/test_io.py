"""Atomic writes: all or nothing, no silent overwrite."""

from __future__ import annotations

import errno
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from sdkit import InvalidValueError, OutputError
from sdkit.io.files import (
    STAGE_PREFIX,
    STALE_AFTER,
    _atomic_write,
    atomic_path,
    atomic_write_text,
    check_replaceable,
    clean_stale,
    staged_folder,
    write_table,
)


def test_atomic_write_replaces_whole_file(tmp_path):
    target = tmp_path / "a.txt"
    atomic_write_text(target, "one")
    atomic_write_text(target, "two")
    assert target.read_text() == "two"
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]


def test_failure_leaves_old_file_and_no_temp(tmp_path):
    target = tmp_path / "a.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("interrupted")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]


def test_refuses_to_overwrite(tmp_path):
    target = tmp_path / "a.txt"
    target.write_text("old")
    with pytest.raises(OutputError, match="refusing to overwrite"):
        atomic_write_text(target, "new", overwrite=False)
    assert target.read_text() == "old"


def test_write_table_formats(tmp_path):
    frame = pd.DataFrame({"K[Yichang]": [1.0, 2.0], "GDP/cap": [3.0, 4.0]},
                         index=pd.Index([0.0, 1.0], name="time"))
    pd.testing.assert_frame_equal(pd.read_csv(write_table(frame, tmp_path / "t.csv"),
                                              index_col=0), frame)
    back = pd.read_parquet(write_table(frame, tmp_path / "t.parquet", attrs={"seed": 1}))
    assert list(back.columns) == ["K[Yichang]", "GDP/cap"]
    import xarray as xr

    ds = xr.open_dataset(write_table(frame, tmp_path / "t.nc", attrs={"model": "m.mdl"}))
    assert ds.attrs["model"] == "m.mdl"
    assert sorted(ds[v].attrs["long_name"] for v in ds.data_vars) == ["GDP/cap", "K[Yichang]"]
    ds.close()
    with pytest.raises(InvalidValueError, match="unknown output format '.xlsx'"):
        write_table(frame, tmp_path / "t.xlsx")


def test_outputs_get_usual_permissions(tmp_path):
    mask = os.umask(0o022)
    try:
        target = atomic_write_text(tmp_path / "new.txt", "x")
        assert stat.S_IMODE(target.stat().st_mode) == 0o644
        keep = tmp_path / "keep.txt"
        keep.write_text("old")
        keep.chmod(0o600)
        atomic_write_text(keep, "new")
        assert stat.S_IMODE(keep.stat().st_mode) == 0o600
    finally:
        os.umask(mask)


# -- what may be replaced (issue 12) ------------------------------------------------------

def test_refuses_to_replace_a_fifo_even_with_overwrite(tmp_path):
    fifo = tmp_path / "results.csv"
    os.mkfifo(fifo)
    with pytest.raises(OutputError, match=r"results\.csv: is a FIFO.*refusing to replace"):
        atomic_write_text(fifo, "new", overwrite=True)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.csv"]


def test_refuses_a_character_device_and_a_folder(tmp_path):
    # inspection only: nothing is written next to /dev/null
    with pytest.raises(OutputError, match=r"/dev/null: is a character device"):
        check_replaceable("/dev/null", overwrite=True)
    (tmp_path / "out.csv").mkdir()
    with pytest.raises(OutputError, match=r"out\.csv: is a folder; refusing to replace it"):
        write_table(pd.DataFrame({"x": [1.0]}), tmp_path / "out.csv", overwrite=True)
    assert (tmp_path / "out.csv").is_dir()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]


def test_dangling_symlink_counts_as_existing(tmp_path):
    link = tmp_path / "out.txt"
    link.symlink_to(tmp_path / "nowhere.txt")
    with pytest.raises(OutputError, match=r"out\.txt: exists; refusing to overwrite"):
        atomic_write_text(link, "new", overwrite=False)
    with pytest.raises(OutputError, match=r"out\.txt: is a symbolic link"):
        atomic_write_text(link, "new", overwrite=True)
    assert link.is_symlink() and not (tmp_path / "nowhere.txt").exists()


def test_write_failure_becomes_output_error_and_leaves_old_file(tmp_path):
    target = tmp_path / "a.txt"
    target.write_text("old")

    def too_big(fh):
        fh.write("x" * 10)
        raise OSError(errno.EFBIG, "File too large")

    with pytest.raises(OutputError, match=r"a\.txt: cannot write: File too large"):
        _atomic_write(target, "w", too_big, overwrite=True)
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]


def test_temporary_names_are_recognisable(tmp_path):
    seen = []
    with atomic_path(tmp_path / "a.csv") as tmp:
        seen.append(tmp.name)
        tmp.write_text("x")
    with staged_folder(tmp_path / "folder") as stage:
        seen.append(stage.name)
    assert seen[0].startswith(f"{STAGE_PREFIX}{os.getpid()}-") and seen[0].endswith("-tmp.a.csv")
    assert seen[1].startswith(f"{STAGE_PREFIX}{os.getpid()}-") and seen[1].endswith("-dir.folder")


# -- stale staging names --------------------------------------------------------------------

def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_stale_staging_left_by_a_dead_process_is_removed(tmp_path):
    dead = _dead_pid()
    folder = tmp_path / f"{STAGE_PREFIX}{dead}-abc123-dir.report"
    folder.mkdir()
    (folder / "index.html").write_text("half")
    tmp = tmp_path / f"{STAGE_PREFIX}{dead}-x_9-tmp.a.csv"
    tmp.write_text("half")
    user = tmp_path / ".a.csv.abc.tmp"  # not sdkit's prefix: never touched
    user.write_text("mine")
    atomic_write_text(tmp_path / "b.txt", "new")
    assert sorted(p.name for p in tmp_path.iterdir()) == [".a.csv.abc.tmp", "b.txt"]


def test_staging_of_a_live_process_is_kept_until_old(tmp_path):
    live = os.getppid()  # alive: our parent
    young = tmp_path / f"{STAGE_PREFIX}{live}-abc-tmp.a.csv"
    young.write_text("being written")
    assert clean_stale(tmp_path) == []
    assert young.exists()
    old = time.time() - STALE_AFTER - 60
    os.utime(young, (old, old))
    assert clean_stale(tmp_path) == [young]
    assert not young.exists()


def test_own_young_staging_name_is_not_cleaned(tmp_path):
    """A thread of this process between ``mkstemp`` and registering the name in ACTIVE:
    another thread's sweep must not delete it; once old, it is a leftover."""
    mine = tmp_path / f"{STAGE_PREFIX}{os.getpid()}-abc-tmp.index.json"
    mine.write_text("being written")
    assert clean_stale(tmp_path) == [] and mine.exists()
    old = time.time() - STALE_AFTER - 60
    os.utime(mine, (old, old))
    assert clean_stale(tmp_path) == [mine] and not mine.exists()


def test_old_folder_of_a_killed_swap_is_put_back(tmp_path):
    """Killed between the two renames: the target is missing, its old version is aside."""
    dead = _dead_pid()
    aside = tmp_path / f"{STAGE_PREFIX}{dead}-ab12-old.report"
    aside.mkdir()
    (aside / "index.html").write_text("old report")
    staged = tmp_path / f"{STAGE_PREFIX}{dead}-cd34-dir.report"
    staged.mkdir()
    (staged / "index.html").write_text("new report")
    with pytest.raises(OutputError, match=r"report: exists"):
        with staged_folder(tmp_path / "report", overwrite=False):
            pass
    assert (tmp_path / "report" / "index.html").read_text() == "old report"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report"]


# -- staged folders ---------------------------------------------------------------------------

def _tree(folder: Path) -> dict[str, str | None]:
    return {str(p.relative_to(folder)): (p.read_text() if p.is_file() else None)
            for p in sorted(folder.rglob("*"))}


def test_staged_folder_swaps_whole_folder(tmp_path):
    out = tmp_path / "out"
    with staged_folder(out) as stage:
        (stage / "a.txt").write_text("one")
        (stage / "sub").mkdir()
        (stage / "sub" / "b.txt").write_text("one")
    with pytest.raises(OutputError, match="exists"):
        with staged_folder(out):
            pass
    with staged_folder(out, overwrite=True) as stage:
        (stage / "a.txt").write_text("two")
    assert _tree(out) == {"a.txt": "two"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_staged_folder_interrupted_leaves_old_folder(tmp_path, monkeypatch):
    out = tmp_path / "out"
    with staged_folder(out) as stage:
        (stage / "a.txt").write_text("old")
    with pytest.raises(KeyboardInterrupt):
        with staged_folder(out, overwrite=True) as stage:
            (stage / "a.txt").write_text("new")
            raise KeyboardInterrupt
    real_rename = os.rename

    def rename_then_stop(src, dst):  # Ctrl-C right after the old folder moved aside
        real_rename(src, dst)
        if Path(src) == out:
            raise KeyboardInterrupt

    monkeypatch.setattr(os, "rename", rename_then_stop)
    with pytest.raises(KeyboardInterrupt):
        with staged_folder(out, overwrite=True) as stage:
            (stage / "a.txt").write_text("new")
    assert _tree(out) == {"a.txt": "old"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_staged_folder_refuses_foreign_folders_and_files(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    (home / "thesis.tex").write_text("years of work")
    with pytest.raises(OutputError, match=r"home: folder exists and is not an sdkit report"):
        with staged_folder(home, overwrite=True, owned=lambda p: (p / "index.html").exists(),
                           what="report"):
            pass
    (tmp_path / "file").write_text("a file")
    with pytest.raises(OutputError, match=r"file: is a regular file; refusing to replace"):
        with staged_folder(tmp_path / "file", overwrite=True):
            pass
    assert (home / "thesis.tex").read_text() == "years of work"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file", "home"]


def test_staged_folder_merge_keeps_other_files(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("the user's")
    (out / "plots").mkdir()
    (out / "plots" / "old.png").write_text("old plot")
    (out / "a.txt").write_text("old")
    with pytest.raises(OutputError, match=r"a\.txt: exists"):
        with staged_folder(out, merge=True) as stage:
            (stage / "a.txt").write_text("new")
    with staged_folder(out, merge=True, overwrite=True) as stage:
        (stage / "a.txt").write_text("new")
        (stage / "plots").mkdir()
        (stage / "plots" / "new.png").write_text("new plot")
    assert _tree(out) == {"a.txt": "new", "notes.txt": "the user's", "plots": None,
                          "plots/new.png": "new plot", "plots/old.png": "old plot"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


# -- results keep their structure and units (issue 16) -------------------------------

MINI_IIS = Path(__file__).resolve().parent / "models" / "mini_iis.mdl"


@pytest.fixture(scope="module")
def mini_run():
    import sdkit

    return sdkit.simulate(MINI_IIS, outputs=["GDP", "CO2 emissions", "Green effect"])


def test_dataset_has_dimensions_units_and_descriptions(mini_run):
    import sdkit

    ds = sdkit.to_dataset(mini_run)
    assert ds["GDP"].dims == ("time", "City")
    assert list(ds["City"].values) == ["Yichang", "Jingzhou"]  # the model's order
    assert ds["GDP"].attrs["units"] == "100 million CNY"
    assert ds["CO2 emissions"].attrs["description"] == "Units are illustrative only."
    assert all({"units", "description"} <= set(ds[v].attrs) for v in ds.data_vars)
    assert float(ds["GDP"].sel(City="Jingzhou").isel(time=-1)) == mini_run["GDP[Jingzhou]"].iloc[-1]


def test_netcdf_keeps_subscripts_as_dimensions(mini_run, tmp_path):
    import xarray as xr

    with xr.open_dataset(write_table(mini_run, tmp_path / "run.nc")) as ds:
        assert "GDP" in ds.data_vars and not any("Yichang" in v for v in ds.data_vars)
        assert ds["GDP"].dims == ("time", "City")
        assert ds["GDP"].attrs["units"] == "100 million CNY"
        assert ds["CO2_emissions"].attrs["long_name"] == "CO2 emissions"
        assert (ds["GDP"].sel(City="Yichang").to_numpy()
                == mini_run["GDP[Yichang]"].to_numpy()).all()


def test_tab_is_vensims_layout_and_pysd_reads_it(mini_run, tmp_path):
    from pysd.py_backend.utils import load_outputs

    path = write_table(mini_run, tmp_path / "run.tab")
    lines = path.read_text().splitlines()
    assert lines[0].split("\t")[:3] == ["Time", "2010", "2011"]
    assert [line.split("\t")[0] for line in lines[1:]] == list(mini_run.columns)
    assert len(lines[1].split("\t")) == len(mini_run) + 1
    back = load_outputs(str(path), transpose=True)
    assert list(back.columns) == list(mini_run.columns)
    assert (back.to_numpy() - mini_run.to_numpy()).max() < 1e-9


def test_tidy_and_wide_convert_both_ways(mini_run):
    from sdkit.io.tidy import to_tidy, to_wide

    tidy = to_tidy(mini_run)
    assert list(tidy.columns) == ["variable", "City", "time", "value"]
    assert len(tidy) == len(mini_run) * len(mini_run.columns)
    assert tidy["City"].isna().sum() == len(mini_run)  # the scalar has no City
    wide = to_wide(tidy)
    assert list(wide.columns) == list(mini_run.columns)
    assert (wide.to_numpy() == mini_run.to_numpy()).all()


def test_ensemble_dataset_units_and_wide_shape():
    from sdkit.engine.runner import run_ensemble
    from sdkit.io.tidy import to_tidy, to_wide

    table = pd.DataFrame({"Green decline": [0.05, 0.1]})
    ds = run_ensemble(MINI_IIS, table, ["GDP", "Green effect"]).dataset
    assert ds["GDP"].attrs["units"] == "100 million CNY"
    wide = to_wide(ds)
    assert wide.index.names == ["member", "time"]
    assert list(wide.columns) == ["GDP[Yichang]", "GDP[Jingzhou]", "Green effect"]
    tidy = to_tidy(ds)
    assert list(tidy.columns) == ["variable", "member", "City", "time", "value"]
    back = to_wide(tidy)
    assert (back.to_numpy() == wide.to_numpy()).all()


# -- progress of long jobs -------------------------------------------------------------

class _Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_progress_lines_when_not_a_terminal():
    import io

    from sdkit.io.progress import Progress

    clock, stream = _Clock(), io.StringIO()
    with Progress(1000, desc="Monte Carlo", unit="run", every=5, stream=stream,
                  clock=clock) as bar:
        bar.update(100)
        clock.now += 2  # not yet 5 s: nothing written
        bar.update(100)
        assert stream.getvalue() == ""
        clock.now += 3
        bar.update(300)  # 500 runs in 5 s
        clock.now += 1
        bar.update(1)  # 1 s after the last line: nothing
    lines = stream.getvalue().splitlines()
    assert lines[0] == "sdkit: Monte Carlo: 500/1,000 runs (50%), 100 runs/s, ETA 5s"
    assert lines[1] == "sdkit: Monte Carlo: 501/1,000 runs (50%), 83.5 runs/s, done in 6s"
    assert len(lines) == 2


def test_progress_unknown_total_postfix_and_quiet():
    import io

    from sdkit.io.progress import Progress

    clock, stream = _Clock(), io.StringIO()
    bar = Progress(None, desc="calibrate", every=5, stream=stream, clock=clock)
    bar.set_postfix(best="0.123")
    clock.now += 10
    bar.update(20)
    assert stream.getvalue() == "sdkit: calibrate: 20 runs, 2 runs/s, best 0.123\n"
    silent = io.StringIO()
    off = Progress(5, desc="x", show=False, every=0, stream=silent, clock=clock)
    clock.now += 10
    off.update(5)
    off.close()
    assert silent.getvalue() == ""


def test_short_jobs_write_nothing(capsys):
    from sdkit.io.progress import track

    assert list(track(range(3), desc="fast", lines=True)) == [0, 1, 2]
    assert capsys.readouterr().err == ""


def test_progress_lines_from_a_real_ensemble(monkeypatch, capsys):
    from sdkit.engine.runner import run_ensemble

    monkeypatch.setenv("SDKIT_PROGRESS_SECONDS", "0")  # a line at every chunk
    table = pd.DataFrame({"Green decline": [0.05] * 5000})
    run_ensemble(MINI_IIS, table, ["GDP"])
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("sdkit: ensemble: ") and "/5,000 runs (" in err[0]
    assert "ETA" in err[0]
    assert err[-1].startswith("sdkit: ensemble: 5,000/5,000 runs (100%)") and "done in" in err[-1]
