"""PII sweep: personal data fed to every interface never reaches any export path.

Every interface of the catalog is called with ID numbers (18 digits, 18 with an X check
digit, 15 digits), a name, a phone number and an address, against a simulator that
rejects a share of the calls with err_msg echoing the person, in the shapes that used to
get through (an ID after letters or in groups, +86 and spaced phones, cards, names after
``姓名 ``/``姓名为``/``"name":``). Then every place the SDK writes to is searched: metric
labels and both exposition formats, stored error messages, log records at every level,
JSON/CSV/HTML reports, response-cache keys, exceptions' ``str()`` and ``repr()``, and the
OpenTelemetry spans of the calls (every attribute and event, in their OTLP encoding).

Generated personal data (``tests/pii_shapes.py``) goes the same way through real calls,
and a 5 MB err_msg (the platform's answer inflated by a test transport) comes out masked
and bounded everywhere.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from google.protobuf.json_format import MessageToJson
from hypothesis import HealthCheck, assume, given, settings
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from pii_shapes import Secret, embedded, strip_separators

from medical_insurance_sdk.client import MedicalInsuranceClient, iter_interfaces
from medical_insurance_sdk.core import MetricConfig, MetricsCollector, PerformanceAnalyzer
from medical_insurance_sdk.exceptions import BusinessError, MedicalInsuranceError
from medical_insurance_sdk.redaction import MAX_MESSAGE_CHARS
from medical_insurance_sdk.simulator import SimulatorConfig
from medical_insurance_sdk.simulator.testing import SAMPLE_ORG, running_simulator

pytestmark = pytest.mark.integration

_FORMAT = logging.Formatter("%(levelname)s %(name)s %(message)s")
CERT18 = "440106199001011235"
CERT18X = "11010519491231002X"
CERT15 = "440106900101123"
NAME = "欧阳娜娜"
PHONE = "13912345678"
ADDRESS = "长沙市岳麓区麓山南路932号"
SECRETS = {
    "certno": (CERT18, CERT18X, CERT15),
    "name": (NAME,),
    "phone": (PHONE,),
    "address": (ADDRESS,),
}
#: What the simulator echoes (the ``certno`` field), in the shapes that used to leak. The
#: leading "，" ends the echo's ``证件号码:`` key, so each shape is found by its own look.
ECHOES = (
    "，ID440106199001011235不存在",
    "，手机+8613912345678 姓名为欧阳娜娜",
    "，8613912345678，姓名 李小四",
    "，联系 139-1234-5678",
    "，联系 139 1234 5678",
    "，440106 19900101 1235",
    "，4401 0619 9001 0112 35",
    "，卡号6222021234567890128",
    '，{"name":"王小五"}',
    '，"psn_name": "赵六六"',
    "，姓名：钱七七",
)
#: Their clues: none of these may appear (numbers compared without separators).
ECHO_SECRETS = (
    Secret("id", "", "44010619900101"),
    Secret("phone", "", "1391234"),
    Secret("card", "", "622202123456"),
    *(Secret("name", "", n) for n in ("欧阳娜娜", "李小四", "王小五", "赵六六", "钱七七")),
)


def _person(certno: str, echo: str | None = None) -> dict[str, dict[str, str]]:
    return {
        "data": {
            "mdtrt_cert_type": "02",
            "mdtrt_cert_no": certno,
            "certno": certno if echo is None else echo,
            "psn_cert_type": "01",
            "psn_name": NAME,
            "tel": PHONE,
            "addr": ADDRESS,
            "psn_no": "43000011111111",
            "begntime": "2026-11-28 08:00:00",
        }
    }


def _leaks(text: str) -> list[str]:
    found = []
    for kind, values in SECRETS.items():
        for value in values:
            if value in text:
                found.append(f"{kind}={value}")
    found += [f"{secret.kind}~{secret.clue}" for secret in ECHO_SECRETS if secret.exposed_in(text)]
    # Also anything shaped like an unmasked 18-digit ID number (region, birth date, check).
    found += re.findall(
        r"(?<![\d.])[1-8]\d{5}(?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx](?!\d)",
        text,
    )
    return found


def test_no_personal_data_on_any_export_path(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, collector: MetricsCollector
):
    """Labels, exposition, stored messages, INFO+ logs, reports, cache keys, exceptions."""
    config = SimulatorConfig(seed=11, latency_scale=0.0, faults={"*": {"business_error_rate": 0.4}})
    texts: list[str] = []
    caplog.set_level(logging.DEBUG)
    echoes = iter(ECHOES * 100)
    spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    with (
        running_simulator(config, tracer_provider=provider) as sim,
        MedicalInsuranceClient(
            sim.base_url, SAMPLE_ORG, collector=collector, retries=0, tracer_provider=provider
        ) as client,
    ):
        for interface in iter_interfaces():
            for certno in (CERT18, CERT18X, CERT15):
                # 1101 checks certno (at most 50 characters): the plain certificate there
                echo = None if interface.code == "1101" else next(echoes)
                try:
                    client.call(interface.code, _person(certno, echo))
                except MedicalInsuranceError as exc:
                    texts += [str(exc), repr(exc), str(getattr(exc, "err_msg", ""))]
        cache_keys = client.cache.keys() if client.cache is not None else []
        texts.append(repr(client))
    calls = collector.get_recent_calls(10_000)
    assert len(calls) >= 3 * len(list(iter_interfaces()))
    assert any(c.error_message for c in calls), "the simulator should have echoed errors"
    analyzer = PerformanceAnalyzer(collector)
    paths = analyzer.write_report(tmp_path / "reports", formats=("json", "csv", "html"))
    exports = {
        "exposition": collector.get_prometheus_metrics(),
        "openmetrics": collector.get_prometheus_metrics(openmetrics=True),
        "stored messages": "\n".join(f"{c.error_code} {c.error_message}" for c in calls),
        "labels": "\n".join(f"{c.api_code} {c.org_code}" for c in calls),
        "logs (every level)": "\n".join(_FORMAT.format(r) for r in caplog.records),
        "cache keys": "\n".join(cache_keys),
        "exceptions": "\n".join(texts),
        "performance report dict": str(collector.generate_performance_report(1)),
        "spans (OTLP)": MessageToJson(encode_spans(spans.get_finished_spans())),
        **{f"report {p.suffix}": p.read_text(encoding="utf-8-sig") for p in paths},
    }
    leaks = {where: _leaks(text) for where, text in exports.items() if _leaks(text)}
    assert leaks == {}
    # The sweep was not vacuous: echoes reached the SDK and were masked.
    assert "440106********1235" in exports["stored messages"] + exports["exceptions"]
    assert exports["spans (OTLP)"].count('"medins.outcome"') >= len(calls)
    for masked in ("ID440106********1235", "139-****-5678", "欧***", '"name":"王**"'):
        assert masked in exports["stored messages"], masked
        assert masked in exports["exceptions"], masked


def test_secrets_never_in_logs_or_reprs(
    caplog: pytest.LogCaptureFixture, collector: MetricsCollector
):
    """The secret key, sign_no and signatures appear in no log line (any level) or repr."""
    from medical_insurance_sdk.simulator.config import AuthConfig

    secret = "SK-do-not-leak-7f3a9c"
    config = SimulatorConfig(
        seed=3,
        latency_scale=0.0,
        auth=AuthConfig(keys={"AK-test": secret}),
        faults={"2207": {"business_error_rate": 1.0}},
    )
    caplog.set_level(logging.DEBUG)
    reprs = []
    with running_simulator(config) as sim:
        with MedicalInsuranceClient(
            sim.base_url,
            SAMPLE_ORG,
            access_key="AK-test",
            secret_key=secret,
            collector=collector,
            retries=0,
        ) as client:
            sign_no = client.sign_in()
            client.call("1101", _person(CERT18))
            try:
                client.call("2207", _person(CERT18))
            except MedicalInsuranceError as exc:
                reprs += [repr(exc), str(exc)]
            reprs += [repr(client), repr(client.auth) if hasattr(client, "auth") else ""]
        headers = sim.stats().get("last_headers", {})
    logs = "\n".join(r.getMessage() for r in caplog.records)
    signatures = [v for k, v in _flatten(headers) if "signature" in k.lower()]
    haystack = logs + "\n".join(reprs) + repr(collector) + collector.get_prometheus_metrics()
    assert sign_no
    assert sign_no not in haystack
    assert secret not in haystack
    for signature in signatures:
        assert signature not in haystack


def _flatten(value: object, prefix: str = "") -> list[tuple[str, str]]:
    if isinstance(value, dict):
        return [kv for k, v in value.items() for kv in _flatten(v, f"{prefix}{k}.")]
    return [(prefix, str(value))]


# -- generated personal data through real calls ------------------------------------------------


class _Records(logging.Handler):
    """Every record of the SDK's loggers, at every level."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(_FORMAT.format(record))


