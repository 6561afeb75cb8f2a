"""Read an XMILE file's XML into plain descriptions (no equation parsing yet).

:func:`read_document` returns a :class:`Document`: simulation specs,
dimensions, the root model and any sub-models (for modules) and macros.
Every variable keeps the line it starts on, so later errors can name it.
Constructs XMILE defines but sdkit cannot simulate (conveyors, queues,
ovens, arrayed graphical functions, ...) are refused here, naming the
variable and the line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from sdkit.errors import ModelFileError, TranslationError, UnsupportedConstructError
from sdkit.io.textfile import read_checked_bytes
from sdkit.model.timesettings import check_time_value
from sdkit.model.xmile import xmltree as xt
from sdkit.model.xmile.guard import check_xml_declaration
from sdkit.model.xmile.names import canonical, display

__all__ = ["Dimension", "Lookup", "Equation", "Variable", "ModuleInstance", "SubModel", "Macro",
           "SimSpecs", "Document", "read_document"]


@dataclass(frozen=True)
class Dimension:
    """A named dimension and its element names (as written)."""

    name: str
    elements: tuple[str, ...]


@dataclass(frozen=True)
class Lookup:
    """A graphical function's points and interpolation type."""

    x: tuple[float, ...]
    y: tuple[float, ...]
    kind: str  # "continuous" | "extrapolate" | "discrete"


@dataclass(frozen=True)
class Equation:
    """One equation; `elements` is ``()`` for the whole variable."""

    text: str
    line: int
    elements: tuple[str, ...] = ()
    lookup: Lookup | None = None


@dataclass(frozen=True)
class Variable:
    """An ``aux``, ``flow``, ``stock`` or ``gf`` of a model."""

    kind: str
    name: str  # display name
    line: int
    dims: tuple[str, ...] = ()
    equations: tuple[Equation, ...] = ()
    inflows: tuple[str, ...] = ()
    outflows: tuple[str, ...] = ()
    non_negative: bool | None = None  # None: not said, use the model behaviour
    units: str = ""
    doc: str = ""
    lookup: Lookup | None = None  # for kind "gf"
    limits: tuple[float | None, float | None] = (None, None)  # <range min= max=>, as PySD


@dataclass(frozen=True)
class ModuleInstance:
    """A ``<module>``: an instance of a sub-model, with its input connections."""

    name: str
    model: str
    line: int
    connects: tuple[tuple[str, str], ...] = ()  # (to, from)


@dataclass(frozen=True)
class SubModel:
    """The variables and module instances of one ``<model>``."""

    name: str  # "" for the root model
    variables: tuple[Variable, ...] = ()
    modules: tuple[ModuleInstance, ...] = ()


@dataclass(frozen=True)
class Macro:
    """A ``<macro>`` defined by a single expression of its parameters."""

    name: str
    params: tuple[str, ...]
    equation: Equation
    line: int


@dataclass(frozen=True)
class SimSpecs:
    """Time settings and integration method."""

    start: str
    stop: str
    dt: str
    method: str
    time_units: str
    line: int


@dataclass(frozen=True)
class Document:
    """Everything sdkit reads from one XMILE file."""

    path: Path
    specs: SimSpecs
    dimensions: tuple[Dimension, ...]
    root: SubModel
    models: dict[str, SubModel] = field(default_factory=dict)  # canonical name -> model
    macros: dict[str, Macro] = field(default_factory=dict)  # canonical name -> macro
    non_negative_stocks: bool = False
    non_negative_flows: bool = False


def _read_lookup(gf, where: str) -> Lookup:
    ypts = xt.child(gf, "ypts")
    if ypts is None:
        raise TranslationError(f"{where}: graphical function without <ypts>")
    ys = xt.floats(ypts, where)
    xpts, xscale = xt.child(gf, "xpts"), xt.child(gf, "xscale")
    if xpts is not None:
        xs = xt.floats(xpts, where)
    elif xscale is not None and len(ys) > 1:
        lo, hi = float(xscale.get("min")), float(xscale.get("max"))
        xs = tuple(lo + (hi - lo) * i / (len(ys) - 1) for i in range(len(ys)))
    else:
        raise TranslationError(f"{where}: graphical function without <xpts> or <xscale>")
    if len(xs) != len(ys):
        raise TranslationError(
            f"{where}: graphical function has {len(xs)} x points but {len(ys)} y points")
    kind = gf.get("type", "continuous").lower()
    if gf.get("discrete", "false").lower() == "true":
        kind = "discrete"
    if kind not in ("continuous", "extrapolate", "discrete"):
        raise UnsupportedConstructError(f"{where}: graphical function type {kind!r}")
    return Lookup(xs, ys, kind)


_REFUSED_CHILDREN = {
    "conveyor": "conveyor stock", "queue": "queue stock", "oven": "oven stock",
    "leak": "leakage flow", "multiplier": "flow multiplier",
}


