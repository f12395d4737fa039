"""collector.start_otlp_metrics: misuse raises ValueError naming the problem, the OTEL_*
variables are honoured, and at run time an exporter's failure or error is counted, never
raised."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.sdk.metrics.export import MetricExporter, MetricExportResult, MetricsData

from medical_insurance_sdk.core import ManualClock, MetricConfig, MetricsCollector

ENV = (
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
    "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL",
    "OTEL_EXPORTER_OTLP_PROTOCOL",
    "OTEL_METRIC_EXPORT_INTERVAL",
    "OTEL_METRIC_EXPORT_TIMEOUT",
    "OTEL_SERVICE_NAME",
)


class KeepingExporter(MetricExporter):
    """An OpenTelemetry exporter that keeps what it is given, or fails as told."""

    def __init__(self, result: MetricExportResult = MetricExportResult.SUCCESS) -> None:
        super().__init__()
        self.result = result
        self.raise_error = False
        self.exported: list[MetricsData] = []
        self.closed = False

    def export(
        self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any
    ) -> MetricExportResult:
        if self.raise_error:
            raise RuntimeError("exporter broke")
        self.exported.append(metrics_data)
        return self.result

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return True

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        self.closed = True


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENV:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def collector() -> Iterator[MetricsCollector]:
    c = MetricsCollector(MetricConfig(prometheus_port=0, background=False), clock=ManualClock())
    yield c
    c.shutdown()


@pytest.mark.parametrize(
    ("kwargs", "problem"),
    [
        ({"endpoint": "apm.example:4318"}, "endpoint must be an http(s) URL"),
        ({"endpoint": "ftp://apm.example"}, "endpoint must be an http(s) URL"),
        ({"interval": 0}, "interval must be a positive number"),
        ({"interval": float("nan")}, "interval must be a positive number"),
        ({"timeout": -1}, "timeout must be a positive number"),
        ({"service_name": " "}, "service_name must not be empty"),
        ({"exporter": object()}, "exporter must be an OpenTelemetry MetricExporter"),
        (
            {"exporter": KeepingExporter(), "endpoint": "http://apm.example:4318"},
            "not with exporter=",
        ),
    ],
    ids=[
        "no-scheme",
        "ftp",
        "zero-interval",
        "nan-interval",
        "negative-timeout",
        "blank-service",
        "not-an-exporter",
        "exporter-and-endpoint",
    ],
)
def test_bad_arguments_raise_naming_them(
    collector: MetricsCollector, kwargs: dict[str, Any], problem: str
):
    """Each bad argument is a ValueError that says which and why."""
    with pytest.raises(ValueError, match=problem.replace("(", r"\(").replace(")", r"\)")):
        collector.start_otlp_metrics(**kwargs)


@pytest.mark.parametrize(
    ("name", "value", "problem"),
    [
        ("OTEL_METRIC_EXPORT_INTERVAL", "soon", "OTEL_METRIC_EXPORT_INTERVAL must be a number"),
        ("OTEL_METRIC_EXPORT_INTERVAL", "-5", "OTEL_METRIC_EXPORT_INTERVAL must be a positive"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "apm:4318", "OTEL_EXPORTER_OTLP_ENDPOINT: endpoint must"),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc", "OTEL_EXPORTER_OTLP_PROTOCOL='grpc' is not"),
        (
            "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL",
            "http/json",
            "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL='http/json' is not",
        ),
    ],
    ids=[
        "interval-not-a-number",
        "interval-negative",
        "endpoint-no-scheme",
        "grpc",
        "http-json",
    ],
)
def test_bad_variables_raise_naming_them(
    collector: MetricsCollector,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    value: str,
    problem: str,
):
    """A bad OTEL_* value is a ValueError naming the variable."""
    monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match=problem):
        collector.start_otlp_metrics()


def test_the_endpoint_variables_and_their_precedence(
    collector: MetricsCollector, monkeypatch: pytest.MonkeyPatch
):
    """The base URL gets /v1/metrics, the metrics URL is used as given, the argument wins;
    the default is the local collector's port 4318."""
    assert collector.start_otlp_metrics().endpoint == "http://localhost:4318/v1/metrics"
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://apm.example:4318/")
    assert collector.start_otlp_metrics().endpoint == "http://apm.example:4318/v1/metrics"
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "https://apm.example/otlp/m")
    assert collector.start_otlp_metrics().endpoint == "https://apm.example/otlp/m"
    given = collector.start_otlp_metrics(endpoint="http://127.0.0.1:4318/v1/metrics")
    assert given.endpoint == "http://127.0.0.1:4318/v1/metrics"
    monkeypatch.setenv("OTEL_METRIC_EXPORT_INTERVAL", "15000")
    assert collector.start_otlp_metrics().interval == 15.0
    assert collector.start_otlp_metrics(interval=2).interval == 2


