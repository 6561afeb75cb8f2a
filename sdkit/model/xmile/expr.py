"""XMILE equation text to a small syntax tree.

A hand-written precedence parser for the XMILE 1.0 expression language:
numbers, names (plain or ``"quoted"``), subscripts (``K[City]``, ``K[*]``,
``W[Yichang, *]``), calls, ``IF ... THEN ... ELSE ...`` and the operators, in
decreasing precedence::

    ^ (right associative, binds tighter than a unary sign on its left)
    unary + - NOT
    * / MOD
    + -
    < <= > >=
    = <>
    AND
    OR

Keywords and operators are case-insensitive; ``{...}`` is a comment.
The tree is plain frozen dataclasses (:class:`Num`, :class:`Ref`,
:class:`Call`, :class:`Unary`, :class:`Binary`, :class:`If`); turning it into
PySD's abstract structures is :mod:`sdkit.model.xmile.lower`'s job.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sdkit.model.xmile.names import canonical

__all__ = [
    "Num", "Ref", "Call", "Unary", "Binary", "If", "Node",
    "ExpressionSyntaxError", "parse_expression", "WILDCARD",
]

#: the subscript written ``*``: every element of that dimension
WILDCARD = "*"


@dataclass(frozen=True)
class Num:
    """A number literal."""

    value: float


@dataclass(frozen=True)
class Ref:
    """A name, with its canonical spelling and optional subscripts.

    ``subscripts`` is ``None`` for a bare name, else one canonical string
    per position (``"*"`` for a wildcard).
    """

    name: str
    subscripts: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Call:
    """A call ``NAME(args)``; `name` is canonical (lower case, spaces)."""

    name: str
    args: tuple[Node, ...]


@dataclass(frozen=True)
class Unary:
    """``-x``, ``+x`` or ``NOT x``."""

    op: str
    operand: Node


@dataclass(frozen=True)
class Binary:
    """A binary operation; `op` is one of ``^ * / mod + - < <= > >= = <> and or``."""

    op: str
    left: Node
    right: Node


@dataclass(frozen=True)
class If:
    """``IF cond THEN a ELSE b``."""

    cond: Node
    then: Node
    other: Node


Node = Num | Ref | Call | Unary | Binary | If


class ExpressionSyntaxError(ValueError):
    """The equation text is not a valid XMILE expression (with the column)."""

    def __init__(self, message: str, column: int):
        super().__init__(message)
        self.column = column


_TOKEN = re.compile(
    r"""
    (?P<space>\s+|\{[^}]*\})
  | (?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<quoted>"(?:\\.|[^"\\])*")
  | (?P<name>[^\W\d][\w$.]*|[\w$]*\$[\w$.]*)
  | (?P<op><=|>=|<>|//|[-+*/^<>=(),\[\]!])
    """,
    re.VERBOSE | re.UNICODE,
)
_WORD_OPS = {"and", "or", "not", "mod", "if", "then", "else"}


@dataclass(frozen=True)
class _Tok:
    kind: str  # "number" | "name" | "op" | "end"
    text: str
    pos: int


def _tokenize(text: str) -> list[_Tok]:
    toks, pos = [], 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise ExpressionSyntaxError(f"unexpected character {text[pos]!r}", pos + 1)
        kind = m.lastgroup
        if kind == "quoted":
            toks.append(_Tok("name", m.group()[1:-1].replace('\\"', '"'), pos))
        elif kind == "name" and m.group().lower() in _WORD_OPS:
            toks.append(_Tok("op", m.group().lower(), pos))
        elif kind != "space":
            toks.append(_Tok(kind, m.group(), pos))
        pos = m.end()
    toks.append(_Tok("end", "", len(text)))
    return toks


_BINARY_LEVELS = (
    ("or",),
    ("and",),
    ("=", "<>"),
    ("<", "<=", ">", ">="),
    ("+", "-"),
    ("*", "/", "mod", "//"),
)


class _Parser:
    def __init__(self, text: str):
        self.toks = _tokenize(text)
        self.i = 0

    @property
    def tok(self) -> _Tok:
        return self.toks[self.i]

    def take(self, text: str | None = None) -> _Tok:
        tok = self.tok
        if text is not None and not (tok.kind == "op" and tok.text == text):
            found = tok.text or "end of equation"
            raise ExpressionSyntaxError(f"expected {text!r}, found {found!r}", tok.pos + 1)
        self.i += 1
        return tok

    def at(self, *texts: str) -> bool:
        return self.tok.kind == "op" and self.tok.text in texts

    def parse(self) -> Node:
        node = self.binary(0)
        if self.tok.kind != "end":
            raise ExpressionSyntaxError(f"unexpected {self.tok.text!r}", self.tok.pos + 1)
        return node

    def binary(self, level: int) -> Node:
        if level == len(_BINARY_LEVELS):
            return self.unary()
        node = self.binary(level + 1)
        while self.at(*_BINARY_LEVELS[level]):
            op = self.take().text
            if op == "//":
                raise ExpressionSyntaxError("integer division '//' is not supported",
                                            self.toks[self.i - 1].pos + 1)
            node = Binary(op, node, self.binary(level + 1))
        return node

    def unary(self) -> Node:
        if self.at("-", "+", "not"):
            op = self.take().text
            return Unary(op, self.unary())
        return self.power()

    def power(self) -> Node:
        base = self.postfix()
        if self.at("^"):
            self.take()
            return Binary("^", base, self.unary())  # right associative
        return base

    def postfix(self) -> Node:
        tok = self.tok
        if tok.kind == "number":
            self.take()
            return Num(float(tok.text))
        if self.at("("):
            self.take()
            node = self.binary(0)
            self.take(")")
            return node
        if self.at("if"):
            self.take()
            cond = self.binary(0)
            self.take("then")
            then = self.binary(0)
            self.take("else")
            return If(cond, then, self.binary(0))
        if tok.kind != "name":
            found = tok.text or "end of equation"
            raise ExpressionSyntaxError(f"unexpected {found!r}", tok.pos + 1)
        self.take()
        name = canonical(tok.text)
        if self.at("("):
            self.take()
            args = []
            if not self.at(")"):
                args.append(self.binary(0))
                while self.at(","):
                    self.take()
                    args.append(self.binary(0))
            self.take(")")
            return Call(name, tuple(args))
        if self.at("["):
            self.take()
            subs = [self.subscript()]
            while self.at(","):
                self.take()
                subs.append(self.subscript())
            self.take("]")
            return Ref(name, tuple(subs))
        return Ref(name)

    def subscript(self) -> str:
        if self.at("*"):
            self.take()
            return WILDCARD
        tok = self.take()
        if tok.kind == "number" and float(tok.text).is_integer():
            return str(int(float(tok.text)))
        if tok.kind != "name":
            raise ExpressionSyntaxError(
                f"expected a dimension or element name in [...], found {tok.text!r}",
                tok.pos + 1)
        if self.at("!"):  # Vensim-style reduction mark some exporters keep
            self.take()
            return canonical(tok.text) + "!"
        return canonical(tok.text)


def parse_expression(text: str) -> Node:
    """Parse one XMILE equation.

    Raises
    ------
    ExpressionSyntaxError
        With the 1-based column of the problem in ``.column``.
    """
    return _Parser(text).parse()