def _read_variable(el, path: Path) -> Variable:
    kind = xt.local(el)
    raw = el.get("name")
    line = el.sourceline or 0
    if raw is None:
        raise TranslationError(f"{path}: line {line}: <{kind}> without a name")
    name = display(raw)
    where = f"{path}: line {line}: variable {name!r}"
    for part in el:
        what = _REFUSED_CHILDREN.get(xt.local(part))
        if what:
            raise UnsupportedConstructError(f"{where}: {what} (<{xt.local(part)}>) is not "
                                            "supported")
    dims_el = xt.child(el, "dimensions")
    dims = () if dims_el is None else tuple(d.get("name", "") for d in xt.children(dims_el, "dim"))
    top_gf = el if kind == "gf" else xt.child(el, "gf")
    top_lookup = _read_lookup(top_gf, where) if top_gf is not None else None
    equations = []
    for sub in xt.children(el, "element"):
        elems = tuple(s.strip() for s in sub.get("subscript", "").split(","))
        text = xt.text(sub, "eqn")
        gf = xt.child(sub, "gf")
        lookup = _read_lookup(gf, where) if gf is not None else top_lookup
        if text is None and kind != "gf":
            raise TranslationError(f"{where}: element [{', '.join(elems)}] has no <eqn>")
        if kind == "gf" or (text is None and lookup is not None):
            raise UnsupportedConstructError(f"{where}: arrayed graphical function")
        eqn_line = xt.child(sub, "eqn").sourceline or line
        equations.append(Equation(text, eqn_line, elems, lookup))
    eqns = xt.children(el, "eqn")
    if not equations and kind != "gf":
        if not eqns:
            raise TranslationError(f"{where}: no <eqn> (the variable has no equation)")
        if len(eqns) == 1:
            equations.append(Equation(eqns[0].text or "", eqns[0].sourceline or line, (),
                                      top_lookup))
        elif len(dims) == 1:  # one <eqn> per element, in the dimension's order
            equations.extend(Equation(e.text or "", e.sourceline or line, (str(i),), top_lookup)
                             for i, e in enumerate(eqns, 1))
        else:
            raise TranslationError(f"{where}: {len(eqns)} <eqn> for a variable with "
                                   f"{len(dims)} dimensions (expected one, or one per "
                                   "element of a single dimension)")
    nn_el = xt.child(el, "non_negative")
    non_negative = None
    if nn_el is not None:
        non_negative = "false" not in (nn_el.text or "").lower()
    if kind == "gf" and top_lookup is None:
        raise TranslationError(f"{where}: <gf> without points")
    return Variable(
        kind=kind, name=name, line=line, dims=dims, equations=tuple(equations),
        inflows=tuple(display(f.text or "") for f in xt.children(el, "inflow")),
        outflows=tuple(display(f.text or "") for f in xt.children(el, "outflow")),
        non_negative=non_negative, units=(xt.text(el, "units") or "").strip(),
        doc=(xt.text(el, "doc") or "").strip(),
        lookup=top_lookup if kind == "gf" else None, limits=xt.read_range(el, where),
    )


def _read_model(el, path: Path) -> SubModel:
    variables, modules = [], []
    vars_el = xt.child(el, "variables")
    # the pre-1.0 drafts isee wrote (Stella 10) put the variables straight under <model>, beside
    # its <display>: read them the same way and skip what is not a variable
    legacy = vars_el is None
    for v in (el if legacy else vars_el):
        kind = xt.local(v)
        if kind in ("aux", "flow", "stock", "gf"):
            variables.append(_read_variable(v, path))
        elif kind == "module":
            line = v.sourceline or 0
            name = v.get("name", "")
            connects = tuple((c.get("to", ""), c.get("from", ""))
                             for c in xt.children(v, "connect") + xt.children(v, "connect2"))
            modules.append(ModuleInstance(display(name), v.get("model", name), line, connects))
        elif kind in ("group", "dependencies") or legacy:
            continue
        elif isinstance(v.tag, str):
            raise UnsupportedConstructError(
                f"{path}: line {v.sourceline}: <{kind}> in <variables> is not supported")
    return SubModel(display(el.get("name", "")), tuple(variables), tuple(modules))


def _read_macro(el, path: Path) -> Macro:
    line = el.sourceline or 0
    name = el.get("name", "")
    where = f"{path}: line {line}: macro {name!r}"
    eqn = xt.child(el, "eqn")
    vars_el = xt.child(el, "variables")
    if eqn is None or (vars_el is not None and len(vars_el)):
        raise UnsupportedConstructError(
            f"{where}: macros with their own variables (stocks, auxiliaries) are not "
            "supported; only macros defined by one <eqn> of their parameters")
    params = tuple(display(p.text or "") for p in xt.children(el, "parm"))
    return Macro(canonical(name), params, Equation(eqn.text or "", eqn.sourceline or line), line)


