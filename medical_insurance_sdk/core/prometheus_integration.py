"""The Prometheus side of one MetricsCollector: registry, /metrics server, push.

Created only when ``prometheus_client`` is importable and ``prometheus_enabled`` is set.
Each MetricsCollector has its own ``CollectorRegistry`` (injectable), so tests and
several SDK instances never collide.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from prometheus_client import CollectorRegistry
from prometheus_client import generate_latest as generate_text
from prometheus_client.openmetrics.exposition import generate_latest as generate_openmetrics

from medical_insurance_sdk.core.config import MetricConfig
from medical_insurance_sdk.core.exposition import (
    PUSH_ERRORS,
    MetricsServer,
    default_grouping_key,
    delete_group,
    push_registry,
    start_metrics_server,
)
from medical_insurance_sdk.core.prometheus_export import ExportSources, SdkMetricsCollector

__all__ = ["PrometheusIntegration"]

logger = logging.getLogger(__name__)


class PrometheusIntegration:
    """Registry + exporter + optional server and push for one collector."""

    def __init__(
        self,
        config: MetricConfig,
        sources: ExportSources,
        registry: CollectorRegistry | None = None,
    ) -> None:
        self.config = config
        self.registry = registry if registry is not None else CollectorRegistry()
        self._health = sources.health
        self.exporter = SdkMetricsCollector(sources)
        self.registry.register(self.exporter)
        self.server: MetricsServer | None = None
        self.grouping_key: dict[str, str] = default_grouping_key(config.push_grouping_key)
        self._pushed_to: set[tuple[str, str]] = set()
        if config.prometheus_port:
            self.server = start_metrics_server(
                self.registry, config.prometheus_port, config.prometheus_host
            )

    def exposition(self, openmetrics: bool = False) -> str:
        """The registry in the Prometheus text format (or OpenMetrics, with exemplars)."""
        render = generate_openmetrics if openmetrics else generate_text
        return render(self.registry).decode("utf-8")

    def push(
        self, gateway_url: str, job: str, grouping_key: Mapping[str, str] | None = None
    ) -> bool:
        """Push the registry now; failures are logged and counted, never raised."""
        key = dict(grouping_key) if grouping_key is not None else self.grouping_key
        try:
            push_registry(self.registry, gateway_url, job, key, self.config.push_timeout)
        except PUSH_ERRORS as exc:
            self._health.error("push", exc)
            return False
        self._pushed_to.add((gateway_url, job))
        return True

    def close(self) -> None:
        """Stop the server; delete pushed groups if configured (bounded by push_timeout)."""
        if self.config.push_delete_on_shutdown:
            for url, job in sorted(self._pushed_to):
                delete_group(url, job, self.grouping_key, self.config.push_timeout)
            self._pushed_to.clear()
        if self.server is not None:
            self.server.close()
            self.server = None
