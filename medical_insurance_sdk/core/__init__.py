"""The monitoring API: ``from medical_insurance_sdk.core import ...`` of the original names.

The original API's names (README, "Monitoring core") keep their signatures and dicts.
Besides those: :func:`batch_job` (a batch run pushed to a Pushgateway),
:class:`Clock` and :class:`ManualClock` (the ``clock=`` of :class:`MetricsCollector`), and
the ``/metrics`` server and multiprocess helpers (:func:`start_metrics_server`,
:class:`MetricsServer`, :func:`multiprocess_registry`, :func:`mark_process_dead`). Those
last four need prometheus_client (the ``[prometheus]`` extra). :class:`AnomalyDetector` gives
causal anomaly scores in [0, 1] of any series; :class:`Baseline` is what
``PerformanceAnalyzer.get_baseline`` returns (what is usual for a series at this hour),
:class:`SeriesAnomaly` what ``get_anomaly_scores`` returns.

Every name is imported on first use (PEP 562 ``__getattr__``): importing a light submodule
(``collection.tracking``, for the client) loads this package first, and must load neither numpy,
the store and the analyzer (so that ``import medical_insurance_sdk`` stays as light as its
clients need) nor prometheus_client (in multiprocess mode it must first be imported after
``PROMETHEUS_MULTIPROC_DIR`` is set).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from medical_insurance_sdk.core.analysis.anomaly import AnomalyDetector
    from medical_insurance_sdk.core.analysis.baselines import Baseline
    from medical_insurance_sdk.core.analysis.capacity_plan import CapacityPlan
    from medical_insurance_sdk.core.analysis.series_anomaly import SeriesAnomaly
    from medical_insurance_sdk.core.batch import batch_job
    from medical_insurance_sdk.core.collection.custom_metrics import PerformanceMetric
    from medical_insurance_sdk.core.collection.records import APICallMetric
    from medical_insurance_sdk.core.collection.rollups import RollupFrame
    from medical_insurance_sdk.core.collection.store import CallSnapshot
    from medical_insurance_sdk.core.collection.tracking import CallTracker
    from medical_insurance_sdk.core.decorator import monitor_api_call
    from medical_insurance_sdk.core.export.metrics_server import MetricsServer, start_metrics_server
    from medical_insurance_sdk.core.export.multiprocess import (
        mark_process_dead,
        multiprocess_registry,
    )
    from medical_insurance_sdk.core.history.prometheus_source import PrometheusSource
    from medical_insurance_sdk.core.history.reader import HistorySource
    from medical_insurance_sdk.core.history.source import MemorySource, RollupSource, SourceError
    from medical_insurance_sdk.core.metrics_collector import (
        MetricsCollector,
        get_metrics_collector,
        initialize_metrics_collector,
        reset_metrics_collector,
    )
    from medical_insurance_sdk.core.performance_analyzer import (
        PerformanceAlert,
        PerformanceAnalyzer,
        PerformanceThreshold,
        PerformanceTrend,
    )
    from medical_insurance_sdk.core.runtime.clock import Clock, ManualClock
    from medical_insurance_sdk.core.runtime.config import MetricConfig

__all__ = [
    "APICallMetric",
    "AnomalyDetector",
    "Baseline",
    "CallSnapshot",
    "CallTracker",
    "CapacityPlan",
    "Clock",
    "HistorySource",
    "ManualClock",
    "MemorySource",
    "MetricConfig",
    "MetricsCollector",
    "MetricsServer",
    "PerformanceAlert",
    "PerformanceAnalyzer",
    "PerformanceMetric",
    "PerformanceThreshold",
    "PerformanceTrend",
    "PrometheusSource",
    "RollupFrame",
    "RollupSource",
    "SeriesAnomaly",
    "SourceError",
    "batch_job",
    "get_metrics_collector",
    "initialize_metrics_collector",
    "mark_process_dead",
    "monitor_api_call",
    "multiprocess_registry",
    "reset_metrics_collector",
    "start_metrics_server",
]

#: Every exported name, by the module defining it (imported on first access).
_LAZY: dict[str, str] = {
    "APICallMetric": "medical_insurance_sdk.core.collection.records",
    "AnomalyDetector": "medical_insurance_sdk.core.analysis.anomaly",
    "Baseline": "medical_insurance_sdk.core.analysis.baselines",
    "CallSnapshot": "medical_insurance_sdk.core.collection.store",
    "CallTracker": "medical_insurance_sdk.core.collection.tracking",
    "CapacityPlan": "medical_insurance_sdk.core.analysis.capacity_plan",
    "Clock": "medical_insurance_sdk.core.runtime.clock",
    "HistorySource": "medical_insurance_sdk.core.history.reader",
    "ManualClock": "medical_insurance_sdk.core.runtime.clock",
    "MemorySource": "medical_insurance_sdk.core.history.source",
    "MetricConfig": "medical_insurance_sdk.core.runtime.config",
    "MetricsCollector": "medical_insurance_sdk.core.metrics_collector",
    "MetricsServer": "medical_insurance_sdk.core.export.metrics_server",
    "PerformanceAlert": "medical_insurance_sdk.core.performance_analyzer",
    "PerformanceAnalyzer": "medical_insurance_sdk.core.performance_analyzer",
    "PerformanceMetric": "medical_insurance_sdk.core.collection.custom_metrics",
    "PerformanceThreshold": "medical_insurance_sdk.core.performance_analyzer",
    "PerformanceTrend": "medical_insurance_sdk.core.performance_analyzer",
    "PrometheusSource": "medical_insurance_sdk.core.history.prometheus_source",
    "RollupFrame": "medical_insurance_sdk.core.collection.rollups",
    "RollupSource": "medical_insurance_sdk.core.history.source",
    "SeriesAnomaly": "medical_insurance_sdk.core.analysis.series_anomaly",
    "SourceError": "medical_insurance_sdk.core.history.source",
    "batch_job": "medical_insurance_sdk.core.batch",
    "get_metrics_collector": "medical_insurance_sdk.core.metrics_collector",
    "initialize_metrics_collector": "medical_insurance_sdk.core.metrics_collector",
    "mark_process_dead": "medical_insurance_sdk.core.export.multiprocess",
    "monitor_api_call": "medical_insurance_sdk.core.decorator",
    "multiprocess_registry": "medical_insurance_sdk.core.export.multiprocess",
    "reset_metrics_collector": "medical_insurance_sdk.core.metrics_collector",
    "start_metrics_server": "medical_insurance_sdk.core.export.metrics_server",
}


def __getattr__(name: str) -> Any:
    """Import a :data:`_LAZY` name on first access (PEP 562)."""
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        if (exc.name or "").partition(".")[0] != "prometheus_client":
            raise
        raise ImportError(
            f"{name} 需要可选依赖 prometheus-client："
            "pip install 'medical-insurance-sdk[prometheus]'",
            name=exc.name,
        ) from exc
    value = getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """The module's names, the not yet imported lazy ones included."""
    return sorted({*globals(), *_LAZY})
