"""Run the native engine (``engine="native"``): the compiled engine's step, compiled by Numba.

:func:`run_native` has the contract of :func:`sdkit.engine.run.run_compiled`
(same arguments, outputs, shapes and save times) and the same checks of the
time settings and of the output's size. The numpy engine's ``control`` and
``init`` still run first, in Python; then one call of the Numba-compiled
``run`` (:mod:`sdkit.engine.native`) steps every member and fills the output
buffer.

Only code that sdkit generated reaches Numba: the engine's code, checked by
:func:`~sdkit.engine.sourcecheck.check_engine_source`, traced, written and
checked again (:func:`~sdkit.engine.native.check_native_source`). It is
compiled in memory, once per process and code; nothing is written to disk
(no Numba cache), so every new process compiles again: about 1 s for a small
model, tens of seconds for IIS (docs/native_engine.md). Numba is optional (the
``fast`` extra): without it, :class:`NativeUnavailableError`.

The compiled ``run`` releases the GIL, so with ``threads > 1`` the members
are split into that many contiguous blocks, each stepped by its own call on
its own thread into its own buffers (members are independent: the values are
the same for any number of threads). Blocks are at least
:data:`MIN_THREAD_MEMBERS` members; fewer run on one thread.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache

import numpy as np

from sdkit.engine.codegen import Compiled
from sdkit.engine.codehelpers import _uniform
from sdkit.engine.expressions import Unsupported
from sdkit.engine.memo import Memo
from sdkit.engine.native import NativeSource, check_native_source
from sdkit.engine.native_rt import FUNCTIONS
from sdkit.engine.run import RPREC, save_times
from sdkit.engine.traced import traced_inputs, traced_source
from sdkit.errors import SdkitError, UnsupportedConstructError
from sdkit.model.timesettings import check_output_size, check_time_settings, warn_run_end

__all__ = ["run_native", "native_loop", "native_threads", "NativeUnavailableError",
           "MIN_THREAD_MEMBERS"]

_LOOPS = Memo()  # (engine code, method) -> (NativeSource, compiled run), or why not
_OPTIONS = {"nopython": True, "error_model": "numpy", "cache": False}  # never on disk
#: a thread steps at least this many members (a thread's hand-off costs tens of
#: microseconds, a member of a small model about as much)
MIN_THREAD_MEMBERS = 8
_THREADS = Memo()  # thread count -> ThreadPoolExecutor, kept for the process's lifetime


class NativeUnavailableError(SdkitError, ImportError):
    """The native engine was asked for, but Numba is not installed."""


def _numba():
    try:
        import numba  # optional: the `fast` extra, imported only when the native engine runs
    except ImportError:
        raise NativeUnavailableError(
            "the native engine needs Numba, which is not installed "
            "(pip install 'sdkit[fast]', or use engine 'fast')") from None
    return numba


@lru_cache(maxsize=1)
def _runtime(numba) -> dict:
    """sdkit's runtime helpers (:data:`FUNCTIONS`) as Numba functions, once per process:
    each model's code calls the same ones, so a second model does not compile them again."""
    return {k: numba.jit(**_OPTIONS)(f) for k, f in FUNCTIONS.items()}


def _build(compiled: Compiled, S: dict, K: dict):
    """The traced code of `compiled` and its functions compiled by Numba."""
    numba = _numba()
    src = traced_source(compiled, S, K)  # refuses a Runge-Kutta method (Euler only)
    tree = check_native_source(src.text)  # what Numba compiles is what is checked
    namespace = {"np": np, **_runtime(numba)}
    exec(compile(tree, "<sdkit.engine.native>", "exec"), namespace)  # noqa: S102 - checked
    for k in [k for k in namespace if k[:1] == "c" and k[1:].isdigit()]:
        namespace[k] = numba.jit(**_OPTIONS)(namespace[k])
    # `run` releases the GIL: member blocks run on threads (_call)
    return src, numba.jit(**_OPTIONS, nogil=True)(namespace["run"])


def native_loop(compiled: Compiled, S: dict, K: dict) -> tuple[NativeSource, object]:
    """The native code of `compiled` and its ``run`` (memoised per process).

    `S` and `K` are what ``compiled.init`` returned (their shapes are traced).
    Numba compiles ``run`` at its first call.

    Raises
    ------
    NativeUnavailableError
        Numba is not installed.
    Unsupported
        A construct the native engine does not support (the message names it).
    """
    return _LOOPS.get((compiled.source, compiled.method), lambda: _build(compiled, S, K))


@lru_cache(maxsize=64)
def _times(start: float, stop: float, dt: float, saveper: float):
    """:func:`~sdkit.engine.run.save_times` as arrays (kept: it is a pure function)."""
    steps, saved = save_times(start, stop, dt, saveper)
    steps, saved = np.asarray(steps, dtype=float), np.asarray(saved, dtype=np.bool_)
    steps.flags.writeable = saved.flags.writeable = False
    return steps, saved


