"""Units strings -> pint units, in a registry where every name is a base unit.

Vensim and XMILE units are free text (``Person/Year``, ``Degrees
Fahrenheit``, ``$``, ``1/Year``). :class:`UnitSpace` parses such strings
and defines each new name as its own base unit in a private pint registry,
so pint does the algebra (products, quotients, powers, equality) and knows
nothing it was not told. ``Dmnl``, ``dimensionless``, ``1``, ``%`` and the
like are dimensionless. Names compare without case, and a plural ``s`` is
dropped (``Days`` = ``Day``), as Vensim's unit equivalences usually do.
"""

from __future__ import annotations

import re

import pint

__all__ = ["UnitSpace", "UnitsSyntaxError"]

DIMENSIONLESS = {"dmnl", "dimensionless", "1", "%", "unitless", "fraction", "percent", "nondim",
                 "dmnl.", "none"}
_TOKEN = re.compile(r"\s*(?:(?P<num>[-+]?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)(?![A-Za-z_])"
                    r"|(?P<op>[*/^()])|(?P<name>[^*/^()]+?)(?=\s*(?:[*/^()]|$)))")


class UnitsSyntaxError(ValueError):
    """A units string that is not a product/quotient of names and powers."""


def _singular(word: str) -> str:
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


class UnitSpace:
    """A private pint registry plus display names for parsed units."""

    def __init__(self) -> None:
        self.registry = pint.UnitRegistry(None)
        self._ids: dict[str, str] = {}      # normalised name -> pint id
        self._display: dict[str, str] = {}  # pint id -> name as first written

    @property
    def dimensionless(self) -> pint.Unit:
        return self.registry.dimensionless

    def _base(self, name: str) -> pint.Unit:
        words = " ".join(name.split())
        key = " ".join(_singular(w) for w in words.lower().split())
        if key in DIMENSIONLESS or words.lower() in DIMENSIONLESS:
            return self.registry.dimensionless
        if key not in self._ids:
            ident = f"u{len(self._ids)}"
            self.registry.define(f"{ident} = [{ident}]")
            self._ids[key] = ident
            self._display[ident] = words
        return self.registry.Unit(self._ids[key])

    def parse(self, text: str) -> pint.Unit | None:
        """Units of a units string; None for an empty string.

        Raises
        ------
        UnitsSyntaxError
            Unbalanced parentheses or a dangling operator.
        """
        text = (text or "").strip()
        if not text:
            return None
        tokens = []
        pos = 0
        while pos < len(text):
            m = _TOKEN.match(text, pos)
            if not m or m.end() == pos:
                raise UnitsSyntaxError(f"cannot read units {text!r} at {text[pos:]!r}")
            tokens.append((m.lastgroup, m.group(m.lastgroup).strip()))
            pos = m.end()
        tokens = [t for t in tokens if t[1]]
        unit, rest = self._expr(tokens, text)
        if rest:
            raise UnitsSyntaxError(f"cannot read units {text!r}: unexpected {rest[0][1]!r}")
        return unit

    def _expr(self, tokens, text):
        unit, tokens = self._power(tokens, text)
        while tokens and tokens[0] in {("op", "*"), ("op", "/")}:
            op = tokens[0][1]
            right, tokens = self._power(tokens[1:], text)
            unit = unit * right if op == "*" else unit / right
        return unit, tokens

    def _power(self, tokens, text):
        unit, tokens = self._atom(tokens, text)
        if tokens and tokens[0] == ("op", "^"):
            rest = tokens[1:]
            if not rest or rest[0][0] != "num":
                raise UnitsSyntaxError(f"cannot read units {text!r}: '^' needs a number")
            exp = float(rest[0][1])
            return unit ** (int(exp) if exp.is_integer() else exp), rest[1:]
        return unit, tokens

    def _atom(self, tokens, text):
        if not tokens:
            raise UnitsSyntaxError(f"cannot read units {text!r}: ends too early")
        kind, value = tokens[0]
        if (kind, value) == ("op", "("):
            unit, rest = self._expr(tokens[1:], text)
            if not rest or rest[0] != ("op", ")"):
                raise UnitsSyntaxError(f"cannot read units {text!r}: missing ')'")
            return unit, rest[1:]
        if kind == "num":
            return self.registry.dimensionless, tokens[1:]
        if kind == "name":
            return self._base(value), tokens[1:]
        raise UnitsSyntaxError(f"cannot read units {text!r}: unexpected {value!r}")

    def format(self, unit: pint.Unit | None) -> str:
        """Units as text with the model's own names (``Person/Day``, ``Dmnl``)."""
        if unit is None:
            return "?"
        items = dict(unit._units)
        if not items:
            return "Dmnl"

        def part(ident, exp):
            name = self._display.get(ident, ident)
            name = f"({name})" if any(c in name for c in "*/ ") and " " not in name else name
            exp = abs(exp)
            if exp == 1:
                return name
            return f"{name}^{int(exp) if float(exp).is_integer() else exp}"

        num = [part(k, v) for k, v in items.items() if v > 0]
        den = [part(k, v) for k, v in items.items() if v < 0]
        text = "*".join(num) if num else "1"
        if den:
            text += "/" + ("/".join(den))
        return text
