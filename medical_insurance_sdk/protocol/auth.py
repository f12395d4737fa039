"""Pluggable gateway authentication (docs/protocol.md §3).

A scheme is any object with ``headers(api_code) -> dict[str, str]``, called once per HTTP
attempt (timestamps are fresh on a retry). Three schemes ship:

* :class:`ApiSignatureAuth`: the default ``_api_*`` headers, HMAC-SHA1 over the sorted
  ``key=value`` pairs, Base64;
* :class:`TifSignatureAuth`: ``x-tif-*`` headers, hex SHA-256 of
  timestamp + secret + nonce + timestamp (a Guangdong gateway family);
* :class:`BearerTokenAuth`: ``Authorization: Bearer <token>``.

The verification side (:func:`verify_api_signature`) is used by the simulator and returns
the protocol's 401 reason. Secrets never appear in ``repr``; no scheme has default
credentials (the simulator's demo pair is :data:`SIMULATOR_ACCESS_KEY` /
:data:`SIMULATOR_SECRET_KEY`). :func:`auth_identity` names the account a scheme signs
for, without its secret.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from medical_insurance_sdk.exceptions import GatewayAuthReason

__all__ = [
    "DEFAULT_API_VERSION",
    "GATEWAY_MESSAGES",
    "SIMULATOR_ACCESS_KEY",
    "SIMULATOR_SECRET_KEY",
    "ApiSignatureAuth",
    "BearerTokenAuth",
    "GatewayAuth",
    "TifSignatureAuth",
    "auth_identity",
    "sign_api",
    "sign_tif",
    "verify_api_signature",
    "verify_tif_signature",
]

#: The simulator's demo credentials: what ``misdk simulate`` accepts out of the box (public
#: values, not secrets). Clients use them only when asked (``for_simulator``) or when they
#: talk to a loopback address; a real platform needs its own AK/SK.
SIMULATOR_ACCESS_KEY = "misdk-demo-ak"
SIMULATOR_SECRET_KEY = "misdk-demo-sk"
#: Former names of the simulator's demo credentials, kept for old imports (not exported);
#: despite the names, nothing uses them as a default.
DEFAULT_ACCESS_KEY = SIMULATOR_ACCESS_KEY
DEFAULT_SECRET_KEY = SIMULATOR_SECRET_KEY
DEFAULT_API_VERSION = "1.0.0"

#: The gateway's 401 messages (docs/protocol.md §3) by reason.
GATEWAY_MESSAGES: Mapping[GatewayAuthReason, str] = {
    GatewayAuthReason.HEADERS_MISSING: "缺少服务网关的请求头!",
    GatewayAuthReason.CLOCK_SKEW: "签名时间戳超时!",
    GatewayAuthReason.UNKNOWN_KEY: "非法用户!",
    GatewayAuthReason.BAD_SIGNATURE: "签名不一致!",
}

_API_HEADERS = ("_api_name", "_api_version", "_api_timestamp", "_api_access_key")


class GatewayAuth(Protocol):
    """A gateway authentication scheme: headers for one HTTP attempt."""

    def headers(self, api_code: str) -> dict[str, str]:
        """Return the authentication headers for a request to ``api_code``."""
        ...


def sign_api(secret_key: str, access_key: str, api_name: str, timestamp: str, version: str) -> str:
    """Compute ``_api_signature``: Base64(HMAC-SHA1(SK, sorted ``key=value`` joined by ``&``))."""
    pairs = {
        "_api_access_key": access_key,
        "_api_name": api_name,
        "_api_timestamp": timestamp,
        "_api_version": version,
    }
    text = "&".join(f"{key}={pairs[key]}" for key in sorted(pairs))
    digest = hmac.new(secret_key.encode("utf-8"), text.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def sign_tif(secret: str, timestamp: str, nonce: str) -> str:
    """Compute ``x-tif-signature``: hex SHA-256 of timestamp + secret + nonce + timestamp."""
    return hashlib.sha256(f"{timestamp}{secret}{nonce}{timestamp}".encode()).hexdigest()


@dataclass(frozen=True)
class ApiSignatureAuth:
    """The default ``_api_*`` HMAC-SHA1 scheme; ``clock`` returns seconds since the epoch."""

    access_key: str = field(repr=False)
    secret_key: str = field(repr=False)
    api_version: str = DEFAULT_API_VERSION
    clock: Callable[[], float] = field(default=time.time, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.access_key or not self.secret_key:
            raise ValueError("ApiSignatureAuth needs a non-empty access_key and secret_key")

    @classmethod
    def for_simulator(
        cls, *, api_version: str = DEFAULT_API_VERSION, clock: Callable[[], float] = time.time
    ) -> ApiSignatureAuth:
        """The scheme with the simulator's demo credentials."""
        return cls(SIMULATOR_ACCESS_KEY, SIMULATOR_SECRET_KEY, api_version, clock)

    def headers(self, api_code: str) -> dict[str, str]:
        """Return the five ``_api_*`` headers for ``api_code``."""
        timestamp = str(int(self.clock() * 1000))
        return {
            "_api_name": api_code,
            "_api_version": self.api_version,
            "_api_timestamp": timestamp,
            "_api_access_key": self.access_key,
            "_api_signature": sign_api(
                self.secret_key, self.access_key, api_code, timestamp, self.api_version
            ),
        }


