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
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sdkit
from sdkit import CacheError, UnsafeModelError
from sdkit.engine import compiled_cache, scalar, traced
from sdkit.engine.memo import Memo
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
        for module, name in ((compiled_cache, "_PROGRAMS"), (compiled_cache, "_COMPILED"),
                             (compiled_cache, "_NAMES"), (traced, "_TRACED"), (scalar, "_LOOPS")):
            monkeypatch.setattr(module, name, Memo())
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
    assert len(compiled_cache._PROGRAMS) == 0  # no program was built the second time


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


def _stage_name(pid: int, target: str) -> str:
    return f".sdkit-stage-{pid}-abc123-tmp.{target}"  # as sdkit.io.staging names them


def test_a_killed_writers_temporary_file_is_removed_later(cache, fresh_process):
    from sdkit.io.staging import STALE_AFTER

    model = sdkit.load_model(MODELS / "SIR.mdl")
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    dead = _derived(model) / _stage_name(int(gone.stdout), "engine-x.json")  # killed mid-write
    old = _derived(model) / _stage_name(os.getppid(), "engine-y.json")  # alive, but too old
    recent = _derived(model) / _stage_name(os.getppid(), "engine-z.json")  # may be writing
    for left in (dead, old, recent):
        left.write_text("{")
    then = old.stat().st_mtime - STALE_AFTER - 60
    os.utime(old, (then, then))
    sdkit.simulate(model, outputs=["Infectious"])  # writes a record
    assert not dead.exists() and not old.exists() and recent.exists()
    assert [p.name for p in _derived(model).glob(".sdkit-stage-*")] == [recent.name]


def test_the_translation_index_is_a_private_json_file_written_like_records(cache):
    """The index beside the entries (sdkit.model.cached) is read and written as records
    are: private, a regular file, its writer's leftovers removed by a later write."""
    from sdkit.io.staging import STALE_AFTER

    sdkit.load_model(MODELS / "teacup.mdl")
    index = next(cache.glob("*.inputs.json"))
    assert index.stat().st_mode & 0o777 == 0o600 and json.loads(index.read_text()) == []
    left = cache / _stage_name(os.getppid(), "x.inputs.json")
    left.write_text("[")
    then = left.stat().st_mtime - STALE_AFTER - 60
    os.utime(left, (then, then))
    sdkit.load_model(MODELS / "SIR.mdl")  # a new translation writes its index
    assert not left.exists() and len(list(cache.glob("*.inputs.json"))) == 2
    index.chmod(0o620)
    with pytest.raises(CacheError, match="cache index file is group- or world-writable"):
        sdkit.load_model(MODELS / "teacup.mdl")
    index.chmod(0o600)
    other = cache / "other.json"
    other.write_text("[]")
    index.unlink()
    index.symlink_to(other)
    with pytest.raises(CacheError, match="expected a regular file written by sdkit"):
        sdkit.load_model(MODELS / "teacup.mdl")


# -- review R1, findings 1-4 ------------------------------------------------------------
PULSE_MDL = ("{UTF-8}\ny = PULSE(1, 1) ~ u ~ |\nINITIAL TIME = 0 ~ Month ~ |\n"
             "FINAL TIME = 3 ~ Month ~ |\nTIME STEP = 1 ~ Month ~ |\n"
             "SAVEPER = TIME STEP ~ Month ~ |\n")


def _pulse_models(tmp_path) -> list[Path]:
    """PULSE in Vensim (codegen writes ``width=``) and in XMILE (``magnitude=``)."""
    vensim = tmp_path / "pulse.mdl"
    vensim.write_text(PULSE_MDL)
    xmile = tmp_path / "pulse.xmile"
    xmile.write_text((MODELS / "teacup.xmile").read_text().replace(
        "<eqn>70</eqn>", "<eqn>70 + PULSE(5, 3)</eqn>"))
    return [vensim, xmile]