def test_it_needs_the_in_process_aggregates():
    """Without Prometheus export, or on a closed collector, the call says what is missing."""
    off = MetricsCollector(MetricConfig(prometheus_enabled=False, background=False))
    with pytest.raises(ValueError, match="in-process aggregates"):
        off.start_otlp_metrics(exporter=KeepingExporter())
    off.shutdown()
    closed = MetricsCollector(MetricConfig(prometheus_port=0, background=False))
    closed.shutdown()
    with pytest.raises(ValueError, match="open collector"):
        closed.start_otlp_metrics(exporter=KeepingExporter())


def test_nothing_is_sent_before_the_first_call(collector: MetricsCollector):
    """An export with no series sends nothing and counts nothing."""
    exporter = KeepingExporter()
    export = collector.start_otlp_metrics(exporter=exporter, interval=3600)
    assert export.force_flush() is True
    assert exporter.exported == []
    assert export.stats().exported == 0


def test_failures_and_errors_are_counted_never_raised(collector: MetricsCollector):
    """A FAILURE result and an exception from the exporter both count as failed exports
    (stats and monitoring health); recording and later exports go on."""
    exporter = KeepingExporter(MetricExportResult.FAILURE)
    export = collector.start_otlp_metrics("his-test", exporter=exporter, interval=3600, timeout=1)
    collector.record_api_call("2207", "H43010500001", "success", 120.0)
    assert export.force_flush() is False
    exporter.raise_error = True
    assert export.force_flush() is False
    exporter.raise_error = False
    exporter.result = MetricExportResult.SUCCESS
    collector.record_api_call("2207", "H43010500001", "error", 120.0, error_code="BIZ_-1")
    assert export.force_flush() is True
    stats = export.stats()
    assert (stats.exported, stats.failed) == (1, 2)
    assert stats.last_points == 4  # calls (success, error), one histogram, one error series
    assert collector.monitoring_health()["errors"]["otlp_metrics"] == 2
    (data,) = exporter.exported[-1:]
    resource = data.resource_metrics[0].resource
    assert resource.attributes["service.name"] == "his-test"
    collector.shutdown()
    assert exporter.closed
    assert export.stats().exported == 2  # the last export at shutdown


def test_service_name_from_the_environment(
    collector: MetricsCollector, monkeypatch: pytest.MonkeyPatch
):
    """OTEL_SERVICE_NAME names the service when the argument does not."""
    monkeypatch.setenv("OTEL_SERVICE_NAME", "his-outpatient")
    exporter = KeepingExporter()
    export = collector.start_otlp_metrics(exporter=exporter, interval=3600)
    collector.record_api_call("1101", "H43010500001", "success", 20.0)
    assert export.force_flush()
    resource = exporter.exported[0].resource_metrics[0].resource
    assert resource.attributes["service.name"] == "his-outpatient"


class StuckExporter(MetricExporter):
    """Blocks inside export until released: an endpoint that does not answer."""

    def __init__(self) -> None:
        super().__init__()
        self.entered = threading.Event()
        self.release = threading.Event()

    def export(
        self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any
    ) -> MetricExportResult:
        self.entered.set()
        self.release.wait(30)
        return MetricExportResult.FAILURE

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return True

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        """Nothing to close."""


