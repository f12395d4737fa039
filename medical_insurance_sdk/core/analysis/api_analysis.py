"""One API's analysis over a window: the typed result and the function computing it."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from medical_insurance_sdk.core.analysis.alerts import PerformanceAlert, iso
from medical_insurance_sdk.core.analysis.descriptive import (
    BasicStats,
    ErrorAnalysis,
    ResponseTimeStats,
    basic_stats,
    error_analysis,
    latency_order,
    response_time_stats,
)
from medical_insurance_sdk.core.analysis.recommendations import Recommendation, recommend
from medical_insurance_sdk.core.analysis.scoring import PerformanceScore, score_calls
from medical_insurance_sdk.core.analysis.texts import Lang
from medical_insurance_sdk.core.analysis.thresholds import PerformanceThreshold
from medical_insurance_sdk.core.analysis.timeseries import TimeSeries, time_series
from medical_insurance_sdk.core.collection.store import CallSnapshot

__all__ = ["ApiAnalysis", "analyze_calls"]


@dataclass(frozen=True)
class ApiAnalysis:
    """Everything known about one API in one window; :meth:`to_dict` is the original API's dict."""

    api_code: str
    time_range_minutes: float
    analysis_timestamp: float
    status: str  # 'analyzed' | 'no_data'
    threshold: PerformanceThreshold
    basic_stats: BasicStats
    response_time_stats: ResponseTimeStats
    error_analysis: ErrorAnalysis
    time_series: TimeSeries
    performance_score: PerformanceScore
    recommendations: list[Recommendation] = field(default_factory=list)
    alerts: list[PerformanceAlert] = field(default_factory=list)

    def with_alerts(self, alerts: list[PerformanceAlert]) -> ApiAnalysis:
        """A copy carrying ``alerts`` (the API's active alerts after evaluation)."""
        return replace(self, alerts=list(alerts))

    def to_dict(self) -> dict[str, Any]:
        score = self.performance_score.to_dict()
        score["recommendations"] = [r.message for r in self.recommendations]
        return {
            "api_code": self.api_code,
            "time_range_minutes": self.time_range_minutes,
            "analysis_timestamp": iso(self.analysis_timestamp),
            "status": self.status,
            "threshold": self.threshold.to_dict(),
            "basic_stats": self.basic_stats.to_dict(),
            "response_time_stats": self.response_time_stats.to_dict(),
            "error_analysis": self.error_analysis.to_dict(),
            "time_series_analysis": self.time_series.to_dict(),
            "performance_score": score,
            "recommendations": [r.to_dict() for r in self.recommendations],
            "alerts": [a.to_dict() for a in self.alerts],
        }


def analyze_calls(
    snap: CallSnapshot,
    api_code: str,
    minutes: float,
    now: float,
    threshold: PerformanceThreshold,
    lang: Lang = "zh",
    by_latency: npt.NDArray[np.intp] | None = None,
    max_concurrent: int | None = None,
) -> ApiAnalysis:
    """Analyse ``snap``: the calls of ``api_code`` in the window ``[now - minutes, now]``.

    ``by_latency`` is ``argsort(snap.duration)`` and ``max_concurrent`` the most calls
    one org had in flight (see :func:`observed_concurrency`); computed when not given.
    """
    ms = snap.duration_ms
    order = latency_order(ms) if by_latency is None else by_latency
    basic = basic_stats(snap, max_concurrent)
    rt = response_time_stats(ms, order)
    errors = error_analysis(snap)
    series = time_series(snap, minutes, now, order)
    p50 = rt.median
    score = score_calls(ms, snap.success, threshold, p50, rt.p99)
    recs = (
        recommend(api_code, basic, rt, errors, series.response_time_trend, threshold, lang)
        if len(snap)
        else []
    )
    return ApiAnalysis(
        api_code=api_code,
        time_range_minutes=minutes,
        analysis_timestamp=now,
        status="analyzed" if len(snap) else "no_data",
        threshold=threshold,
        basic_stats=basic,
        response_time_stats=rt,
        error_analysis=errors,
        time_series=series,
        performance_score=score,
        recommendations=recs,
    )
