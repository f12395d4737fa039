"""JSON log lines of real calls: every client line carries the call's ids, masked.

The client talks to the simulator on loopback; ``configure_logging(json=True)`` writes
to a buffer; the lines are parsed and joined to the call by its trace id and msgid
(as a log shipper would), and searched for the personal data the platform echoed.
"""

from __future__ import annotations

import io
import json
import logging
import random
import re
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from pii_shapes import Secret, embedded

from medical_insurance_sdk import configure_logging
from medical_insurance_sdk.client import (
    AsyncMedicalInsuranceClient,
    MedicalInsuranceClient,
    RetryPolicy,
)
from medical_insurance_sdk.core import MetricConfig, MetricsCollector
from medical_insurance_sdk.exceptions import BusinessError, HTTPStatusError, ValidationError
from medical_insurance_sdk.simulator import SimulatorConfig
from medical_insurance_sdk.simulator.testing import (
    SAMPLE_CERTNO,
    SAMPLE_CERTNO_UNINSURED,
    SAMPLE_ORG,
    RunningSimulator,
    running_simulator,
)
from medical_insurance_sdk.simulator.workload import new_visit

pytestmark = pytest.mark.integration

TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-(0[01])$")
#: The fields every line of a call carries (error_code: every line but success's).
CALL_FIELDS = ("trace_id", "span_id", "trace_flags", "msgid", "api_code", "org_code",
               "duration_ms", "attempt")  # fmt: skip


def person(certno: str = SAMPLE_CERTNO) -> dict[str, dict[str, str]]:
    """1101 input."""
    return {"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": certno}}


class JsonLines:
    """The JSON lines the SDK's loggers wrote through ``configure_logging``."""

    def __init__(self, level: str = "DEBUG") -> None:
        self.buffer = io.StringIO()
        self.sdk = logging.getLogger("medical_insurance_sdk")
        self.previous_level = self.sdk.level
        self.handler = configure_logging(json=True, level=level, stream=self.buffer)

    def lines(self) -> list[dict[str, Any]]:
        """Every line written so far, parsed (each must be one JSON object)."""
        return [json.loads(line) for line in self.buffer.getvalue().splitlines()]

    def client_lines(self) -> list[dict[str, Any]]:
        """The lines of ``medical_insurance_sdk.client``."""
        return [line for line in self.lines() if line["logger"] == "medical_insurance_sdk.client"]

    def clear(self) -> None:
        """Forget the lines written so far."""
        self.buffer.seek(0)
        self.buffer.truncate()

    def close(self) -> None:
        """Take the handler off and restore the SDK logger's level."""
        self.sdk.removeHandler(self.handler)
        self.sdk.setLevel(self.previous_level)


@pytest.fixture
def logs() -> Iterator[JsonLines]:
    """JSON lines at DEBUG, in a buffer."""
    captured = JsonLines()
    yield captured
    captured.close()


def fast_retries() -> RetryPolicy:
    return RetryPolicy(max_attempts=3, backoff_base=0.001, backoff_max=0.005, rng=random.Random(0))


def test_a_call_s_json_lines_carry_its_trace_id_and_msgid(
    sim: RunningSimulator, collector: MetricsCollector, logs: JsonLines
) -> None:
    """Success and failure lines: the trace and span sent on the wire, the msgid sent."""
    with MedicalInsuranceClient(sim.base_url, SAMPLE_ORG, collector=collector) as client:
        client.call("1101", person())
        sent = TRACEPARENT.match(sim.stats()["last_headers"]["1101"]["traceparent"])
        with pytest.raises(BusinessError) as failed:
            client.call("1101", person(SAMPLE_CERTNO_UNINSURED))
    assert sent is not None
    ok, bad = logs.client_lines()
    assert (ok["level"], bad["level"]) == ("DEBUG", "WARNING")
    assert (ok["trace_id"], ok["span_id"], ok["trace_flags"]) == sent.groups()
    assert ok["msgid"] == sim.stats()["recent_msgids"]["1101"][0]
    assert "error_code" not in ok
    assert bad["trace_id"] == failed.value.trace_id
    assert bad["msgid"] == failed.value.msgid
    assert bad["error_code"] == failed.value.error_code == "BIZ_MBS_HygeiaException"
    for line in (ok, bad):
        assert (line["api_code"], line["org_code"], line["attempt"]) == ("1101", SAMPLE_ORG, 1)
        assert line["duration_ms"] > 0
        assert line["trace_id"] in line["message"]
        assert line["msgid"] in line["message"]
    assert SAMPLE_CERTNO_UNINSURED not in logs.buffer.getvalue()
    assert "430102********0003" in bad["message"]


