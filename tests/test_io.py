"""Atomic writes: all or nothing, no silent overwrite."""

from __future__ import annotations

import pandas as pd
import pytest

from sdkit import InvalidValueError, OutputError
from sdkit.io import atomic_path, atomic_write_text, write_table


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
    import os
    import stat

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
