"""The CSV report's rows (one per API, then one per incident), and cells made safe for a
spreadsheet.

Incident times are UTC ISO 8601 (the end is empty while the incident is open).

CSV cells are neutralised against formula injection (OWASP "CSV injection"): a text cell
that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is prefixed with
``'`` so that a spreadsheet shows it as text instead of evaluating it. A cell that is a
plain number (``-12``, ``+3.5``, ``-1e-3``, ``-0.5%``) is left as it is, so genuine
negative figures stay numeric. The API code is the text a caller chooses freely
(``record_api_call("=HYPERLINK(...)", ...)``), so every CSV writer of the package
passes its rows through :func:`csv_safe_row`. The HTML report shows the same rows.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from medical_insurance_sdk.core.analysis.alerts import iso
from medical_insurance_sdk.core.analysis.incidents import Incident
from medical_insurance_sdk.core.analysis.overview import SystemOverview
from medical_insurance_sdk.core.analysis.texts import Lang
from medical_insurance_sdk.core.analysis.thresholds import api_name

__all__ = [
    "CSV_HEADERS",
    "INCIDENT_HEADERS",
    "csv_rows",
    "csv_safe",
    "csv_safe_row",
    "incident_rows",
]

CSV_HEADERS: dict[Lang, tuple[str, ...]] = {
    "zh": (
        "接口编号",
        "接口名称",
        "调用次数",
        "成功率",
        "P50(ms)",
        "P95(ms)",
        "P99(ms)",
        "性能评分",
        "等级",
        "活动告警",
    ),
    "en": (
        "api_code",
        "name",
        "calls",
        "success_rate",
        "p50_ms",
        "p95_ms",
        "p99_ms",
        "score",
        "grade",
        "active_alerts",
    ),
}

INCIDENT_HEADERS: dict[Lang, tuple[str, ...]] = {
    "zh": (
        "开始时间(UTC)",
        "结束时间(UTC)",
        "告警类型",
        "接口编号",
        "机构编号",
        "最高级别",
        "峰值",
        "阈值",
        "调用次数",
        "失败次数",
        "系统错误",
        "结果未知",
    ),
    "en": (
        "start_utc",
        "end_utc",
        "type",
        "api_code",
        "org_code",
        "peak_severity",
        "peak_value",
        "threshold",
        "calls",
        "failures",
        "system_errors",
        "outcome_unknown",
    ),
}


#: First characters a spreadsheet may read as the start of a formula (OWASP).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
#: A plain number, optionally signed and with a trailing percent sign.
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?%?")


def csv_safe(cell: str) -> str:
    """``cell`` made safe for a spreadsheet: a formula-like text gets a leading ``'``.

    Plain numbers (``-12.5``, ``+3``, ``-0.5%``) are kept, so negative figures stay numeric.
    """
    if cell.startswith(_FORMULA_START) and not _PLAIN_NUMBER.fullmatch(cell):
        return "'" + cell
    return cell


def csv_safe_row(row: Sequence[object]) -> list[object]:
    """A CSV row with every text cell passed through :func:`csv_safe` (numbers kept)."""
    return [csv_safe(cell) if isinstance(cell, str) else cell for cell in row]


def csv_rows(overview: SystemOverview) -> list[list[str]]:
    """One row per API: code, name, calls, success %, p50/p95/p99, score, grade, alerts."""
    rows = []
    for a in overview.apis:
        b, rt, s = a.basic_stats, a.response_time_stats, a.performance_score
        rows.append(
            [
                a.api_code,
                api_name(a.api_code),
                str(b.total_calls),
                f"{b.success_rate * 100:.2f}%",
                f"{rt.median:.1f}",
                f"{rt.p95:.1f}",
                f"{rt.p99:.1f}",
                f"{s.total_score:.1f}",
                s.grade,
                str(len(a.alerts)),
            ]
        )
    return rows


def incident_rows(incidents: Sequence[Incident]) -> list[list[str]]:
    """One row per incident: start, end (empty while open), type, API, org, figures."""
    return [
        [
            iso(i.start),
            "" if i.end is None else iso(i.end),
            i.alert_type,
            i.api_code,
            i.org_code,
            i.severity,
            f"{i.peak_value:.4g}",
            f"{i.threshold:g}",
            str(i.calls),
            str(i.failures),
            str(i.system_errors),
            str(i.outcome_unknown),
        ]
        for i in incidents
    ]
