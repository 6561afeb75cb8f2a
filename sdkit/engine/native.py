"""The native engine's code: the traced step as Numba code, in chunks over a work array.

:mod:`sdkit.engine.native_trace` traces the compiled engine's ``step`` into
scalar lines (``x12 = (x3 + x4) * 0.5``); this module gives every scalar a
slot of one work array ``w`` and writes the lines as functions of at most
``chunk`` lines each (``c0(w, t, dt, TX, TY)``...), called in turn by ``run``,
which holds the member and time loops::

    def run(steps, saved, dt, N, last, W0, KIN, KIDX, SIN, SIDX, NIDX, OIDX, OUTB, TX, TY):
        w = W0.copy()
        for m in range(N):
            for q in range(KIDX.shape[0]):      # values that never change
                w[KIDX[q]] = KIN[min(m, KIN.shape[0] - 1), q]
            for q in range(SIDX.shape[0]):      # the states' initial values
                w[SIDX[q]] = SIN[m, q]
            k = 0
            for i in range(steps.shape[0]):
                t = steps[i]
                c0(w, t, dt, TX, TY)            # what the state updates need
                if saved[i]:
                    c4(w, t, dt, TX, TY)        # what only the outputs need
                    for q in range(OIDX.shape[0]):
                        OUTB[k, m, q] = w[OIDX[q]]
                    k = k + 1
                if i < last:
                    c5(w, t, dt, TX, TY)        # Euler's update into new slots
                    for q in range(SIDX.shape[0]):
                        w[SIDX[q]] = w[NIDX[q]]

One function of thousands of scalar locals made Numba's compile time and
memory explode (IIS: killed after 7 CPU minutes at 6 GB); chunks over a work
array keep it linear in the number of lines. The code holds sdkit-made
indices, numbers and the calls of :data:`CALLS` only (no model text) and
passes :func:`check_native_source` before it is compiled.
"""

from __future__ import annotations

import ast
import re

import numpy as np

from sdkit.engine.expressions import Unsupported

__all__ = ["NativeSource", "write_loop", "check_native_source", "CALLS"]

#: the functions the scalar code calls (numpy's on scalars, and sdkit's helpers)
CALLS = frozenset({
    "np.exp", "np.log", "np.sqrt", "np.sin", "np.cos", "np.tan", "np.arcsin", "np.arccos",
    "np.arctan", "np.sinh", "np.cosh", "np.tanh", "np.trunc", "abs", "min", "range", "float",
    "_rt_min", "_rt_max", "_rt_and", "_rt_or", "_rt_not",
    "_lk_interpolate", "_lk_extrapolate", "_lk_hold", "_pow",
})
_X = re.compile(r"\b(x\d+)\b")
_INPUT = re.compile(r"\b([ks])(\d+)_(\d+)\b")
_NAME = re.compile(r"\b(x\d+|[ksn]\d+_\d+)\b")


class NativeSource:
    """The code and the index arrays of the work array's slots."""

    def __init__(self, text, k_slots, s_slots, n_slots, o_slots, w0, tables, k_keys, s_keys):
        self.text = text
        self.k_slots, self.s_slots, self.n_slots, self.o_slots = k_slots, s_slots, n_slots, \
            o_slots
        self.w0 = w0  # the work array's first values (numbers the outputs or updates are)
        self.tables = tables  # (xs, ys) of each lookup column, as TX[j], TY[j]
        self.k_keys, self.s_keys = k_keys, s_keys  # KIN's and SIN's columns: (key, element)
        self.stacked: frozenset[int] = frozenset()  # states whose members are on axis 1
        #: the chunks' names: what the state updates need, what only the outputs need, and
        #: Euler's update (the order ``run`` calls them in)
        self.groups: tuple[tuple[str, ...], ...] = ((), (), ())


def _split(lines: list[str], needed: set[str]) -> tuple[list[str], list[str]]:
    """`lines` (``xN = ...``) split into those `needed` (and their inputs) and the rest."""
    deps = {}
    for ln in lines:
        name, code = ln.split(" = ", 1)
        deps[name] = set(_X.findall(code))
    keep, todo = set(), list(needed)
    while todo:
        n = todo.pop()
        if n in deps and n not in keep:
            keep.add(n)
            todo.extend(deps[n])
    lean = [ln for ln in lines if ln.split(" = ", 1)[0] in keep]
    rest = [ln for ln in lines if ln.split(" = ", 1)[0] not in keep]
    return lean, rest


class _Slots:
    """A slot of the work array per name, and per number an output or update is."""

    def __init__(self):
        self.index: dict[str, int] = {}
        self.values: dict[int, float] = {}

    def of(self, name: str) -> int:
        return self.index.setdefault(name, len(self.index))

    def sub(self, code: str) -> str:
        return _NAME.sub(lambda mo: f"w[{self.of(mo.group(1))}]", code)

    def value(self, v) -> int:
        code = getattr(v, "code", None)
        if code is not None:
            if not _NAME.fullmatch(code):
                raise Unsupported(f"the native engine: an output {code[:40]!r} not bound")
            return self.of(code)
        slot = self.of(f"#{len(self.index)}")
        self.values[slot] = float(v)
        return slot


