"""The nodes of a compiled program: what each computes and what it reads."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Node", "Stateful"]


@dataclass
class Node:
    """One computed quantity: statements per pass and what they read."""

    name: str
    labels: tuple[str, ...]
    coords: tuple[tuple[str, ...], ...]
    run_code: list[str]
    init_code: list[str]
    run_deps: set[str]
    init_deps: set[str]
    uses_time: bool = False
    stateful: Stateful | None = None


@dataclass
class Stateful:
    """A stateful function (INTEG, SMOOTH, DELAY, ...) on one component."""

    kind: str
    args: dict[str, str]  # role -> argument node name
    order: str | None = None  # code of a static order argument
    non_negative: bool = False
    dyn_deps: set[str] = field(default_factory=set)
