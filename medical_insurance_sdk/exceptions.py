"""Typed exceptions raised by the SDK clients.

Every exception carries a stable, low-cardinality :attr:`~MedicalInsuranceError.error_code`
that the monitoring system uses as a metric label, plus the ``api_code`` (infno) and the
``msgid`` of the call when known. Exception text never contains personal data and is
bounded: every message (the platform's ``err_msg`` included) is masked, then cut to
:data:`~medical_insurance_sdk.redaction.MAX_MESSAGE_CHARS` characters with a
``…(已截断，原长 N 字符)`` marker, by :func:`medical_insurance_sdk.redaction.mask_text`
before it is stored.

The hierarchy (error codes in brackets)::

    MedicalInsuranceError                 [SDK_ERROR]
    ├── ValidationError                   [VALIDATION]        bad input, caught before sending
    ├── NetworkError                      [NETWORK]           DNS, refused, reset, TLS: .cause
    │   └── RequestTimeoutError           [TIMEOUT]           .phase
    │       ├── ConnectTimeoutError       [TIMEOUT_CONNECT]   not sent: safe to retry
    │       ├── ReadTimeoutError          [TIMEOUT_READ]      sent: outcome unknown on W$
    │       └── DeadlineExceededError     [TIMEOUT_DEADLINE]  the call's overall deadline
    ├── HTTPStatusError                   [HTTP_STATUS]       non-200 status, .status_code
    ├── GatewayAuthError                  [GATEWAY_AUTH]      401 from the gateway, .reason
    │   ├── GatewayHeadersMissingError    [GATEWAY_AUTH_HEADERS]
    │   ├── GatewayClockSkewError         [GATEWAY_AUTH_CLOCK_SKEW]
    │   ├── GatewayUnknownKeyError        [GATEWAY_AUTH_UNKNOWN_KEY]
    │   └── GatewaySignatureError         [GATEWAY_AUTH_SIGNATURE]
    ├── ResponseParseError                [PARSE]             not JSON, infcode missing, bad shape
    │   └── ResponseTooLargeError         [RESPONSE_TOO_LARGE]
    └── BusinessError                     [BIZ_<class> | INFCODE_<n>]  infcode != 0
        └── SessionError                  [SESSION]           not signed in (9001)

Each class has one error code, with one documented exception: :class:`BusinessError`
derives its code from the platform's answer, either the exception class named by the
``err_msg`` prefix (``MBS-cn.hsa.ais.common.exception.HygeiaException: …`` gives
``BIZ_MBS_HygeiaException``) or the infcode (``INFCODE_-1``). Both come from a bounded,
sanitised alphabet; the free text is never used.

``outcome_unknown`` (on every error, False by default) is True when a W$ transaction (one
that moves money) may have reached the platform and the answer does not prove it was
refused: the caller must not resend it, and recovers with 2601 冲正
(:meth:`MedicalInsuranceClient.reverse`) or 3201/3202 reconciliation. The client decides it
in one place, :mod:`medical_insurance_sdk.client.outcomes`.
"""

from __future__ import annotations

import enum

from medical_insurance_sdk.redaction import mask_text

__all__ = [
    "BusinessError",
    "ConnectTimeoutError",
    "DeadlineExceededError",
    "GatewayAuthError",
    "GatewayAuthReason",
    "GatewayClockSkewError",
    "GatewayHeadersMissingError",
    "GatewaySignatureError",
    "GatewayUnknownKeyError",
    "HTTPStatusError",
    "MedicalInsuranceError",
    "NetworkCause",
    "NetworkError",
    "ReadTimeoutError",
    "RequestTimeoutError",
    "ResponseParseError",
    "ResponseTooLargeError",
    "SessionError",
    "ValidationError",
]


class MedicalInsuranceError(Exception):
    """Base class of every error raised by the SDK.

    ``message`` is masked and bounded on construction, so ``str(exc)`` is safe to log and
    export.
    """

    #: The stable code used as the ``error_code`` metric label.
    code: str = "SDK_ERROR"
    #: True when a W$ call may have been processed and nothing proves it was refused:
    #: never resend it; reverse (2601) or reconcile. Set by the client when the call fails.
    outcome_unknown: bool = False

    def __init__(
        self,
        message: str,
        *,
        api_code: str | None = None,
        msgid: str | None = None,
        trace_id: str | None = None,
    ) -> None:
        self.message = mask_text(message)
        self.api_code = api_code
        self.msgid = msgid
        self.trace_id = trace_id
        super().__init__(self.message)

    @property
    def error_code(self) -> str:
        """The stable error code of this error (a metric label value)."""
        return self.code

    def __str__(self) -> str:
        where = " ".join(
            part
            for part in (
                f"infno={self.api_code}" if self.api_code else "",
                f"msgid={self.msgid}" if self.msgid else "",
            )
            if part
        )
        return f"[{self.error_code}] {self.message}" + (f" ({where})" if where else "")

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.message!r}, error_code={self.error_code!r}, "
            f"api_code={self.api_code!r}, msgid={self.msgid!r})"
        )


class ValidationError(MedicalInsuranceError):
    """Input rejected before sending: a required field, a length, a code value or a format."""

    code = "VALIDATION"

    def __init__(self, message: str, *, field: str | None = None, **kwargs: str | None) -> None:
        super().__init__(message, **kwargs)
        self.field = field


class NetworkCause(str, enum.Enum):
    """What broke at the network level (``NetworkError.cause``)."""

    CONNECTION_REFUSED = "connection_refused"
    NAME_NOT_RESOLVED = "name_not_resolved"
    TLS_CERTIFICATE = "tls_certificate"
    TLS = "tls"
    CONNECT = "connect"  # any other failure to connect: nothing was sent
    RESET = "reset"  # the connection broke after the request went out
    PROTOCOL = "protocol"  # the peer broke HTTP (closed early, bad framing) after sending
    TIMEOUT = "timeout"

    @property
    def sent(self) -> bool:
        """True when the request may have reached the peer."""
        return self in (NetworkCause.RESET, NetworkCause.PROTOCOL)


