"""oteltest's OTLP/HTTP sink on 127.0.0.1 and a free port, and readers of what it received.

oteltest's ``HttpSink`` binds every interface on a fixed port; :class:`LoopbackHttpSink`
keeps its request parsing and listener and serves on loopback. The tracing tests use it in
process (an ``AccumulatingHandler`` keeps every request); ``python -m bench.otlp_sink``
runs one for ``bench_tracing`` in its own process (a :class:`CountingHandler`: spans are
counted, not kept), prints its endpoint and serves until stopped.
"""

from __future__ import annotations

import logging
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from oteltest.sink import HttpSink
from oteltest.sink.handler import AccumulatingHandler, RequestHandler
from oteltest.telemetry import extract_leaves, get_spans


class CountingHandler(RequestHandler):  # type: ignore[misc]
    """Counts the spans received; keeps nothing."""

    def __init__(self) -> None:
        self.spans = 0

    def handle_logs(self, request: Any, headers: Any) -> None:
        """Logs are not counted."""

    def handle_metrics(self, request: Any, headers: Any) -> None:
        """Metrics are not counted."""

    def handle_trace(self, request: Any, headers: Any) -> None:
        """Count the request's spans."""
        self.spans += sum(
            len(scope.spans) for rs in request.resource_spans for scope in rs.scope_spans
        )


class LoopbackHttpSink(HttpSink):  # type: ignore[misc]
    """An OTLP/HTTP receiver on ``127.0.0.1:<free port>``; ``listener.telemetry`` holds it all
    (with the default ``AccumulatingHandler``)."""

    def __init__(self, listener: Any = None) -> None:
        self.listener = listener if listener is not None else AccumulatingHandler()
        super().__init__(self.listener, logging.getLogger("oteltest"), port=0)
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                route = sink.handlers.get(self.path)
                if route is not None:
                    route(body, dict(self.headers.items()))
                self.send_response(200 if route is not None else 404)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: no access log on stderr."""

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]

    def run_server(self) -> None:
        """Serve until :meth:`stop` (oteltest's thread target)."""
        assert self.httpd is not None
        self.httpd.serve_forever()

    @property
    def endpoint(self) -> str:
        """The base URL to export to (``/v1/traces`` is added by the exporter)."""
        return f"http://127.0.0.1:{self.port}"

    def spans(self) -> list[Any]:
        """Every span received so far (protobuf ``Span`` messages)."""
        return list(get_spans(self.listener.telemetry))

    def metric_requests(self) -> list[Any]:
        """Every metrics export received so far (``ExportMetricsServiceRequest`` messages)."""
        return [r.pbreq for r in self.listener.telemetry.get_metric_requests()]

    def service_names(self) -> set[str]:
        """The ``service.name`` of every resource received."""
        resources = extract_leaves(
            self.listener.telemetry, "trace_requests", "pbreq", "resource_spans", "resource"
        )
        return {
            str(value(kv.value))
            for resource in resources
            for kv in resource.attributes
            if kv.key == "service.name"
        }


def value(any_value: Any) -> Any:
    """The Python value of an OTLP ``AnyValue``."""
    kind = any_value.WhichOneof("value")
    return None if kind is None else getattr(any_value, kind)


def attributes(message: Any) -> dict[str, Any]:
    """A span's or an event's attributes as a dict."""
    return {kv.key: value(kv.value) for kv in message.attributes}


if __name__ == "__main__":
    sink = LoopbackHttpSink(CountingHandler())
    print(sink.endpoint, flush=True)
    sink.run_server()
