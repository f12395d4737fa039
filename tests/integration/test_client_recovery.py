"""Recovering money-moving calls: exact session answers, 2601 with nothing to reverse, the HIS."""

from __future__ import annotations

import random

import pytest

from medical_insurance_sdk.client import AsyncMedicalInsuranceClient, MedicalInsuranceClient
from medical_insurance_sdk.client.errors import SessionAnswers
from medical_insurance_sdk.client.outcomes import ReversalResult
from medical_insurance_sdk.core import MetricsCollector
from medical_insurance_sdk.exceptions import BusinessError, HTTPStatusError, SessionError
from medical_insurance_sdk.simulator.his import HisStats, HisWorker
from medical_insurance_sdk.simulator.platform import HYGEIA
from medical_insurance_sdk.simulator.testing import SAMPLE_ORG, RunningSimulator
from medical_insurance_sdk.simulator.workload import Visit, new_visit

pytestmark = pytest.mark.integration

NOT_CHECKED_IN = f"{HYGEIA}参保人当日未签到，不能办理门诊结算"


def prepare(client: MedicalInsuranceClient, seed: int = 4) -> Visit:
    """1101 → 2201 → 2204, so that 2207 can settle."""
    visit = new_visit(random.Random(seed), seed)
    visit.take_person(client.call("1101", visit.person_query()))
    visit.mdtrt_id = client.call("2201", visit.registration())["data"]["mdtrt_id"]
    client.call("2204", visit.fee_upload())
    return visit


def test_business_message_containing_wei_qiandao_is_not_a_session_error(
    sim: RunningSimulator, collector: MetricsCollector
) -> None:
    """err_msg 参保人当日未签到… is a BusinessError: no sign-in, the 2207 is sent once."""
    with MedicalInsuranceClient(
        sim.base_url, SAMPLE_ORG, collector=collector, auto_sign_in=True
    ) as client:
        visit = prepare(client)
        sim.set_faults(
            {"2207": {"business_error_rate": 1.0, "business_error_message": NOT_CHECKED_IN}}
        )
        with pytest.raises(BusinessError) as info:
            client.call("2207", visit.settlement())
    assert not isinstance(info.value, SessionError)
    assert info.value.error_code == "BIZ_MBS_HygeiaException"
    assert info.value.outcome_unknown is False
    received = sim.stats()["received"]
    assert received["2207"] == 1
    assert received["9001"] == 1  # the first sign-in only


def test_configured_session_answer_signs_in_and_resends_once(
    sim: RunningSimulator, collector: MetricsCollector
) -> None:
    """A province's own exact session text, once configured, triggers 9001 and one resend."""
    expired = f"{HYGEIA}  会话已过期，请重新签到  "
    with MedicalInsuranceClient(
        sim.base_url, SAMPLE_ORG, collector=collector, auto_sign_in=True, cache=False
    ) as client:
        client.sign_in()
        sim.set_faults({"1101": {"business_error_rate": 1.0, "business_error_message": expired}})
        with pytest.raises(BusinessError) as info:
            client.call("1101", {"data": {"mdtrt_cert_type": "01", "mdtrt_cert_no": "E1"}})
        assert not isinstance(info.value, SessionError)  # not a default answer
        client.session_answers = SessionAnswers(messages={"会话已过期，请重新签到"})
        with pytest.raises(SessionError):
            client.call("1101", {"data": {"mdtrt_cert_type": "01", "mdtrt_cert_no": "E1"}})
    received = sim.stats()["received"]
    assert received["1101"] == 3  # once, then once more plus the one resend
    assert received["9001"] == 2


def unknown_msgid(sim: RunningSimulator, client: MedicalInsuranceClient) -> tuple[str, str]:
    """A 2207 answered 503 before processing: (its msgid, psn_no)."""
    visit = prepare(client, seed=6)
    sim.set_faults({"2207": {"http_5xx_rate": 1.0}})
    with pytest.raises(HTTPStatusError) as info:
        client.call("2207", visit.settlement())
    sim.set_faults({})
    assert info.value.outcome_unknown is True
    assert info.value.msgid is not None
    return info.value.msgid, visit.psn_no


