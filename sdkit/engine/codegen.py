"""Order a :class:`~.program.Program`'s nodes and write its two functions.

``init(t, N, OV)`` runs the initialisation pass (stocks take their initial
values, ACTIVE INITIAL its initial argument) and returns the states and the
values that never change (the generated ``init_fixed(t, dt)`` computes the
part that reads no override, member count or state once per start time and
time step; :func:`bind` keeps it, read-only); ``step(t, dt, S, K, N, save, update)`` computes
every node still changing from the states at `t`, returns the requested
outputs when `save`, and the Euler-updated states when `update`.

With Euler, ``step_lean`` (same signature, no outputs) computes only the nodes
the state updates need; :mod:`.run` calls it between save times.

With a Runge-Kutta method (``"rk2"``, ``"rk4"``) a third function,
``rates(t, t_in, dt, S, K, N, save, update)``, computes the same nodes from
stage states at stage time `t` and returns the rates of change of the
continuous states (stocks, SMOOTH and SMOOTH N, DELAY1 and DELAY3, TREND,
FORECAST); :mod:`.run` combines them. As Vensim documents for its Runge-Kutta
methods, STEP, RAMP and PULSE read the time at the start of the step (`t_in`)
and DELAY FIXED neither changes within a step nor takes in more than the
value at its start. Constructs whose meaning under Runge-Kutta
is not documented (SAMPLE IF TRUE, DELAY N with a varying delay time,
non-negative stocks) are refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from types import SimpleNamespace

import numpy as np

from sdkit.engine import runtime as rt
from sdkit.engine.codehelpers import (
    _chain,
    _delay_order,
    _fixed_order,
    _full,
    _mat,
    _order,
    _override,
)
from sdkit.engine.expressions import Unsupported
from sdkit.engine.graph import closure as _closure
from sdkit.engine.graph import same_code as _same_code
from sdkit.engine.graph import topo as _topo
from sdkit.engine.program import Program

__all__ = ["Compiled", "Source", "bind", "generate"]

CONTROL = ("initial_time", "final_time", "time_step", "saveper")
_NODE_REF = re.compile(r"(?<![.\w])n_(\w+)\b")  # a node's value
_STATE_REF = re.compile(r"(?<![.\w])k_(\w+)\b")  # a node's key in the state dict
#: what differs from one call of ``init`` to the next: members, overrides, states
_PER_RUN = re.compile(r"(?<![.\w])(N|OV|S|K)(?![\w])")


#: the runtime as generated code sees it: IF THEN ELSE is numpy's where itself (the same
#: call, without a Python frame per use)
_RT = SimpleNamespace(**{k: v for k, v in vars(rt).items() if not k.startswith("_")})
_RT.if_then_else = np.where


@dataclass(frozen=True)
class Compiled:
    """A compiled model for a fixed set of outputs and overridden names."""

    control: object  # control(N, OV) -> dict of the four time settings (arrays)
    init: object
    step: object
    outputs: tuple[str, ...]
    shapes: dict  # output -> (labels, coords)
    source: str
    reads_initial_time: bool = False  # an equation (not a time setting) reads INITIAL TIME
    method: str = "euler"
    rates: object = None  # Runge-Kutta methods only: see the module docstring
    step_lean: object = None  # Euler only: ``step`` without the nodes no state update needs
    tree: object = field(default=None, compare=False, repr=False)  # `source`, checked, parsed


_INIT = {
    "integ": "S[{k}] = _mat({init}, N)",
    "smooth": "S[{k}] = np.stack([_mat({init}, N)] * int({order}))",
    "delay": "_o = _kept_order({order}, dt, _mat({time}, N), {k})\n"
             "S[{k}] = np.stack([_mat({init} * {time}, N)] * _o)",
    "delayn": "_o = _lowered_order({order}, dt, _mat({time}, N), {k})\n"
              "S[{k}] = (np.stack([_mat({init} * {time}, N)] * _o), "
              "np.stack([_mat({time}, N)] * _o))",
    "delayfixed": "_o = _fixed_order(_mat({time}, N), dt)\n"
                  "S[{k}] = [np.stack([_mat({init}, N)] * _o), 0]",
    "trend": "S[{k}] = _mat({input} / (1 + {init} * {time}), N)",
    "forecast": "S[{k}] = _mat({input} / (1 + {init}), N)",
    "initial": "S[{k}] = _mat({init}, N)",
    "sample": "S[{k}] = _mat({init}, N)",
}
_UPDATE = {
    "integ": "S2[{k}] = S[{k}] + {flow} * dt",
    "smooth": "_x = S[{k}]\n"
              "S2[{k}] = _x + (_chain({input}, _x) - _x) * _x.shape[0] / {time} * dt",
    "delay": "_x = S[{k}]\n_out = _x / {time}\n"
             "S2[{k}] = _x + (_chain({input}, _out) - _out) * _x.shape[0] * dt",
    "delayn": "_x, _tm = S[{k}]\n_tm = _chain({time}, _tm)\n_out = _x / _tm\n"
              "S2[{k}] = (_x + (_chain({input}, _out) - _out) * _x.shape[0] * dt, _tm)",
    "delayfixed": "_p = S[{k}]\n_p[0][_p[1]] = {input}\n_p[1] = (_p[1] + 1) % len(_p[0])\n"
                  "S2[{k}] = _p",
    "trend": "S2[{k}] = S[{k}] + ({input} - S[{k}]) / {time} * dt",
    "forecast": "S2[{k}] = S[{k}] + ({input} - S[{k}]) / {time} * dt",
    "initial": "S2[{k}] = S[{k}]",
    "sample": "S2[{k}] = S[{k}] * 0 + rt.if_then_else({cond}, {input}, S[{k}])",
}


#: rates of change of the continuous states (Runge-Kutta methods)
_RATE = {
    "integ": "D[{k}] = {flow}",
    "smooth": "_x = S[{k}]\n"
              "D[{k}] = (_chain({input}, _x) - _x) * _x.shape[0] / {time}",
    "delay": "_x = S[{k}]\n_out = _x / {time}\n"
             "D[{k}] = (_chain({input}, _out) - _out) * _x.shape[0]",
    "trend": "D[{k}] = ({input} - S[{k}]) / {time}",
    "forecast": "D[{k}] = ({input} - S[{k}]) / {time}",
}
#: discrete states updated once per step from the values at its start (no in-place change:
#: the later stages still read the state at the start of the step)
_DISCRETE = {
    "delayfixed": "_p = S[{k}]\n_b = _p[0].copy()\n_b[_p[1]] = {input}\n"
                  "S2[{k}] = [_b, (_p[1] + 1) % len(_b)]",
}
_REFUSED = {
    "sample": "SAMPLE IF TRUE (its value jumps within a step)",
    "delayn": "DELAY N (its delay times shift once per TIME STEP)",
}
_TIME_INPUT = re.compile(r"\brt\.(step|ramp|pulse|pulse_train|pulse_train_magnitude)\(t,")


def _user(program: Program, sid: str) -> str:
    """The model variable whose equation holds the hidden node `sid` (through nested calls)."""
    seen = set()
    while sid not in program.real and sid not in seen:
        seen.add(sid)
        sid = next((n for n, node in sorted(program.nodes.items())
                    if sid in (node.run_deps | node.init_deps
                               | (node.stateful.dyn_deps if node.stateful else set()))), sid)
    return program.real.get(sid, sid)


def _rk_source(program: Program, method: str, states: list[str], body: list[str],
               outputs: list[str]) -> list[str]:
    """The ``rates`` function: `body` (the step's statements), then the rates of change."""
    nodes = program.nodes
    src = ["", "def rates(t, t_in, dt, S, K, N, save, update):"]
    src += [_TIME_INPUT.sub(r"rt.\1(t_in,", ln) for ln in body]
    src.append("    out = (" + "".join(f"n_{o}, " for o in outputs) + ") if save else None")
    src.append("    D = {}")
    discrete = []
    for n in states:
        st = nodes[n].stateful
        why = _REFUSED.get(st.kind)
        if st.non_negative:
            why = "a non-negative stock (its clamping is defined for Euler steps)"
        if why is not None:
            raise Unsupported(f"{method.upper()} on a model with discrete functions the method "
                              f"cannot honour: {_user(program, n)!r} uses {why}")
        args = {k: f"n_{v}" for k, v in st.args.items()}
        if st.kind in _DISCRETE:
            discrete.append(_DISCRETE[st.kind].format(k=f"k_{n}", **args))
            continue
        src += ["    " + ln for ln in _RATE[st.kind].format(k=f"k_{n}", **args).split("\n")]
    src += ["    if not update:", "        return out, D, None", "    S2 = {}"]
    for block in discrete:
        src += ["    " + ln for ln in block.split("\n")]
    src.append("    return out, D, S2")
    return src


class _Plan:
    """Which nodes run where, in which order, for one set of outputs and overrides.

    The source names nodes by number only (``key``): no text of the model
    reaches it.
    """

    def __init__(self, program: Program, outputs: list[str], overrides: set[str]):
        nodes = self.nodes = program.nodes
        self.constants = program.constants
        self.outputs, self.overrides = outputs, overrides
        for name in [*outputs, *overrides]:
            if name not in nodes:
                raise Unsupported(f"{name!r} is not a simulated variable")
        for name in overrides:
            if nodes[name].stateful is not None:
                raise Unsupported(f"setting the stateful variable {name!r}")
        self.key = {n: i for i, n in enumerate(sorted(nodes))}
        missing = [c for c in CONTROL if c not in nodes]
        if missing:
            raise Unsupported(f"no {missing[0].upper()} in the model")
        self.run_set = _closure(outputs, self.run_deps)
        self.run_order = _topo(self.run_set,
                               lambda n: nodes[n].run_deps if n not in overrides else ())
        self.static = self._static()
        self.states = [n for n in self.run_order
                       if nodes[n].stateful is not None and n not in self.static]
        self.init_set = _closure(set(self.run_set) | set(CONTROL), self.init_deps)
        self.init_order = _topo(self.init_set, self.init_deps)
        self.ctl_set = _closure(CONTROL, self.init_deps)
        for n in self.ctl_set:
            if nodes[n].uses_time or nodes[n].stateful is not None:
                raise Unsupported("time settings that change during the run")

    def run_deps(self, n):
        node = self.nodes[n]
        if n in self.overrides:
            return set()
        deps = set(node.run_deps)
        if node.stateful is not None:
            deps |= node.stateful.dyn_deps
        return deps

    def init_deps(self, n):
        return self.nodes[n].init_deps

    def _static(self) -> set[str]:
        """Nodes whose value never changes during the run (computed once, in ``init``)."""
        static: set[str] = set()
        for n in self.run_order:
            node = self.nodes[n]
            st = node.stateful
            if n in self.overrides or (st is not None and st.kind == "initial"):
                static.add(n)
            elif st is None and not node.uses_time and node.run_deps == node.init_deps \
                    and node.run_deps <= static \
                    and _same_code(node.run_code, node.init_code, self.constants):
                static.add(n)
        return static

    def init_lines(self, order) -> list[str]:
        lines = []
        for n in order:
            node = self.nodes[n]
            st = node.stateful
            if st is not None:
                args = {k: f"n_{v}" for k, v in st.args.items()}
                order_code = (st.order or "").format(order=st.args.get("order"))
                init = _INIT[st.kind].format(k=self.key[n], **{**args, "order": order_code})
                lines += init.split("\n")
                lines += node.run_code
            else:
                lines += node.init_code
            if n in self.overrides:
                lines.append(f"n_{n} = _override(n_{n}, OV[{self.key[n]}], N)")
        return lines

    def control_and_init(self) -> list[str]:
        key = self.key
        ctl_order = [n for n in self.init_order if n in self.ctl_set]
        src = ["def control(N, OV):", "    t = None; dt = None"]
        src += ["    " + ln for ln in self.init_lines(ctl_order)]
        src.append("    return {" + ", ".join(f"{c!r}: n_{c}" for c in CONTROL) + "}")
        fixed = self.fixed()
        rest = self.init_lines([n for n in self.init_order if n not in fixed])
        read = sorted(({m for ln in rest for m in _NODE_REF.findall(ln)} | self.static)
                      & set(fixed))
        src += ["", "def init_fixed(t, dt):"]
        src += ["    " + ln for ln in self.init_lines(fixed)]
        src += ["    K = {" + ", ".join(f"{key[n]}: n_{n}" for n in read) + "}", "    return K"]
        src += ["", "def init(t, dt, N, OV, K):", "    S = {}"]
        src += [f"    n_{n} = K[{key[n]}]" for n in read]
        src += ["    " + ln for ln in rest]
        src.append("    K = {" + ", ".join(f"{key[n]}: n_{n}" for n in sorted(self.static))
                   + "}")
        src.append("    return S, K")
        return src

    def fixed(self) -> list[str]:
        """The nodes of the initialisation pass that read no override, member count or
        state, in order: ``init_fixed(t, dt)`` computes them once per start time and
        time step (:func:`bind` keeps them), ``init`` reads them from its ``K``."""
        fixed: dict[str, None] = {}
        for n in self.init_order:
            node = self.nodes[n]
            if n not in self.overrides and node.stateful is None \
                    and node.init_deps <= fixed.keys() \
                    and not any(_PER_RUN.search(ln) for ln in node.init_code):
                fixed[n] = None
        return list(fixed)

    def step_body(self, only: set[str] | None = None) -> list[str]:
        """The lines of ``step`` that compute every node still changing (or those in `only`,
        without the outputs)."""
        dynamic = [n for n in self.run_order
                   if n not in self.static and (only is None or n in only)]
        used_static = set()
        for n in dynamic:
            used_static |= self.run_deps(n) & self.static
        if only is None:
            used_static |= set(self.outputs) & self.static
        body = [f"    n_{n} = K[{self.key[n]}]" for n in sorted(used_static)]
        for n in dynamic:
            body += ["    " + ln for ln in self.nodes[n].run_code]
        return body

    def lean(self) -> set[str]:
        """The nodes the state updates need: all that a step between save times computes."""
        return _closure(self.states, self.run_deps)  # a state's deps: its update's inputs

    def step(self, body: list[str], name: str = "step") -> list[str]:
        key = self.key
        src = ["", f"def {name}(t, dt, S, K, N, save, update):", *body]
        src.append("    out = (" + "".join(f"n_{o}, " for o in self.outputs)
                   + ") if save else None" if name == "step" else "    out = None")
        src += ["    if not update:", "        return out, S", "    S2 = {}"]
        for n in self.states:
            st = self.nodes[n].stateful
            args = {k: f"n_{v}" for k, v in st.args.items()}
            for ln in _UPDATE[st.kind].format(k=key[n], **args).split("\n"):
                src.append("    " + ln)
            if st.non_negative:
                src.append(f"    S2[{key[n]}] = np.maximum(S2[{key[n]}], 0)")
        src.append("    return out, S2")
        return src

    def reads_initial_time(self) -> bool:
        return "initial_time" in self.outputs or any(
            "initial_time" in (self.nodes[n].run_deps | self.nodes[n].init_deps)
            for n in (self.init_set | self.run_set) - set(CONTROL))


def generate(program: Program, outputs: list[str], overrides: set[str],
             method: str = "euler") -> Source:
    """Write the init and step functions (and ``rates``) for `outputs` (:func:`bind` runs them)."""
    plan = _Plan(program, outputs, overrides)
    key = plan.key
    body = plan.step_body()
    src = plan.control_and_init() + plan.step(body)
    if method != "euler":
        src += _rk_source(program, method, plan.states, body, outputs)
    else:  # steps between save times compute only what the state updates need
        src += plan.step(plan.step_body(plan.lean()), "step_lean")
    source = _NODE_REF.sub(lambda m: f"v{key[m.group(1)]}", "\n".join(src) + "\n")
    source = _STATE_REF.sub(lambda m: str(key[m.group(1)]), source)
    delays = {key[n]: _user(program, n) for n, node in program.nodes.items()
              if node.stateful and node.stateful.kind in ("delay", "delayn")}
    shapes = {o: (program.nodes[o].labels, program.nodes[o].coords) for o in outputs}
    keys = {n: key[n] for n in sorted(set(overrides) | set(CONTROL))}
    return Source(source, dict(program.constants), tuple(outputs), shapes, keys,
                  plan.reads_initial_time(), method, delays)


@dataclass(frozen=True)
class Source:
    """Generated code and the data :func:`bind` needs (model text only as data, never code)."""

    text: str
    constants: dict
    outputs: tuple[str, ...]
    shapes: dict
    keys: dict
    reads_initial_time: bool
    method: str
    delays: dict
    tree: object = field(default=None, compare=False, repr=False)  # `text` checked and parsed


def bind(src: Source) -> Compiled:
    """Compile generated code into the functions of a :class:`Compiled`."""
    namespace = {"np": np, "rt": _RT, "_full": _full, "_mat": _mat, "_override": _override,
                 "_kept_order": lambda o, dt, time, k: rt.delay_order(o, dt, time, src.delays[k]),
                 "_lowered_order": lambda o, dt, time, k: rt.lowered_order(
                     _delay_order(o, dt, time), o, dt, time, src.delays[k]),
                 "_fixed_order": _fixed_order, "_chain": _chain, "_order": _order, **src.constants}
    code = src.text if src.tree is None else src.tree
    exec(compile(code, "<sdkit.engine>", "exec"), namespace)  # noqa: S102 - our own code
    control, init, get = namespace["control"], namespace["init"], namespace.get
    init_fixed, kept = namespace["init_fixed"], {}

    def control_by_name(N, OV):
        return control(N, {src.keys[k]: v for k, v in OV.items()})

    def init_by_name(t, dt, N, OV):
        fixed = kept.get((float(t), float(dt)))
        if fixed is None:  # once per start time and time step; read-only from then on
            fixed = init_fixed(t, dt)
            for v in fixed.values():
                if isinstance(v, np.ndarray):
                    v.flags.writeable = False
            if len(kept) >= 16:
                kept.clear()
            kept[float(t), float(dt)] = fixed
        return init(t, dt, N, {src.keys[k]: v for k, v in OV.items()}, fixed)
    return Compiled(control_by_name, init_by_name, get("step"), src.outputs, src.shapes, src.text,
                    src.reads_initial_time, src.method, get("rates"), get("step_lean"), src.tree)