@pytest.fixture(scope="module")
def echoing() -> Iterator[
    tuple[MedicalInsuranceClient, MetricsCollector, _Records, InMemorySpanExporter]
]:
    """A client against a simulator whose 1901 always fails, echoing the input's certno;
    the call's spans (and the platform's) go to an in-memory exporter."""
    config = SimulatorConfig(
        seed=5, latency_scale=0.0, faults={"1901": {"business_error_rate": 1.0}}
    )
    collector = MetricsCollector(MetricConfig(prometheus_port=0, background=False))
    records = _Records()
    sdk = logging.getLogger("medical_insurance_sdk")
    level = sdk.level
    sdk.addHandler(records)
    sdk.setLevel(logging.DEBUG)
    spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    try:
        with (
            running_simulator(config, tracer_provider=provider) as sim,
            MedicalInsuranceClient(
                sim.base_url, SAMPLE_ORG, collector=collector, retries=0, tracer_provider=provider
            ) as client,
        ):
            yield client, collector, records, spans
    finally:
        sdk.removeHandler(records)
        sdk.setLevel(level)
        collector.shutdown()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=embedded())
def test_generated_personal_data_echoed_by_the_platform_never_leaks(
    echoing: tuple[MedicalInsuranceClient, MetricsCollector, _Records, InMemorySpanExporter],
    case: tuple[str, Secret, str],
) -> None:
    """An err_msg echoing generated data: exception, logs, stored call, statistics, spans
    hide it."""
    client, collector, records, spans = echoing
    text, secret, around = case
    assume(not secret.exposed_in(around))
    del records.lines[:]
    spans.clear()
    with pytest.raises(BusinessError) as raised:
        client.call("1901", {"data": {"type": "INSUTYPE", "certno": "，" + text}})
    error = raised.value
    stored = collector.get_recent_calls(1)[0]
    shown = {
        "exception": "\n".join([str(error), repr(error), error.err_msg, str(error.args)]),
        "logs (every level)": "\n".join(records.lines),
        "stored message": stored.error_message or "",
        "statistics": str(collector.get_api_statistics(60)),
        "spans (OTLP)": MessageToJson(encode_spans(spans.get_finished_spans())),
    }
    assert '"medins.outcome"' in shown["spans (OTLP)"]
    assert "参保状态异常" in shown["stored message"]  # the echo came back and was kept
    assert records.lines, "the failed call was logged"
    assert {where for where, t in shown.items() if secret.exposed_in(t)} == set()