def test_pulse_models_run_warm_from_a_kept_record(cache, fresh_process, tmp_path):
    """R1 finding 1: the allow-list refused the ``width=`` codegen writes for PULSE, so a
    PULSE model never got an engine record."""
    for path, keyword in zip(_pulse_models(tmp_path), ("width=", "magnitude=")):
        cold = sdkit.simulate(sdkit.load_model(path), engine="fast")
        fresh_process()
        model = sdkit.load_model(path)
        warm = sdkit.simulate(model, engine="fast")
        kept = [json.loads(p.read_text())["data"]["ok"]["text"]
                for p in _derived(model).glob("engine-*.json") if p.name != "engine-names.json"]
        assert len(kept) == 1 and keyword in kept[0]
        pd.testing.assert_frame_equal(warm, cold, check_exact=True)
        pysd_run = sdkit.simulate(model, engine="pysd")
        pd.testing.assert_frame_equal(pysd_run[warm.columns], warm, rtol=1e-12,
                                      check_dtype=False)
    # analytical: PULSE(1, 1) is 1 for 1 <= t < 2, else 0 (TIME STEP 1)
    pulse = sdkit.simulate(sdkit.load_model(tmp_path / "pulse.mdl"), outputs=["y"])
    assert pulse["y"].tolist() == [0.0, 1.0, 0.0, 0.0]


def test_fresh_code_the_allow_list_refuses_is_never_run(cache, tmp_path, monkeypatch):
    """R1 finding 1: fresh code was compiled and run even when the allow-list refused it
    (it was only not kept). With the gap R1 found put back, the model runs with PySD and
    the engine's code is never compiled."""
    from sdkit.engine import sourcecheck

    monkeypatch.setattr(sourcecheck, "KEYWORDS", sourcecheck.KEYWORDS - {"width"})
    bound = []
    real_bind = compiled_cache.bind
    monkeypatch.setattr(compiled_cache, "bind", lambda src: bound.append(src) or real_bind(src))
    model = sdkit.load_model(_pulse_models(tmp_path)[0])
    run = sdkit.simulate(model, outputs=["y"])
    assert run.attrs["sdkit_engine"] == "pysd"
    assert "allow-list" in run.attrs["sdkit_fallback"] and "width" in run.attrs["sdkit_fallback"]
    assert run["y"].tolist() == [0.0, 1.0, 0.0, 0.0]
    with pytest.raises(sdkit.UnsupportedConstructError, match="allow-list"):
        sdkit.simulate(model, outputs=["y"], engine="fast")
    assert bound == []


@pytest.mark.parametrize("tamper,line", [
    ("numpy-attribute", "    np.sum = np.max\n    np.nan = 0.0\n"),
    ("runtime-attribute", "    rt.zidz = rt.xidz\n"),
    ("rebind-np", "    np = rt\n"),
    ("nested-def", "    def v9(S):\n        return 1\n"),
    ("ifexp-base", "    v0 = (np if 1 else 0).copy\n"),
])
def test_tampered_record_cannot_change_numpy_or_the_runtime(cache, fresh_process, tamper, line):
    """R1 finding 2 (script a02): a kept record that passed the allow-list could patch numpy
    and the engine's shared runtime for the whole process."""
    from sdkit.engine.codegen import _RT

    _run_teacup()
    record = _engine_record(sdkit.load_model(MODELS / "teacup.mdl"))
    data = json.loads(record.read_text())
    kept = data["data"]["ok"]
    kept["text"] = kept["text"].replace("    S = {}\n", "    S = {}\n" + line, 1)
    record.write_text(json.dumps(data))
    np_sum, np_nan, zidz = np.sum, np.nan, _RT.zidz
    fresh_process()
    with pytest.raises(CacheError, match="kept engine code was changed"):
        _run_teacup()
    assert np.sum is np_sum and np.isnan(np.nan) and np_nan is np.nan and _RT.zidz is zidz


@pytest.mark.parametrize("name", ["__builtins__", "np", "rt", "_full", "v1", "C1_x", "T2"])
def test_constants_of_a_record_are_named_as_codegen_names_them(cache, fresh_process, name):
    """R1 finding 3 (script a05): constant names are spread into the code's namespace; a
    record could shadow ``__builtins__``, ``np``, ``rt`` or a helper."""
    _run_teacup()
    record = _engine_record(sdkit.load_model(MODELS / "teacup.mdl"))
    data = json.loads(record.read_text())
    data["data"]["ok"]["constants"][name] = {"dtype": "float64", "shape": [1], "data": [1.0]}
    record.write_text(json.dumps(data))
    fresh_process()
    with pytest.raises(CacheError, match=f"a constant named '{name}'"):
        _run_teacup()


