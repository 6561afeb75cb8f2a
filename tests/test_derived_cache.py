"""Records kept beside a cache entry (:mod:`sdkit.model.derived`): warm loads and runs.

A warm load reads the model's facts instead of building PySD's model object,
and a warm run reads the engine's generated code instead of writing it.
Both must give exactly what the cold path gives, and the records are a trust
boundary like the entry itself: private, JSON only, generated code checked
against the engine's allow-list on every read, PySD's module checked before
every import of it.
"""

from __future__ import annotations

import json
import os
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sdkit
from sdkit import CacheError, UnsafeModelError
from sdkit.engine import compiled_cache
from sdkit.engine.sourcecheck import EngineSourceError, check_engine_source

MODELS = Path(__file__).parent / "models"


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("SDKIT_CACHE_DIR", str(folder))
    return folder


@pytest.fixture
def fresh_process(monkeypatch):
    """Forget the in-process memos, as a new process would."""
    def forget():
        for name in ("_PROGRAMS", "_COMPILED", "_NAMES"):
            monkeypatch.setattr(compiled_cache, name, OrderedDict())
    forget()
    return forget


def _derived(model) -> Path:
    return model.cache_folder.with_name(model.cache_folder.name + ".derived")


@pytest.mark.parametrize("name", ["teacup.mdl", "sir_regions.mdl", "mini_iis.mdl"])
def test_warm_load_reads_the_same_facts_without_pysd(cache, name):
    cold = sdkit.load_model(MODELS / name)
    warm = sdkit.load_model(MODELS / name)
    assert cold._pysd is not None and warm._pysd is None  # PySD only where needed
    assert warm.names == cold.names and warm.subscripts == cold.subscripts
    assert warm.time_settings == cold.time_settings
    assert warm.saveper_follows_dt == cold.saveper_follows_dt
    assert warm.time_inputs == cold.time_inputs
    assert [n for n in cold.names if warm.dims_of(n) != cold.dims_of(n)] == []
    assert len(warm.variables) == len(cold.variables) > 0
    for a, b in zip(warm.variables, cold.variables):
        assert (a.name, a.py_name, a.kind, a.units, a.documentation, a.dims, a.elements,
                a.range) == (b.name, b.py_name, b.kind, b.units, b.documentation, b.dims,
                             b.elements, b.range)
        if b.value is None:
            assert a.value is None
        else:
            np.testing.assert_array_equal(a.value, b.value)
            assert type(a.value) is type(b.value)


@pytest.mark.parametrize("name", ["teacup.mdl", "sir_regions.mdl", "mini_iis.mdl"])
def test_warm_run_equals_cold_run_and_pysd(cache, fresh_process, name):
    model = sdkit.load_model(MODELS / name)
    cold = sdkit.simulate(model, engine="fast")
    fresh_process()
    warm_model = sdkit.load_model(MODELS / name)
    warm = sdkit.simulate(warm_model, engine="fast")
    assert list(_derived(model).glob("engine-*.json"))  # the code was kept, and read back
    pd.testing.assert_frame_equal(warm, cold, check_exact=True)
    assert warm.attrs["sdkit_meta"] == cold.attrs["sdkit_meta"]
    # PySD's model object, built on demand for a warm model, gives the same run
    pysd_run = sdkit.simulate(warm_model, engine="pysd")
    pd.testing.assert_frame_equal(pysd_run[warm.columns], warm, rtol=1e-9, atol=1e-12,
                                  check_dtype=False)


def test_set_constants_and_time_settings_on_a_warm_model(cache, fresh_process):
    params = {"Contact Infectivity": 0.4}
    cold = sdkit.simulate(sdkit.load_model(MODELS / "SIR.mdl"), params, stop=20, dt=0.5,
                          outputs=["Infectious"])
    fresh_process()
    warm = sdkit.simulate(sdkit.load_model(MODELS / "SIR.mdl"), params, stop=20, dt=0.5,
                          outputs=["Infectious"])
    pd.testing.assert_frame_equal(warm, cold, check_exact=True)


def _engine_record(model) -> Path:
    records = sorted(_derived(model).glob("engine-*.json"))
    assert records
    return records[0]


def _run_teacup() -> pd.DataFrame:
    return sdkit.simulate(sdkit.load_model(MODELS / "teacup.mdl"),
                          outputs=["Teacup Temperature"])


