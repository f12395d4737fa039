"""Periodic OTLP export of the API metrics, for APMs that take no Prometheus scrape.

:class:`OtlpMetricsExport` works like OpenTelemetry's ``PeriodicExportingMetricReader``
with :class:`~medical_insurance_sdk.core.export.otel_producer.ApiMetricsProducer` as its
source: a named daemon thread wakes every ``interval`` seconds, produces the cumulative
metrics from the aggregates and hands them to an OpenTelemetry ``MetricExporter`` (OTLP/HTTP
by default). Built by :meth:`MetricsCollector.start_otlp_metrics
<medical_insurance_sdk.core.metrics_collector.MetricsCollector.start_otlp_metrics>`,
which validates the arguments (``ValueError`` naming the problem).

Run time never raises: a failed export (the endpoint down, refused, too slow) or an error
while producing is counted in :meth:`OtlpMetricsExport.stats` and in the collector's
monitoring health (stage ``otlp_metrics``, exported as
``medical_insurance_monitoring_errors_total``), and logged at most once a minute. No
business call waits for it: the export runs on its own thread, bounded by ``timeout``.

Environment (an explicit argument wins): ``OTEL_EXPORTER_OTLP_METRICS_ENDPOINT`` (full
URL) or ``OTEL_EXPORTER_OTLP_ENDPOINT`` (base URL, ``/v1/metrics`` added),
``OTEL_METRIC_EXPORT_INTERVAL`` and ``OTEL_METRIC_EXPORT_TIMEOUT`` (milliseconds),
``OTEL_SERVICE_NAME`` and ``OTEL_RESOURCE_ATTRIBUTES``, ``OTEL_EXPORTER_OTLP_[METRICS_]PROTOCOL``
(``http/protobuf`` only; another exporter goes in ``exporter=``); the OTLP exporter reads its own
``OTEL_EXPORTER_OTLP_[METRICS_]TIMEOUT`` (seconds per export, retries included, default 10),
``..._HEADERS``, ``..._COMPRESSION`` and TLS variables.
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from opentelemetry.sdk.metrics.export import MetricExporter, MetricExportResult, MetricsData
from opentelemetry.sdk.resources import Resource

from medical_insurance_sdk.core.collection.store import CallStore
from medical_insurance_sdk.core.export.aggregates import ApiAggregates
from medical_insurance_sdk.core.export.otel_producer import ApiMetricsProducer
from medical_insurance_sdk.core.runtime.background import PeriodicWorker
from medical_insurance_sdk.core.runtime.health import MonitoringHealth
from medical_insurance_sdk.tracing_setup import DEFAULT_SERVICE_NAME

__all__ = [
    "DEFAULT_SERVICE_NAME",
    "HEALTH_STAGE",
    "MetricsExportStats",
    "OtlpMetricsExport",
    "start_otlp_metrics_export",
]

#: The monitoring-health stage failed exports are counted under.
HEALTH_STAGE = "otlp_metrics"
_METRICS_PATH = "/v1/metrics"
_DEFAULT_ENDPOINT = "http://localhost:4318"
_DEFAULT_INTERVAL_MS = 60000.0
_DEFAULT_TIMEOUT_MS = 30000.0


class MetricsExportFailed(ConnectionError):
    """An export the exporter reported as failed (it logs the cause itself)."""


@dataclass(frozen=True)
class MetricsExportStats:
    """Exports so far: succeeded, failed, and the data points of the last success."""

    exported: int = 0
    failed: int = 0
    last_points: int = 0


class OtlpMetricsExport:
    """Exports ``producer``'s metrics through ``exporter`` every ``interval`` seconds."""

    def __init__(
        self,
        producer: ApiMetricsProducer,
        exporter: MetricExporter,
        *,
        interval: float,
        timeout: float,
        health: MonitoringHealth,
        endpoint: str | None,
    ) -> None:
        self.producer = producer
        self.exporter = exporter
        #: The OTLP metrics URL, or None when a caller-given exporter sends elsewhere.
        self.endpoint = endpoint
        self.interval = interval
        self._timeout_ms = timeout * 1000.0
        self._health = health
        self._lock = threading.Lock()  # one export at a time (thread, flush, shutdown)
        self._stats = MetricsExportStats()
        self._closed = False
        self._worker = PeriodicWorker(
            "misdk-otlp-metrics",
            interval,
            self._tick,
            lambda exc: health.error(HEALTH_STAGE, exc),
        )

    def start(self) -> None:
        """Start the background thread (also in a forked child)."""
        if not self._closed:
            self._worker.start()

    def after_fork_in_child(self) -> None:
        """In a forked child: a fresh lock (the parent's may have been held), the thread again."""
        self._lock = threading.Lock()
        self.start()

    def stats(self) -> MetricsExportStats:
        """Exports succeeded and failed so far (never waits for an export in progress)."""
        return self._stats  # an immutable snapshot, replaced whole

    def force_flush(self) -> bool:
        """Export now, in the calling thread; ``False`` (counted) if it failed. Never raises."""
        return False if self._closed else self._export()

    def shutdown(self, timeout: float = 5.0) -> None:
        """Stop the thread (waiting up to ``timeout``), export a last time, close.

        The last export is bounded by the exporter's own timeout.
        """
        if self._closed:
            return
        self._worker.stop(timeout)
        self._export()
        self._closed = True
        try:
            self.exporter.shutdown(timeout_millis=timeout * 1000.0)
        except Exception as exc:  # the exporter's own teardown: count, never raise
            self._health.error(HEALTH_STAGE, exc)

    def _tick(self) -> None:
        self._export()

    def _export(self) -> bool:
        """One export (none before the first call); failures are counted, never raised."""
        error: BaseException | None = None
        with self._lock:
            try:
                data = self.producer.produce()
                points = _points(data)
                if points == 0:
                    return True
                result = self.exporter.export(data, timeout_millis=self._timeout_ms)
                if result is not MetricExportResult.SUCCESS:
                    where = self.endpoint or type(self.exporter).__name__
                    error = MetricsExportFailed(f"OTLP metrics export to {where} failed")
            except Exception as exc:  # monitoring boundary: count, log, never raise
                error = exc
            s = self._stats
            self._stats = (
                MetricsExportStats(s.exported + 1, s.failed, points)
                if error is None
                else MetricsExportStats(s.exported, s.failed + 1, s.last_points)
            )
        if error is not None:
            self._health.error(HEALTH_STAGE, error)
        return error is None

    def __repr__(self) -> str:
        s = self.stats()
        return (
            f"OtlpMetricsExport(endpoint={self.endpoint!r}, interval={self.interval}, "
            f"exported={s.exported}, failed={s.failed})"
        )


