"""Scalar code for the native engine, traced from the compiled engine's ``step``.

The compiled engine's ``step`` (:mod:`sdkit.engine.codegen`) works on arrays
shaped ``(N, *dims)``. Here it runs once, on one member, with every input
element a symbol (:class:`Sym`): numpy's broadcasting, slicing and sums do
what they do on numbers, and each operation on symbols writes one scalar
expression. Every node value the step assigns is then bound to fresh
locals, one per element (``x12 = (x3 + x4) * 0.5``). The result is
straight-line scalar code for one time step, which :mod:`sdkit.engine.native`
wraps in the member and time loops that Numba compiles.

The code is made of sdkit-made names, numbers written with ``repr(float)`` and
a fixed set of functions (:data:`sdkit.engine.native.CALLS`): no model text reaches it. The code
traced is the engine's own, checked by
:func:`~sdkit.engine.sourcecheck.check_engine_source`; a construct the
scalar form cannot express (a state that is not an array, such as DELAY N's or
DELAY FIXED's) raises :class:`~sdkit.engine.expressions.Unsupported`.
"""

from __future__ import annotations

import ast
import re
from types import SimpleNamespace

import numpy as np

from sdkit.engine.expressions import Unsupported
from sdkit.engine.native_sym import (  # the trace's vocabulary, shared with nothing else
    _NP_SCALAR,
    Sym,
    SymArray,
    _c,
    _call,
    _np_shim,
    _vectorise,
    _wrap,
)
from sdkit.engine.runtime import SMALL_VENSIM

__all__ = ["Sym", "Trace", "trace_step"]

_BOUND = re.compile(r"^(x\d+|[ks]\d+_\d+)$")  # a local of the native code already


class Trace:
    """The lines of one traced step, its tables and the element names of its inputs."""

    def __init__(self):
        self.lines: list[str] = []
        self.names: dict[str, str] = {}  # expression -> the local that holds it
        self.tables: list[tuple[np.ndarray, np.ndarray]] = []
        self._table_ids: dict = {}

    def bind(self, value):
        """`value` with every element's expression bound to a local (written once)."""
        arr = np.asarray(value, dtype=object)
        out = np.empty(arr.shape, dtype=object).view(SymArray)
        for idx, v in np.ndenumerate(arr):
            if isinstance(v, Sym) and not _BOUND.match(v.code):  # t, dt: bound as well
                name = self.names.get(v.code)
                if name is None:
                    name = self.names[v.code] = f"x{len(self.names)}"
                    self.lines.append(f"{name} = {v.code}")
                v = Sym(name)
            out[idx] = v
        return out

    def table(self, xs, ys) -> int:
        xs, ys = np.ascontiguousarray(xs, float), np.ascontiguousarray(ys, float)
        key = (xs.tobytes(), ys.tobytes())
        if key not in self._table_ids:
            self._table_ids[key] = len(self.tables)
            self.tables.append((xs, ys))
        return self._table_ids[key]

    def lookup(self, x, xs, ys, mode):
        """:func:`sdkit.engine.runtime.lookup` on symbols: one table per column of `ys`."""
        helper = {"hold_backward": "_lk_hold", "extrapolate": "_lk_extrapolate"}.get(
            mode, "_lk_interpolate")  # any other mode interpolates, as the runtime does
        ys = np.asarray(ys, dtype=float)
        x = np.asarray(x, dtype=object)

        def one(col):
            j = self.table(xs, col)
            return _vectorise(lambda v: Sym(f"{helper}({_c(v)}, TX[{j}], TY[{j}])"), 1)
        if ys.ndim == 1:
            return one(ys)(x)
        x = x.reshape(1) if x.ndim == 0 else x
        shape = np.broadcast_shapes(x.shape[1:], ys.shape[1:])
        flat_y = np.broadcast_to(ys, ys.shape[:1] + shape).reshape(len(xs), -1)
        xb = np.broadcast_to(x, x.shape[:1] + shape).reshape(x.shape[0], -1)
        out = np.empty(xb.shape, dtype=object)
        for j in range(flat_y.shape[1]):
            out[:, j] = one(flat_y[:, j])(xb[:, j])
        return out.reshape(xb.shape[:1] + shape)


def _rt_shim(trace: Trace, where) -> SimpleNamespace:
    def step(t, dt, value, tstep):
        return value * (t + dt / 2 > tstep)

    def ramp(t, slope, start, finish=None):
        final = t if finish is None else _NP_SCALAR["minimum"](finish, t)
        return (t + SMALL_VENSIM > start) * slope * (final - start)

    def pulse(t, dt, start, width=None, magnitude=None):
        width = 0.5 * dt if width is None else width
        out = 1.0 if magnitude is None else magnitude / dt
        on = _NP_SCALAR["logical_and"](start - SMALL_VENSIM <= t, t < start + width)
        return where(on, out, 0.0)

    def xidz(num, den, x):
        return where(abs(den) < SMALL_VENSIM, x, num / den)

    def zidz(num, den):
        return where(abs(den) < SMALL_VENSIM, 0.0, num / den)

    def integer(x):
        return _vectorise(_call("np.trunc", lambda v: float(np.trunc(v))), 1)(x)

    def modulo(x, m):
        trunc = integer(x / m)
        return x - where(m < SMALL_VENSIM, x, m * trunc)

    return SimpleNamespace(if_then_else=where, step=step, ramp=ramp, pulse=pulse, xidz=xidz,
                           zidz=zidz, integer=integer, modulo=modulo, lookup=trace.lookup)


