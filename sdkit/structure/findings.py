"""What :func:`sdkit.structure.units.check_model` reports: findings and their report."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

__all__ = ["Finding", "CheckReport"]


@dataclass(frozen=True)
class Finding:
    """One problem found in a model.

    Attributes
    ----------
    severity : str
        ``"error"``, ``"warning"`` or ``"note"`` (fine, for information).
    variable : str
        The variable concerned (as the model writes it).
    message : str
        What is wrong, with the unit expressions involved.
    code : str
        Short kind: ``units``, ``undefined``, ``algebraic-loop``,
        ``no-units``, ``no-doc``, ``unused-input`` (a constant nothing reads),
        ``output`` (computed, never used inside the model), ``bad-units``.
    """

    severity: str
    variable: str
    message: str
    code: str = ""


@dataclass(frozen=True)
class CheckReport:
    """All findings of :func:`check_model` for one model."""

    model: str
    findings: tuple[Finding, ...]

    @property
    def errors(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == "error")

    @property
    def warnings(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == "warning")

    @property
    def notes(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == "note")

    @property
    def ok(self) -> bool:
        """True when there are no errors (warnings allowed)."""
        return not self.errors

    def __iter__(self):
        return iter(self.findings)

    def __len__(self) -> int:
        return len(self.findings)

    def to_frame(self):
        """One row per finding: severity, code, variable, message."""

        return pd.DataFrame([{"severity": f.severity, "code": f.code, "variable": f.variable,
                              "message": f.message} for f in self.findings],
                            columns=["severity", "code", "variable", "message"])

    def summary(self) -> str:
        """Errors first, then warnings, then notes, one line each, and a count."""
        lines = [f"{self.model}: {len(self.errors)} error(s), {len(self.warnings)} warning(s)"
                 + (f", {len(self.notes)} note(s)" if self.notes else "")]
        for f in self.errors + self.warnings + self.notes:
            lines.append(f"  {f.severity:<7} [{f.code}] {f.variable}: {f.message}")
        return "\n".join(lines)
