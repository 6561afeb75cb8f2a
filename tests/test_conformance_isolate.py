"""Isolated calls for the conformance runner: each in a child forked from a warm worker."""

from __future__ import annotations

import os
import signal
import time

from sdkit.conformance.isolate import IsolatedPool


def answer(x: float) -> dict:
    print("noise on stdout")  # a model's prints must not reach the result
    return {"x": x, "pid": os.getpid(), "parent": os.getppid()}


def fails(_: float) -> dict:
    raise ValueError("bad\nequation   here")


def hangs(_: float) -> dict:
    time.sleep(60)
    return {}


def dies(_: float) -> dict:
    os.kill(os.getpid(), signal.SIGKILL)
    return {}


def leaks(x: float) -> dict:
    """Each call sees a fresh copy of the worker: state set by one call is gone in the next."""
    seen = os.environ.get("SDKIT_TEST_LEAK")
    os.environ["SDKIT_TEST_LEAK"] = str(x)
    return {"seen": seen}


def test_results_failures_timeouts_and_deaths_each_reported_in_order():
    with IsolatedPool(answer, "unused", 2) as pool:
        ok = list(pool.map([(1.0,), (2.0,), (3.0,)], timeout=60))
    assert [o.result["x"] for o in ok] == [1.0, 2.0, 3.0]
    assert len({o.result["pid"] for o in ok}) == 3  # one process per call
    assert all(o.result["parent"] != os.getpid() for o in ok)  # forked from a worker
    with IsolatedPool(fails, "unused", 1) as pool:
        (bad,) = pool.map([(0.0,)], timeout=60)
    assert bad.result is None and bad.failure == "ValueError: bad equation here"
    with IsolatedPool(hangs, "unused", 1) as pool:
        t0 = time.monotonic()
        (late,) = pool.map([(0.0,)], timeout=1.0)
    assert late.timed_out and late.failure == "no result in 1 s"
    assert time.monotonic() - t0 < 30
    with IsolatedPool(dies, "unused", 1) as pool:
        (dead,) = pool.map([(0.0,)], timeout=60)
    assert dead.result is None and dead.failure == "worker died (signal 9)"


def test_calls_do_not_share_state():
    with IsolatedPool(leaks, "unused", 1) as pool:
        outcomes = list(pool.map([(1.0,), (2.0,)], timeout=60))
    assert [o.result["seen"] for o in outcomes] == [None, None]

