"""Flatten XMILE modules into one list of variables.

A ``<module name="hares" model="hares">`` instance puts every variable ``v``
of sub-model ``hares`` into the flat model as ``hares.v`` (the name Stella
and Simlin report). A ``<connect to="area" from=".area"/>`` replaces the
instance's own ``area`` by the parent's ``area``: references to
``hares.area`` resolve to ``area``, and the placeholder equation of the
inner variable is never read.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sdkit.errors import TranslationError
from sdkit.model.xmile.document import Document, SubModel, Variable
from sdkit.model.xmile.names import canonical, display

__all__ = ["FlatVariable", "flatten"]


@dataclass(frozen=True)
class FlatVariable:
    """A variable of the flattened model and how its equations resolve names."""

    variable: Variable
    key: str  # canonical global name, e.g. "hares.births"
    name: str  # display name, e.g. "hares.births"
    resolve: Callable[[str], str]  # canonical local name -> canonical global name


def flatten(doc: Document, *, shown=None) -> tuple[list[FlatVariable], dict[str, str]]:
    """Flatten the root model and its module instances.

    Returns
    -------
    variables : list of FlatVariable
    aliases : dict
        Canonical global name of each connected module input -> the global
        name it stands for.

    Raises
    ------
    TranslationError
        A module names a model the file does not define, or modules nest
        recursively.
    """
    out: list[FlatVariable] = []
    aliases: dict[str, str] = {}

    def follow(name: str) -> str:
        seen = set()
        while name in aliases and name not in seen:
            seen.add(name)
            name = aliases[name]
        return name

    def visit(model: SubModel, prefix: str, shown: str, stack: tuple[str, ...]) -> None:
        local = {canonical(v.name) for v in model.variables}
        instances = {canonical(m.name) for m in model.modules}

        def resolve(name: str, _prefix=prefix, _local=local, _inst=instances) -> str:
            head = name.split(".", 1)[0]
            if _prefix and (name in _local or head in _inst):
                return follow(_prefix + name)
            return follow(_prefix + name) if _prefix else follow(name)

        for module in model.modules:
            inst = canonical(module.name)
            sub = doc.models.get(canonical(module.model))
            where = f"{shown or doc.path}: line {module.line}: module {module.name!r}"
            if sub is None:
                raise TranslationError(f"{where}: the file defines no <model name="
                                       f"{module.model!r}>")
            if sub.name.lower() in stack:
                raise TranslationError(f"{where}: modules nest recursively")
            for to, frm in module.connects:
                to_c = canonical(to)
                if to_c.startswith(inst + "."):
                    to_c = to_c[len(inst) + 1:]
                src = canonical(frm).lstrip(".")
                aliases[prefix + inst + "." + to_c] = resolve(src)
        for v in model.variables:
            key = prefix + canonical(v.name)
            if key in aliases:
                continue  # a connected input: its equation is a placeholder
            out.append(FlatVariable(v, key, shown + display(v.name), resolve))
        for module in model.modules:
            inst = canonical(module.name)
            sub = doc.models[canonical(module.model)]
            visit(sub, prefix + inst + ".", shown + display(module.name) + ".",
                  stack + (sub.name.lower(),))

    visit(doc.root, "", "", ())
    return out, aliases
