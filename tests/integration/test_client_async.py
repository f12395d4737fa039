"""The async client, and both clients under concurrency: counts agree everywhere."""

from __future__ import annotations

import asyncio
import random
import threading
from collections.abc import Callable

import httpx
import pytest

from medical_insurance_sdk.client import AsyncMedicalInsuranceClient, MedicalInsuranceClient
from medical_insurance_sdk.core import MetricsCollector
from medical_insurance_sdk.exceptions import BusinessError, ReadTimeoutError
from medical_insurance_sdk.simulator.testing import (
    SAMPLE_CERTNO,
    SAMPLE_CERTNO_UNINSURED,
    SAMPLE_ORG,
    RunningSimulator,
)
from medical_insurance_sdk.simulator.workload import new_visit

pytestmark = pytest.mark.integration

PERSON = {"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": SAMPLE_CERTNO}}


async def test_async_outpatient_flow(
    aclient: AsyncMedicalInsuranceClient, sim: RunningSimulator
) -> None:
    """The async client runs the visit flow, sign-in included."""
    await aclient.sign_in()
    visit = new_visit(random.Random(4), 4)
    visit.take_person(await aclient.call("1101", visit.person_query()))
    visit.mdtrt_id = (await aclient.call("2201", visit.registration()))["data"]["mdtrt_id"]
    await aclient.call("2203", visit.visit_upload())
    await aclient.call("2204", visit.fee_upload())
    settled = await aclient.call("2207", visit.settlement())
    assert settled["setlinfo"]["medfee_sumamt"] == pytest.approx(visit.total)
    assert settled["setlinfo"]["medins_setl_id"] == sim.stats()["recent_msgids"]["2207"][-1]
    with pytest.raises(BusinessError):
        await aclient.call(
            "1101", {"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": SAMPLE_CERTNO_UNINSURED}}
        )


async def test_async_outcome_unknown_and_reverse(
    sim: RunningSimulator, collector: MetricsCollector
) -> None:
    """A hung W$ call raises outcome_unknown once; 2601 recovers it."""
    async with AsyncMedicalInsuranceClient(
        sim.base_url, SAMPLE_ORG, collector=collector, timeout=0.3
    ) as client:
        visit = new_visit(random.Random(8), 8)
        visit.take_person(await client.call("1101", visit.person_query()))
        visit.mdtrt_id = (await client.call("2201", visit.registration()))["data"]["mdtrt_id"]
        await client.call("2204", visit.fee_upload())
        sim.set_faults({"2207": {"hang_rate": 1.0, "hang_seconds": 2.0}})
        with pytest.raises(ReadTimeoutError) as info:
            await client.call("2207", visit.settlement())
        assert info.value.outcome_unknown
        assert info.value.msgid is not None
        reversed_ = await client.reverse(info.value.msgid, "2207", visit.psn_no)
    assert reversed_.reversed is True
    assert reversed_.output["data"]["omsgid"] == info.value.msgid
    assert sim.stats()["received"]["2207"] == 1


async def test_async_concurrency_counts_agree(
    aclient: AsyncMedicalInsuranceClient, sim: RunningSimulator, collector: MetricsCollector
) -> None:
    """200 concurrent tasks: client results, collector and simulator all count 200."""

    async def one(i: int) -> dict[str, object]:
        return await aclient.call("1101", PERSON, use_cache=False)

    results = await asyncio.gather(*(one(i) for i in range(200)))
    assert len(results) == 200
    assert collector.get_api_statistics()["total_calls"] == 200
    stats = sim.stats()
    assert stats["received"] == {"1101": 200}
    assert stats["duplicate_msgids"] == 0


def test_sync_client_shared_by_threads(
    client: MedicalInsuranceClient, sim: RunningSimulator, collector: MetricsCollector
) -> None:
    """8 threads x 40 calls through one client: exact counts, unique msgids, no errors."""
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(40):
                client.call("1101", PERSON, use_cache=False)
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    stats = sim.stats()
    assert stats["received"] == {"1101": 320}
    assert stats["duplicate_msgids"] == 0
    assert collector.get_api_statistics()["total_calls"] == 320
    exposition = collector.get_prometheus_metrics()
    assert (
        'medical_insurance_api_calls_total{api_code="1101",org_code="H43010500001",'
        'status="success"} 320.0' in exposition
    )
    assert 'medical_insurance_active_connections{connection_type="http"} 0.0' in exposition


