"""How sdkit writes numbers back into model files."""

from __future__ import annotations

__all__ = ["format_number"]


def format_number(value: float) -> str:
    """Shortest text that reads back as `value` (``20.0`` -> ``"20"``)."""
    value = float(value)
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)
