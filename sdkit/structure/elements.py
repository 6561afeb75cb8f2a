"""The element-level causal graph: one node per element of every variable.

A subscripted variable ``Knowledge stock[City]`` becomes the nodes
``Knowledge stock[Yichang]``, ``Knowledge stock[Jingzhou]``, ... (named as
the engine names its output columns); a scalar keeps its name. A link
``a -> b`` joins the elements: ``X[City]`` in the equation of ``Y[City]``
links ``X[e] -> Y[e]`` for each element ``e``; an explicit element
(``X[Enshi]``) links only that element; ``SUM(X[City!])`` and a dimension
the equation does not bind link every element, so cross-element feedback
(spillovers between cities) is part of the graph.

Polarities are read from the expression as in
:mod:`sdkit.structure.graph`. Initial-value references are left out: they
carry no feedback.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from pysd.translators.structures import abstract_expressions as ae

from sdkit.model.load import Model, load_model
from sdkit.structure.graph import CONTROL, Link, _SignedWalker, main_section, name_key

__all__ = ["ElementEquation", "ElementGraph", "Resolver", "element_graph", "first_order",
           "node_name"]


def first_order(ast) -> bool:
    """True for ``SMOOTH``/``SMOOTHI``/``DELAY1``/``DELAY1I``: one stock, the element itself.

    ``S = SMOOTH(x, T)`` is the stock ``dS/dt = (x - S) / T``; so is the
    output of ``DELAY1(x, T)`` for a constant ``T``.
    """
    return (isinstance(ast, ae.SmoothStructure | ae.DelayStructure)
            and isinstance(ast.order, int | float) and ast.order == 1)


def node_name(variable: str, elements: tuple[str, ...]) -> str:
    """``"X[a,b]"`` for an element of `variable`, ``"X"`` for a scalar."""
    return f"{variable}[{','.join(elements)}]" if elements else variable


@dataclass(frozen=True)
class ElementEquation:
    """The equation of one element.

    Attributes
    ----------
    node : str
        The element (``"GDP[Enshi]"``).
    variable : str
        Its variable (``"GDP"``).
    binding : tuple of (str, str)
        ``(dimension, element)`` pairs the equation's subscripts take.
    ast : object
        PySD's abstract expression (an ``IntegStructure`` for a stock).
    """

    node: str
    variable: str
    binding: tuple[tuple[str, str], ...]
    ast: object

    @property
    def is_stock(self) -> bool:
        """True for an ``INTEG`` element and a first-order ``SMOOTH``/``DELAY1`` (one stock)."""
        return isinstance(self.ast, ae.IntegStructure) or first_order(self.ast)


@dataclass(frozen=True)
class ElementGraph:
    """Elements, their equations and the causal links between them.

    Attributes
    ----------
    nodes : tuple of str
        Every element of every variable, in model order.
    links : tuple of Link
        Feedback-carrying links between elements (no initial-value links).
    equations : mapping
        ``node -> ElementEquation``.
    family : mapping
        ``node -> variable name``.
    """

    nodes: tuple[str, ...]
    links: tuple[Link, ...]
    equations: Mapping[str, ElementEquation]
    family: Mapping[str, str]

    @property
    def stocks(self) -> frozenset[str]:
        """The stock elements."""
        return frozenset(n for n, eq in self.equations.items() if eq.is_stock)

    def successors(self) -> dict[str, list[str]]:
        """``node -> [target, ...]`` over the links."""
        out: dict[str, list[str]] = {}
        for lk in self.links:
            out.setdefault(lk.source, []).append(lk.target)
        return out


class Resolver:
    """Maps a reference written in an equation to the elements it reads.

    Parameters
    ----------
    real : mapping
        ``name_key -> variable name`` for every variable.
    dims : mapping
        ``variable name -> [dimension, ...]``.
    ranges : mapping
        ``dimension -> [element, ...]``.
    """

    def __init__(self, real: Mapping[str, str], dims: Mapping[str, list[str]],
                 ranges: Mapping[str, list[str]]):
        self.real = real
        self.dims = dims
        self.ranges = {name_key(k): list(v) for k, v in ranges.items()}
        self.range_names = {name_key(k): k for k in ranges}
        self.element_keys = {name_key(e): e for v in ranges.values() for e in v}

    def variable(self, reference: str) -> str | None:
        """The variable a reference names (None for time, subscripts, functions)."""
        return self.real.get(name_key(reference))

    def _choices(self, sub: str, dim: str | None, bound: Mapping[str, str]) -> list[str]:
        key = name_key(sub.rstrip("!"))
        if not sub.endswith("!") and key in bound:
            return [bound[key]]
        if key in self.ranges:
            members = self.ranges[key]
            if not sub.endswith("!"):
                for bkey, elem in bound.items():  # an equivalent or sub-range bound
                    if elem in members and set(self.ranges.get(bkey, ())) <= set(members):
                        return [elem]
            return list(members)
        if key in self.element_keys:
            return [self.element_keys[key]]
        return list(self.ranges.get(name_key(dim), [])) if dim else []

    def elements(self, variable: str, subscripts, binding) -> list[tuple[str, ...]]:
        """Element tuples of `variable` read by ``variable[subscripts]`` under `binding`."""
        dims = self.dims.get(variable, [])
        if not dims:
            return [()]
        bound = {name_key(d): e for d, e in binding}
        subs = list(subscripts) if subscripts else [None] * len(dims)
        choices = []
        for sub, dim in zip(subs, dims):
            if sub is None:
                sub = dim
            choices.append(self._choices(str(sub), dim, bound))
        return list(itertools.product(*choices))

    def targets(self, variable: str, lhs, excepts) -> Iterator[tuple[tuple[str, ...],
                                                                     tuple[tuple[str, str], ...]]]:
        """``(elements, binding)`` for each element one equation defines."""
        dims = self.dims.get(variable, [])
        if not dims or not lhs:
            yield (), ()
            return
        choices = []
        for sub, dim in zip(lhs, dims):
            key = name_key(sub)
            if key in self.ranges:
                choices.append([(self.range_names[key], e) for e in self.ranges[key]])
            else:
                choices.append([(dim, self.element_keys.get(key, sub))])
        skip = {tuple(self.element_keys.get(name_key(s), s) for s in ex)
                for ex in (excepts or []) if len(ex) == len(dims)}
        for combo in itertools.product(*choices):
            elements = tuple(e for _, e in combo)
            if elements not in skip:
                yield elements, tuple(combo)


class _RefWalker(_SignedWalker):
    """The signed walk, yielding reference nodes (with their subscripts)."""

    def walk(self, node, s, delayed=False, kind="info"):
        if isinstance(node, ae.ReferenceStructure):
            yield node, s, delayed, kind
            return
        yield from super().walk(node, s, delayed, kind)


def signed_element_references(ast, lookups: frozenset[str]):
    """``(ReferenceStructure or str, sign, delayed, kind)`` for every name `ast` uses."""
    yield from _RefWalker(lookups).walk(ast, 1)


def model_resolver(model: Model) -> Resolver:
    """The :class:`Resolver` of a loaded model."""
    section = main_section(model.abstract)
    real = {name_key(el.name): el.name for el in section.elements}
    dims = {el.name: model.dims_of(el.name) for el in section.elements}
    return Resolver(real, dims, model.subscripts)


def element_graph(model: Model | str | os.PathLike) -> ElementGraph:
    """Build the element-level graph of a model.

    Parameters
    ----------
    model : sdkit.Model or path-like

    Returns
    -------
    ElementGraph
    """
    if not isinstance(model, Model):
        model = load_model(model)
    section = main_section(model.abstract)
    resolver = model_resolver(model)
    lookups = frozenset(
        name_key(el.name) for el in section.elements
        if el.components and all(isinstance(c.ast, ae.LookupsStructure | ae.GetLookupsStructure)
                                 for c in el.components))
    nodes, equations, family = [], {}, {}
    signs: dict[tuple[str, str], set[int]] = {}
    for el in section.elements:
        if name_key(el.name) in CONTROL or name_key(el.name) in lookups:
            continue
        for comp in el.components:
            lhs, excepts = (comp.subscripts if comp.subscripts else ([], []))
            refs = list(signed_element_references(comp.ast, lookups))
            for elements, binding in resolver.targets(el.name, lhs, excepts):
                node = node_name(el.name, elements)
                if node not in equations:
                    nodes.append(node)
                equations[node] = ElementEquation(node, el.name, binding, comp.ast)
                family[node] = el.name
                _add_links(node, binding, refs, resolver, signs)
                if first_order(comp.ast):  # the smooth's own goal-seeking loop
                    signs.setdefault((node, node), set()).add(-1)
    links = []
    for (source, target), found in signs.items():
        if source not in equations:
            continue
        polarity = "?" if 0 in found or len(found) > 1 else ("+" if found == {1} else "-")
        links.append(Link(source, target, polarity,
                          equations[target].is_stock, "info"))
    return ElementGraph(tuple(nodes), tuple(links), equations, family)


def _add_links(node, binding, refs, resolver: Resolver, signs) -> None:
    for ref, s, _delayed, kind in refs:
        if kind == "init" or not isinstance(ref, ae.ReferenceStructure):
            continue
        variable = resolver.variable(ref.reference)
        if variable is None or name_key(variable) in CONTROL:
            continue
        subs = ref.subscripts.subscripts if ref.subscripts else None
        for elements in resolver.elements(variable, subs, binding):
            signs.setdefault((node_name(variable, elements), node), set()).add(s)
