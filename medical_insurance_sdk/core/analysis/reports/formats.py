"""Report rendering: JSON (everything), CSV (one row per API, :mod:`.csv_report`) and HTML
(self-contained, :mod:`.html_report`).

No report contains personal data: they are built from the typed analysis only (codes,
counts, latencies, scores, alerts), never from stored error messages or request data.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from typing import Any

from medical_insurance_sdk.core.analysis.alerts import PerformanceAlert
from medical_insurance_sdk.core.analysis.overview import SystemOverview
from medical_insurance_sdk.core.analysis.reports.csv_report import (
    CSV_HEADERS,
    csv_rows,
    csv_safe_row,
)
from medical_insurance_sdk.core.analysis.reports.html_report import render_html
from medical_insurance_sdk.core.analysis.texts import Lang

__all__ = ["REPORT_FORMATS", "render_report", "report_dict"]

REPORT_FORMATS: tuple[str, ...] = ("json", "csv", "html")


def report_dict(
    overview: SystemOverview, history: Sequence[PerformanceAlert], lang: Lang
) -> dict[str, Any]:
    """The full report structure (the JSON report)."""
    return {
        "report_type": "medical_insurance_performance_report",
        "language": lang,
        "generated_at": overview.to_dict()["timestamp"],
        "time_range_hours": overview.time_range_minutes / 60.0,
        "overview": overview.to_dict(full=True),
        "alert_history": [a.to_dict() for a in history],
    }


def _csv(overview: SystemOverview, lang: Lang) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_HEADERS[lang])
    writer.writerows(csv_safe_row(row) for row in csv_rows(overview))
    return out.getvalue()


def render_report(
    overview: SystemOverview, history: Sequence[PerformanceAlert], fmt: str, lang: Lang
) -> str:
    """The report as text in ``fmt`` (``json``, ``csv`` or ``html``)."""
    if fmt == "json":
        return json.dumps(
            report_dict(overview, history, lang), ensure_ascii=False, indent=2, allow_nan=False
        )
    if fmt == "csv":
        return _csv(overview, lang)
    if fmt == "html":
        return render_html(overview, history, lang)
    raise ValueError(f"report format must be one of {', '.join(REPORT_FORMATS)} (got {fmt!r})")
