"""Why two processes doing half the members each cost more CPU than one doing all.

Run from the repository root::

    .venv/bin/python benchmarks/split_cost.py                     # IIS, 10,000 members
    .venv/bin/python benchmarks/split_cost.py --sizes 1000,5000 --repeats 3

No pool and no shared memory: the parent loads IIS and compiles it (the
cases of ``benchmarks/ensemble.py``), then forks plain children that each call
:func:`sdkit.engine.chunks.run_chunk` on half of the members (5,000 of
10,000), in calls of ``m`` members each (``--sizes``), and report their own
wall time, CPU time (user + system) and page faults (``resource.getrusage``).
Each size runs *alone* (one child, the other core idle as far as this
session goes) and as a *pair* (two children started together behind a
barrier), interleaved, so that both see the same mix of loads. A third child
runs all the members in one call, as the in-process ensemble does (the
baseline).

Printed per size: CPU microseconds per member alone and in the pair, their
ratio (1.00 = the two cores do not slow each other), page faults per member,
and the CPUs other sessions used meanwhile (machine busy time from
``/proc/stat`` minus this session's children) with the load average.
``--control`` adds a pure-Python loop (no arrays, no memory traffic) run
alone and as a pair: if it slows down in the pair too, the two virtual CPUs
share something below the operating system (e.g. a hyperthreaded host core).

``--layout`` prints, per size, how the engine's state arrays end up stored
after a run: member-major (C order, each member's cities side by side) or
member-innermost (each city's members side by side); numpy picks the order of
a new array from its inputs, so the choice spreads through the model.

``--mmap-threshold BYTES`` sets glibc's ``M_MMAP_THRESHOLD`` and
``M_TRIM_THRESHOLD`` in the children (``mallopt``) to test whether freeing and
faulting back large temporaries matters; it is a test, not a setting sdkit uses.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import resource
import sys
import time
from dataclasses import replace
from multiprocessing import get_context
from pathlib import Path

import numpy as np

import sdkit
from sdkit.engine.chunks import member_innermost, run_chunk
from sdkit.engine.compiled_cache import compiled_for
from sdkit.engine.executors import Executor
from sdkit.engine.run import control_overrides, run_compiled

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ensemble import CASES, _iis_setup, _table  # noqa: E402 - the same cases

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters


class _Recorder(Executor):
    """Runs nothing itself: keeps the chunk spec the ensemble code builds."""

    def map(self, fn, tasks):
        self.spec = tasks[0][0]
        return [fn(*t) for t in tasks]


def _spec(model, table, kw):
    rec = _Recorder()
    sdkit.simulate_ensemble(model, table.head(1), executor=rec, **kw)
    return rec.spec


def _compiled(model, spec, values):
    """The compiled model and the overrides that :func:`run_chunk` would use for `values`."""
    overrides: dict = {}
    for j, (node, index, _label) in enumerate(spec.columns):
        overrides.setdefault(node, []).append((index, values[:, j]))
    overrides.update(control_overrides(len(values)))
    return compiled_for(model, spec.outputs, frozenset(overrides), spec.method), overrides


def _layouts(model, spec, values) -> str:
    """How numpy left the state arrays after the last step, the engine's steps as generated
    (no :func:`member_innermost`): counts of member-major (C order), member-innermost and
    other arrays with a member axis."""
    n = len(values)
    compiled, overrides = _compiled(model, spec, values)
    seen = {}

    def watch(step):
        def run(t, dt, S, K, N, save, update):
            out, S2 = step(t, dt, S, K, N, save, update)
            seen["S"] = S2
            return out, S2
        return run

    run_compiled(replace(compiled, step=watch(compiled.step),
                         step_lean=watch(compiled.step_lean)), n, overrides)
    kinds = {"member-major": 0, "member-innermost": 0, "other": 0}
    for a in seen["S"].values():
        if isinstance(a, np.ndarray) and a.ndim >= 2 and a.shape[0] == n and a.size > n:
            kinds["member-major" if a.flags.c_contiguous else
                  "member-innermost" if a.strides[0] == a.itemsize else "other"] += 1
    return ", ".join(f"{k} {v}" for k, v in kinds.items())


def _orders(model, spec, values) -> str:
    """CPU seconds of one run of `values` as generated and with member-innermost states."""
    compiled, overrides = _compiled(model, spec, values)
    cpu, outs = [], []
    for c in (compiled, member_innermost(compiled)):
        c0 = _usage()[1]
        outs.append(run_compiled(c, len(values), overrides)[1])
        cpu.append(_usage()[1] - c0)
    same = all(np.array_equal(outs[0][o], outs[1][o]) for o in outs[0])
    return (f"CPU as generated {cpu[0]:6.2f} s, member-innermost {cpu[1]:6.2f} s "
            f"({cpu[0] / cpu[1]:.2f}x); identical arrays: {same}")


def _usage() -> tuple[float, float, int]:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return time.perf_counter(), r.ru_utime + r.ru_stime, r.ru_minflt


def _child(job, values, size, threshold, barrier, queue) -> None:
    if threshold:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(_M_MMAP_THRESHOLD, threshold)
        libc.mallopt(_M_TRIM_THRESHOLD, 2 * threshold)
    barrier.wait()
    t0, c0, f0 = _usage()
    if job == "control":
        x = 0
        for i in range(8_000_000):
            x += i * i % 7
    else:
        for first in range(0, len(values), size):
            run_chunk(job, values[first:first + size])
    t1, c1, f1 = _usage()
    queue.put((t1 - t0, c1 - c0, f1 - f0))


def _busy() -> float:
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:9]]
    return (sum(fields) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


def _run(ctx, job, halves, size, threshold) -> tuple[list, float]:
    """Children's ``(wall, cpu, faults)`` and the CPUs others used meanwhile."""
    queue, barrier = ctx.Queue(), ctx.Barrier(len(halves))
    b0, t0 = _busy(), time.perf_counter()
    procs = [ctx.Process(target=_child, args=(job, h, size, threshold, barrier, queue))
             for h in halves]
    for p in procs:
        p.start()
    got = [queue.get() for _ in procs]
    for p in procs:
        p.join()
    wall = time.perf_counter() - t0
    others = max(0.0, _busy() - b0 - sum(c for _, c, _ in got) - 0.05 * len(procs)) / wall
    return got, others


