"""Clients of the simulator: for_simulator() at work, and the node id on the wire."""

from __future__ import annotations

import logging

import pytest

from medical_insurance_sdk.client import AsyncMedicalInsuranceClient, MedicalInsuranceClient
from medical_insurance_sdk.core import MetricsCollector
from medical_insurance_sdk.simulator.testing import SAMPLE_CERTNO, SAMPLE_ORG, RunningSimulator

pytestmark = pytest.mark.integration

PERSON = {"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": SAMPLE_CERTNO}}


def test_for_simulator_calls_the_simulator_without_a_warning(
    sim: RunningSimulator, collector: MetricsCollector, caplog: pytest.LogCaptureFixture
) -> None:
    """for_simulator(url): signs in with the demo credentials and calls, silently."""
    with MedicalInsuranceClient.for_simulator(
        sim.base_url, collector=collector, auto_sign_in=True
    ) as client:
        output = client.call("1101", PERSON)
    assert output["baseinfo"]["certno"] == SAMPLE_CERTNO
    stats = sim.stats()
    assert stats["received"] == {"9001": 1, "1101": 1}
    assert stats["auth_failures"] == {}  # the simulator knows only its demo AK/SK
    assert all(msgid.startswith(SAMPLE_ORG) for msgid in stats["recent_msgids"]["1101"])
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []


async def test_node_ids_reach_the_platform_in_the_msgid(
    sim: RunningSimulator, collector: MetricsCollector, monkeypatch: pytest.MonkeyPatch
) -> None:
    """node_id= and MISDK_NODE_ID put their digit after the timestamp; no msgid repeats."""
    monkeypatch.setenv("MISDK_NODE_ID", "6")
    with MedicalInsuranceClient.for_simulator(sim.base_url, collector=collector, cache=False) as c:
        for _ in range(3):
            c.call("1101", PERSON)
    async with AsyncMedicalInsuranceClient.for_simulator(
        sim.base_url, collector=collector, cache=False, node_id=3
    ) as a:
        for _ in range(3):
            await a.call("1101", PERSON)
    stats = sim.stats()
    msgids = stats["recent_msgids"]["1101"]
    assert [msgid[26] for msgid in msgids] == ["6", "6", "6", "3", "3", "3"]
    assert all(len(msgid) == 30 for msgid in msgids)
    assert stats["duplicate_msgids"] == 0
