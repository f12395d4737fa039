"""A real Prometheus reads the cached /metrics, including the gzip body built from chunks."""

from __future__ import annotations

import pytest
from servers import free_port

from medical_insurance_sdk.core import MetricConfig, MetricsCollector

pytestmark = pytest.mark.integration


def test_prometheus_reads_chunked_gzip_scrapes_after_small_changes(start_prometheus):
    """After the first scrape, few series change: Prometheus parses the chunked gzip body."""
    c = MetricsCollector(
        MetricConfig(
            prometheus_port=free_port(),
            prometheus_host="127.0.0.1",
            background=False,
            system_metrics_enabled=False,
        )
    )
    try:
        for api in range(40):
            for org in range(5):
                c.record_api_call(f"{2000 + api}", f"H{org}", "success", 20.0)
        prom = start_prometheus({"misdk": [f"127.0.0.1:{c.metrics_port}"]})
        total = 'sum(medical_insurance_api_calls_total{job="misdk"})'
        prom.wait_for(total, lambda r: r and float(r[0]["value"][1]) == 200)
        cache = c.prometheus.exporter.exposition_cache
        reused = cache.rows_reused
        # one series changes per step: each scrape re-renders it and reuses the others
        for step in range(1, 4):
            c.record_api_call("2007", "H3", "success", 20.0)
            prom.wait_for(total, lambda r, n=200 + step: r and float(r[0]["value"][1]) == n)
        assert cache.rows_reused > reused
        up = prom.query('up{job="misdk"}')
        assert [float(s["value"][1]) for s in up] == [1.0]
    finally:
        c.shutdown()
