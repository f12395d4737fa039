"""The client's channel sites (``_succeed``, ``_record_failure``) stage a StagedCall."""

from __future__ import annotations

import pytest
from staged_check import staged_call

from medical_insurance_sdk.client import MedicalInsuranceClient
from medical_insurance_sdk.core import MetricsCollector
from medical_insurance_sdk.exceptions import BusinessError
from medical_insurance_sdk.simulator.testing import (
    SAMPLE_CERTNO,
    SAMPLE_CERTNO_UNINSURED,
    SAMPLE_ORG,
)

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("ok", [True, False], ids=["success", "failure"])
def test_the_clients_channel_stages_a_staged_call(
    client: MedicalInsuranceClient, collector: MetricsCollector, ok: bool
) -> None:
    """The tuple the client builds by hand is a StagedCall: its fields, in its order."""
    assert client.monitor is not None
    assert client.monitor.path == "channel"
    certno = SAMPLE_CERTNO if ok else SAMPLE_CERTNO_UNINSURED
    before = collector.clock.monotonic_ns()
    try:
        client.call("1101", {"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": certno}})
    except BusinessError:
        assert not ok
    after = collector.clock.monotonic_ns()
    call = staged_call(collector.store.staging)
    assert before <= call.start_ns <= call.end_ns <= after
    assert (call.api_code, call.org_code, call.success) == ("1101", SAMPLE_ORG, ok)
    assert (call.error_code is None) == ok
    assert 300 < call.request_size < 1000
    assert call.response_size > 0
    assert call.trace_id is not None
    assert len(call.trace_id) == 32