@pytest.mark.parametrize("tamper", [
    "call-open", "import", "numpy-load", "string", "dunder", "top-level-statement",
    "not-code", "bad-constant",
])
def test_tampered_engine_code_is_refused_on_every_read(cache, fresh_process, tmp_path, tamper):
    marker = tmp_path / "PWNED"
    _run_teacup()
    record = _engine_record(sdkit.load_model(MODELS / "teacup.mdl"))
    data = json.loads(record.read_text())
    kept = data["data"]["ok"]
    line = {
        "call-open": f"    v0 = open({str(marker)!r}, 'w')\n",
        "import": "    import os\n",
        "numpy-load": "    v0 = np.load('x.npy', allow_pickle=True)\n",
        "string": "    v0 = 'Teacup Temperature'\n",
        "dunder": "    v0 = v1.__class__\n",
        "top-level-statement": None,
        "not-code": None,
        "bad-constant": None,
    }[tamper]
    if line is not None:
        kept["text"] = kept["text"].replace("    S = {}\n", "    S = {}\n" + line, 1)
    elif tamper == "top-level-statement":
        kept["text"] += f"open({str(marker)!r}, 'w')\n"
    elif tamper == "not-code":
        kept["text"] = "def init(:\n"
    else:
        kept["constants"] = {"C0": {"dtype": "object", "shape": [1], "data": ["x"]}}
    record.write_text(json.dumps(data))
    for _ in range(2):
        fresh_process()
        with pytest.raises(CacheError, match="kept engine code was changed"):
            _run_teacup()
    assert not marker.exists()


@pytest.mark.parametrize("how", ["chmod", "symlink", "folder-chmod"])
def test_records_must_be_private_regular_files(cache, fresh_process, tmp_path, how):
    model = sdkit.load_model(MODELS / "teacup.mdl")
    _run_teacup()
    record = _derived(model) / "facts.json"
    if how == "chmod":
        record.chmod(0o666)
    elif how == "folder-chmod":
        _derived(model).chmod(0o777)
    else:
        other = tmp_path / "facts.json"
        other.write_text(record.read_text())
        record.unlink()
        record.symlink_to(other)
    fresh_process()
    with pytest.raises(CacheError, match="derived"):
        sdkit.load_model(MODELS / "teacup.mdl")


def test_facts_with_a_zero_time_step_are_never_used(cache):
    """A record whose TIME STEP the load check refuses is ignored: PySD reads the model."""
    model = sdkit.load_model(MODELS / "teacup.mdl")
    record = _derived(model) / "facts.json"
    data = json.loads(record.read_text())
    data["data"]["time"][2] = 0.0
    record.write_text(json.dumps(data))
    again = sdkit.load_model(MODELS / "teacup.mdl")
    assert again._pysd is not None
    assert again.time_settings == model.time_settings and model.time_settings.dt > 0


def test_a_record_of_other_code_or_another_entry_is_written_again(cache):
    model = sdkit.load_model(MODELS / "teacup.mdl")
    record = _derived(model) / "facts.json"
    for key, value in (("code", "older-sdkit"), ("entry", "another-entry")):
        data = json.loads(record.read_text())
        good = data[key]
        data[key] = value
        data["data"]["names"] = [["Hacked", "hacked"]]
        record.write_text(json.dumps(data))
        again = sdkit.load_model(MODELS / "teacup.mdl")
        assert again._pysd is not None  # the record was ignored: PySD read the model
        assert "Hacked" not in again.names
        assert json.loads(record.read_text())[key] == good  # and written again


def test_pysd_code_is_checked_before_it_is_imported(cache, monkeypatch):
    """A warm load skips the check of PySD's module; building PySD's object runs it."""
    from sdkit.model import codecheck

    sdkit.load_model(MODELS / "teacup.mdl")
    monkeypatch.setattr(codecheck, "ALLOWED_ATTRS", codecheck.ALLOWED_ATTRS - {"DataArray",
                                                                              "joinpath",
                                                                              "parent"})
    warm = sdkit.load_model(MODELS / "teacup.mdl")  # facts only: no PySD code imported
    assert warm._pysd is None
    sdkit.simulate(warm, outputs=["Teacup Temperature"])  # the compiled engine runs
    with pytest.raises(UnsafeModelError, match="attribute"):
        sdkit.simulate(warm, outputs=["Teacup Temperature"], engine="pysd")


