"""Write a model's :class:`~.program.Program` as a JavaScript simulation.

The page explorer (``sdkit explore``) runs the model in the browser. The
JavaScript is generated from the same program nodes the Python code
generator (:mod:`.codegen`) compiles, in the same order, with the same
static/dynamic split, the same initialisation pass, Euler's method and PySD's
save times, so a run in the page equals :func:`~.run.run_compiled` to
rounding (float64 throughout).

The generated text holds only generated identifiers (``v<key>`` for node
``key`` exactly as in the Python source, ``C<n>`` for constants, ``S<key>``
for states, loop indices) and numbers: no name, unit or comment of the model.

``jsgen(program, outputs, params, method)`` returns a :class:`JsModel`:
``source`` defines ``function(R, P)`` that returns ``{times, out}`` for
parameter values ``P`` (one ``Float64Array`` per parameter node, ``null``
for the model's own value), with ``out[i]`` the ``i``-th output flattened
``(time, *elements)``.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

import numpy as np

from sdkit.engine.codegen import CONTROL, _closure, _topo
from sdkit.engine.expressions import Unsupported
from sdkit.engine.jsexpr import Translator, flat_index, num
from sdkit.engine.jsstate import (
    CONTINUOUS,
    apply_discrete,
    capture_discrete,
    check_rk,
    init_state,
    rate_state,
    update_state,
    value_state,
)
from sdkit.engine.program import Program
from sdkit.model.timesettings import RPREC

__all__ = ["JsModel", "jsgen"]


@dataclass(frozen=True)
class JsModel:
    """A model written as JavaScript for fixed outputs and parameters."""

    source: str
    outputs: tuple[str, ...]
    params: tuple[str, ...]
    sizes: dict  # node name -> number of elements


class _Writer:
    def __init__(self, program: Program, key: dict[str, int]):
        self.program = program
        self.key = key
        self.shapes = {n: (1,) + tuple(len(c) for c in node.coords)
                       for n, node in program.nodes.items()}
        self.names = {f"n_{n}": (f"v{key[n]}", s) for n, s in self.shapes.items()}
        consts = {}
        for name, value in program.constants.items():
            value = np.asarray(value, dtype=float)
            consts[name] = value
            self.names[name] = (name, value.shape)
        self.constants = consts
        self.extra: dict[str, np.ndarray] = {}
        self.dynamic: set[str] = set()
        self.tr = Translator(self.names, consts, self._new_constant)

    def _new_constant(self, value: np.ndarray) -> str:
        for name, old in self.extra.items():
            if old.shape == value.shape and np.array_equal(old, value):
                return name
        name = f"X{len(self.extra)}"
        self.extra[name] = np.asarray(value, dtype=float)
        return name

    def size(self, n: str) -> int:
        return int(np.prod(self.shapes[n]))

    def js(self, n: str) -> str:
        return f"v{self.key[n]}"

    def statement(self, line: str) -> list[str]:
        """One line of node code as JavaScript lines."""
        tree = ast.parse(line).body[0]
        if not isinstance(tree, ast.Assign) or len(tree.targets) != 1:
            raise Unsupported(f"statement {type(tree).__name__} in the engine's code")
        target, value = tree.targets[0], tree.value
        self.tr.pre = []
        if isinstance(target, ast.Name):
            name = target.id.removeprefix("n_")
            if isinstance(value, ast.Call) and ast.unparse(value.func) == "np.full":
                out = [f"{self.js(name)} = NaN;"] if self.size(name) == 1 else \
                    [f"{self.js(name)}.fill(NaN);"]
                return out
            sym = self.tr.expr(value)
            return self.tr.pre + self.assign(name, sym, None)
        if isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name):
            name = target.value.id.removeprefix("n_")
            lists = [ast.literal_eval(e) for e in target.slice.right.args]
            sym = self.tr.expr(value)
            return self.tr.pre + self.assign(name, sym, lists)
        raise Unsupported("an assignment the explorer does not translate")

    def assign(self, name: str, sym, lists) -> list[str]:
        """Loops writing `sym` into node `name` (all of it, or the ``np.ix_`` block `lists`)."""
        shape = self.shapes[name]
        js = self.js(name)
        if self.size(name) == 1:
            return [f"{js} = +{sym.elem(shape, ['0'] * len(shape))};"]
        block = shape if lists is None else (1,) + tuple(len(x) for x in lists)
        idx = ["0"] + [self.tr.fresh("i") for _ in block[1:]]
        dest = idx
        if lists is not None:
            dest = ["0"]
            for i, lst in zip(idx[1:], lists):
                if lst == list(range(lst[0], lst[0] + len(lst))):
                    dest.append(i if lst[0] == 0 else f"({i} + {lst[0]})")
                else:
                    dest.append(f"{self._new_constant(np.asarray(lst, float))}[{i}]")
        lines = [f"for (let {i} = 0; {i} < {s}; {i}++)" for i, s in zip(idx[1:], block[1:])]
        lines.append(f"  {js}[{flat_index(dest, shape)}] = +{sym.elem(block, idx)};")
        return lines

    def declare(self, names) -> list[str]:
        out = []
        for n in sorted(names, key=self.key.get):
            size = self.size(n)
            out.append(f"let {self.js(n)} = " + ("NaN;" if size == 1
                                                  else f"new Float64Array({size});"))
        return out

    def constant_lines(self) -> list[str]:
        out = []
        for name, value in [*self.constants.items(), *self.extra.items()]:
            items = ", ".join(num(v) for v in value.ravel())
            out.append(f"const {name} = new Float64Array([{items}]);")
        return out

    def override(self, n: str, j: int) -> list[str]:
        js, size = self.js(n), self.size(n)
        if size == 1:
            return [f"if (P[{j}] !== null) {js} = P[{j}][0];"]
        return [f"if (P[{j}] !== null) {js}.set(P[{j}]);"]


def _plan(program: Program, outputs: list[str], overrides: set[str]):
    """The orders and sets :func:`~.codegen.generate` computes, for the same inputs."""
    nodes = program.nodes

    def run_deps(n):
        if n in overrides:
            return set()
        deps = set(nodes[n].run_deps)
        if nodes[n].stateful is not None:
            deps |= nodes[n].stateful.dyn_deps
        return deps

    def init_deps(n):
        return nodes[n].init_deps

    run_set = _closure(outputs, run_deps)
    run_order = _topo(run_set, lambda n: nodes[n].run_deps if n not in overrides else ())
    static: set[str] = set()
    for n in run_order:
        node, st = nodes[n], nodes[n].stateful
        if n in overrides or (st is not None and st.kind == "initial"):
            static.add(n)
        elif st is None and not node.uses_time and node.run_code == node.init_code \
                and node.run_deps == node.init_deps and node.run_deps <= static:
            static.add(n)
    states = [n for n in run_order if nodes[n].stateful is not None and n not in static]
    init_set = _closure(set(run_set) | set(CONTROL), init_deps)
    init_order = _topo(init_set, init_deps)
    ctl_set = _closure(CONTROL, init_deps)
    ctl_order = [n for n in init_order if n in ctl_set]
    dynamic = [n for n in run_order if n not in static]
    return ctl_order, init_order, dynamic, states


def _init_lines(w: _Writer, order, params: list[str]) -> list[str]:
    lines = []
    for n in order:
        node = w.program.nodes[n]
        if node.stateful is not None:
            lines += init_state(w, n, node.stateful)
            lines += value_state(w, n, node.stateful)
        else:
            for ln in node.init_code:
                lines += w.statement(ln)
        if n in params:
            lines += w.override(n, params.index(n))
    return lines


def _save_lines(w: _Writer, outputs: list[str]) -> list[str]:
    lines = ["times.push(t);"]
    for i, o in enumerate(outputs):
        if w.size(o) == 1:
            lines.append(f"out[{i}].push({w.js(o)});")
        else:
            lines.append(f"for (let j = 0; j < {w.size(o)}; j++) out[{i}].push({w.js(o)}[j]);")
    return lines


def _nodes_lines(w: _Writer, dynamic: list[str]) -> list[str]:
    """The step's node values, from the states and (stage) time."""
    lines = []
    for n in dynamic:
        node = w.program.nodes[n]
        if node.stateful is not None:
            lines += value_state(w, n, node.stateful)
        else:
            for ln in node.run_code:
                lines += w.statement(ln)
    return lines


