"""Transparent monitoring of every call, and masking on every export path.

Every test that records calls runs over each recording path (see
``tests/recording_paths.py``): our collector (the channel), a subclass overriding how a
call ends, and a foreign CallMonitor; the assertions are the same for all three.
"""

from __future__ import annotations

import json
import logging
import random
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
from recording_paths import PATHS, recorder

from medical_insurance_sdk.client import MedicalInsuranceClient, RetryPolicy
from medical_insurance_sdk.client.monitoring import GuardedMonitor
from medical_insurance_sdk.core import MetricConfig, MetricsCollector
from medical_insurance_sdk.exceptions import BusinessError, MedicalInsuranceError, ValidationError
from medical_insurance_sdk.simulator.testing import (
    SAMPLE_CERTNO,
    SAMPLE_CERTNO_BAD_CHECK,
    SAMPLE_CERTNO_UNINSURED,
    SAMPLE_ORG,
    RunningSimulator,
)
from medical_insurance_sdk.simulator.workload import new_visit

pytestmark = pytest.mark.integration


@pytest.fixture(params=list(PATHS))
def recording(
    request: pytest.FixtureRequest, config: MetricConfig
) -> Iterator[tuple[MetricsCollector, Any]]:
    """(collector to read, monitor for the client), once per recording path."""
    read, monitor = recorder(request.param, config)
    yield read, monitor
    read.shutdown()


@pytest.fixture
def collector(recording: tuple[MetricsCollector, Any]) -> MetricsCollector:
    """The collector the calls end up in, whichever path they took."""
    return recording[0]


@pytest.fixture
def monitor(recording: tuple[MetricsCollector, Any]) -> Any:
    """What the client is given as its collector (ours, a subclass, a foreign one)."""
    return recording[1]


@pytest.fixture
def client(sim: RunningSimulator, monitor: Any) -> Iterator[MedicalInsuranceClient]:
    """A sync client recording on ``monitor``, with fast retries."""
    retries = RetryPolicy(
        max_attempts=3, backoff_base=0.001, backoff_max=0.005, rng=random.Random(0)
    )
    with MedicalInsuranceClient(
        sim.base_url, SAMPLE_ORG, collector=monitor, retries=retries, timeout=5.0
    ) as c:
        yield c


def person(certno: str) -> dict[str, dict[str, str]]:
    """1101 input."""
    return {"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": certno}}


def test_every_call_is_recorded_with_its_error_code(
    client: MedicalInsuranceClient, sim: RunningSimulator, collector: MetricsCollector
) -> None:
    """Successes and each failure category land in the statistics with stable codes."""
    client.call("1101", person(SAMPLE_CERTNO))
    for certno in (SAMPLE_CERTNO_UNINSURED, SAMPLE_CERTNO_BAD_CHECK):
        with pytest.raises(BusinessError):
            client.call("1101", person(certno))
    with pytest.raises(MedicalInsuranceError):
        client.call("1101", {"data": {}})
    sim.set_faults({"1201": {"http_5xx_rate": 1.0}})
    with pytest.raises(MedicalInsuranceError):
        client.call("1201", {"data": {}})
    stats = collector.get_api_statistics()
    assert stats["total_calls"] == 5
    assert stats["successful_calls"] == 1
    assert stats["error_breakdown"] == {
        "BIZ_MBS_HygeiaException": 2,
        "VALIDATION": 1,
        "HTTP_STATUS": 1,
    }
    assert sim.stats()["received"] == {"1101": 3, "1201": 3}


def test_sizes_and_connections_are_recorded(
    client: MedicalInsuranceClient, collector: MetricsCollector
) -> None:
    """Request and response sizes are the bytes on the wire; in-flight returns to 0."""
    output = client.call("1301", {"data": {"ver": "0"}})
    call = collector.get_recent_calls(1)[0]
    assert call.api_code == "1301"
    assert call.org_code == SAMPLE_ORG
    assert call.status == "success"
    assert 300 < call.request_size < 1000
    assert call.response_size > len(json.dumps(output, ensure_ascii=False).encode()) // 2
    exposition = collector.get_prometheus_metrics()
    assert 'medical_insurance_active_connections{connection_type="http"} 0.0' in exposition


