"""The sync client against the simulator: the outpatient flow and protocol details."""

from __future__ import annotations

import random

import pytest

from medical_insurance_sdk.client import MedicalInsuranceClient
from medical_insurance_sdk.core import MetricsCollector
from medical_insurance_sdk.exceptions import BusinessError, SessionError, ValidationError
from medical_insurance_sdk.simulator import SimulatorConfig
from medical_insurance_sdk.simulator.testing import (
    SAMPLE_CERTNO as CERTNO,
)
from medical_insurance_sdk.simulator.testing import (
    SAMPLE_CERTNO_BAD_CHECK,
    SAMPLE_CERTNO_UNINSURED,
    RunningSimulator,
    running_simulator,
)
from medical_insurance_sdk.simulator.testing import (
    SAMPLE_CERTNO_SENIOR as CERTNO_SENIOR,
)
from medical_insurance_sdk.simulator.testing import (
    SAMPLE_ORG as ORG,
)
from medical_insurance_sdk.simulator.workload import new_visit

pytestmark = pytest.mark.integration


def person(certno: str = CERTNO) -> dict[str, dict[str, str]]:
    """1101 input for an ID card."""
    return {"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": certno}}


def test_person_query_returns_output(client: MedicalInsuranceClient, sim: RunningSimulator) -> None:
    """1101 returns baseinfo, insuinfo and idetinfo; the simulator saw one request."""
    output = client.call("1101", person())
    assert output["baseinfo"]["certno"] == CERTNO
    assert isinstance(output["insuinfo"], list)
    assert isinstance(output["idetinfo"], list)
    assert sim.stats()["received"] == {"1101": 1}


def test_single_object_lists_are_normalised(
    client: MedicalInsuranceClient, sim: RunningSimulator
) -> None:
    """The simulator sends one-element lists as objects; the client hands out lists."""
    output = client.call("1101", person(CERTNO_SENIOR))
    assert output["idetinfo"] == [
        {
            "psn_idet_type": "2101",
            "psn_type_lv": "1",
            "memo": "",
            "begntime": "2020-01-01 00:00:00",
            "endtime": None,
        }
    ]


def test_full_outpatient_flow_keeps_the_invariants(
    client: MedicalInsuranceClient, sim: RunningSimulator
) -> None:
    """9001 → 1101 → 2201 → 2203 → 2204 → 2206 → 2207 → 2208 with consistent amounts."""
    client.sign_in()
    visit = new_visit(random.Random(3), 1)
    visit.take_person(client.call("1101", visit.person_query()))
    visit.mdtrt_id = client.call("2201", visit.registration())["data"]["mdtrt_id"]
    client.call("2203", visit.visit_upload())
    fees = client.call("2204", visit.fee_upload())["result"]
    assert sum(item["det_item_fee_sumamt"] for item in fees) == pytest.approx(visit.total)
    pre = client.call("2206", visit.settlement())["setlinfo"]
    settled = client.call("2207", visit.settlement(), insuplc_admdvs=visit.insuplc_admdvs)
    info = settled["setlinfo"]
    for setl in (pre, info):
        assert setl["medfee_sumamt"] == pytest.approx(
            setl["fund_pay_sumamt"] + setl["psn_part_amt"] + setl["hosp_part_amt"]
        )
        assert setl["psn_part_amt"] == pytest.approx(setl["acct_pay"] + setl["psn_cash_pay"])
        assert setl["medfee_sumamt"] == pytest.approx(visit.total)
    assert isinstance(settled["setldetail"], list)
    stats = sim.stats()
    assert info["medins_setl_id"] == stats["recent_msgids"]["2207"][-1]
    assert info["medins_setl_id"].startswith(ORG)
    visit.setl_id = info["setl_id"]
    client.call("2208", visit.settlement_reversal())
    assert stats["received"] == {
        "9001": 1,
        "1101": 1,
        "2201": 1,
        "2203": 1,
        "2204": 1,
        "2206": 1,
        "2207": 1,
    }
    assert stats["duplicate_msgids"] == 0
    with pytest.raises(BusinessError, match="不存在或已撤销"):
        client.call("2208", visit.settlement_reversal())


