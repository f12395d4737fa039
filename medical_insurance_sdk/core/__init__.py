"""The monitoring API: ``from medical_insurance_sdk.core import ...`` of the original names.

The original API's names (README, "Monitoring core") keep their signatures and dicts.

Besides those: :func:`batch_job` (a batch run pushed to a Pushgateway),
:class:`Clock` and :class:`ManualClock` (the ``clock=`` of :class:`MetricsCollector`), and
the ``/metrics`` server and multiprocess helpers (:func:`start_metrics_server`,
:class:`MetricsServer`, :func:`multiprocess_registry`, :func:`mark_process_dead`). Those
last four need prometheus_client (the ``[prometheus]`` extra) and are imported on first
use (PEP 562), so that importing this package never imports prometheus_client: in
multiprocess mode it must first be imported after ``PROMETHEUS_MULTIPROC_DIR`` is set.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from medical_insurance_sdk.core.batch import batch_job
from medical_insurance_sdk.core.clock import Clock, ManualClock
from medical_insurance_sdk.core.config import MetricConfig
from medical_insurance_sdk.core.custom_metrics import PerformanceMetric
from medical_insurance_sdk.core.decorator import monitor_api_call
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
from medical_insurance_sdk.core.records import APICallMetric
from medical_insurance_sdk.core.store import CallSnapshot
from medical_insurance_sdk.core.tracking import CallTracker

if TYPE_CHECKING:
    from medical_insurance_sdk.core.metrics_server import MetricsServer, start_metrics_server
    from medical_insurance_sdk.core.multiprocess import mark_process_dead, multiprocess_registry

__all__ = [
    "APICallMetric",
    "CallSnapshot",
    "CallTracker",
    "Clock",
    "ManualClock",
    "MetricConfig",
    "MetricsCollector",
    "MetricsServer",
    "PerformanceAlert",
    "PerformanceAnalyzer",
    "PerformanceMetric",
    "PerformanceThreshold",
    "PerformanceTrend",
    "batch_job",
    "get_metrics_collector",
    "initialize_metrics_collector",
    "mark_process_dead",
    "monitor_api_call",
    "multiprocess_registry",
    "reset_metrics_collector",
    "start_metrics_server",
]

#: Names imported on first access, by the module defining them (they need prometheus_client).
_LAZY: dict[str, str] = {
    "MetricsServer": "medical_insurance_sdk.core.metrics_server",
    "start_metrics_server": "medical_insurance_sdk.core.metrics_server",
    "mark_process_dead": "medical_insurance_sdk.core.multiprocess",
    "multiprocess_registry": "medical_insurance_sdk.core.multiprocess",
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
