"""Exporter hardening: bind address, TLS, basic auth, gzip — with a real HTTP client."""

from __future__ import annotations

import datetime
import ipaddress
import socket
import ssl
from pathlib import Path

import httpx
import pytest

from medical_insurance_sdk.core import MetricConfig, MetricsCollector


def _free_port(family: socket.AddressFamily = socket.AF_INET, host: str = "127.0.0.1") -> int:
    with socket.socket(family) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _self_signed(tmp_path: Path) -> tuple[str, str]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    certfile, keyfile = tmp_path / "cert.pem", tmp_path / "key.pem"
    certfile.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    keyfile.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return str(certfile), str(keyfile)


def _collector(**kwargs: object) -> MetricsCollector:
    base = MetricConfig(prometheus_port=_free_port(), prometheus_host="127.0.0.1", background=False)
    c = MetricsCollector(base.replace(**kwargs))
    c.record_api_call("1101", "H1", "success", 10.0)
    return c


def test_tls_serves_metrics_over_https(tmp_path):
    """With certfile/keyfile, /metrics is served over TLS and verified by the client."""
    certfile, keyfile = _self_signed(tmp_path)
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
        port = _free_port(socket.AF_INET6, "::1")
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