def test_a_stuck_export_holds_nothing_a_call_or_a_scrape_needs(collector: MetricsCollector):
    """While an export hangs in the exporter, calls are recorded, started and ended, and
    /metrics is rendered with them; the stats answer at once."""
    exporter = StuckExporter()
    export = collector.start_otlp_metrics(exporter=exporter, interval=3600)
    collector.record_api_call("2207", "H43010500001", "success", 120.0)
    flushing = threading.Thread(target=export.force_flush)
    flushing.start()
    assert exporter.entered.wait(10)
    for _ in range(50):
        call = collector.record_api_call_start("2207", "H43010500001")
        collector.record_api_call_end(call, "success")
    text = collector.get_prometheus_metrics()
    assert (
        'medical_insurance_api_calls_total{api_code="2207",org_code="H43010500001",'
        'status="success"} 51.0' in text
    )
    assert export.stats().failed == 0  # still in progress
    exporter.release.set()
    flushing.join(10)
    assert export.stats().failed == 1


@pytest.mark.skipif(not hasattr(os, "fork"), reason="POSIX fork only")
def test_a_forked_child_exports_on_its_own_thread(collector: MetricsCollector):
    """Forked while an export waits in the exporter: the child has its own export thread
    and lock, and exports what it records."""
    exporter = StuckExporter()
    export = collector.start_otlp_metrics(exporter=exporter, interval=3600)
    collector.record_api_call("2207", "H43010500001", "success", 120.0)
    flushing = threading.Thread(target=export.force_flush)
    flushing.start()
    assert exporter.entered.wait(10)  # the parent's export lock is held now
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never return into pytest
        code = 1
        try:
            os.close(read)
            exporter.release.set()  # the child's copy answers at once
            collector.record_api_call("1101", "H43010500002", "success", 20.0)
            threads = [t.name for t in threading.enumerate() if t.is_alive()]
            flushed = export.force_flush()  # FAILURE from the exporter: counted
            report = {"threads": threads, "flushed": flushed, "failed": export.stats().failed}
            os.write(write, json.dumps(report).encode())
            code = 0
        finally:
            os._exit(code)
    os.close(write)
    exporter.release.set()
    flushing.join(10)
    _, status = os.waitpid(pid, 0)
    report = json.loads(os.read(read, 65536))
    os.close(read)
    assert os.waitstatus_to_exitcode(status) == 0
    assert "misdk-otlp-metrics" in report["threads"]
    assert report["flushed"] is False
    assert report["failed"] == 1


def _traced(c: MetricsCollector, trace_id: str, seconds: float) -> None:
    clock = c.clock
    assert isinstance(clock, ManualClock)
    call = c.record_api_call_start("2207", "H43010500001", trace_id=trace_id)
    clock.advance(seconds)
    c.record_api_call_end(call, "success")


def test_each_export_carries_each_buckets_latest_exemplar(collector: MetricsCollector):
    """A newer traced call replaces its bucket's exemplar in the next export; the other
    bucket keeps its own; the exemplar holds the call's duration, its trace id as attribute."""
    exporter = KeepingExporter()
    export = collector.start_otlp_metrics(exporter=exporter, interval=3600)
    first, slow, second = "a" * 32, "b" * 32, "c" * 32
    _traced(collector, first, 0.8)
    _traced(collector, slow, 12.0)
    assert export.force_flush()
    _traced(collector, second, 0.7)
    assert export.force_flush()

    def exemplars(data: MetricsData) -> list[tuple[str, float]]:
        (metric,) = [
            m
            for m in data.resource_metrics[0].scope_metrics[0].metrics
            if m.name == "medical_insurance_api_duration_seconds"
        ]
        (point,) = metric.data.data_points
        found = [(str(e.filtered_attributes["trace_id"]), e.value) for e in point.exemplars]
        assert all(e.trace_id is None for e in point.exemplars)
        return found

    before, after = (exemplars(d) for d in exporter.exported)
    assert before == [(first, pytest.approx(0.8)), (slow, pytest.approx(12.0))]
    assert after == [(second, pytest.approx(0.7)), (slow, pytest.approx(12.0))]
    assert export.producer.exemplars_reused == 1  # the slow bucket's, in the second export
