"""The response cache in the client: R interfaces only, feeding cache_hit_ratio."""

from __future__ import annotations

import random

import pytest

from medical_insurance_sdk.client import MedicalInsuranceClient, ResponseCache
from medical_insurance_sdk.core import MetricsCollector
from medical_insurance_sdk.simulator.testing import SAMPLE_CERTNO, SAMPLE_ORG, RunningSimulator
from medical_insurance_sdk.simulator.workload import new_visit

pytestmark = pytest.mark.integration

PERSON = {"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": SAMPLE_CERTNO}}


def gauge(collector: MetricsCollector) -> float:
    """The exported medical_insurance_cache_hit_ratio{cache_type="response"}."""
    prefix = 'medical_insurance_cache_hit_ratio{cache_type="response"} '
    lines = collector.get_prometheus_metrics().splitlines()
    return float(next(line for line in lines if line.startswith(prefix))[len(prefix) :])


def test_hits_and_misses_feed_the_gauge(
    client: MedicalInsuranceClient, sim: RunningSimulator, collector: MetricsCollector
) -> None:
    """Miss, hit, hit: one request reaches the platform and the ratio is 2/3."""
    first = client.call("1101", PERSON)
    assert gauge(collector) == 0.0
    assert client.call("1101", PERSON) == first
    assert client.call("1101", PERSON) == first
    assert sim.stats()["received"] == {"1101": 1}
    assert gauge(collector) == pytest.approx(2 / 3)
    assert client.cache is not None
    assert client.cache.stats().hits == 2


def test_cache_hits_are_not_recorded_as_platform_calls(
    client: MedicalInsuranceClient, collector: MetricsCollector
) -> None:
    """Only calls that reach the platform are in the call statistics."""
    for _ in range(3):
        client.call("1301", {"data": {"ver": "0"}})
    assert collector.get_api_statistics()["total_calls"] == 1


def test_bypass_and_different_inputs(client: MedicalInsuranceClient, sim: RunningSimulator) -> None:
    """use_cache=False and a different input or region each reach the platform."""
    client.call("1101", PERSON)
    client.call("1101", PERSON, use_cache=False)
    client.call("1101", PERSON, insuplc_admdvs="430105")
    client.call("1301", {"data": {"ver": "1"}})
    client.call("1301", {"data": {"ver": "2"}})
    assert sim.stats()["received"] == {"1101": 3, "1301": 2}


def test_writes_and_uncacheable_reads_are_never_cached(
    client: MedicalInsuranceClient, sim: RunningSimulator
) -> None:
    """2201 (W) and 2206 (R, but state-dependent) always reach the platform."""
    visit = new_visit(random.Random(2), 2)
    visit.take_person(client.call("1101", visit.person_query()))
    first = client.call("2201", visit.registration())
    second = client.call("2201", visit.registration())
    assert first["data"]["mdtrt_id"] != second["data"]["mdtrt_id"]
    visit.mdtrt_id = second["data"]["mdtrt_id"]
    client.call("2204", visit.fee_upload())
    client.call("2206", visit.settlement())
    client.call("2206", visit.settlement())
    received = sim.stats()["received"]
    assert (received["2201"], received["2206"]) == (2, 2)


def test_cache_keys_hold_no_personal_data(
    sim: RunningSimulator, collector: MetricsCollector
) -> None:
    """After caching a personal 1101 answer the keys reveal nothing of the person."""
    cache = ResponseCache(max_entries=8)
    with MedicalInsuranceClient(sim.base_url, SAMPLE_ORG, collector=collector, cache=cache) as c:
        output = c.call("1101", PERSON)
    keys = cache.keys()
    assert len(keys) == 1
    for secret in (SAMPLE_CERTNO, SAMPLE_CERTNO[:6], output["baseinfo"]["psn_name"]):
        assert secret not in keys[0]


def test_cache_disabled(sim: RunningSimulator, collector: MetricsCollector) -> None:
    """cache=False sends every call."""
    with MedicalInsuranceClient(sim.base_url, SAMPLE_ORG, collector=collector, cache=False) as c:
        c.call("1101", PERSON)
        c.call("1101", PERSON)
        assert c.cache is None
    assert sim.stats()["received"] == {"1101": 2}
