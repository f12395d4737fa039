"""PrometheusSource's bad input: each failure is one SourceError naming the URL and why.

A tiny HTTP server on loopback answers as a broken, foreign or guarded Prometheus would
(the first path segment picks the behaviour); the real Prometheus and VictoriaMetrics
cases (no data, the series cap) are in ``stack/test_fleet.py``.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from local_net import free_port

from medical_insurance_sdk.core import PrometheusSource, SourceError

pytestmark = pytest.mark.integration

USER, PASSWORD, TOKEN = "reader", "s3cret-pw", "t0ken-abc"


class Handler(BaseHTTPRequestHandler):
    """Answers ``/<mode>/api/v1/...`` as ``mode`` says."""

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""

    def send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        """One response."""
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        """Dispatch on the first path segment."""
        mode = self.path.split("/")[1]
        endpoint = self.path.split("?")[0].rsplit("/", 1)[-1]
        if mode == "auth":
            good = {
                "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode(),
                f"Bearer {TOKEN}",
            }
            if self.headers.get("Authorization") not in good:
                self.send(401, b"Unauthorized\n", "text/plain")
                return
            kind = "vector" if endpoint == "query" else "matrix"
            data = {"resultType": kind, "result": []}
            self.send(200, json.dumps({"status": "success", "data": data}).encode())
        elif mode == "boom":
            self.send(500, b"internal error\n", "text/plain")
        elif mode == "html":
            self.send(200, b"<html><body>Grafana</body></html>", "text/html")
        elif mode == "bad-query":
            body = {"status": "error", "errorType": "bad_data", "error": "parse error at char 3"}
            self.send(400, json.dumps(body).encode())
        elif mode == "many":
            result = [{"metric": {}, "value": [time.time(), "12"]}]
            data = {"resultType": "vector", "result": result}
            self.send(200, json.dumps({"status": "success", "data": data}).encode())
        else:
            self.send(404, b"404 page not found\n", "text/plain")


@pytest.fixture(scope="module")
def server_url() -> Iterator[str]:
    """The tiny server's root URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def last_hour(source: PrometheusSource) -> int:
    """Rows of the last hour (raises what the source raises)."""
    now = time.time()
    return len(source.rollups(now - 3600, now))


def test_a_server_that_is_down_names_the_url() -> None:
    """Nothing listening: one SourceError naming the URL and the connection failure."""
    url = f"http://127.0.0.1:{free_port()}"
    with PrometheusSource(url, timeout=2) as source, pytest.raises(SourceError) as info:
        last_hour(source)
    assert url in str(info.value)
    assert "ConnectError" in str(info.value)
    assert info.value.source == f"prometheus:{url}"


@pytest.mark.parametrize(
    ("mode", "status", "says"),
    [
        ("auth", "HTTP 401", "unauthorised"),
        ("boom", "HTTP 500", "Internal Server Error"),
        ("missing", "HTTP 404", "not found"),
        ("bad-query", "HTTP 400", "parse error at char 3"),
        ("html", "HTTP 200", "is not the Prometheus API's JSON"),
    ],
)
def test_each_failed_answer_names_the_url_and_status(
    server_url: str, mode: str, status: str, says: str
) -> None:
    """401, 500, 404, an API error and a page that is not the API: status and reason."""
    url = f"{server_url}/{mode}"
    with PrometheusSource(url) as source, pytest.raises(SourceError) as info:
        last_hour(source)
    message = str(info.value)
    assert f"{url}/api/v1/query" in message
    assert status in message
    assert says in message


def test_credentials_are_sent_and_never_shown(server_url: str) -> None:
    """Basic auth and bearer tokens open the server; a password in the URL stays hidden."""
    with PrometheusSource(f"{server_url}/auth", auth=(USER, PASSWORD)) as source:
        assert last_hour(source) == 0  # authorised, and no data: an empty frame
    with PrometheusSource(f"{server_url}/auth", bearer_token=TOKEN) as source:
        assert last_hour(source) == 0
    with (
        PrometheusSource(f"{server_url}/auth", auth=(USER, "wrong")) as source,
        pytest.raises(SourceError, match="HTTP 401"),
    ):
        last_hour(source)
    leaky = server_url.replace("http://", f"http://{USER}:wrong-{PASSWORD}@") + "/auth"
    with PrometheusSource(leaky) as source, pytest.raises(SourceError) as info:
        last_hour(source)
    assert PASSWORD not in str(info.value)
    assert PASSWORD not in source.name
    assert "HTTP 401" in str(info.value)


def test_a_window_over_the_series_cap_is_refused(server_url: str) -> None:
    """More series than max_series: refused before any range query, the cap named."""
    with (
        PrometheusSource(f"{server_url}/many", max_series=5) as source,
        pytest.raises(SourceError, match=r"12 series, more than the cap max_series=5"),
    ):
        last_hour(source)


@pytest.mark.parametrize(
    ("url", "options", "message"),
    [
        ("ftp://127.0.0.1:9090", {}, "must be http"),
        ("127.0.0.1:9090", {}, "must be http"),
        ("http://127.0.0.1:9090", {"auth": ("a", "b"), "bearer_token": "t"}, "not both"),
        ("http://127.0.0.1:9090", {"auth": ("only-user",)}, "auth must be"),
        ("http://127.0.0.1:9090", {"max_series": 0}, "max_series"),
        ("http://127.0.0.1:9090", {"timeout": 0}, "timeout"),
        ("http://127.0.0.1:9090", {"job": 'a"b'}, "job"),
        ("http://127.0.0.1:9090", {"lookback": 5}, "lookback"),
    ],
)
def test_bad_options_are_value_errors(url: str, options: dict[str, object], message: str) -> None:
    """Misuse of the constructor is a ValueError naming the option."""
    with pytest.raises(ValueError, match=message):
        PrometheusSource(url, **options)  # type: ignore[arg-type]


def test_bad_windows_and_api_codes_are_value_errors() -> None:
    """A reversed or infinite window, or an api_code that is no label value: ValueError."""
    with PrometheusSource("http://127.0.0.1:9") as source:
        with pytest.raises(ValueError, match="starts after it ends"):
            source.rollups(2.0, 1.0)
        with pytest.raises(ValueError, match="finite"):
            source.rollups(0.0, float("inf"))
        with pytest.raises(ValueError, match="api_code"):
            source.rollups(0.0, 60.0, api_code='1101"}')
