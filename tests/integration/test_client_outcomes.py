"""Every row of the unknown-outcome table (client/outcomes.py), through the real clients.

Each failure class is produced on the wire (the simulator's faults, a closed port, a wrong
path or key) and sent once as an R call (1101: retried or not) and once as a W$ call
(2207: outcome unknown or not), with the sync and the async client. "Unknown" is checked
where an operator sees it: ``exc.outcome_unknown``, the ERROR log ``OUTCOME UNKNOWN`` and
``medical_insurance_api_outcome_unknown_total``.
"""

from __future__ import annotations

import logging
import random
import socket
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from medical_insurance_sdk.client import (
    ApiSignatureAuth,
    AsyncMedicalInsuranceClient,
    MedicalInsuranceClient,
    RetryPolicy,
    Timeouts,
)
from medical_insurance_sdk.client.outcomes import RULES, Failure, classify
from medical_insurance_sdk.core import MetricsCollector
from medical_insurance_sdk.exceptions import (
    BusinessError,
    DeadlineExceededError,
    GatewaySignatureError,
    HTTPStatusError,
    MedicalInsuranceError,
    NetworkError,
    ReadTimeoutError,
    ResponseParseError,
    ResponseTooLargeError,
    ValidationError,
)
from medical_insurance_sdk.simulator.testing import SAMPLE_CERTNO, SAMPLE_ORG, RunningSimulator
from medical_insurance_sdk.simulator.workload import Visit, new_visit

pytestmark = pytest.mark.integration

PERSON = {"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": SAMPLE_CERTNO}}
ATTEMPTS = 3


@dataclass(frozen=True)
class Row:
    """One failure class: how to produce it and what it must mean."""

    error: type[MedicalInsuranceError]
    failure: Failure
    retried: bool  # an R call is attempted ATTEMPTS times
    unknown: bool  # a W$ call's outcome is unknown
    faults: dict[str, Any] = field(default_factory=dict)  # the interface's simulator faults
    options: dict[str, Any] = field(default_factory=dict)  # client options
    closed_port: bool = False


ROWS: dict[str, Row] = {
    "http-503": Row(HTTPStatusError, Failure.HTTP_5XX, True, True, {"http_5xx_rate": 1.0}),
    "proxy-html-502": Row(HTTPStatusError, Failure.HTTP_5XX, True, True, {"html_502_rate": 1.0}),
    "http-404": Row(HTTPStatusError, Failure.HTTP_OTHER, False, True, options={"path": "/nope"}),
    "gateway-401": Row(
        GatewaySignatureError,
        Failure.GATEWAY_REFUSED,
        False,
        False,
        options={"auth": ApiSignatureAuth("misdk-demo-ak", "wrong-secret")},
    ),
    "truncated-200": Row(
        ResponseParseError, Failure.UNPARSABLE, False, True, {"truncated_rate": 1.0}
    ),
    "html-200": Row(ResponseParseError, Failure.UNPARSABLE, False, True, {"html_200_rate": 1.0}),
    "json-list-200": Row(
        ResponseParseError, Failure.UNPARSABLE, False, True, {"json_list_rate": 1.0}
    ),
    "deep-json-200": Row(
        ResponseParseError, Failure.UNPARSABLE, False, True, {"deep_json_rate": 1.0}
    ),
    "too-large": Row(
        ResponseTooLargeError,
        Failure.TOO_LARGE,
        False,
        True,
        {"huge_body_rate": 1.0, "huge_body_bytes": 300_000},
        {"max_response_bytes": 100_000},
    ),
    "reset-after-send": Row(NetworkError, Failure.BROKEN, True, True, {"reset_rate": 1.0}),
    "read-timeout": Row(
        ReadTimeoutError, Failure.TIMEOUT, True, True, {"hang_rate": 1.0, "hang_seconds": 1.0}
    ),
    "deadline-after-send": Row(
        DeadlineExceededError,
        Failure.DEADLINE,
        False,
        True,
        {"drip_rate": 1.0, "drip_interval": 0.05},
        {"deadline": 0.4},
    ),
    "connect-refused": Row(NetworkError, Failure.NOT_SENT, True, False, closed_port=True),
    "business-refusal": Row(
        BusinessError, Failure.BUSINESS, False, False, {"business_error_rate": 1.0}
    ),
}


class CountingTransport(httpx.HTTPTransport):
    """The real HTTP transport, counting the requests it sends."""

    def __init__(self) -> None:
        super().__init__()
        self.sent = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Count, then send."""
        self.sent += 1
        return super().handle_request(request)


class AsyncCountingTransport(httpx.AsyncHTTPTransport):
    """The real async HTTP transport, counting the requests it sends."""

    def __init__(self) -> None:
        super().__init__()
        self.sent = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Count, then send."""
        self.sent += 1
        return await super().handle_async_request(request)


@pytest.fixture
def closed_port() -> str:
    """The URL of a loopback port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def options_for(row: Row, collector: MetricsCollector) -> dict[str, Any]:
    """Client options: fast retries, a short read timeout, the row's own options."""
    settings: dict[str, Any] = {
        "collector": collector,
        "retries": RetryPolicy(ATTEMPTS, backoff_base=0.001, backoff_max=0.002),
        "timeout": Timeouts(connect=1.0, read=0.3, per_category={}),
        "cache": False,
    }
    settings.update(row.options)
    return settings


