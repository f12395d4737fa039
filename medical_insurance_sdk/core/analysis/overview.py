"""The system overview: every API's analysis, an overall score and an alert summary."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from medical_insurance_sdk.core.analysis.alerts import Observation, PerformanceAlert, iso
from medical_insurance_sdk.core.analysis.api_analysis import ApiAnalysis, analyze_calls
from medical_insurance_sdk.core.analysis.conditions import (
    AlertPolicy,
    observe,
    observed_concurrency,
)
from medical_insurance_sdk.core.analysis.descriptive import group_slices, latency_order
from medical_insurance_sdk.core.analysis.scoring import grade_of
from medical_insurance_sdk.core.analysis.texts import Lang
from medical_insurance_sdk.core.analysis.thresholds import PerformanceThreshold
from medical_insurance_sdk.core.analysis.timeseries import TimeSeries
from medical_insurance_sdk.core.collection.store import CallSnapshot

__all__ = [
    "ANALYSIS_COLUMNS",
    "SystemOverview",
    "alert_summary",
    "analyze_all",
]


#: The columns the analysis reads: its snapshots copy only these.
ANALYSIS_COLUMNS = frozenset({"timestamp", "duration", "api", "org", "error", "success"})


def analyze_all(
    snap: CallSnapshot,
    minutes: float,
    now: float,
    threshold_for: Callable[[str], PerformanceThreshold],
    policy: AlertPolicy,
    lang: Lang,
) -> tuple[list[ApiAnalysis], list[Observation]]:
    """Analyse every API with calls in ``snap`` (sorted by code) and observe its alerts."""
    order, groups = group_slices(snap.api)
    ordered = snap.take(order)  # one gather; every API is then a contiguous view
    analyses: list[ApiAnalysis] = []
    observations: list[Observation] = []
    for api_index, a, b in groups:
        code = snap.api_codes[api_index]
        part = ordered.rows(a, b)  # store (time) order: cheap concurrency sorts
        by_latency = latency_order(part.duration)
        threshold = threshold_for(code)
        observed = observe(part, code, threshold, policy, lang, by_latency)
        most = observed_concurrency(observed)
        analyses.append(analyze_calls(part, code, minutes, now, threshold, lang, by_latency, most))
        observations.extend(observed)
    analyses.sort(key=lambda x: x.api_code)
    return analyses, observations


def alert_summary(alerts: list[PerformanceAlert]) -> dict[str, Any]:
    """Counts of active alerts by severity and type."""
    by_severity = {"critical": 0, "warning": 0}
    by_type: dict[str, int] = {}
    for alert in alerts:
        by_severity[alert.severity] = by_severity.get(alert.severity, 0) + 1
        by_type[alert.alert_type] = by_type.get(alert.alert_type, 0) + 1
    return {
        "active": len(alerts),
        "by_severity": by_severity,
        "by_type": dict(sorted(by_type.items())),
    }


@dataclass(frozen=True)
class SystemOverview:
    """All APIs in one window; the overall score is the call-weighted mean of API scores."""

    time_range_minutes: float
    timestamp: float
    apis: list[ApiAnalysis]
    series: TimeSeries | None  # system-wide buckets, when asked for (reports)
    active_alerts: list[PerformanceAlert] = field(default_factory=list)

    @property
    def total_calls(self) -> int:
        return sum(a.basic_stats.total_calls for a in self.apis)

    @property
    def successful_calls(self) -> int:
        return sum(a.basic_stats.successful_calls for a in self.apis)

    @property
    def overall_score(self) -> float:
        """Call-weighted mean of the APIs' total scores (0 when there are no calls)."""
        total = self.total_calls
        if not total:
            return 0.0
        weighted = sum(
            a.performance_score.total_score * a.basic_stats.total_calls for a in self.apis
        )
        return round(weighted / total, 1)

    def to_dict(self, *, full: bool = False) -> dict[str, Any]:
        """The overview; ``full`` adds each API's whole analysis (reports)."""
        total = self.total_calls
        ok = self.successful_calls
        return {
            "time_range_minutes": self.time_range_minutes,
            "timestamp": iso(self.timestamp),
            "status": "analyzed" if total else "no_data",
            "total_calls": total,
            "successful_calls": ok,
            "failed_calls": total - ok,
            "success_rate": ok / total if total else 0.0,
            "overall_score": self.overall_score,
            "overall_grade": grade_of(self.overall_score) if total else "F",
            "api_count": len(self.apis),
            "apis": {a.api_code: _row(a, full) for a in self.apis},
            **({"time_series_analysis": self.series.to_dict()} if self.series else {}),
            "alert_summary": alert_summary(self.active_alerts),
            "active_alerts": [x.to_dict() for x in self.active_alerts],
        }


def _row(analysis: ApiAnalysis, full: bool) -> dict[str, Any]:
    if full:
        return analysis.to_dict()
    b, rt, s = analysis.basic_stats, analysis.response_time_stats, analysis.performance_score
    return {
        "total_calls": b.total_calls,
        "success_rate": b.success_rate,
        "p50_ms": rt.median,
        "p95_ms": rt.p95,
        "p99_ms": rt.p99,
        "total_score": s.total_score,
        "grade": s.grade,
        "active_alerts": len(analysis.alerts),
        "recommendations": [r.message for r in analysis.recommendations],
    }
