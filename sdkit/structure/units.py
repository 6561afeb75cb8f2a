"""Model checks: units consistency and structural problems.

:func:`check_model` reads PySD's abstract model and reports

* **errors**: equations whose units do not match the declared units (with
  both unit expressions), ``+``/``-``/comparisons of unequal units,
  ``EXP``/``LN``/... of arguments with units, stocks whose flows are not in
  stock units per time unit, references to undefined variables, algebraic
  loops (variables that depend on themselves without a stock or delay);
* **warnings**: constants without units, variables without documentation,
  unused inputs (constants nothing reads), units strings that cannot be read;
* **notes**: variables computed but never used inside the model (stocks
  excepted): reporting outputs, which is fine, listed so a typo shows.

Units in messages are spelled as the model declares them (the first
declared spelling of each unit), not in a canonical form.

Units inference: numbers adapt to the other operand (``x + 1`` is fine,
``2 * x`` keeps ``x``'s units); variables without declared units are
*unknown* and switch checks off where they appear; ``Time`` is in the
model's time unit (the units of ``TIME STEP``); lookups give their declared
output units; ``INTEG`` multiplies the flow by the time unit.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pysd.translators.structures import abstract_expressions as ae

from sdkit.errors import TranslationError
from sdkit.model.load import load_model
from sdkit.model.translate import read_abstract_model
from sdkit.structure.findings import CheckReport, Finding
from sdkit.structure.graph import CONTROL, ModelGraph, main_section, model_graph, name_key
from sdkit.structure.loops import _sccs
from sdkit.structure.unitexpr import UnitSpace, UnitsSyntaxError

__all__ = ["Finding", "CheckReport", "check_model"]

_SAME_UNITS = {"min", "max", "abs", "integer", "int", "round", "quantum", "modulo", "sum",
               "vmin", "vmax", "active_initial"}
_DIMENSIONLESS_ARGS = {"exp", "ln", "log", "sin", "cos", "tan", "arcsin", "arccos", "arctan",
                       "sinh", "cosh", "tanh"}
_COMPARISONS = {"=", "<>", "<", ">", "<=", ">=", "==", "!="}
WILD = "number"  # a literal number: takes whatever units its context needs


class _Inferrer:
    """Infers the units of abstract-model expressions."""

    def __init__(self, space: UnitSpace, declared: dict, lookups: set, time_unit, real: dict):
        self.space = space
        self.declared = declared  # name_key -> Unit | None
        self.lookups = lookups
        self.time = time_unit
        self.real = real
        self.problems: list[str] = []
        self.spelled: dict[str, str] = {}  # str(unit) -> the model's first spelling of it

    def fmt(self, u) -> str:
        if u is WILD:
            return "number"
        return self.spelled.get(str(u)) or self.space.format(u)

    # -- helpers ---------------------------------------------------------------
    def same(self, a, b, what: str):
        """Units of `a` and `b` that must agree; records a problem if they do not."""
        if a is None or b is None:
            return None
        if a is WILD:
            return b
        if b is WILD:
            return a
        if a.dimensionality != b.dimensionality:
            self.problems.append(f"{what} of '{self.fmt(a)}' and '{self.fmt(b)}'")
        return a

    def _mul(self, a, b, divide=False):
        if a is None or b is None:
            return None
        if a is WILD and b is WILD:
            return WILD
        a = self.space.dimensionless if a is WILD else a
        b = self.space.dimensionless if b is WILD else b
        return a / b if divide else a * b

    def need_dimensionless(self, u, what: str) -> None:
        if u is None or u is WILD:
            return
        if u.dimensionality != self.space.dimensionless.dimensionality:
            self.problems.append(f"{what} needs a dimensionless argument, got '{self.fmt(u)}'")

    def need_time(self, u, what: str) -> None:
        if u is None or u is WILD or self.time is None:
            return
        if u.dimensionality != self.time.dimensionality:
            self.problems.append(f"{what} must be in time units '{self.fmt(self.time)}', "
                                 f"got '{self.fmt(u)}'")

    @staticmethod
    def literal(node) -> float | None:
        if isinstance(node, int | float | np.number) and not isinstance(node, bool):
            return float(node)
        if (isinstance(node, ae.ArithmeticStructure) and len(node.arguments) == 1
                and list(node.operators) == ["negative"]):
            inner = _Inferrer.literal(node.arguments[0])
            return None if inner is None else -inner
        return None

    # -- inference -------------------------------------------------------------
    def infer(self, node):
        if isinstance(node, bool):
            return self.space.dimensionless
        if isinstance(node, int | float | np.number | np.ndarray):
            return WILD
        if isinstance(node, ae.ReferenceStructure):
            key = name_key(node.reference)
            if key == "time":
                return self.time
            return self.declared.get(key)
        if isinstance(node, ae.ArithmeticStructure):
            return self._arith(node)
        if isinstance(node, ae.LogicStructure):
            args = [self.infer(a) for a in node.arguments]
            if any(op in _COMPARISONS for op in node.operators) and len(args) == 2:
                self.same(args[0], args[1], f"comparison '{node.operators[0]}'")
            return self.space.dimensionless
        if isinstance(node, ae.CallStructure):
            return self._call(node)
        if isinstance(node, ae.SmoothStructure | ae.SmoothNStructure | ae.DelayStructure
                      | ae.DelayNStructure | ae.DelayFixedStructure):
            out = self.infer(node.input)
            delay = getattr(node, "delay_time", getattr(node, "smooth_time", None))
            self.need_time(self.infer(delay), f"{type(node).__name__[:-9].upper()} time")
            return self.same(out, self.infer(node.initial), "input and initial value")
        if isinstance(node, ae.SampleIfTrueStructure):
            return self.same(self.infer(node.input), self.infer(node.initial),
                             "input and initial value")
        if isinstance(node, ae.InitialStructure):
            return self.infer(node.initial)
        if isinstance(node, ae.ForecastStructure):
            return self.infer(node.input)
        return None  # lookups, data, allocation, games: declared units are trusted

    def _arith(self, node):
        ops, args = list(node.operators), list(node.arguments)
        if len(args) == 1:
            return self.infer(args[0])
        acc = self.infer(args[0])
        for op, arg in zip(ops, args[1:]):
            if op in {"+", "-"}:
                acc = self.same(acc, self.infer(arg), f"'{op}'")
            elif op in {"*", "/"}:
                acc = self._mul(acc, self.infer(arg), divide=op == "/")
            elif op == "^":
                exp = self.literal(arg)
                if exp is None:
                    self.need_dimensionless(self.infer(arg), "exponent")
                    self.need_dimensionless(acc, "power with a variable exponent")
                    acc = None if acc is None else (acc if acc is WILD
                                                    else self.space.dimensionless)
                elif acc is not None and acc is not WILD:
                    acc = acc ** (int(exp) if exp.is_integer() else exp)
            else:
                acc = None
        return acc

    def _call(self, node):
        fn = node.function.reference if isinstance(node.function, ae.ReferenceStructure) else ""
        args = list(node.arguments)
        key = name_key(fn)
        if key in self.lookups:
            return self.declared.get(key)
        units = [self.infer(a) for a in args]
        if fn == "if_then_else" and len(units) == 3:
            return self.same(units[1], units[2], "IF THEN ELSE branches")
        if fn in _SAME_UNITS:
            out = units[0] if units else None
            for u in units[1:]:
                out = self.same(out, u, f"{fn.upper()} arguments")
            return out
        if fn in {"xidz", "zidz"} and len(units) >= 2:
            ratio = self._mul(units[0], units[1], divide=True)
            if len(units) == 3:
                ratio = self.same(ratio, units[2], f"{fn.upper()} ratio and fallback")
            return ratio
        if fn in _DIMENSIONLESS_ARGS:
            for u in units:
                self.need_dimensionless(u, fn.upper())
            return self.space.dimensionless
        if fn == "sqrt" and units:
            u = units[0]
            return u if u is None or u is WILD else u ** 0.5
        if fn == "power" and len(args) == 2:
            exp = self.literal(args[1])
            u = units[0]
            if exp is None or u is None or u is WILD:
                return None
            return u ** (int(exp) if exp.is_integer() else exp)
        if fn == "step" and len(units) == 2:
            self.need_time(units[1], "STEP time")
            return units[0]
        if fn == "ramp" and units:
            for u in units[1:]:
                self.need_time(u, "RAMP time")
            if units[0] is WILD:
                return WILD
            return None if self.time is None else self._mul(units[0], self.time)
        if fn in {"pulse", "pulse_train", "elmcount"}:
            return self.space.dimensionless
        return None


def _documented(el) -> bool:
    return bool(str(el.documentation or "").strip())


def check_model(model, *, docs: bool = True) -> CheckReport:
    """Check a model's units and structure.

    Parameters
    ----------
    model : sdkit.Model or path-like
        The model to check (loaded if a path is given).
    docs : bool, default True
        Warn about variables without documentation.

    Returns
    -------
    CheckReport
        Findings in model order; ``report.ok`` is False when there are errors.

    Examples
    --------
    >>> check_model("tests/models/teacup.mdl").ok
    True
    """


    if isinstance(model, str | os.PathLike):
        model = _load_for_check(model, load_model)
    section = main_section(model.abstract)
    space = UnitSpace()
    findings: list[Finding] = []
    declared: dict[str, object] = {}
    real: dict[str, str] = {}
    for el in section.elements:
        real[name_key(el.name)] = el.name
        try:
            declared[name_key(el.name)] = space.parse(str(el.units or ""))
        except UnitsSyntaxError as e:
            declared[name_key(el.name)] = None
            findings.append(Finding("warning", el.name, str(e), "bad-units"))
    time_unit = declared.get("time step")
    settings = getattr(model, "time_settings", None)
    if time_unit is None and settings is not None and settings.units:
        try:
            time_unit = space.parse(settings.units)
        except UnitsSyntaxError:
            time_unit = None
    graph = model_graph(model)
    lookups = {name_key(n) for n in graph.lookups}
    inferrer = _Inferrer(space, declared, lookups, time_unit, real)
    for el in section.elements:
        if declared[name_key(el.name)] is not None:
            inferrer.spelled.setdefault(str(declared[name_key(el.name)]), str(el.units).strip())
    constants: set[str] = set()
    for el in section.elements:
        key = name_key(el.name)
        if key in CONTROL:
            continue
        findings += _check_element(el, declared[key], inferrer, time_unit, ae)
        is_constant = all(isinstance(c.ast, int | float | np.number | np.ndarray)
                          for c in el.components)
        if is_constant:
            constants.add(el.name)
        if is_constant and not str(el.units or "").strip():
            findings.append(Finding("warning", el.name, "constant has no units", "no-units"))
        if docs and not _documented(el):
            findings.append(Finding("warning", el.name, "no documentation", "no-doc"))
    findings += _structure_findings(graph, constants)
    order = {name: i for i, name in enumerate(real.values())}
    findings = list(dict.fromkeys(findings))
    rank = {"error": 0, "warning": 1, "note": 2}
    findings.sort(key=lambda f: (rank[f.severity], order.get(f.variable, len(order))))
    return CheckReport(str(model.path), tuple(findings))


@dataclass(frozen=True)
class _ParsedOnly:
    """A model PySD parses but cannot build (e.g. it uses undefined names)."""

    path: Path
    abstract: object


def _load_for_check(path, load_model):
    try:
        return load_model(path)
    except TranslationError as build_error:
        try:
            return _ParsedOnly(Path(path), read_abstract_model(path))
        except TranslationError:
            raise build_error from None


def _check_element(el, unit, inferrer: _Inferrer, time_unit, ae) -> list[Finding]:
    out: list[Finding] = []
    fmt = inferrer.fmt
    for comp in el.components:
        inferrer.problems = []
        ast = comp.ast
        if isinstance(ast, ae.IntegStructure):
            flow = inferrer.infer(ast.flow)
            if (unit is not None and time_unit is not None and flow is not None
                    and flow is not WILD):
                per_time = unit / time_unit
                if flow.dimensionality != per_time.dimensionality:
                    inferrer.problems.append(
                        f"stock in '{fmt(unit)}' needs flows in '{fmt(per_time)}', "
                        f"net flow is '{fmt(flow)}'")
            init = inferrer.infer(ast.initial)
            if unit is not None:
                inferrer.same(unit, init, "stock and its initial value")
        elif isinstance(ast, ae.LookupsStructure | ae.DataStructure | ae.GetLookupsStructure
                        | ae.GetDataStructure | ae.GetConstantsStructure
                        | ae.InlineLookupsStructure):
            pass
        else:
            got = inferrer.infer(ast)
            if (unit is not None and got is not None and got is not WILD
                    and got.dimensionality != unit.dimensionality):
                inferrer.problems.append(f"declared '{fmt(unit)}', equation gives '{fmt(got)}'")
        for problem in dict.fromkeys(inferrer.problems):
            out.append(Finding("error", el.name, f"units: {problem}", "units"))
    return out


def _structure_findings(graph: ModelGraph, constants: set[str]) -> list[Finding]:
    out = [Finding("error", var, f"uses undefined variable {ref.replace('_', ' ')!r}",
                   "undefined") for var, ref in graph.undefined]
    used = {lk.source for lk in graph.links}
    for var in graph.variables:
        if var in used or var in graph.stocks:
            continue
        if var in constants:
            out.append(Finding("warning", var, "unused input: a constant nothing reads",
                               "unused-input"))
        else:
            out.append(Finding("note", var, "computed but never used inside the model "
                                            "(a reporting output)", "output"))
    succ: dict[str, list[str]] = {}
    for lk in graph.links:
        if not lk.delayed and lk.kind == "info":
            succ.setdefault(lk.source, []).append(lk.target)
    for comp in _sccs(list(graph.variables), succ):
        members = [v for v in graph.variables if v in comp]
        if len(members) > 1 or members[0] in succ.get(members[0], []):
            out.append(Finding("error", members[0],
                               "algebraic loop (simultaneous equations without a stock): "
                               + " -> ".join(members), "algebraic-loop"))
    return out
