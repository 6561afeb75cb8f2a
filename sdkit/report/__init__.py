"""Planner's reports: configuration, figures, tables and the report writer.

Front door::

    from sdkit.report import read_report_config, ReportInputs, write_report
    index = write_report(ReportInputs(config, scenarios, titles, ...), "reports/iis")

The names below are imported when first used (PEP 562 ``__getattr__``): a module
that needs only :mod:`sdkit.report.units` (``sdkit run``'s summary) does not load
the renderer, jinja2 and the figure code with it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # for type checkers and IDEs; nothing is imported at run time
    from sdkit.report.config import Indicator, ReportConfig, read_report_config
    from sdkit.report.render import ReportInputs, write_report

#: public name -> the module that defines it (imported on first use)
_LAZY: dict[str, str] = {
    "Indicator": "sdkit.report.config",
    "ReportConfig": "sdkit.report.config",
    "read_report_config": "sdkit.report.config",
    "ReportInputs": "sdkit.report.render",
    "write_report": "sdkit.report.render",
}

__all__ = ["Indicator", "ReportConfig", "read_report_config", "ReportInputs", "write_report"]


def __getattr__(name: str):
    """Import a public name on first use (PEP 562)."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'sdkit.report' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
