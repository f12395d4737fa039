"""Fixtures shared by every test: isolated collectors, a manual clock, the stress scale.

Shared values (``NOW``, ``STRESS``, ``SCALE``) are in ``tests/suite_constants.py``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from suite_constants import NOW, SCALE

from medical_insurance_sdk.core import (
    ManualClock,
    MetricConfig,
    MetricsCollector,
    reset_metrics_collector,
)


@pytest.fixture(autouse=True)
def _isolated_global(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No test binds port 8000 or leaks the process-wide collector into the next."""
    monkeypatch.setenv("MISDK_PROMETHEUS_PORT", "0")
    monkeypatch.setenv("MISDK_BACKGROUND", "false")
    yield
    reset_metrics_collector()


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
    """A manual clock at ``suite_constants.NOW``."""
    return ManualClock(NOW)


@pytest.fixture
def clocked(config: MetricConfig, clock: ManualClock) -> Iterator[MetricsCollector]:
    """A collector driven by the manual clock."""
    c = MetricsCollector(config, clock=clock)
    yield c
    c.shutdown()


@pytest.fixture
def mc(clocked: MetricsCollector, clock: ManualClock) -> tuple[MetricsCollector, ManualClock]:
    """The ``clocked`` collector and its clock, to move time in a test."""
    return clocked, clock


@pytest.fixture
def scale() -> int:
    """Multiplier of loop sizes: 1 in `make test`, 10 in `make stress` (MISDK_STRESS=1)."""
    return SCALE
