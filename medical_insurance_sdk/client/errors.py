"""Error taxonomy: translate what went wrong into the SDK's typed exceptions.

Every failure ends up as one :mod:`medical_insurance_sdk.exceptions` class with a stable
error code. Business errors get a code from a bounded alphabet, never from free text:

* ``err_msg`` starting with ``<SYSTEM>-<java.package.ClassName>:`` (the platform's usual
  ``MBS-cn.hsa.ais.common.exception.HygeiaException: 请求失败…``) gives
  ``BIZ_MBS_HygeiaException``;
* otherwise the infcode gives ``INFCODE_-1`` (or ``INFCODE_OTHER`` when it is not a short
  code).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

import httpx

from medical_insurance_sdk.client.auth import GATEWAY_MESSAGES
from medical_insurance_sdk.client.catalog import Kind
from medical_insurance_sdk.exceptions import (
    BusinessError,
    ConnectTimeoutError,
    GatewayAuthError,
    GatewayAuthReason,
    GatewayClockSkewError,
    GatewayHeadersMissingError,
    GatewaySignatureError,
    GatewayUnknownKeyError,
    HTTPStatusError,
    MedicalInsuranceError,
    NetworkError,
    ReadTimeoutError,
    SessionError,
)

__all__ = [
    "DEFAULT_SESSION_MARKERS",
    "business_error",
    "business_error_class",
    "gateway_error",
    "http_status_error",
    "transport_error",
]

#: Substrings of err_msg meaning "not signed in" (docs/protocol.md §6, session category).
DEFAULT_SESSION_MARKERS: tuple[str, ...] = ("未签到", "签到已失效", "请先签到")

_PREFIX = re.compile(
    r"^\s*(?P<system>[A-Za-z]{2,10})-(?:[A-Za-z_][\w]*\.){1,12}"
    r"(?P<cls>[A-Z][A-Za-z0-9]{0,60}(?:Exception|Error))\s*[:：]"
)
_INFCODE = re.compile(r"^-?[0-9A-Za-z]{1,8}$")

_GATEWAY_CLASSES: dict[GatewayAuthReason, type[GatewayAuthError]] = {
    GatewayAuthReason.HEADERS_MISSING: GatewayHeadersMissingError,
    GatewayAuthReason.CLOCK_SKEW: GatewayClockSkewError,
    GatewayAuthReason.UNKNOWN_KEY: GatewayUnknownKeyError,
    GatewayAuthReason.BAD_SIGNATURE: GatewaySignatureError,
}
_GATEWAY_REASONS = {message: reason for reason, message in GATEWAY_MESSAGES.items()}


def business_error_class(infcode: int | str, err_msg: str) -> str:
    """Return the stable error-code token for a business error (see the module docstring)."""
    match = _PREFIX.match(err_msg)
    if match:
        return f"BIZ_{match.group('system').upper()}_{match.group('cls')}"
    text = str(infcode).strip()
    return f"INFCODE_{text}" if _INFCODE.match(text) else "INFCODE_OTHER"


def business_error(
    infcode: int | str,
    err_msg: str,
    *,
    api_code: str,
    msgid: str,
    trace_id: str | None = None,
    session_markers: Sequence[str] = DEFAULT_SESSION_MARKERS,
) -> BusinessError:
    """Build the exception for an envelope with a non-zero infcode (err_msg gets masked)."""
    cls: type[BusinessError] = (
        SessionError if any(marker in err_msg for marker in session_markers) else BusinessError
    )
    return cls(
        err_msg or "平台返回失败但未提供错误信息",
        infcode=infcode,
        error_class=business_error_class(infcode, err_msg),
        api_code=api_code,
        msgid=msgid,
        trace_id=trace_id,
    )


def gateway_error(
    status_code: int, body: bytes, *, api_code: str, msgid: str, trace_id: str | None = None
) -> GatewayAuthError | None:
    """Recognise a gateway 401 body; return the matching exception or None."""
    try:
        data = json.loads(body)
    except ValueError:
        return None
    if not isinstance(data, dict) or "message" not in data:
        return None
    message = str(data.get("message", ""))
    code = data.get("code")
    reason = _GATEWAY_REASONS.get(message)
    if reason is None and status_code != 401 and code != 401:
        return None
    cls = _GATEWAY_CLASSES.get(reason, GatewayAuthError) if reason else GatewayAuthError
    return cls(
        f"网关拒绝请求: {message}",
        status_code=status_code,
        api_code=api_code,
        msgid=msgid,
        trace_id=trace_id,
    )


def http_status_error(
    status_code: int, body: bytes, *, api_code: str, msgid: str, trace_id: str | None = None
) -> MedicalInsuranceError:
    """Translate a non-200 answer: a gateway 401 body, or a plain HTTP status error."""
    auth = gateway_error(status_code, body, api_code=api_code, msgid=msgid, trace_id=trace_id)
    if auth is not None:
        return auth
    return HTTPStatusError(
        f"HTTP {status_code}",
        status_code=status_code,
        api_code=api_code,
        msgid=msgid,
        trace_id=trace_id,
    )


def transport_error(
    exc: httpx.TransportError,
    *,
    kind: Kind,
    api_code: str,
    msgid: str,
    trace_id: str | None = None,
) -> NetworkError:
    """Translate an httpx transport error; flag unknown outcomes of W$ transactions.

    Connect and pool failures mean nothing was sent. A read or write timeout, or a
    connection broken after sending, may have left the platform's state changed.
    """
    money = kind is Kind.WRITE_MONEY
    detail = type(exc).__name__
    common: dict[str, Any] = {"api_code": api_code, "msgid": msgid, "trace_id": trace_id}
    if isinstance(exc, httpx.ConnectTimeout):
        return ConnectTimeoutError(f"连接超时 ({detail})", phase="connect", **common)
    if isinstance(exc, httpx.PoolTimeout):
        return ConnectTimeoutError(f"连接池等待超时 ({detail})", phase="pool", **common)
    if isinstance(exc, httpx.TimeoutException):
        phase = "write" if isinstance(exc, httpx.WriteTimeout) else "read"
        return ReadTimeoutError(
            f"读取响应超时 ({detail})" + ("，交易结果未知" if money else ""),
            phase=phase,
            outcome_unknown=money,
            **common,
        )
    sent = not isinstance(exc, httpx.ConnectError | httpx.UnsupportedProtocol | httpx.ProxyError)
    return NetworkError(
        f"网络错误 ({detail})" + ("，交易结果未知" if money and sent else ""),
        outcome_unknown=money and sent,
        **common,
    )
