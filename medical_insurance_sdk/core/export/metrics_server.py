"""The /metrics HTTP server: prometheus_client's WSGI app, optionally behind TLS and auth.

prometheus_client does the exposition (content negotiation, OpenMetrics, gzip); this
module only adds what its ``start_http_server`` lacks: HTTP basic auth, implemented as a
small WSGI wrapper with a constant-time credential check, one code path for IPv4/IPv6,
TLS and a busy port (one warning, no exception), and bounds that keep any peer from
blocking the server or the process around it:

* **a connection cap** (``max_connections``). A connection still waiting for its request
  (TLS handshake or headers) is *idle*; once its request has arrived it is *busy*. When a
  new connection finds the cap reached, the oldest idle connection is closed to make
  room (``metrics_http_evicted``); if every slot is busy, the new connection is closed at
  once (``metrics_http_rejected``). Idle peers can therefore hold at most
  ``max_connections`` threads and descriptors, and a scraper, whose request follows its
  connection at once, still gets through.
* **a request deadline** (``request_timeout``): the TLS handshake and the request headers
  must arrive within it, and the response must be written within it again
  (``metrics_http_timeout``).
* **TLS in the connection's thread**: the listening socket stays plain and each accepted
  socket is wrapped and its handshake done in that connection's own thread, so a silent
  peer never blocks ``accept()``, other scrapes or :meth:`MetricsServer.close`.
* **no busy loop when descriptors run out**: an ``accept()`` failing with ``EMFILE`` and
  the like closes the oldest idle connection and pauses the accept loop for 0.1 s
  (``metrics_http_accept_failed``).

Every such event is counted through ``on_drop`` (the collector passes its
``MonitoringHealth.drop``, so they show in ``medical_insurance_monitoring_dropped_total``)
and never printed; ``close()`` returns within about a second whatever peers do.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import errno
import hmac
import io
import logging
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler

from prometheus_client import CollectorRegistry
from prometheus_client.exposition import ThreadingWSGIServer

from medical_insurance_sdk.core.export.scrape import make_scrape_app

__all__ = [
    "DEFAULT_MAX_CONNECTIONS",
    "DEFAULT_REQUEST_TIMEOUT",
    "DROP_REASONS",
    "BasicAuth",
    "MetricsServer",
    "start_metrics_server",
]

logger = logging.getLogger(__name__)

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

#: Concurrent connections the server keeps (see the module docstring).
DEFAULT_MAX_CONNECTIONS = 32
#: Seconds for the TLS handshake and the request headers, and again for the response.
DEFAULT_REQUEST_TIMEOUT = 10.0
#: What the server counts through ``on_drop``.
DROP_REASONS = (
    "metrics_http_evicted",
    "metrics_http_rejected",
    "metrics_http_timeout",
    "metrics_http_tls_failed",
    "metrics_http_failed",
    "metrics_http_accept_failed",
)
#: ``accept()`` errors that mean "no descriptor or memory now": pause instead of spinning.
_RESOURCE_ERRNOS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})
_ACCEPT_PAUSE = 0.1
_POLL_INTERVAL = 0.25


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


class _Connection:
    """One accepted connection: its socket (replaced by the TLS one) and its state."""

    __slots__ = ("deadline", "idle", "sock")

    def __init__(self, sock: socket.socket) -> None:
        self.sock: socket.socket | None = sock
        self.idle = True
        self.deadline = 0.0


class _DeadlineReader(io.RawIOBase):
    """Reads from a socket, each read bounded by what is left of one deadline."""

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        super().__init__()
        self._sock = sock
        self._deadline = deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("the request did not arrive in time")
        self._sock.settimeout(remaining)
        return self._sock.recv_into(buffer)


class _DebugSink:
    """wsgiref's "stderr": what it would print (a peer gone mid-response) goes to DEBUG."""

    def write(self, text: str) -> int:
        if text.strip():
            logger.debug("/metrics: %s", text.rstrip())
        return len(text)

    def flush(self) -> None:
        """Nothing is buffered."""


_SINK = _DebugSink()


class _Handler(WSGIRequestHandler):
    """wsgiref's handler with the request deadline, busy marking and no printing."""

    server: _HardenedServer

    def setup(self) -> None:
        super().setup()
        conn = self.server.current_connection()
        self.rfile.close()  # replaced: read through the deadline instead
        self.rfile = io.BufferedReader(_DeadlineReader(self.connection, conn.deadline))

    def parse_request(self) -> bool:
        if not super().parse_request():
            return False
        # The request has arrived: the connection is busy, the response has its own bound.
        self.server.mark_busy()
        self.connection.settimeout(self.server.request_timeout)
        return True

    def get_stderr(self) -> Any:
        return _SINK

    def log_message(self, format: str, *args: Any) -> None:
        """Scrapes are not logged line by line."""