def _chunks(slots: _Slots, lines: list[str], chunk: int, first: int) -> tuple[list, list]:
    defs, calls = [], []
    for j in range(0, len(lines), chunk):
        name = f"c{first + len(calls)}"
        defs += [f"def {name}(w, t, dt, TX, TY):",
                 *("    " + slots.sub(ln) for ln in lines[j:j + chunk]), "    return 0"]
        calls.append(f"{name}(w, t, dt, TX, TY)")
    return defs, calls


def write_loop(trace, outputs: list, updates: dict, chunk: int = 100) -> NativeSource:
    """The functions ``c<j>`` and ``run`` from a traced step (the text that the native
    engine and the scalar path check, with :func:`check_native_source`, and compile)."""
    slots = _Slots()
    upd, needed = [], set()
    for key in sorted(updates):
        for e, v in enumerate(updates[key]):
            code = getattr(v, "code", None)
            if code is None:
                code = _number(v)
            upd.append((f"s{key}_{e}", f"n{key}_{e}", code))
            needed |= set(_X.findall(code))
    lean, rest = _split(trace.lines, needed)
    body = "\n".join([*trace.lines, *(c for _, _, c in upd),
                      *(getattr(v, "code", "") for arr in outputs for v in arr)])
    k_keys = sorted({(int(k), int(e)) for kind, k, e in _INPUT.findall(body) if kind == "k"})
    s_keys = [(int(s[1:].split("_")[0]), int(s.split("_")[1])) for s, _, _ in upd]
    k_slots = [slots.of(f"k{k}_{e}") for k, e in k_keys]
    s_slots = [slots.of(s) for s, _, _ in upd]
    n_slots = [slots.of(n) for _, n, _ in upd]
    o_slots = [slots.value(v) for arr in outputs for v in arr]
    defs, lean_calls = _chunks(slots, lean, chunk, 0)
    more, rest_calls = _chunks(slots, rest, chunk, len(lean_calls))
    last, upd_calls = _chunks(slots, [f"{n} = {c}" for _, n, c in upd], chunk,
                              len(lean_calls) + len(rest_calls))
    defs += more + last
    run = [f"def run({', '.join(_RUN_ARGS)}):",
           "    w = W0.copy()", "    for m in range(N):",
           "        for q in range(KIDX.shape[0]):",
           "            w[KIDX[q]] = KIN[min(m, KIN.shape[0] - 1), q]",
           "        for q in range(SIDX.shape[0]):", "            w[SIDX[q]] = SIN[m, q]",
           "        k = 0", "        for i in range(steps.shape[0]):", "            t = steps[i]",
           *("            " + c for c in lean_calls), "            if saved[i]:",
           *("                " + c for c in rest_calls),
           "                for q in range(OIDX.shape[0]):",
           "                    OUTB[k, m, q] = w[OIDX[q]]", "                k = k + 1",
           "            if i < last:", *("                " + c for c in upd_calls),
           "                for q in range(SIDX.shape[0]):",
           "                    w[SIDX[q]] = w[NIDX[q]]"]
    text = "\n".join(defs + run) + "\n"  # checked by whoever compiles it
    w0 = np.zeros(len(slots.index))
    for slot, value in slots.values.items():
        w0[slot] = value
    ix = lambda a: np.asarray(a, dtype=np.int64)  # noqa: E731
    src = NativeSource(text, ix(k_slots), ix(s_slots), ix(n_slots), ix(o_slots), w0,
                       list(trace.tables), k_keys, s_keys)
    src.groups = tuple(tuple(c.split("(", 1)[0] for c in calls)
                       for calls in (lean_calls, rest_calls, upd_calls))
    return src


def _number(v) -> str:
    f = float(v)
    if f != f:
        return "np.nan"
    if abs(f) == float("inf"):
        return "np.inf" if f > 0 else "(-np.inf)"
    return repr(f) if f >= 0 else f"({f!r})"


_NODES = frozenset({
    "Module", "FunctionDef", "arguments", "arg", "Assign", "For", "If", "Pass", "IfExp",
    "Return", "Expr",
    "Name", "Load", "Store", "Attribute", "Subscript", "Tuple", "Call", "Constant",
    "BinOp", "UnaryOp", "Compare", "BoolOp",
    "Add", "Sub", "Mult", "Div", "FloorDiv", "Mod", "Pow", "USub", "UAdd", "Not", "And", "Or",
    "BitAnd", "BitOr", "Eq", "NotEq", "Lt", "LtE", "Gt", "GtE",
})
_RUN_ARGS = ("steps", "saved", "dt", "N", "last", "W0", "KIN", "KIDX", "SIN", "SIDX", "NIDX",
             "OIDX", "OUTB", "TX", "TY")