def _points(data: MetricsData) -> int:
    return sum(
        len(metric.data.data_points)
        for rm in data.resource_metrics
        for sm in rm.scope_metrics
        for metric in sm.metrics
    )


def _env(name: str) -> str:
    return os.environ.get(name, "").strip()


def _metrics_url(endpoint: str, *, full: bool = False) -> str:
    parts = urlsplit(endpoint)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"endpoint must be an http(s) URL of an OTLP receiver: {endpoint!r}")
    base = endpoint.rstrip("/")
    return base if full or base.endswith(_METRICS_PATH) else base + _METRICS_PATH


def _env_metrics_url() -> str:
    """The metrics URL the ``OTEL_EXPORTER_OTLP_*`` variables name (the exporter's rule)."""
    for name, full in (
        ("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", True),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", False),
    ):
        url = _env(name)
        if url:
            try:
                return _metrics_url(url, full=full)
            except ValueError as exc:
                raise ValueError(f"{name}: {exc}") from None
    return _metrics_url(_DEFAULT_ENDPOINT)


def _seconds(name: str, value: float | None, env: str, default_ms: float) -> float:
    """A positive number of seconds: the argument, else ``env`` (milliseconds), else default."""
    if value is None:
        raw = _env(env)
        try:
            value = float(raw) / 1000.0 if raw else default_ms / 1000.0
        except ValueError:
            raise ValueError(f"{env} must be a number of milliseconds, not {raw!r}") from None
        name = env
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a positive number of seconds, not {value!r}")
    return value


def start_otlp_metrics_export(
    store: CallStore,
    aggregates: ApiAggregates,
    health: MonitoringHealth,
    *,
    started_at: float,
    wall: Callable[[], float],
    service_name: str | None,
    endpoint: str | None,
    interval: float | None,
    timeout: float | None,
    headers: Mapping[str, str] | None,
    exporter: Any,
) -> OtlpMetricsExport:
    """Validate the arguments, build the producer and the exporter, start the thread.

    ``started_at`` (epoch seconds) is when the aggregates began counting; ``wall`` reads
    the current time. See :meth:`MetricsCollector.start_otlp_metrics` for the rest.
    """
    if service_name is not None and not service_name.strip():
        raise ValueError("service_name must not be empty")
    every = _seconds("interval", interval, "OTEL_METRIC_EXPORT_INTERVAL", _DEFAULT_INTERVAL_MS)
    limit = _seconds("timeout", timeout, "OTEL_METRIC_EXPORT_TIMEOUT", _DEFAULT_TIMEOUT_MS)
    url: str | None = None
    if exporter is None:
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter

        for variable in ("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"):
            protocol = _env(variable).lower()
            if protocol not in ("", "http/protobuf"):
                raise ValueError(
                    f"{variable}={protocol!r} is not supported here (http/protobuf; for "
                    "another protocol pass exporter=)"
                )

        url = _metrics_url(endpoint) if endpoint is not None else _env_metrics_url()
        exporter = OTLPMetricExporter(endpoint=url, timeout=timeout, headers=headers)
    elif not isinstance(exporter, MetricExporter):
        raise ValueError("exporter must be an OpenTelemetry MetricExporter")
    elif endpoint is not None or headers is not None:
        raise ValueError("endpoint and headers configure the OTLP exporter: not with exporter=")
    name = service_name or _env("OTEL_SERVICE_NAME") or DEFAULT_SERVICE_NAME
    producer = ApiMetricsProducer(
        store,
        aggregates,
        resource=Resource.create({"service.name": name}),
        start_time_unix_nano=int(started_at * 1e9),
        now_unix_nano=lambda: int(wall() * 1e9),
        on_invalid_trace_id=lambda: health.drop("invalid_trace_id"),
    )
    export = OtlpMetricsExport(
        producer, exporter, interval=every, timeout=limit, health=health, endpoint=url
    )
    export.start()
    return export
