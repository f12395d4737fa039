"""Report rendering: JSON (everything), CSV (one row per API, then the incidents and the
capacity plan, :mod:`.csv_report`, :mod:`.capacity_report`) and HTML (self-contained,
:mod:`.html_report`).

Given the window's incidents
(:func:`~medical_insurance_sdk.core.analysis.incidents.find_incidents`), a report lists
them with start and end, and its "active alerts" are the incidents still open at the end
of its window (:func:`with_incidents`), not the conditions of the whole window at once.

No report contains personal data: they are built from the typed analysis only (codes,
counts, latencies, scores, alerts), never from stored error messages or request data.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from medical_insurance_sdk.core.analysis.alerts import PerformanceAlert
from medical_insurance_sdk.core.analysis.capacity_plan import CapacityPlan
from medical_insurance_sdk.core.analysis.incidents import Incident, open_alerts
from medical_insurance_sdk.core.analysis.overview import SystemOverview
from medical_insurance_sdk.core.analysis.reports.capacity_report import (
    CAPACITY_HEADERS,
    capacity_rows,
)
from medical_insurance_sdk.core.analysis.reports.csv_report import (
    CSV_HEADERS,
    INCIDENT_HEADERS,
    csv_rows,
    csv_safe_row,
    incident_rows,
)
from medical_insurance_sdk.core.analysis.reports.html_report import render_html
from medical_insurance_sdk.core.analysis.texts import Lang

__all__ = ["REPORT_FORMATS", "render_report", "report_dict", "with_incidents"]

REPORT_FORMATS: tuple[str, ...] = ("json", "csv", "html")


def with_incidents(overview: SystemOverview, incidents: Sequence[Incident]) -> SystemOverview:
    """``overview`` whose active alerts (overall and per API) are the open incidents."""
    active = open_alerts(list(incidents), overview.timestamp)
    by_api: dict[str, list[PerformanceAlert]] = {}
    for alert in active:
        by_api.setdefault(alert.api_code, []).append(alert)
    return replace(
        overview,
        apis=[a.with_alerts(by_api.get(a.api_code, [])) for a in overview.apis],
        active_alerts=active,
    )


def report_dict(
    overview: SystemOverview,
    history: Sequence[PerformanceAlert],
    lang: Lang,
    incidents: Sequence[Incident] = (),
    capacity: CapacityPlan | None = None,
) -> dict[str, Any]:
    """The full report structure (the JSON report)."""
    out = {
        "report_type": "medical_insurance_performance_report",
        "language": lang,
        "generated_at": overview.to_dict()["timestamp"],
        "time_range_hours": overview.time_range_minutes / 60.0,
        "overview": overview.to_dict(full=True),
        "incidents": [i.to_dict() for i in incidents],
        "alert_history": [a.to_dict() for a in history],
    }
    if capacity is not None:
        out["capacity"] = capacity.to_dict(daily=False)
    return out


def _csv(
    overview: SystemOverview,
    lang: Lang,
    incidents: Sequence[Incident],
    capacity: CapacityPlan | None,
) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_HEADERS[lang])
    writer.writerows(csv_safe_row(row) for row in csv_rows(overview))
    if incidents:  # a second table after a blank row
        writer.writerow([])
        writer.writerow(INCIDENT_HEADERS[lang])
        writer.writerows(csv_safe_row(row) for row in incident_rows(incidents))
    if capacity is not None:  # the capacity plan's table, after a blank row
        writer.writerow([])
        writer.writerow(CAPACITY_HEADERS[lang])
        writer.writerows(csv_safe_row(row) for row in capacity_rows(capacity))
    return out.getvalue()


def render_report(
    overview: SystemOverview,
    history: Sequence[PerformanceAlert],
    fmt: str,
    lang: Lang,
    incidents: Sequence[Incident] | None = None,
    capacity: CapacityPlan | None = None,
) -> str:
    """The report as text in ``fmt`` (``json``, ``csv`` or ``html``).

    With ``incidents`` (those of the report's window), the report lists them and its
    active alerts are the ones still open at the end of the window. With ``capacity``
    it has a capacity-planning section.
    """
    found: Sequence[Incident] = ()
    if incidents is not None:
        overview, found = with_incidents(overview, incidents), incidents
    if fmt == "json":
        return json.dumps(
            report_dict(overview, history, lang, found, capacity),
            ensure_ascii=False,
            indent=2,
            allow_nan=False,
        )
    if fmt == "csv":
        return _csv(overview, lang, found, capacity)
    if fmt == "html":
        return render_html(overview, history, lang, found, capacity)
    raise ValueError(f"report format must be one of {', '.join(REPORT_FORMATS)} (got {fmt!r})")