def _settings(compiled: Compiled, n: int, ov: dict, start) -> tuple[float, ...]:
    ctl = compiled.control(n, ov)
    s = {k: float(_uniform(np.asarray(v, float).ravel(), k)) for k, v in ctl.items()}
    first = s["initial_time"] if start is None else float(start)
    if first != s["initial_time"] and compiled.reads_initial_time:
        raise Unsupported("a new start time in a model whose equations read INITIAL TIME")
    return s["initial_time"], first, s["final_time"], s["time_step"], s["saveper"]


def native_threads() -> int:
    """The CPUs this process may run on (the default thread count of one process)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _blocks(n: int, threads: int) -> list[tuple[int, int]]:
    """Contiguous member ranges, one per thread, each at least MIN_THREAD_MEMBERS."""
    k = max(1, min(threads, n // MIN_THREAD_MEMBERS))
    edges = np.linspace(0, n, k + 1).astype(int)
    return list(zip(edges[:-1].tolist(), edges[1:].tolist()))


def _call(run, src: NativeSource, steps, saved, dt: float, n: int, S: dict, K: dict,
          width: int, threads: int = 1) -> np.ndarray:
    """Run the native loop; its output buffer ``(saved times, n, output elements)``."""
    kin, sin = traced_inputs(src, S, K, n)
    n_saved = int(np.count_nonzero(saved))
    tx = tuple(x for x, _ in src.tables) or (np.zeros(1),)  # Numba types no empty tuple
    ty = tuple(y for _, y in src.tables) or (np.zeros(1),)

    def block(a: int, b: int) -> np.ndarray:
        outb = np.empty((n_saved, b - a, width))  # C-ordered, as the compiled types expect
        k = kin if len(kin) == 1 else kin[a:b]
        run(steps, saved, dt, b - a, len(steps) - 1, src.w0, k, src.k_slots, sin[a:b],
            src.s_slots, src.n_slots, src.o_slots, outb, tx, ty)
        return outb

    ranges = _blocks(n, threads)
    try:
        if len(ranges) == 1:
            return block(0, n)
        pool = _THREADS.get(len(ranges), lambda: ThreadPoolExecutor(
            len(ranges), thread_name_prefix="sdkit-native"))
        # the first block on this thread (Numba's compiler lock makes a first call's
        # compile happen once; the other threads wait for it)
        futures = [pool.submit(block, a, b) for a, b in ranges[1:]]
        parts = [block(*ranges[0]), *(f.result() for f in futures)]
    except Exception as e:
        if type(e).__module__.startswith("numba"):  # a typing or lowering error: nothing ran
            raise Unsupported("code Numba could not compile ("
                              f"{str(e).strip().splitlines()[0][:160]})") from None
        raise
    return np.concatenate(parts, axis=1)


def run_native(compiled: Compiled, n: int, overrides: dict, *, start=None, stop=None,
               dt=None, saveper=None, limit=None, where: str = "", tick=None,
               threads: int = 1) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """:func:`sdkit.engine.run.run_compiled` on the native engine: same arguments and result.

    `stop`, `dt` and `saveper` are read from `overrides`, as
    :func:`~sdkit.engine.run.run_compiled` reads them; `tick` is called once,
    at the end (the loop runs in one native call per thread). `threads`:
    the most threads that step member blocks (see the module docstring).

    Raises
    ------
    NativeUnavailableError
        Numba is not installed.
    UnsupportedConstructError
        A construct the native engine does not support, named in one line.
    InvalidValueError
        A bad time setting, or an output larger than `limit`.
    """
    ov = dict(overrides)
    dims = {o: tuple(len(c) for c in compiled.shapes[o][1]) for o in compiled.outputs}
    sizes = {o: int(np.prod(d, dtype=np.int64)) for o, d in dims.items()}
    try:
        with np.errstate(all="ignore"):
            t0, first, final, step_dt, sp = _settings(compiled, n, ov, start)
            check_time_settings(first, final, step_dt, sp)
            check_output_size(first, final, step_dt, sp, sum(sizes.values()), members=n,
                              limit=limit)
            steps, saved = _times(first, final, step_dt, sp)
            warn_run_end(first, final, step_dt, sp, float(steps[-1]), float(steps[saved][-1]),
                         where=where, stacklevel=3)
            S, K = compiled.init(t0, step_dt, n, ov)
            src, run = native_loop(compiled, S, K)
            outb = _call(run, src, steps, saved, step_dt, n, S, K, sum(sizes.values()), threads)
    except Unsupported as e:
        raise UnsupportedConstructError(f"{where or 'the model'}: the native engine does not "
                                        f"support: {e} (use engine 'fast')") from None
    out, at = {}, 0
    for o in compiled.outputs:
        out[o] = outb[:, :, at:at + sizes[o]].reshape(outb.shape[:2] + dims[o]).swapaxes(0, 1)
        at += sizes[o]
    if tick is not None:
        tick(1.0)
    decimals = -int(np.log10(step_dt * RPREC))
    return np.round(steps[saved], decimals), out