def _rk_lines(w: _Writer, method: str, states: list[str], nodes: list[str]) -> list[str]:
    """One Runge-Kutta step after the first stage, as :func:`~.run.rk_step` takes it.

    `nodes` are the lines computing the node values; ``B<k>`` keep the states
    at the start of the step, ``D<stage>_<k>`` the rates of each stage.
    """
    program = w.program
    cont = [n for n in states if program.nodes[n].stateful.kind in CONTINUOUS]
    disc = [n for n in states if n not in cont]
    stages = 2 if method == "rk2" else 4
    lines = []
    for n in cont:
        k = w.key[n]
        lines.append(f"B{k}.set(S{k});")
    for i in range(1, stages + 1):
        if i > 1:
            h, at = ("dt / 2", "t_in + dt / 2") if i < 4 else ("dt", "t_in + dt")
            for n in cont:
                k = w.key[n]
                lines.append(f"for (let j = 0; j < S{k}.length; j++) "
                             f"S{k}[j] = B{k}[j] + {h} * D{i - 1}_{k}[j];")
            lines.append(f"t = {at};")
            lines += ["{", *["  " + ln for ln in nodes], "}"]  # its own block: reused names
        for n in cont:
            lines += rate_state(w, n, program.nodes[n].stateful, f"D{i}_{w.key[n]}")
        if i == 1:
            for n in disc:
                lines += capture_discrete(w, n, program.nodes[n].stateful)
    for n in cont:
        k = w.key[n]
        new = f"B{k}[j] + dt * D2_{k}[j]" if stages == 2 else \
            f"B{k}[j] + dt / 6 * (D1_{k}[j] + 2 * D2_{k}[j] + 2 * D3_{k}[j] + D4_{k}[j])"
        lines.append(f"for (let j = 0; j < S{k}.length; j++) S{k}[j] = {new};")
    for n in disc:
        lines += apply_discrete(w, n, program.nodes[n].stateful)
    lines.append("t = t_in;")
    return lines


