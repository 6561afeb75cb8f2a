"""Process-pool chunks come back through shared memory: same numbers, nothing left behind.

Every test gives the blocks a prefix of its own (``PREFIX``) and checks that
no ``/dev/shm`` entry with it is left, whatever happened to the run: success,
a chunk that failed, Ctrl-C in the caller, a worker killed.
"""

from __future__ import annotations

import glob
import math
import operator
import os
import secrets
import signal
import subprocess
import sys
import textwrap
import threading
import time
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sdkit
from sdkit.engine import chunks, shared
from sdkit.engine.executors import InProcessExecutor
from sdkit.engine.runner import run_raw

TABLE = pd.DataFrame({"Contact Infectivity": np.linspace(0.1, 0.6, 7),
                      "Duration": np.linspace(2, 9, 7)})
OUTPUTS = ["Infectious", "Recovered"]


@pytest.fixture
def prefix(monkeypatch):
    """A block name prefix only this test uses; the glob pattern of its segments."""
    mine = f"sdkit_test{secrets.token_hex(4)}_"
    monkeypatch.setattr(shared, "PREFIX", mine)
    return f"/dev/shm/{mine}*"


@pytest.fixture(scope="module")
def reference(sir_path):
    return sdkit.simulate_ensemble(sir_path, TABLE, outputs=OUTPUTS)


class LocalFake(InProcessExecutor):
    """Runs chunks here, one by one, but as a local pool would (shared memory, no model)."""

    in_process = False
    shares_memory = True

    def __init__(self, n_workers: int = 3, fail_at: int | None = None,
                 error: type[BaseException] = RuntimeError):
        self.n_workers, self.fail_at, self.error = n_workers, fail_at, error
        self.seen: list[str] = []  # segments that existed while chunks ran

    def map(self, fn, tasks):
        out = []
        for i, t in enumerate(tasks):
            self.seen += glob.glob(f"/dev/shm/{shared.PREFIX}*")
            if i == self.fail_at:
                raise self.error("chunk failed")
            out.append(fn(*t))
        return out


def assert_identical(ds, ref):
    for name in OUTPUTS:
        np.testing.assert_array_equal(ds[name].values, ref[name].values)
    np.testing.assert_array_equal(ds["time"].values, ref["time"].values)


def test_chunks_written_into_one_block_equal_in_process(sir_path, reference, prefix):
    ex = LocalFake()
    raw = run_raw(sir_path, TABLE, OUTPUTS, executor=ex)
    assert len(raw.results) == 1 and raw.results[0].values  # three chunks, one block, no join
    assert len(set(ex.seen)) == 1  # one block, while the chunks ran
    assert glob.glob(prefix) == []  # unlinked once the chunks were done
    ds = sdkit.simulate_ensemble(sir_path, TABLE, outputs=OUTPUTS, executor=ex)
    assert_identical(ds, reference)
    # time-major memory, as the in-process run gives
    assert ds["Infectious"].values.strides == reference["Infectious"].values.strides


@pytest.mark.parametrize("error", [RuntimeError, KeyboardInterrupt])
def test_block_unlinked_when_a_chunk_fails_or_ctrl_c(sir_path, prefix, error):
    ex = LocalFake(fail_at=2, error=error)
    with pytest.raises(error, match="chunk failed"):
        sdkit.simulate_ensemble(sir_path, TABLE, outputs=OUTPUTS, executor=ex)
    assert ex.seen and glob.glob(prefix) == []


def test_chunk_that_does_not_fit_comes_back_pickled(sir_path, reference, prefix, monkeypatch):
    """A chunk with other save times than planned keeps its arrays (here: every other one)."""
    real = chunks.run_chunk
    calls = []

    def every_other(spec, values, block, first):
        calls.append(first)
        if len(calls) % 2:
            return shared.run_chunk_into(spec, values, block, first)
        return real(spec, values)

    class Mixed(LocalFake):
        def map(self, fn, tasks):
            return super().map(every_other, tasks)

    raw = run_raw(sir_path, TABLE, OUTPUTS, executor=Mixed())
    assert [r.shared for r in raw.results] == [False] * 3 and len(raw.results) == 3
    ds = sdkit.simulate_ensemble(sir_path, TABLE, outputs=OUTPUTS, executor=Mixed())
    assert_identical(ds, reference)
    assert glob.glob(prefix) == []
    # save times other than the block's: the worker keeps its arrays
    monkeypatch.setattr(shared, "run_time_settings", lambda m, *a: (0.0, 5.0, 0.125, 1.0))
    raw = run_raw(sir_path, TABLE, OUTPUTS, executor=LocalFake())
    assert len(raw.results) == 3 and not any(r.shared for r in raw.results)
    ds = sdkit.simulate_ensemble(sir_path, TABLE, outputs=OUTPUTS, executor=LocalFake())
    assert_identical(ds, reference)
    assert glob.glob(prefix) == []