def _line(label, members, alone, pair, others) -> str:
    a = np.median([c for _, c, _ in alone]) / members * 1e6
    p = np.median([c for _, c, _ in pair]) / members * 1e6
    fa = np.median([f for _, _, f in alone]) / members
    fp = np.median([f for _, _, f in pair]) / members
    wa = np.median([w for w, _, _ in alone])
    wp = np.median([w for w, _, _ in pair])
    return (f"  {label:>7}: CPU/member alone {a:7.1f} us, pair {p:7.1f} us, "
            f"pair/alone {p / a:4.2f}; wall alone {wa:6.2f} s, pair {wp:6.2f} s; faults/member "
            f"alone {fa:5.2f}, pair {fp:5.2f}; others used {min(others):.2f}-{max(others):.2f} "
            f"CPUs")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000, help="members (default 10,000)")
    parser.add_argument("--sizes", default="500,1000,2500,5000",
                        help="members per call, comma-separated")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--mmap-threshold", type=int, default=0)
    parser.add_argument("--control", action="store_true")
    parser.add_argument("--layout", action="store_true")
    parser.add_argument("--orders", action="store_true",
                        help="time one run per size as generated and member-innermost")
    args = parser.parse_args(argv)
    path, _, _, _ = CASES["IIS"]
    model = sdkit.load_model(path)
    base, outputs = _iis_setup(model)
    table = _table(base, args.n, np.random.default_rng(0))
    spec = _spec(model, table, {"outputs": outputs, "saveper": None})
    values = table.to_numpy(dtype=float)
    run_chunk(spec, values[:10])  # the parent loads and compiles; children inherit both
    halves = np.array_split(values, 2)
    if args.layout:
        for s in sorted({*(int(x) for x in args.sizes.split(",")), len(values)}):
            print(f"  {s:>6} members: state arrays after the last step: "
                  f"{_layouts(model, spec, values[:s])}", flush=True)
    if args.orders:
        for s in sorted({*(int(x) for x in args.sizes.split(",")), len(values)}):
            print(f"  {s:>6} members: {_orders(model, spec, values[:s])}", flush=True)
    ctx = get_context("fork")
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"IIS, {args.n:,} members, halves of {len(halves[0]):,}; mmap threshold "
          f"{args.mmap_threshold or 'glibc default'}; load average {os.getloadavg()}", flush=True)
    rows = {s: ([], [], []) for s in sizes}
    whole, control = [], ([], [], [])
    for r in range(args.repeats):
        if args.control:
            for k in (1, 2):
                got, o = _run(ctx, "control", [None] * k, 0, 0)
                control[k - 1].extend(got)
                control[2].append(o)
        got, o = _run(ctx, spec, [values], len(values), args.mmap_threshold)
        whole.append((got[0], o))
        for s in sizes:
            alone, o1 = _run(ctx, spec, halves[:1], s, args.mmap_threshold)
            pair, o2 = _run(ctx, spec, halves, s, args.mmap_threshold)
            rows[s][0].extend(alone)
            rows[s][1].extend(pair)
            rows[s][2].extend([o1, o2])
            print(f"  repeat {r + 1}, {s:>6} per call: alone {alone[0][1]:.2f} s CPU, pair "
                  + ", ".join(f"{c:.2f}" for _, c, _ in pair)
                  + f" s CPU; others {o1:.2f}, {o2:.2f} CPUs; load {os.getloadavg()[0]:.2f}",
                  flush=True)
    if not args.repeats:
        return
    print(f"\nper member, medians of {args.repeats} repeats (uptime load "
          f"{', '.join(f'{x:.2f}' for x in os.getloadavg())}):")
    for s in sizes:
        print(_line(str(s), len(halves[0]), *rows[s]))
    w = np.median([g[1] for g, _ in whole]) / len(values) * 1e6
    print(f"  whole run ({len(values):,} in one call, one child): CPU/member {w:.1f} us, "
          f"wall {np.median([g[0] for g, _ in whole]):.2f} s, faults/member "
          f"{np.median([g[2] for g, _ in whole]) / len(values):.2f}; others used "
          f"{min(o for _, o in whole):.2f}-{max(o for _, o in whole):.2f} CPUs")
    if args.control:
        a, p = (np.median([c for _, c, _ in k]) for k in control[:2])
        print(f"  control (a pure-Python loop): CPU alone {a:.2f} s, pair {p:.2f} s, pair/alone "
              f"{p / a:4.2f}; others used {min(control[2]):.2f}-{max(control[2]):.2f} CPUs")


if __name__ == "__main__":
    main()
