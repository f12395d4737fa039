"""A real Prometheus scrapes the SDK's /metrics: series and values equal what was recorded."""

from __future__ import annotations

import pytest
from servers import free_port

from medical_insurance_sdk.core import MetricConfig, MetricsCollector

pytestmark = pytest.mark.integration


def test_prometheus_scrapes_exact_counts_and_exemplars(start_prometheus):
    """Counts are exact, histogram _count equals calls, exemplars carry trace ids."""
    c = MetricsCollector(
        MetricConfig(prometheus_port=free_port(), prometheus_host="127.0.0.1", background=False)
    )
    traces = [f"{i:032x}" for i in range(1, 21)]
    for i, trace in enumerate(traces):
        with c.track("2207", "H43010500001", trace_id=trace) as call:
            if i % 4 == 0:
                call.fail("BIZ_-1")
    for _ in range(13):
        c.record_api_call("1101", "H43010500001", "success", 35.0)
    prom = start_prometheus({"medical-insurance-sdk": [f"127.0.0.1:{c.metrics_port}"]})
    expr = (
        'sum by (api_code, status) (medical_insurance_api_calls_total{job="medical-insurance-sdk"})'
    )
    result = prom.wait_for(expr, lambda r: len(r) == 3)
    got = {(s["metric"]["api_code"], s["metric"]["status"]): float(s["value"][1]) for s in result}
    assert got == {("2207", "success"): 15, ("2207", "error"): 5, ("1101", "success"): 13}
    counts = prom.query("medical_insurance_api_duration_seconds_count")
    assert {s["metric"]["api_code"]: float(s["value"][1]) for s in counts} == {
        "2207": 20,
        "1101": 13,
    }
    errors = prom.query("medical_insurance_api_errors_total")
    assert [(s["metric"]["error_code"], float(s["value"][1])) for s in errors] == [("BIZ_-1", 5)]
    data = prom.api(
        "query_exemplars",
        query='medical_insurance_api_duration_seconds_bucket{api_code="2207"}',
        start="0",
        end="9999999999",
    )
    seen = {e["labels"]["trace_id"] for series in data for e in series["exemplars"]}
    assert seen
    assert seen <= set(traces)
    c.shutdown()


def test_client_traffic_against_simulator_equals_prometheus_and_exemplars(start_prometheus):
    """SDK client → simulator: Prometheus counts equal the simulator's; exemplars are traces."""
    from medical_insurance_sdk.client import MedicalInsuranceClient
    from medical_insurance_sdk.exceptions import BusinessError
    from medical_insurance_sdk.simulator import SimulatorConfig
    from medical_insurance_sdk.simulator.testing import (
        SAMPLE_CERTNO,
        SAMPLE_CERTNO_UNINSURED,
        SAMPLE_ORG,
        running_simulator,
    )

    c = MetricsCollector(
        MetricConfig(prometheus_port=free_port(), prometheus_host="127.0.0.1", background=False)
    )
    sent_traces: set[str] = set()
    person = {"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": SAMPLE_CERTNO}}
    uninsured = {"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": SAMPLE_CERTNO_UNINSURED}}
    with running_simulator(SimulatorConfig(seed=2, latency_scale=0.0)) as sim:
        with MedicalInsuranceClient(sim.base_url, SAMPLE_ORG, collector=c, cache=False) as client:
            for i in range(30):
                if i % 5 == 0:
                    with pytest.raises(BusinessError):
                        client.call("1101", uninsured)
                else:
                    client.call("1101", person)
                headers = sim.stats()["last_headers"]["1101"]
                sent_traces.add(headers["traceparent"].split("-")[1])
        received = sim.stats()["received"]
    prom = start_prometheus({"medical-insurance-sdk": [f"127.0.0.1:{c.metrics_port}"]})
    result = prom.wait_for(
        'sum by (status) (medical_insurance_api_calls_total{api_code="1101"})',
        lambda r: len(r) == 2,
    )
    by_status = {s["metric"]["status"]: float(s["value"][1]) for s in result}
    assert by_status == {"success": 24, "error": 6}
    assert sum(by_status.values()) == received["1101"] == 30
    (count,) = prom.query('medical_insurance_api_duration_seconds_count{api_code="1101"}')
    assert float(count["value"][1]) == 30
    data = prom.api(
        "query_exemplars",
        query='medical_insurance_api_duration_seconds_bucket{api_code="1101"}',
        start="0",
        end="9999999999",
    )
    seen = {e["labels"]["trace_id"] for series in data for e in series["exemplars"]}
    assert seen
    assert seen <= sent_traces
    c.shutdown()
