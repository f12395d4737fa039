"""The platform's side of a trace: the simulator continues the caller's W3C trace context.

A platform request's ``traceparent`` is read by :class:`TraceContinuation`'s middleware
(:func:`current_trace` while it is handled); the handler logs its trace id (DEBUG, with
``trace_id``/``span_id`` for JSON logs) and the recorder keeps it, and every answer
carries ``traceresponse: 00-<trace id>-<the platform's span id>-<flags>`` (W3C Trace
Context Level 2), so a demo shows one trace from the HIS to the platform. Given an
OpenTelemetry ``TracerProvider`` (``Simulator(tracer_provider=)``), the platform's span
is a real SERVER span ``medins platform``, the child of the client's, extracted with
OpenTelemetry's configured propagators; without one, the platform's span id is drawn
locally. A missing or malformed ``traceparent`` starts nothing and echoes nothing.
"""

from __future__ import annotations

import random
import re
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from aiohttp import web

__all__ = ["ServerTrace", "TraceContinuation", "current_trace", "parse_traceparent"]

_TRACEPARENT = re.compile(r"([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})")
_RNG = random.SystemRandom()
#: The trace of the request being handled (the handler runs in the middleware's task).
_CURRENT: ContextVar[ServerTrace | None] = ContextVar("medins_server_trace", default=None)


@dataclass(frozen=True, slots=True)
class ServerTrace:
    """The trace a platform request continues: the caller's ids and the platform's span."""

    trace_id: str
    parent_span_id: str  # the caller's span (the client's call span)
    span_id: str  # the platform's span
    flags: str

    @property
    def traceresponse(self) -> str:
        """The ``traceresponse`` header value."""
        return f"00-{self.trace_id}-{self.span_id}-{self.flags}"


def current_trace() -> ServerTrace | None:
    """The trace the request being handled continues (None: no valid ``traceparent``)."""
    return _CURRENT.get()


def parse_traceparent(value: str | None) -> tuple[str, str, str] | None:
    """``(trace_id, span_id, flags)`` of a valid ``traceparent`` value, else None."""
    if not value:
        return None
    match = _TRACEPARENT.fullmatch(value.strip())
    if match is None:
        return None
    version, trace_id, span_id, flags = match.groups()
    if version == "ff" or trace_id == "0" * 32 or span_id == "0" * 16:
        return None
    return trace_id, span_id, flags


class TraceContinuation:
    """Continues each request's trace; opens SERVER spans when given a ``TracerProvider``."""

    def __init__(self, tracer_provider: Any = None) -> None:
        self._tracer: Any = None
        if tracer_provider is not None:
            from opentelemetry import propagate, trace

            self._tracer = tracer_provider.get_tracer("medical_insurance_sdk.simulator")
            self._extract = propagate.extract
            self._server = trace.SpanKind.SERVER

    @web.middleware
    async def middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        """Read ``traceparent``, open the platform's span around the handler."""
        parent = parse_traceparent(request.headers.get("traceparent"))
        if parent is None:
            return await handler(request)  # type: ignore[no-any-return]
        trace_id, parent_id, flags = parent
        span = None
        if self._tracer is not None:
            span = self._tracer.start_span(
                "medins platform",
                context=self._extract(request.headers),
                kind=self._server,
                attributes={"http.request.method": request.method, "url.path": request.path},
            )
            context = span.get_span_context()
            span_id = f"{context.span_id:016x}" if context.is_valid else ""
        else:
            span_id = ""
        trace = ServerTrace(
            trace_id, parent_id, span_id or f"{_RNG.getrandbits(64) or 1:016x}", flags
        )
        token = _CURRENT.set(trace)
        try:
            response: web.StreamResponse = await handler(request)
            if not response.prepared:  # a streamed answer got it in echo()
                response.headers["traceresponse"] = trace.traceresponse
            if span is not None:
                span.set_attribute("http.response.status_code", response.status)
            return response
        finally:
            _CURRENT.reset(token)
            if span is not None:
                span.end()

    @staticmethod
    async def echo(request: web.Request, response: web.StreamResponse) -> None:
        """``on_response_prepare``: ``traceresponse`` on an answer streamed by the handler."""
        trace = _CURRENT.get()
        if trace is not None:
            response.headers["traceresponse"] = trace.traceresponse
