"""``generate_performance_report``: one dict of everything the collector knows."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Protocol

from medical_insurance_sdk.core.collection.custom_metrics import PerformanceMetric
from medical_insurance_sdk.core.collection.labelled_numbers import LabelledNumbers
from medical_insurance_sdk.core.runtime.config import MetricConfig

__all__ = ["ReportSource", "build_performance_report"]


class ReportSource(Protocol):
    """What the report reads of its collector (a ``MetricsCollector``)."""

    config: MetricConfig
    cache_hit_ratio: LabelledNumbers
    outcome_unknown: LabelledNumbers
    prometheus: object | None

    def now(self) -> float: ...
    def get_api_statistics(self, time_range_minutes: float = 60) -> dict[str, Any]: ...
    def get_system_metrics(self) -> dict[str, Any]: ...
    def connections(self) -> dict[str, float]: ...
    def get_custom_metrics(self) -> list[PerformanceMetric]: ...
    def monitoring_health(self) -> dict[str, Any]: ...


def build_performance_report(collector: ReportSource, hours: float) -> dict[str, Any]:
    """Statistics of the last ``hours``, system figures, gauges, custom metrics, health."""
    return {
        "report_timestamp": datetime.fromtimestamp(collector.now(), timezone.utc).isoformat(),
        "time_range_hours": hours,
        "api_statistics": collector.get_api_statistics(hours * 60.0),
        "system_metrics": collector.get_system_metrics(),
        "active_connections": collector.connections(),
        "cache_hit_ratio": {k[0]: v for k, v in collector.cache_hit_ratio.items()},
        "outcome_unknown": [
            {"api_code": k[0], "org_code": k[1], "count": int(v)}
            for k, v in collector.outcome_unknown.items()
        ],
        "custom_metrics": [m.to_dict() for m in collector.get_custom_metrics()[-100:]],
        "monitoring": collector.monitoring_health(),
        "config": {
            "enabled": collector.config.enabled,
            "prometheus_enabled": collector.prometheus is not None,
            "retention_days": collector.config.retention_days,
            "max_memory_metrics": collector.config.max_memory_metrics,
        },
    }
