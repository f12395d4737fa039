"""Gateway authentication schemes and their verification (docs/protocol.md §3)."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from medical_insurance_sdk.exceptions import GatewayAuthReason
from medical_insurance_sdk.protocol.auth import (
    ApiSignatureAuth,
    BearerTokenAuth,
    TifSignatureAuth,
    sign_api,
    sign_tif,
    verify_api_signature,
    verify_tif_signature,
)

NOW = 1_700_000_000.0
KEYS = {"AK1": "SK1"}


def test_api_signature_follows_the_documented_recipe() -> None:
    """HMAC-SHA1 keyed with SK over the sorted key=value pairs joined by &, Base64."""
    text = "_api_access_key=AK1&_api_name=1101&_api_timestamp=1700000000000&_api_version=1.0.0"
    expected = base64.b64encode(hmac.new(b"SK1", text.encode(), hashlib.sha1).digest()).decode()
    assert sign_api("SK1", "AK1", "1101", "1700000000000", "1.0.0") == expected


def test_api_headers_verify() -> None:
    """The five _api_* headers pass the gateway check."""
    headers = ApiSignatureAuth("AK1", "SK1", clock=lambda: NOW).headers("2207")
    assert headers["_api_name"] == "2207"
    assert headers["_api_timestamp"] == "1700000000000"
    assert len(headers["_api_signature"]) <= 300
    assert verify_api_signature(headers, KEYS, now_ms=int(NOW * 1000)) is None


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"_api_signature": ""}, GatewayAuthReason.HEADERS_MISSING),
        ({"_api_timestamp": str(int((NOW - 31 * 60) * 1000))}, GatewayAuthReason.CLOCK_SKEW),
        ({"_api_access_key": "AK2"}, GatewayAuthReason.UNKNOWN_KEY),
        ({"_api_signature": "AAAA"}, GatewayAuthReason.BAD_SIGNATURE),
        ({"_api_name": "2208"}, GatewayAuthReason.BAD_SIGNATURE),
    ],
    ids=["missing", "skew", "unknown-ak", "bad-signature", "tampered-name"],
)
def test_api_verification_failures(change: dict[str, str], reason: GatewayAuthReason) -> None:
    """Each of the protocol's 401 reasons is detected."""
    headers = ApiSignatureAuth("AK1", "SK1", clock=lambda: NOW).headers("1101") | change
    assert verify_api_signature(headers, KEYS, now_ms=int(NOW * 1000)) is reason


def test_tif_scheme_round_trip() -> None:
    """x-tif-* headers: hex SHA-256 of timestamp + secret + nonce + timestamp."""
    headers = TifSignatureAuth("paas1", "secret1", clock=lambda: NOW).headers("1101")
    ts, nonce = headers["x-tif-timestamp"], headers["x-tif-nonce"]
    assert ts == "1700000000"
    assert (
        headers["x-tif-signature"] == hashlib.sha256(f"{ts}secret1{nonce}{ts}".encode()).hexdigest()
    )
    assert sign_tif("secret1", ts, nonce) == headers["x-tif-signature"]
    keys = {"paas1": "secret1"}
    assert verify_tif_signature(headers, keys, now_s=int(NOW)) is None
    assert (
        verify_tif_signature(headers, {"paas1": "other"}, now_s=int(NOW))
        is GatewayAuthReason.BAD_SIGNATURE
    )
    assert (
        verify_tif_signature(headers, keys, now_s=int(NOW) + 3600) is GatewayAuthReason.CLOCK_SKEW
    )


def test_tif_nonce_changes_per_request() -> None:
    """Each request gets a fresh nonce."""
    auth = TifSignatureAuth("paas1", "secret1")
    assert auth.headers("1101")["x-tif-nonce"] != auth.headers("1101")["x-tif-nonce"]


def test_bearer_header() -> None:
    """Bearer sends Authorization: Bearer <token>."""
    assert BearerTokenAuth("tok").headers("1101") == {"Authorization": "Bearer tok"}


def test_secrets_never_in_repr() -> None:
    """SK, secrets and tokens are hidden from repr."""
    assert "SK-SECRET" not in repr(ApiSignatureAuth("AK1", "SK-SECRET"))
    assert "AK1" not in repr(ApiSignatureAuth("AK1", "SK-SECRET"))
    assert "SK-SECRET" not in repr(TifSignatureAuth("paas", "SK-SECRET"))
    assert "SK-SECRET" not in repr(BearerTokenAuth("SK-SECRET"))


def test_empty_credentials_are_rejected() -> None:
    """Empty keys fail at construction."""
    with pytest.raises(ValueError, match="access_key"):
        ApiSignatureAuth("", "x")
    with pytest.raises(ValueError, match="token"):
        BearerTokenAuth("")