def test_unsupported_construct_is_kept_and_falls_back_at_once(cache, fresh_process, tmp_path):
    path = tmp_path / "m.mdl"
    path.write_text("{UTF-8}\nx = GET TIME VALUE(2, 0, 1) ~ ~ |\n"
                    "s = INTEG(x, 0) ~ ~ |\nINITIAL TIME = 0 ~ ~ |\nFINAL TIME = 2 ~ ~ |\n"
                    "TIME STEP = 1 ~ ~ |\nSAVEPER = 1 ~ ~ |\n")
    first = sdkit.simulate(sdkit.load_model(path), outputs=["s"])
    assert first.attrs["sdkit_engine"] == "pysd"
    fresh_process()
    second = sdkit.simulate(sdkit.load_model(path), outputs=["s"])
    assert second.attrs["sdkit_fallback"] == first.attrs["sdkit_fallback"]
    pd.testing.assert_frame_equal(second, first)
    assert compiled_cache._PROGRAMS == OrderedDict()  # no program was built the second time


@pytest.mark.parametrize("method", ["euler", "rk2", "rk4"])
@pytest.mark.parametrize("name", ["SIR.mdl", "sir_regions.mdl", "mini_iis.mdl"])
def test_generated_code_passes_the_allow_list(cache, name, method):
    model = sdkit.load_model(MODELS / name)
    outputs = tuple(sorted(compiled_cache.simulated_names(model) & set(model._real)))
    try:
        compiled = compiled_cache.compiled_for(model, outputs, frozenset(), method)
    except compiled_cache.Unsupported:
        pytest.fail(f"{name} does not compile with {method}")
    check_engine_source(compiled.source)


@pytest.mark.parametrize("code", [
    "v1 = eval('1')\n", "def step(t, dt, S, K, N, save, update):\n    return [x for x in S]\n",
    "def step(t, dt, S, K, N, save, update):\n    return rt.np.load\n",
    "def step(t, dt, S, K, N, save, update):\n    return (lambda: 1)()\n",
    "def step(t, dt, S, K, N, save, update, x=os):\n    return 1\n",
    "@rt.ramp\ndef step(t, dt, S, K, N, save, update):\n    return 1\n",
    "def step(t, dt, S, K, N, save, update):\n    return S[0](**K)\n",
    "def step(t, dt, S, K, N, save, update):\n    return b'x'\n",
])
def test_allow_list_refuses_what_the_engine_never_writes(code):
    with pytest.raises(EngineSourceError):
        check_engine_source(code)


def test_records_are_never_written_beside_the_model(cache, tmp_path):
    folder = tmp_path / "user"
    folder.mkdir()
    path = folder / "teacup.mdl"
    path.write_bytes((MODELS / "teacup.mdl").read_bytes())
    before = sorted(os.listdir(folder))
    sdkit.simulate(sdkit.load_model(path), outputs=["Teacup Temperature"])
    assert sorted(os.listdir(folder)) == before
    derived = _derived(sdkit.load_model(path))
    assert derived.parent == cache and oct(derived.stat().st_mode & 0o777) == "0o700"
    assert all(oct(p.stat().st_mode & 0o777) == "0o600" for p in derived.iterdir())


def test_engine_records_per_entry_are_capped(cache, fresh_process, monkeypatch):
    from sdkit.model import derived

    monkeypatch.setattr(derived, "MAX_RECORDS", 3)
    model = sdkit.load_model(MODELS / "SIR.mdl")
    for name in ["Infectious", "Susceptible", "Recovered", "Contact Infectivity", "Duration"]:
        sdkit.simulate(model, outputs=[name])
    records = sorted(p.name for p in _derived(model).glob("*.json"))
    assert "facts.json" in records
    assert len([r for r in records if r.startswith("engine-")]) == 3


def test_a_killed_writers_temporary_file_is_removed_later(cache, fresh_process):
    from sdkit.io.staging import STALE_AFTER

    model = sdkit.load_model(MODELS / "SIR.mdl")
    left = _derived(model) / ".engine-x.abc.tmp"  # as a writer killed mid-write leaves it
    left.write_text("{")
    recent = _derived(model) / ".engine-y.abc.tmp"  # another process may be writing this one
    recent.write_text("{")
    old = left.stat().st_mtime - STALE_AFTER - 60
    os.utime(left, (old, old))
    sdkit.simulate(model, outputs=["Infectious"])  # writes a record
    assert not left.exists() and recent.exists()
