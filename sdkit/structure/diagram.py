"""Causal loop diagrams drawn from a model file.

:func:`causal_loop_diagram` reads the model's dependency structure through
:func:`sdkit.structure.graph.model_graph` (PySD's abstract model), keeps a set of main
variables and joins them by an arrow wherever one influences the other
through variables left out of the picture. The arrow's polarity is the
product of the link polarities along the way (``?`` where paths disagree or a
link's sign depends on values). The picture is drawn with matplotlib.

The main variables come from the caller, or from a ``[diagram]`` table in the
model's ``<model>.sdkit.toml`` sidecar::

    [diagram]
    title = "IIS model: main feedback structure"
    variables = ["GDP", "Investment", "Productive capital", ...]

and otherwise default to the model's stocks.
"""

from __future__ import annotations

import math
import os
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sdkit.errors import SpecError, UnknownVariableError
from sdkit.io.files import atomic_path
from sdkit.model.load import load_model
from sdkit.model.sidecar import read_sidecar
from sdkit.structure.graph import model_graph

__all__ = ["png_description", "CausalLoopDiagram", "causal_loop_diagram", "aggregate_links"]

_SIGN = {"+": 1, "-": -1}


@dataclass(frozen=True)
class CausalLoopDiagram:
    """What was drawn.

    Attributes
    ----------
    variables : tuple of str
        The main variables, in drawing order.
    stocks : frozenset of str
        Those of them that are stocks (drawn boxed).
    links : tuple of (str, str, str)
        ``(source, target, polarity)`` between main variables.
    path : Path
        The PNG file written.
    """

    variables: tuple[str, ...]
    stocks: frozenset[str]
    links: tuple[tuple[str, str, str], ...]
    path: Path


def _combine(a: str, b: str) -> str:
    if "?" in (a, b):
        return "?"
    return "+" if _SIGN[a] * _SIGN[b] > 0 else "-"


def aggregate_links(graph, variables: Sequence[str]) -> tuple[tuple[str, str, str], ...]:
    """Links between `variables` through any chain of variables not among them.

    Parameters
    ----------
    graph : sdkit.graph.ModelGraph
        The full dependency graph (links used only for initial values are
        ignored).
    variables : sequence of str
        The main variables (model spelling).

    Returns
    -------
    tuple of (source, target, polarity)
        One entry per connected ordered pair; polarity ``+``/``-`` when every
        path agrees, ``?`` otherwise.
    """
    main = set(variables)
    succ: dict[str, list[tuple[str, str]]] = {}
    for link in graph.links:
        if link.kind != "init":
            succ.setdefault(link.source, []).append((link.target, link.polarity))
    found: dict[tuple[str, str], set[str]] = {}
    for start in variables:
        # depth-first over simple paths (no node twice), so loops among the
        # hidden variables do not flip signs
        stack = [(start, "+", iter(succ.get(start, ())))]
        on_path = {start}
        while stack:
            node, sign, it = stack[-1]
            step = next(it, None)
            if step is None:
                stack.pop()
                on_path.discard(node)
                continue
            target, pol = step
            new = _combine(sign, pol)
            if target in main:
                found.setdefault((start, target), set()).add(new)
            elif target not in on_path:
                on_path.add(target)
                stack.append((target, new, iter(succ.get(target, ()))))
    out = []
    for (a, b), signs in found.items():
        out.append((a, b, signs.pop() if len(signs) == 1 else "?"))
    order = {v: i for i, v in enumerate(variables)}
    return tuple(sorted(out, key=lambda x: (order[x[0]], order[x[1]])))


def _sidecar_diagram(model_path: Path) -> dict:
    found = read_sidecar(model_path)
    if found is None:
        return {}
    side, data = found
    table = data.get("diagram", {})
    if not isinstance(table, dict):
        raise SpecError(f"{side}: [diagram] must be a table")
    names = table.get("variables", [])
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise SpecError(f"{side}: [diagram].variables must be a list of names")
    return table


