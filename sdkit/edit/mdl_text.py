"""A small scanner for Vensim ``.mdl`` text, used to edit numbers in place.

It finds each equation's left-hand side and the character span of its
expression, without touching anything else; offsets always refer to the
original text, so edits are splices.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from sdkit.edit.numbers import format_number
from sdkit.errors import InvalidValueError, UnknownVariableError
from sdkit.model.names import canonical, split_subscripted

__all__ = ["MdlEquation", "scan_mdl", "edit_mdl"]

NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_TOKEN = re.compile(rf"(?P<cont>\\[ \t]*\r?\n)|(?P<ws>\s+)|(?P<sep>[,;])|(?P<num>{NUMBER})"
                    r"|(?P<other>.)", re.S)
_SKETCH = "\\\\\\---///"


@dataclass(frozen=True)
class MdlEquation:
    """One equation of an ``.mdl`` file.

    ``kind`` is ``"eq"`` (``lhs = expr``), ``"lookup"`` (``name( table )``),
    ``"range"`` (``sub: a, b``), ``"equiv"`` or ``"other"``. ``expr_start``
    and ``expr_end`` delimit the expression (or lookup body / range list).
    """

    kind: str
    name: str
    subscripts: tuple[str, ...]
    except_: bool
    expr_start: int
    expr_end: int
    in_macro: bool


def _split_top(text: str, sep: str) -> list[str]:
    parts, depth, cur, quoted = [], 0, [], False
    for ch in text:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in "([":
            depth += 1
        elif not quoted and ch in ")]":
            depth -= 1
        if ch == sep and depth == 0 and not quoted:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur))
    return parts


def _parse_lhs(lhs: str) -> tuple[str, tuple[str, ...], bool]:
    lhs = lhs.replace("\\\n", " ").replace("\\\r\n", " ")
    except_ = ":except:" in lhs.lower()
    if except_:
        lhs = lhs[: lhs.lower().index(":except:")]
    base, sep, rest = lhs.partition("[")
    subs: tuple[str, ...] = ()
    if sep:
        inner = rest.rsplit("]", 1)[0]
        subs = tuple(s.strip() for s in inner.split(",") if s.strip())
    return base.strip(), subs, except_


def _find_op(text: str, start: int, end: int) -> tuple[str, int]:
    """First of ``=``, ``(``, ``:`` (not ``:EXCEPT:``), ``<->`` outside quotes/brackets."""
    quoted, depth, i = False, 0, start
    while i < end:
        ch = text[i]
        if ch == '"':
            quoted = not quoted
        elif not quoted:
            if ch == "[":
                depth += 1
            elif ch == "]":
                depth -= 1
            elif depth == 0:
                if ch == ":" and text[i:i + 8].lower() == ":except:":
                    i += 8
                    continue
                if text.startswith("<->", i):
                    return "<->", i
                if ch in "=(:":
                    return ch, i
        i += 1
    return "", end


def _end_of_expr(text: str, start: int, limit: int) -> int:
    """Index of the ``~`` (or ``|``) ending an expression, skipping quotes and {comments}."""
    quoted, comment, i = False, 0, start
    while i < limit:
        ch = text[i]
        if comment:
            if ch == "}":
                comment -= 1
        elif ch == '"':
            quoted = not quoted
        elif not quoted:
            if ch == "{":
                comment += 1
            elif ch in "~|":
                return i
        i += 1
    return limit


def scan_mdl(text: str) -> list[MdlEquation]:
    """All equations of an ``.mdl`` text, in file order (macro bodies flagged)."""
    limit = text.find(_SKETCH)
    if limit < 0:
        limit = len(text)
    out: list[MdlEquation] = []
    pos, in_macro = 0, False
    while pos < limit:
        while pos < limit and text[pos] in " \t\r\n":
            pos += 1
        if pos >= limit:
            break
        if text[pos] == "{":  # a comment such as {UTF-8}
            close = text.find("}", pos)
            pos = limit if close < 0 else close + 1
            continue
        if text.startswith(":MACRO:", pos) or text.startswith(":END OF MACRO:", pos):
            in_macro = text.startswith(":MACRO:", pos)
            nl = text.find("\n", pos)
            pos = limit if nl < 0 else nl + 1
            continue
        tilde = _end_of_expr(text, pos, limit)
        bar = text.find("|", tilde)
        bar = limit if bar < 0 or bar > limit else bar
        if text[pos] != "*":
            out.append(_classify(text, pos, tilde, in_macro))
        pos = bar + 1
    return out


def _classify(text: str, start: int, tilde: int, in_macro: bool) -> MdlEquation:
    op, at = _find_op(text, start, tilde)
    name, subs, except_ = _parse_lhs(text[start:at])
    if op == "=" and text[at + 1:at + 2] != "=" and text[at - 1] != ":":
        return MdlEquation("eq", name, subs, except_, at + 1, tilde, in_macro)
    if op == "(":
        close = text.rfind(")", at, tilde)
        return MdlEquation("lookup", name, subs, except_, at + 1, max(close, at + 1), in_macro)
    if op == ":" and text[at + 1:at + 2] != "=":
        return MdlEquation("range", name, subs, except_, at + 1, tilde, in_macro)
    if op == "<->":
        return MdlEquation("equiv", name, subs, except_, at + 3, tilde, in_macro)
    return MdlEquation("other", name, subs, except_, start, tilde, in_macro)


# -- subscript ranges ---------------------------------------------------------
def _ranges(text: str, eqs: list[MdlEquation]) -> dict[str, list[str]]:
    raw: dict[str, list[str]] = {}
    equiv: dict[str, str] = {}
    for eq in eqs:
        if eq.kind == "range":
            body = text[eq.expr_start:eq.expr_end].replace("\\\n", " ").split("->")[0]
            elems: list[str] = []
            for item in body.split(","):
                item = item.strip()
                m = re.fullmatch(r"\(\s*([^\d\s]*)(\d+)\s*-\s*\1?(\d+)\s*\)", item)
                if m:
                    elems += [f"{m.group(1)}{k}" for k in range(int(m.group(2)),
                                                                 int(m.group(3)) + 1)]
                elif item:
                    elems.append(item)
            raw[canonical(eq.name)] = elems
        elif eq.kind == "equiv":
            equiv[canonical(eq.name)] = canonical(text[eq.expr_start:eq.expr_end])

    def expand(key: str, seen: frozenset = frozenset()) -> list[str]:
        out: list[str] = []
        for e in raw.get(key, []):
            k = canonical(e)
            if k in raw and k not in seen:
                out += expand(k, seen | {key})
            else:
                out.append(k)
        return out

    ranges = {k: expand(k) for k in raw}
    for k, v in equiv.items():
        if v in ranges:
            ranges[k] = ranges[v]
    return ranges


# -- editing ------------------------------------------------------------------
def _numbers(text: str, start: int, end: int) -> list[re.Match] | None:
    """Number tokens of a constant or a list of constants; None if anything else is there."""
    nums, need_sep = [], False
    for m in _TOKEN.finditer(text, start, end):
        if m.lastgroup == "other":
            return None
        if m.lastgroup == "num":
            if need_sep:
                return None
            nums.append(m)
            need_sep = True
        elif m.lastgroup == "sep":
            need_sep = False
    return nums or None


def _format_table(old_body: str, points: list[tuple[float, float]]) -> str:
    f = format_number
    lead = old_body[: len(old_body) - len(old_body.lstrip())]
    tail = old_body[len(old_body.rstrip()):]
    xs, ys = [x for x, _ in points], [y for _, y in points]
    rng = re.match(rf"\s*\[\(\s*({NUMBER})\s*,\s*({NUMBER})\s*\)\s*-\s*\(\s*({NUMBER})\s*,"
                   rf"\s*({NUMBER})\s*\)", old_body)
    if rng:
        x0, y0, x1, y1 = (float(rng.group(k)) for k in range(1, 5))
        x0, y0 = min(x0, *xs), min(y0, *ys)
        x1, y1 = max(x1, *xs), max(y1, *ys)
    else:
        x0, y0, x1, y1 = min(xs), min(ys), max(xs), max(ys)
    pts = ",".join(f"({f(x)},{f(y)})" for x, y in points)
    return f"{lead}[({f(x0)},{f(y0)})-({f(x1)},{f(y1)})],{pts}{tail}"


def _lookup_body(text: str, eq: MdlEquation) -> tuple[int, int] | None:
    """Span of the table inside a lookup definition or a WITH LOOKUP call."""
    if eq.kind == "lookup":
        return eq.expr_start, eq.expr_end
    expr = text[eq.expr_start:eq.expr_end]
    m = re.match(r"\s*WITH\s+LOOKUP\s*\(", expr, re.I)
    if not m:
        return None
    inner_start = eq.expr_start + m.end()
    args = _split_top(text[inner_start:eq.expr_end].rstrip().rstrip(")"), ",")
    if len(args) < 2:
        return None
    table_at = inner_start + len(args[0]) + 1
    open_at = text.index("(", table_at)
    close_at = text.rfind(")", open_at, eq.expr_end)
    close_at = text.rfind(")", open_at, close_at)
    return open_at + 1, close_at


def _describe(text: str, eq: MdlEquation) -> str:
    return " ".join(text[eq.expr_start:eq.expr_end].replace("\\\n", " ").split())


def edit_mdl(text: str, changes: dict[str, object], *, path: Path) -> str:
    """Apply checked changes to ``.mdl`` text; see :func:`sdkit.edit.edit_model`."""
    eqs = [e for e in scan_mdl(text) if not e.in_macro]
    ranges = _ranges(text, eqs)
    splices: list[tuple[int, int, str]] = []
    for key, value in changes.items():
        base, elems = split_subscripted(key)
        wanted = canonical(base)
        found = [e for e in eqs if e.kind in {"eq", "lookup"} and canonical(e.name) == wanted]
        if not found:
            raise UnknownVariableError(f"{path}: no variable named {base!r}")
        if isinstance(value, list):
            spans = [s for s in (_lookup_body(text, e) for e in found) if s]
            if not spans:
                raise InvalidValueError(f"{path}: {base!r} is not a lookup table: "
                                        f"{_describe(text, found[0])!r}")
            start, end = spans[0]
            splices.append((start, end, _format_table(text[start:end], value)))
            continue
        if any(e.kind == "lookup" for e in found):
            raise InvalidValueError(f"{path}: {base!r} is a lookup table; give (x, y) points")
        start, end = _constant_span(text, found, elems, ranges, key=key, path=path)
        splices.append((start, end, format_number(value)))
    for start, end, new in sorted(splices, reverse=True):
        text = text[:start] + new + text[end:]
    return text


def _constant_span(text, found, elems, ranges, *, key, path) -> tuple[int, int]:
    want = tuple(canonical(e) for e in elems)
    for eq in found:
        nums = _numbers(text, eq.expr_start, eq.expr_end)
        dims = [ranges.get(canonical(s), [canonical(s)]) for s in eq.subscripts]
        if not want:
            if nums is None:
                raise InvalidValueError(f"{path}: {key!r} is not a constant: "
                                        f"{_describe(text, eq)!r}")
            if len(found) > 1 or len(nums) > 1:
                raise InvalidValueError(f"{path}: {key!r} has one value per subscript element; "
                                        f"give one as {key}[element]")
            return nums[0].span()
        if len(dims) != len(want) or eq.except_:
            continue
        if not all(w in d for w, d in zip(want, dims)):
            continue
        if nums is None:
            raise InvalidValueError(f"{path}: {key!r} is not a constant: "
                                    f"{_describe(text, eq)!r}")
        size = 1
        for d in dims:
            size *= len(d)
        if len(nums) == 1 and size > 1:
            raise InvalidValueError(
                f"{path}: {key!r}: every element of {eq.name}[{', '.join(eq.subscripts)}] takes "
                "one value; change the whole variable or define the elements separately")
        if len(nums) != size:
            raise InvalidValueError(f"{path}: {key!r}: {len(nums)} values for {size} elements")
        index = 0
        for w, d in zip(want, dims):
            index = index * len(d) + d.index(w)
        return nums[index].span()
    raise UnknownVariableError(f"{path}: {key!r}: no element {', '.join(elems)} of "
                               f"{found[0].name!r}")
