"""Splitting an ensemble's members across cores: in-process vs threads vs processes.

Run from the repository root::

    .venv/bin/python benchmarks/executors.py                 # IIS, N = 10,000, 2 workers
    .venv/bin/python benchmarks/executors.py --n 2000 --models SIR

For each model it times the same ensemble (the cases of ``benchmarks/ensemble.py``:
parameters drawn within +-20 % of the model's own, seed 0) on the in-process
executor (the baseline, measured in the same run), on ``ThreadExecutor`` and on
``ProcessPoolExecutor``, in interleaved rounds (the best of each kept), checks
that all give identical arrays, and prints the speed-up over the baseline with
the machine's load average before and after (``os.getloadavg``): on a shared
machine the ratio is only as good as the load.
Each pool is created inside the timed region, so the "cold" time includes
starting its workers, each loading and compiling the model; the "warm" time
is a second ensemble on the same executor (what repeated calls see, e.g. the
calibration's ``workers`` option). Load averages (1, 5, 15 min, as ``uptime``
prints them) are printed before and after every round, with the CPUs other
sessions used just before it: Linux shares the CPUs fairly between sessions
(autogroup scheduling), so two workers only get two cores while other
sessions are idle, and a ratio measured otherwise says little.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np

import sdkit
from sdkit.engine.executors import InProcessExecutor, ProcessPoolExecutor, ThreadExecutor

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ensemble import CASES, _iis_setup, _table  # noqa: E402 - the same cases


def _cpu(ex) -> float:
    """CPU seconds used so far by this process (all its threads) and `ex`'s worker processes."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    total = usage.ru_utime + usage.ru_stime
    pool = getattr(ex, "_pool", None)
    for pid in getattr(pool, "_processes", None) or {}:  # concurrent.futures' worker table
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except OSError:  # not Linux: the workers' share is not counted
            pass
    return total


def _timed(model, table, kw, make, warm: bool):
    """``(seconds, cpu seconds)`` of a new executor's first ensemble and, if `warm`, of its
    second (else None), and the dataset."""
    t0 = time.perf_counter()
    c0 = _cpu(None)
    with make() as ex:
        ds = sdkit.simulate_ensemble(model, table, executor=ex, **kw)
        cold = (time.perf_counter() - t0, _cpu(ex) - c0)
        if not warm:
            return cold, None, ds
        del ds
        t1, c1 = time.perf_counter(), _cpu(ex)
        ds = sdkit.simulate_ensemble(model, table, executor=ex, **kw)
        return cold, (time.perf_counter() - t1, _cpu(ex) - c1), ds


def _load() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def _busy() -> float | None:
    """CPU seconds the whole machine has been busy (``/proc/stat``; None off Linux)."""
    try:
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:9]]
    except OSError:
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def _other_ticks(ex=None) -> tuple[float, float] | None:
    """``(machine busy, this session's share)`` in CPU seconds so far, for
    :func:`_others_between`; `ex`'s workers count as this session's.

    With the kernel's autogroup scheduling each session gets a fair share of
    the CPUs, however many processes it runs: two workers of this session get
    two cores only while other sessions are idle.
    """
    busy = _busy()
    return None if busy is None else (busy, _cpu(ex))


def _others_between(first: tuple | None, seconds: float, ex=None) -> float | None:
    """CPUs that everything but this process (and `ex`'s workers) used since `first`."""
    now = _other_ticks(ex)
    if first is None or now is None:
        return None
    return max(0.0, (now[0] - first[0]) - (now[1] - first[1])) / seconds


def _cpu_by_others(seconds: float = 1.0) -> float | None:
    """CPUs that processes of other sessions used over the next `seconds` (Linux; else None)."""
    first = _other_ticks()
    time.sleep(seconds)
    return _others_between(first, seconds)