def test_sign_no_is_reused(sim: RunningSimulator, collector: MetricsCollector) -> None:
    """With auto sign-in, 9001 is sent once and its sign_no goes with every call."""
    before = sim.run(lambda: set(sim.simulator.platform.sign_nos))
    with MedicalInsuranceClient(sim.base_url, ORG, collector=collector, auto_sign_in=True) as c:
        assert not c.signed_in
        for _ in range(3):
            c.call("1101", person(), use_cache=False)
        assert c.signed_in
        assert sim.stats()["received"] == {"9001": 1, "1101": 3}
        assert len(sim.run(lambda: set(sim.simulator.platform.sign_nos)) - before) == 1
        c.sign_out()
        assert not c.signed_in
    assert sim.run(lambda: set(sim.simulator.platform.sign_nos)) == before


def test_session_errors_and_automatic_sign_in(collector: MetricsCollector) -> None:
    """A platform requiring sign-in rejects unsigned calls; auto sign-in recovers."""
    config = SimulatorConfig(seed=1, latency_scale=0, require_sign_in=True)
    with running_simulator(config) as strict:
        with MedicalInsuranceClient(strict.base_url, ORG, collector=collector) as c:
            with pytest.raises(SessionError) as info:
                c.call("1101", person())
            assert info.value.error_code == "SESSION"
        with MedicalInsuranceClient(
            strict.base_url, ORG, collector=collector, auto_sign_in=True
        ) as c:
            assert c.call("1101", person())["baseinfo"]["certno"] == CERTNO
        # the platform forgets the session: the client signs in again and resends once
        strict.run(strict.simulator.platform.sign_nos.clear)
        with MedicalInsuranceClient(
            strict.base_url, ORG, collector=collector, auto_sign_in=True
        ) as c:
            c.sign_in()
            strict.run(strict.simulator.platform.sign_nos.clear)
            assert c.call("1101", person(), use_cache=False)["baseinfo"]
        assert strict.stats()["received"]["9001"] == 3


def test_string_infcodes_are_understood(collector: MetricsCollector) -> None:
    """A platform sending infcode "0" / "-1" as strings works the same."""
    config = SimulatorConfig(seed=1, latency_scale=0, infcode_as_string=True)
    with (
        running_simulator(config) as other,
        MedicalInsuranceClient(other.base_url, ORG, collector=collector) as c,
    ):
        assert c.call("1101", person())["baseinfo"]
        with pytest.raises(BusinessError) as info:
            c.call("1101", person(SAMPLE_CERTNO_BAD_CHECK))
        assert info.value.infcode == -1


def test_validation_happens_before_sending(
    client: MedicalInsuranceClient, sim: RunningSimulator
) -> None:
    """A missing certificate number never leaves the client."""
    with pytest.raises(ValidationError) as info:
        client.call("1101", {"data": {"mdtrt_cert_type": "02"}})
    assert info.value.field == "mdtrt_cert_no"
    with pytest.raises(ValidationError, match="不支持的报文字段"):
        client.call("1101", person(), no_such_field="x")
    with pytest.raises(ValidationError, match="长度"):
        client.call("1101", person(), insuplc_admdvs="4301050")
    assert sim.stats()["total"] == 0


def test_platform_validation_in_chinese(sim: RunningSimulator, collector: MetricsCollector) -> None:
    """With client validation off, the platform answers -1 with a Chinese err_msg."""
    with (
        MedicalInsuranceClient(sim.base_url, ORG, collector=collector, validate=False) as c,
        pytest.raises(BusinessError) as info,
    ):
        c.call("1101", {"data": {"mdtrt_cert_type": "02"}})
    assert info.value.infcode == -1
    assert info.value.err_msg == "就诊凭证编号[mdtrt_cert_no]不能为空"
    assert info.value.error_code == "INFCODE_-1"


def test_unknown_person_is_a_masked_business_error(client: MedicalInsuranceClient) -> None:
    """An echoed certificate number arrives masked, with a class-derived error code."""
    with pytest.raises(BusinessError) as info:
        client.call("1101", person(SAMPLE_CERTNO_UNINSURED))
    error = info.value
    assert error.error_code == "BIZ_MBS_HygeiaException"
    assert SAMPLE_CERTNO_UNINSURED not in str(error)
    assert "430102********0003" in error.err_msg


def test_catalog_downloads_and_generic_interfaces(client: MedicalInsuranceClient) -> None:
    """1301 returns rows; an interface without a special handler gets a generic OK."""
    rows = client.call("1301", {"data": {"ver": "0"}})["data"]
    assert len(rows) == 200
    assert {"med_list_codg", "pric"} <= set(rows[0])
    assert client.call("5203", {"data": {"psn_no": "1"}}) == {"result": "1", "infno": "5203"}
    page = client.call("1312", {"data": {"page_num": 2, "page_size": 10}})
    assert page["pageNum"] == 2
    assert len(page["data"]) == 10