class NetworkError(MedicalInsuranceError):
    """The request failed at the network level (refused, reset, DNS, TLS): ``cause``.

    ``outcome_unknown`` is True when a W$ request may have been delivered (the connection
    broke after sending): do not resend it.
    """

    code = "NETWORK"

    def __init__(
        self,
        message: str,
        *,
        outcome_unknown: bool = False,
        cause: NetworkCause = NetworkCause.CONNECT,
        **kwargs: str | None,
    ) -> None:
        super().__init__(message, **kwargs)
        self.outcome_unknown = outcome_unknown
        self.cause = cause


class RequestTimeoutError(NetworkError):
    """The request timed out; ``phase`` is ``connect``, ``pool``, ``write`` or ``read``."""

    code = "TIMEOUT"

    def __init__(
        self,
        message: str,
        *,
        phase: str = "read",
        outcome_unknown: bool = False,
        **kwargs: str | None,
    ) -> None:
        super().__init__(
            message, outcome_unknown=outcome_unknown, cause=NetworkCause.TIMEOUT, **kwargs
        )
        self.phase = phase


class ConnectTimeoutError(RequestTimeoutError):
    """No connection (or no pooled connection) in time: the request was not sent."""

    code = "TIMEOUT_CONNECT"


class ReadTimeoutError(RequestTimeoutError):
    """Sent, but no complete answer in time: the platform's state is unknown."""

    code = "TIMEOUT_READ"


class DeadlineExceededError(RequestTimeoutError):
    """The call's overall ``deadline`` passed; ``phase`` says where (``connect``, ``pool``:
    not sent; ``write``, ``read``: sent, so the outcome of a W$ call is unknown)."""

    code = "TIMEOUT_DEADLINE"

    @property
    def sent(self) -> bool:
        """True when the request may have reached the platform."""
        return self.phase not in ("connect", "pool")


class HTTPStatusError(MedicalInsuranceError):
    """The platform or a proxy answered with a status other than 200."""

    code = "HTTP_STATUS"

    def __init__(self, message: str, *, status_code: int, **kwargs: str | None) -> None:
        super().__init__(message, **kwargs)
        self.status_code = status_code


class GatewayAuthReason(str, enum.Enum):
    """Why the gateway rejected the request (docs/protocol.md §3)."""

    HEADERS_MISSING = "headers_missing"
    CLOCK_SKEW = "clock_skew"
    UNKNOWN_KEY = "unknown_key"
    BAD_SIGNATURE = "bad_signature"
    OTHER = "other"


class GatewayAuthError(MedicalInsuranceError):
    """The gateway refused the credentials (HTTP 401); not retried: fix config or clock."""

    code = "GATEWAY_AUTH"
    reason: GatewayAuthReason = GatewayAuthReason.OTHER

    def __init__(self, message: str, *, status_code: int = 401, **kwargs: str | None) -> None:
        super().__init__(message, **kwargs)
        self.status_code = status_code


class GatewayHeadersMissingError(GatewayAuthError):
    """``缺少服务网关的请求头!``: the gateway headers are missing."""

    code = "GATEWAY_AUTH_HEADERS"
    reason = GatewayAuthReason.HEADERS_MISSING


class GatewayClockSkewError(GatewayAuthError):
    """``签名时间戳超时!``: the timestamp is outside the gateway's window (clock skew)."""

    code = "GATEWAY_AUTH_CLOCK_SKEW"
    reason = GatewayAuthReason.CLOCK_SKEW


class GatewayUnknownKeyError(GatewayAuthError):
    """``非法用户!``: the access key is unknown to the gateway."""

    code = "GATEWAY_AUTH_UNKNOWN_KEY"
    reason = GatewayAuthReason.UNKNOWN_KEY


class GatewaySignatureError(GatewayAuthError):
    """``签名不一致!``: the signature does not match (wrong secret key)."""

    code = "GATEWAY_AUTH_SIGNATURE"
    reason = GatewayAuthReason.BAD_SIGNATURE


class ResponseParseError(MedicalInsuranceError):
    """The answer is not a valid response envelope (not JSON, infcode missing, bad shape)."""

    code = "PARSE"


class ResponseTooLargeError(ResponseParseError):
    """The response body exceeds the client's configured size limit."""

    code = "RESPONSE_TOO_LARGE"

    def __init__(self, message: str, *, limit: int, **kwargs: str | None) -> None:
        super().__init__(message, **kwargs)
        self.limit = limit


class BusinessError(MedicalInsuranceError):
    """The platform answered with a non-zero infcode.

    ``err_msg`` is the platform's text, masked and bounded (the same text as ``message``).
    ``error_class`` is the stable token the error code is built from (see the module
    docstring).
    """

    code = "BUSINESS"

    def __init__(
        self,
        err_msg: str,
        *,
        infcode: int | str,
        error_class: str,
        **kwargs: str | None,
    ) -> None:
        super().__init__(err_msg, **kwargs)
        self.infcode = infcode
        self.err_msg = self.message
        self.error_class = error_class

    @property
    def error_code(self) -> str:
        """``BIZ_<class>`` or ``INFCODE_<n>``, from a bounded alphabet."""
        return self.error_class


class SessionError(BusinessError):
    """The platform says the institution is not signed in (9001); sign in again."""

    code = "SESSION"

    @property
    def error_code(self) -> str:
        """Always ``SESSION``: the category matters, not the platform's wording."""
        return self.code
