"""Exporter hardening: bind address, TLS, basic auth, gzip — with a real HTTP client."""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from local_net import free_port, self_signed
from prometheus_client import CollectorRegistry

from medical_insurance_sdk.core import MetricConfig, MetricsCollector, start_metrics_server


def _collector(**kwargs: object) -> MetricsCollector:
    base = MetricConfig(prometheus_port=free_port(), prometheus_host="127.0.0.1", background=False)
    c = MetricsCollector(base.replace(**kwargs))
    c.record_api_call("1101", "H1", "success", 10.0)
    return c


def test_tls_serves_metrics_over_https(tmp_path):
    """With certfile/keyfile, /metrics is served over TLS and verified by the client."""
    certfile, keyfile = self_signed(tmp_path)
    c = _collector(prometheus_certfile=certfile, prometheus_keyfile=keyfile)
    trust = ssl.create_default_context(cafile=certfile)
    r = httpx.get(f"https://127.0.0.1:{c.metrics_port}/metrics", verify=trust)
    assert r.status_code == 200
    assert "medical_insurance_api_calls_total" in r.text
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"http://127.0.0.1:{c.metrics_port}/metrics", timeout=2)
    c.shutdown()


@pytest.mark.parametrize(
    ("auth", "status"),
    [
        (("prom", "s3cret"), 200),
        (("prom", "wrong"), 401),
        (("other", "s3cret"), 401),
        (None, 401),
    ],
    ids=["right", "wrong-password", "wrong-user", "missing"],
)
def test_basic_auth(auth, status):
    """Only the configured credentials get /metrics; others get 401 with a challenge."""
    c = _collector(prometheus_basic_auth=("prom", "s3cret"))
    r = httpx.get(f"http://127.0.0.1:{c.metrics_port}/metrics", auth=auth)
    assert r.status_code == status
    if status == 401:
        assert r.headers["www-authenticate"].startswith("Basic ")
        assert "medical_insurance" not in r.text
    c.shutdown()


def test_basic_auth_rejects_malformed_header():
    """A malformed Authorization header is a 401, not a server error."""
    c = _collector(prometheus_basic_auth=("prom", "s3cret"))
    for header in ("Basic !!!notbase64", "Bearer abc", "Basic"):
        r = httpx.get(
            f"http://127.0.0.1:{c.metrics_port}/metrics", headers={"Authorization": header}
        )
        assert r.status_code == 401
    c.shutdown()


def test_password_never_in_repr():
    """The basic-auth password does not appear in the config's repr."""
    config = MetricConfig(prometheus_basic_auth=("prom", "s3cret-value"))
    assert "s3cret-value" not in repr(config)
    with pytest.raises(ValueError, match="prometheus_basic_auth must be"):
        MetricConfig(prometheus_basic_auth=("a:b", "x"))


def test_bind_address_ipv6_loopback():
    """prometheus_host selects the bind address; an IPv6 loopback works."""
    if not socket.has_ipv6:
        pytest.fail("IPv6 sockets are unavailable on this machine")
    try:
        port = free_port(socket.AF_INET6, "::1")
    except OSError as exc:
        pytest.fail(f"no IPv6 loopback here: {exc}")
    c = MetricsCollector(
        MetricConfig(prometheus_port=port, prometheus_host="::1", background=False)
    )
    r = httpx.get(f"http://[::1]:{port}/metrics")
    assert r.status_code == 200
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2)
    c.shutdown()


def test_gzip_and_openmetrics_negotiation():
    """gzip and the OpenMetrics format are served when asked for."""
    c = _collector()
    r = httpx.get(
        f"http://127.0.0.1:{c.metrics_port}/metrics",
        headers={
            "Accept": "application/openmetrics-text; version=1.0.0",
            "Accept-Encoding": "gzip",
        },
    )
    assert r.headers["content-encoding"] == "gzip"
    assert r.headers["content-type"].startswith("application/openmetrics-text")
    assert r.text.rstrip().endswith("# EOF")
    c.shutdown()


# -- bounds: no peer can block /metrics -----------------------------------------------------


class _BlockingCollector:
    """A prometheus_client collector whose collect() waits until released."""

    def __init__(self) -> None:
        self.entered = threading.Semaphore(0)
        self.release = threading.Event()

    def collect(self) -> list[object]:
        self.entered.release()
        self.release.wait(10)
        return []


def _server(registry: CollectorRegistry | None = None, **kwargs: Any) -> tuple[Any, list[str]]:
    drops: list[str] = []
    server = start_metrics_server(
        registry if registry is not None else CollectorRegistry(),
        0,
        "127.0.0.1",
        on_drop=drops.append,
        **kwargs,
    )
    assert server is not None
    return server, drops


def _idle(port: int) -> socket.socket:
    """A TCP connection that never sends anything."""
    return socket.create_connection(("127.0.0.1", port), timeout=5)


def _closed_by_server(sock: socket.socket, within: float) -> bool:
    """True when the server closes ``sock`` (EOF or reset) within ``within`` seconds."""
    sock.settimeout(within)
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def _wait_for(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.01)