class _HardenedServer(ThreadingWSGIServer):
    """prometheus_client's threading WSGI server with the bounds of the module docstring."""

    request_queue_size = 128

    def configure(
        self,
        *,
        max_connections: int,
        request_timeout: float,
        ssl_context: ssl.SSLContext | None,
        on_drop: Callable[[str], None] | None,
    ) -> None:
        self.max_connections = max_connections
        self.request_timeout = request_timeout
        self.ssl_context = ssl_context
        self._on_drop = on_drop
        self._conns: dict[int, _Connection] = {}
        self._conn_ids = 0
        self._conn_lock = threading.Lock()
        self._local = threading.local()
        self._stopping = threading.Event()
        self.socket.setblocking(False)  # accept() never waits, even after a lost race

    # -- counting --------------------------------------------------------------------------
    def count(self, reason: str) -> None:
        if self._on_drop is not None:
            try:
                self._on_drop(reason)
            except Exception:  # counting must never stop the server
                logger.debug("/metrics: counting %s failed", reason, exc_info=True)

    # -- the accept loop (the serving thread) ----------------------------------------------
    def get_request(self) -> tuple[Any, Any]:
        try:
            return super().get_request()
        except OSError as exc:
            if exc.errno in _RESOURCE_ERRNOS:
                self.count("metrics_http_accept_failed")
                with self._conn_lock:
                    self._evict_oldest_idle()
                self._stopping.wait(_ACCEPT_PAUSE)  # the listening socket stays readable
            raise

    def process_request(self, request: Any, client_address: Any) -> None:
        conn = _Connection(request)
        with self._conn_lock:
            if len(self._conns) >= self.max_connections and not self._evict_oldest_idle():
                conn.sock = None
        if conn.sock is None:
            self.count("metrics_http_rejected")
            self.shutdown_request(request)
            return
        with self._conn_lock:
            self._conn_ids += 1
            key = self._conn_ids
            self._conns[key] = conn
        thread = threading.Thread(
            target=self._serve,
            args=(key, conn, client_address),
            name="misdk-metrics-conn",
            daemon=True,
        )
        try:
            thread.start()
        except RuntimeError:  # no thread can be started now: drop this connection
            self._forget(key, conn)
            self.count("metrics_http_rejected")
            self.shutdown_request(request)

    def _evict_oldest_idle(self) -> bool:
        """Close the oldest connection still waiting for its request (lock held)."""
        for key, conn in self._conns.items():
            if conn.idle and conn.sock is not None:
                del self._conns[key]
                self._abort(conn.sock)
                self.count("metrics_http_evicted")
                return True
        return False

    @staticmethod
    def _abort(sock: socket.socket) -> None:
        """Wake the connection's thread: its reads see EOF, its writes fail.

        The plain socket's ``shutdown`` (also for a TLS socket): the connection's thread
        closes the socket itself, after it has stopped using it.
        """
        with contextlib.suppress(OSError):  # the peer may have closed it already
            socket.socket.shutdown(sock, socket.SHUT_RDWR)

    # -- one connection (its own thread) ---------------------------------------------------
    def _serve(self, key: int, conn: _Connection, client_address: Any) -> None:
        conn.deadline = time.monotonic() + self.request_timeout
        self._local.conn = conn
        sock = conn.sock
        try:
            if self.ssl_context is not None:
                sock = self._handshake(conn)
            if sock is not None:
                self.finish_request(sock, client_address)
        except TimeoutError:
            self._failed(key, "metrics_http_timeout")
        except ssl.SSLError as exc:
            self._failed(key, "metrics_http_tls_failed")
            logger.debug("/metrics: TLS failed with %s: %s", client_address, exc)
        except OSError as exc:  # the peer went away, or was evicted
            logger.debug("/metrics: connection from %s ended: %s", client_address, exc)
        except Exception:  # a thread boundary: count, never print
            self._failed(key, "metrics_http_failed")
            logger.debug("/metrics: request from %s failed", client_address, exc_info=True)
        finally:
            sock = self._forget(key, conn)
            if sock is not None:
                self.shutdown_request(sock)

    def _failed(self, key: int, reason: str) -> None:
        """Count a failure, unless the connection was closed on purpose (already counted)."""
        with self._conn_lock:
            closed_on_purpose = key not in self._conns
        if not closed_on_purpose:
            self.count(reason)

    def _handshake(self, conn: _Connection) -> socket.socket | None:
        assert self.ssl_context is not None
        with self._conn_lock:
            raw = conn.sock
            if raw is None:  # evicted before it started
                return None
            raw.settimeout(max(0.001, conn.deadline - time.monotonic()))
            tls = self.ssl_context.wrap_socket(raw, server_side=True, do_handshake_on_connect=False)
            conn.sock = tls  # evictions now shut the TLS socket's descriptor down
        tls.do_handshake()
        return tls

    def _forget(self, key: int, conn: _Connection) -> socket.socket | None:
        with self._conn_lock:
            self._conns.pop(key, None)
            sock, conn.sock = conn.sock, None
        return sock

    def current_connection(self) -> _Connection:
        conn: _Connection = self._local.conn
        return conn

    def mark_busy(self) -> None:
        with self._conn_lock:
            self._local.conn.idle = False

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Errors are counted and logged at DEBUG, never printed."""
        self.count("metrics_http_failed")
        logger.debug("/metrics: error with %s", client_address, exc_info=True)

    # -- shutdown ----------------------------------------------------------------------
    def close_connections(self) -> None:
        """Stop the accept loop's pauses and wake every connection's thread."""
        self._stopping.set()
        with self._conn_lock:
            for conn in self._conns.values():
                if conn.sock is not None:
                    self._abort(conn.sock)
            self._conns.clear()

    @property
    def open_connections(self) -> int:
        """Connections being served now."""
        with self._conn_lock:
            return len(self._conns)


class _HardenedServer6(_HardenedServer):
    address_family = socket.AF_INET6


@dataclass
class MetricsServer:
    """A running /metrics server."""

    server: _HardenedServer
    thread: threading.Thread
    tls: bool

    @property
    def port(self) -> int:
        return int(self.server.server_port)

    def close(self, timeout: float = 1.0) -> None:
        """Stop serving, close every connection and release the port (bounded)."""
        self.server.close_connections()
        if self.thread.is_alive():
            self.server.shutdown()  # the accept loop never blocks: returns within a poll
        self.server.server_close()
        self.server.close_connections()  # any accepted during the shutdown
        self.thread.join(timeout)


def _no_password() -> bytes:
    raise ValueError("an encrypted TLS key is not supported: decrypt it or use a key file")


def tls_context(certfile: str, keyfile: str | None) -> ssl.SSLContext:
    """The server-side TLS context of /metrics (TLS 1.2 at least); raises on bad files."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(certfile, keyfile, password=_no_password)
    return context


