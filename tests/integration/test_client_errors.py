"""Every error class, produced over the wire by the simulator, and the retry rules."""

from __future__ import annotations

import random
import socket
import threading
import time

import httpx
import pytest

from medical_insurance_sdk.client import (
    ApiSignatureAuth,
    BearerTokenAuth,
    Category,
    MedicalInsuranceClient,
    RetryPolicy,
    Timeouts,
)
from medical_insurance_sdk.core import MetricsCollector
from medical_insurance_sdk.exceptions import (
    ConnectTimeoutError,
    GatewayAuthError,
    GatewayClockSkewError,
    GatewayHeadersMissingError,
    GatewaySignatureError,
    GatewayUnknownKeyError,
    HTTPStatusError,
    NetworkError,
    ReadTimeoutError,
    ResponseParseError,
    ResponseTooLargeError,
)
from medical_insurance_sdk.simulator.testing import SAMPLE_CERTNO, SAMPLE_ORG, RunningSimulator
from medical_insurance_sdk.simulator.workload import Visit, new_visit

pytestmark = pytest.mark.integration

PERSON = {"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": SAMPLE_CERTNO}}
RETRIES = RetryPolicy(max_attempts=3, backoff_base=0.001, backoff_max=0.002, rng=random.Random(1))


def make_client(
    sim: RunningSimulator, collector: MetricsCollector, **options: object
) -> MedicalInsuranceClient:
    """A client with fast retries and a short read timeout, unless overridden."""
    settings: dict[str, object] = {
        "collector": collector,
        "retries": RETRIES,
        "timeout": Timeouts(connect=1.0, read=0.4, per_category={}),
        "cache": False,
    }
    settings.update(options)
    return MedicalInsuranceClient(sim.base_url, SAMPLE_ORG, **settings)  # type: ignore[arg-type]


def prepare_settlement(client: MedicalInsuranceClient) -> Visit:
    """Run 1101 → 2201 → 2204 so that 2207 can settle."""
    visit = new_visit(random.Random(11), 7)
    visit.take_person(client.call("1101", visit.person_query()))
    visit.mdtrt_id = client.call("2201", visit.registration())["data"]["mdtrt_id"]
    client.call("2204", visit.fee_upload())
    return visit


def test_read_interfaces_are_retried_on_5xx(
    sim: RunningSimulator, collector: MetricsCollector
) -> None:
    """An R call answered 503 is attempted max_attempts times, then raises."""
    sim.set_faults({"1101": {"http_5xx_rate": 1.0}})
    with make_client(sim, collector) as client, pytest.raises(HTTPStatusError) as info:
        client.call("1101", PERSON)
    assert info.value.status_code == 503
    assert sim.stats()["received"] == {"1101": 3}


def test_read_retry_recovers(sim: RunningSimulator, collector: MetricsCollector) -> None:
    """A transient 5xx on an R call is hidden by a retry (seeded: some attempts fail)."""
    sim.set_faults({"1101": {"http_5xx_rate": 0.5}})
    with make_client(sim, collector, retries=RetryPolicy(max_attempts=10, backoff_base=0)) as c:
        for _ in range(10):
            assert c.call("1101", PERSON)["baseinfo"]
    stats = sim.stats()
    assert stats["received"]["1101"] > 10
    assert stats["faults"]["1101:http_5xx"] == stats["received"]["1101"] - 10


def test_writes_are_never_resent_on_5xx(sim: RunningSimulator, collector: MetricsCollector) -> None:
    """A W call (2201) answered by an HTML 502 is sent exactly once."""
    with make_client(sim, collector) as client:
        visit = new_visit(random.Random(5), 5)
        visit.take_person(client.call("1101", visit.person_query()))
        sim.set_faults({"2201": {"html_502_rate": 1.0}})
        with pytest.raises(HTTPStatusError) as info:
            client.call("2201", visit.registration())
    assert info.value.status_code == 502
    assert sim.stats()["received"]["2201"] == 1


def test_settlement_read_timeout_is_outcome_unknown_and_reversible(
    sim: RunningSimulator, collector: MetricsCollector
) -> None:
    """A hung 2207 raises outcome_unknown once, is never resent, and 2601 reverses it."""
    with make_client(sim, collector) as client:
        visit = prepare_settlement(client)
        sim.set_faults({"2207": {"hang_rate": 1.0, "hang_seconds": 2.0}})
        with pytest.raises(ReadTimeoutError) as info:
            client.call("2207", visit.settlement())
        error = info.value
        assert error.outcome_unknown is True
        assert error.error_code == "TIMEOUT_READ"
        assert error.msgid is not None
        assert sim.stats()["received"]["2207"] == 1
        settled = sim.run(lambda: dict(sim.simulator.platform.settlements_by_msgid[error.msgid]))
        assert settled["reversed"] is False
        result = client.reverse(error.msgid, "2207", visit.psn_no)
        assert result.reversed is True
        assert result.output["data"]["rever_stas"] == "1"
        assert client.reverse(error.msgid, "2207", visit.psn_no) == result
    settled = sim.run(lambda: dict(sim.simulator.platform.settlements_by_msgid[error.msgid]))
    assert settled["reversed"] is True
    assert sim.stats()["received"]["2207"] == 1
    exposition = collector.get_prometheus_metrics()
    line = next(
        line
        for line in exposition.splitlines()
        if line.startswith("medical_insurance_api_outcome_unknown_total{")
    )
    assert 'api_code="2207"' in line
    assert line.endswith(" 1.0")


