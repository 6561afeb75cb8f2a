"""Build a :class:`Program` from PySD's abstract model.

A program is a set of nodes (model variables plus hidden nodes for stateful
functions and their arguments), each with the Python statements that compute
it in the initialisation pass and in the run pass. :mod:`.codegen` orders the
nodes and writes the two functions that simulate them.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
from pysd.translators.structures import abstract_expressions as ae

from sdkit.engine.elements import add_element, add_lookup, construct_name, fill
from sdkit.engine.expressions import Component, Unsupported, Val, align, compile_expr
from sdkit.engine.nodes import Node, Stateful

__all__ = ["Node", "Stateful", "Program", "build_program"]


class Program:
    """Nodes, subscripts, lookup tables and constants of one model."""

    def __init__(self, section):
        from pysd.builders.python.python_model_builder import (  # heavy: scipy, black
            SectionBuilder,
        )

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sb = SectionBuilder(section)
            for el in sb.elements:
                sb.namespace.add_to_namespace(el.name)
                el.identifier = sb.namespace.namespace[el.name]
                sb.subscripts.elements[el.identifier] = el.subscripts
        self.sb = sb
        self.subs = sb.subscripts
        self.clean = sb.namespace.cleanspace
        self.real = {v: k for k, v in sb.namespace.namespace.items()}
        self.dims = {el.identifier: list(el.subscripts) for el in sb.elements}
        self.elcoords = {el.identifier: dict(el.subs_dict) for el in sb.elements}
        self.nodes: dict[str, Node] = {}
        self.constants: dict[str, np.ndarray] = {}
        self.lookups: dict[str, tuple[str, np.ndarray, np.ndarray, str]] = {}

    # -- helpers used by expressions -------------------------------------------
    def add_constant(self, value: np.ndarray) -> str:
        name = f"C{len(self.constants)}"
        self.constants[name] = value
        return name

    def add_table(self, x: np.ndarray, y: np.ndarray) -> str:
        name = f"T{len(self.constants)}"
        self.constants[name + "_x"] = x
        self.constants[name + "_y"] = y
        return name

    def is_lookup(self, ref: str) -> bool:
        return self.clean.get(ref) in self.lookups

    def lookup_call(self, node, comp: Component) -> Val:
        py = self.clean[node.function.reference]
        table, xs, ys, mode = self.lookups[py]
        if len(node.arguments) != 1:
            raise Unsupported(f"lookup {self.real.get(py, py)!r} called with "
                              f"{len(node.arguments)} arguments")
        arg = compile_expr(node.arguments[0], comp)
        if ys.ndim == 1:
            if node.function.subscripts:
                raise Unsupported("subscripted reference to a scalar lookup")
            return Val(f"rt.lookup({arg.code}, {table}_x, {table}_y, {mode!r})",
                       arg.labels, arg.coords, arg.num)
        base = Val(f"{table}_y", tuple(self.dims[py]),
                   tuple(tuple(self.elcoords[py][d]) for d in self.dims[py]))
        sel = self._select(base, py, node.function.subscripts, comp)
        if arg.num:
            return Val(f"rt.lookup({arg.code}, {table}_x, {sel.code}, {mode!r})",
                       sel.labels, sel.coords)
        union = list(sel.labels) + [lab for lab in arg.labels if lab not in sel.labels]
        coords = list(sel.coords) + [c for lab, c in zip(arg.labels, arg.coords)
                                     if lab not in sel.labels]
        tab = align(Val(sel.code, sel.labels, sel.coords), tuple(union))
        x = align(arg, tuple(union))
        return Val(f"rt.lookup({x}, {table}_x, {tab}, {mode!r})", tuple(union), tuple(coords))

    def reference(self, node, comp: Component) -> Val:
        ref = node.reference
        if ref == "time":
            comp.uses_time = True
            return Val("t", num=True)
        if ref not in self.clean:
            if ref in self.subs.subscript2num:
                return self._subscript_number(ref)
            raise Unsupported(f"reference to {ref!r}")
        py = self.clean[ref]
        if py in self.lookups:
            raise Unsupported(f"lookup {self.real.get(py, py)!r} used as a variable")
        comp.deps.add(py)
        dims = self.dims.get(py, [])
        base = Val(f"n_{py}", tuple(dims), tuple(tuple(self.elcoords[py][d]) for d in dims))
        if node.subscripts is None:
            return base
        return self._select(base, py, node.subscripts, comp)

    def _subscript_number(self, ref: str) -> Val:
        expr, subs = self.subs.subscript2num[ref]
        if not subs:
            return Val(repr(float(expr)), num=True)
        (dim, elems), = subs.items()
        m = re.match(r"np\.arange\((\d+),", expr)
        if not m:
            raise Unsupported(f"subscript {ref!r} used as a number")
        name = self.add_constant(np.arange(len(elems), dtype=float)[None] + int(m.group(1)))
        return Val(name, (dim,), (tuple(elems),))

    def _select(self, base: Val, py: str, subscripts, comp: Component) -> Val:
        """Index a variable (or table) by a reference's subscripts, PySD style."""
        ref_subs = list(subscripts.subscripts)
        dims = self.dims[py]
        if len(ref_subs) != len(dims):
            raise Unsupported(f"{py!r} referenced with {len(ref_subs)} subscripts")
        code = base.code
        labels, coords = [], []
        axis = 1  # after the member axis (or a table's x axis)
        for dim, sub in zip(dims, ref_subs):
            full = self.elcoords[py][dim]
            bare = sub[:-1] if sub.endswith("!") else sub
            if bare in self.subs.subscripts:
                elems = list(self.subs.subscripts[bare])
                label = sub
                if not sub.endswith("!") and sub not in comp.def_subs:
                    for mapped in self.subs.mapping.get(sub, []):
                        if isinstance(mapped, str) and mapped in comp.def_subs \
                                and mapped not in labels and mapped not in ref_subs:
                            label = mapped
                            break
                if any(e not in full for e in elems):
                    raise Unsupported(f"{sub!r} is not within {dim!r} of {py!r}")
                if label != sub and len(self.subs.subscripts[label]) != len(elems):
                    raise Unsupported(f"mapping {sub!r} -> {label!r}")
                idx = [full.index(e) for e in elems]
                if idx != list(range(len(full))):
                    code = f"{code}[{':, ' * axis}{idx}]"
                if label in labels:
                    raise Unsupported(f"repeated subscript {label!r} in a reference to {py!r}")
                labels.append(label)
                coords.append(tuple(self.subs.subscripts[label] if label != sub else elems))
                axis += 1
            elif sub in full:
                code = f"{code}[{':, ' * axis}{full.index(sub)}]"
            else:
                raise Unsupported(f"subscript {sub!r} of {py!r}")
        return Val(code, tuple(labels), tuple(coords))

    # -- stateful functions ----------------------------------------------------
    def _arg(self, expr, comp: Component, role: str, sid: str) -> str:
        """Compile a stateful's argument into its own hidden node; return its name."""
        name = f"{sid}_{role}"
        if name in self.nodes and comp.mode == "init":
            return name
        labels = tuple(comp.def_subs)
        coords = tuple(tuple(v) for v in comp.def_subs.values())
        codes, deps, uses_time = {}, {}, False
        for mode in ("run", "init"):
            sub = Component(self, comp.element, comp.def_subs, mode, counter=0)
            sub.counter = 1000 * (comp.counter + 1)
            val = compile_expr(expr, sub)
            code = fill(val, labels, tuple(len(c) for c in coords))
            codes[mode], deps[mode] = [f"n_{name} = {code}"], sub.deps
            uses_time |= sub.uses_time
        self.nodes[name] = Node(name, labels, coords, codes["run"], codes["init"],
                                deps["run"], deps["init"], uses_time)
        return name

    def stateful(self, node, comp: Component) -> Val:
        sid = f"s{comp.element}_{comp.next_id()}"
        labels = tuple(comp.def_subs)
        coords = tuple(tuple(v) for v in comp.def_subs.values())
        if comp.mode == "init" and sid in self.nodes:
            comp.deps.add(sid)
            return Val(f"n_{sid}", labels, coords)
        kind = type(node)
        a = {}
        if kind is ae.IntegStructure:
            a = {"flow": node.flow, "init": node.initial}
            st = Stateful("integ", {}, non_negative=bool(node.non_negative))
        elif kind in (ae.SmoothStructure, ae.SmoothNStructure):
            a = {"input": node.input, "time": node.smooth_time, "init": node.initial}
            st = Stateful("smooth", {}, order=self._order(node.order, a))
        elif kind in (ae.DelayStructure, ae.DelayNStructure):
            a = {"input": node.input, "time": node.delay_time, "init": node.initial}
            st = Stateful("delay" if kind is ae.DelayStructure else "delayn", {},
                          order=self._order(node.order, a))
        elif kind is ae.DelayFixedStructure:
            a = {"input": node.input, "time": node.delay_time, "init": node.initial}
            st = Stateful("delayfixed", {})
        elif kind is ae.TrendStructure:
            a = {"input": node.input, "time": node.average_time, "init": node.initial_trend}
            st = Stateful("trend", {})
        elif kind is ae.ForecastStructure:
            a = {"input": node.input, "time": node.average_time, "horizon": node.horizon,
                 "init": node.initial_trend}
            st = Stateful("forecast", {})
        elif kind is ae.InitialStructure:
            a = {"init": node.initial}
            st = Stateful("initial", {})
        elif kind is ae.SampleIfTrueStructure:
            a = {"cond": node.condition, "input": node.input, "init": node.initial}
            st = Stateful("sample", {})
        else:
            raise Unsupported(construct_name(node))
        for role, expr in a.items():
            st.args[role] = self._arg(expr, comp, role, sid)
        value = _VALUE[st.kind].format(s=f"S[k_{sid}]", **{k: f"n_{v}" for k, v in st.args.items()})
        value_roles = _VALUE_DEPS[st.kind]
        run_deps = {st.args[r] for r in value_roles}
        init_deps = {st.args[r] for r in _INIT_DEPS[st.kind] if r in st.args}
        st.dyn_deps = {v for r, v in st.args.items() if r not in ("init", "order")}
        self.nodes[sid] = Node(sid, labels, coords, [f"n_{sid} = {value}"], [], run_deps,
                               init_deps, stateful=st)
        comp.deps.add(sid)
        return Val(f"n_{sid}", labels, coords)

    def _order(self, order, args: dict) -> str:
        """A number's code, or (for an expression) the code of its hidden node."""
        if isinstance(order, int | float | np.integer | np.floating):
            return repr(float(order))
        args["order"] = order
        return "_order(n_{order})"


