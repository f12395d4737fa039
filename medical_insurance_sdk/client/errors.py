"""Error taxonomy: translate what went wrong into the SDK's typed exceptions.

Every failure ends up as one :mod:`medical_insurance_sdk.exceptions` class with a stable
error code. Business errors get a code from a bounded alphabet, never from free text:

* ``err_msg`` starting with ``<SYSTEM>-<java.package.ClassName>:`` (the platform's usual
  ``MBS-cn.hsa.ais.common.exception.HygeiaException: 请求失败…``) gives
  ``BIZ_MBS_HygeiaException``;
* otherwise the infcode gives ``INFCODE_-1`` (or ``INFCODE_OTHER`` when it is not a short
  code).

A session answer (not signed in: sign in and send again) is recognised by an exact match
only, never by a substring a business message may contain (``参保人当日未签到…`` is a
business refusal): the err_msg, normalised by :func:`normalise_err_msg`, must be one of
:attr:`SessionAnswers.messages`, or the infcode one of :attr:`SessionAnswers.infcodes`.
"""

from __future__ import annotations

import errno
import json
import re
import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, cast

import httpx

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
    NetworkCause,
    NetworkError,
    ReadTimeoutError,
    SessionError,
)
from medical_insurance_sdk.protocol.auth import GATEWAY_MESSAGES

__all__ = [
    "DEFAULT_SESSION_ANSWERS",
    "SessionAnswers",
    "business_error",
    "business_error_class",
    "gateway_error",
    "http_status_error",
    "network_cause",
    "normalise_err_msg",
    "service_url",
    "status_hint",
    "transport_error",
]

_PREFIX = re.compile(
    r"^\s*(?P<system>[A-Za-z]{2,10})-(?:[A-Za-z_][\w]*\.){1,12}"
    r"(?P<cls>[A-Z][A-Za-z0-9]{0,60}(?:Exception|Error))\s*[:：]"
)
#: The generic lead-in the platform puts after its system prefix.
_LEAD_IN = re.compile(r"^请求失败\s*[,，]\s*错误原因\s*[:：]\s*")


def normalise_err_msg(err_msg: str) -> str:
    """``err_msg`` without surrounding blanks, the system prefix and the generic lead-in.

    ``MBS-cn.hsa.ais.common.exception.HygeiaException: 请求失败,错误原因：当前机构未签到``
    gives ``当前机构未签到``.
    """
    text = err_msg.strip()
    match = _PREFIX.match(text)
    if match:
        text = text[match.end() :].strip()
    return _LEAD_IN.sub("", text, count=1).strip()


@dataclass(frozen=True, slots=True)
class SessionAnswers:
    """The platform's exact "not signed in" answers (docs/protocol.md §6, session category).

    ``messages`` are compared with the normalised err_msg (:func:`normalise_err_msg`),
    ``infcodes`` with the infcode (as text); a match raises
    :class:`~medical_insurance_sdk.exceptions.SessionError`, which ``auto_sign_in``
    answers with a 9001 and one resend. Set a client's ``session_answers`` to the
    province's own texts or codes.
    """

    messages: frozenset[str] = frozenset()
    infcodes: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if isinstance(cast(object, self.messages), str) or isinstance(
            cast(object, self.infcodes), str
        ):
            raise ValueError("SessionAnswers takes collections of texts, not a single string")
        object.__setattr__(self, "messages", frozenset(normalise_err_msg(m) for m in self.messages))
        object.__setattr__(self, "infcodes", frozenset(str(c).strip() for c in self.infcodes))
        if "" in self.messages or "" in self.infcodes:
            raise ValueError("SessionAnswers: empty messages or infcodes would match anything")

    def matches(self, infcode: int | str, err_msg: str) -> bool:
        """True when the answer says the session is missing or expired."""
        return str(infcode).strip() in self.infcodes or normalise_err_msg(err_msg) in self.messages


