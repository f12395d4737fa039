"""The API metrics over OTLP to a real receiver (oteltest's HTTP sink on loopback): the same
names, labels, counts, error counts and histogram buckets as the Prometheus exposition of the
same calls; an unreachable endpoint counted, never raised."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from local_net import free_port
from metric_samples import FAMILIES, exposition_samples, metrics_by_name, otlp_samples

from bench.otlp_sink import LoopbackHttpSink
from medical_insurance_sdk.core import ManualClock, MetricConfig, MetricsCollector

pytestmark = pytest.mark.integration

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


@pytest.fixture
def sink() -> Iterator[LoopbackHttpSink]:
    """oteltest's OTLP/HTTP sink on 127.0.0.1:<free port>."""
    receiver = LoopbackHttpSink()
    receiver.start()
    yield receiver
    receiver.stop()


def make_collector(by_org: bool = True) -> MetricsCollector:
    config = MetricConfig(prometheus_port=0, background=False, histogram_by_org=by_org)
    return MetricsCollector(config, clock=ManualClock())


def record_traffic(c: MetricsCollector) -> None:
    """Two APIs, two institutions, errors with and without a code, durations over the
    buckets, and traced calls (one with a trace id that may not be exported)."""
    for i in range(30):
        api, org = ("2207", "H43010500001") if i % 3 else ("1101", "H43010500002")
        failed = i % 5 == 0
        c.record_api_call(
            api,
            org,
            "error" if failed else "success",
            [4.0, 40.0, 300.0, 2500.0, 12000.0][i % 5] + i,
            error_code=("TIMEOUT_READ" if i % 2 else None) if failed else None,
        )
    clock = c.clock
    assert isinstance(clock, ManualClock)
    for trace_id, seconds in ((TRACE, 0.8), ("NOT-A-TRACE-ID", 3.0)):
        call = c.record_api_call_start("2207", "H43010500001", trace_id=trace_id)
        clock.advance(seconds)
        c.record_api_call_end(call, "success")


@pytest.mark.parametrize("by_org", [True, False], ids=["histogram-by-org", "histogram-by-api"])
def test_otlp_export_equals_the_prometheus_exposition(sink: LoopbackHttpSink, by_org: bool):
    """Counts, error counts and buckets arrive under the Prometheus names and labels, with
    the exposition's values, the collector's bucket bounds and seconds as the unit."""
    c = make_collector(by_org)
    record_traffic(c)
    export = c.start_otlp_metrics("his-test", endpoint=sink.endpoint, interval=3600, timeout=5)
    assert export.endpoint == sink.endpoint + "/v1/metrics"
    assert export.force_flush()
    metrics = metrics_by_name(sink.metric_requests()[-1])
    assert sorted(metrics) == sorted(FAMILIES)
    assert (metrics[FAMILIES[1]].unit, metrics[FAMILIES[0]].unit) == ("s", "{call}")
    bounds = list(metrics[FAMILIES[1]].histogram.data_points[0].explicit_bounds)
    assert bounds == list(c.config.duration_buckets)
    ours = exposition_samples(c)
    assert len(ours) > 40
    assert otlp_samples(metrics) == ours
    assert export.stats().exported == 1
    assert export.stats().last_points == sum(
        len(m.sum.data_points) or len(m.histogram.data_points) for m in metrics.values()
    )
    c.shutdown()


def test_points_are_cumulative_from_the_collector_start_with_trace_exemplars(
    sink: LoopbackHttpSink,
):
    """Each export repeats the totals so far, starting at the collector's start; the slow
    bucket carries the traced call's trace id; the invalid one is dropped and counted."""
    c = make_collector()
    record_traffic(c)
    export = c.start_otlp_metrics(endpoint=sink.endpoint + "/v1/metrics", interval=3600)
    assert export.force_flush()
    c.record_api_call("2207", "H43010500001", "success", 10.0)
    clock = c.clock
    assert isinstance(clock, ManualClock)
    clock.advance(60)
    assert export.force_flush()
    first, second = sink.metric_requests()
    (resource,) = second.resource_metrics
    service = {a.key: a.value.string_value for a in resource.resource.attributes}
    assert service["service.name"] == "medical-insurance-sdk"
    assert resource.scope_metrics[0].scope.name == "medical_insurance_sdk"
    points = [
        next(
            p
            for m in rq.resource_metrics[0].scope_metrics[0].metrics
            if m.name == FAMILIES[0]
            for p in m.sum.data_points
            if {a.key: a.value.string_value for a in p.attributes}
            == {"api_code": "2207", "org_code": "H43010500001", "status": "success"}
        )
        for rq in (first, second)
    ]
    assert points[1].as_int == points[0].as_int + 1
    start = int(c.started_at * 1e9)
    assert points[0].start_time_unix_nano == points[1].start_time_unix_nano == start
    assert points[1].time_unix_nano - points[0].time_unix_nano == 60 * 10**9
    histogram = metrics_by_name(sink.metric_requests()[-1])[FAMILIES[1]].histogram
    found = [
        ({a.key: a.value.string_value for a in ex.filtered_attributes}, ex.as_double)
        for p in histogram.data_points
        for ex in p.exemplars
    ]
    assert found == [({"trace_id": TRACE}, pytest.approx(0.8))]
    assert c.monitoring_health()["dropped"]["invalid_trace_id"] == 1
    c.shutdown()


def test_an_unreachable_endpoint_is_counted_and_never_raised():
    """A closed port: force_flush returns False, the failures are counted in the stats and
    the monitoring health, recording goes on, and shutdown returns."""
    c = make_collector()
    export = c.start_otlp_metrics(
        endpoint=f"http://127.0.0.1:{free_port()}", interval=3600, timeout=0.5
    )
    record_traffic(c)
    assert export.force_flush() is False
    c.record_api_call("1101", "H43010500002", "success", 5.0)
    assert export.force_flush() is False
    assert export.stats().failed == 2
    assert export.stats().exported == 0
    assert c.monitoring_health()["errors"]["otlp_metrics"] == 2
    assert 'stage="otlp_metrics"' in c.get_prometheus_metrics()
    c.shutdown(timeout=2)
    assert export.stats().failed == 3  # the last export at shutdown
    assert export.force_flush() is False  # closed: nothing more is sent


def test_the_background_thread_exports_every_interval(sink: LoopbackHttpSink):
    """With a short interval the metrics arrive without a flush; shutdown exports once more."""
    c = make_collector()
    record_traffic(c)
    export = c.start_otlp_metrics(endpoint=sink.endpoint, interval=0.05)
    deadline = time.monotonic() + 10
    while not sink.metric_requests() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert sink.metric_requests()
    before = len(sink.metric_requests())
    c.shutdown()
    assert len(sink.metric_requests()) > before
    assert export.stats().failed == 0
    assert export.stats().exported == len(sink.metric_requests())