_VALUE = {
    "integ": "{s}", "smooth": "{s}[-1]", "delay": "{s}[-1] / {time}",
    "delayn": "{s}[0][-1] / {s}[1][0]", "delayfixed": "np.array({s}[0][{s}[1]])",
    "trend": "rt.zidz({input} - {s}, {time} * np.abs({s}))",
    "forecast": "{input} * (1 + rt.zidz({input} - {s}, {time} * {s}) * {horizon})",
    "initial": "{s}", "sample": "rt.if_then_else({cond}, {input}, {s})",
}
_INIT_DEPS = {
    "integ": ("init",), "smooth": ("init", "order"), "delay": ("init", "time", "order"),
    "delayn": ("init", "time", "order"), "delayfixed": ("init", "time"),
    "trend": ("input", "time", "init"), "forecast": ("input", "time", "horizon", "init"),
    "initial": ("init",), "sample": ("init", "cond", "input"),
}
_VALUE_DEPS = {
    "integ": (), "smooth": (), "delay": ("time",), "delayn": (), "delayfixed": (),
    "trend": ("input", "time"), "forecast": ("input", "time", "horizon"), "initial": (),
    "sample": ("cond", "input"),
}


def build_program(abstract) -> Program:
    """Compile every element of the model's main section.

    Raises
    ------
    Unsupported
        On the first construct the engine cannot compile faithfully.
    """
    if len(abstract.sections) != 1:
        raise Unsupported("macros")
    program = Program(abstract.sections[0])
    elements = program.sb.elements
    for el in elements:  # lookups first: calls to them compile differently
        types = {type(c.ast) for c in el.components}
        if ae.LookupsStructure in types:
            if types != {ae.LookupsStructure}:
                raise Unsupported(f"lookup {el.name!r} mixed with equations")
            add_lookup(program, el)
    for el in elements:
        if el.identifier in program.lookups:
            continue
        add_element(program, el)
    return program


