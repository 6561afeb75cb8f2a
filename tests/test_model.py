"""Loading: the translation cache, nothing written beside models, clear errors."""

from __future__ import annotations

import shutil
import time

import pandas as pd
import pytest

import sdkit
from sdkit import ModelFileError, TranslationError, UnknownVariableError
from sdkit.model.cache import cache_dir


@pytest.fixture
def private_cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("SDKIT_CACHE_DIR", str(folder))
    return folder


def test_load_writes_nothing_beside_the_model(tmp_path, teacup_path, private_cache):
    src = tmp_path / "user" / "teacup.mdl"
    src.parent.mkdir()
    shutil.copy(teacup_path, src)
    before = sorted(p.name for p in src.parent.iterdir())
    model = sdkit.load_model(src)
    assert sorted(p.name for p in src.parent.iterdir()) == before
    assert model.cache_folder.parent == private_cache
    assert (model.cache_folder / "teacup.py").is_file()


def test_second_load_reuses_translation(tmp_path, teacup_path, private_cache):
    src = tmp_path / "teacup.mdl"
    shutil.copy(teacup_path, src)
    first = sdkit.load_model(src)
    py = first.cache_folder / "teacup.py"
    stamp = py.stat().st_mtime_ns
    time.sleep(0.01)
    second = sdkit.load_model(src)
    assert second.cache_folder == first.cache_folder
    assert py.stat().st_mtime_ns == stamp  # not translated again


def test_changed_model_is_translated_again(tmp_path, teacup_path, private_cache):
    src = tmp_path / "teacup.mdl"
    shutil.copy(teacup_path, src)
    first = sdkit.load_model(src)
    src.write_text(src.read_text().replace("Room Temperature=\n\t70", "Room Temperature=\n\t20"))
    second = sdkit.load_model(src)
    assert second.cache_folder != first.cache_folder
    out = sdkit.simulate(second, outputs=["Teacup Temperature"])
    assert out["Teacup Temperature"].iloc[-1] < 40  # cools toward 20, not 70


def test_cache_dir_follows_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("SDKIT_CACHE_DIR", str(tmp_path / "x"))
    assert cache_dir() == tmp_path / "x"
    monkeypatch.delenv("SDKIT_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "sdkit"


def test_xmile_loads(models_dir):
    model = sdkit.load_model(models_dir / "teacup.xmile")
    assert model.format == "xmile"
    assert "Teacup Temperature" in model.names


def test_names_resolve_case_and_space_insensitively(teacup_path):
    model = sdkit.load_model(teacup_path)
    assert model.py_name("room temperature") == "room_temperature"
    assert model.py_name("Room_Temperature") == "room_temperature"
    assert model.real_name("ROOM TEMPERATURE") == "Room Temperature"
    with pytest.raises(UnknownVariableError, match="did you mean 'Room Temperature'"):
        model.py_name("Room Temp")


def test_time_settings(teacup_path):
    ts = sdkit.load_model(teacup_path).time_settings
    assert (ts.start, ts.stop, ts.dt, ts.saveper) == (0, 30, 0.125, 0.125)
    assert ts.units == "Minute"


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("missing.mdl", None, "no such file"),
        ("model.txt", b"x = 1 ~~|", "unknown model format '.txt'"),
        ("empty.mdl", b"   \n", "file is empty"),
        ("junk.mdl", b"\x89PNG\r\n\x1a\n\x00\x00", "binary content"),
        ("latin.mdl", "a = 1 ~ \xb0C ~ caf\xe9 |".encode("latin-1"), "not valid UTF-8"),
    ],
)
def test_bad_files_give_clear_errors(tmp_path, name, content, message):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ModelFileError, match=message) as info:
        sdkit.load_model(path)
    assert str(path) in str(info.value)


def test_parse_error_names_file_and_line(tmp_path):
    path = tmp_path / "broken.mdl"
    path.write_text("{UTF-8}\nx = 1 +* ~ Dmnl ~ |\n\\\\\\---/// Sketch information\n")
    with pytest.raises(TranslationError, match=r"broken\.mdl: .*line \d+"):
        sdkit.load_model(path)


def test_model_of_only_control_variables_is_an_error(tmp_path):
    path = tmp_path / "empty_model.mdl"
    path.write_text(
        "{UTF-8}\nINITIAL TIME = 0 ~ Month ~ |\nFINAL TIME = 10 ~ Month ~ |\n"
        "TIME STEP = 1 ~ Month ~ |\nSAVEPER = TIME STEP ~ Month ~ |\n"
    )
    with pytest.raises(TranslationError, match="no variables besides the time settings"):
        sdkit.load_model(path)


def test_legacy_stmx_reads_as_its_xmile_1_0_twin(conformance_dir):
    # isee's pre-1.0 draft: variables straight under <model>, beside its <display>
    folder = conformance_dir / "samples" / "teacup"
    old = sdkit.simulate(sdkit.load_model(folder / "teacup_legacy.stmx"))
    new = sdkit.simulate(sdkit.load_model(folder / "teacup.xmile"))
    new = new.rename(columns=lambda c: c if c.isupper() else c.lower())  # the twin capitalises
    assert len(old.columns) == 8
    pd.testing.assert_frame_equal(old, new[old.columns], check_exact=True)


def test_missing_external_data_is_a_model_file_error(tmp_path, conformance_dir):
    src = conformance_dir / "tests" / "get_data"
    model = next(src.glob("*.mdl"))
    shutil.copy(model, tmp_path / model.name)  # without its data file
    with pytest.raises(ModelFileError, match="the model reads"):
        sdkit.load_model(tmp_path / model.name)
