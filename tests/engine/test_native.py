"""The native engine (``engine="native"``, Numba) equals the numpy engine.

Every conformance model the compiled engine supports (``SUPPORTED`` of
``test_engine_conformance``) either runs on the native engine and matches the
numpy engine to 1e-9, or is refused with one line naming the construct, and
is then listed in ``REFUSED`` (a model changing side is a failure, not a skip).
"""

from __future__ import annotations

import multiprocessing
import subprocess
import sys
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_engine_conformance import SUPPORTED

import sdkit
from sdkit.engine import native_run, run
from sdkit.engine.compiled_cache import compiled_for, simulated_names
from sdkit.engine.expressions import Unsupported
from sdkit.engine.memo import Memo
from sdkit.engine.native import check_native_source
from sdkit.errors import UnsupportedConstructError

RTOL = 1e-9
IIS = Path(__file__).resolve().parents[2] / "models" / "iis.mdl"

#: conformance models the native engine refuses, and the words its refusal names
REFUSED = {
    "samples/Population/Subscripted Population Model.mdl": "DELAY N, DELAY FIXED",
    "tests/delay_fixed/test_delay_fixed.mdl": "DELAY N, DELAY FIXED",
    "tests/delay_numeric_error/test_delay_numeric_error.mdl": "DELAY N, DELAY FIXED",
    "tests/delay_pipeline/test_pipeline_delays.mdl": "DELAY N, DELAY FIXED",
    "tests/forecast/test_forecast.mdl": "DELAY N, DELAY FIXED",
}


