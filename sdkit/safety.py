"""Guards against model files whose text would reach generated Python code.

PySD writes model text (documentation, units, names, lookup text) into the
Python module it generates and then imports it. sdkit checks every such text
field before translation; see ``docs/guarantees.md``.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["check_model_text", "check_abstract_model"]


def check_model_text(text: str, path: Path, fmt: str) -> None:
    """Check raw model text before parsing (filled in by the safety work)."""


def check_abstract_model(abstract, path: Path) -> None:
    """Check every text field of an abstract model before code generation."""
