"""Build PySD's ``AbstractModel`` from an XMILE document.

The pipeline: :func:`~sdkit.xmile.document.read_document` (XML to plain
descriptions), :func:`~sdkit.xmile.modules.flatten` (modules to one flat
list), then per equation :func:`~sdkit.xmile.expr.parse_expression` and
:func:`~sdkit.xmile.lower.lower`, whose shapes are checked against the
variable's declared dimensions before anything reaches PySD's builder.
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path

from pysd.translators.structures import abstract_expressions as ae
from pysd.translators.structures.abstract_model import (
    AbstractComponent,
    AbstractControlElement,
    AbstractElement,
    AbstractLookup,
    AbstractModel,
    AbstractSection,
    AbstractSubscriptRange,
)

from sdkit.errors import TranslationError, UnsupportedConstructError
from sdkit.model.xmile.document import Document, Equation, Lookup, read_document
from sdkit.model.xmile.expr import ExpressionSyntaxError, Node, parse_expression
from sdkit.model.xmile.guard import StockSpec, check_abstract
from sdkit.model.xmile.lower import Context, DimInfo, Lowered, Symbol, lower
from sdkit.model.xmile.modules import FlatVariable, flatten
from sdkit.model.xmile.names import canonical, pysd_key

__all__ = ["build_abstract_model", "sim_method", "SIMULATED_METHODS"]

_CONTROL = {"initial time", "final time", "time step", "saveper"}
#: ``<sim_specs method=...>`` values sdkit.engine integrates (case ignored)
SIMULATED_METHODS = ("euler", "rk2", "rk4")
_STATEFUL = re.compile(r"(?i)\b(delay[13n]?|smth[13n]|trend|forcst)\s*\(")
_SPACED_CALL = re.compile(r"\b([A-Za-z]\w*(?: +[A-Za-z]\w*)+)\s*\(")
_NUMBER = r"\s*[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?\s*"
_NUMBER_LIST = re.compile(rf"^{_NUMBER}(?:[,;]{_NUMBER})+[,;]?\s*$")
_KEYWORDS = {"if", "then", "else", "and", "or", "not", "mod"}
_INTERP = {"continuous": "interpolate", "extrapolate": "extrapolate",
           "discrete": "hold_backward"}


def _where(path: Path, line: int, name: str) -> str:
    return f"{path}: line {line}: variable {name!r}"


def _refuse_placeholder(eq: Equation, where: str) -> None:
    if "???" in (eq.text or ""):
        raise UnsupportedConstructError(
            f"{where}: the equation is the placeholder '???' (the exporter could not "
            "write it); the model is not simulable as published")


def _parse(eq: Equation, where: str, macros=()) -> Node:
    text = eq.text or ""
    _refuse_placeholder(eq, where)
    if not re.sub(r"\{[^}]*\}", "", text).strip():
        raise TranslationError(f"{where}: the equation is empty {text.strip()!r}")
    try:
        return parse_expression(" ".join(text.split()))
    except ExpressionSyntaxError as e:
        if re.search(r"[\w\])]'", text):
            raise UnsupportedConstructError(
                f"{where}: column {e.column}: the transpose operator (') is not "
                "supported") from None
        for call in _SPACED_CALL.finditer(text):
            words = call.group(1).lower().split()
            if _KEYWORDS.isdisjoint(words) and canonical(call.group(1)) not in macros:
                raise UnsupportedConstructError(
                    f"{where}: calls {call.group(1)}(), which is neither an XMILE builtin "
                    "nor a macro defined in the file (a macro lost in export?)") from None
        hint = ""
        if re.search(r"(?i)\bnot\s+(then|else|\)|$)", text):
            hint = ("; 'not' after its operand (XMILE's NOT is a prefix operator: "
                    "NOT x; some converters write 'x not')")
        raise TranslationError(f"{where}: column {e.column}: cannot parse equation "
                               f"{' '.join(text.split())!r}: {e}{hint}") from None


def _lookup_structure(lookup: Lookup) -> ae.LookupsStructure:
    pairs = sorted(zip(lookup.x, lookup.y))
    xs, ys = tuple(p[0] for p in pairs), tuple(p[1] for p in pairs)
    return ae.LookupsStructure(x=xs, y=ys, x_limits=(min(xs), max(xs)),
                               y_limits=(min(ys), max(ys)), type=_INTERP[lookup.kind])


class _Builder:
    """Holds the model-wide tables while the elements are built."""

    def __init__(self, doc: Document, shown: Path):
        self.doc = doc
        self.shown = shown
        self.dims = {canonical(d.name): DimInfo(d.name, d.elements) for d in doc.dimensions}
        self.flat, self.aliases = flatten(doc, shown=shown)
        self.symbols: dict[str, Symbol] = {}
        for fv in self.flat:
            v = fv.variable
            if fv.key in _CONTROL:  # the root model's copies of the time settings
                continue
            dims = []
            for d in v.dims:
                if canonical(d) not in self.dims:
                    raise TranslationError(
                        f"{_where(shown, v.line, v.name)}: dimension {d!r} is not declared "
                        "in <dimensions>")
                dims.append(canonical(d))
            kind, table = v.kind, None
            lookups = [eq.lookup for eq in v.equations if eq.lookup is not None]
            if kind == "aux" and lookups:
                kind = "lookup_aux"
                if not v.dims and len(lookups) == 1:
                    table = _lookup_structure(lookups[0])
            if fv.key in self.symbols:
                raise TranslationError(f"{_where(shown, v.line, v.name)}: defined twice")
            self.symbols[fv.key] = Symbol(pysd_key(fv.name), kind, tuple(dims), table)

    def context(self, fv: FlatVariable, line: int, target: tuple[str, ...]) -> Context:
        def resolve(name: str) -> str:
            glob = fv.resolve(name)
            if glob not in self.symbols and name in self.symbols and "." in name:
                return name
            return glob
        return Context(_where(self.shown, line, fv.name), self.symbols, self.dims, target,
                       resolve, self.doc.macros)

    def lower_checked(self, node: Node, ctx: Context) -> Lowered:
        out = lower(node, ctx)
        reduced = [d for d in out.dims if d.endswith("!")]
        if reduced:
            raise TranslationError(f"{ctx.where}: '*' or '!' used outside an array function")
        extra = [d for d in out.dims if d not in ctx.target]
        if extra:
            shape = f"dimensions {list(ctx.target)}" if ctx.target else "a single value"
            names = [self.dims[d].name for d in extra]
            raise TranslationError(
                f"{ctx.where}: the equation's result has dimension(s) {names} but the "
                f"variable (or element) is {shape}; use an array function such as "
                "SUM(x[*]) to reduce it")
        return out

    # ------------------------------------------------------------------ elements
    def element(self, fv: FlatVariable) -> AbstractElement:
        v = fv.variable
        sym = self.symbols[fv.key]
        where = _where(self.shown, v.line, fv.name)
        if v.kind == "gf":
            if v.dims:
                raise UnsupportedConstructError(f"{where}: arrayed graphical function")
            lookup = AbstractLookup(subscripts=([], []), ast=_lookup_structure(v.lookup))
            return AbstractElement(name=fv.name, units=v.units, limits=v.limits,
                                   documentation=v.doc, components=[lookup])
        for eq in v.equations:  # the exporter's placeholder first: it explains the rest
            _refuse_placeholder(eq, _where(self.shown, eq.line, fv.name))
        self.check_coverage(fv, sym)
        components = []
        for eq in v.equations:
            listed = self.number_list(fv, sym, eq)
            if listed is not None:
                components += listed
                continue
            target = () if eq.elements else sym.dims
            subs = self.component_subscripts(fv, sym, eq)
            ctx = self.context(fv, eq.line, target)
            if v.kind == "stock":
                ast = self.stock(fv, sym, eq, ctx)
            else:
                ast = self.lower_checked(_parse(eq, ctx.where, self.doc.macros), ctx).ast
                if eq.lookup is not None:
                    ast = ae.InlineLookupsStructure(ast, _lookup_structure(eq.lookup))
                if v.kind == "flow" and self.non_negative(v, flow=True):
                    ast = ae.CallStructure(ae.ReferenceStructure("max"), (ast, 0))
            components.append(AbstractComponent(subscripts=(subs, []), ast=ast))
        return AbstractElement(name=fv.name, units=v.units, limits=v.limits, documentation=v.doc,
                               components=components)

    def number_list(self, fv, sym, eq: Equation) -> list[AbstractComponent] | None:
        """An arrayed constant written as a list ``0.1, 0.3, 0.8`` (row-major)."""
        if eq.elements or not sym.dims or fv.variable.kind not in ("aux", "flow") \
                or not _NUMBER_LIST.match(eq.text or "") or eq.lookup is not None:
            return None
        values = [float(x) for x in re.split(r"[,;]", eq.text) if x.strip()]
        cells = list(itertools.product(*(self.dims[d].elements for d in sym.dims)))
        if len(values) != len(cells):
            raise TranslationError(f"{_where(self.shown, eq.line, fv.name)}: {len(values)} "
                                   f"values listed for {len(cells)} elements")
        return [AbstractComponent(subscripts=(list(cell), []), ast=value)
                for cell, value in zip(cells, values)]

    def non_negative(self, v, *, flow: bool) -> bool:
        default = self.doc.non_negative_flows if flow else self.doc.non_negative_stocks
        return default if v.non_negative is None else v.non_negative

    def component_subscripts(self, fv, sym, eq: Equation) -> list[str]:
        if not eq.elements:
            return [self.dims[d].name for d in sym.dims]
        where = _where(self.shown, eq.line, fv.name)
        if len(eq.elements) != len(sym.dims):
            raise TranslationError(f"{where}: element [{', '.join(eq.elements)}] has "
                                   f"{len(eq.elements)} subscript(s), the variable "
                                   f"{len(sym.dims)}")
        out = []
        for e, d in zip(eq.elements, sym.dims):
            found = self.dims[d].element(canonical(e))
            if found is None:
                raise TranslationError(f"{where}: {e!r} is not an element of dimension "
                                       f"{self.dims[d].name!r}")
            out.append(found)
        return out

    def check_coverage(self, fv, sym) -> None:
        eqs = fv.variable.equations
        if not any(eq.elements for eq in eqs):
            return
        where = _where(self.shown, fv.variable.line, fv.name)
        if not all(eq.elements for eq in eqs):
            raise TranslationError(f"{where}: mixes a whole-variable <eqn> with per-element "
                                   "<element> equations")
        given = [tuple(self.component_subscripts(fv, sym, eq)) for eq in eqs]
        wanted = set(itertools.product(*(self.dims[d].elements for d in sym.dims)))
        if len(set(given)) != len(given):
            raise TranslationError(f"{where}: an element is defined twice")
        missing = sorted(wanted - set(given))
        if missing:
            shown = ", ".join("[" + ", ".join(m) + "]" for m in missing[:5])
            raise TranslationError(f"{where}: no equation for element(s) {shown}")

    def stock(self, fv, sym, eq: Equation, ctx: Context):
        v = fv.variable
        initial = self.lower_checked(_parse(eq, ctx.where, self.doc.macros), ctx).ast
        terms, ops = [], []
        for sign, names in (("+", v.inflows), ("-", v.outflows)):
            for name in names:
                glob = ctx.resolve(canonical(name))
                flow = self.symbols.get(glob)
                if flow is None:
                    raise TranslationError(f"{ctx.where}: {'in' if sign == '+' else 'out'}"
                                           f"flow {name!r} is not a variable of the model")
                if flow.kind == "gf":
                    raise TranslationError(f"{ctx.where}: flow {name!r} is a graphical "
                                           "function")
                extra = [d for d in flow.dims if d not in sym.dims]
                if extra:
                    raise TranslationError(
                        f"{ctx.where}: flow {name!r} has dimension(s) "
                        f"{[self.dims[d].name for d in extra]} the stock does not have")
                subs = None
                if eq.elements and flow.dims:
                    picked = dict(zip(sym.dims, self.component_subscripts(fv, sym, eq)))
                    subs = ae.SubscriptsReferenceStructure([picked[d] for d in flow.dims])
                terms.append(ae.ReferenceStructure(flow.key, subs))
                ops.append(sign)
        if not terms:
            net = 0
        elif ops[0] == "-":
            net = ae.ArithmeticStructure(["negative"], (terms[0],))
            if len(terms) > 1:
                net = ae.ArithmeticStructure(ops[1:], (net, *terms[1:]))
        else:
            net = terms[0] if len(terms) == 1 else ae.ArithmeticStructure(ops[1:], tuple(terms))
        return ae.IntegStructure(net, initial, self.non_negative(v, flow=False))

    # ------------------------------------------------------------------ model
    def control_elements(self) -> list[AbstractControlElement]:
        specs = self.doc.specs
        out = []
        ctx = Context(f"{self.shown}: line {specs.line}: <sim_specs>", self.symbols, self.dims,
                      (), lambda n: n)
        for name, text in (("INITIAL TIME", specs.start), ("FINAL TIME", specs.stop),
                           ("TIME STEP", specs.dt)):
            ast = self.lower_checked(_parse(Equation(text, specs.line), ctx.where), ctx).ast
            out.append(AbstractControlElement(
                name=name, units=specs.time_units, documentation="",
                components=[AbstractComponent(subscripts=([], []), ast=ast)]))
        out.append(AbstractControlElement(
            name="SAVEPER", units=specs.time_units, documentation="",
            components=[AbstractComponent(subscripts=([], []),
                                          ast=ae.ReferenceStructure("time_step"))]))
        return out

    def check_method(self) -> None:
        specs = self.doc.specs
        if specs.method.strip().lower() in SIMULATED_METHODS:  # sdkit.engine integrates them
            return
        dynamic = [fv.name for fv in self.flat if fv.variable.kind == "stock"
                   or any(_STATEFUL.search(eq.text or "") for eq in fv.variable.equations)]
        if dynamic:
            raise UnsupportedConstructError(
                f"{self.shown}: line {specs.line}: integration method {specs.method!r} "
                f"(only Euler, RK2 and RK4 are simulated; the model integrates {dynamic[0]!r})")

    def build(self) -> AbstractModel:
        self.check_method()
        elements = [self.element(fv) for fv in self.flat if fv.key in self.symbols]
        if not elements:
            raise TranslationError(f"{self.shown}: the model has no variables besides the "
                                   "time settings")
        subscripts = [AbstractSubscriptRange(name=d.name, subscripts=list(d.elements),
                                             mapping=[]) for d in self.dims.values()]
        section = AbstractSection(
            name="__main__", path=self.doc.path.with_suffix(".py"), type="main", params=[],
            returns=[], subscripts=subscripts, elements=elements + self.control_elements(),
            constraints=[], test_inputs=[], split=False, views_dict=None)
        model = AbstractModel(original_path=self.doc.path, sections=(section,))
        self.guard(model)
        return model

    def guard(self, model: AbstractModel) -> None:
        where, stocks = {}, {}
        for fv in self.flat:
            if fv.key not in self.symbols:
                continue
            v = fv.variable
            where[fv.name] = _where(self.shown, v.line, fv.name)
            if v.kind == "stock":
                keys = [[self.symbols[fv.resolve(canonical(n))].key for n in names]
                        for names in (v.inflows, v.outflows)]
                stocks[fv.name] = StockSpec(fv.name, where[fv.name], *map(tuple, keys))
        from pysd.builders.python.python_functions import (  # heavy: pysd builder
            functionspace,
        )

        check_abstract(model, where=where, stocks=stocks, functions=set(functionspace))


def build_abstract_model(path: Path, *, source_path: Path | None = None) -> AbstractModel:
    """Read `path` and return PySD's abstract model for it.

    Raises
    ------
    TranslationError, UnsupportedConstructError
        With the file (`source_path` if given), line and variable.
    """
    path = Path(path)
    shown = source_path or path
    doc = read_document(path, shown=shown)
    return _Builder(doc, shown).build()


def sim_method(path: Path) -> str:
    """The ``method`` of an XMILE file's ``<sim_specs>`` as written (default ``"Euler"``)."""
    return read_document(Path(path)).specs.method
