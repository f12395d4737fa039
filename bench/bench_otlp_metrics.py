"""Cost of one OTLP metrics export beside one /metrics scrape of the same aggregates.

A collector holds 40 APIs x 50 institutions (2 000 histogram series, the default caps; about
2 100 call and error series beside them). Each round first folds one call into every
series (so neither side reuses anything), then times, interleaved:

* one ``/metrics`` scrape in OpenMetrics (what Prometheus asks for; with the exemplars the
  export carries too), in process (the WSGI app, no socket);
* one OTLP export through ``collector.start_otlp_metrics``: reading the aggregates into
  OpenTelemetry ``MetricsData`` and encoding the OTLP protobuf request exactly as the
  OTLP/HTTP exporter does, without the HTTP round trip (an exporter that only encodes).

The export covers three families (calls, errors, duration), the scrape the same three plus
the two size summaries and the small gauges; the ratios are the export's price against the
scrape a Prometheus user already pays, in the same run. Budgets: reading the aggregates into
``MetricsData`` (ours) <= 2x the scrape; the whole export, where OpenTelemetry's pure-Python
OTLP encoder (one protobuf message per attribute) takes most of the time, <= 8x. The export
runs on its own thread, once per interval (60 s by default), never on a call.
"""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from typing import Any

from opentelemetry.exporter.otlp.proto.common.metrics_encoder import encode_metrics
from opentelemetry.sdk.metrics.export import MetricExporter, MetricExportResult, MetricsData

from medical_insurance_sdk.core import MetricConfig, MetricsCollector
from medical_insurance_sdk.core.export.scrape import make_scrape_app

__all__ = ["run"]

N_APIS, N_ORGS = 40, 50
ROUNDS = 7
PRODUCE_BUDGET, BUDGET = 2.0, 8.0
OM_ACCEPT = "application/openmetrics-text; version=1.0.0; charset=utf-8"
APIS = [f"{2000 + i}" for i in range(N_APIS)]
ORGS = [f"H430105{i:05d}" for i in range(N_ORGS)]


class _EncodingExporter(MetricExporter):
    """Encodes each export as the OTLP/HTTP exporter does, and keeps only its size."""

    def __init__(self) -> None:
        super().__init__()
        self.last_bytes = 0

    def export(
        self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any
    ) -> MetricExportResult:
        self.last_bytes = len(encode_metrics(metrics_data).SerializeToString())
        return MetricExportResult.SUCCESS

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return True

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        """Nothing to close."""


def _fold_one_call_per_series(c: MetricsCollector, rng: random.Random) -> None:
    stage = c.store.staging.extend
    end_ns = c.clock.monotonic_ns()
    for api in APIS:
        for org in ORGS:
            ok = rng.random() > 0.03
            trace = f"{rng.getrandbits(128):032x}"
            dur_ns = round(rng.lognormvariate(-1.2, 1.0) * 1e9)
            stage(
                (
                    end_ns,
                    end_ns - dur_ns,
                    api,
                    org,
                    ok,
                    None if ok else "BIZ_-1",
                    None,
                    300,
                    900,
                    trace,
                )
            )
    c.store.fold()


def _row(name: str, value: Any, unit: str, budget: str = "", ok: bool = True) -> dict[str, Any]:
    return {"name": name, "value": value, "unit": unit, "budget": budget, "ok": ok}


def _get(app: Any) -> bytes:
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/metrics",
        "QUERY_STRING": "",
        "HTTP_ACCEPT": OM_ACCEPT,
    }
    return b"".join(app(environ, lambda status, headers: None))


def run() -> Sequence[dict[str, Any]]:
    """Measure and return the table rows."""
    rng = random.Random(11)
    c = MetricsCollector(
        MetricConfig(prometheus_port=0, background=False, system_metrics_enabled=False)
    )
    assert c.prometheus is not None
    app = make_scrape_app(c.prometheus.exposed)
    encoder = _EncodingExporter()
    export = c.start_otlp_metrics(exporter=encoder, interval=3600)
    _fold_one_call_per_series(c, rng)
    scrape_ms, produce_ms, export_ms = [], [], []
    body = b""
    for _ in range(ROUNDS):
        _fold_one_call_per_series(c, rng)
        t0 = time.perf_counter()
        body = _get(app)
        scrape_ms.append((time.perf_counter() - t0) * 1e3)
        _fold_one_call_per_series(c, rng)
        t0 = time.perf_counter()
        export.producer.produce()
        produce_ms.append((time.perf_counter() - t0) * 1e3)
        _fold_one_call_per_series(c, rng)
        t0 = time.perf_counter()
        ok = export.force_flush()
        export_ms.append((time.perf_counter() - t0) * 1e3)
        assert ok, export.stats()
    points = export.stats().last_points
    producer = export.producer
    reused = producer.exemplars_reused / (producer.exemplars_reused + producer.exemplars_converted)
    c.shutdown()
    scrape = min(scrape_ms)
    ours, whole = min(produce_ms) / scrape, min(export_ms) / scrape
    return [
        _row("OTLP data points per export (calls, errors, duration)", points, ""),
        _row("/metrics scrape, OpenMetrics, every series changed", scrape, "ms"),
        _row("OTLP: aggregates -> MetricsData (ours)", min(produce_ms), "ms"),
        _row("OTLP: whole export, with OpenTelemetry's encoding", min(export_ms), "ms"),
        _row("OTLP: exemplars reused from an earlier export", reused * 100, "%"),
        _row(
            "OTLP: aggregates -> MetricsData / scrape",
            ours,
            "×",
            f"<= {PRODUCE_BUDGET}",
            ours <= PRODUCE_BUDGET,
        ),
        _row("OTLP: whole export / scrape", whole, "×", f"<= {BUDGET}", whole <= BUDGET),
        _row("/metrics body (OpenMetrics, uncompressed)", len(body) / 1e6, "MB"),
        _row("OTLP request body (protobuf, uncompressed)", encoder.last_bytes / 1e6, "MB"),
    ]
