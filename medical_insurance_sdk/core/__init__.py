"""The seed's monitoring API: ``from medical_insurance_sdk.core import ...`` works as written."""

from medical_insurance_sdk.core.config import MetricConfig
from medical_insurance_sdk.core.custom_metrics import PerformanceMetric
from medical_insurance_sdk.core.metrics_collector import (
    MetricsCollector,
    get_metrics_collector,
    initialize_metrics_collector,
)
from medical_insurance_sdk.core.performance_analyzer import (
    PerformanceAlert,
    PerformanceAnalyzer,
    PerformanceThreshold,
    PerformanceTrend,
)
from medical_insurance_sdk.core.records import APICallMetric
from medical_insurance_sdk.core.store import CallSnapshot
from medical_insurance_sdk.core.tracking import CallTracker, monitor_api_call

__all__ = [
    "APICallMetric",
    "CallSnapshot",
    "CallTracker",
    "MetricConfig",
    "MetricsCollector",
    "PerformanceAlert",
    "PerformanceAnalyzer",
    "PerformanceMetric",
    "PerformanceThreshold",
    "PerformanceTrend",
    "get_metrics_collector",
    "initialize_metrics_collector",
    "monitor_api_call",
]
