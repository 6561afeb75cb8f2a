"""What the engine builds once per process: compiled code, traced code, Numba functions.

A :class:`Memo` keeps the last few values built, by key, and keeps a build's
:class:`~sdkit.engine.expressions.Unsupported` as well, so a construct the
engine cannot handle is worked out once and the same reason is raised again
on every later call.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable

from sdkit.engine.expressions import Unsupported

__all__ = ["Memo"]


class Memo:
    """Values built once per key (at most `size` kept; the least recently used go first).

    Builds run under the memo's lock, one at a time: two threads asking for
    the same code compile it once (a Numba compile of IIS takes tens of
    seconds). The lock is re-entrant, so a build may use the same memo.
    """

    def __init__(self, size: int = 32):
        self.size = size
        self._items: OrderedDict = OrderedDict()
        self._lock = threading.RLock()

    def get(self, key: Hashable, build: Callable[[], object],
            errors: tuple[type[BaseException], ...] = ()):
        """``build()``'s value for `key`, built on the first call.

        An :class:`Unsupported` from `build`, or one of `errors` (kept as an
        :class:`Unsupported` saying the code cannot be compiled), is kept and
        raised on this and every later call with `key`.
        """
        with self._lock:
            hit = self._items.get(key)
            if hit is None:
                try:
                    hit = build()
                except Unsupported as e:
                    hit = e
                except errors as e:
                    hit = Unsupported(f"cannot compile ({type(e).__name__}: {e})")
                self._items[key] = hit
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        if isinstance(hit, Unsupported):
            raise hit
        return hit

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def clear(self) -> None:
        """Forget every value (the next call of each key builds again)."""
        with self._lock:
            self._items.clear()
