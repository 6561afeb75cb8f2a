"""Structural differences between two versions of a model.

:func:`diff_models` compares PySD's abstract models, not the text: names are
normalised (case, spaces, underscores), expressions compared as trees (so
``a+b`` equals ``a + b``, and a ``.mdl`` can be compared with its
``.xmile``), units compared as unit algebra (``1/Year`` equals ``Year^-1``),
and feedback loops matched by their variables.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields, is_dataclass

import numpy as np
import pandas as pd
from pysd.translators.structures import abstract_expressions as ae

from sdkit.model.load import load_model
from sdkit.structure.graph import main_section, name_key
from sdkit.structure.loops import find_loops
from sdkit.structure.unitexpr import UnitSpace, UnitsSyntaxError

__all__ = ["Change", "ModelDiff", "diff_models", "render_expression"]


@dataclass(frozen=True)
class Change:
    """One difference.

    Attributes
    ----------
    kind : str
        ``added``, ``removed``, ``equation``, ``units``, ``loop-gained`` or
        ``loop-lost``.
    name : str
        The variable (or, for loops, the loop's variables joined by ``->``).
    old, new : str
        Before and after (empty where not applicable).
    """

    kind: str
    name: str
    old: str = ""
    new: str = ""


@dataclass(frozen=True)
class ModelDiff:
    """The differences from model `a` to model `b`."""

    a: str
    b: str
    changes: tuple[Change, ...]

    def __bool__(self) -> bool:
        return bool(self.changes)

    def __len__(self) -> int:
        return len(self.changes)

    def of_kind(self, kind: str) -> tuple[Change, ...]:
        """The changes of one kind (e.g. ``"equation"``)."""
        return tuple(c for c in self.changes if c.kind == kind)

    def to_frame(self):
        """One row per change: kind, name, old, new."""

        return pd.DataFrame([vars(c) for c in self.changes], columns=["kind", "name", "old", "new"])

    def summary(self) -> str:
        """A readable listing, grouped by kind."""
        if not self.changes:
            return f"{self.a} and {self.b}: no structural differences"
        lines = [f"{self.a} -> {self.b}: {len(self.changes)} difference(s)"]
        for c in self.changes:
            if c.kind in {"equation", "units"}:
                lines.append(f"  {c.kind:<11} {c.name}: {c.old}  ->  {c.new}")
            elif c.kind == "added":
                lines.append(f"  {c.kind:<11} {c.name} = {c.new}")
            elif c.kind == "removed":
                lines.append(f"  {c.kind:<11} {c.name} (was {c.old})")
            else:
                lines.append(f"  {c.kind:<11} {c.new or c.old}: {c.name}")
        return "\n".join(lines)


def _normal(node, own: tuple[str, ...] = ()):
    """A hashable, name-normalised form of an abstract-syntax tree.

    Chains such as ``a * b * c`` become left-nested pairs (Vensim keeps them
    flat, XMILE nests them); a reference subscripted by exactly the
    equation's own dimensions (``x[City]`` in an equation for ``y[City]``)
    equals the bare reference, as XMILE writes it.
    """

    if isinstance(node, bool) or node is None:
        return node
    if isinstance(node, int | float | np.number):
        return float(node)
    if isinstance(node, np.ndarray):
        return tuple(float(v) for v in node.ravel()), node.shape
    if isinstance(node, str):
        return node
    if isinstance(node, ae.ReferenceStructure):
        subs = tuple(name_key(s) for s in node.subscripts.subscripts) if node.subscripts else ()
        return ("ref", name_key(node.reference), () if subs == own else subs)
    if isinstance(node, ae.ArithmeticStructure | ae.LogicStructure):
        args = [_normal(a, own) for a in node.arguments]
        if len(args) == 1:
            return ("op", node.operators[0], args[0])
        acc = args[0]
        for op, arg in zip(node.operators, args[1:]):
            acc = ("op", op, acc, arg)
        return acc
    if isinstance(node, list | tuple):
        return tuple(_normal(v, own) for v in node)
    if is_dataclass(node):
        return (type(node).__name__,) + tuple(_normal(getattr(node, f.name), own)
                                               for f in fields(node))
    return repr(node)


def render_expression(node) -> str:
    """Short infix text of an abstract-syntax tree (for reports)."""

    if isinstance(node, int | float | np.number) and not isinstance(node, bool):
        value = float(node)
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(node, np.ndarray):
        return "[" + ", ".join(render_expression(v) for v in node.ravel()) + "]"
    if isinstance(node, ae.ReferenceStructure):
        subs = f"[{', '.join(node.subscripts.subscripts)}]" if node.subscripts else ""
        return node.reference.replace("_", " ") + subs
    if isinstance(node, ae.ArithmeticStructure | ae.LogicStructure):
        args = [render_expression(a) for a in node.arguments]
        if len(args) == 1:
            op = {"negative": "-", "positive": "+"}.get(node.operators[0], node.operators[0])
            return f"{op}{args[0]}" if op in "+-" else f"{op} {args[0]}"
        text = args[0]
        for op, arg in zip(node.operators, args[1:]):
            text += f" {op} {arg}"
        return f"({text})"
    if isinstance(node, ae.CallStructure):
        fn = render_expression(node.function)
        return f"{fn.upper()}({', '.join(render_expression(a) for a in node.arguments)})"
    if isinstance(node, ae.IntegStructure):
        return f"INTEG({render_expression(node.flow)}, {render_expression(node.initial)})"
    if isinstance(node, ae.LookupsStructure):
        pts = ", ".join(f"({render_expression(x)}, {render_expression(y)})"
                        for x, y in zip(node.x, node.y))
        return f"LOOKUP({pts})"
    if is_dataclass(node):
        args = ", ".join(render_expression(getattr(node, f.name)) for f in fields(node)
                         if not isinstance(getattr(node, f.name), bool))
        return f"{type(node).__name__.replace('Structure', '').upper()}({args})"
    if isinstance(node, list | tuple):
        return ", ".join(render_expression(v) for v in node)
    return str(node)


def _ranges(section) -> dict[str, list[str]]:
    out, copies = {}, {}
    for rng in getattr(section, "subscripts", None) or []:
        if isinstance(rng.subscripts, str):  # an equivalence: Partner <-> City
            copies[name_key(rng.name)] = name_key(rng.subscripts)
        else:
            out[name_key(rng.name)] = [name_key(e) for e in rng.subscripts if isinstance(e, str)]
    for name, other in copies.items():
        out[name] = out.get(other, [])
    return out


def _entries(comp, ranges) -> list[tuple]:
    """Per-element (element tuple, value) entries of a numeric component, else one entry."""
    dims, exceptions = comp.subscripts
    own = tuple(name_key(d) for d in dims)
    ast = comp.ast
    numeric = isinstance(ast, int | float | np.number | np.ndarray) and not isinstance(ast, bool)
    if numeric and dims and not exceptions:
        axes = [ranges.get(k, [k]) for k in own]
        shape = tuple(len(a) for a in axes)
        try:
            values = np.broadcast_to(np.asarray(ast, dtype=float).reshape(
                np.shape(ast) if np.size(ast) != np.prod(shape) else shape), shape)
        except ValueError:
            values = None
        if values is not None:
            return [(tuple(axes[k][i] for k, i in enumerate(idx)), float(values[idx]))
                    for idx in np.ndindex(*shape)]
    return [((own, _normal(exceptions)), _normal(ast, own))]


def _definition(el, ranges) -> tuple[object, str]:
    entries = sorted((e for c in el.components for e in _entries(c, ranges)), key=repr)
    texts = [render_expression(c.ast) for c in el.components]
    if len(texts) == 1:
        return tuple(entries), texts[0]
    text = "; ".join(f"[{', '.join(c.subscripts[0])}] {t}"
                     for c, t in zip(el.components, texts))
    return tuple(entries), text


def _loops(model) -> dict[tuple, tuple[str, str]]:
    out = {}
    for loop in find_loops(model, documented=False):  # structure only: no sidecar
        keys = [name_key(v) for v in loop.variables]
        i = keys.index(min(keys))
        out[tuple(keys[i:] + keys[:i])] = (" -> ".join(loop.variables), loop.polarity)
    return out


def diff_models(a, b, *, loops: bool = True) -> ModelDiff:
    """Compare two models structurally.

    Parameters
    ----------
    a, b : sdkit.Model or path-like
        The old and the new version (``.mdl`` or ``.xmile``, in any mix).
    loops : bool, default True
        Also compare feedback loops.

    Returns
    -------
    ModelDiff
        Empty (falsy) when the models have the same variables, equations,
        units and loops.

    Examples
    --------
    >>> bool(diff_models("tests/models/teacup.mdl", "tests/models/teacup.mdl"))
    False
    """

    if isinstance(a, str | os.PathLike):
        a = load_model(a)
    if isinstance(b, str | os.PathLike):
        b = load_model(b)
    sec_a, sec_b = main_section(a.abstract), main_section(b.abstract)
    els_a = {name_key(el.name): el for el in sec_a.elements}
    els_b = {name_key(el.name): el for el in sec_b.elements}
    ranges_a, ranges_b = _ranges(sec_a), _ranges(sec_b)
    space = UnitSpace()

    def units(el):
        try:
            return space.parse(str(el.units or ""))
        except UnitsSyntaxError:
            return str(el.units)

    changes: list[Change] = []
    for key, el in els_b.items():
        if key not in els_a:
            changes.append(Change("added", el.name, "", _definition(el, ranges_b)[1]))
    for key, el in els_a.items():
        if key not in els_b:
            changes.append(Change("removed", el.name, _definition(el, ranges_a)[1], ""))
            continue
        new = els_b[key]
        old_key, old_text = _definition(el, ranges_a)
        new_key, new_text = _definition(new, ranges_b)
        if old_key != new_key:
            changes.append(Change("equation", new.name, old_text, new_text))
        ua, ub = units(el), units(new)
        same = (ua == ub if not hasattr(ua, "dimensionality") or not hasattr(ub, "dimensionality")
                else ua.dimensionality == ub.dimensionality)
        if not same:
            changes.append(Change("units", new.name, str(el.units or "(none)"),
                                  str(new.units or "(none)")))
    if loops:
        la, lb = _loops(a), _loops(b)
        for key, (text, pol) in lb.items():
            if key not in la:
                changes.append(Change("loop-gained", text, "", pol))
        for key, (text, pol) in la.items():
            if key not in lb:
                changes.append(Change("loop-lost", text, pol, ""))
            elif lb[key][1] != pol:
                changes.append(Change("loop-polarity", lb[key][0], pol, lb[key][1]))
    return ModelDiff(str(a.path), str(b.path), tuple(changes))
