"""Push against a real Pushgateway: grouping key, delete on shutdown, slow gateways."""

from __future__ import annotations

import socket
import threading
import time

import pytest
from servers import free_port

from medical_insurance_sdk.core import MetricConfig, MetricsCollector
from medical_insurance_sdk.core.batch import batch_job

pytestmark = pytest.mark.integration


def _groups(gw) -> dict[str, dict[str, str]]:
    return {g["labels"].get("instance", ""): g["labels"] for g in gw.groups()}


def test_periodic_push_uses_instance_grouping_key_and_deletes_on_shutdown(pushgateway):
    """A service pushing periodically is grouped by instance and deleted on clean shutdown."""
    c = MetricsCollector(
        MetricConfig(
            prometheus_port=0,
            prometheus_gateway_url=pushgateway.url,
            collection_interval=0.1,
            push_grouping_key={"site": "hn"},
        )
    )
    c.record_api_call("1101", "H1", "success", 20.0)
    deadline = time.monotonic() + 10
    while not pushgateway.groups():
        assert time.monotonic() < deadline, "nothing pushed"
        time.sleep(0.05)
    (labels,) = _groups(pushgateway).values()
    assert labels["job"] == "medical_insurance_sdk"
    assert labels["site"] == "hn"
    assert labels["instance"] == c.prometheus.grouping_key["instance"]
    assert ":" in labels["instance"]
    text = pushgateway.metrics_text()
    assert 'medical_insurance_api_calls_total{api_code="1101"' in text
    c.shutdown()
    assert pushgateway.groups() == []


def test_batch_job_pushes_once_and_keeps_its_group(pushgateway):
    """A batch job (nightly 3201) pushes its calls and last-success time, and stays."""
    with batch_job("reconciliation_3201", pushgateway.url, grouping_key={"run": "nightly"}) as c:
        for _ in range(3):
            c.record_api_call("3201", "H1", "success", 150.0)
    (labels,) = _groups(pushgateway).values()
    assert (labels["job"], labels["run"]) == ("reconciliation_3201", "nightly")
    assert labels["instance"] == socket.gethostname()  # stable: the next run replaces it
    text = pushgateway.metrics_text()
    assert 'medical_insurance_api_calls_total{api_code="3201"' in text
    line = next(
        x
        for x in text.splitlines()
        if x.startswith("medical_insurance_batch_last_success_timestamp_seconds{")
    )
    assert float(line.rsplit(" ", 1)[1]) > 1.7e9


def test_batch_job_failure_pushes_without_success_time(pushgateway):
    """A failing job still pushes, without updating its last-success time."""

    def failing_job() -> None:
        with batch_job("catalog_1301", pushgateway.url) as c:
            c.record_api_call("1301", "H1", "error", 30000.0, error_code="READ_TIMEOUT")
            raise RuntimeError("download failed")

    with pytest.raises(RuntimeError, match="download failed"):
        failing_job()
    text = pushgateway.metrics_text()
    assert "medical_insurance_batch_last_run_timestamp_seconds{" in text
    assert "medical_insurance_batch_last_success_timestamp_seconds{" not in text
    with batch_job("catalog_1301", pushgateway.url) as c:  # the next, successful run
        c.record_api_call("1301", "H1", "success", 20000.0)
    assert len(pushgateway.groups()) == 1  # it replaced the failed run's group
    text = pushgateway.metrics_text()
    run = _sample(text, "medical_insurance_batch_last_run_timestamp_seconds")
    assert _sample(text, "medical_insurance_batch_last_success_timestamp_seconds") == run


def _sample(text: str, name: str) -> float:
    line = next(x for x in text.splitlines() if x.startswith(name + "{"))
    return float(line.rsplit(" ", 1)[1])


def test_silent_gateway_never_blocks_business_calls():
    """While a push hangs on a gateway that accepts and never answers, calls still record."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    accepted = threading.Event()
    held: list[socket.socket] = []

    def accept() -> None:
        conn, _ = listener.accept()
        held.append(conn)
        accepted.set()

    threading.Thread(target=accept, daemon=True).start()
    port = listener.getsockname()[1]
    c = MetricsCollector(
        MetricConfig(
            prometheus_port=0,
            prometheus_gateway_url=f"http://127.0.0.1:{port}",
            collection_interval=0.05,
            push_timeout=3.0,
        )
    )
    assert accepted.wait(10), "the push never connected"
    for _ in range(2000):
        with c.track("2207", "H1"):
            pass
    assert c.get_api_statistics()["total_calls"] == 2000
    assert c.health.errors().get("push", 0) == 0  # the push is still hanging meanwhile
    c.shutdown(timeout=10)
    for conn in held:
        conn.close()
    listener.close()


def test_dead_gateway_is_counted(pushgateway):
    """A gateway that is down: the push returns False and is counted."""
    c = MetricsCollector(MetricConfig(prometheus_port=0, background=False, push_timeout=1.0))
    assert c.export_metrics_to_prometheus_gateway(f"http://127.0.0.1:{free_port()}") is False
    assert c.export_metrics_to_prometheus_gateway(pushgateway.url) is True
    assert c.health.errors() == {"push": 1}
    c.shutdown()
