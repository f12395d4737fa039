"""The per-call deadline: connect, send and the whole body, for both clients and file calls."""

from __future__ import annotations

import random
import threading
import time

import httpx
import pytest

from medical_insurance_sdk.client import (
    AsyncMedicalInsuranceClient,
    MedicalInsuranceClient,
    RetryPolicy,
    Timeouts,
)
from medical_insurance_sdk.client.outcomes import Failure, classify
from medical_insurance_sdk.core import MetricsCollector
from medical_insurance_sdk.exceptions import DeadlineExceededError, HTTPStatusError
from medical_insurance_sdk.simulator.testing import SAMPLE_CERTNO, SAMPLE_ORG, RunningSimulator
from medical_insurance_sdk.simulator.workload import Visit, new_visit

pytestmark = pytest.mark.integration

PERSON = {"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": SAMPLE_CERTNO}}
#: One byte every 0.25 s: each read returns long before a 1 s read timeout.
DRIP = {"drip_rate": 1.0, "drip_interval": 0.25}
SLACK = 1.2  # scheduling and teardown on a loaded 2-core host; a hang here lasts 3 s


def prepare(sim: RunningSimulator, collector: MetricsCollector) -> Visit:
    """1101 → 2201 → 2204, so that 2207 can settle."""
    visit = new_visit(random.Random(9), 9)
    with MedicalInsuranceClient(sim.base_url, SAMPLE_ORG, collector=collector) as client:
        visit.take_person(client.call("1101", visit.person_query()))
        visit.mdtrt_id = client.call("2201", visit.registration())["data"]["mdtrt_id"]
        client.call("2204", visit.fee_upload())
    return visit


def test_dripping_settlement_stops_at_the_deadline(
    sim: RunningSimulator, collector: MetricsCollector
) -> None:
    """timeout=1 alone lets a drip hold a 2207 for seconds; deadline=1 ends it, unknown."""
    visit = prepare(sim, collector)
    sim.set_faults({"2207": DRIP})
    with MedicalInsuranceClient(
        sim.base_url, SAMPLE_ORG, collector=collector, timeout=1.0, deadline=1.0
    ) as client:
        started = time.monotonic()
        with pytest.raises(DeadlineExceededError) as info:
            client.call("2207", visit.settlement())
        elapsed = time.monotonic() - started
    assert 0.9 <= elapsed < 1.0 + SLACK
    assert info.value.phase == "read"
    assert info.value.error_code == "TIMEOUT_DEADLINE"
    assert info.value.outcome_unknown is True
    assert classify(info.value) is Failure.DEADLINE
    assert sim.stats()["received"]["2207"] == 1


async def test_async_dripping_settlement_stops_at_the_deadline(
    sim: RunningSimulator, collector: MetricsCollector
) -> None:
    """The async client ends the same drip at the same deadline."""
    visit = prepare(sim, collector)
    sim.set_faults({"2207": DRIP})
    async with AsyncMedicalInsuranceClient(
        sim.base_url, SAMPLE_ORG, collector=collector, timeout=1.0, deadline=1.0
    ) as client:
        started = time.monotonic()
        with pytest.raises(DeadlineExceededError) as info:
            await client.call("2207", visit.settlement())
        elapsed = time.monotonic() - started
    assert 0.9 <= elapsed < 1.0 + SLACK
    assert info.value.outcome_unknown is True
    assert sim.stats()["received"]["2207"] == 1


@pytest.mark.parametrize(
    "fault", [DRIP, {"hang_rate": 1.0, "hang_seconds": 3.0}], ids=["drip", "hang"]
)
def test_per_call_deadline_overrides_the_client(
    sim: RunningSimulator, collector: MetricsCollector, fault: dict[str, float]
) -> None:
    """call(deadline=) bounds a call of a client without one; an R call is not retried."""
    sim.set_faults({"1101": fault})
    with MedicalInsuranceClient(
        sim.base_url, SAMPLE_ORG, collector=collector, timeout=30.0, cache=False
    ) as client:
        started = time.monotonic()
        with pytest.raises(DeadlineExceededError) as info:
            client.call("1101", PERSON, deadline=0.5)
        elapsed = time.monotonic() - started
    assert elapsed < 0.5 + SLACK
    assert info.value.outcome_unknown is False  # R
    assert sim.stats()["received"]["1101"] == 1