def _both(model, **kw) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The native engine's run and the numpy engine's (its own steps, not the traced code's
    scalar path, which shares the native engine's trace)."""
    kept = run.SCALAR_MEMBERS
    run.SCALAR_MEMBERS = 0  # may run in a spawned worker: no monkeypatch there
    try:
        with warnings.catch_warnings():  # sdkit's advice (a delay order kept), both alike
            warnings.simplefilter("ignore", sdkit.errors.SdkitWarning)
            fast = sdkit.simulate(model, engine="fast", check_finite=False, **kw)
            native = sdkit.simulate(model, engine="native", check_finite=False, **kw)
    finally:
        run.SCALAR_MEMBERS = kept
    return native, fast


def assert_equal_frames(native: pd.DataFrame, fast: pd.DataFrame, scale_atol: float = 0.0):
    """Same columns and times; values within RTOL (and `scale_atol` x the column's scale)."""
    assert list(native.columns) == list(fast.columns)
    np.testing.assert_array_equal(native.index.to_numpy(), fast.index.to_numpy())
    for col in fast.columns:
        a, e = native[col].to_numpy(float), fast[col].to_numpy(float)
        scale = float(np.nanmax(np.abs(e), initial=0.0))
        np.testing.assert_allclose(a, e, rtol=RTOL, atol=scale_atol * scale + 1e-300,
                                   equal_nan=True, err_msg=col)


def compare_engines(path: str, scale_atol: float = 0.0) -> dict:
    """Both engines on one model, in a worker: ``{"equal": ...}``, ``{"refused": message}``
    or ``{"differs": first difference}`` (a module-level function: the pool imports it)."""
    model = sdkit.load_model(path)
    try:
        native, fast = _both(model)
    except UnsupportedConstructError as e:
        return {"refused": str(e)}
    try:
        assert_equal_frames(native, fast, scale_atol)
    except AssertionError as e:
        return {"differs": " ".join(str(e).split())[:300]}
    return {"equal": [native.attrs["sdkit_engine"], fast.attrs["sdkit_engine"]],
            "columns": len(fast.columns)}


def test_native_equals_numpy_engine_on_iis_and_the_conformance_models(conformance_dir):
    """Every supported conformance model, and IIS with every variable, over two worker
    processes: the Numba compiles, not the runs, take the time, and a worker that has
    compiled once compiles the next model about 1.5 s faster (Numba's own start-up).

    IIS: a few values are differences of nearly equal numbers (e.g. 'Reference update'
    ~7e-7 on a scale of 0.85), where the last bits of exp and log (Numba's vs numpy's)
    show: IIS is compared to 1e-9 of each variable's scale as well."""
    calls = [(str(IIS), RTOL)] + [(str(conformance_dir / case), 0.0) for case in SUPPORTED]
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        outcomes = list(pool.map(compare_engines, *zip(*calls)))  # IIS first: the longest
    problems = {}
    for (path, _), got in zip(calls, outcomes):
        case = Path(path).relative_to(conformance_dir).as_posix() if path != str(IIS) \
            else "IIS"
        if case in REFUSED:
            message = got.get("refused", "")
            if not (message and "\n" not in message and REFUSED[case] in message
                    and "native engine does not support" in message):
                problems[case] = got
        elif got.get("equal") != ["native", "fast"]:
            problems[case] = got
    assert not problems, problems
    assert len(outcomes) == len(SUPPORTED) + 1 >= 75


@pytest.mark.parametrize("name", ["teacup.mdl", "SIR.mdl"])
def test_small_models_and_their_ensembles(models_dir, name):
    model = sdkit.load_model(models_dir / name)
    native, fast = _both(model)
    assert_equal_frames(native, fast)
    const = next(v.name for v in model.variables if v.kind == "constant"
                 and v.name.upper() not in {"FINAL TIME", "INITIAL TIME", "TIME STEP",
                                            "SAVEPER"} and float(v.value) > 0)
    table = pd.DataFrame({const: float(model.variable(const).value)
                          * np.linspace(0.8, 1.2, 7)})
    ds = {e: sdkit.simulate_ensemble(model, table, outputs=list(fast.columns), engine=e)
          for e in ("fast", "native")}
    for var in ds["fast"].data_vars:
        np.testing.assert_allclose(ds["native"][var].to_numpy(), ds["fast"][var].to_numpy(),
                                   rtol=RTOL, atol=1e-300, err_msg=var)
    assert max(float(ds["fast"][v].std("member").max()) for v in ds["fast"].data_vars) > 0
    assert {e: d.attrs["sdkit_engine"] for e, d in ds.items()} == {"fast": "fast",
                                                                   "native": "native"}


@pytest.mark.parametrize("threads", [2, 3])
def test_member_blocks_on_threads_give_the_one_thread_values(models_dir, monkeypatch, threads):
    """Each thread steps its own contiguous block into its own buffer: the same bits."""
    model = sdkit.load_model(models_dir / "SIR.mdl")
    rng = np.random.default_rng(1)
    table = pd.DataFrame({"Contact Infectivity": rng.uniform(0.2, 0.5, 41),
                          "Duration": rng.uniform(3.0, 8.0, 41)})
    outputs = ["Infectious", "Recovered"]
    runs = {}
    for n in (1, threads):
        monkeypatch.setattr("sdkit.engine.runspec.native_threads", lambda n=n: n)
        runs[n] = sdkit.simulate_ensemble(model, table, outputs=outputs, engine="native")
    for var in outputs:
        np.testing.assert_array_equal(runs[threads][var].to_numpy(), runs[1][var].to_numpy())
    assert float(runs[1]["Infectious"].std("member").max()) > 0
    blocks = native_run._blocks(41, threads)
    assert len(blocks) == threads and blocks[0][0] == 0 and blocks[-1][1] == 41
    assert all(b - a >= native_run.MIN_THREAD_MEMBERS for a, b in blocks)
    assert all(b0 == a1 for (_, b0), (a1, _) in zip(blocks, blocks[1:]))
    assert native_run._blocks(2 * native_run.MIN_THREAD_MEMBERS - 1, threads) == [
        (0, 2 * native_run.MIN_THREAD_MEMBERS - 1)]


def test_rk4_and_missing_numba_are_refused_in_one_line(models_dir, monkeypatch):
    path = models_dir / "teacup.mdl"
    with pytest.raises(UnsupportedConstructError, match="Euler only") as err:
        sdkit.simulate(path, engine="native", method="rk4")
    assert "\n" not in str(err.value)
    monkeypatch.setattr(native_run, "_LOOPS", Memo())  # nothing compiled yet in this process
    monkeypatch.setitem(sys.modules, "numba", None)  # import numba raises ImportError
    with pytest.raises(native_run.NativeUnavailableError, match="needs Numba") as err:
        sdkit.simulate(path, engine="native")
    assert isinstance(err.value, sdkit.errors.SdkitError) and "\n" not in str(err.value)


def test_cli_engine_native(models_dir, conformance_dir, tmp_path):
    sdkit_cli = [sys.executable, "-m", "sdkit"]
    ok = subprocess.run([*sdkit_cli, "run", str(models_dir / "teacup.mdl"), "--engine",
                         "native", "--out", str(tmp_path / "t.csv")], capture_output=True,
                        text=True, timeout=600)
    assert ok.returncode == 0, ok.stderr
    out = pd.read_csv(tmp_path / "t.csv", index_col=0)
    fast = sdkit.simulate(models_dir / "teacup.mdl", engine="fast")
    np.testing.assert_allclose(out.to_numpy(float), fast.to_numpy(float), rtol=RTOL)
    case = conformance_dir / "tests/delay_fixed/test_delay_fixed.mdl"
    bad = subprocess.run([*sdkit_cli, "run", str(case), "--engine", "native"],
                         capture_output=True, text=True, timeout=600)
    assert bad.returncode == 2
    assert len(bad.stderr.strip().splitlines()) == 1 and "DELAY FIXED" in bad.stderr


def test_native_code_holds_no_model_text(models_dir):
    model = sdkit.load_model(models_dir / "teacup.mdl")
    c = compiled_for(model, tuple(sorted(simulated_names(model))), frozenset())
    S, K = c.init(0.0, 0.125, 1, {})
    src, _ = native_run.native_loop(c, S, K)
    check_native_source(src.text)
    words = {w.lower() for v in model.variables for w in v.name.split() if len(w) > 3}
    assert words and not any(w in src.text.lower() for w in words)


@pytest.mark.parametrize("text", [
    "import os\ndef run(steps, saved, dt, N, last, W0, KIN, KIDX, SIN, SIDX, NIDX, OIDX, "
    "OUTB, TX, TY):\n    return 0\n",
    "def c0(w, t, dt, TX, TY):\n    w[0] = 'x'\n    return 0\n",
    "def c0(w, t, dt, TX, TY):\n    w[0] = w.__class__\n    return 0\n",
    "def c0(w, t, dt, TX, TY):\n    w[0] = eval(t)\n    return 0\n",
    "def c0(w, t, dt, TX, TY):\n    np = w\n    return 0\n",
    "def c0(w, t, dt, TX, TY):\n    TX[0][0] = 1.0\n    return 0\n",
    "def c0(w, t, dt, TX, TY):\n    return w\n",
    "def c0(w, t, dt, TX, TY):\n    w[0] = [v for v in w]\n    return 0\n",
    "def evil(w, t, dt, TX, TY):\n    return 0\n",
])
def test_allow_list_refuses_what_the_engine_never_writes(text):
    with pytest.raises(Unsupported):
        check_native_source(text)