def causal_loop_diagram(model_path: str | os.PathLike, out_png: str | os.PathLike, *,
                        variables: Sequence[str] | None = None, title: str | None = None,
                        overwrite: bool = True) -> CausalLoopDiagram:
    """Draw a causal loop diagram of a model's main variables into a PNG file.

    Parameters
    ----------
    model_path : path-like
        A Vensim or XMILE model.
    out_png : path-like
        The PNG file to write (atomically).
    variables : sequence of str, optional
        Main variables to show. Default: the ``[diagram]`` table of the
        model's sidecar, else the model's stocks.
    title : str, optional
        Figure title (default: the sidecar's, else the file name).
    overwrite : bool, default True
        If False, refuse to replace an existing `out_png`.

    Returns
    -------
    CausalLoopDiagram

    Raises
    ------
    UnknownVariableError
        A requested variable the model does not define.
    SpecError
        A malformed ``[diagram]`` table.

    Examples
    --------
    >>> d = causal_loop_diagram("models/iis.mdl", "models/iis_cld.png")
    >>> ("Investment", "Productive capital", "+") in d.links
    True
    """

    model_path = Path(model_path)
    model = load_model(model_path)
    graph = model_graph(model)
    side = _sidecar_diagram(model_path)
    if variables is None:
        variables = side.get("variables") or sorted(graph.stocks)
    names = []
    for name in variables:
        real = model.real_name(name)  # raises UnknownVariableError with a hint
        if real not in graph.variables:
            raise UnknownVariableError(f"{model_path}: {name!r} is not a model variable")
        names.append(real)
    links = aggregate_links(graph, names)
    stocks = frozenset(n for n in names if n in graph.stocks)
    title = title or side.get("title") or model_path.name
    out = Path(out_png)
    with atomic_path(out, overwrite=overwrite) as tmp:
        _draw(names, stocks, links, title, tmp)
    return CausalLoopDiagram(tuple(names), stocks, links, out)


def _wrap(name: str, width: int = 14) -> str:
    lines, cur = [], ""
    for word in name.split():
        if cur and len(cur) + 1 + len(word) > width:
            lines.append(cur)
            cur = word
        else:
            cur = f"{cur} {word}".strip()
    lines.append(cur)
    return "\n".join(lines)


def _draw(names, stocks, links, title, path: Path) -> None:
    from matplotlib.figure import Figure  # heavy: imported only when needed
    from matplotlib.patches import FancyArrowPatch  # heavy: imported only when needed

    n = len(names)
    pos = {name: (math.cos(math.pi / 2 - 2 * math.pi * i / n),
                  math.sin(math.pi / 2 - 2 * math.pi * i / n)) for i, name in enumerate(names)}
    fig = Figure(figsize=(13, 13))
    ax = fig.add_subplot()
    ax.set_xlim(-1.25, 1.25)
    ax.set_ylim(-1.25, 1.25)
    ax.set_aspect("equal")
    ax.axis("off")
    colors = {"+": "#1f5fa8", "-": "#b2282e", "?": "#777777"}
    for a, b, pol in links:
        if a == b:
            continue
        (x0, y0), (x1, y1) = pos[a], pos[b]
        arrow = FancyArrowPatch((x0, y0), (x1, y1), connectionstyle="arc3,rad=0.12",
                                arrowstyle="-|>", mutation_scale=14, lw=0.9,
                                color=colors[pol], shrinkA=34, shrinkB=34, alpha=0.85)
        ax.add_patch(arrow)
        # polarity mark near the head, nudged to the side the arc bends to
        fx, fy = x0 + 0.78 * (x1 - x0), y0 + 0.78 * (y1 - y0)
        dx, dy = x1 - x0, y1 - y0
        norm = math.hypot(dx, dy) or 1.0
        ax.text(fx + 0.05 * dy / norm, fy - 0.05 * dx / norm, pol, color=colors[pol],
                fontsize=11, fontweight="bold", ha="center", va="center")
    for name in names:
        x, y = pos[name]
        box = dict(boxstyle="square,pad=0.35", fc="#fff6d5", ec="#8a6d00") if name in stocks \
            else dict(boxstyle="round,pad=0.3", fc="white", ec="#bbbbbb")
        ax.text(x, y, _wrap(name), ha="center", va="center", fontsize=9, bbox=box, zorder=3)
    ax.set_title(title, fontsize=14)
    ax.text(-1.22, -1.22, "boxes: stocks; blue +: same direction; red -: opposite; "
            "grey ?: depends on values. Links pass through variables not shown.",
            fontsize=8, color="#444444")
    # the structure drawn, as PNG text: a stale picture is found without comparing pixels
    described = "; ".join(f"{a} -> {b} ({sign})" for a, b, sign in links)
    fig.savefig(path, format="png", dpi=90, bbox_inches="tight",
                metadata={"Software": None, "Description": described})


def png_description(path: str | os.PathLike) -> str:
    """The structure a diagram PNG was drawn from (its ``Description`` text chunk)."""

    data = Path(path).read_bytes()
    pos = 8
    while pos < len(data):
        length = int.from_bytes(data[pos:pos + 4], "big")
        kind = data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + length]
        if kind == b"tEXt" and body.startswith(b"Description\x00"):
            return body.split(b"\x00", 1)[1].decode("latin-1")
        if kind == b"zTXt" and body.startswith(b"Description\x00"):
            return zlib.decompress(body.split(b"\x00", 1)[1][1:]).decode("latin-1")
        if kind == b"iTXt" and body.startswith(b"Description\x00"):
            rest = body.split(b"\x00", 1)[1]
            flag, rest = rest[0], rest[2:]
            rest = rest.split(b"\x00", 2)[2]
            return (zlib.decompress(rest) if flag else rest).decode("utf-8")
        pos += 12 + length
    return ""
