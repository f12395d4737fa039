"""configure_tracing: the standard OTEL_* variables, explicit arguments, loud misuse."""

from __future__ import annotations

from typing import Any

import pytest
from opentelemetry import propagate
from opentelemetry.propagators.textmap import TextMapPropagator
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from medical_insurance_sdk import configure_tracing
from medical_insurance_sdk.cli import main
from medical_insurance_sdk.client.tracing import Tracer, http_attributes
from medical_insurance_sdk.simulator.tracecontext import parse_traceparent
from medical_insurance_sdk.tracing_setup import DEFAULT_SERVICE_NAME, OTEL_ENV_VARIABLES

OTEL_NAMES = [name for name, _, _ in OTEL_ENV_VARIABLES]


@pytest.fixture(autouse=True)
def _no_otel_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test starts without OTEL_* variables."""
    for name in OTEL_NAMES:
        monkeypatch.delenv(name, raising=False)


def test_the_environment_names_the_service_and_the_endpoint(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """OTEL_SERVICE_NAME and OTEL_EXPORTER_OTLP_ENDPOINT (+ /v1/traces) are honoured."""
    monkeypatch.setenv("OTEL_SERVICE_NAME", "his-env")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318/")
    setup = configure_tracing(set_global=False)
    try:
        assert setup.endpoint == "http://127.0.0.1:4318/v1/traces"
        assert setup.provider.resource.attributes["service.name"] == "his-env"
    finally:
        setup.shutdown()


def test_explicit_arguments_win_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """service_name and endpoint given in code replace the variables."""
    monkeypatch.setenv("OTEL_SERVICE_NAME", "his-env")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://127.0.0.1:1/v1/traces")
    setup = configure_tracing("his-code", endpoint="http://127.0.0.1:4318", set_global=False)
    try:
        assert setup.endpoint == "http://127.0.0.1:4318/v1/traces"
        assert setup.provider.resource.attributes["service.name"] == "his-code"
    finally:
        setup.shutdown()


def test_the_traces_endpoint_variable_is_used_as_given(monkeypatch: pytest.MonkeyPatch) -> None:
    """OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is the full URL; the default service name applies."""
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "https://apm.example:4318/otlp")
    setup = configure_tracing(set_global=False)
    try:
        assert setup.endpoint == "https://apm.example:4318/otlp"
        assert setup.provider.resource.attributes["service.name"] == DEFAULT_SERVICE_NAME
    finally:
        setup.shutdown()


def test_exporter_none_traces_without_exporting(monkeypatch: pytest.MonkeyPatch) -> None:
    """OTEL_TRACES_EXPORTER=none: spans are made (ids propagate), nothing is exported."""
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "none")
    setup = configure_tracing("his", set_global=False)
    try:
        trace = Tracer(provider=setup.provider).start("1101", "H43010500001", "m" * 30, "R")
        assert trace.span is not None
        assert trace.span.is_recording()
        assert setup.endpoint is None
        assert setup.stats().ended == 0
    finally:
        setup.shutdown()


def test_the_sampler_variable_is_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    """OTEL_TRACES_SAMPLER=always_off: calls are not sampled, nothing is queued."""
    monkeypatch.setenv("OTEL_TRACES_SAMPLER", "always_off")
    exporter = InMemorySpanExporter()
    setup = configure_tracing("his", exporter=exporter, set_global=False)
    try:
        tracer = Tracer(provider=setup.provider)
        trace = tracer.start("1101", "H43010500001", "m" * 30, "R")
        tracer.end(trace, None)
        assert not trace.sampled
        setup.force_flush()
        assert exporter.get_finished_spans() == ()
        assert setup.stats().ended == 0
    finally:
        setup.shutdown()


def test_an_injected_exporter_receives_the_spans_and_counts_them() -> None:
    """exporter= replaces OTLP; the counts say what it took."""
    exporter = InMemorySpanExporter()
    setup = configure_tracing("his", exporter=exporter, set_global=False)
    tracer = Tracer(provider=setup.provider, url="http://127.0.0.1:8080/fsi/api")
    for _ in range(3):
        tracer.end(tracer.start("1101", "H43010500001", "m" * 30, "R"), None)
    setup.shutdown()
    assert len(exporter.get_finished_spans()) == 3
    stats = setup.stats()
    assert (stats.ended, stats.exported, stats.dropped, stats.queued) == (3, 3, 0, 0)


@pytest.mark.parametrize(
    ("kwargs", "env", "message"),
    [
        ({"endpoint": "apm:4318"}, {}, "endpoint must be an http"),
        ({"endpoint": "ftp://apm:4318"}, {}, "endpoint must be an http"),
        ({"service_name": " "}, {}, "service_name must not be empty"),
        ({"timeout": 0}, {}, "timeout must be a positive"),
        ({"max_queue_size": 0}, {}, "max_queue_size must be positive"),
        ({}, {"OTEL_BSP_MAX_QUEUE_SIZE": "many"}, "OTEL_BSP_MAX_QUEUE_SIZE"),
        ({}, {"OTEL_TRACES_EXPORTER": "zipkin"}, "OTEL_TRACES_EXPORTER"),
        ({}, {"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, "OTEL_EXPORTER_OTLP_PROTOCOL"),
        ({}, {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "apm"}, "endpoint must be an http"),
    ],
    ids=[
        "no-scheme",
        "ftp",
        "blank-service",
        "zero-timeout",
        "zero-queue",
        "bad-queue-env",
        "unknown-exporter",
        "grpc",
        "bad-traces-endpoint",
    ],
)
def test_misuse_raises_value_error_naming_it(
    monkeypatch: pytest.MonkeyPatch, kwargs: dict[str, object], env: dict[str, str], message: str
) -> None:
    """A bad argument or variable is refused at setup, named."""
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match=message):
        configure_tracing(set_global=False, **kwargs)  # type: ignore[arg-type]


def test_url_full_keeps_no_query_and_no_user_info() -> None:
    """url.full drops user info, query and fragment; server.port defaults per scheme."""
    found = http_attributes("https://user:secret@gw.example/fsi/api/call?token=abc#x")
    assert found == {
        "http.request.method": "POST",
        "url.full": "https://gw.example/fsi/api/call",
        "server.address": "gw.example",
        "server.port": 443,
    }
    assert http_attributes("http://[::1]:8080/p")["url.full"] == "http://[::1]:8080/p"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            ("0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331", "01"),
        ),
        (" 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-03 ", (
            "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331", "03")),
        ("ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", None),
        ("00-00000000000000000000000000000000-b7ad6b7169203331-01", None),
        ("00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01", None),
        ("00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01", None),
        ("00-xyz-01", None),
        ("", None),
        (None, None),
    ],
    ids=["valid", "spaces-random-flag", "version-ff", "zero-trace", "zero-span", "upper",
         "short", "empty", "missing"],
)  # fmt: skip
def test_the_simulator_continues_only_a_valid_traceparent(
    value: str | None, expected: tuple[str, str, str] | None
) -> None:
    """W3C rules: lowercase hex, no all-zero id, version ff invalid."""
    assert parse_traceparent(value) == expected


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_misdk_documents_every_otel_variable(lang: str, capsys: pytest.CaptureFixture[str]) -> None:
    """`misdk docs tracing` lists each OTEL_* variable configure_tracing honours; --help says
    where to find them."""
    assert main(["docs", "tracing", "--lang", lang]) == 0
    printed = capsys.readouterr().out
    for name, zh, en in OTEL_ENV_VARIABLES:
        assert f"{name}  " in printed
        assert (zh if lang == "zh" else en) in printed
    assert main(["--help"]) == 0
    assert "misdk docs tracing" in capsys.readouterr().out


class _BrokenPropagator(TextMapPropagator):
    """A third-party propagator that fails on every request."""

    def inject(self, carrier: Any, context: Any = None, setter: Any = None) -> None:
        raise RuntimeError("broken propagator")

    def extract(self, carrier: Any, context: Any = None, getter: Any = None) -> Any:
        raise RuntimeError("broken propagator")

    @property
    def fields(self) -> set[str]:
        return {"x-broken"}


def test_a_raising_propagator_never_fails_the_call() -> None:
    """The call sends our own traceparent instead; the failure is counted."""
    previous = propagate.get_global_textmap()
    propagate.set_global_textmap(_BrokenPropagator())
    try:
        tracer = Tracer(provider=TracerProvider())
        trace = tracer.start("1101", "H43010500001", "m" * 30, "R")
        headers: dict[str, str] = {}
        tracer.inject(trace, headers)
    finally:
        propagate.set_global_textmap(previous)
    assert headers == {"traceparent": trace.traceparent}
    assert tracer.inject_failures == 1
