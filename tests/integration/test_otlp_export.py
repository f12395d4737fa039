"""Spans over OTLP to a real receiver: attributes, retries, outcomes, the platform's span,
propagation, and an unreachable or stuck endpoint that never touches a business call."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest
from google.protobuf.json_format import MessageToJson
from local_net import free_port
from opentelemetry import baggage, context
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from bench.otlp_sink import LoopbackHttpSink, attributes
from medical_insurance_sdk import MedicalInsuranceClient, configure_tracing
from medical_insurance_sdk.client import RetryPolicy
from medical_insurance_sdk.exceptions import BusinessError, HTTPStatusError
from medical_insurance_sdk.simulator import SimulatorConfig
from medical_insurance_sdk.simulator.testing import (
    SAMPLE_CERTNO,
    SAMPLE_CERTNO_UNINSURED,
    SAMPLE_ORG,
    running_simulator,
)
from medical_insurance_sdk.tracing_setup import TracingSetup

pytestmark = pytest.mark.integration

PSN_NO = "43000011111111"


def person(certno: str = SAMPLE_CERTNO) -> dict[str, dict[str, str]]:
    """1101 input."""
    return {"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": certno}}


@pytest.fixture
def sink() -> Iterator[LoopbackHttpSink]:
    """oteltest's OTLP/HTTP sink on 127.0.0.1:<free port>."""
    receiver = LoopbackHttpSink()
    receiver.start()
    yield receiver
    receiver.stop()


@pytest.fixture
def tracing(sink: LoopbackHttpSink) -> Iterator[TracingSetup]:
    """configure_tracing() exporting to the sink (not global: the test passes the provider)."""
    setup = configure_tracing("his-test", endpoint=sink.endpoint, timeout=5, set_global=False)
    yield setup
    setup.shutdown()


def hexid(raw: bytes) -> str:
    """An OTLP id (bytes) as W3C lowercase hex."""
    return raw.hex()


def test_a_call_and_the_platform_make_one_trace_in_the_receiver(
    sink: LoopbackHttpSink, tracing: TracingSetup
) -> None:
    """Client span and platform span share the trace id the platform logged and echoed."""
    with (
        running_simulator(
            SimulatorConfig(seed=3, latency_scale=0), tracer_provider=tracing.provider
        ) as sim,
        MedicalInsuranceClient.for_simulator(
            sim.base_url, collector=None, tracer_provider=tracing.provider
        ) as client,
    ):
        client.call("1101", person())
        stats = sim.stats()
    assert tracing.force_flush()
    spans = {span.name: span for span in sink.spans()}
    call, platform = spans["medins 1101"], spans["medins platform"]
    trace_id = hexid(call.trace_id)
    assert hexid(platform.trace_id) == trace_id
    assert platform.parent_span_id == call.span_id
    assert (call.kind, platform.kind) == (Span.SPAN_KIND_CLIENT, Span.SPAN_KIND_SERVER)
    assert stats["recent_trace_ids"]["1101"] == [trace_id]
    sent = stats["last_headers"]["1101"]["traceparent"]
    assert sent.split("-")[1:3] == [trace_id, hexid(call.span_id)]
    found = attributes(call)
    assert found == {
        "http.request.method": "POST",
        "url.full": sim.base_url + client.path,
        "server.address": "127.0.0.1",
        "server.port": int(sim.base_url.rsplit(":", 1)[1]),
        "http.response.status_code": 200,
        "network.protocol.version": "1.1",
        "medins.api_code": "1101",
        "medins.org_code": SAMPLE_ORG,
        "medins.msgid": stats["recent_msgids"]["1101"][0],
        "medins.interface_kind": "R",
        "medins.attempt": 1,
        "medins.outcome": "ok",
    }
    assert sink.service_names() == {"his-test"}
    assert tracing.stats().exported == 2


