"""Compile a model once per (file content, outputs, set names, method) and reuse it.

Within a process, programs and compiled functions are memoised. Across
processes, the generated code and its data (:class:`~sdkit.engine.codegen.Source`)
are kept as a record beside the model's cache entry
(:mod:`sdkit.model.derived`), so a warm run skips building the program
(which needs PySD's abstract model) and writing the code. A kept record is
read back with every check a fresh one gets: JSON only, arrays as numbers,
constants named as codegen names them (``C3``, ``T4_x``), the code through
the engine's allow-list (:mod:`sdkit.engine.sourcecheck`) before it is
compiled; a record that fails is refused with
:class:`~sdkit.errors.CacheError`. Fresh code passes the same allow-list
before it is compiled: code that fails it is never run, and the model runs
with PySD (:class:`Unsupported`). A construct the engine does not compile is
kept too (as its reason), so the fall-back to PySD is immediate.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import warnings
from functools import lru_cache
from pathlib import Path

import numpy as np

from sdkit.engine.codegen import Compiled, Source, bind, generate
from sdkit.engine.expressions import Unsupported
from sdkit.engine.memo import Memo
from sdkit.engine.program import Program, build_program
from sdkit.engine.sourcecheck import EngineSourceError, check_engine_source
from sdkit.errors import CacheError
from sdkit.model.derived import (
    code_fingerprint,
    decode_array,
    encode_array,
    read_record,
    write_record,
)

__all__ = ["program_for", "compiled_for", "simulated_names", "Unsupported"]

_PROGRAMS = Memo()
_COMPILED = Memo()
_NAMES = Memo()
#: the names codegen gives the constants it passes as data (:mod:`sdkit.engine.program`)
_CONSTANT = re.compile(r"^(C\d+|T\d+_[xy])$")


def _build_program(model) -> Program:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return build_program(model.abstract)


def program_for(model) -> Program:
    """The :class:`Program` of a loaded model (an :class:`Unsupported` is cached too)."""
    # anything PySD's helpers raise while building means: fall back
    return _PROGRAMS.get((str(model.path), model.sha256), lambda: _build_program(model),
                         (Exception,))


# -- records kept across processes ----------------------------------------------------
@lru_cache(maxsize=1)
def _fingerprint() -> str:
    """A hash of every engine module (whatever decides the code kept records hold)."""
    engine = sorted(Path(__file__).parent.glob("*.py"))
    return code_fingerprint(engine) + f"-np{np.__version__}"


def _record_name(kind: str, *parts) -> str:
    digest = hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:24]
    return f"{kind}-{digest}"


def _kept(model, name: str, build):
    """``build()`` (JSON data) once per cache entry and record name, across processes.

    An :class:`Unsupported` is kept as its reason and raised again.
    """
    entry = model.translation.folder
    data = read_record(entry, name, _fingerprint())
    if data is None:
        try:
            data = {"ok": build()}
        except Unsupported as e:
            data = {"unsupported": str(e)}
        write_record(entry, name, _fingerprint(), data)
    if "unsupported" in data:
        raise Unsupported(str(data["unsupported"]))
    return data.get("ok")


def _encode(src: Source) -> dict:
    return {
        "text": src.text,
        "constants": {k: encode_array(v) for k, v in src.constants.items()},
        "outputs": list(src.outputs),
        "shapes": {o: [list(lab), [list(c) for c in coords]]
                   for o, (lab, coords) in src.shapes.items()},
        "keys": src.keys, "reads_initial_time": src.reads_initial_time, "method": src.method,
        "delays": [[k, v] for k, v in src.delays.items()],
    }


def _decode(data: dict) -> Source:
    """A kept :class:`Source`, checked (KeyError/TypeError/ValueError when malformed)."""
    tree = check_engine_source(data["text"])
    keys = dict(data["keys"])
    if not all(isinstance(k, str) and type(v) is int for k, v in keys.items()):
        raise ValueError("bad keys")
    constants = dict(data["constants"])
    # spread into the code's namespace: a name must not shadow np, rt or a helper
    bad = next((k for k in constants if not (isinstance(k, str) and _CONSTANT.match(k))), None)
    if bad is not None:
        raise ValueError(f"a constant named {str(bad)[:40]!r}")
    shapes = {str(o): (tuple(map(str, lab)), tuple(tuple(map(str, c)) for c in coords))
              for o, (lab, coords) in dict(data["shapes"]).items()}
    outputs = tuple(map(str, data["outputs"]))
    if set(outputs) != set(shapes) or not isinstance(data["reads_initial_time"], bool):
        raise ValueError("bad outputs")
    return Source(str(data["text"]), {k: decode_array(v) for k, v in constants.items()},
                  outputs, shapes, keys, data["reads_initial_time"], str(data["method"]),
                  {int(k): str(v) for k, v in data["delays"]}, tree)


def _source(model, outputs: tuple[str, ...], overrides: frozenset[str], method: str) -> Source:
    """The code for these outputs: read back from the cache, or written (and kept).

    Fresh code passes the allow-list before it is kept or compiled.

    Raises
    ------
    Unsupported
        The engine cannot compile the model, or its code fails the allow-list.
    CacheError
        A kept record is malformed or fails the allow-list.
    """
    fresh = []

    def write() -> dict:
        src = generate(program_for(model), list(outputs), set(overrides), method)
        try:
            tree = check_engine_source(src.text)
        except EngineSourceError as e:  # a gap between codegen and the allow-list
            raise Unsupported(f"generated code refused by the engine's allow-list ({e})") \
                from None
        fresh.append(dataclasses.replace(src, tree=tree))
        return _encode(src)

    name = _record_name("engine", list(outputs), sorted(overrides), method)
    data = _kept(model, name, write)
    if fresh:
        return fresh[0]
    try:
        return _decode(data)
    except (EngineSourceError, KeyError, TypeError, ValueError, OverflowError, MemoryError,
            RecursionError) as e:
        raise CacheError(f"{model.translation.folder}.derived/{name}.json: kept engine code "
                         f"was changed after sdkit wrote it ({type(e).__name__}: "
                         f"{str(e)[:200]}); delete the folder") from None


def compiled_for(model, outputs: tuple[str, ...], overrides: frozenset[str],
                 method: str = "euler") -> Compiled:
    """The compiled functions for these outputs, set names and integration method."""
    key = (str(model.path), model.sha256, outputs, overrides, method)
    return _COMPILED.get(key, lambda: bind(_source(model, outputs, overrides, method)),
                         (SyntaxError, NameError, KeyError, ValueError, TypeError))


def simulated_names(model) -> frozenset[str]:
    """Python names of the model variables the engine simulates (not lookups).

    Raises
    ------
    Unsupported
        The engine cannot compile the model.
    """
    def build() -> list[str]:
        program = program_for(model)
        return sorted(n for n in program.nodes if n not in program.lookups)

    def kept() -> frozenset[str]:
        names = _kept(model, "engine-names", build)
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise CacheError(f"{model.translation.folder}.derived/engine-names.json: "
                             "changed after sdkit wrote it; delete the folder")
        return frozenset(names)

    return _NAMES.get((str(model.path), model.sha256), kept)
