"""Call tracing: a W3C trace context per call, and OpenTelemetry spans when available.

Each call gets a trace id and a span id, sent as a ``traceparent`` header
(``00-<32 hex trace id>-<16 hex span id>-<flags>``). When ``opentelemetry-api`` is
installed (the ``[tracing]`` extra) a client span is opened per call as a child of the
active span, so the call joins the caller's trace; its attributes are the interface code,
the institution code and the msgid, never personal data. Without OpenTelemetry, or when it
yields no valid span context, the ids are generated locally.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from medical_insurance_sdk.optional import is_available

__all__ = ["CallTrace", "Tracer"]

_RNG = random.SystemRandom()


@dataclass(slots=True)
class CallTrace:
    """The trace context of one call; ``span`` is the OpenTelemetry span, if any."""

    trace_id: str
    span_id: str
    sampled: bool
    span: Any = None

    @property
    def traceparent(self) -> str:
        """The W3C ``traceparent`` header value."""
        return f"00-{self.trace_id}-{self.span_id}-{'01' if self.sampled else '00'}"


def _local_trace() -> CallTrace:
    trace_id = _RNG.getrandbits(128) or 1
    span_id = _RNG.getrandbits(64) or 1
    return CallTrace(f"{trace_id:032x}", f"{span_id:016x}", sampled=True)


class Tracer:
    """Starts and ends call traces; decides once whether OpenTelemetry is used.

    ``use_otel=None`` means "if installed"; ``False`` always generates ids locally.
    ``provider`` is an OpenTelemetry ``TracerProvider`` to use instead of the global one.
    """

    def __init__(self, use_otel: bool | None = None, provider: Any = None) -> None:
        if use_otel is None:
            use_otel = provider is not None or is_available("opentelemetry.trace")
        self._otel: Any = None
        self._span_kind: Any = None
        self._status: Any = None
        self._status_code: Any = None
        if use_otel:
            from opentelemetry import trace

            self._otel = trace.get_tracer("medical_insurance_sdk", tracer_provider=provider)
            self._span_kind = trace.SpanKind.CLIENT
            self._status = trace.Status
            self._status_code = trace.StatusCode

    @property
    def uses_otel(self) -> bool:
        """True when calls open OpenTelemetry spans."""
        return self._otel is not None

    def start(self, api_code: str, org_code: str, msgid: str) -> CallTrace:
        """Start the trace of one call (opens a client span when OpenTelemetry is used)."""
        if self._otel is None:
            return _local_trace()
        span = self._otel.start_span(
            f"medins {api_code}",
            kind=self._span_kind,
            attributes={
                "medins.api_code": api_code,
                "medins.org_code": org_code,
                "medins.msgid": msgid,
            },
        )
        context = span.get_span_context()
        if not context.is_valid:
            local = _local_trace()
            local.span = span
            return local
        return CallTrace(
            f"{context.trace_id:032x}",
            f"{context.span_id:016x}",
            sampled=bool(context.trace_flags & 0x01),
            span=span,
        )

    def end(self, trace: CallTrace, error_code: str | None) -> None:
        """End the call's span, marking it as an error when ``error_code`` is set."""
        span = trace.span
        if span is None:
            return
        if error_code is not None:
            span.set_attribute("error.type", error_code)
            span.set_status(self._status(self._status_code.ERROR, error_code))
        span.end()