def test_the_response_echoes_the_trace_as_traceresponse() -> None:
    """Every answer carries traceresponse: the caller's trace id, the platform's span id
    (drawn locally without OpenTelemetry); a malformed traceparent is not continued."""
    with running_simulator(SimulatorConfig(seed=3, latency_scale=0)) as sim:
        parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
        answer = httpx.post(
            sim.base_url + "/fsi/api/rsfComIfsService/callService",
            content=b"{}",
            headers={"traceparent": parent},
            trust_env=False,
        )
        bad = httpx.post(
            sim.base_url + "/fsi/api/rsfComIfsService/callService",
            content=b"{}",
            headers={"traceparent": "00-xyz-01"},
            trust_env=False,
        )
    echoed = answer.headers["traceresponse"].split("-")
    assert echoed[:2] == ["00", "0af7651916cd43dd8448eb211c80319c"]
    assert echoed[2] != "b7ad6b7169203331"  # the platform's own span
    assert echoed[3] == "01"
    assert "traceresponse" not in bad.headers


def test_outcomes_retries_and_the_unknown_outcome_event(
    sink: LoopbackHttpSink, tracing: TracingSetup
) -> None:
    """refused, failed after a retry (an attempt event), unknown with the 2601 hint."""
    retries = RetryPolicy(max_attempts=2, backoff_base=0.001, backoff_max=0.002)
    with (
        running_simulator(SimulatorConfig(seed=3, latency_scale=0)) as sim,
        MedicalInsuranceClient.for_simulator(
            sim.base_url, collector=None, tracer_provider=tracing.provider, retries=retries
        ) as client,
    ):
        with pytest.raises(BusinessError):
            client.call("1101", person(SAMPLE_CERTNO_UNINSURED))
        sim.set_faults({"1101": {"http_5xx_rate": 1.0}, "2601": {"http_5xx_rate": 1.0}})
        with pytest.raises(HTTPStatusError):
            client.call("1101", person(), use_cache=False)
        with pytest.raises(HTTPStatusError) as unknown:
            client.reverse("H43010500001202612010000000001", "2207", PSN_NO)
    assert tracing.force_flush()
    refused, failed, reversal = sink.spans()
    assert attributes(refused)["medins.outcome"] == "refused"
    assert attributes(refused)["error.type"] == "BIZ_MBS_HygeiaException"
    assert refused.status.code == Status.STATUS_CODE_ERROR
    found = attributes(failed)
    assert (found["medins.outcome"], found["medins.attempt"]) == ("failed", 2)
    assert (found["http.request.resend_count"], found["http.response.status_code"]) == (1, 503)
    (event,) = failed.events
    assert event.name == "medins.attempt_failed"
    retried = attributes(event)
    assert retried.pop("medins.retry_delay_s") >= 0
    assert retried == {
        "medins.attempt": 1,
        "error.type": "HTTP_STATUS",
        "http.response.status_code": 503,
    }
    assert attributes(reversal)["medins.outcome"] == "unknown"
    assert attributes(reversal)["medins.interface_kind"] == "W$"
    (event,) = reversal.events
    assert event.name == "medins.outcome_unknown"
    hint = attributes(event)
    assert hint["medins.reversal.api_code"] == "2601"
    assert hint["medins.reversal.omsgid"] == unknown.value.msgid
    assert hint["medins.reversal.oinfno"] == "2601"
    assert "2601" in hint["medins.hint"]
    everything = "".join(MessageToJson(span) for span in sink.spans())
    assert SAMPLE_CERTNO not in everything
    assert SAMPLE_CERTNO_UNINSURED not in everything
    assert PSN_NO not in everything


def test_baggage_and_tracestate_travel_with_the_call(tracing: TracingSetup) -> None:
    """The configured propagators write traceparent and the caller's baggage."""
    with (
        running_simulator(SimulatorConfig(seed=3, latency_scale=0)) as sim,
        MedicalInsuranceClient.for_simulator(
            sim.base_url, collector=None, tracer_provider=tracing.provider
        ) as client,
    ):
        token = context.attach(baggage.set_baggage("his.department", "outpatient"))
        try:
            client.call("1101", person())
        finally:
            context.detach(token)
        headers = sim.stats()["last_headers"]["1101"]
    assert headers["baggage"] == "his.department=outpatient"
    assert headers["traceparent"].startswith("00-")


def _closed_port() -> int:
    """A loopback port nothing listens on (connections are refused)."""
    return free_port()