#: The session answers known by default: the simulator's and the usual platform texts.
DEFAULT_SESSION_ANSWERS = SessionAnswers(
    messages=frozenset(
        {
            "当前机构未签到或签到已失效，请先签到[9001]",
            "当前机构未签到或签到已失效，请先签到",
            "当前机构未签到，请先签到",
            "未签到，请先签到",
            "签到已失效，请重新签到",
            "签到信息已失效，请重新签到",
        }
    )
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
    session_answers: SessionAnswers = DEFAULT_SESSION_ANSWERS,
) -> BusinessError:
    """Build the exception for an envelope with a non-zero infcode (err_msg gets masked)."""
    cls: type[BusinessError] = (
        SessionError if session_answers.matches(infcode, err_msg) else BusinessError
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
    except (ValueError, RecursionError):  # not the gateway's body (RecursionError: too deep)
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


def service_url(base_url: str, path: str) -> str:
    """The service URL without credentials, query or fragment (safe for messages)."""
    url = httpx.URL(base_url + path)
    return str(url.copy_with(username=None, password=None, query=None, fragment=None))


def status_hint(status_code: int, base_url: str, path: str) -> str:
    """What to check after a non-200 status: for a 404, the base_url and ``path=``."""
    if status_code != 404:
        return ""
    base_path = httpx.URL(base_url).path.rstrip("/")
    if base_path:
        return (
            f"：base_url 已包含路径 {base_path}，base_url 只应写 http(s)://主机:端口，"
            f"服务路径用 path= 指定（当前 path={path}）"
        )
    return f"：服务路径不存在，请用 path= 指定现场提供的路径（当前 path={path}）"


def http_status_error(
    status_code: int,
    body: bytes,
    *,
    api_code: str,
    msgid: str,
    trace_id: str | None = None,
    url: str = "",
    hint: str = "",
) -> MedicalInsuranceError:
    """Translate a non-200 answer: a gateway 401 body, or a plain HTTP status error.

    The status error names ``url`` (the address posted to, without credentials) and ends
    with ``hint`` (what to check), when given.
    """
    auth = gateway_error(status_code, body, api_code=api_code, msgid=msgid, trace_id=trace_id)
    if auth is not None:
        return auth
    return HTTPStatusError(
        f"HTTP {status_code}" + (f" ({url})" if url else "") + hint,
        status_code=status_code,
        api_code=api_code,
        msgid=msgid,
        trace_id=trace_id,
    )


#: What each cause is called in messages and logs (Chinese, the usual English words), and
#: what to check.
_CAUSE_TEXT: dict[NetworkCause, tuple[str, str]] = {
    NetworkCause.CONNECTION_REFUSED: (
        "连接被拒绝 (connection refused)",
        "检查地址、端口与前置机/网关服务是否在运行",
    ),
    NetworkCause.NAME_NOT_RESOLVED: ("域名无法解析 (name not resolved)", "检查主机名与 DNS"),
    NetworkCause.TLS_CERTIFICATE: (
        "TLS 证书校验失败 (certificate verify failed)",
        "检查服务端证书、CA 与主机名",
    ),
    NetworkCause.TLS: ("TLS 握手失败 (TLS error)", "检查 http/https 是否与服务端一致"),
    NetworkCause.CONNECT: ("无法建立连接 (connect failed)", "检查网络与专线"),
    NetworkCause.RESET: ("连接被重置 (connection reset)", ""),
    NetworkCause.PROTOCOL: ("连接在应答完成前中断 (connection closed early)", ""),
}
_DNS_WORDS = ("name or service not known", "nodename nor servname", "name resolution")


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc``, its causes and contexts, and exceptions wrapped in their ``args``."""
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        current = todo.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        todo += [arg for arg in current.args if isinstance(arg, BaseException)]
        todo += [link for link in (current.__cause__, current.__context__) if link is not None]


def network_cause(exc: httpx.TransportError) -> NetworkCause:
    """What broke: read from the exception chain (the OS error under httpx's error).

    Connect-phase errors (nothing sent) give refused, name not resolved, TLS or connect;
    errors after sending give reset or protocol.
    """
    chain = list(_chain(exc))
    text = " ".join(str(item) for item in chain).lower()
    if not isinstance(exc, httpx.ConnectError | httpx.UnsupportedProtocol | httpx.ProxyError):
        if any(isinstance(item, ConnectionResetError | BrokenPipeError) for item in chain):
            return NetworkCause.RESET
        return NetworkCause.RESET if "reset" in text else NetworkCause.PROTOCOL
    for item in chain:
        if isinstance(item, ssl.SSLCertVerificationError):
            return NetworkCause.TLS_CERTIFICATE
        if isinstance(item, ssl.SSLError):
            return NetworkCause.TLS
        if isinstance(item, socket.gaierror):
            return NetworkCause.NAME_NOT_RESOLVED
        if isinstance(item, ConnectionRefusedError) or (
            isinstance(item, OSError) and item.errno == errno.ECONNREFUSED
        ):
            return NetworkCause.CONNECTION_REFUSED
    if "certificate" in text:
        return NetworkCause.TLS_CERTIFICATE
    if "ssl" in text or "tls" in text:
        return NetworkCause.TLS
    if any(word in text for word in _DNS_WORDS):
        return NetworkCause.NAME_NOT_RESOLVED
    if "refused" in text:
        return NetworkCause.CONNECTION_REFUSED
    return NetworkCause.CONNECT


def transport_error(
    exc: httpx.TransportError,
    *,
    api_code: str,
    msgid: str,
    trace_id: str | None = None,
    url: str = "",
) -> NetworkError:
    """Translate an httpx transport error into the SDK's, naming its cause and ``url``.

    Connect and pool failures mean nothing was sent; a timeout or a connection broken
    after that may have left the platform's state changed. Whether that makes a call's
    outcome unknown is decided by :mod:`.outcomes` when the call fails.
    """
    detail = type(exc).__name__
    where = f" {url}" if url else ""
    common: dict[str, Any] = {"api_code": api_code, "msgid": msgid, "trace_id": trace_id}
    if isinstance(exc, httpx.ConnectTimeout):
        return ConnectTimeoutError(f"连接超时{where} ({detail})", phase="connect", **common)
    if isinstance(exc, httpx.PoolTimeout):
        return ConnectTimeoutError(f"连接池等待超时 ({detail})", phase="pool", **common)
    if isinstance(exc, httpx.TimeoutException):
        phase = "write" if isinstance(exc, httpx.WriteTimeout) else "read"
        what = "发送请求超时" if phase == "write" else "读取响应超时"
        return ReadTimeoutError(f"{what}{where} ({detail})", phase=phase, **common)
    cause = network_cause(exc)
    what, advice = _CAUSE_TEXT[cause]
    text = f"{what}:{where}" + (f"；{advice}" if advice else "") + f" ({detail})"
    return NetworkError(text, cause=cause, **common)