def test_idle_connection_is_closed_after_the_request_timeout():
    """A peer that never sends its request is closed after request_timeout, and counted."""
    server, drops = _server(request_timeout=0.3)
    sock = _idle(server.port)
    started = time.monotonic()
    assert _closed_by_server(sock, within=10)
    assert 0.25 < time.monotonic() - started < 10  # never without the timeout
    _wait_for(lambda: drops == ["metrics_http_timeout"])
    sock.close()
    server.close()


def test_request_deadline_bounds_a_slow_drip_of_headers():
    """Sending one header byte at a time does not extend the deadline (slowloris)."""
    server, drops = _server(request_timeout=0.5)
    sock = _idle(server.port)
    started = time.monotonic()
    closed = False
    for byte in b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 200:
        try:
            sock.sendall(bytes([byte]))
        except OSError:
            closed = True
            break
        if _closed_by_server(sock, within=0.05):
            closed = True
            break
    assert closed
    assert time.monotonic() - started < 6.0  # a byte per 0.05 s would last over 10 s
    _wait_for(lambda: "metrics_http_timeout" in drops)
    sock.close()
    server.close()


def test_oldest_idle_connection_is_evicted_at_the_cap():
    """At the cap, a new connection closes the oldest idle one (counted); a scrape gets in."""
    server, drops = _server(max_connections=2)
    first, second = _idle(server.port), _idle(server.port)
    _wait_for(lambda: server.server.open_connections == 2)
    third = _idle(server.port)
    assert _closed_by_server(first, within=10)
    assert not _closed_by_server(second, within=0.1)
    r = httpx.get(f"http://127.0.0.1:{server.port}/metrics", timeout=2)
    assert r.status_code == 200
    assert drops.count("metrics_http_evicted") == 2  # `first`, then `second` for the scrape
    for s in (first, second, third):
        s.close()
    server.close()


def test_connection_is_rejected_at_once_when_every_slot_is_busy():
    """With every slot serving a request, a new connection is closed at once and counted."""
    registry = CollectorRegistry()
    blocking = _BlockingCollector()
    registry.register(blocking)  # type: ignore[arg-type]
    server, drops = _server(registry, max_connections=2)
    url = f"http://127.0.0.1:{server.port}/metrics"
    results: list[int] = []
    scrapes = [
        threading.Thread(target=lambda: results.append(httpx.get(url, timeout=10).status_code))
        for _ in range(2)
    ]
    for t in scrapes:
        t.start()
    for _ in range(2):
        assert blocking.entered.acquire(timeout=5)
    extra = _idle(server.port)
    assert _closed_by_server(extra, within=5)  # an idle one would wait the 10 s timeout
    _wait_for(lambda: drops == ["metrics_http_rejected"])
    blocking.release.set()
    for t in scrapes:
        t.join(10)
    assert results == [200, 200]
    extra.close()
    server.close()


def test_tls_silent_peer_blocks_neither_scrapes_nor_shutdown(tmp_path):
    """A TCP peer that never starts its TLS handshake: scrapes answer, close() returns."""
    certfile, keyfile = self_signed(tmp_path)
    c = _collector(prometheus_certfile=certfile, prometheus_keyfile=keyfile)
    port = c.metrics_port
    assert port is not None
    silent = [_idle(port) for _ in range(3)]
    trust = ssl.create_default_context(cafile=certfile)
    started = time.monotonic()
    r = httpx.get(f"https://127.0.0.1:{port}/metrics", verify=trust, timeout=5)
    assert r.status_code == 200
    assert "medical_insurance_api_calls_total" in r.text
    assert time.monotonic() - started < 5  # blocked, it would wait the 10 s request timeout
    started = time.monotonic()
    c.shutdown()
    assert time.monotonic() - started < 5
    for s in silent:
        assert _closed_by_server(s, within=10)
        s.close()


def test_tls_handshake_has_a_deadline(tmp_path):
    """A silent TLS peer is closed after request_timeout and counted as a timeout."""
    certfile, keyfile = self_signed(tmp_path)
    c = _collector(
        prometheus_certfile=certfile, prometheus_keyfile=keyfile, prometheus_request_timeout=0.3
    )
    assert c.metrics_port is not None
    silent = _idle(c.metrics_port)
    assert _closed_by_server(silent, within=3)
    _wait_for(lambda: c.monitoring_health()["dropped"].get("metrics_http_timeout") == 1)
    silent.close()
    c.shutdown()


def test_close_returns_promptly_whatever_peers_do(tmp_path):
    """close() returns promptly (not after the 30 s request timeout) whatever peers do."""
    server, _ = _server(request_timeout=30)
    url = f"http://127.0.0.1:{server.port}/metrics"
    idle = _idle(server.port)
    half = _idle(server.port)
    half.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")  # headers never finished
    assert httpx.get(url, timeout=2).status_code == 200
    _wait_for(lambda: server.server.open_connections == 2)
    started = time.monotonic()
    server.close()
    assert time.monotonic() - started < 5
    assert _closed_by_server(idle, within=10)
    assert _closed_by_server(half, within=10)
    with pytest.raises(httpx.ConnectError):
        httpx.get(url, timeout=1)
    idle.close()
    half.close()