def _check_specs(node, values: dict[str, str], reciprocal: bool, path: Path) -> None:
    """Refuse numeric <start>/<stop>/<dt> that no run can use (dt <= 0 never ends).

    Values written as expressions are checked once the model is loaded
    (see :mod:`sdkit.model.timesettings`).
    """
    numbers = {}
    for key in ("start", "stop", "dt"):
        line = xt.child(node, key).sourceline or node.sourceline or 0
        try:
            number = float(values[key])
        except ValueError:
            continue
        label = "<dt reciprocal=\"true\">" if key == "dt" and reciprocal else f"<{key}>"
        where = f"{path}: line {line}"
        check_time_value(label, number, positive=False, where=where, error=TranslationError)
        if key == "dt" and number <= 0:
            what = "the number of steps per time unit" if reciprocal else "the time step"
            raise TranslationError(f"{where}: {label} ({what}) must be > 0: {values[key]}")
        numbers[key] = (number, where)
    if "start" in numbers and "stop" in numbers and numbers["stop"][0] < numbers["start"][0]:
        raise TranslationError(f"{numbers['stop'][1]}: <stop> ({values['stop']}) is before "
                               f"<start> ({values['start']})")


def _read_specs(root, path: Path) -> SimSpecs:
    node = xt.child(root, "sim_specs")
    if node is None:
        raise TranslationError(f"{path}: no <sim_specs> (start, stop, dt)")
    line = node.sourceline or 0
    values = {}
    for key in ("start", "stop", "dt"):
        text = xt.text(node, key)
        if text is None or not text.strip():
            raise TranslationError(f"{path}: line {line}: <sim_specs> has no <{key}>")
        values[key] = text.strip()
    dt_el = xt.child(node, "dt")
    reciprocal = dt_el.get("reciprocal", "false").lower() == "true"
    _check_specs(node, values, reciprocal, path)
    if reciprocal:
        values["dt"] = f"1/({values['dt']})"
    return SimSpecs(values["start"], values["stop"], values["dt"],
                    node.get("method", "Euler"), node.get("time_units", ""), line)


def _read_dimensions(root) -> tuple[Dimension, ...]:
    node = xt.child(root, "dimensions")
    if node is None:
        return ()
    dims = []
    for d in xt.children(node, "dim"):
        elems = tuple(e.get("name", "") for e in xt.children(d, "elem"))
        if not elems and d.get("size"):
            elems = tuple(str(i) for i in range(1, int(d.get("size")) + 1))
        dims.append(Dimension(d.get("name", ""), elems))
    return tuple(dims)


def read_document(path: Path, *, shown: Path | None = None) -> Document:
    """Read the XML of an XMILE file.

    Raises
    ------
    TranslationError
        Not XML, or missing required parts (``sim_specs``, ``model``).
    UnsupportedConstructError
        A construct sdkit cannot simulate, with the line.
    """

    file, path = path, shown or path
    # the parser decodes by the declared encoding: it must be the UTF-8 sdkit checked
    check_xml_declaration(read_checked_bytes(file, error=ModelFileError, what="model file"),
                          path)
    # recover=True only to accept the undeclared "isee:" prefix many exporters write;
    # any other XML error is reported
    parser = etree.XMLParser(recover=True, resolve_entities=False, no_network=True)
    try:
        tree = etree.parse(str(file), parser=parser)
    except etree.XMLSyntaxError as e:
        raise TranslationError(f"{path}: line {e.lineno}: not valid XML: {e.msg}") from None
    for err in parser.error_log:
        if err.level_name in ("ERROR", "FATAL") and "Namespace prefix" not in err.message:
            raise TranslationError(f"{path}: line {err.line}: not valid XML: "
                                   f"{err.message.strip()}")
    root = tree.getroot()
    if root is None:
        raise TranslationError(f"{path}: not an XML file")
    if xt.local(root) != "xmile":
        raise TranslationError(f"{path}: the root element is <{xt.local(root)}>, expected <xmile>")
    models = xt.children(root, "model")
    if not models:
        raise TranslationError(f"{path}: no <model> element")
    roots = models if len(models) == 1 else [m for m in models if not m.get("name")]
    if len(roots) != 1:
        raise TranslationError(f"{path}: expected exactly one unnamed (root) <model> among "
                               f"{len(models)}, found {len(roots)}")
    subs = {canonical(m.get("name")): _read_model(m, path) for m in models
            if m.get("name") and m is not roots[0]}
    macros = {}
    for m in xt.children(root, "macro"):
        macro = _read_macro(m, path)
        macros[macro.name] = macro
    behavior = xt.child(root, "behavior")
    nn_stock = nn_flow = False
    if behavior is not None:
        if xt.child(behavior, "non_negative") is not None:
            nn_stock = nn_flow = True
        for kind in ("stock", "flow"):
            part = xt.child(behavior, kind)
            if part is not None and xt.child(part, "non_negative") is not None:
                if kind == "stock":
                    nn_stock = True
                else:
                    nn_flow = True
    return Document(file, _read_specs(root, path), _read_dimensions(root),
                    _read_model(roots[0], path), subs, macros, nn_stock, nn_flow)
