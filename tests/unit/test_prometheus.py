"""Prometheus export: exposition text, exemplars, cardinality caps, server and push."""

from __future__ import annotations

import http.server
import logging
import socket
import threading
import time
from collections.abc import Iterator
from typing import ClassVar

import httpx
import pytest
from local_net import free_port
from prometheus_client.parser import text_string_to_metric_families

from medical_insurance_sdk.core import MetricsCollector


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def _value(samples, name: str, **labels: str) -> float:
    return samples[(name, tuple(sorted(labels.items())))]


def test_seed_metric_names_types_and_labels(collector):
    """The original API's six metrics are exposed with their names, types and labels."""
    collector.record_api_call("1101", "H1", "success", 30.0)
    collector.record_api_call("2207", "H1", "error", 900.0, error_code="-1")
    collector.inc_active_connections("http", 2)
    collector.record_cache_hit_ratio(0.75, "response")
    from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_om

    text = collector.get_prometheus_metrics(openmetrics=True)
    families = {f.name: f for f in parse_om(text)}
    expected = {
        "medical_insurance_api_calls": "counter",
        "medical_insurance_api_duration_seconds": "histogram",
        "medical_insurance_api_errors": "counter",
        "medical_insurance_active_connections": "gauge",
        "medical_insurance_cache_hit_ratio": "gauge",
        "medical_insurance_system": "info",
    }
    for name, kind in expected.items():
        assert families[name].type == kind, name
    info = families["medical_insurance_system"].samples[0].labels
    assert set(info) == {"version", "python", "host", "start_time"}
    assert "medical_insurance_system_info{" in collector.get_prometheus_metrics()
    calls = families["medical_insurance_api_calls"].samples[0].labels
    assert set(calls) == {"api_code", "org_code", "status"}
    errors = families["medical_insurance_api_errors"].samples[0].labels
    assert set(errors) == {"api_code", "org_code", "error_code"}


def test_exposition_counts_equal_recorded_calls(collector):
    """Counters and histogram counts equal exactly what was recorded."""
    for i in range(30):
        collector.record_api_call("1101", "H1", "success", 5.0 + i)
    for _ in range(7):
        collector.record_api_call("2207", "H2", "error", 2000.0, error_code="NETWORK")
    s = _samples(collector.get_prometheus_metrics())
    total = "medical_insurance_api_calls_total"
    assert _value(s, total, api_code="1101", org_code="H1", status="success") == 30
    assert _value(s, total, api_code="2207", org_code="H2", status="error") == 7
    hist = "medical_insurance_api_duration_seconds"
    assert _value(s, hist + "_count", api_code="1101", org_code="H1") == 30
    assert _value(s, hist + "_sum", api_code="1101", org_code="H1") == pytest.approx(
        sum(5.0 + i for i in range(30)) / 1000
    )
    assert _value(s, hist + "_bucket", api_code="2207", org_code="H2", le="2.5") == 7
    assert _value(s, hist + "_bucket", api_code="2207", org_code="H2", le="1.0") == 0
    errors = "medical_insurance_api_errors_total"
    assert _value(s, errors, api_code="2207", org_code="H2", error_code="NETWORK") == 7


def test_bucket_boundaries_are_inclusive(collector):
    """A call of exactly 100 ms falls in le=0.1, as Prometheus' le means <=."""
    collector.record_api_call("1101", "H1", "success", 100.0)
    s = _samples(collector.get_prometheus_metrics())
    bucket = "medical_insurance_api_duration_seconds_bucket"
    assert _value(s, bucket, api_code="1101", org_code="H1", le="0.1") == 1
    assert _value(s, bucket, api_code="1101", org_code="H1", le="0.05") == 0


def test_openmetrics_exemplars_carry_trace_ids(collector):
    """The duration histogram carries the trace id of a traced call as an exemplar."""
    trace = "4bf92f3577b34da6a3ce929d0e0e4736"
    with collector.track("2207", "H1", trace_id=trace):
        pass
    text = collector.get_prometheus_metrics(openmetrics=True)
    assert f'# {{trace_id="{trace}"}}' in text
    assert text.rstrip().endswith("# EOF")


def test_label_values_are_escaped_and_parse(collector):
    """Quotes, backslashes, newlines and braces in label values still parse."""
    collector.record_api_call('a"b\\c\nd}{', 'o"rg', "error", 1.0, error_code="x\ny")
    s = _samples(collector.get_prometheus_metrics())
    keys = [dict(k[1]) for k in s if k[0] == "medical_insurance_api_calls_total"]
    assert keys == [{"api_code": 'a"b\\c d}{', "org_code": 'o"rg', "status": "error"}]


def test_cardinality_caps_fold_into_other_and_count(config):
    """Beyond the per-label cap, org codes fold into __other__; overflow is counted."""
    c = MetricsCollector(config.replace(max_org_codes=5, max_error_codes=3))
    for i in range(50):
        c.record_api_call("1101", f"H{i:03d}", "error", 10.0, error_code=f"E{i}")
    s = _samples(c.get_prometheus_metrics())
    orgs = {dict(k[1])["org_code"] for k in s if k[0] == "medical_insurance_api_calls_total"}
    assert len(orgs) == 6
    assert "__other__" in orgs
    total = sum(v for k, v in s.items() if k[0] == "medical_insurance_api_calls_total")
    assert total == 50
    dropped = {
        dict(k[1])["reason"]: v
        for k, v in s.items()
        if k[0] == "medical_insurance_monitoring_dropped_total"
    }
    assert dropped["overflow_label_org_code"] == 45
    assert dropped["overflow_label_error_code"] == 47
    c.shutdown()


