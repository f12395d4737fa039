"""The /metrics HTTP server: prometheus_client's WSGI app, optionally behind TLS and auth.

prometheus_client does the exposition (content negotiation, OpenMetrics, gzip); this
module only adds what its ``start_http_server`` lacks: HTTP basic auth, implemented as a
small WSGI wrapper with a constant-time credential check, and one code path for
IPv4/IPv6, TLS and a busy port (one warning, no exception).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import logging
import socket
import ssl
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

from prometheus_client import CollectorRegistry
from prometheus_client.exposition import ThreadingWSGIServer

from medical_insurance_sdk.core.scrape import make_scrape_app

__all__ = ["BasicAuth", "MetricsServer", "start_metrics_server"]

logger = logging.getLogger(__name__)

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class BasicAuth:
    """WSGI wrapper requiring HTTP basic auth; credentials compared in constant time."""

    def __init__(self, app: WSGIApp, username: str, password: str, realm: str = "metrics"):
        self._app = app
        self._expected = f"{username}:{password}".encode()
        self._realm = realm

    def _authorized(self, header: str) -> bool:
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            given = base64.b64decode(encoded.strip(), validate=True)
        except (binascii.Error, ValueError):
            return False
        return hmac.compare_digest(given, self._expected)

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        if self._authorized(environ.get("HTTP_AUTHORIZATION", "")):
            return self._app(environ, start_response)
        start_response(
            "401 Unauthorized",
            [("WWW-Authenticate", f'Basic realm="{self._realm}"'), ("Content-Type", "text/plain")],
        )
        return [b"401 Unauthorized\n"]

    def __repr__(self) -> str:  # never show the credentials
        return f"BasicAuth(realm={self._realm!r})"


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Scrapes are not logged line by line."""


class _Server6(ThreadingWSGIServer):
    address_family = socket.AF_INET6


@dataclass
class MetricsServer:
    """A running /metrics server."""

    server: ThreadingWSGIServer
    thread: threading.Thread
    tls: bool

    @property
    def port(self) -> int:
        return int(self.server.server_port)

    def close(self) -> None:
        """Stop serving and release the port."""
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def start_metrics_server(
    registry: CollectorRegistry,
    port: int,
    host: str,
    *,
    certfile: str | None = None,
    keyfile: str | None = None,
    basic_auth: tuple[str, str] | None = None,
) -> MetricsServer | None:
    """Serve ``registry`` on ``host:port``; ``None`` and one warning if it cannot bind."""
    app: WSGIApp = make_scrape_app(registry)
    if basic_auth is not None:
        app = BasicAuth(app, *basic_auth)
    server_class = _Server6 if ":" in host else ThreadingWSGIServer
    try:
        server = make_server(host, port, app, server_class, handler_class=_QuietHandler)
    except OSError as exc:
        logger.warning(
            "Prometheus /metrics server not started on %s:%s (%s); monitoring continues "
            "without it. Set MetricConfig.prometheus_port to a free port, or 0 to disable.",
            host,
            port,
            exc.strerror or exc,
        )
        return None
    if certfile:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(certfile, keyfile)
        server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, name="misdk-metrics-http", daemon=True)
    thread.start()
    return MetricsServer(server, thread, tls=bool(certfile))