@dataclass(frozen=True)
class TifSignatureAuth:
    """The ``x-tif-*`` SHA-256 scheme; timestamps in seconds, a random nonce per request."""

    paas_id: str = field(repr=False)
    secret: str = field(repr=False)
    clock: Callable[[], float] = field(default=time.time, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.paas_id or not self.secret:
            raise ValueError("TifSignatureAuth needs a non-empty paas_id and secret")

    def headers(self, api_code: str) -> dict[str, str]:
        """Return the four ``x-tif-*`` headers (``api_code`` is not part of this scheme)."""
        timestamp = str(int(self.clock()))
        nonce = secrets.token_hex(16)
        return {
            "x-tif-paasid": self.paas_id,
            "x-tif-timestamp": timestamp,
            "x-tif-nonce": nonce,
            "x-tif-signature": sign_tif(self.secret, timestamp, nonce),
        }


@dataclass(frozen=True)
class BearerTokenAuth:
    """An OAuth2 bearer token obtained out of band."""

    token: str = field(repr=False)

    def __post_init__(self) -> None:
        if not self.token:
            raise ValueError("BearerTokenAuth needs a non-empty token")

    def headers(self, api_code: str) -> dict[str, str]:
        """Return the ``Authorization`` header."""
        return {"Authorization": f"Bearer {self.token}"}


def auth_identity(auth: GatewayAuth) -> str:
    """The account ``auth`` signs for, without its secret: the AK, the paas id, a digest
    of the bearer token; for another scheme, the object itself (its type and id)."""
    if isinstance(auth, ApiSignatureAuth):
        return f"api:{auth.access_key}"
    if isinstance(auth, TifSignatureAuth):
        return f"tif:{auth.paas_id}"
    if isinstance(auth, BearerTokenAuth):
        return "bearer:" + hashlib.sha256(auth.token.encode("utf-8")).hexdigest()
    return f"{type(auth).__module__}.{type(auth).__qualname__}@{id(auth):x}"


def verify_api_signature(
    headers: Mapping[str, str],
    keys: Mapping[str, str],
    *,
    now_ms: int,
    window_ms: int = 30 * 60 * 1000,
) -> GatewayAuthReason | None:
    """Check ``_api_*`` headers as the gateway does; return the failure reason or None.

    ``keys`` maps access keys to secret keys; ``window_ms`` is the accepted clock skew
    (protocol default 30 minutes).
    """
    values = [headers.get(name) for name in (*_API_HEADERS, "_api_signature")]
    if any(not value for value in values):
        return GatewayAuthReason.HEADERS_MISSING
    name, version, timestamp, access_key, signature = (str(value) for value in values)
    if not timestamp.isdigit() or abs(now_ms - int(timestamp)) > window_ms:
        return GatewayAuthReason.CLOCK_SKEW
    secret_key = keys.get(access_key)
    if secret_key is None:
        return GatewayAuthReason.UNKNOWN_KEY
    expected = sign_api(secret_key, access_key, name, timestamp, version)
    if not hmac.compare_digest(expected.encode(), signature.encode()):
        return GatewayAuthReason.BAD_SIGNATURE
    return None


def verify_tif_signature(
    headers: Mapping[str, str],
    keys: Mapping[str, str],
    *,
    now_s: int,
    window_s: int = 30 * 60,
) -> GatewayAuthReason | None:
    """Check ``x-tif-*`` headers; ``keys`` maps paas ids to secrets."""
    names = ("x-tif-paasid", "x-tif-timestamp", "x-tif-nonce", "x-tif-signature")
    values = [headers.get(name) for name in names]
    if any(not value for value in values):
        return GatewayAuthReason.HEADERS_MISSING
    paas_id, timestamp, nonce, signature = (str(value) for value in values)
    if not timestamp.isdigit() or abs(now_s - int(timestamp)) > window_s:
        return GatewayAuthReason.CLOCK_SKEW
    secret = keys.get(paas_id)
    if secret is None:
        return GatewayAuthReason.UNKNOWN_KEY
    if not hmac.compare_digest(sign_tif(secret, timestamp, nonce).encode(), signature.encode()):
        return GatewayAuthReason.BAD_SIGNATURE
    return None
