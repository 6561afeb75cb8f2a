"""Chunk outputs that local worker processes write straight into shared memory.

Without this a process pool's workers send each chunk's arrays back pickled
(IIS at N = 10,000 with 20 outputs: 192 MB, pickled in the worker, sent down a
pipe, unpickled and then joined again in the caller). Instead the caller
allocates one :class:`~multiprocessing.shared_memory.SharedMemory` block laid
out time-major, as :func:`sdkit.engine.run.run_compiled` lays out its own
buffers, each worker copies its members' outputs into their columns, and the
caller's arrays are views of that block: nothing is pickled back and nothing
is joined.

The block's name starts with :data:`PREFIX`. It is unlinked as soon as the
chunks are done or have failed (an error, Ctrl-C, a worker killed), so
nothing is left in ``/dev/shm``; the memory itself is freed when the last
array viewing it is. If the caller dies first, multiprocessing's resource
tracker unlinks it.

A chunk whose arrays do not fit the block (their save times differ from the
ones the caller expected) comes back pickled, as before; so does every chunk
when ``/dev/shm`` has too little room for the block.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
from dataclasses import dataclass, replace
from multiprocessing.shared_memory import SharedMemory

import numpy as np

from sdkit.engine.checks import run_time_settings
from sdkit.engine.chunks import ChunkResult, ChunkSpec, engine_of, run_chunk
from sdkit.engine.run import save_times
from sdkit.model.load import Model

__all__ = ["PREFIX", "OutputBlock", "SharedOutputs", "plan_block", "run_chunk_into",
           "run_shared"]

log = logging.getLogger("sdkit.engine")

#: the start of every block's name (``/dev/shm/sdkit_<random hex>`` on Linux)
PREFIX = "sdkit_"
_SHM_DIR = "/dev/shm"  # where Linux keeps POSIX shared memory (a tmpfs, often small in containers)


@dataclass(frozen=True)
class OutputBlock:
    """Where each output of a run lives in a shared block (picklable).

    `slots` holds, per output, its byte offset and its time-major shape
    ``(times, members, *dims)``.
    """

    name: str
    members: int
    times: int
    slots: tuple[tuple[str, int, tuple[int, ...]], ...]

    @property
    def size(self) -> int:
        """Bytes the block holds."""
        return sum(int(np.prod(shape)) * 8 for _, _, shape in self.slots)

    def views(self, buf) -> dict[str, np.ndarray]:
        """``{output: (times, members, *dims)}`` float64 views of `buf`."""
        return {o: np.ndarray(shape, dtype=np.float64, buffer=buf, offset=offset)
                for o, offset, shape in self.slots}


def plan_block(model: Model, spec: ChunkSpec, members: int) -> OutputBlock:
    """The block for `members` members of `spec` (named, not yet allocated)."""
    steps, saved = save_times(*run_time_settings(model, spec.start, spec.stop, spec.dt,
                                                 spec.saveper))
    times = sum(saved)
    slots, offset = [], 0
    for out, coords in zip(spec.outputs, spec.out_coords):
        shape = (times, members, *(len(c) for c in coords))
        slots.append((out, offset, shape))
        offset += int(np.prod(shape)) * 8
    return OutputBlock(PREFIX + secrets.token_hex(8), members, times, tuple(slots))


def _room(size: int) -> bool:
    """Whether ``/dev/shm`` (where it exists) has `size` bytes free."""
    if not os.path.isdir(_SHM_DIR):
        return True  # not Linux: the system sizes shared memory itself
    st = os.statvfs(_SHM_DIR)
    return st.f_bavail * st.f_frsize >= size


class _Owner:
    """Holds a block open for as long as any array made from it lives."""

    def __init__(self, shm: SharedMemory, interface: dict):
        self._shm = shm
        self.__array_interface__ = interface


class SharedOutputs:
    """The caller's side of a block: allocate, hand out views, unlink.

    A context manager: leaving it unlinks the block whatever happened, and
    unmaps it too unless :meth:`arrays` handed out views of it.
    """

    def __init__(self, block: OutputBlock):
        self.block = block
        # 0600: only this user's processes can open it
        self._shm = SharedMemory(block.name, create=True, size=max(1, block.size))
        self._handed_out = False

    def arrays(self) -> dict[str, np.ndarray]:
        """``{output: (members, times, *dims)}`` views of the block (time-major memory)."""
        flat = np.ndarray((max(1, self.block.size),), np.uint8, buffer=self._shm.buf)
        owner = _Owner(self._shm, dict(flat.__array_interface__))
        del flat  # the views below hold `owner`, not the block's buffer
        self._handed_out = True
        return {o: v.swapaxes(0, 1) for o, v in self.block.views(np.asarray(owner)).items()}

    def __enter__(self) -> SharedOutputs:
        return self

    def __exit__(self, *exc) -> None:
        try:
            self._shm.unlink()
        finally:
            if not self._handed_out:
                self._shm.close()


def run_chunk_into(spec: ChunkSpec, values: np.ndarray, block: OutputBlock,
                   first: int) -> ChunkResult:
    """:func:`~sdkit.engine.chunks.run_chunk` in a worker, writing into `block`.

    The chunk's members go to columns ``first:first + len(values)``; the
    result then carries no arrays (``shared=True``). A chunk whose arrays do
    not fit the block is returned with its arrays, as ``run_chunk`` returns it.
    """
    result = run_chunk(spec, values)
    n = len(values)
    shapes = {o: shape for o, _, shape in block.slots}
    if len(result.times) != block.times or any(
            result.values[o].shape != (n, block.times, *shapes[o][2:]) for o in shapes):
        return result
    shm = SharedMemory(block.name)
    try:
        _copy_in(shm.buf, block, result, first)
    finally:
        with contextlib.suppress(BufferError):  # an error's traceback may still hold a view
            shm.close()
    return replace(result, values={}, shared=True)


def _copy_in(buf, block: OutputBlock, result: ChunkResult, first: int) -> None:
    for o, view in block.views(buf).items():
        arr = result.values[o]
        view[:, first:first + len(arr)] = arr.swapaxes(0, 1)


def run_shared(executor, model: Model, spec: ChunkSpec,
               blocks: list[np.ndarray]) -> list[ChunkResult]:
    """Run `blocks` on a local process pool, outputs through one shared block.

    Returns one :class:`ChunkResult` for all members when every chunk wrote
    into the block (no join needed), else one per chunk, as
    ``executor.map(run_chunk, ...)`` would.
    """
    members = sum(len(b) for b in blocks)
    block = plan_block(model, spec, members)
    if not _room(block.size):
        log.debug("%s has less than %d bytes free: chunk outputs come back pickled",
                  _SHM_DIR, block.size)
        return executor.map(run_chunk, [(spec, b) for b in blocks])
    firsts = np.cumsum([0] + [len(b) for b in blocks[:-1]]).tolist()
    with SharedOutputs(block) as shared:
        results = executor.map(run_chunk_into, [(spec, b, block, f)
                                                for b, f in zip(blocks, firsts)])
        if not any(r.shared for r in results):
            return results
        arrays = shared.arrays()
    if all(r.shared for r in results):
        engine = engine_of(results)
        note = next((r.note for r in results if r.note), "")
        return [ChunkResult(results[0].times, arrays, engine, note)]
    return [r if not r.shared else replace(
        r, values={o: a[f:f + len(b)] for o, a in arrays.items()}, shared=False)
        for r, f, b in zip(results, firsts, blocks)]
