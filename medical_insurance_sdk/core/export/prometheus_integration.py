"""The Prometheus side of one MetricsCollector: registry, /metrics server, push.

Created only when ``prometheus_client`` is importable and ``prometheus_enabled`` is set.
Each MetricsCollector has its own ``CollectorRegistry`` (injectable), so tests and
several SDK instances never collide.
"""

from __future__ import annotations

import logging
import os
import platform
import socket
from collections.abc import Callable, Mapping
from datetime import datetime, timezone

from prometheus_client import CollectorRegistry

from medical_insurance_sdk._version import __version__
from medical_insurance_sdk.core.collection.labelled_numbers import LabelledNumbers
from medical_insurance_sdk.core.collection.store import CallStore
from medical_insurance_sdk.core.collection.system_metrics import SystemSample
from medical_insurance_sdk.core.export.aggregates import ApiAggregates
from medical_insurance_sdk.core.export.metrics_server import MetricsServer, start_metrics_server
from medical_insurance_sdk.core.export.multiprocess import (
    MultiprocessExporter,
    multiprocess_registry,
)
from medical_insurance_sdk.core.export.prometheus_export import AggregatesCollector, ExportSources
from medical_insurance_sdk.core.export.push import (
    PUSH_ERRORS,
    default_grouping_key,
    delete_group,
    push_registry,
)
from medical_insurance_sdk.core.export.scrape import TEXT, ExpositionFormat, render_exposition
from medical_insurance_sdk.core.runtime.config import MetricConfig
from medical_insurance_sdk.core.runtime.health import MonitoringHealth

__all__ = ["PrometheusIntegration", "build_export_sources"]

logger = logging.getLogger(__name__)


class PrometheusIntegration:
    """Registry + exporter + optional server and push for one collector."""

    def __init__(
        self,
        config: MetricConfig,
        sources: ExportSources,
        registry: CollectorRegistry | None = None,
        *,
        multiprocess_path: str | None = None,
    ) -> None:
        self.config = config
        #: Where this collector's metric objects are registered.
        self.registry = registry if registry is not None else CollectorRegistry()
        self._health = sources.health
        self._sources = sources
        self.multiprocess: MultiprocessExporter | None = None
        self.aggregates = sources.aggregates
        #: The API metrics' custom collector (None in multiprocess mode).
        self.exporter: AggregatesCollector | None = None
        if multiprocess_path is None:
            sources.store.add_listener(sources.aggregates.fold)
            self.exporter = AggregatesCollector(sources)
            self.registry.register(self.exporter)
            #: What /metrics, pushes and get_prometheus_metrics() expose.
            self.exposed: CollectorRegistry = self.registry
        else:
            self.multiprocess = MultiprocessExporter(config, self.registry)
            sources.store.add_listener(self.multiprocess.fold)
            self.exposed = multiprocess_registry(multiprocess_path)
        self.server: MetricsServer | None = None
        self.grouping_key: dict[str, str] = default_grouping_key(config.push_grouping_key)
        self._pushed_to: set[tuple[str, str]] = set()
        if config.prometheus_port:
            auth = config.prometheus_basic_auth
            self.server = start_metrics_server(
                self.exposed,
                config.prometheus_port,
                config.prometheus_host,
                certfile=config.prometheus_certfile,
                keyfile=config.prometheus_keyfile,
                basic_auth=(auth[0], auth[1]) if auth else None,
                max_connections=config.prometheus_max_connections,
                request_timeout=config.prometheus_request_timeout,
                on_drop=self._health.drop,
            )

    def exposition(self, openmetrics: bool = False) -> str:
        """The registry in the Prometheus text format (or OpenMetrics, with exemplars)."""
        fmt = ExpositionFormat(openmetrics=True) if openmetrics else TEXT
        return render_exposition(self.exposed, fmt).decode("utf-8")

    def push(
        self, gateway_url: str, job: str, grouping_key: Mapping[str, str] | None = None
    ) -> bool:
        """Push the registry now; failures are logged and counted, never raised."""
        key = dict(grouping_key) if grouping_key is not None else self.grouping_key
        try:
            push_registry(self.exposed, gateway_url, job, key, self.config.push_timeout)
        except PUSH_ERRORS as exc:
            self._health.error("push", exc)
            return False
        self._pushed_to.add((gateway_url, job))
        return True

    def sync_multiprocess(self) -> None:
        """Multiprocess mode: copy gauges and outcome-unknown counts into the mmap files."""
        if self.multiprocess is not None:
            s = self._sources
            self.multiprocess.sync_gauges(s.connections(), s.cache_hit_ratio, s.outcome_unknown)

    def after_fork_in_child(self) -> None:
        """In a forked child: new grouping key (new pid); the parent keeps the server."""
        self.grouping_key = default_grouping_key(self.config.push_grouping_key)
        self._pushed_to.clear()
        if self.server is not None:
            self.server.server.server_close()  # the child's copy of the socket only
            self.server = None
            logger.info("forked child %s: /metrics stays with the parent process", os.getpid())

    def close(self) -> None:
        """Stop the server; delete pushed groups if configured (bounded by push_timeout)."""
        if self.config.push_delete_on_shutdown:
            for url, job in sorted(self._pushed_to):
                delete_group(url, job, self.grouping_key, self.config.push_timeout)
            self._pushed_to.clear()
        if self.server is not None:
            self.server.close()
            self.server = None


def build_export_sources(
    config: MetricConfig,
    *,
    store: CallStore,
    health: MonitoringHealth,
    gauges: Mapping[str, LabelledNumbers],
    started_at: float,
    in_flight: Callable[[], int],
    connections: Callable[[], dict[str, float]],
    system: Callable[[], SystemSample | None],
) -> ExportSources:
    """Create the aggregates of ``store``'s calls and gather what the exporter reads.

    ``gauges`` holds the collector's ``active_connections``, ``cache_hit_ratio``,
    ``outcome_unknown`` and ``abandoned`` values.
    """
    aggregates = ApiAggregates(
        config.duration_buckets,
        max_api_codes=config.max_api_codes,
        max_org_codes=config.max_org_codes,
        max_error_codes=config.max_error_codes,
        max_series=config.max_series_per_metric,
        histogram_by_org=config.histogram_by_org,
    )
    return ExportSources(
        store=store,
        aggregates=aggregates,
        active_connections=gauges["active_connections"],
        cache_hit_ratio=gauges["cache_hit_ratio"],
        outcome_unknown=gauges["outcome_unknown"],
        abandoned=gauges["abandoned"],
        health=health,
        info={
            "version": __version__,
            "python": platform.python_version(),
            "host": socket.gethostname(),
            "start_time": datetime.fromtimestamp(started_at, timezone.utc).isoformat(),
        },
        in_flight=in_flight,
        connections=connections,
        system=system,
    )