def start_metrics_server(
    registry: CollectorRegistry,
    port: int,
    host: str,
    *,
    certfile: str | None = None,
    keyfile: str | None = None,
    basic_auth: tuple[str, str] | None = None,
    max_connections: int = DEFAULT_MAX_CONNECTIONS,
    request_timeout: float = DEFAULT_REQUEST_TIMEOUT,
    on_drop: Callable[[str], None] | None = None,
) -> MetricsServer | None:
    """Serve ``registry`` on ``host:port``; ``None`` and one warning if it cannot bind.

    ``port`` 0 binds a free port (see :attr:`MetricsServer.port`). ``on_drop`` is called
    with one of :data:`DROP_REASONS` for each connection the bounds closed or that failed.
    A certificate or key that cannot be loaded raises (``MetricConfig`` checks them first).
    """
    context = tls_context(certfile, keyfile) if certfile else None
    app: WSGIApp = make_scrape_app(registry)
    if basic_auth is not None:
        app = BasicAuth(app, *basic_auth)
    server_class = _HardenedServer6 if ":" in host else _HardenedServer
    try:
        server = server_class((host, port), _Handler)
    except OSError as exc:
        logger.warning(
            "Prometheus /metrics server not started on %s:%s (%s); monitoring continues "
            "without it. Set MetricConfig.prometheus_port to a free port, or 0 to disable.",
            host,
            port,
            exc.strerror or exc,
        )
        return None
    server.set_app(app)
    server.configure(
        max_connections=max_connections,
        request_timeout=request_timeout,
        ssl_context=context,
        on_drop=on_drop,
    )
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": _POLL_INTERVAL},
        name="misdk-metrics-http",
        daemon=True,
    )
    thread.start()
    return MetricsServer(server, thread, tls=context is not None)
