"""The reports' capacity section: one row per (series, limit) of a capacity plan.

A series without limits (too little history) has one row with its note. Shared by the
CSV report (a table after the incidents) and the HTML report (with the plan's sentences
above it); the JSON report carries ``CapacityPlan.to_dict(daily=False)``.
"""

from __future__ import annotations

from medical_insurance_sdk.core.analysis.capacity_plan import CapacityPlan
from medical_insurance_sdk.core.analysis.texts import Lang

__all__ = ["CAPACITY_HEADERS", "CAPACITY_TITLE", "capacity_rows"]

CAPACITY_TITLE: dict[Lang, str] = {"zh": "容量规划", "en": "Capacity planning"}

CAPACITY_HEADERS: dict[Lang, tuple[str, ...]] = {
    "zh": (
        "接口编号",
        "机构编号",
        "状态",
        "历史天数",
        "近一周高峰(次/小时)",
        "预测高峰(次/小时)",
        "限制类型",
        "限值",
        "当前值",
        "预测值",
        "结论",
        "预计到达日期",
        "最早到达日期",
        "说明",
    ),
    "en": (
        "api_code",
        "org_code",
        "status",
        "history_days",
        "peak_calls_per_hour",
        "forecast_peak_calls_per_hour",
        "limit",
        "limit_value",
        "current",
        "forecast",
        "verdict",
        "reached_on",
        "earliest_on",
        "message",
    ),
}


def _num(value: float | None, digits: int = 1) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def capacity_rows(plan: CapacityPlan) -> list[list[str]]:
    """One row per limit of each series (one row with the note when it has none)."""
    rows = []
    for s in plan.series:
        head = [
            s.api_code or "*",
            s.org_code or "*",
            s.status,
            f"{s.history_days:.1f}",
            _num(s.peak_calls_per_hour),
            _num(s.forecast_peak_calls_per_hour),
        ]
        if not s.limits:
            rows.append([*head, "", "", "", "", "", "", "", s.note])
        for lim in s.limits:
            rows.append(
                [
                    *head,
                    lim.kind,
                    _num(lim.limit),
                    _num(lim.current_peak),
                    _num(lim.forecast_peak),
                    lim.status,
                    lim.reached_on or "",
                    lim.earliest_on or "",
                    lim.message,
                ]
            )
    return rows