async def test_async_per_call_deadline_on_a_hang(
    sim: RunningSimulator, collector: MetricsCollector
) -> None:
    """An answer whose headers never come is cut at the deadline too (async)."""
    sim.set_faults({"1101": {"hang_rate": 1.0, "hang_seconds": 3.0}})
    async with AsyncMedicalInsuranceClient(
        sim.base_url, SAMPLE_ORG, collector=collector, timeout=30.0, cache=False
    ) as client:
        started = time.monotonic()
        with pytest.raises(DeadlineExceededError):
            await client.call("1101", PERSON, deadline=0.5)
    assert time.monotonic() - started < 0.5 + SLACK


def test_file_calls_take_a_deadline(sim: RunningSimulator, collector: MetricsCollector) -> None:
    """download_file(deadline=) ends a dripping 9102; upload_file(deadline=) a hung 9101."""
    with MedicalInsuranceClient(
        sim.base_url, SAMPLE_ORG, collector=collector, timeout=30.0
    ) as client:
        sim.set_faults({"9102": DRIP, "9101": {"hang_rate": 1.0, "hang_seconds": 3.0}})
        started = time.monotonic()
        with pytest.raises(DeadlineExceededError):
            client.download_file("CATALOG-1301", "1301.txt", deadline=0.5)
        with pytest.raises(DeadlineExceededError) as info:
            client.upload_file(b"row\n", "a.txt", deadline=0.5)
    assert time.monotonic() - started < 1.0 + 2 * SLACK
    assert info.value.outcome_unknown is False  # 9101 is W, not W$
    assert sim.stats()["received"] == {"9102": 1, "9101": 1}


async def test_async_download_takes_a_deadline(
    sim: RunningSimulator, collector: MetricsCollector
) -> None:
    """The async download_file(deadline=) ends a dripping 9102."""
    sim.set_faults({"9102": DRIP})
    async with AsyncMedicalInsuranceClient(
        sim.base_url, SAMPLE_ORG, collector=collector, timeout=30.0
    ) as client:
        started = time.monotonic()
        with pytest.raises(DeadlineExceededError):
            await client.download_file("CATALOG-1301", "1301.txt", deadline=0.5)
    assert time.monotonic() - started < 0.5 + SLACK


def test_deadline_before_sending_is_not_unknown(
    sim: RunningSimulator, collector: MetricsCollector
) -> None:
    """A 2207 still waiting for a pooled connection at its deadline was never sent."""
    visit = prepare(sim, collector)
    sim.set_faults({"1201": {"hang_rate": 1.0, "hang_seconds": 1.0}})
    with MedicalInsuranceClient(
        sim.base_url,
        SAMPLE_ORG,
        collector=collector,
        timeout=Timeouts(connect=1.0, read=5.0, pool=5.0, per_category={}),
        limits=httpx.Limits(max_connections=1),
    ) as client:
        busy = threading.Thread(target=lambda: client.call("1201", {"data": {}}))
        busy.start()
        waited = time.monotonic() + 2
        while sim.stats()["received"].get("1201", 0) == 0 and time.monotonic() < waited:
            time.sleep(0.01)
        with pytest.raises(DeadlineExceededError) as info:
            client.call("2207", visit.settlement(), deadline=0.3)
        busy.join()
    assert info.value.phase == "pool"
    assert info.value.outcome_unknown is False
    assert classify(info.value) is Failure.DEADLINE_NOT_SENT
    assert "2207" not in sim.stats()["received"]


def test_retries_stop_when_the_deadline_leaves_no_time(
    sim: RunningSimulator, collector: MetricsCollector
) -> None:
    """An R call is not retried when the backoff would pass its deadline."""
    sim.set_faults({"1101": {"http_5xx_rate": 1.0}})
    retries = RetryPolicy(5, backoff_base=5.0, backoff_max=5.0, rng=random.Random(0))
    with MedicalInsuranceClient(
        sim.base_url, SAMPLE_ORG, collector=collector, retries=retries, cache=False
    ) as client:
        started = time.monotonic()
        with pytest.raises(HTTPStatusError):
            client.call("1101", PERSON, deadline=0.5)
    assert time.monotonic() - started < 0.5 + SLACK  # the backoff alone would be 5 s
    assert sim.stats()["received"]["1101"] == 1


@pytest.mark.parametrize("bad", [0, -1.0, float("nan")])
def test_deadline_must_be_positive(sim: RunningSimulator, bad: float) -> None:
    """A zero, negative or NaN deadline is refused loudly, at construction or per call."""
    with pytest.raises(ValueError, match="deadline"):
        MedicalInsuranceClient(sim.base_url, SAMPLE_ORG, monitoring=False, deadline=bad)
    with (
        MedicalInsuranceClient(sim.base_url, SAMPLE_ORG, monitoring=False) as client,
        pytest.raises(ValueError, match="deadline"),
    ):
        client.call("1101", PERSON, deadline=bad)
