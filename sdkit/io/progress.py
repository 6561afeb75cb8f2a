"""Progress of long jobs (fits, Monte Carlo, Sobol', conformance, pipeline): one helper.

:class:`Progress` shows a tqdm bar when standard error is a terminal and, when
it is not (a log file, CI, ``nohup``, a pipe), writes a line to standard error
at most every :data:`EVERY` seconds::

    sdkit: Monte Carlo: 4,096/10,000 runs (41%), 812 runs/s, ETA 7s

and one last line when the job ends (jobs shorter than that write nothing).
``$SDKIT_PROGRESS_SECONDS`` sets the interval (``inf`` turns the lines off), and
inside ``with quiet():`` (the command line's ``--no-progress``) nothing is
reported, however deep the job that counts.
The job's own output on standard output is never touched. A
:class:`Progress` has the part of tqdm's interface sdkit uses (``update``,
``set_postfix``, ``close``, context manager), so a caller swaps one for the
other.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import IO

__all__ = ["Progress", "track", "quiet", "EVERY"]

#: seconds between two log lines (``$SDKIT_PROGRESS_SECONDS`` overrides)
EVERY = 5.0


_QUIET: ContextVar[bool] = ContextVar("sdkit_progress_quiet", default=False)


@contextmanager
def quiet() -> Iterator[None]:
    """Report no progress inside this block (every :class:`Progress` it creates is silent)."""
    token = _QUIET.set(True)
    try:
        yield
    finally:
        _QUIET.reset(token)


def _every() -> float:
    try:
        value = float(os.environ.get("SDKIT_PROGRESS_SECONDS", EVERY))
    except ValueError:
        return EVERY
    return value if value >= 0 else EVERY


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


class Progress:
    """Count work done; report it as a bar on a terminal, as log lines elsewhere.

    Parameters
    ----------
    total : int, optional
        Units of work in all (None if not known: no percentage, no ETA).
    desc : str
        What runs (``"calibrate"``, ``"Monte Carlo"``).
    unit : str, default "run"
        The unit counted (its plural adds ``s``).
    show : bool, optional
        False: report nothing. Default (None) and True: report (except inside
        :func:`quiet`).
    lines : bool, optional
        Force log lines (True) or the tqdm bar (False); default: the bar when
        `stream` is a terminal and tqdm is installed, lines otherwise.
    every : float, optional
        Seconds between log lines (default :data:`EVERY`, or
        ``$SDKIT_PROGRESS_SECONDS``).
    stream : file, optional
        Where to report (default ``sys.stderr``).
    clock : callable, optional
        Monotonic seconds (for tests).
    """

    def __init__(self, total: int | None = None, *, desc: str, unit: str = "run",
                 show: bool | None = None, lines: bool | None = None,
                 every: float | None = None, stream: IO[str] | None = None,
                 clock: Callable[[], float] = time.monotonic):
        self.total = total
        self.desc = desc
        self.unit = unit
        self.done = 0
        self.postfix = ""
        self._stream = stream if stream is not None else sys.stderr
        self._clock = clock
        self._every = _every() if every is None else float(every)
        self._start = self._last = clock()
        self._closed = False
        self._bar = None
        self._show = show is not False and not _QUIET.get()
        if self._show and not (lines if lines is not None else not self._isatty()):
            self._bar = self._tqdm()

    def _isatty(self) -> bool:
        try:
            return bool(self._stream.isatty())
        except (AttributeError, ValueError):
            return False

    def _tqdm(self):
        try:
            from tqdm import tqdm  # optional display: only for a terminal
        except ImportError:
            return None
        return tqdm(total=self.total, desc=self.desc, unit=self.unit, leave=False,
                    file=self._stream)

    # -- tqdm's interface ------------------------------------------------------
    def update(self, n: int = 1) -> None:
        """Count `n` more units done; write a line if :data:`EVERY` seconds passed."""
        self.done += n
        if self._bar is not None:
            self._bar.update(n)
            return
        now = self._clock()
        finished = self.total is not None and self.done >= self.total  # close() says so
        if self._show and not finished and now - self._last >= self._every:
            self._last = now
            self._write(self.line(now))

    def set_postfix(self, refresh: bool = False, **values) -> None:
        """Values shown after the counts (``best=0.123``)."""
        self.postfix = ", ".join(f"{k} {v}" for k, v in values.items())
        if self._bar is not None:
            self._bar.set_postfix(refresh=refresh, **values)

    def close(self) -> None:
        """End the job: close the bar, or write the last line (if a line was written or
        the job took at least `every` seconds)."""
        if self._closed:
            return
        self._closed = True
        if self._bar is not None:
            self._bar.close()
            return
        now = self._clock()
        if self._show and (self._last > self._start or now - self._start >= self._every):
            self._write(self.line(now, final=True))

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- the log line ----------------------------------------------------------
    def line(self, now: float | None = None, *, final: bool = False) -> str:
        """The log line for the state at `now`."""
        now = self._clock() if now is None else now
        elapsed = max(now - self._start, 1e-9)
        units = self.unit + ("" if self.done == 1 else "s")
        count = f"{self.done:,}" if self.total is None else f"{self.done:,}/{self.total:,}"
        parts = [f"{count} {units}"]
        if self.total:
            parts[0] += f" ({100 * self.done / self.total:.0f}%)"
        rate = self.done / elapsed
        parts.append(f"{rate:.3g} {self.unit}s/s")
        if final:
            parts.append(f"done in {_duration(elapsed)}")
        elif self.total and rate > 0:
            parts.append(f"ETA {_duration((self.total - self.done) / rate)}")
        if self.postfix:
            parts.append(self.postfix)
        return f"sdkit: {self.desc}: " + ", ".join(parts)

    def _write(self, text: str) -> None:
        try:
            print(text, file=self._stream, flush=True)
        except (OSError, ValueError):  # a closed or broken stream: progress is optional
            self._show = False


def track(items: Iterable, *, total: int | None = None, desc: str, unit: str = "run",
          weight: Callable[[object], int] | None = None, show: bool | None = None,
          lines: bool | None = None) -> Iterator:
    """Yield from `items`, counting each one (or ``weight(item)`` units) with a :class:`Progress`.

    `total` defaults to ``len(items)``, or the sum of the weights.
    """
    if weight is not None:
        items = list(items)
        total = sum(weight(i) for i in items) if total is None else total
    elif total is None and hasattr(items, "__len__"):
        total = len(items)  # type: ignore[arg-type]
    with Progress(total, desc=desc, unit=unit, show=show, lines=lines) as bar:
        for item in items:
            yield item
            bar.update(1 if weight is None else weight(item))
