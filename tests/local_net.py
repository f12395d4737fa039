"""Loopback networking helpers for tests: a free port, a self-signed certificate.

Import by module name (``from local_net import free_port``): ``tests/`` is on ``sys.path``
because of ``tests/conftest.py``.
"""

from __future__ import annotations

import datetime
import ipaddress
import socket
from pathlib import Path

__all__ = ["free_port", "self_signed"]


def free_port(family: socket.AddressFamily = socket.AF_INET, host: str = "127.0.0.1") -> int:
    """A TCP port free on ``host`` right now (127.0.0.1 unless told)."""
    with socket.socket(family) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def self_signed(tmp_path: Path) -> tuple[str, str]:
    """A self-signed certificate for 127.0.0.1: (certfile, keyfile), written in ``tmp_path``."""
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
