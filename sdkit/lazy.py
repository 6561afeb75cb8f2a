"""Names a package imports on first use (PEP 562), for light front doors.

A package whose front door re-exports heavy modules keeps its import cheap::

    __getattr__, __dir__ = lazy_names(__name__, globals(), _LAZY, __all__)

where ``_LAZY`` maps each public name to the module that defines it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence

__all__ = ["lazy_names"]


def lazy_names(package: str, namespace: dict, table: Mapping[str, str],
               public: Sequence[str]) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for `package`: each name of `table` imported on first use.

    Parameters
    ----------
    package : str
        The package's ``__name__`` (for the error message).
    namespace : dict
        The package's ``globals()``: a name, once imported, is kept there.
    table : mapping
        Public name -> the module that defines it.
    public : sequence of str
        The package's ``__all__`` (listed by ``dir()``).
    """

    def __getattr__(name: str):
        module = table.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(public))

    return __getattr__, __dir__