def _rk_buffers(w: _Writer, method: str, states: list[str]) -> list[str]:
    stages = 2 if method == "rk2" else 4
    lines = []
    for n in states:
        k, kind = w.key[n], w.program.nodes[n].stateful.kind
        if kind in CONTINUOUS:
            lines.append(f"const B{k} = new Float64Array(S{k}.length);")
            lines += [f"const D{i}_{k} = new Float64Array(S{k}.length);"
                      for i in range(1, stages + 1)]
        else:
            lines.append(f"const W{k} = new Float64Array({w.size(n)});")
    return lines


def _owner(program: Program, sid: str) -> str:
    """The model variable whose equation holds the hidden node `sid`."""
    for n, node in sorted(program.nodes.items()):
        if n in program.real and sid in (node.run_deps | node.init_deps):
            return program.real[n]
    return program.real.get(sid, sid)


def _check(program: Program, outputs, params, method: str) -> None:
    nodes = program.nodes
    if method not in ("euler", "rk2", "rk4"):
        raise Unsupported(f"the integration method {method!r}")
    for name in [*outputs, *params]:
        if name not in nodes:
            raise Unsupported(f"{name!r} is not a simulated variable")
        if name in params and nodes[name].stateful is not None:
            raise Unsupported(f"setting the stateful variable {name!r}")
    missing = [c for c in CONTROL if c not in nodes]
    if missing:
        raise Unsupported(f"no {missing[0].upper()} in the model")


def _head(w: _Writer, ctl_order, init_order, params) -> list[str]:
    """Declarations, time settings and the initialisation pass."""
    key, nodes = w.key, w.program.nodes
    body = ["let t = NaN, dt = NaN, t_in = NaN;"] + w.declare(set(init_order) | w.dynamic)
    body += [f"let S{key[n]} = null, U{key[n]} = null, O{key[n]} = 0, Q{key[n]} = 0;"
             for n in init_order if nodes[n].stateful is not None]
    body += _init_lines(w, ctl_order, params)
    body += ["const t0 = R.uniform(" + w.js("initial_time") + ", 0);",
             "const tf = R.uniform(" + w.js("final_time") + ", 1);",
             "dt = R.uniform(" + w.js("time_step") + ", 2);",
             "const sp = R.uniform(" + w.js("saveper") + ", 3);",
             "if (!(dt > 0) || !(sp > 0) || !isFinite(t0) || !isFinite(tf) || tf < t0) R.fail(4);",
             "if ((tf - t0) / dt > 5e6) R.fail(5);",
             "t = t0;", "t_in = t0;"]
    return body + _init_lines(w, init_order, params)


def jsgen(program: Program, outputs: list[str], params: list[str],
          method: str = "euler") -> JsModel:
    """Write `program` as JavaScript returning `outputs`, with `params` settable.

    `method` is ``"euler"``, ``"rk2"`` or ``"rk4"``, integrated as
    :func:`~.run.run_compiled` does.

    Raises
    ------
    Unsupported
        A construct or method the JavaScript writer does not handle (the
        message names it).
    """
    _check(program, outputs, params, method)
    nodes = program.nodes
    w = _Writer(program, {n: i for i, n in enumerate(sorted(nodes))})
    ctl_order, init_order, dynamic, states = _plan(program, outputs, set(params))
    w.dynamic = set(dynamic)
    if method != "euler":
        for n in states:
            check_rk(_owner(program, n), nodes[n].stateful, method)
    body = _head(w, ctl_order, init_order, params)
    if method != "euler":
        body += _rk_buffers(w, method, states)
    body += ["const times = [], out = [" + ", ".join("[]" for _ in outputs) + "];",
             f"const prec = dt * {num(RPREC)};",
             "while (true) {"]
    values = _nodes_lines(w, dynamic)
    step = ["t_in = t;", *values, "const delay = t - t0;",
            "if (R.pymod(delay, sp) < prec || R.pymod(-delay, sp) < prec) {"]
    step += ["  " + ln for ln in _save_lines(w, outputs)] + ["}"]
    step.append("if (!(t + dt * " + num(RPREC) + " < tf)) break;")
    if method == "euler":
        for n in states:
            step += update_state(w, n, nodes[n].stateful)
    else:
        step += _rk_lines(w, method, states, values)
    step.append("t = t + dt;")
    body += ["  " + ln for ln in step] + ["}", "return {times: times, out: out};"]
    source = "\n".join(["(function (R) {", *w.constant_lines(),
                        "return function (P) {", *["  " + ln for ln in body], "};", "})"])
    return JsModel(source + "\n", tuple(outputs), tuple(params),
                   {n: w.size(n) for n in [*outputs, *params]})
