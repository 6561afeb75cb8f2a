"""The dependency graph of a model, read from PySD's abstract model.

Nodes are variables (one per subscript family, not per element); a link
``a -> b`` means ``b``'s equation uses ``a``. Each link has a polarity
derived from the expression:

* ``+`` where ``a`` enters by addition or as a factor of a product (factors
  are taken as positive, as in a causal-loop diagram),
* ``-`` where it is subtracted, negated or in a denominator,
* ``?`` where the sign depends on values (comparisons, ``IF THEN ELSE``
  conditions, lookups, trigonometric functions, exponents, ...).

A stock's inflows link to it with ``+`` and its outflows with ``-``; such
links (and those into delays and smooths) are *delayed*: they do not make an
algebraic loop. References made only to compute initial values are kept
apart (``kind == "init"``) and are not part of feedback loops.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field, fields, is_dataclass

from pysd.translators.structures import abstract_expressions as ae

from sdkit.model.load import load_model
from sdkit.model.names import canonical

__all__ = ["Link", "ModelGraph", "model_graph", "name_key", "signed_references"]

CONTROL = ("initial time", "final time", "time step", "saveper")

# functions that rise with their argument(s): argument keeps its sign
_INCREASING = {"min", "max", "sum", "vmin", "vmax", "integer", "int", "round", "quantum",
               "exp", "ln", "log", "sqrt", "arctan", "arcsin", "sinh", "tanh", "active_initial"}
# functions whose argument positions have fixed signs (others are ambiguous)
_POSITIONAL = {
    "if_then_else": (0, 1, 1),
    "xidz": (1, -1, 1),
    "zidz": (1, -1),
    "step": (1, 0),
    "power": (1, 0),
    "pulse": (0, 0),
    "modulo": (0, 0),
}


def name_key(name: str) -> str:
    """Compare model names as :func:`sdkit.model.names.canonical` does."""
    return canonical(name)


@dataclass(frozen=True)
class Link:
    """One causal link ``source -> target``.

    Attributes
    ----------
    source, target : str
        Variable names as the model writes them.
    polarity : str
        ``"+"``, ``"-"`` or ``"?"``.
    delayed : bool
        True for flow -> stock links and inputs of delays/smooths.
    kind : str
        ``"flow"`` (into a stock), ``"info"`` or ``"init"`` (initial value only).
    """

    source: str
    target: str
    polarity: str
    delayed: bool = False
    kind: str = "info"


@dataclass(frozen=True)
class ModelGraph:
    """Variables and causal links of a model.

    Attributes
    ----------
    variables : tuple of str
        Every variable (control variables excluded), in model order.
    stocks : frozenset of str
        The variables defined with INTEG.
    links : tuple of Link
        Causal links, one per (source, target, kind).
    undefined : tuple of (str, str)
        ``(variable, reference)`` pairs where an equation uses a name the
        model does not define.
    """

    variables: tuple[str, ...]
    stocks: frozenset[str]
    links: tuple[Link, ...]
    undefined: tuple[tuple[str, str], ...] = ()
    lookups: frozenset[str] = field(default_factory=frozenset)

    def successors(self, name: str, *, feedback_only: bool = True) -> list[Link]:
        """Links leaving `name` (by default only those that can carry feedback)."""
        return [lk for lk in self.links if lk.source == name
                and (not feedback_only or lk.kind != "init")]


def signed_references(ast, sign: int = 1, *, lookups: frozenset[str] = frozenset()
                      ) -> Iterator[tuple[str, int, bool, str]]:
    """Yield ``(reference, sign, delayed, kind)`` for every name `ast` uses.

    `sign` is +1, -1 or 0 (ambiguous); `reference` is PySD's reference name.
    Names in `lookups` (keys from :func:`name_key`) called as functions count
    as references with ambiguous sign on their argument.
    """
    yield from _SignedWalker(lookups).walk(ast, sign)


_DELAYS = (ae.SmoothStructure, ae.SmoothNStructure, ae.DelayStructure, ae.DelayNStructure,
           ae.DelayFixedStructure)


class _SignedWalker:
    """The walk behind :func:`signed_references`: one method per kind of node."""

    def __init__(self, lookups: frozenset[str]):
        self.lookups = lookups

    def walk(self, node, s, delayed=False, kind="info"):
        if node is None or isinstance(node, str | int | float | bool):
            return
        if isinstance(node, ae.ReferenceStructure):
            yield node.reference, s, delayed, kind
        elif isinstance(node, ae.SubscriptsReferenceStructure):
            return
        elif isinstance(node, ae.ArithmeticStructure):
            yield from self.arithmetic(node, s, delayed, kind)
        elif isinstance(node, ae.LogicStructure):
            for arg in node.arguments:
                yield from self.walk(arg, 0, delayed, kind)
        elif isinstance(node, ae.CallStructure):
            yield from self.call(node, s, delayed, kind)
        else:
            yield from self.stateful(node, s, delayed, kind)

    def stateful(self, node, s, delayed, kind):
        if isinstance(node, ae.IntegStructure):
            yield from self.walk(node.flow, s, True, "flow")
            yield from self.walk(node.initial, s, delayed, "init")
        elif isinstance(node, ae.InitialStructure):
            yield from self.walk(node.initial, s, delayed, "init")
        elif isinstance(node, _DELAYS):
            yield from self.walk(node.input, s, True, kind)
            for name in ("delay_time", "smooth_time", "order"):
                if hasattr(node, name):
                    yield from self.walk(getattr(node, name), 0, True, kind)
            yield from self.walk(node.initial, s, delayed, "init")
        elif isinstance(node, ae.SampleIfTrueStructure):
            yield from self.walk(node.condition, 0, delayed, kind)
            yield from self.walk(node.input, s, True, kind)
            yield from self.walk(node.initial, s, delayed, "init")
        elif isinstance(node, ae.TrendStructure | ae.ForecastStructure):
            for f in fields(node):
                yield from self.walk(getattr(node, f.name), 0, True,
                                     "init" if f.name == "initial_trend" else kind)
        elif isinstance(node, list | tuple):
            for item in node:
                yield from self.walk(item, 0, delayed, kind)
        elif is_dataclass(node):
            for f in fields(node):
                yield from self.walk(getattr(node, f.name), 0, delayed, kind)

    def arithmetic(self, node, s, delayed, kind):
        ops, args = list(node.operators), list(node.arguments)
        if len(args) == 1:
            op = ops[0] if ops else "positive"
            yield from self.walk(args[0], -s if op == "negative" else s, delayed, kind)
            return
        yield from self.walk(args[0], s, delayed, kind)
        exponent = False
        for op, arg in zip(ops, args[1:]):
            if op in {"+", "*"}:
                yield from self.walk(arg, 0 if exponent else s, delayed, kind)
            elif op in {"-", "/"}:
                yield from self.walk(arg, 0 if exponent else -s, delayed, kind)
            else:  # '^' and anything unknown
                exponent = True
                yield from self.walk(arg, 0, delayed, kind)

    def call(self, node, s, delayed, kind):
        fn = node.function.reference if isinstance(node.function, ae.ReferenceStructure) else ""
        if name_key(fn) in self.lookups:
            yield fn, s, delayed, kind  # the table is a (constant) input
            for arg in node.arguments:
                yield from self.walk(arg, 0, delayed, kind)
            return
        if fn in _INCREASING:
            for arg in node.arguments:
                yield from self.walk(arg, s, delayed, kind)
            return
        signs = _POSITIONAL.get(fn, ())
        for i, arg in enumerate(node.arguments):
            yield from self.walk(arg, s * signs[i] if i < len(signs) else 0, delayed, kind)


def main_section(abstract):
    for section in abstract.sections:
        if section.type == "main":
            return section
    return abstract.sections[0]


def model_graph(model) -> ModelGraph:
    """Build the dependency graph of a model.

    Parameters
    ----------
    model : sdkit.Model or path-like
        A loaded model, or a model file to load.

    Returns
    -------
    ModelGraph
    """


    if isinstance(model, str | os.PathLike):
        model = load_model(model)
    section = main_section(model.abstract)
    real = {name_key(el.name): el.name for el in section.elements}
    lookups = frozenset(
        name_key(el.name) for el in section.elements
        if el.components and all(isinstance(c.ast, ae.LookupsStructure | ae.GetLookupsStructure)
                                 for c in el.components))
    subscripts = set()
    for rng in getattr(section, "subscripts", None) or []:
        subscripts.add(name_key(rng.name))
        if not isinstance(rng.subscripts, str):  # a str names an equivalent range
            subscripts.update(name_key(e) for e in rng.subscripts if isinstance(e, str))
    variables, stocks = [], set()
    signs: dict[tuple[str, str, str], tuple[set[int], set[bool]]] = {}
    undefined = []
    for el in section.elements:
        if name_key(el.name) in CONTROL:
            continue
        variables.append(el.name)
        for comp in el.components:
            if isinstance(comp.ast, ae.IntegStructure):
                stocks.add(el.name)
            for ref, s, delayed, kind in signed_references(comp.ast, lookups=lookups):
                key = name_key(ref)
                if key == "time" or (key in subscripts and key not in real):
                    continue
                if key not in real:
                    if (el.name, ref) not in undefined:
                        undefined.append((el.name, ref))
                    continue
                source = real[key]
                if name_key(source) in CONTROL:
                    continue
                entry = signs.setdefault((source, el.name, kind), (set(), set()))
                entry[0].add(s)
                entry[1].add(delayed)
    links = []
    for (source, target, kind), (found, delayed) in signs.items():
        polarity = "?" if 0 in found or len(found) > 1 else ("+" if found == {1} else "-")
        links.append(Link(source, target, polarity, all(delayed), kind))
    return ModelGraph(tuple(variables), frozenset(stocks), tuple(links), tuple(undefined),
                      frozenset(real[k] for k in lookups))
