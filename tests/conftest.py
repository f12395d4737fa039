"""Fixtures shared by every test: isolated collectors and a clean global collector."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from medical_insurance_sdk.core import MetricConfig, MetricsCollector, metrics_collector
from medical_insurance_sdk.core.clock import ManualClock


@pytest.fixture(autouse=True)
def _isolated_global(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No test binds port 8000 or leaks the process-wide collector into the next."""
    monkeypatch.setenv("MISDK_PROMETHEUS_PORT", "0")
    monkeypatch.setenv("MISDK_BACKGROUND", "false")
    yield
    old = metrics_collector._global
    metrics_collector._global = None
    if old is not None:
        old.shutdown()


@pytest.fixture
def config() -> MetricConfig:
    """A config with no HTTP server and no background thread."""
    return MetricConfig(prometheus_port=0, background=False)


@pytest.fixture
def collector(config: MetricConfig) -> Iterator[MetricsCollector]:
    """A fresh collector with its own registry."""
    c = MetricsCollector(config)
    yield c
    c.shutdown()


@pytest.fixture
def clock() -> ManualClock:
    """A manual clock at a fixed wall time."""
    return ManualClock(1_700_000_000.0)


@pytest.fixture
def clocked(config: MetricConfig, clock: ManualClock) -> Iterator[MetricsCollector]:
    """A collector driven by the manual clock."""
    c = MetricsCollector(config, clock=clock)
    yield c
    c.shutdown()
