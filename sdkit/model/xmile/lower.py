"""From the XMILE syntax tree to PySD's abstract expressions, with shapes.

:func:`lower` turns one parsed equation into the structures PySD's Vensim
reader would produce for the same meaning (so PySD's builder, which handles
Vensim's ``SUM(K[City!])`` correctly, builds it), and returns the dimensions
of the result next to it. Knowing the shape of every sub-expression is what
lets sdkit refuse, instead of silently mis-simulating, an equation whose
result keeps dimensions its variable does not have.

Array reductions follow XMILE: inside ``SUM``, ``MEAN``, ``MIN``/``MAX``
(one argument), ``STDDEV``, ``SIZE`` and ``PROD``, a bare arrayed name and a
``*`` subscript mean every element, and a dimension-name subscript that the
defined variable does not have is reduced too; outside them a dimension name
or ``*`` is element-wise (apply-to-all).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from pysd.translators.structures import abstract_expressions as ae

from sdkit.errors import TranslationError, UnsupportedConstructError
from sdkit.model.xmile.builtins import ARRAY_FUNCTIONS, SCALAR_FUNCTIONS, SPECIAL_NAMES, UNSUPPORTED
from sdkit.model.xmile.expr import (
    WILDCARD,
    Binary,
    Call,
    ExpressionSyntaxError,
    If,
    Node,
    Num,
    Ref,
    Unary,
    parse_expression,
)
from sdkit.model.xmile.names import canonical

__all__ = ["Symbol", "DimInfo", "Context", "Lowered", "lower"]


@dataclass(frozen=True)
class DimInfo:
    """A dimension: its declared name and element names (as declared)."""

    name: str
    elements: tuple[str, ...]

    def element(self, key: str) -> str | None:
        """The declared spelling of element `key` (canonical or 1-based index)."""
        for e in self.elements:
            if canonical(e) == key:
                return e
        if key.isdigit() and 1 <= int(key) <= len(self.elements):
            return self.elements[int(key) - 1]
        return None


@dataclass(frozen=True)
class Symbol:
    """What a global (flattened) name refers to."""

    key: str  # PySD lookup key (cleanspace)
    kind: str  # "aux" | "flow" | "stock" | "gf" | "lookup_aux"
    dims: tuple[str, ...]  # canonical dimension names
    table: object = None  # a scalar aux's graphical function (LookupsStructure)


@dataclass(frozen=True)
class Context:
    """Everything :func:`lower` needs to know about the rest of the model."""

    where: str  # "file: line N: variable 'x'" for messages
    symbols: dict[str, Symbol]
    dims: dict[str, DimInfo]  # canonical name -> info
    target: tuple[str, ...]  # canonical dims of the equation's result slot
    resolve: Callable[[str], str]  # local canonical name -> global canonical
    macros: dict = field(default_factory=dict)
    reducing: bool = False


@dataclass(frozen=True)
class Lowered:
    """A PySD abstract expression and the dims of its value.

    `dims` are canonical dimension names; a name ending in ``!`` is being
    reduced by an enclosing array function.
    """

    ast: object
    dims: tuple[str, ...] = ()


def _merge(*parts: Lowered) -> tuple[str, ...]:
    out: list[str] = []
    for p in parts:
        for d in p.dims:
            if d not in out:
                out.append(d)
    return tuple(out)


def _fail(ctx: Context, message: str, *, unsupported: bool = False):
    cls = UnsupportedConstructError if unsupported else TranslationError
    raise cls(f"{ctx.where}: {message}")


def lower(node: Node, ctx: Context) -> Lowered:
    """Lower one parsed equation (see the module docstring).

    Raises
    ------
    TranslationError
        Unknown names, wrong subscripts or argument counts.
    UnsupportedConstructError
        A construct sdkit does not simulate (naming it).
    """
    if isinstance(node, Num):
        value = node.value
        return Lowered(int(value) if value.is_integer() and abs(value) < 2**53 else value)
    if isinstance(node, Ref):
        return _lower_ref(node, ctx)
    if isinstance(node, Unary):
        inner = lower(node.operand, ctx)
        if node.op == "+":
            return inner
        if node.op == "-":
            if isinstance(inner.ast, (int, float)):
                return Lowered(-inner.ast, inner.dims)
            return Lowered(ae.ArithmeticStructure(["negative"], (inner.ast,)), inner.dims)
        return Lowered(ae.LogicStructure([":NOT:"], (inner.ast,)), inner.dims)
    if isinstance(node, Binary):
        left, right = lower(node.left, ctx), lower(node.right, ctx)
        dims = _merge(left, right)
        if node.op == "mod":
            return Lowered(ae.CallStructure(ae.ReferenceStructure("modulo"),
                                            (left.ast, right.ast)), dims)
        if node.op in ("and", "or"):
            return Lowered(ae.LogicStructure([f":{node.op.upper()}:"],
                                             (left.ast, right.ast)), dims)
        if node.op in ("=", "<>", "<", "<=", ">", ">="):
            return Lowered(ae.LogicStructure([node.op], (left.ast, right.ast)), dims)
        return Lowered(ae.ArithmeticStructure([node.op], (left.ast, right.ast)), dims)
    if isinstance(node, If):
        parts = [lower(n, ctx) for n in (node.cond, node.then, node.other)]
        return Lowered(ae.CallStructure(ae.ReferenceStructure("if_then_else"),
                                        tuple(p.ast for p in parts)), _merge(*parts))
    if isinstance(node, Call):
        return _lower_call(node, ctx)
    raise TypeError(node)  # pragma: no cover - the parser makes only the above


def _symbol(name: str, ctx: Context) -> tuple[str, Symbol | None]:
    glob = ctx.resolve(name)
    return glob, ctx.symbols.get(glob)


def _lower_ref(node: Ref, ctx: Context) -> Lowered:
    glob, sym = _symbol(node.name, ctx)
    if sym is None:
        if node.name in SPECIAL_NAMES and node.subscripts is None:
            return Lowered(SPECIAL_NAMES[node.name]())
        if node.name in ctx.dims:
            _fail(ctx, f"dimension name {node.name!r} used as a value", unsupported=True)
        _fail(ctx, f"unknown variable {node.name!r}")
    if sym.kind == "gf":
        _fail(ctx, f"graphical function {node.name!r} used without an argument "
                   f"(write {node.name}(x) or LOOKUP({node.name}, x))")
    if node.subscripts is None:
        if not sym.dims:
            return Lowered(ae.ReferenceStructure(sym.key))
        shared = [ctx.dims[d].name for d in sym.dims if d in ctx.target]
        if ctx.reducing and shared:
            _fail(ctx, f"bare {node.name!r} inside an array function of an equation arrayed "
                       f"over {shared} is ambiguous (whole array, or the element of the "
                       f"equation, as Simlin reads it); write {node.name}[*] or "
                       f"{node.name}[{', '.join(shared)}]", unsupported=True)
        if ctx.reducing:  # the whole array
            subs = [ctx.dims[d].name + "!" for d in sym.dims]
            return Lowered(ae.ReferenceStructure(sym.key, ae.SubscriptsReferenceStructure(subs)),
                           tuple(d + "!" for d in sym.dims))
        return Lowered(ae.ReferenceStructure(sym.key), sym.dims)
    if len(node.subscripts) != len(sym.dims):
        _fail(ctx, f"{node.name!r} has {len(sym.dims)} dimension(s) "
                   f"{list(sym.dims)} but is used with {len(node.subscripts)} "
                   f"subscript(s) {list(node.subscripts)}")
    subs, dims = [], []
    for sub, dim in zip(node.subscripts, sym.dims):
        info = ctx.dims[dim]
        bare = sub.rstrip("!")
        if sub == WILDCARD or sub.endswith("!") or bare == dim:
            if sub != bare and not ctx.reducing:
                _fail(ctx, f"'{bare}!' outside an array function in {node.name!r}")
            reduce = ctx.reducing and (sub == WILDCARD or sub.endswith("!")
                                       or dim not in ctx.target)
            subs.append(info.name + ("!" if reduce else ""))
            dims.append(dim + ("!" if reduce else ""))
            continue
        if bare in ctx.dims:
            _fail(ctx, f"{node.name!r} is indexed by dimension {bare!r} in the place of its "
                       f"dimension {dim!r} (transposition or dimension mapping)",
                  unsupported=True)
        element = info.element(bare)
        if element is None:
            _fail(ctx, f"{sub!r} is not an element of dimension {info.name!r} "
                       f"(in {node.name}[{', '.join(node.subscripts)}])")
        subs.append(element)
    return Lowered(ae.ReferenceStructure(sym.key, ae.SubscriptsReferenceStructure(list(subs))),
                   tuple(dims))


def _count(ctx: Context, node: Call, lo: int, hi: int | None = None) -> None:
    hi = lo if hi is None else hi
    if not lo <= len(node.args) <= hi:
        want = str(lo) if lo == hi else f"{lo} to {hi}"
        _fail(ctx, f"{node.name.upper()}() takes {want} argument(s), got {len(node.args)}")


def _lower_call(node: Call, ctx: Context) -> Lowered:
    name = node.name
    glob, sym = _symbol(name, ctx)
    if sym is not None and sym.kind == "gf":
        _count(ctx, node, 1)
        arg = lower(node.args[0], ctx)
        return Lowered(ae.CallStructure(ae.ReferenceStructure(sym.key), (arg.ast,)), arg.dims)
    if sym is not None and sym.kind == "lookup_aux":
        if sym.table is None:
            _fail(ctx, f"calling the graphical function of arrayed variable {name!r}",
                  unsupported=True)
        _count(ctx, node, 1)
        arg = lower(node.args[0], ctx)
        return Lowered(ae.InlineLookupsStructure(arg.ast, sym.table), arg.dims)
    if name == "lookup":
        _count(ctx, node, 2)
        table = node.args[0]
        if not isinstance(table, Ref) or table.subscripts is not None:
            _fail(ctx, "LOOKUP() needs a graphical function name as its first argument")
        return _lower_call(Call(table.name, node.args[1:]), ctx)
    if name in ctx.macros:
        return _lower_macro(node, ctx)
    if name in ARRAY_FUNCTIONS and (len(node.args) == 1 or name in ("rank",)):
        return _lower_reduction(node, ctx)
    if name in ("mean",) and len(node.args) > 1:
        parts = [lower(a, ctx) for a in node.args]
        total = ae.ArithmeticStructure(["+"] * (len(parts) - 1), tuple(p.ast for p in parts))
        return Lowered(ae.ArithmeticStructure(["/"], (total, len(parts))), _merge(*parts))
    if name in SCALAR_FUNCTIONS:
        lo, hi, build = SCALAR_FUNCTIONS[name]
        _count(ctx, node, lo, hi)
        parts = [lower(a, ctx) for a in node.args]
        return Lowered(build(*(p.ast for p in parts)), _merge(*parts))
    if name in UNSUPPORTED:
        _fail(ctx, f"{name.upper()}() is not supported ({UNSUPPORTED[name]})", unsupported=True)
    if sym is not None:
        _fail(ctx, f"{name!r} is a variable, not a function or graphical function")
    _fail(ctx, f"call to unknown function or undefined macro {name.upper()!r}",
          unsupported=True)


def _lower_macro(node: Call, ctx: Context) -> Lowered:
    macro = ctx.macros[node.name]
    if len(node.args) != len(macro.params):
        _fail(ctx, f"macro {node.name.upper()}() takes {len(macro.params)} argument(s), "
                   f"got {len(node.args)}")
    try:
        body = parse_expression(" ".join(macro.equation.text.split()))
    except ExpressionSyntaxError as e:
        _fail(ctx, f"macro {node.name.upper()} (line {macro.line}): column {e.column}: "
                   f"cannot parse its equation: {e}")
    params = {p.lower(): a for p, a in zip(macro.params, node.args)}
    return lower(_substitute(body, params, ctx), ctx)


def _substitute(node: Node, params: dict, ctx: Context) -> Node:
    if isinstance(node, Ref):
        if node.name in params:
            if node.subscripts is not None:
                _fail(ctx, "subscripted macro parameters are not supported", unsupported=True)
            return params[node.name]
        if node.name not in SPECIAL_NAMES:
            _fail(ctx, f"macro body refers to {node.name!r}, which is not one of its "
                       "parameters", unsupported=True)
        return node
    if isinstance(node, Call):
        return replace(node, args=tuple(_substitute(a, params, ctx) for a in node.args))
    if isinstance(node, Unary):
        return replace(node, operand=_substitute(node.operand, params, ctx))
    if isinstance(node, Binary):
        return replace(node, left=_substitute(node.left, params, ctx),
                       right=_substitute(node.right, params, ctx))
    if isinstance(node, If):
        return If(*(_substitute(n, params, ctx) for n in (node.cond, node.then, node.other)))
    return node


def _lower_reduction(node: Call, ctx: Context) -> Lowered:
    name = node.name
    if name == "rank":
        _fail(ctx, "RANK() is not supported (its result is an element index chosen at "
                   "run time)", unsupported=True)
    arg = lower(node.args[0], replace(ctx, reducing=True))
    reduced = [d for d in arg.dims if d.endswith("!")]
    kept = tuple(d for d in arg.dims if not d.endswith("!"))
    size = math.prod(len(ctx.dims[d[:-1]].elements) for d in reduced)
    if name == "size":
        return Lowered(size)
    if not reduced:  # a single value: the reduction is the value itself
        if name == "stddev":
            return Lowered(0)
        return Lowered(arg.ast, kept)
    total = ae.CallStructure(ae.ReferenceStructure("sum"), (arg.ast,))
    if name == "sum":
        return Lowered(total, kept)
    if name == "prod":
        return Lowered(ae.CallStructure(ae.ReferenceStructure("prod"), (arg.ast,)), kept)
    if name in ("min", "max"):
        return Lowered(ae.CallStructure(ae.ReferenceStructure("v" + name), (arg.ast,)), kept)
    mean = ae.ArithmeticStructure(["/"], (total, size))
    if name == "mean":
        return Lowered(mean, kept)
    # stddev: the population standard deviation (divide by N), as Simlin computes it
    dev = ae.ArithmeticStructure(["-"], (arg.ast, mean))
    square = ae.ArithmeticStructure(["^"], (dev, 2))
    var = ae.ArithmeticStructure(["/"], (ae.CallStructure(ae.ReferenceStructure("sum"),
                                                          (square,)), size))
    return Lowered(ae.CallStructure(ae.ReferenceStructure("sqrt"), (var,)), kept)
