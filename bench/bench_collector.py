"""Monitoring core budgets, all measured in this process.

* per-call cost of a monitored call (start + end, Prometheus on) versus bare
  prometheus_client doing the same work by hand, and versus the OpenTelemetry SDK;
* the same cost with 1M stored calls versus 10k (O(1) hot path);
* bytes per stored call.
"""

from __future__ import annotations

import gc
import time
import tracemalloc
from typing import Any

from bench.timing import compare
from medical_insurance_sdk.core import MetricConfig, MetricsCollector

__all__ = ["run"]

API, ORG = "2207", "H43010500001"
N = 50_000


def _collector(capacity: int) -> MetricsCollector:
    return MetricsCollector(
        MetricConfig(
            prometheus_port=0,
            background=False,
            system_metrics_enabled=False,
            max_memory_metrics=capacity,
        )
    )


def _prefill(c: MetricsCollector, n: int) -> None:
    stage = c.store.staging.extend
    end_ns = time.perf_counter_ns()  # the collector's clock (AnchoredClock) in ns
    start_ns = end_ns - 50_000_000
    for i in range(n):  # StagedCall fields (core/collection/staged.py): clock readings in ns first
        stage((end_ns, start_ns, API if i % 2 else "1101", ORG, True, None, None, 100, 100, None))
        if i % 4096 == 0:
            c.store.fold()
    c.store.fold()


def _ours(c: MetricsCollector) -> Any:
    start, end = c.record_api_call_start, c.record_api_call_end

    def call() -> None:
        end(start(API, ORG), "success")

    return call


def _bare_prometheus() -> Any:
    from prometheus_client import CollectorRegistry, Counter, Histogram

    reg = CollectorRegistry()
    calls = Counter("b_calls", "calls", ["api_code", "org_code", "status"], registry=reg)
    hist = Histogram(
        "b_duration_seconds",
        "d",
        ["api_code", "org_code"],
        registry=reg,
        buckets=MetricConfig().duration_buckets,
    )
    clock = time.perf_counter

    def call() -> None:
        t0 = clock()
        calls.labels(API, ORG, "success").inc()
        hist.labels(API, ORG).observe(clock() - t0)

    return call


def _otel() -> Any:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader

    provider = MeterProvider(metric_readers=[InMemoryMetricReader()])
    meter = provider.get_meter("bench")
    counter = meter.create_counter("calls")
    hist = meter.create_histogram("duration", unit="s")
    attrs_calls = {"api_code": API, "org_code": ORG, "status": "success"}
    attrs_hist = {"api_code": API, "org_code": ORG}
    clock = time.perf_counter

    def call() -> None:
        t0 = clock()
        counter.add(1, attrs_calls)
        hist.record(clock() - t0, attrs_hist)

    return call


def _bytes_per_call(n: int) -> tuple[float, float]:
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    c = _collector(n)
    _prefill(c, n)
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    per_call_columns = c.store.nbytes / len(c.store)
    c.shutdown()
    return per_call_columns, (after - before) / n


def run() -> list[dict[str, Any]]:
    """Measure and return the table rows."""
    small, big = _collector(20_000), _collector(1_100_000)
    _prefill(small, 10_000)
    _prefill(big, 1_000_000)
    times = compare(
        {
            "ours": _ours(small),
            "ours_1m": _ours(big),
            "prometheus_client": _bare_prometheus(),
            "opentelemetry": _otel(),
        },
        N,
    )
    small.shutdown()
    big.shutdown()
    columns, traced = _bytes_per_call(1_000_000)
    ratio = times["ours"] / times["prometheus_client"]
    scale = times["ours_1m"] / times["ours"]
    return [
        {
            "name": "monitored call (start+end), ours",
            "value": times["ours"],
            "unit": "µs",
            "budget": "",
            "ok": True,
        },
        {
            "name": "bare prometheus_client labels().inc()+observe()",
            "value": times["prometheus_client"],
            "unit": "µs",
            "budget": "",
            "ok": True,
        },
        {
            "name": "OpenTelemetry SDK counter.add+histogram.record",
            "value": times["opentelemetry"],
            "unit": "µs",
            "budget": "",
            "ok": True,
        },
        {
            "name": "ours / prometheus_client",
            "value": ratio,
            "unit": "×",
            "budget": "<= 0.6",
            "ok": ratio <= 0.6,
        },
        {
            "name": "ours / OpenTelemetry",
            "value": times["ours"] / times["opentelemetry"],
            "unit": "×",
            "budget": "",
            "ok": True,
        },
        {
            "name": "per-call cost with 1M stored / with 10k",
            "value": scale,
            "unit": "×",
            "budget": "<= 1.1",
            "ok": scale <= 1.1,
        },
        {
            "name": "bytes per stored call (columns)",
            "value": columns,
            "unit": "B",
            "budget": "<= 64",
            "ok": columns <= 64,
        },
        {
            "name": "bytes per stored call (tracemalloc, 1M calls)",
            "value": traced,
            "unit": "B",
            "budget": "<= 64",
            "ok": traced <= 64,
        },
    ]