def test_an_unreachable_endpoint_drops_and_counts_never_fails_a_call() -> None:
    """Every call succeeds; the spans the closed port could not take are counted."""
    setup = configure_tracing(
        "his-test",
        endpoint=f"http://127.0.0.1:{_closed_port()}",
        timeout=0.5,
        max_queue_size=4,
        set_global=False,
    )
    try:
        with (
            running_simulator(SimulatorConfig(seed=3, latency_scale=0)) as sim,
            MedicalInsuranceClient.for_simulator(
                sim.base_url, collector=None, tracer_provider=setup.provider, cache=False
            ) as client,
        ):
            outputs = [client.call("1101", person()) for _ in range(10)]
        setup.force_flush()
        stats = setup.stats()
    finally:
        setup.shutdown()
    assert all("baseinfo" in output for output in outputs)
    assert (stats.ended, stats.exported, stats.queued) == (10, 0, 0)
    assert stats.dropped == 10
    assert stats.failed >= 4


def test_a_stuck_endpoint_fills_the_bounded_queue_and_drops_the_rest() -> None:
    """A receiver that accepts but never answers: the queue bound holds, drops are counted."""
    with socket.socket() as stuck:
        stuck.bind(("127.0.0.1", 0))
        stuck.listen(16)  # connections complete in the backlog; nothing ever answers
        setup = configure_tracing(
            "his-test",
            endpoint=f"http://127.0.0.1:{stuck.getsockname()[1]}",
            timeout=1,
            max_queue_size=4,
            set_global=False,
        )
        try:
            with (
                running_simulator(SimulatorConfig(seed=3, latency_scale=0)) as sim,
                MedicalInsuranceClient.for_simulator(
                    sim.base_url, collector=None, tracer_provider=setup.provider, cache=False
                ) as client,
            ):
                for _ in range(20):
                    client.call("1101", person())
            stats = setup.stats()
        finally:
            setup.shutdown()
        final = setup.stats()
    assert stats.ended == 20
    assert stats.queued <= 4
    assert stats.queue_full >= 20 - 2 * 4  # at most one batch out and one queue waiting
    assert final.exported == 0
    assert final.dropped + final.queued == 20


async def test_the_async_client_makes_the_same_span(
    sink: LoopbackHttpSink, tracing: TracingSetup
) -> None:
    """Sync and async calls export spans with the same attributes and outcome."""
    from medical_insurance_sdk import AsyncMedicalInsuranceClient

    with running_simulator(SimulatorConfig(seed=3, latency_scale=0)) as sim:
        with MedicalInsuranceClient.for_simulator(
            sim.base_url, collector=None, tracer_provider=tracing.provider
        ) as client:
            client.call("1101", person())
        async with AsyncMedicalInsuranceClient.for_simulator(
            sim.base_url, collector=None, tracer_provider=tracing.provider
        ) as aclient:
            await aclient.call("1101", person())
    assert tracing.force_flush()
    sync_span, async_span = sink.spans()
    found = [attributes(span) for span in (sync_span, async_span)]
    for attrs in found:
        del attrs["medins.msgid"]
    assert found[0] == found[1]
    assert found[1]["medins.outcome"] == "ok"
    assert sync_span.trace_id != async_span.trace_id


def test_misdk_simulate_trace_continues_the_call_in_another_process(
    sink: LoopbackHttpSink, tracing: TracingSetup
) -> None:
    """`misdk simulate --trace` (OTEL_* variables): the platform's SERVER span, exported by
    the simulator's process, is the child of the HIS call's span in the same receiver."""
    env = {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        "OTEL_EXPORTER_OTLP_ENDPOINT": sink.endpoint,
        "OTEL_SERVICE_NAME": "platform-sim",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "medical_insurance_sdk.cli", "simulate", "--port", "0",
         "--seed", "5", "--latency-scale", "0", "--trace"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        started = re.search(r"(http://127\.0\.0\.1:\d+)/fsi/", process.stdout.readline())
        assert started is not None
        with MedicalInsuranceClient.for_simulator(
            started.group(1), collector=None, tracer_provider=tracing.provider
        ) as client:
            client.call("1101", person())
    finally:
        process.send_signal(signal.SIGINT)  # the simulator flushes its spans as it stops
        _, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr
    assert tracing.force_flush()
    spans = {span.name: span for span in sink.spans()}
    call, platform = spans["medins 1101"], spans["medins platform"]
    assert platform.trace_id == call.trace_id
    assert platform.parent_span_id == call.span_id
    assert sink.service_names() == {"his-test", "platform-sim"}