def _pairs(model, table, kw, workers: int, pairs: int, idle: float = 0.1) -> None:
    """Back-to-back warm calls (in-process, threads, processes), with what others used meanwhile.

    On a shared machine quiet minutes are rare but quiet half-minutes are
    not: the ratios of the triples during which other sessions used less than
    `idle` CPUs are the ones that say what two cores give.
    """
    with ThreadExecutor(workers) as threads, ProcessPoolExecutor(workers) as procs:
        for ex in (threads, procs):
            sdkit.simulate_ensemble(model, table, executor=ex, **kw)  # workers up, model loaded
        quiet = []
        for i in range(pairs):
            first, t0 = _other_ticks(procs), time.perf_counter()
            took = []
            for ex in (None, threads, procs):
                t = time.perf_counter()
                sdkit.simulate_ensemble(model, table, executor=ex, **kw)
                took.append(time.perf_counter() - t)
            others = _others_between(first, time.perf_counter() - t0, procs)
            print(f"  triple {i + 1}: in-process {took[0]:.2f} s, threads {took[1]:.2f} s "
                  f"({took[0] / took[1]:.2f}x), processes {took[2]:.2f} s "
                  f"({took[0] / took[2]:.2f}x); other sessions used "
                  f"{'?' if others is None else f'{others:.2f}'} CPUs meanwhile", flush=True)
            if others is not None and others < idle:
                quiet.append((took[0] / took[1], took[0] / took[2]))
    if quiet:
        th, pr = zip(*quiet)
        print(f"  {len(quiet)} of {pairs} triples ran while other sessions used < {idle} CPUs: "
              f"threads {min(th):.2f}-{max(th):.2f}x (median {np.median(th):.2f}x), processes "
              f"{min(pr):.2f}-{max(pr):.2f}x (median {np.median(pr):.2f}x) the in-process run")
    else:
        print(f"  none of {pairs} triples ran while other sessions were idle")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000, help="members (default 10,000)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--models", default="IIS")
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds (best kept)")
    parser.add_argument("--pairs", type=int, default=0,
                        help="then this many back-to-back warm (in-process, threads, processes) "
                             "triples, each with the CPUs other sessions used meanwhile")
    args = parser.parse_args(argv)
    print(f"{os.cpu_count()} CPUs; load average {_load()} at the start")
    for name in args.models.split(","):
        path, base, outputs, saveper = CASES[name]
        model = sdkit.load_model(path)
        if name == "IIS":
            base, outputs = _iis_setup(model)
        table = _table(base, args.n, np.random.default_rng(0))
        kw = {"outputs": outputs, "saveper": saveper}
        sdkit.simulate_ensemble(model, table.head(1), **kw)  # compile once
        ref = None
        makers = {"in-process": InProcessExecutor,
                  "threads": lambda: ThreadExecutor(args.workers),
                  "processes": lambda: ProcessPoolExecutor(args.workers)}
        times = {label: [] for label in makers}  # (seconds, cpu seconds) per round
        warm = {label: [] for label in makers if label != "in-process"}
        for r in range(args.rounds):  # interleaved: each backend sees the same mix of loads
            others = _cpu_by_others()
            before = _load() + ("" if others is None else
                                f" (other sessions busy on {others:.1f} CPUs)")
            for label, make in makers.items():
                cold, again, ds = _timed(model, table, kw, make, label in warm)
                times[label].append(cold)
                if again is not None:
                    warm[label].append(again)
                ref = ds if ref is None else ref
                for var in ref.data_vars:
                    np.testing.assert_array_equal(ds[var].to_numpy(), ref[var].to_numpy())
                del ds
            print(f"  round {r + 1}: " + ", ".join(
                f"{k} {v[-1][0]:.2f} s" + (f" (warm {warm[k][-1][0]:.2f} s)" if k in warm else "")
                for k, v in times.items()) + f"; load {before} -> {_load()}")
        here = times.pop("in-process")
        if not here:  # --rounds 0: only the triples
            _pairs(model, table, kw, args.workers, args.pairs)
            continue
        base_s = min(t for t, _ in here)
        print(f"\n{name}, N = {args.n:,}: in-process {base_s:8.2f} s (baseline; best of "
              f"{args.rounds} rounds, interleaved)")
        for label, t in times.items():
            ratios = [b / x for (b, _), (x, _) in zip(here, t)]  # paired: same round, same load
            cpu = [c / b for (_, b), (_, c) in zip(here, warm[label])]
            print(f"  {label:9} x{args.workers}: new executor {min(x for x, _ in t):8.2f} s, "
                  f"{base_s / min(x for x, _ in t):5.2f}x the baseline (per round "
                  f"{min(ratios):.2f}-{max(ratios):.2f}x); same executor again "
                  f"{min(x for x, _ in warm[label]):8.2f} s, "
                  f"{base_s / min(x for x, _ in warm[label]):5.2f}x (identical arrays)")
            print(f"  {'':9}     CPU time of the warm call / the in-process run's: "
                  + ", ".join(f"{x:.2f}" for x in cpu) + " (parent and workers; "
                  "1.00 = no work added by splitting)")
        if args.pairs:
            print(f"\n{name}, N = {args.n:,}: warm executors, back to back")
            _pairs(model, table, kw, args.workers, args.pairs)
        print(f"  load average {_load()} at the end")


if __name__ == "__main__":
    main()
