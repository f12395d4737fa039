"""One SDK process of the fleet test: real client calls to the simulator, /metrics served.

Run as ``python fleet_member.py SIMULATOR_URL MEMBER METRICS_PORT``. The process makes a
known mix of calls through ``MedicalInsuranceClient.for_simulator`` (several API codes,
three orgs, business refusals, HTTP 5xx faults, a W$ settlement whose outcome is unknown),
writes one JSON line on stdout with its own exact per-(api, org) figures, taken from its
collector's snapshot, then serves ``/metrics`` on ``METRICS_PORT`` until stdin closes.

The simulator must run with the faults of :data:`SIMULATOR_CONFIG` (``fleet.py`` writes
it). ``MEMBER`` (0, 1, 2...) varies the number of calls, so members differ; a negative
``MEMBER`` makes one 1301 call per org (a process restarted in the place of another:
its counters start below the ones it replaces, so Prometheus sees a reset).
"""

from __future__ import annotations

import contextlib
import json
import random
import sys
from collections import Counter
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from medical_insurance_sdk.client import MedicalInsuranceClient, RetryPolicy
from medical_insurance_sdk.core import MetricConfig, MetricsCollector
from medical_insurance_sdk.exceptions import MedicalInsuranceError
from medical_insurance_sdk.simulator.testing import SAMPLE_CERTNO, SAMPLE_CERTNO_UNINSURED
from medical_insurance_sdk.simulator.workload import new_visit

__all__ = ["ORGS", "SIMULATOR_CONFIG", "main"]

#: Three institutions; every member calls for each.
ORGS = ("H43010500001", "H43010500002", "H43010500003")

#: The simulator's settings for the fleet: a latency spread over several buckets, 1201
#: always answers HTTP 500 (a system error, retried once), 2207 is always truncated after
#: the platform processed it (a W$ call whose outcome is unknown).
SIMULATOR_CONFIG: dict[str, Any] = {
    "seed": 11,
    "latency_scale": 1.0,
    "latency": {"*": {"median_ms": 30, "p99_ms": 600}},
    "faults": {"1201": {"http_5xx_rate": 1.0}, "2207": {"truncated_rate": 1.0}},
}


def person(certno: str) -> dict[str, dict[str, str]]:
    """1101 (and other person queries) input."""
    return {"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": certno}}


def calls_for_org(client: MedicalInsuranceClient, member: int, org_index: int) -> None:
    """The deterministic call mix of one org: failures are expected and swallowed here."""
    plan: list[tuple[str, dict[str, Any]]] = []
    plan += [("1101", person(SAMPLE_CERTNO))] * (4 + member + org_index)
    plan += [("1101", person(SAMPLE_CERTNO_UNINSURED))] * 2  # business refusal
    plan += [("1201", {"data": {}})] * (1 + member)  # HTTP 500, retried once
    plan += [("1301", {"data": {"ver": "0"}})] * 3
    plan += [("5201", person(SAMPLE_CERTNO))] * (2 + org_index)
    for api_code, body in plan:
        # A failure is counted by the collector: that is what the test compares.
        with contextlib.suppress(MedicalInsuranceError):
            client.call(api_code, body)
    if org_index == 0:  # one W$ settlement per member: registered, charged, truncated
        visit = new_visit(random.Random(100 + member), 100 + member)
        visit.take_person(client.call("1101", visit.person_query()))
        visit.mdtrt_id = client.call("2201", visit.registration())["data"]["mdtrt_id"]
        client.call("2204", visit.fee_upload())
        with contextlib.suppress(MedicalInsuranceError):  # outcome unknown: counted
            client.call("2207", visit.settlement())


def figures(collector: MetricsCollector) -> dict[str, Any]:
    """Exact per-(api, org) counts, error codes, durations and unknown outcomes."""
    snap = collector.snapshot()
    series: dict[str, dict[str, Any]] = {}
    for i in range(len(snap)):
        key = f"{snap.api_codes[snap.api[i]]}|{snap.org_codes[snap.org[i]]}"
        row = series.setdefault(key, {"calls": 0, "success": 0, "errors": {}, "durations": []})
        row["calls"] += 1
        row["success"] += int(snap.success[i])
        if snap.error[i] >= 0:
            code = snap.error_codes[snap.error[i]]
            row["errors"][code] = row["errors"].get(code, 0) + 1
        row["durations"].append(float(snap.duration[i]))
    unknown: Counter[str] = Counter()
    for family in text_string_to_metric_families(collector.get_prometheus_metrics()):
        if family.name == "medical_insurance_api_outcome_unknown":
            for s in family.samples:
                if s.name.endswith("_total"):
                    key = f"{s.labels['api_code']}|{s.labels['org_code']}"
                    unknown[key] += int(s.value)
    return {"series": series, "outcome_unknown": dict(unknown)}


def main(argv: list[str]) -> int:
    """Make the calls, report the figures, serve /metrics until stdin closes."""
    base_url, member, port = argv[0], int(argv[1]), int(argv[2])
    collector = MetricsCollector(
        MetricConfig(
            prometheus_port=port,
            prometheus_host="127.0.0.1",
            background=False,
            system_metrics_enabled=False,
        )
    )
    retries = RetryPolicy(max_attempts=2, backoff_base=0.001, backoff_max=0.005)
    for org_index, org in enumerate(ORGS):
        with MedicalInsuranceClient.for_simulator(
            base_url, org, collector=collector, retries=retries, cache=False, timeout=10.0
        ) as client:
            if member < 0:  # a restarted process: fewer calls than any member made
                client.call("1301", {"data": {"ver": "0"}})
            else:
                calls_for_org(client, member, org_index)
    sys.stdout.write(json.dumps(figures(collector)) + "\n")
    sys.stdout.flush()
    sys.stdin.read()  # the test closes stdin once Prometheus and VictoriaMetrics have it all
    collector.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
