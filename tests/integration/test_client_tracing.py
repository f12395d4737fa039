"""Tracing: traceparent on the wire, exemplars, OpenTelemetry spans, log correlation."""

from __future__ import annotations

import logging
import re

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from medical_insurance_sdk.client import MedicalInsuranceClient
from medical_insurance_sdk.core import MetricsCollector
from medical_insurance_sdk.exceptions import BusinessError
from medical_insurance_sdk.simulator.testing import (
    SAMPLE_CERTNO,
    SAMPLE_CERTNO_UNINSURED,
    SAMPLE_ORG,
    RunningSimulator,
)

pytestmark = pytest.mark.integration

#: The flags byte: sampled (01), and random trace id (02, W3C Trace Context level 2).
TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$")


def person(certno: str = SAMPLE_CERTNO) -> dict[str, dict[str, str]]:
    """1101 input."""
    return {"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": certno}}


def received_traceparent(sim: RunningSimulator, api_code: str) -> str:
    """The traceparent header of the last request the simulator received for api_code."""
    return sim.stats()["last_headers"][api_code]["traceparent"]


def test_traceparent_reaches_the_platform_and_the_exemplar(
    sim: RunningSimulator, collector: MetricsCollector
) -> None:
    """The trace id sent in traceparent is the exemplar on the duration histogram."""
    with MedicalInsuranceClient(sim.base_url, SAMPLE_ORG, collector=collector, tracing=False) as c:
        c.call("1101", person())
    match = TRACEPARENT.match(received_traceparent(sim, "1101"))
    assert match is not None
    trace_id = match.group(1)
    exposition = collector.get_prometheus_metrics(openmetrics=True)
    exemplars = re.findall(r'# \{trace_id="([0-9a-f]{32})"\}', exposition)
    assert exemplars == [trace_id]


def test_each_call_gets_its_own_trace(sim: RunningSimulator, collector: MetricsCollector) -> None:
    """Without an active span, every call starts a new trace id."""
    seen = set()
    with MedicalInsuranceClient(
        sim.base_url, SAMPLE_ORG, collector=collector, tracing=False, cache=False
    ) as c:
        for _ in range(5):
            c.call("1101", person())
            seen.add(received_traceparent(sim, "1101").split("-")[1])
    assert len(seen) == 5


def test_otel_client_span_joins_the_active_trace(
    sim: RunningSimulator, collector: MetricsCollector
) -> None:
    """With an active span, the call's span is its child and traceparent carries it."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("his")
    with MedicalInsuranceClient(
        sim.base_url, SAMPLE_ORG, collector=collector, tracer_provider=provider
    ) as c:
        with tracer.start_as_current_span("挂号流程") as parent:
            c.call("1101", person())
            with pytest.raises(BusinessError):
                c.call("1101", person(SAMPLE_CERTNO_UNINSURED))
        parent_context = parent.get_span_context()
    spans = [span for span in exporter.get_finished_spans() if span.name == "medins 1101"]
    assert len(spans) == 2
    failed = spans[1]
    for span in spans:
        assert span.kind is SpanKind.CLIENT
        assert span.parent is not None
        assert span.parent.span_id == parent_context.span_id
        assert span.context.trace_id == parent_context.trace_id
        attributes = dict(span.attributes or {})
        assert attributes["medins.api_code"] == "1101"
        assert attributes["medins.org_code"] == SAMPLE_ORG
        assert str(attributes["medins.msgid"]).startswith(SAMPLE_ORG)
        values = " ".join(str(value) for value in attributes.values())
        assert SAMPLE_CERTNO not in values
        assert SAMPLE_CERTNO_UNINSURED not in values
    assert failed.status.status_code is StatusCode.ERROR
    assert dict(failed.attributes or {})["error.type"] == "BIZ_MBS_HygeiaException"
    sent = TRACEPARENT.match(received_traceparent(sim, "1101"))
    assert sent is not None
    assert sent.group(1) == f"{parent_context.trace_id:032x}"
    assert sent.group(2) == f"{failed.context.span_id:016x}"
    provider.shutdown()


def test_logs_carry_msgid_and_trace_id(
    sim: RunningSimulator, collector: MetricsCollector, caplog: pytest.LogCaptureFixture
) -> None:
    """Failure logs are structured (msgid, trace_id, error_code) and masked."""
    with (
        MedicalInsuranceClient(sim.base_url, SAMPLE_ORG, collector=collector) as c,
        caplog.at_level(logging.DEBUG, logger="medical_insurance_sdk"),
    ):
        c.call("1101", person())
        with pytest.raises(BusinessError) as info:
            c.call("1101", person(SAMPLE_CERTNO_UNINSURED))
    records = [r for r in caplog.records if r.name == "medical_insurance_sdk.client"]
    ok = next(r for r in records if r.levelno == logging.DEBUG)
    failed = next(r for r in records if r.levelno == logging.WARNING)
    assert failed.msgid == info.value.msgid  # type: ignore[attr-defined]
    assert failed.trace_id == info.value.trace_id  # type: ignore[attr-defined]
    assert failed.error_code == "BIZ_MBS_HygeiaException"  # type: ignore[attr-defined]
    assert failed.trace_id in failed.getMessage()  # type: ignore[attr-defined]
    assert ok.error_code is None  # type: ignore[attr-defined]
    assert SAMPLE_CERTNO_UNINSURED not in failed.getMessage()