def test_no_room_in_dev_shm_falls_back_to_pickled(sir_path, reference, prefix, monkeypatch):
    monkeypatch.setattr(shared, "_room", lambda size: False)
    ex = LocalFake()
    raw = run_raw(sir_path, TABLE, OUTPUTS, executor=ex)
    assert len(raw.results) == 3 and ex.seen == []
    assert_identical(sdkit.simulate_ensemble(sir_path, TABLE, outputs=OUTPUTS, executor=ex),
                     reference)


@pytest.mark.slow
def test_process_pool_writes_into_shared_memory(sir_path, reference, prefix):
    with sdkit.ProcessPoolExecutor(workers=2) as ex:
        raw = run_raw(sir_path, TABLE, OUTPUTS, executor=ex)
        assert len(raw.results) == 1  # two chunks, one block: nothing pickled back or joined
        for _ in range(2):  # the workers keep the model between calls
            ds = sdkit.simulate_ensemble(sir_path, TABLE, outputs=OUTPUTS, executor=ex)
            assert_identical(ds, reference)
    assert glob.glob(prefix) == []


@pytest.mark.slow
def test_process_pool_waits_for_running_chunks_before_raising():
    with sdkit.ProcessPoolExecutor(workers=2) as ex:
        t0 = time.perf_counter()
        with pytest.raises(ValueError, match="math domain error"):
            ex.map(operator.call, [(math.sqrt, -1.0), (time.sleep, 3.0)])
        assert time.perf_counter() - t0 >= 3.0  # the sleeping chunk ended first


def _cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def _busy(pids: list[int]) -> int:
    """A worker running a chunk: one whose CPU time grows (an idle one waits for work;
    killing it would interrupt no chunk)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        before = {p: _cpu_ticks(p) for p in pids}
        time.sleep(0.5)
        grown = [p for p in pids if _cpu_ticks(p) - before[p] >= 20]  # 0.2 s of 0.5
        if grown:
            return grown[0]
    raise AssertionError("no worker is running a chunk")


@pytest.mark.slow
def test_worker_killed_mid_chunk_leaves_nothing(sir_path, prefix):
    kw = dict(outputs=OUTPUTS, dt=1 / 32768, saveper=1, stop=200)  # seconds a chunk
    box = {}
    with sdkit.ProcessPoolExecutor(workers=2) as ex:
        ex.map(operator.call, [(time.sleep, 0.0)] * 2)  # both workers up

        def run():
            try:
                sdkit.simulate_ensemble(sir_path, TABLE.iloc[:2], executor=ex, **kw)
            except BaseException as e:  # noqa: BLE001 - handed to the test thread
                box["error"] = e

        thread = threading.Thread(target=run)
        thread.start()
        deadline = time.monotonic() + 60
        while not glob.glob(prefix) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert glob.glob(prefix), "the block never appeared"
        os.kill(_busy(list(ex._pool._processes)), signal.SIGKILL)
        thread.join(timeout=120)
        assert not thread.is_alive()
    assert isinstance(box.get("error"), BrokenProcessPool)
    assert glob.glob(prefix) == []


@pytest.mark.slow
def test_no_leak_reported_at_exit(tmp_path, sir_path):
    """multiprocessing's resource tracker finds nothing to clean up when Python exits."""
    script = tmp_path / "run.py"
    script.write_text(textwrap.dedent(f"""
        import numpy as np, pandas as pd, sdkit
        from sdkit.engine import shared
        shared.PREFIX = "sdkit_exit_test_"
        if __name__ == "__main__":
            table = pd.DataFrame({{"Duration": np.linspace(2, 9, 5)}})
            with sdkit.ProcessPoolExecutor(workers=2) as ex:
                for _ in range(3):
                    ds = sdkit.simulate_ensemble({str(sir_path)!r}, table,
                                                 outputs=["Infectious"], executor=ex)
            print(float(ds["Infectious"].values.sum()))
    """))
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert float(proc.stdout) > 0
    assert "leaked" not in proc.stderr and "resource_tracker" not in proc.stderr, proc.stderr
    assert glob.glob("/dev/shm/sdkit_exit_test_*") == []
