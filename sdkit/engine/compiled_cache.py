"""Compile a model once per (file content, outputs, set names) and reuse it."""

from __future__ import annotations

import threading
import warnings
from collections import OrderedDict

from .codegen import Compiled, generate
from .expressions import Unsupported
from .program import Program, build_program

__all__ = ["program_for", "compiled_for", "Unsupported"]

_LOCK = threading.Lock()
_PROGRAMS: OrderedDict = OrderedDict()
_COMPILED: OrderedDict = OrderedDict()
_MAX = 32


def _remember(cache: OrderedDict, key, value):
    cache[key] = value
    cache.move_to_end(key)
    while len(cache) > _MAX:
        cache.popitem(last=False)
    return value


def program_for(model) -> Program:
    """The :class:`Program` of a loaded model (an :class:`Unsupported` is cached too)."""
    key = (str(model.path), model.sha256)
    with _LOCK:
        hit = _PROGRAMS.get(key)
    if hit is None:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                hit = build_program(model.abstract)
        except Unsupported as e:
            hit = e
        except Exception as e:  # noqa: BLE001 - anything PySD's helpers raise: fall back
            hit = Unsupported(f"cannot compile ({type(e).__name__}: {e})")
        with _LOCK:
            _remember(_PROGRAMS, key, hit)
    if isinstance(hit, Unsupported):
        raise hit
    return hit


def compiled_for(model, outputs: tuple[str, ...], overrides: frozenset[str]) -> Compiled:
    """The compiled init/step functions for these outputs and set names."""
    key = (str(model.path), model.sha256, outputs, overrides)
    with _LOCK:
        hit = _COMPILED.get(key)
    if hit is None:
        program = program_for(model)
        try:
            hit = generate(program, list(outputs), set(overrides))
        except Unsupported as e:
            hit = e
        except (SyntaxError, NameError, KeyError, ValueError, TypeError) as e:
            hit = Unsupported(f"cannot compile ({type(e).__name__}: {e})")
        with _LOCK:
            _remember(_COMPILED, key, hit)
    if isinstance(hit, Unsupported):
        raise hit
    return hit