def test_codegen_names_constants_as_the_reader_expects(cache):
    model = sdkit.load_model(MODELS / "mini_iis.mdl")
    constants = compiled_cache.program_for(model).constants
    assert constants and all(compiled_cache._CONSTANT.match(k) for k in constants)


@pytest.mark.parametrize("tamper", ["int64-beyond-range", "float-beyond-range",
                                    "unary-minus-100000", "sum-20000"])
def test_malformed_engine_record_is_a_cache_error(cache, fresh_process, tamper):
    """R1 finding 4 (script a06): values no reader expected gave tracebacks (exit 1)."""
    _run_teacup()
    record = _engine_record(sdkit.load_model(MODELS / "teacup.mdl"))
    data = json.loads(record.read_text())
    kept = data["data"]["ok"]
    if tamper == "int64-beyond-range":
        kept["constants"]["C0"] = {"dtype": "int64", "shape": [1], "data": [10 ** 30]}
    elif tamper == "float-beyond-range":
        kept["constants"]["C0"] = {"dtype": "float64", "shape": [1], "data": [10 ** 400]}
    elif tamper == "unary-minus-100000":
        kept["text"] = "def init(t, dt, N, OV):\n    return " + "-" * 100_000 + "1\n"
    else:
        kept["text"] = "def init(t, dt, N, OV):\n    return " + "+".join(["1"] * 20_000) + "\n"
    record.write_text(json.dumps(data))
    fresh_process()
    with pytest.raises(CacheError, match=f"{record.name}: kept engine code was changed"):
        _run_teacup()


def test_malformed_records_through_the_cli_give_one_line(cache, tmp_path):
    """The same through ``sdkit run``: one line naming the record, exit 2."""
    out = tmp_path / "run.csv"
    cmd = [sys.executable, "-m", "sdkit", "run", str(MODELS / "teacup.mdl"), "--out", str(out),
           "--overwrite"]
    env = {**os.environ, "SDKIT_CACHE_DIR": str(cache)}
    subprocess.run(cmd, check=True, env=env, capture_output=True)
    record = _engine_record(sdkit.load_model(MODELS / "teacup.mdl"))
    data = json.loads(record.read_text())
    data["data"]["ok"]["constants"]["C0"] = {"dtype": "int64", "shape": [1], "data": [10 ** 30]}
    record.write_text(json.dumps(data))
    r = subprocess.run(cmd, env=env, capture_output=True, text=True)
    assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
    assert record.name in r.stderr and "Traceback" not in r.stderr


def test_facts_value_beyond_range_is_ignored_and_written_again(cache):
    """R1 finding 4: a facts record whose constant is beyond int64 is not used (PySD reads
    the model, as for any malformed facts record) and is written again."""
    model = sdkit.load_model(MODELS / "teacup.mdl")
    record = _derived(model) / "facts.json"
    data = json.loads(record.read_text())
    rows = [r for r in data["data"]["variables"] if r[2] == "constant"]
    assert rows
    for row in rows:
        row[8] = {"dtype": "int64", "shape": [1], "data": [10 ** 30]}
    record.write_text(json.dumps(data))
    again = sdkit.load_model(MODELS / "teacup.mdl")
    assert again._pysd is not None  # the record was not used
    assert [v.value for v in again.variables] == [v.value for v in model.variables]
    assert "1000000000000000000000000000000" not in record.read_text()  # written again


def test_facts_a_reader_cannot_decode_is_a_cache_error(cache, monkeypatch):
    """What the facts reader cannot decode at all (an overflow, nesting too deep) names the
    record, as the engine record's reader does."""
    from sdkit.model import facts

    sdkit.load_model(MODELS / "teacup.mdl")

    def too_deep(data, path):
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(facts, "_decode", too_deep)
    with pytest.raises(CacheError, match=r"facts\.json: changed after sdkit wrote it"):
        sdkit.load_model(MODELS / "teacup.mdl")


@pytest.mark.parametrize("record", ["facts.json", "engine"])
def test_json_nested_too_deep_is_ignored_and_written_again(cache, fresh_process, record):
    model = sdkit.load_model(MODELS / "teacup.mdl")
    _run_teacup()
    path = _derived(model) / record if record == "facts.json" else _engine_record(model)
    path.write_text("[" * 100_000 + "]" * 100_000)
    fresh_process()
    run = _run_teacup()
    assert run.attrs["sdkit_engine"] == "fast"
    assert json.loads(path.read_text())["entry"] == model.cache_folder.name
