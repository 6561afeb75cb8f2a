"""Planner's reports: configuration, figures, tables and the report writer.

Front door::

    from sdkit.report import read_report_config, ReportInputs, write_report
    index = write_report(ReportInputs(config, scenarios, titles, ...), "reports/iis")

The names below are imported when first used (PEP 562 ``__getattr__``): a module
that needs only :mod:`sdkit.report.units` (``sdkit run``'s summary) does not load
the renderer, jinja2 and the figure code with it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sdkit.lazy import lazy_names as _lazy_names

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

__getattr__, __dir__ = _lazy_names(__name__, globals(), _LAZY, __all__)