class BrokenCollector:
    """A collector whose every method fails, as a monitoring outage would."""

    def record_api_call_start(self, *args: Any) -> int:
        """Fail to start a call."""
        raise RuntimeError("collector down")

    def record_api_call_end(self, *args: Any) -> None:
        """Fail to end a call."""
        raise RuntimeError("collector down")

    def record_cache_hit_ratio(self, ratio: float, cache_type: str) -> None:
        """Fail."""
        raise RuntimeError("collector down")

    def record_outcome_unknown(self, api_code: str, org_code: str) -> None:
        """Fail."""
        raise RuntimeError("collector down")


def test_a_monitoring_failure_never_fails_the_call(
    sim: RunningSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    """Calls succeed and errors stay typed when every collector method raises."""
    with (
        caplog.at_level(logging.ERROR, logger="medical_insurance_sdk.client.monitoring"),
        MedicalInsuranceClient(sim.base_url, SAMPLE_ORG, collector=BrokenCollector()) as c,
    ):
        assert c.call("1101", person(SAMPLE_CERTNO))["baseinfo"]
        assert c.call("1101", person(SAMPLE_CERTNO))["baseinfo"]
        with pytest.raises(BusinessError):
            c.call("1101", person(SAMPLE_CERTNO_UNINSURED))
        assert c.monitor is not None
        assert c.monitor.failures >= 3
    assert len(caplog.records) == 1  # rate limited


def test_a_collector_missing_methods_never_fails_the_call(sim: RunningSimulator) -> None:
    """A collector without the protocol's methods costs monitoring, never the call."""
    with MedicalInsuranceClient(sim.base_url, SAMPLE_ORG, collector=object()) as c:  # type: ignore[arg-type]
        assert c.call("1101", person(SAMPLE_CERTNO))["baseinfo"]
        assert c.monitor is not None
        assert c.monitor.failures >= 1


def test_monitoring_off_binds_nothing(sim: RunningSimulator) -> None:
    """monitoring=False makes calls without any collector."""
    with MedicalInsuranceClient(sim.base_url, SAMPLE_ORG, monitoring=False) as c:
        assert c.monitor is None
        assert c.call("1101", person(SAMPLE_CERTNO))["baseinfo"]


def test_personal_data_never_leaves_through_any_export_path(
    client: MedicalInsuranceClient,
    sim: RunningSimulator,
    collector: MetricsCollector,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Run a visit and echoing failures; no personal value appears in any export."""
    secrets: set[str] = {SAMPLE_CERTNO, SAMPLE_CERTNO_UNINSURED, SAMPLE_CERTNO_BAD_CHECK}
    errors: list[MedicalInsuranceError] = []
    with caplog.at_level(logging.INFO):
        visit = new_visit(random.Random(9), 9)
        secrets.add(visit.certno)
        info = client.call("1101", visit.person_query())
        visit.take_person(info)
        secrets |= {visit.psn_no, info["baseinfo"]["psn_name"]}
        visit.mdtrt_id = client.call("2201", visit.registration())["data"]["mdtrt_id"]
        secrets.add(visit.mdtrt_id)
        client.call("2204", visit.fee_upload())
        sim.set_faults({"2207": {"business_error_rate": 1.0}})
        for api_code, data in (
            ("1101", person(SAMPLE_CERTNO_UNINSURED)),
            ("1101", person(SAMPLE_CERTNO_BAD_CHECK)),
            ("2207", visit.settlement()),
        ):
            with pytest.raises(MedicalInsuranceError) as failure:
                client.call(api_code, data)
            errors.append(failure.value)
    assert "人员[证件号码:" in errors[2].message  # the simulator echoed the certificate
    exports = {
        "exceptions": " ".join(f"{e!s} {e!r} {getattr(e, 'err_msg', '')}" for e in errors),
        "stored messages": json.dumps(
            [c.to_dict() for c in collector.get_recent_calls(100)], ensure_ascii=False
        ),
        "statistics": json.dumps(collector.get_api_statistics(), ensure_ascii=False),
        "exposition": collector.get_prometheus_metrics(),
        "openmetrics": collector.get_prometheus_metrics(openmetrics=True),
        "logs": "\n".join(r.getMessage() + str(r.__dict__) for r in caplog.records),
        "cache keys": " ".join(client.cache.keys() if client.cache else []),
        "simulator headers": json.dumps(sim.stats()["last_headers"], ensure_ascii=False),
    }
    masked = SAMPLE_CERTNO_UNINSURED[:6] + "********" + SAMPLE_CERTNO_UNINSURED[-4:]
    assert masked in exports["stored messages"]
    assert masked in exports["exceptions"]
    for name, text in exports.items():
        for secret in secrets:
            assert secret not in text, f"{secret!r} leaked through {name}"
    for secret_key in ("misdk-demo-sk", "misdk-demo-ak"):
        assert secret_key not in exports["logs"]
        assert secret_key not in exports["simulator headers"]
    assert '"_api_signature": "***"' in exports["simulator headers"]


class _DuringExchange(httpx.HTTPTransport):
    """A real transport that runs ``action`` while the request is on its way."""

    def __init__(self, action: Any) -> None:
        super().__init__()
        self.action = action

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.action()
        return super().handle_request(request)


class _Recording:
    """A collector that is not a MetricsCollector: it keeps what it was told."""

    def __init__(self) -> None:
        self.started: list[str] = []
        self.ended: list[tuple[int, str]] = []

    def record_api_call_start(self, api_code: str, *args: Any) -> int:
        self.started.append(api_code)
        return len(self.started)

    def record_api_call_end(self, call_id: int, status: str, *args: Any) -> None:
        self.ended.append((call_id, status))

    def record_cache_hit_ratio(self, ratio: float, cache_type: str) -> None: ...

    def record_outcome_unknown(self, api_code: str, org_code: str) -> None: ...


def test_a_call_ends_on_the_monitor_it_started_on(
    sim: RunningSimulator, collector: MetricsCollector, monitor: Any
) -> None:
    """Replacing the monitor mid-call: the call still ends where it started."""
    foreign = _Recording()
    holder: dict[str, MedicalInsuranceClient] = {}

    def swap_to_foreign() -> None:
        holder["client"].monitor = GuardedMonitor(foreign)

    def swap_off() -> None:
        holder["client"].monitor = None

    transport = _DuringExchange(swap_to_foreign)
    with MedicalInsuranceClient(
        sim.base_url, SAMPLE_ORG, collector=monitor, cache=False, transport=transport
    ) as client:
        holder["client"] = client
        client.call("1101", person(SAMPLE_CERTNO))  # started on ``monitor``, ends there
        transport.action = swap_off
        client.call("1101", person(SAMPLE_CERTNO))  # started on foreign, ends there
    assert collector.get_api_statistics()["total_calls"] == 1
    assert collector.connections()["http"] == 0
    assert collector.health.dropped() == {}
    assert foreign.started == ["1101"]
    assert foreign.ended == [(1, "success")]


def test_a_foreign_exception_is_recorded_once_without_its_text(
    sim: RunningSimulator, collector: MetricsCollector, monitor: Any
) -> None:
    """A bug below the client (here in the transport) ends the call once, with its class
    as error code and none of its text (which may quote personal data)."""

    def fail() -> None:
        raise RuntimeError("psn_name 张三 addr 长沙市岳麓区")

    with (
        MedicalInsuranceClient(
            sim.base_url, SAMPLE_ORG, collector=monitor, transport=_DuringExchange(fail)
        ) as client,
        pytest.raises(RuntimeError, match="张三"),  # the caller's exception is unchanged
    ):
        client.call("1101", person(SAMPLE_CERTNO))
    (call,) = collector.get_recent_calls()
    assert (call.status, call.error_code, call.error_message) == ("error", "RuntimeError", None)
    assert collector.connections()["http"] == 0
    assert collector.pending_calls == 0


def test_input_that_cannot_be_encoded_is_a_recorded_validation_error(
    client: MedicalInsuranceClient, sim: RunningSimulator, collector: MetricsCollector
) -> None:
    """A value JSON cannot carry (a Decimal) is a ValidationError, recorded, never sent."""
    data = {"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": SAMPLE_CERTNO, "n": Decimal(1)}}
    with pytest.raises(ValidationError, match="无法编码"):
        client.call("1101", data)
    (call,) = collector.get_recent_calls()
    assert call.error_code == "VALIDATION"
    assert sim.stats()["received"] == {}
    assert collector.connections()["http"] == 0
