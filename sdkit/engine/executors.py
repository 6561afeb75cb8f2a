"""Where ensemble chunks run: one :class:`Executor` interface, three backends.

``InProcessExecutor`` (the default) runs chunks here, one after another;
``ThreadExecutor`` runs them in threads of this process (numpy works outside
the GIL, so members split over the cores without loading the model again);
``ProcessPoolExecutor`` spreads them over local processes; ``DaskExecutor``
sends them to a Dask cluster (an existing scheduler, or a ``LocalCluster`` it
starts on 127.0.0.1 and closes). All are context managers, and a chunk gives
the same numbers wherever it runs.

Which to use: the default for small ensembles and single runs; a
``ProcessPoolExecutor`` kept open across calls for large ensembles on one
machine (its workers write into shared memory, see :mod:`sdkit.engine.shared`);
``DaskExecutor`` beyond one machine. ``docs/executors.md`` gives the measured
speed-ups (``benchmarks/executors.py``)::

    with sdkit.DaskExecutor(workers=2) as ex:
        ds = sdkit.simulate_ensemble(model, table, outputs=["x"], executor=ex)
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
from collections.abc import Callable, Sequence

from sdkit.errors import InvalidValueError

__all__ = ["Executor", "InProcessExecutor", "ThreadExecutor", "ProcessPoolExecutor",
           "DaskExecutor"]

#: what a process pool's fork server imports once, so that its workers start with it
_PRELOAD = ["__main__", "sdkit.engine.shared"]


class Executor:
    """Run ``fn(*args)`` for each argument tuple and return results in order."""

    #: how many chunks to split an ensemble into
    n_workers: int = 1
    #: chunks run in this process (they can share the caller's loaded model)
    in_process: bool = False
    #: workers on this machine can write into the caller's shared memory
    shares_memory: bool = False

    def map(self, fn: Callable, tasks: Sequence[tuple]) -> list:
        raise NotImplementedError

    def close(self) -> None:
        """Release workers (a no-op where there are none)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class InProcessExecutor(Executor):
    """Run every chunk in this process, one after another."""

    in_process = True

    def map(self, fn: Callable, tasks: Sequence[tuple]) -> list:
        return [fn(*t) for t in tasks]


class ThreadExecutor(Executor):
    """Run chunks in a pool of threads of this process.

    The compiled engine spends a large ensemble's time in numpy's array loops,
    which run outside the GIL, so two threads use two cores; the model is
    loaded and compiled once. Small chunks gain little (their time is Python's).
    Measured against :class:`ProcessPoolExecutor` in ``docs/executors.md``.

    Parameters
    ----------
    workers : int, optional
        Number of threads (default: CPU count).
    """

    in_process = True

    def __init__(self, workers: int | None = None):
        if workers is not None and workers < 1:
            raise InvalidValueError(f"'workers' must be >= 1: {workers}")
        self.n_workers = workers or os.cpu_count() or 1
        self._pool = cf.ThreadPoolExecutor(max_workers=self.n_workers)

    def map(self, fn: Callable, tasks: Sequence[tuple]) -> list:
        futures = [self._pool.submit(fn, *t) for t in tasks]
        return [f.result() for f in futures]

    def close(self) -> None:
        self._pool.shutdown(wait=True)


class ProcessPoolExecutor(Executor):
    """Run chunks in a pool of local processes.

    The executor to use for large ensembles on one machine. Workers write
    their members' outputs straight into shared memory the caller allocated
    (:mod:`sdkit.engine.shared`), so nothing is pickled back, and keep the
    loaded and compiled model for the next call on the same executor. They
    start from a fork server that has imported sdkit's engine once
    (``multiprocessing``'s forkserver preload), so a new worker only loads the
    model and compiles it.

    Parameters
    ----------
    workers : int, optional
        Number of processes (default: CPU count).
    """

    shares_memory = True

    def __init__(self, workers: int | None = None):
        if workers is not None and workers < 1:
            raise InvalidValueError(f"'workers' must be >= 1: {workers}")
        self.n_workers = workers or os.cpu_count() or 1
        # workers start from a fork server, not by forking this process: a fork copies
        # locks that other threads hold (BLAS, progress lines, logging) and can deadlock
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(_PRELOAD)  # takes effect when the server starts
        self._pool = cf.ProcessPoolExecutor(max_workers=self.n_workers, mp_context=context)

    def map(self, fn: Callable, tasks: Sequence[tuple]) -> list:
        futures = [self._pool.submit(fn, *t) for t in tasks]
        try:
            return [f.result() for f in futures]
        except Exception:
            # a chunk failed: drop the chunks not started and let the running ones end, so
            # that none is still writing when the caller frees what they write into
            for f in futures:
                f.cancel()
            cf.wait(futures)
            raise

    def close(self) -> None:
        # a worker that died (killed, out of memory) may have held the task queue's lock:
        # the others then wait for it forever, and so would shutdown; end them first
        workers = list((getattr(self._pool, "_processes", None) or {}).values())
        if any(p.exitcode is not None for p in workers):
            for p in workers:
                if p.exitcode is None:
                    p.terminate()
        self._pool.shutdown(wait=True)


class DaskExecutor(Executor):
    """Run chunks on a Dask cluster; a chunk whose worker dies is rerun.

    Parameters
    ----------
    scheduler : str, optional
        Address of an existing scheduler (``"tcp://host:8786"``). Its workers
        need sdkit installed and the model file at the same path.
    workers : int, optional
        Without `scheduler`: start a ``LocalCluster`` of this many
        single-threaded worker processes on 127.0.0.1 (closed by
        :meth:`close`). Scripts doing this need an
        ``if __name__ == "__main__":`` guard.
    retries : int, default 3
        Times a chunk is retried after a failure.
    client : distributed.Client, optional
        Use this client as it is (not closed here).
    """

    def __init__(self, scheduler: str | None = None, *, workers: int | None = None,
                 retries: int = 3, client=None):
        from distributed import Client, LocalCluster  # heavy: imported only when needed

        if sum(x is not None for x in (scheduler, workers, client)) > 1:
            raise InvalidValueError("give one of 'scheduler', 'workers' or 'client'")
        if workers is not None and workers < 1:
            raise InvalidValueError(f"'workers' must be >= 1: {workers}")
        self.retries = int(retries)
        self._cluster = None
        self._own_client = client is None
        if client is not None:
            self.client = client
        elif scheduler is not None:
            self.client = Client(scheduler)
        else:
            self._cluster = LocalCluster(n_workers=workers or 1, threads_per_worker=1,
                                         processes=True, host="127.0.0.1",
                                         dashboard_address=":0")  # any free port
            self.client = Client(self._cluster)
        info = self.client.scheduler_info()
        self.n_workers = max(1, len(info.get("workers", {})))

    def map(self, fn: Callable, tasks: Sequence[tuple]) -> list:
        futures = [self.client.submit(fn, *t, retries=self.retries, pure=False)
                   for t in tasks]
        return self.client.gather(futures)

    def close(self) -> None:
        if self._own_client:
            self.client.close()
        if self._cluster is not None:
            self._cluster.close()
