"""Add a model's elements (variables and lookup tables) to a :class:`~.program.Program`."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import numpy as np
from pysd.translators.structures import abstract_expressions as ae

from sdkit.engine.expressions import (
    Component,
    Unsupported,
    Val,
    align,
    as_pysd_writes,
    compile_expr,
)
from sdkit.engine.nodes import Node

if TYPE_CHECKING:  # annotations only: the program module imports this one
    from sdkit.engine.program import Program

__all__ = ["add_lookup", "add_element", "construct_name", "fill"]


def add_lookup(program: Program, el) -> None:
    comps = el.components
    modes = {c.ast.type for c in comps}
    if len(modes) != 1 or modes - {"interpolate", "extrapolate", "hold_backward"}:
        raise Unsupported(f"lookup {el.name!r} of type {modes}")
    for c in comps:
        x = as_pysd_writes(c.ast.x)
        if np.any(np.diff(x) <= 0):
            raise Unsupported(f"lookup {el.name!r} with unsorted or repeated x values")
    # as PySD: one x axis (the union), each element's gaps filled by interpolation
    xs = np.unique(np.concatenate([as_pysd_writes(c.ast.x) for c in comps]))
    dims = program.dims[el.identifier]
    if not dims:
        ys = as_pysd_writes(comps[0].ast.y)
    else:
        if len(xs) != len(comps[0].ast.x) and modes != {"interpolate"}:
            raise Unsupported(f"subscripted lookup {el.name!r} with differing x values")
        full = program.elcoords[el.identifier]
        ys = np.full((len(xs),) + tuple(len(full[d]) for d in dims), np.nan)
        for c in comps:
            if c.subscripts[1]:
                raise Unsupported(f"lookup {el.name!r} with EXCEPT")
            cd = program.subs.make_coord_dict(c.subscripts[0])
            idx = tuple([full[d].index(e) for e in els] for d, els in zip(dims, cd.values()))
            rows = np.searchsorted(xs, as_pysd_writes(c.ast.x))
            y = as_pysd_writes(c.ast.y).reshape((len(rows),) + (1,) * len(dims))
            block = ys[(slice(None),) + np.ix_(*idx)]
            block[rows] = y
            ys[(slice(None),) + np.ix_(*idx)] = block
        flat = ys.reshape(len(xs), -1)
        for j in range(flat.shape[1]):
            col = flat[:, j]
            known = ~np.isnan(col)
            if not known.any():
                raise Unsupported(f"lookup {el.name!r} not defined for every element")
            col[~known] = np.interp(xs[~known], xs[known], col[known])
        ys = flat.reshape(ys.shape)
    table = program.add_table(xs, ys)
    program.lookups[el.identifier] = (table, xs, ys, modes.pop())


def add_element(program: Program, el) -> None:
    py = el.identifier
    dims = program.dims[py]
    full = program.elcoords[py]
    coords = tuple(tuple(full[d]) for d in dims)
    sizes = tuple(len(c) for c in coords)
    code: dict[str, list[str]] = {"run": [], "init": []}
    deps: dict[str, set[str]] = {"run": set(), "init": set()}
    uses_time = False
    single = len(el.components) == 1 and not el.components[0].subscripts[1]
    for ci, c in enumerate(el.components):
        if type(c.ast) in (ae.GetConstantsStructure, ae.GetDataStructure,
                           ae.GetLookupsStructure, ae.DataStructure,
                           ae.AllocateAvailableStructure, ae.AllocateByPriorityStructure):
            raise Unsupported(construct_name(c.ast))
        if c.type not in ("Auxiliary", "Constant"):
            raise Unsupported(f"{c.type} component of {el.name!r}")
        def_subs = program.subs.make_coord_dict(c.subscripts[0])
        if len(def_subs) != len(dims):
            raise Unsupported(f"{el.name!r}: component subscripts {c.subscripts[0]}")
        for mode in ("run", "init"):
            comp = Component(program, f"{py}_{ci}", def_subs, mode)
            val = compile_expr(c.ast, comp)
            uses_time |= comp.uses_time
            deps[mode] |= comp.deps
            target = tuple(def_subs)
            csizes = tuple(len(v) for v in def_subs.values())
            expr = fill(_rename(val, def_subs), target, csizes)
            if single and tuple(def_subs.values()) == tuple(list(c) for c in coords):
                code[mode].append(f"n_{py} = {expr}")
                continue
            if ci == 0:
                code[mode].append(f"n_{py} = np.full((N,) + {sizes}, np.nan)")
            idx = [[full[d].index(e) for e in els] for d, els in zip(dims, def_subs.values())]
            ix = "(slice(None),) + np.ix_(" + ", ".join(map(repr, idx)) + ")" if idx \
                else "(slice(None),)"
            if c.subscripts[1]:
                mask = np.ones(csizes, bool)
                for exc in c.subscripts[1]:
                    ecd = program.subs.make_coord_dict(exc)
                    sel = []
                    for (_d, els), (_ed, eels) in zip(def_subs.items(), ecd.items()):
                        sel.append([i for i, e in enumerate(els) if e in eels])
                    mask[np.ix_(*sel)] = False
                mname = program.add_constant(mask[None])
                code[mode].append(
                    f"n_{py}[{ix}] = np.where({mname}, {expr}, n_{py}[{ix}])")
            else:
                code[mode].append(f"n_{py}[{ix}] = {expr}")
    program.nodes[py] = Node(py, tuple(dims), coords, code["run"], code["init"],
                             deps["run"], deps["init"], uses_time)


def construct_name(node) -> str:
    """``AllocateByPriorityStructure`` -> ``"ALLOCATE BY PRIORITY"``."""
    name = type(node).__name__.removesuffix("Structure")
    return re.sub(r"(?<!^)(?=[A-Z])", " ", name).upper()


def fill(val: Val, target: tuple[str, ...], sizes: tuple[int, ...]) -> str:
    """Code for `val` as a full ``(lead, *sizes)`` array over `target` labels.

    Arrays whose labels already equal the target are full (every node is
    stored full, and broadcasting full arrays gives full arrays).
    """
    if not val.num and val.labels == target:
        return val.code
    return f"_full({align(val, target)}, {sizes})"


def _rename(val: Val, def_subs: dict) -> Val:
    """Rename axes whose label is not in the definition to a free one of equal length."""
    if val.num:
        return val
    labels = list(val.labels)
    for i, lab in enumerate(labels):
        if lab in def_subs:
            continue
        free = [d for d in def_subs if d not in labels
                and len(def_subs[d]) == len(val.coords[i])]
        if not free:
            raise Unsupported(f"cannot place subscript {lab!r} in {list(def_subs)}")
        labels[i] = free[0]
    return Val(val.code, tuple(labels), val.coords, val.num)