def test_every_client_log_line_carries_the_call_fields(
    sim: RunningSimulator, collector: MetricsCollector, logs: JsonLines
) -> None:
    """Success, retry, failure, outcome unknown, validation and reversal lines: all fields."""
    with MedicalInsuranceClient(
        sim.base_url, SAMPLE_ORG, collector=collector, retries=fast_retries(), cache=False
    ) as client:
        visit = new_visit(random.Random(3), 3)  # registered and charged, ready for 2207
        visit.take_person(client.call("1101", visit.person_query()))
        visit.mdtrt_id = client.call("2201", visit.registration())["data"]["mdtrt_id"]
        client.call("2204", visit.fee_upload())
        sim.set_faults({"1101": {"http_5xx_rate": 1.0}, "2207": {"http_5xx_rate": 1.0}})
        with pytest.raises(HTTPStatusError) as retried:
            client.call("1101", person())
        with pytest.raises(HTTPStatusError) as unknown:
            client.call("2207", visit.settlement())
        with pytest.raises(ValidationError):
            client.call("1101", {"data": "not an object"})
        result = client.reverse(unknown.value.msgid, "2207", "43000011111111")
    assert unknown.value.outcome_unknown
    assert result.reversed is False
    lines = logs.client_lines()
    messages = [line["message"].split(" infno=")[0] for line in lines]
    assert messages == [
        *["call ok"] * 3,  # 1101, 2201, 2204
        "retrying",
        "retrying",
        "call failed",
        "OUTCOME UNKNOWN",
        "call failed",
        "reversal found nothing to reverse",
        "call ok",
    ]
    for line in lines:
        missing = [name for name in CALL_FIELDS if name not in line]
        assert missing == [], line
        assert re.fullmatch(r"[0-9a-f]{32}", line["trace_id"])
        assert re.fullmatch(r"[0-9a-f]{16}", line["span_id"])
        assert line["trace_flags"] in ("00", "01")
        assert line["org_code"] == SAMPLE_ORG
        assert line["msgid"].startswith(SAMPLE_ORG)
        assert line["duration_ms"] >= 0
    assert [line.get("error_code") for line in lines] == [
        *[None] * 3,
        *["HTTP_STATUS"] * 4,
        "VALIDATION",
        None,
        None,
    ]
    assert [line["attempt"] for line in lines[3:6]] == [1, 2, 3]
    assert {line["trace_id"] for line in lines[3:6]} == {retried.value.trace_id}
    assert {line["msgid"] for line in lines[3:6]} == {retried.value.msgid}
    assert lines[6]["trace_id"] == unknown.value.trace_id
    assert (lines[6]["api_code"], lines[6]["attempt"]) == ("2207", 1)
    assert lines[7]["attempt"] == 0  # a validation failure: nothing went out
    assert lines[8]["api_code"] == lines[9]["api_code"] == "2601"
    assert lines[8]["trace_id"] == lines[9]["trace_id"]


async def test_the_async_client_s_lines_carry_the_same_fields(
    aclient: AsyncMedicalInsuranceClient, sim: RunningSimulator, logs: JsonLines
) -> None:
    """The async client logs through the same code: retries and failure, every field."""
    sim.set_faults({"1101": {"http_5xx_rate": 1.0}})
    with pytest.raises(HTTPStatusError) as failed:
        await aclient.call("1101", person(), use_cache=False)
    lines = logs.client_lines()
    assert [line["level"] for line in lines] == ["INFO", "INFO", "WARNING"]
    assert [line["attempt"] for line in lines] == [1, 2, 3]
    for line in lines:
        assert [name for name in CALL_FIELDS if name not in line] == []
        assert (line["trace_id"], line["msgid"]) == (failed.value.trace_id, failed.value.msgid)
        assert line["error_code"] == "HTTP_STATUS"


def test_a_json_line_joins_the_active_otel_span(
    sim: RunningSimulator, collector: MetricsCollector, logs: JsonLines
) -> None:
    """With OpenTelemetry, the call's line has the span's ids (a child of the HIS span)."""
    from opentelemetry.sdk.trace import TracerProvider

    provider = TracerProvider()
    with (
        MedicalInsuranceClient(
            sim.base_url, SAMPLE_ORG, collector=collector, tracer_provider=provider
        ) as client,
        provider.get_tracer("his").start_as_current_span("挂号流程") as parent,
    ):
        client.call("1101", person())
        logging.getLogger("medical_insurance_sdk.his").warning("HIS 侧日志")
    provider.shutdown()
    (call,) = logs.client_lines()
    (his,) = [line for line in logs.lines() if line["logger"] == "medical_insurance_sdk.his"]
    trace_id = f"{parent.get_span_context().trace_id:032x}"
    assert call["trace_id"] == his["trace_id"] == trace_id
    assert his["span_id"] == f"{parent.get_span_context().span_id:016x}"
    assert call["span_id"] != his["span_id"]


# -- generated personal data echoed by the platform ------------------------------------------


@pytest.fixture(scope="module")
def echoing() -> Iterator[tuple[MedicalInsuranceClient, JsonLines]]:
    """A client against a simulator whose 1901 always fails echoing the certno; JSON logs."""
    config = SimulatorConfig(
        seed=5, latency_scale=0.0, faults={"1901": {"business_error_rate": 1.0}}
    )
    collector = MetricsCollector(MetricConfig(prometheus_port=0, background=False))
    captured = JsonLines()
    try:
        with (
            running_simulator(config) as sim,
            MedicalInsuranceClient(
                sim.base_url, SAMPLE_ORG, collector=collector, retries=0
            ) as client,
        ):
            yield client, captured
    finally:
        captured.close()
        collector.shutdown()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=embedded())
def test_personal_data_echoed_by_the_platform_never_reaches_a_json_line(
    echoing: tuple[MedicalInsuranceClient, JsonLines], case: tuple[str, Secret, str]
) -> None:
    """An err_msg echoing an ID number, phone, card or name: no JSON line shows it."""
    client, captured = echoing
    text, secret, around = case
    assume(not secret.exposed_in(around))
    captured.clear()
    with pytest.raises(BusinessError):
        client.call("1901", {"data": {"type": "INSUTYPE", "certno": "，" + text}})
    lines = captured.lines()
    assert any("参保状态异常" in line["message"] for line in lines)  # the echo was logged
    assert not secret.exposed_in(captured.buffer.getvalue())