def test_reversal_with_nothing_to_reverse_is_a_success(
    sim: RunningSimulator, collector: MetricsCollector
) -> None:
    """2601 answered 原交易不存在，无需冲正: reversed=False, recorded as a success."""
    with MedicalInsuranceClient(sim.base_url, SAMPLE_ORG, collector=collector) as client:
        msgid, psn_no = unknown_msgid(sim, client)
        result = client.reverse(msgid, "2207", psn_no)
    assert result == ReversalResult(msgid, "2207", reversed=False)
    assert sim.stats()["responses"]["2601:business_error"] == 1
    row = collector.get_api_statistics(time_range_minutes=5)["api_breakdown"]["2601"]
    assert row["count"] == 1
    assert row["success"] == 1
    assert 'api_code="2601"' not in "\n".join(
        line
        for line in collector.get_prometheus_metrics().splitlines()
        if line.startswith("medical_insurance_api_errors_total{")
    )


async def test_async_reversal_with_nothing_to_reverse_is_a_success(
    sim: RunningSimulator, collector: MetricsCollector
) -> None:
    """The async client's reverse() reports nothing reversed the same way."""
    with MedicalInsuranceClient(sim.base_url, SAMPLE_ORG, collector=collector) as client:
        msgid, psn_no = unknown_msgid(sim, client)
    async with AsyncMedicalInsuranceClient(
        sim.base_url, SAMPLE_ORG, collector=collector
    ) as aclient:
        result = await aclient.reverse(msgid, "2207", psn_no)
    assert result.reversed is False
    assert result.output == {}
    row = collector.get_api_statistics(time_range_minutes=5)["api_breakdown"]["2601"]
    assert (row["count"], row["success"]) == (1, 1)


def test_other_reversal_failures_still_raise(
    sim: RunningSimulator, collector: MetricsCollector
) -> None:
    """A 2601 refused for another reason (unsupported oinfno) raises BusinessError."""
    with (
        MedicalInsuranceClient(sim.base_url, SAMPLE_ORG, collector=collector) as client,
        pytest.raises(BusinessError) as info,
    ):
        client.reverse("H43010500001202601010000000001", "2201", "P1")
    assert "不支持冲正" in info.value.err_msg


@pytest.mark.parametrize(
    ("fault", "reversed_"),
    [
        ("truncated_rate", True),
        ("html_200_rate", True),
        ("json_list_rate", True),
        ("deep_json_rate", True),
        ("huge_body_rate", True),
        ("reset_rate", True),
        ("http_5xx_rate", False),
        ("html_502_rate", False),
    ],
)
def test_his_recovers_every_unknown_settlement(
    sim: RunningSimulator, collector: MetricsCollector, fault: str, reversed_: bool
) -> None:
    """The HIS reverses every 2207 whose answer proves nothing; the platform agrees."""
    stats = HisStats()
    with MedicalInsuranceClient(
        sim.base_url, SAMPLE_ORG, collector=collector, max_response_bytes=100_000
    ) as client:
        worker = HisWorker(client, random.Random(2), stats, mix={"visit": 1.0})
        sim.set_faults({"2207": {fault: 1.0, "huge_body_bytes": 300_000}})
        worker.step()
    assert (stats.outcome_unknown, stats.settled) == (1, 0)
    assert (stats.reversed, stats.nothing_to_reverse) == ((1, 0) if reversed_ else (0, 1))
    assert stats.unreversed == 0
    msgid = sim.stats()["recent_msgids"]["2207"][-1]
    settlement = sim.run(lambda: sim.simulator.platform.settlements_by_msgid.get(msgid))
    assert (settlement is not None) is reversed_  # processed before the answer went wrong
    if settlement is not None:
        assert settlement["reversed"] is True
