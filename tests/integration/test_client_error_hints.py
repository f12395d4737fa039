"""Errors say what to do: the URL and path= after a 404, the cause of a network error."""

from __future__ import annotations

import logging
import socket
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from local_net import self_signed

from medical_insurance_sdk.client import DEFAULT_PATH, MedicalInsuranceClient, RetryPolicy
from medical_insurance_sdk.core import MetricsCollector
from medical_insurance_sdk.exceptions import HTTPStatusError, NetworkCause, NetworkError
from medical_insurance_sdk.simulator.testing import SAMPLE_CERTNO, SAMPLE_ORG, RunningSimulator

pytestmark = pytest.mark.integration

PERSON = {"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": SAMPLE_CERTNO}}


def warnings_of(caplog: pytest.LogCaptureFixture) -> str:
    """The client's WARNING lines, joined."""
    return "\n".join(
        r.getMessage()
        for r in caplog.records
        if r.name == "medical_insurance_sdk.client" and r.levelno == logging.WARNING
    )


def test_base_url_holding_the_service_path_gets_a_hint(
    sim: RunningSimulator, collector: MetricsCollector, caplog: pytest.LogCaptureFixture
) -> None:
    """base_url with /fsi/api/... gives a 404 naming the URL and suggesting path=."""
    caplog.set_level(logging.WARNING, logger="medical_insurance_sdk.client")
    base_url = sim.base_url + DEFAULT_PATH
    with (
        MedicalInsuranceClient(base_url, SAMPLE_ORG, collector=collector, cache=False) as client,
        pytest.raises(HTTPStatusError) as info,
    ):
        client.call("1101", PERSON)
    message = str(info.value)
    assert info.value.status_code == 404
    assert base_url + DEFAULT_PATH in message
    assert f"base_url 已包含路径 {DEFAULT_PATH}" in message
    assert "path=" in message
    assert "path=" in warnings_of(caplog)


def test_wrong_path_alone_gets_a_path_hint(
    sim: RunningSimulator, collector: MetricsCollector
) -> None:
    """A bare host with a wrong path= gets the URL and the path= hint too."""
    with (
        MedicalInsuranceClient(
            sim.base_url, SAMPLE_ORG, collector=collector, path="/wrong", cache=False
        ) as client,
        pytest.raises(HTTPStatusError) as info,
    ):
        client.call("1101", PERSON)
    assert f"{sim.base_url}/wrong" in str(info.value)
    assert "path=" in str(info.value)


def closed_port_url() -> str:
    """A loopback URL nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[str]:
    """An HTTPS server on loopback with a self-signed certificate (untrusted)."""
    pytest.importorskip("cryptography.x509")
    cert_file, key_file = self_signed(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:  # the listener was closed: the test is over
                return
            try:
                with context.wrap_socket(conn, server_side=True):
                    pass
            except (ssl.SSLError, OSError):  # the client refused our certificate
                conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"https://localhost:{listener.getsockname()[1]}"
    stop.set()
    listener.close()
    thread.join(5)


def unresolvable(request: httpx.Request) -> httpx.Response:
    """What httpcore raises for a name the resolver does not know."""
    reason = socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    text = f"[Errno {reason.errno}] {reason.strerror}"
    raise httpx.ConnectError(text, request=request) from reason


@pytest.mark.parametrize(
    ("target", "cause", "words"),
    [
        ("closed", NetworkCause.CONNECTION_REFUSED, "connection refused"),
        ("dns", NetworkCause.NAME_NOT_RESOLVED, "name not resolved"),
        ("plain-http-over-tls", NetworkCause.TLS, "TLS"),
        ("untrusted-cert", NetworkCause.TLS_CERTIFICATE, "certificate verify failed"),
    ],
)
def test_network_errors_name_their_cause(
    sim: RunningSimulator,
    collector: MetricsCollector,
    caplog: pytest.LogCaptureFixture,
    request: pytest.FixtureRequest,
    target: str,
    cause: NetworkCause,
    words: str,
) -> None:
    """NetworkError says refused / not resolved / TLS / certificate, in .cause, text and log."""
    caplog.set_level(logging.WARNING, logger="medical_insurance_sdk.client")
    base_url = {
        "closed": closed_port_url,
        "dns": lambda: "http://misdk-no-such-host.invalid",  # resolved by the transport below
        "plain-http-over-tls": lambda: sim.base_url.replace("http://", "https://"),
        "untrusted-cert": lambda: request.getfixturevalue("tls_server"),
    }[target]()
    # No test sends a DNS query (the resolver is not on loopback): the name's failure is
    # raised as httpcore raises it, a ConnectError from socket.gaierror.
    transport = httpx.MockTransport(unresolvable) if target == "dns" else None
    with (
        MedicalInsuranceClient.for_simulator(
            base_url,
            SAMPLE_ORG,
            collector=collector,
            retries=RetryPolicy.disabled(),
            timeout=3.0,
            transport=transport,
        ) as client,
        pytest.raises(NetworkError) as info,
    ):
        client.call("1101", PERSON)
    assert info.value.cause is cause
    assert info.value.outcome_unknown is False
    assert words in str(info.value)
    assert base_url in str(info.value)
    assert words in warnings_of(caplog)


def test_reset_after_sending_is_named(
    sim: RunningSimulator, collector: MetricsCollector, caplog: pytest.LogCaptureFixture
) -> None:
    """A connection reset mid-answer says so (cause reset)."""
    caplog.set_level(logging.WARNING, logger="medical_insurance_sdk.client")
    sim.set_faults({"1101": {"reset_rate": 1.0}})
    with (
        MedicalInsuranceClient(
            sim.base_url, SAMPLE_ORG, collector=collector, retries=RetryPolicy.disabled()
        ) as client,
        pytest.raises(NetworkError) as info,
    ):
        client.call("1101", PERSON)
    assert info.value.cause is NetworkCause.RESET
    assert info.value.cause.sent
    assert "connection reset" in str(info.value)
    assert "connection reset" in warnings_of(caplog)