class _InflatedErrMsg(httpx.BaseTransport):
    """The platform answers through the simulator, its err_msg grown to 5 MB of echoes."""

    def __init__(self, size: int) -> None:
        self._inner = httpx.HTTPTransport()
        self._size = size
        self.sent_bytes = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self._inner.handle_request(request)
        body = response.read()
        response.close()
        envelope = json.loads(body)
        if envelope.get("infcode") in (0, "0"):
            return httpx.Response(response.status_code, headers=response.headers, content=body)
        filler = " 姓名为张三 ID440106199001011235 电话+86 139 1234 5678 卡号6222021234567890128"
        envelope["err_msg"] = str(envelope["err_msg"]) + filler * (self._size // len(filler))
        content = json.dumps(envelope, ensure_ascii=False).encode()
        self.sent_bytes = len(content)
        return httpx.Response(
            response.status_code,
            headers={"content-type": response.headers.get("content-type", "text/plain")},
            content=content,
        )

    def close(self) -> None:
        self._inner.close()


def test_a_5mb_err_msg_is_masked_and_bounded_everywhere(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, collector: MetricsCollector
) -> None:
    """A 5 MB err_msg: exception, err_msg, log lines, stored call and reports stay short."""
    caplog.set_level(logging.DEBUG)
    config = SimulatorConfig(
        seed=7, latency_scale=0.0, faults={"1101": {"business_error_rate": 1.0}}
    )
    transport = _InflatedErrMsg(5_000_000)
    with (
        running_simulator(config) as sim,
        MedicalInsuranceClient(
            sim.base_url, SAMPLE_ORG, collector=collector, retries=0, transport=transport
        ) as client,
    ):
        started = time.perf_counter()
        with pytest.raises(BusinessError) as raised:
            client.call("1101", _person(CERT18))
        elapsed = time.perf_counter() - started
    assert transport.sent_bytes > 5_000_000
    assert elapsed < 10.0  # generous: masking looks at a bounded window, not 5 MB
    error = raised.value
    stored = collector.get_recent_calls(1)[0].error_message or ""
    paths = PerformanceAnalyzer(collector).write_report(tmp_path, formats=("json", "csv", "html"))
    logs = [_FORMAT.format(r) for r in caplog.records]
    assert error.err_msg == error.message
    for text in (error.err_msg, stored):
        assert len(text) <= MAX_MESSAGE_CHARS
        assert re.search(r"…\(已截断，原长 \d{7} 字符\)\Z", text), text[-40:]
        assert "人员[证件号码:440106********1235]参保状态异常" in text
        assert "ID440106********1235" in text
    assert len(str(error)) < MAX_MESSAGE_CHARS + 100
    assert len(repr(error)) < MAX_MESSAGE_CHARS + 200
    assert any("call failed" in line for line in logs)
    assert max(len(line) for line in logs) < MAX_MESSAGE_CHARS + 300
    reports = [p.read_text(encoding="utf-8-sig") for p in paths]
    haystack = "\n".join([str(error), repr(error), stored, *logs, *reports])
    assert _leaks(haystack) == []
    assert "张三" not in haystack
    assert "1391234" not in strip_separators(haystack)