def stacked_states(tree: ast.Module) -> frozenset[int]:
    """Keys of the states ``init`` stacks (SMOOTH, DELAY): their members are on axis 1."""
    init = next(f for f in tree.body if isinstance(f, ast.FunctionDef) and f.name == "init")
    keys = set()
    for st in ast.walk(init):
        if isinstance(st, ast.Assign) and isinstance(st.targets[0], ast.Subscript) \
                and isinstance(st.targets[0].value, ast.Name) and st.targets[0].value.id == "S" \
                and isinstance(st.value, ast.Call) and isinstance(st.value.func, ast.Attribute) \
                and st.value.func.attr == "stack":
            keys.add(st.targets[0].slice.value)
    return frozenset(keys)


def _symbols(prefix: str, value, axis: int = 0) -> np.ndarray:
    """An array of symbols shaped like one member of `value` (``s3_0``, ``s3_1``...), whose
    members are on `axis`."""
    arr = np.asarray(value)
    shape = list(arr.shape)
    if arr.ndim:
        shape[axis] = 1
    size = int(np.prod(shape, dtype=np.int64))
    flat = np.empty(size, dtype=object)  # C order: a stacked state's element is stage-major
    for e in range(size):
        flat[e] = Sym(f"{prefix}{e}")
    return flat.reshape(shape).view(SymArray)


def _float(x):
    """``float(x)`` of a symbol (or of a one-element array of one) is that symbol as a float."""
    x = np.asarray(x, dtype=object)
    if x.size != 1:
        raise Unsupported("the native engine: float() of an array")
    v = x.reshape(())[()]
    return Sym(f"float({v.code})") if isinstance(v, Sym) else float(v)


def _full(x, sizes):
    """:func:`sdkit.engine.codegen._full` on symbols (one member)."""
    x = np.asarray(x, dtype=object)
    if x.ndim == 0:
        out = np.empty((1,) + tuple(sizes), dtype=object)
        out[...] = x[()]
        return out.view(SymArray)
    return _wrap(np.broadcast_to(x, (x.shape[0],) + tuple(sizes)))


def _mat(x, N):
    """:func:`sdkit.engine.codegen._mat` on symbols (one member)."""
    x = np.asarray(x, dtype=object)
    return _wrap(np.array(np.broadcast_to(x, (N,) + x.shape[1:]), dtype=object))


def _instrumented(tree: ast.Module) -> ast.Module:
    """The engine's ``step`` with every node value bound to locals when it is assigned."""
    fn = next(f for f in tree.body if isinstance(f, ast.FunctionDef) and f.name == "step")
    body = []
    for st in fn.body:
        body.append(st)
        if isinstance(st, ast.Assign) and len(st.targets) == 1 \
                and isinstance(st.targets[0], ast.Name) and st.targets[0].id.startswith("v"):
            name = st.targets[0].id
            bound = ast.parse(f"{name} = _bind({name})").body[0]
            body.append(ast.increment_lineno(bound, st.lineno - 1))
    new = ast.FunctionDef("step", fn.args, body, [], None, None, type_params=[])
    return ast.fix_missing_locations(ast.Module([new], []))


def trace_step(tree: ast.Module, states: dict, kept: dict, namespace: dict):
    """Trace the engine's ``step`` (checked `tree`) on one member of symbols.

    `states` and `kept` are ``init``'s ``S`` and ``K`` (their shapes are
    used); `namespace` the engine's constants and helper
    functions (``_chain``...) as bind gave them. Returns ``(trace, outputs, updates)``: the
    bound lines, one array of element expressions per output and
    ``{state key: array of element expressions}``.

    Raises
    ------
    Unsupported
        A state that is not an array, a branch on a changing value, or an
        operation the scalar form cannot express.
    """
    for v in states.values():
        if not isinstance(v, np.ndarray):
            raise Unsupported("the native engine: a delay whose state is not one array "
                              "(DELAY N, DELAY FIXED)")
    trace = Trace()
    where = _NP_SCALAR["where"]
    shim = _np_shim()
    shim.interp = lambda x, xs, ys: trace.lookup(x, np.asarray(xs), np.asarray(ys), "interpolate")
    ns = {**namespace, "np": shim, "rt": _rt_shim(trace, where), "_bind": trace.bind,
          "_full": _full, "_mat": _mat, "float": _float}
    exec(compile(_instrumented(tree), "<sdkit.engine.native_trace>", "exec"), ns)  # noqa: S102
    stacked = stacked_states(tree)
    S = {k: _symbols(f"s{k}_", v, 1 if k in stacked else 0) for k, v in states.items()}
    K = {k: _symbols(f"k{k}_", v) for k, v in kept.items()}
    try:
        out, S2 = ns["step"](Sym("t"), Sym("dt"), S, K, 1, True, True)
    except (ArithmeticError, TypeError, ValueError, IndexError, AttributeError, KeyError,
            NameError) as e:
        raise Unsupported(f"the native engine: the step cannot be traced "
                          f"({type(e).__name__}: {str(e)[:120]})") from None
    outputs = [trace.bind(o).ravel() for o in out]
    updates = {k: np.asarray(v, dtype=object).ravel() for k, v in S2.items()}
    return trace, outputs, updates
