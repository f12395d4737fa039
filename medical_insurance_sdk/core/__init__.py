"""The seed's monitoring API: ``from medical_insurance_sdk.core import ...`` works as written.

The names are imported on first use (PEP 562 ``__getattr__``): importing a light
submodule (``core.redaction`` for the exceptions, ``core.tracking`` for the client)
loads this package first, and must not load numpy, the store and the analyzer with it,
so that ``import medical_insurance_sdk`` stays as light as its clients need.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

_MODULE_OF = {
    "APICallMetric": "records",
    "CallSnapshot": "store",
    "CallTracker": "tracking",
    "MetricConfig": "config",
    "MetricsCollector": "metrics_collector",
    "PerformanceAlert": "performance_analyzer",
    "PerformanceAnalyzer": "performance_analyzer",
    "PerformanceMetric": "custom_metrics",
    "PerformanceThreshold": "performance_analyzer",
    "PerformanceTrend": "performance_analyzer",
    "get_metrics_collector": "metrics_collector",
    "initialize_metrics_collector": "metrics_collector",
    "monitor_api_call": "tracking",
}


def __getattr__(name: str) -> Any:
    """Import an exported name's module on first use, then keep the name here."""
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
