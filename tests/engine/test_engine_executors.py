"""Executors give identical ensembles; Dask reruns the chunk of a killed worker."""

from __future__ import annotations

import os
import signal
import threading
import time

import numpy as np
import pandas as pd
import pytest

import sdkit

TABLE = pd.DataFrame({"Contact Infectivity": np.linspace(0.1, 0.6, 7),
                      "Duration": np.linspace(2, 9, 7)})
OUTPUTS = ["Infectious", "Recovered"]


@pytest.fixture(scope="module")
def reference(sir_path):
    return sdkit.simulate_ensemble(sir_path, TABLE, outputs=OUTPUTS)


@pytest.fixture(scope="module")
def dask_client():
    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                           host="127.0.0.1", dashboard_address=":0")
    client = Client(cluster)
    yield client
    client.close()
    cluster.close()


def assert_identical(a, b):
    for name in OUTPUTS:
        np.testing.assert_array_equal(a[name].values, b[name].values)
    np.testing.assert_array_equal(a["time"].values, b["time"].values)


def test_in_process_executor_as_context_manager(sir_path, reference):
    with sdkit.InProcessExecutor() as ex:
        ds = sdkit.simulate_ensemble(sir_path, TABLE, outputs=OUTPUTS, executor=ex)
    assert_identical(ds, reference)


def test_thread_executor_identical_and_shares_the_model(sir_path, reference):
    from sdkit.engine.chunks import _MODELS
    from sdkit.engine.executors import ThreadExecutor

    model = sdkit.load_model(sir_path)
    loaded = dict(_MODELS)
    with ThreadExecutor(workers=2) as ex:
        assert ex.n_workers == 2 and ex.in_process
        ds = sdkit.simulate_ensemble(model, TABLE, outputs=OUTPUTS, executor=ex)
    assert_identical(ds, reference)
    assert _MODELS == loaded  # the threads ran the caller's model, loading none
    with pytest.raises(sdkit.InvalidValueError, match="'workers' must be >= 1: 0"):
        ThreadExecutor(workers=0)


@pytest.mark.slow
def test_process_pool_identical(sir_path, reference):
    with sdkit.ProcessPoolExecutor(workers=2) as ex:
        ds = sdkit.simulate_ensemble(sir_path, TABLE, outputs=OUTPUTS, executor=ex)
    assert_identical(ds, reference)


@pytest.mark.slow
def test_dask_identical(sir_path, reference, dask_client):
    with sdkit.DaskExecutor(client=dask_client) as ex:
        assert ex.n_workers == 2
        ds = sdkit.simulate_ensemble(sir_path, TABLE, outputs=OUTPUTS, executor=ex)
    assert_identical(ds, reference)
    assert dask_client.status == "running"  # a client given is not closed


@pytest.mark.slow
def test_dask_reruns_chunk_of_killed_worker(sir_path, dask_client):
    # small dt: each of the two chunks runs for seconds, long enough to kill a worker
    # (1/2048 gave chunks of 0.2 s on a fast host: done before the kill)
    kw = dict(outputs=OUTPUTS, dt=1 / 16384, saveper=1, stop=200)
    expected = sdkit.simulate_ensemble(sir_path, TABLE.iloc[:2], **kw)
    box = {}

    def run():
        with sdkit.DaskExecutor(client=dask_client, retries=3) as ex:
            box["ds"] = sdkit.simulate_ensemble(sir_path, TABLE.iloc[:2], executor=ex, **kw)

    thread = threading.Thread(target=run)
    thread.start()
    victim = None
    deadline = time.monotonic() + 60
    while victim is None and time.monotonic() < deadline:
        busy = [w for w, tasks in dask_client.processing().items() if tasks]
        if len(busy) == 2:
            time.sleep(0.3)  # let the chunk get going
            victim = busy[0]
        else:
            time.sleep(0.05)
    assert victim is not None, "chunks never started on both workers"
    pid = dask_client.run(os.getpid, workers=[victim])[victim]
    os.kill(pid, signal.SIGKILL)
    thread.join(timeout=120)
    assert not thread.is_alive()
    assert victim not in dask_client.scheduler_info()["workers"]  # it died mid-chunk
    assert_identical(box["ds"], expected)
