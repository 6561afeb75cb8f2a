"""Planner's reports: configuration, figures, tables and the report writer.

Front door::

    from sdkit.report import read_report_config, ReportInputs, write_report
    index = write_report(ReportInputs(config, scenarios, titles, ...), "reports/iis")
"""

from __future__ import annotations

from sdkit.report.config import Indicator, ReportConfig, read_report_config
from sdkit.report.render import ReportInputs, write_report

__all__ = ["Indicator", "ReportConfig", "read_report_config", "ReportInputs", "write_report"]
