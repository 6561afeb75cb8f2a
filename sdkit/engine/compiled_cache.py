"""Compile a model once per (file content, outputs, set names) and reuse it."""

from __future__ import annotations

import threading
import warnings
from collections import OrderedDict

from sdkit.engine.codegen import Compiled, generate
from sdkit.engine.expressions import Unsupported
from sdkit.engine.program import Program, build_program

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


def _memoised(cache: OrderedDict, key, build, compile_errors: tuple[type, ...]):
    """``build()`` once per key; an :class:`Unsupported` (or a compile error) is kept too."""
    with _LOCK:
        hit = cache.get(key)
    if hit is None:
        try:
            hit = build()
        except Unsupported as e:
            hit = e
        except compile_errors as e:
            hit = Unsupported(f"cannot compile ({type(e).__name__}: {e})")
        with _LOCK:
            _remember(cache, key, hit)
    if isinstance(hit, Unsupported):
        raise hit
    return hit


def _build_program(model) -> Program:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return build_program(model.abstract)


def program_for(model) -> Program:
    """The :class:`Program` of a loaded model (an :class:`Unsupported` is cached too)."""
    # anything PySD's helpers raise while building means: fall back
    return _memoised(_PROGRAMS, (str(model.path), model.sha256),
                     lambda: _build_program(model), (Exception,))


def compiled_for(model, outputs: tuple[str, ...], overrides: frozenset[str],
                 method: str = "euler") -> Compiled:
    """The compiled functions for these outputs, set names and integration method."""
    key = (str(model.path), model.sha256, outputs, overrides, method)
    return _memoised(
        _COMPILED, key,
        lambda: generate(program_for(model), list(outputs), set(overrides), method),
        (SyntaxError, NameError, KeyError, ValueError, TypeError),
    )
