"""Run each case in its own process, forked from a warm worker.

A case runs in a child process, so that a crash, a hang or a leak in one model
cannot touch the next one, and a timeout can kill it. Starting a fresh Python
for every case costs about 2 s of imports (PySD, xarray, scipy) against a few
tenths of a second for the case itself; so :class:`IsolatedPool` keeps `jobs`
worker processes (started with ``spawn``, which imports nothing of the parent)
that import the case function once and then ``fork`` one child per case. The
child gets a copy of the warm interpreter at the cost of a ``fork``.

Where :func:`os.fork` does not exist (Windows), each case starts a fresh
``python -m`` process instead, as before.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

__all__ = ["Outcome", "IsolatedPool", "one_line"]


@dataclass(frozen=True)
class Outcome:
    """What one isolated call gave: its JSON result, or why there is none."""

    result: dict | None  # the call's return value (JSON-decoded)
    failure: str = ""  # one line when `result` is None
    timed_out: bool = False
    seconds: float = 0.0  # wall time of the call, start of the process to its end


def one_line(message: object) -> str:
    """`message` (text or an exception) as one line of at most 300 characters."""
    return " ".join(str(message).split())[:300]


def _child(fn: Callable[..., dict], args: tuple, w: int) -> None:
    """In the forked child: run the call, write its JSON to `w`, never return."""
    code = 0
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 1)  # PySD's and the model's prints go nowhere, as before
        os.dup2(null, 2)
        try:
            payload = {"ok": fn(*args)}
        except BaseException as exc:  # noqa: BLE001 - reported as the case's failure
            payload = {"error": one_line(f"{type(exc).__name__}: {exc}")}
        data = json.dumps(payload, default=float).encode()
        with os.fdopen(w, "wb") as out:
            out.write(data)
    except BaseException:  # noqa: BLE001 - nothing may escape a forked child
        code = 1
    finally:
        os._exit(code)


def _read_until(r: int, deadline: float) -> tuple[bytes, bool]:
    """Everything written to `r` until EOF, and whether the deadline passed first."""
    chunks = []
    while True:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([r], [], [], left)[0]:
            return b"".join(chunks), True
        chunk = os.read(r, 1 << 16)
        if not chunk:
            return b"".join(chunks), False
        chunks.append(chunk)


def _timed(call: Callable[..., Outcome], *args) -> Outcome:
    t0 = time.perf_counter()
    out = call(*args)
    return Outcome(out.result, out.failure, out.timed_out, time.perf_counter() - t0)


def _forked(fn: Callable[..., dict], args: tuple, timeout: float) -> Outcome:
    """In a pool worker: fork, let the child run ``fn(*args)``, wait at most `timeout`."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        os.close(r)
        _child(fn, args, w)
    os.close(w)
    try:
        data, late = _read_until(r, time.monotonic() + timeout)
    finally:
        os.close(r)
    if late:
        os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    if late:
        return Outcome(None, f"no result in {timeout:g} s", timed_out=True)
    if not data:
        how = (f"signal {os.WTERMSIG(status)}" if os.WIFSIGNALED(status)
               else f"exit code {os.WEXITSTATUS(status)}")
        return Outcome(None, f"worker died ({how})")
    payload = json.loads(data)
    if "error" in payload:
        return Outcome(None, payload["error"])
    return Outcome(payload["ok"])


def _fresh(module: str, argv: list[str], timeout: float) -> Outcome:
    """Without fork: ``python -m module *argv``, whose last stdout line is JSON."""
    try:
        proc = subprocess.run([sys.executable, "-m", module, *argv], capture_output=True,
                              text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return Outcome(None, f"no result in {timeout:g} s", timed_out=True)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode or not lines:
        return Outcome(None, one_line((proc.stderr.strip().splitlines() or ["worker died"])[-1]))
    return Outcome(json.loads(lines[-1]))


class IsolatedPool:
    """`jobs` warm workers; each call runs in a child forked from one of them.

    Parameters
    ----------
    fn : callable
        A module-level function returning a JSON-able dict.
    module : str
        A module whose ``python -m`` entry point runs `fn` on ``str`` arguments
        and prints its result as the last JSON line (used where fork is missing).
    jobs : int
        Worker processes.

    Examples
    --------
    >>> with IsolatedPool(run_engines, "sdkit.conformance.worker", 2) as pool:  # doctest: +SKIP
    ...     outcomes = list(pool.map([(model, canonical, "pysd")], timeout=120))
    """

    def __init__(self, fn: Callable[..., dict], module: str, jobs: int):
        self.fn, self.module = fn, module
        self._pool = ProcessPoolExecutor(max_workers=jobs,
                                         mp_context=multiprocessing.get_context("spawn"))
        self._fork = hasattr(os, "fork")

    def _call(self, args: tuple, timeout: float):
        if self._fork:
            return self._pool.submit(_timed, _forked, self.fn, args, timeout)
        return self._pool.submit(_timed, _fresh, self.module, [str(a) for a in args], timeout)

    def map(self, calls: Iterable[tuple], *, timeout: float) -> Iterator[Outcome]:
        """One :class:`Outcome` per argument tuple, in order."""
        futures = [self._call(args, timeout) for args in calls]
        for future in futures:
            yield future.result()

    def __enter__(self) -> IsolatedPool:
        return self

    def __exit__(self, *exc) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