def test_reset_mid_response(sim: RunningSimulator, collector: MetricsCollector) -> None:
    """A reset R call is retried; a reset W$ call is outcome-unknown and sent once."""
    with make_client(sim, collector) as client:
        visit = prepare_settlement(client)
        sim.reset()
        sim.set_faults({"1101": {"reset_rate": 1.0}, "2207": {"reset_rate": 1.0}})
        with pytest.raises(NetworkError) as read_info:
            client.call("1101", PERSON)
        assert read_info.value.outcome_unknown is False
        with pytest.raises(NetworkError) as money_info:
            client.call("2207", visit.settlement())
        assert money_info.value.outcome_unknown is True
    assert sim.stats()["received"] == {"1101": 3, "2207": 1}


def test_read_timeout_on_reads_is_retried(
    sim: RunningSimulator, collector: MetricsCollector
) -> None:
    """A hung R call times out per attempt and is retried; its outcome is not 'unknown'."""
    sim.set_faults({"1101": {"hang_rate": 1.0, "hang_seconds": 1.0}})
    timeouts = Timeouts(connect=1.0, read=5.0, per_category={Category.BASIC: 0.15})
    with (
        make_client(sim, collector, timeout=timeouts) as client,
        pytest.raises(ReadTimeoutError) as info,
    ):
        client.call("1101", PERSON)
    assert info.value.outcome_unknown is False
    assert sim.stats()["received"] == {"1101": 3}


def test_pool_timeout_is_a_connect_timeout(
    sim: RunningSimulator, collector: MetricsCollector
) -> None:
    """With the only pooled connection busy, the next call fails with phase 'pool'."""
    sim.set_faults({"1201": {"hang_rate": 1.0, "hang_seconds": 0.4}})
    timeouts = Timeouts(connect=1.0, read=2.0, pool=0.1, per_category={})
    with make_client(
        sim, collector, timeout=timeouts, limits=httpx.Limits(max_connections=1)
    ) as client:
        busy = threading.Thread(target=lambda: client.call("1201", {"data": {}}))
        busy.start()
        deadline = time.monotonic() + 2
        while sim.stats()["received"].get("1201", 0) == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        with pytest.raises(ConnectTimeoutError) as info:
            client.call("1101", PERSON)
        busy.join()
    assert info.value.phase == "pool"
    assert info.value.error_code == "TIMEOUT_CONNECT"


def test_connection_refused(collector: MetricsCollector) -> None:
    """A closed port gives NetworkError (retried, as nothing was sent)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with (
        MedicalInsuranceClient(
            f"http://127.0.0.1:{port}", SAMPLE_ORG, collector=collector, retries=RETRIES
        ) as client,
        pytest.raises(NetworkError) as info,
    ):
        client.call("1101", PERSON)
    assert info.value.error_code == "NETWORK"
    assert info.value.outcome_unknown is False


@pytest.mark.parametrize(
    ("auth", "cls"),
    [
        (ApiSignatureAuth("misdk-demo-ak", "wrong-secret"), GatewaySignatureError),
        (ApiSignatureAuth("nobody", "x"), GatewayUnknownKeyError),
        (ApiSignatureAuth.for_simulator(clock=lambda: time.time() - 3600), GatewayClockSkewError),
        (BearerTokenAuth("token"), GatewayHeadersMissingError),
    ],
    ids=["bad-signature", "unknown-key", "clock-skew", "missing-headers"],
)
def test_gateway_auth_errors_are_typed_and_not_retried(
    sim: RunningSimulator,
    collector: MetricsCollector,
    auth: ApiSignatureAuth,
    cls: type[GatewayAuthError],
) -> None:
    """Each 401 body raises its own class once; no business request is recorded."""
    with make_client(sim, collector, auth=auth) as client, pytest.raises(cls) as info:
        client.call("1101", PERSON)
    assert info.value.status_code == 401
    stats = sim.stats()
    assert stats["total"] == 0
    assert sum(stats["auth_failures"].values()) == 1


def test_truncated_json_is_a_parse_error(
    sim: RunningSimulator, collector: MetricsCollector
) -> None:
    """A truncated body raises ResponseParseError and is not retried."""
    sim.set_faults({"1101": {"truncated_rate": 1.0}})
    with make_client(sim, collector) as client, pytest.raises(ResponseParseError) as info:
        client.call("1101", PERSON)
    assert info.value.error_code == "PARSE"
    assert sim.stats()["received"] == {"1101": 1}


def test_response_size_limit(sim: RunningSimulator, collector: MetricsCollector) -> None:
    """An 11 MB body exceeds the 8 MB default limit; a raised limit accepts it."""
    sim.set_faults({"1301": {"huge_body_rate": 1.0}})
    with make_client(sim, collector) as client, pytest.raises(ResponseTooLargeError) as info:
        client.call("1301", {"data": {"ver": "0"}})
    assert info.value.limit == 8 * 1024 * 1024
    with make_client(sim, collector, max_response_bytes=16 * 1024 * 1024) as client:
        output = client.call("1301", {"data": {"ver": "0"}})
    assert len(output["padding"]) > 10 * 1024 * 1024


def test_wrong_content_type_is_tolerated(
    sim: RunningSimulator, collector: MetricsCollector
) -> None:
    """A valid envelope labelled text/html is still read (the body decides)."""
    sim.set_faults({"1101": {"wrong_content_type_rate": 1.0}})
    with make_client(sim, collector) as client:
        assert client.call("1101", PERSON)["baseinfo"]["certno"] == SAMPLE_CERTNO