_CHUNK_ARGS = ("w", "t", "dt", "TX", "TY")
_FIXED = frozenset({*_RUN_ARGS, *_CHUNK_ARGS, "i", "k", "m", "q", "np",
                    *(c for c in CALLS if "." not in c)})
_MADE = re.compile(r"^c\d+$")
_ASSIGNABLE = frozenset({"w", "t", "k", "m", "i", "q"})
_ATTRIBUTES = frozenset({"shape", "copy", "nan", "inf",
                         *(c[3:] for c in CALLS if c.startswith("np."))})


def _refuse(node, what: str):
    raise Unsupported(f"the native engine's code, line {getattr(node, 'lineno', '?')}: {what}")


def _check_target(node) -> None:
    if isinstance(node, ast.Name):
        if node.id not in _ASSIGNABLE:
            _refuse(node, f"assignment to {node.id!r}")
    elif isinstance(node, ast.Subscript):  # w[3] = ...; OUTB[k, m, q] = ...
        if not (isinstance(node.value, ast.Name) and node.value.id in ("w", "OUTB")):
            _refuse(node, "assignment to an item of something other than w or OUTB")
    else:
        _refuse(node, f"assignment to a {type(node).__name__}")


def _check_call(node: ast.Call) -> None:
    f = node.func
    name = f.id if isinstance(f, ast.Name) else (
        f"{f.value.id}.{f.attr}" if isinstance(f, ast.Attribute)
        and isinstance(f.value, ast.Name) else None)
    if node.keywords or not (name in CALLS or name == "W0.copy"
                             or (name is not None and _MADE.match(name))):
        _refuse(node, f"a call of {name or type(f).__name__!r}")


def _check_node(node) -> None:
    kind = type(node).__name__
    if kind not in _NODES:
        _refuse(node, f"{kind} is not part of the native loop")
    if isinstance(node, ast.Name):
        if node.id not in _FIXED and not _MADE.match(node.id):
            _refuse(node, f"name {node.id!r}")
        if not isinstance(node.ctx, ast.Load) and node.id not in _ASSIGNABLE:
            _refuse(node, f"assignment to {node.id!r}")
    elif isinstance(node, ast.Assign):
        for target in node.targets:
            _check_target(target)
    elif isinstance(node, ast.Attribute):
        if node.attr not in _ATTRIBUTES or not isinstance(node.ctx, ast.Load) or (
                node.attr not in ("shape", "copy") and not (isinstance(node.value, ast.Name)
                                                           and node.value.id == "np")):
            _refuse(node, f"attribute {node.attr!r}")
    elif isinstance(node, ast.Constant):
        if not (node.value is None or isinstance(node.value, bool | int | float)):
            _refuse(node, f"a {type(node.value).__name__} constant")
    elif isinstance(node, ast.Call):
        _check_call(node)
    elif isinstance(node, ast.Expr):  # a chunk's call: c3(w, t, dt, TX, TY)
        if not (isinstance(node.value, ast.Call) and isinstance(node.value.func, ast.Name)
                and _MADE.match(node.value.func.id)):
            _refuse(node, "an expression statement other than a chunk's call")
    elif isinstance(node, ast.For):
        if not (isinstance(node.target, ast.Name) and node.target.id in ("i", "m", "q")):
            _refuse(node, "a loop other than the member, time and copy loops")


def check_native_source(text: str) -> ast.Module:
    """Refuse code that :func:`write_loop` would not have written.

    The allow-list: the functions ``c<j>(w, t, dt, TX, TY)`` and then ``run``
    with the loop's arguments; the node types of :data:`_NODES`; the loop's
    own names only; calls of :data:`CALLS`, of the chunks and ``W0.copy()``,
    without keywords; numbers only, no strings; assignments only to the loop's
    counters and to items of ``w`` and ``OUTB``.

    Raises
    ------
    Unsupported
        The first construct outside the allow-list, with its line.
    """
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, MemoryError, RecursionError) as e:
        raise Unsupported(f"the native engine's code is not Python it writes "
                          f"({type(e).__name__})") from None
    fns = tree.body
    if not fns or not all(isinstance(f, ast.FunctionDef) for f in fns):
        _refuse(tree, "only functions may stand at the top level")
    for j, fn in enumerate(fns):
        a = fn.args
        name, args = ("run", _RUN_ARGS) if j == len(fns) - 1 else (f"c{j}", _CHUNK_ARGS)
        if fn.name != name or fn.decorator_list or fn.returns or a.defaults or a.vararg \
                or a.kwarg or a.kwonlyargs or a.posonlyargs \
                or tuple(x.arg for x in a.args) != args or any(x.annotation for x in a.args):
            _refuse(fn, "a function not as the native engine writes it")
    top = set(map(id, fns))
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and id(node) not in top:
            _refuse(node, "a function inside a function")
        if isinstance(node, ast.Return) and not (isinstance(node.value, ast.Constant)
                                                 and node.value.value == 0):
            _refuse(node, "a return of something other than 0")
        _check_node(node)
    return tree