async def _connections_for_bursts(
    client: AsyncMedicalInsuranceClient, sim: RunningSimulator
) -> int:
    """TCP connections the simulator saw for three bursts of 200 concurrent calls."""
    sim.reset()
    for _ in range(3):
        await asyncio.gather(*(client.call("1101", PERSON, use_cache=False) for _ in range(200)))
    stats = sim.stats()
    assert stats["received"] == {"1101": 600}
    return int(stats["connections"])


@pytest.mark.slow  # ~10 s: three bursts of 200 calls, with two pool settings
async def test_async_bursts_reuse_kept_alive_connections(
    aclient: AsyncMedicalInsuranceClient, sim: RunningSimulator
) -> None:
    """Bursts above the pool size (100) reuse the pooled connections: every one is kept
    alive. With httpx's default (20 kept alive) each burst closes and reopens the rest."""
    kept = await _connections_for_bursts(aclient, sim)
    churning = AsyncMedicalInsuranceClient(
        sim.base_url, SAMPLE_ORG, limits=httpx.Limits(max_keepalive_connections=20)
    )
    async with churning:
        reopened = await _connections_for_bursts(churning, sim)
    assert kept <= 150  # 100 pooled, plus a few replaced while the burst drains
    assert reopened >= 180


async def test_cancelled_calls_are_ended_and_money_calls_flagged(
    sim: RunningSimulator, collector: MetricsCollector
) -> None:
    """A cancelled task's call is recorded at once (not left in flight until it expires);
    a cancelled W$ call after its request went out counts as outcome unknown."""
    async with AsyncMedicalInsuranceClient(
        sim.base_url, SAMPLE_ORG, collector=collector, cache=False
    ) as client:
        visit = new_visit(random.Random(9), 9)
        visit.take_person(await client.call("1101", visit.person_query()))
        visit.mdtrt_id = (await client.call("2201", visit.registration()))["data"]["mdtrt_id"]
        await client.call("2204", visit.fee_upload())
        sim.set_faults({
            "1101": {"hang_rate": 1.0, "hang_seconds": 5.0},
            "2207": {"hang_rate": 1.0, "hang_seconds": 5.0},
        })  # fmt: skip
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(client.call("1101", PERSON), 0.3)
        task = asyncio.create_task(client.call("2207", visit.settlement()))
        await _until(lambda: sim.stats()["received"].get("2207", 0) == 1)  # it has gone out
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert collector.pending_calls == 0
    assert collector.connections()["http"] == 0
    failed = {c.api_code: c.error_code for c in collector.get_recent_calls() if c.error_code}
    assert failed == {"1101": "CancelledError", "2207": "CancelledError"}
    assert dict(collector.outcome_unknown.items()) == {("2207", SAMPLE_ORG): 1.0}


async def test_calls_in_flight_show_in_active_connections(
    sim: RunningSimulator, collector: MetricsCollector
) -> None:
    """While three calls wait on the platform, active_connections{http} reads 3, then 0."""
    sim.set_faults({"1101": {"hang_rate": 1.0, "hang_seconds": 30.0}})
    async with AsyncMedicalInsuranceClient(
        sim.base_url, SAMPLE_ORG, collector=collector, cache=False
    ) as client:
        tasks = [asyncio.create_task(client.call("1101", PERSON)) for _ in range(3)]
        await _until(lambda: sim.stats()["received"].get("1101", 0) == 3)
        assert collector.connections()["http"] == 3
        exposition = collector.get_prometheus_metrics()
        assert 'medical_insurance_active_connections{connection_type="http"} 3.0' in exposition
        assert "medical_insurance_api_calls_in_flight 3.0" in exposition
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    assert collector.connections()["http"] == 0
    assert collector.get_api_statistics()["total_calls"] == 3


async def _until(condition: Callable[[], bool], seconds: float = 10.0) -> None:
    """Wait until ``condition()`` holds; fail the test if it does not within ``seconds``."""
    deadline = asyncio.get_running_loop().time() + seconds
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            pytest.fail(f"condition not met within {seconds} s")
        await asyncio.sleep(0.02)
