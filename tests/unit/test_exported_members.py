"""The public API: exported names are sorted, importable and do not drift."""

from __future__ import annotations

import importlib

import pytest

from medical_insurance_sdk import core

SEED_NAMES = {
    "MetricsCollector",
    "MetricConfig",
    "APICallMetric",
    "PerformanceMetric",
    "get_metrics_collector",
    "initialize_metrics_collector",
    "monitor_api_call",
}


def test_core_exports_the_seed_api():
    """medical_insurance_sdk.core exports every name the seed imports."""
    assert set(core.__all__) >= SEED_NAMES
    for name in core.__all__:
        assert getattr(core, name) is not None


@pytest.mark.parametrize("module", ["medical_insurance_sdk", "medical_insurance_sdk.core"])
def test_all_is_sorted_and_complete(module):
    """__all__ is sorted and every name in it exists."""
    mod = importlib.import_module(module)
    assert list(mod.__all__) == sorted(mod.__all__)
    for name in mod.__all__:
        assert hasattr(mod, name), name


def test_initialize_replaces_global_collector():
    """initialize_metrics_collector installs a new process-wide collector."""
    from medical_insurance_sdk.core import MetricConfig

    first = core.get_metrics_collector()
    second = core.initialize_metrics_collector(MetricConfig(prometheus_port=0, background=False))
    assert second is not first
    assert core.get_metrics_collector() is second