def prepared_visit(sim: RunningSimulator, collector: MetricsCollector) -> Visit:
    """A visit registered and charged (1101 → 2201 → 2204), ready for 2207."""
    visit = new_visit(random.Random(3), 3)
    with MedicalInsuranceClient(sim.base_url, SAMPLE_ORG, collector=collector) as client:
        visit.take_person(client.call("1101", visit.person_query()))
        visit.mdtrt_id = client.call("2201", visit.registration())["data"]["mdtrt_id"]
        client.call("2204", visit.fee_upload())
    return visit


def unknown_count(collector: MetricsCollector, api_code: str) -> float:
    """``medical_insurance_api_outcome_unknown_total`` for ``api_code`` (0 when absent)."""
    for line in collector.get_prometheus_metrics().splitlines():
        if line.startswith("medical_insurance_api_outcome_unknown_total{") and (
            f'api_code="{api_code}"' in line
        ):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def check(
    row: Row,
    error: MedicalInsuranceError,
    sent: int,
    api_code: str,
    collector: MetricsCollector,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The error, the attempts and the unknown-outcome signals agree with the row."""
    assert isinstance(error, row.error)
    assert classify(error) is row.failure
    assert RULES[row.failure].retried is row.retried
    assert RULES[row.failure].unknown is row.unknown
    logged = any("OUTCOME UNKNOWN" in r.getMessage() for r in caplog.records)
    if api_code == "1101":
        assert sent == (ATTEMPTS if row.retried else 1)
        assert error.outcome_unknown is False
        assert not logged
        assert unknown_count(collector, "1101") == 0
    else:
        assert sent == 1  # a W$ call is never resent
        assert error.outcome_unknown is row.unknown
        assert logged is row.unknown
        assert unknown_count(collector, "2207") == (1.0 if row.unknown else 0.0)
        assert ("交易结果未知" in error.message) is row.unknown


def request_for(
    api_code: str, sim: RunningSimulator, collector: MetricsCollector
) -> dict[str, Any]:
    """The input of the call under test (2207 needs a prepared visit)."""
    if api_code == "1101":
        return PERSON
    return prepared_visit(sim, collector).settlement()


@pytest.mark.parametrize("api_code", ["1101", "2207"], ids=["R-1101", "W$-2207"])
@pytest.mark.parametrize("name", list(ROWS))
def test_failure_rows_sync(
    name: str,
    api_code: str,
    sim: RunningSimulator,
    collector: MetricsCollector,
    closed_port: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Sync client: each failure class is retried (R) and unknown (W$) as the table says."""
    row = ROWS[name]
    input_data = request_for(api_code, sim, collector)
    sim.set_faults({api_code: row.faults})
    transport = CountingTransport()
    base_url = closed_port if row.closed_port else sim.base_url
    caplog.set_level(logging.WARNING, logger="medical_insurance_sdk.client")
    with (
        MedicalInsuranceClient(
            base_url, SAMPLE_ORG, transport=transport, **options_for(row, collector)
        ) as client,
        pytest.raises(MedicalInsuranceError) as info,
    ):
        client.call(api_code, input_data)
    check(row, info.value, transport.sent, api_code, collector, caplog)


@pytest.mark.parametrize("api_code", ["1101", "2207"], ids=["R-1101", "W$-2207"])
@pytest.mark.parametrize("name", list(ROWS))
async def test_failure_rows_async(
    name: str,
    api_code: str,
    sim: RunningSimulator,
    collector: MetricsCollector,
    closed_port: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Async client: the same table, the same answers."""
    row = ROWS[name]
    input_data = request_for(api_code, sim, collector)
    sim.set_faults({api_code: row.faults})
    transport = AsyncCountingTransport()
    base_url = closed_port if row.closed_port else sim.base_url
    caplog.set_level(logging.WARNING, logger="medical_insurance_sdk.client")
    async with AsyncMedicalInsuranceClient(
        base_url, SAMPLE_ORG, transport=transport, **options_for(row, collector)
    ) as client:
        with pytest.raises(MedicalInsuranceError) as info:
            await client.call(api_code, input_data)
    check(row, info.value, transport.sent, api_code, collector, caplog)


def test_validation_row(sim: RunningSimulator, collector: MetricsCollector) -> None:
    """Input refused by the client's validation: nothing sent, never unknown."""
    transport = CountingTransport()
    settlement = prepared_visit(sim, collector).settlement()
    del settlement["data"]["psn_no"]
    with (
        MedicalInsuranceClient(
            sim.base_url, SAMPLE_ORG, collector=collector, transport=transport
        ) as client,
        pytest.raises(ValidationError) as info,
    ):
        client.call("2207", settlement)
    assert transport.sent == 0
    assert classify(info.value) is Failure.VALIDATION
    assert info.value.outcome_unknown is False
    assert unknown_count(collector, "2207") == 0


def test_every_failure_class_has_a_row_or_its_own_test() -> None:
    """The table's rows are all exercised: here, in test_client_deadline.py (before
    sending) and in test_client_async.py (a W$ call cancelled after sending: OTHER)."""
    covered = {row.failure for row in ROWS.values()}
    covered |= {Failure.VALIDATION, Failure.DEADLINE_NOT_SENT, Failure.OTHER}
    assert covered == set(Failure)
