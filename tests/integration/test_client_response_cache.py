"""The response cache in the client: R interfaces only, feeding cache_hit_ratio."""

from __future__ import annotations

import random

import pytest

from medical_insurance_sdk.client import (
    AsyncMedicalInsuranceClient,
    MedicalInsuranceClient,
    ResponseCache,
)
from medical_insurance_sdk.core import MetricsCollector
from medical_insurance_sdk.simulator import AuthConfig, SimulatorConfig
from medical_insurance_sdk.simulator.testing import (
    SAMPLE_CERTNO,
    SAMPLE_ORG,
    RunningSimulator,
    running_simulator,
)
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


def test_a_shared_cache_never_serves_one_platforms_answer_to_another(
    sim: RunningSimulator, collector: MetricsCollector
) -> None:
    """Two platforms, one cache: each client's 1101 reaches its own platform, then hits."""
    cache = ResponseCache()
    with (
        running_simulator(SimulatorConfig(seed=99, latency_scale=0)) as other,
        MedicalInsuranceClient.for_simulator(sim.base_url, collector=collector, cache=cache) as a,
        MedicalInsuranceClient.for_simulator(other.base_url, collector=collector, cache=cache) as b,
    ):
        first = a.call("1101", PERSON)
        assert b.call("1101", PERSON) == b.call("1101", PERSON, use_cache=False)
        assert other.stats()["received"] == {"1101": 2}
        assert a.call("1101", PERSON) == first
        b.call("1101", PERSON)
        assert other.stats()["received"] == {"1101": 2}
    assert sim.stats()["received"] == {"1101": 1}
    assert cache.stats().hits == 2
    assert len(cache.keys()) == 2


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (
            {"access_key": "ak-a", "secret_key": "sk-a"},
            {"access_key": "ak-b", "secret_key": "sk-b"},
        ),
        ({"region": "430299"}, {"region": "430105"}),
        ({"insured_region": "430299"}, {"insured_region": "430105"}),
    ],
    ids=["access-key", "region", "insured-region"],
)
async def test_a_shared_cache_keeps_accounts_and_regions_apart(
    collector: MetricsCollector, first: dict[str, str], second: dict[str, str]
) -> None:
    """Two clients of one platform differing in AK or region: no answer crosses over."""
    cache = ResponseCache()
    keys = {"ak-a": "sk-a", "ak-b": "sk-b", "misdk-demo-ak": "misdk-demo-sk"}
    config = SimulatorConfig(seed=3, latency_scale=0, auth=AuthConfig(keys=keys))
    with running_simulator(config) as platform:
        for options in (first, second, first, second):
            async with AsyncMedicalInsuranceClient.for_simulator(
                platform.base_url, collector=collector, cache=cache, **options
            ) as client:
                await client.call("1101", PERSON)
        assert platform.stats()["received"] == {"1101": 2}
    assert cache.stats().hits == 2