def test_series_cap_per_metric(config):
    """A metric never exceeds max_series_per_metric series (+ the overflow series)."""
    c = MetricsCollector(config.replace(max_series_per_metric=10))
    for i in range(40):
        c.record_api_call(f"{1000 + i}", "H1", "success", 10.0)
    s = _samples(c.get_prometheus_metrics())
    series = [k for k in s if k[0] == "medical_insurance_api_calls_total"]
    assert len(series) == 11
    assert sum(s[k] for k in series) == 40
    c.shutdown()


def test_histogram_without_org_label(config):
    """histogram_by_org=False drops org_code from the duration histogram."""
    c = MetricsCollector(config.replace(histogram_by_org=False))
    c.record_api_call("1101", "H1", "success", 10.0)
    c.record_api_call("1101", "H2", "success", 10.0)
    s = _samples(c.get_prometheus_metrics())
    assert _value(s, "medical_insurance_api_duration_seconds_count", api_code="1101") == 2
    c.shutdown()


def test_metrics_http_server_serves_and_gzip(config):
    """The /metrics server serves the registry; gzip is honoured."""
    c = MetricsCollector(config.replace(prometheus_port=free_port(), prometheus_host="127.0.0.1"))
    c.record_api_call("1101", "H1", "success", 10.0)
    assert c.metrics_port is not None
    r = httpx.get(f"http://127.0.0.1:{c.metrics_port}/metrics", headers={"Accept-Encoding": "gzip"})
    assert r.status_code == 200
    assert r.headers.get("content-encoding") == "gzip"
    assert 'medical_insurance_api_calls_total{api_code="1101"' in r.text
    c.shutdown()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{c.metrics_port or 1}/metrics", timeout=1)


def test_busy_port_logs_one_warning_and_keeps_working(config, caplog):
    """A taken port gives one warning; recording and exposition keep working."""
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with caplog.at_level(logging.WARNING):
            c = MetricsCollector(config.replace(prometheus_port=port, prometheus_host="127.0.0.1"))
        assert c.metrics_port is None
        warnings = [r for r in caplog.records if "server not started" in r.getMessage()]
        assert len(warnings) == 1
        c.record_api_call("1101", "H1", "success", 10.0)
        assert "medical_insurance_api_calls_total" in c.get_prometheus_metrics()
        c.shutdown()


class _Capture(http.server.BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[str, str, bytes]]] = []

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.received.append((self.command, self.path, self.rfile.read(length)))
        self.send_response(202)
        self.end_headers()

    do_PUT = do_POST = do_DELETE = _handle

    def log_message(self, *args: object) -> None:
        return


@pytest.fixture
def gateway() -> Iterator[str]:
    """A local HTTP peer that records pushes like a Pushgateway would receive them."""
    _Capture.received = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Capture)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_push_sends_registry_with_instance_grouping_key(collector, gateway):
    """A push PUTs the exposition under job and an instance grouping key."""
    collector.record_api_call("3201", "H1", "success", 10.0)
    assert collector.export_metrics_to_prometheus_gateway(gateway) is True
    method, path, body = _Capture.received[-1]
    assert method == "PUT"
    assert path.startswith("/metrics/job/medical_insurance_sdk/instance/")
    assert b'medical_insurance_api_calls_total{api_code="3201"' in body


def test_shutdown_deletes_pushed_group(config, gateway):
    """On clean shutdown the pushed group is deleted from the gateway."""
    c = MetricsCollector(config.replace(prometheus_gateway_url=gateway))
    c.record_api_call("3201", "H1", "success", 10.0)
    assert c.export_metrics_to_prometheus_gateway(job_name="medical_insurance_sdk")
    c.shutdown()
    methods = [m for m, _, _ in _Capture.received]
    assert methods[-1] == "DELETE"
    assert "PUT" in methods


def test_push_to_dead_gateway_returns_false_fast_and_is_counted(config):
    """A refused push returns False, bounded by the timeout, is counted, never raised."""
    c = MetricsCollector(config.replace(push_timeout=1.0))
    started = time.monotonic()
    assert c.export_metrics_to_prometheus_gateway(f"http://127.0.0.1:{free_port()}") is False
    assert time.monotonic() - started < 1.0 + 4.0  # the timeout, and room for a loaded host
    assert c.health.errors()["push"] == 1
    c.shutdown()


def test_background_push_every_interval(config, gateway):
    """With prometheus_gateway_url set, pushes happen every collection_interval."""
    c = MetricsCollector(
        config.replace(prometheus_gateway_url=gateway, background=True, collection_interval=0.05)
    )
    deadline = time.monotonic() + 5
    while len([m for m, _, _ in _Capture.received if m == "PUT"]) < 2:
        assert time.monotonic() < deadline, "no background pushes"
        time.sleep(0.02)
    c.shutdown()
