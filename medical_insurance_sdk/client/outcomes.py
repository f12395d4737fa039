"""What a failed call means for the platform's state: the one table the client decides by.

A W$ call (catalog kind ``W$``: 2102, 2103, 2207, 2208, 2304, 2305, 2601 …) whose request
may have reached the platform, and whose answer does not prove that the platform refused
it, has an **unknown outcome**: the money may have moved. Such a call is never resent; the
client raises with ``exc.outcome_unknown = True``, logs ``OUTCOME UNKNOWN`` at ERROR and
counts ``medical_insurance_api_outcome_unknown_total``, and the caller reverses it (2601
冲正 with the original msgid) or reconciles (3201/3202).

Only four things prove that the platform did not process a call: the request was never
written (connect refused, name not resolved, TLS handshake failure, connect or pool
timeout, the deadline passing before sending), the gateway's own 401 refusal body, a
parsed response envelope with infcode ≠ 0 (a business refusal, or the session answer), and
the client's own validation. Everything else that goes wrong after sending is unknown:
any 5xx (the platform or a proxy in front of it may have forwarded the request), any other
non-200 without the gateway's refusal body (a 404 or 429 page of a proxy says nothing
about what the platform behind it did), a 200 whose body is not a readable envelope
(truncated, HTML, a JSON list, nested too deep, no infcode, an output that cannot be
decrypted), a body above the size limit, a connection reset or a read timeout, and the
call's deadline passing after sending.

:data:`RULES` is that table (also the retry column for R calls, read by
:class:`~medical_insurance_sdk.client.retry.RetryPolicy`); :func:`classify` maps an
exception to its row. The README's "Retries and unknown outcomes" shows the same table.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from medical_insurance_sdk.client.errors import normalise_err_msg
from medical_insurance_sdk.exceptions import (
    BusinessError,
    ConnectTimeoutError,
    DeadlineExceededError,
    GatewayAuthError,
    HTTPStatusError,
    MedicalInsuranceError,
    NetworkError,
    RequestTimeoutError,
    ResponseParseError,
    ResponseTooLargeError,
    ValidationError,
)
from medical_insurance_sdk.protocol.catalog import Kind

__all__ = [
    "NOTHING_REVERSED",
    "RULES",
    "Failure",
    "ReversalResult",
    "Rule",
    "classify",
    "is_nothing_to_reverse",
    "mark_outcome",
    "outcome_unknown",
]


class Failure(str, enum.Enum):
    """The failure classes of the table (one row each)."""

    VALIDATION = "validation"  # caught before sending
    NOT_SENT = "not_sent"  # refused, DNS, TLS handshake, connect/pool timeout
    DEADLINE_NOT_SENT = "deadline_not_sent"  # the deadline passed before sending
    GATEWAY_REFUSED = "gateway_refused"  # the gateway's 401 refusal body
    BUSINESS = "business"  # a parsed envelope with infcode != 0 (session included)
    HTTP_5XX = "http_5xx"  # 500..599 from the platform or a proxy
    HTTP_OTHER = "http_other"  # any other non-200 without the gateway's refusal body
    UNPARSABLE = "unparsable"  # a 200 that is not an envelope
    TOO_LARGE = "too_large"  # a body above the size limit
    BROKEN = "broken"  # reset or closed after the request was written
    TIMEOUT = "timeout"  # read or write timeout
    DEADLINE = "deadline"  # the deadline passed after sending
    OTHER = "other"  # anything else after sending: a local failure, a bug, a cancellation


@dataclass(frozen=True, slots=True)
class Rule:
    """What one failure class means."""

    #: An R call is attempted again (within ``max_attempts`` and the deadline).
    retried: bool
    #: A W$ call's outcome is unknown: not resent, counted, logged, reversed by the caller.
    unknown: bool


#: Failure class -> (R retried?, W$ outcome unknown?). W and W$ calls are never retried.
RULES: Mapping[Failure, Rule] = MappingProxyType(
    {
        Failure.VALIDATION: Rule(retried=False, unknown=False),
        Failure.NOT_SENT: Rule(retried=True, unknown=False),
        Failure.DEADLINE_NOT_SENT: Rule(retried=False, unknown=False),
        Failure.GATEWAY_REFUSED: Rule(retried=False, unknown=False),
        Failure.BUSINESS: Rule(retried=False, unknown=False),
        Failure.HTTP_5XX: Rule(retried=True, unknown=True),
        Failure.HTTP_OTHER: Rule(retried=False, unknown=True),
        Failure.UNPARSABLE: Rule(retried=False, unknown=True),
        Failure.TOO_LARGE: Rule(retried=False, unknown=True),
        Failure.BROKEN: Rule(retried=True, unknown=True),
        Failure.TIMEOUT: Rule(retried=True, unknown=True),
        Failure.DEADLINE: Rule(retried=False, unknown=True),
        Failure.OTHER: Rule(retried=False, unknown=True),
    }
)


def classify(error: BaseException) -> Failure:
    """The row of :data:`RULES` for an exception that ended an attempt (or a call)."""
    if isinstance(error, ValidationError):
        return Failure.VALIDATION
    if isinstance(error, DeadlineExceededError):
        return Failure.DEADLINE if error.sent else Failure.DEADLINE_NOT_SENT
    if isinstance(error, ConnectTimeoutError):
        return Failure.NOT_SENT
    if isinstance(error, RequestTimeoutError):
        return Failure.TIMEOUT
    if isinstance(error, NetworkError):
        return Failure.BROKEN if error.cause.sent else Failure.NOT_SENT
    if isinstance(error, GatewayAuthError):
        return Failure.GATEWAY_REFUSED
    if isinstance(error, HTTPStatusError):
        return Failure.HTTP_5XX if 500 <= error.status_code < 600 else Failure.HTTP_OTHER
    if isinstance(error, ResponseTooLargeError):
        return Failure.TOO_LARGE
    if isinstance(error, ResponseParseError):
        return Failure.UNPARSABLE
    if isinstance(error, BusinessError):
        return Failure.BUSINESS
    return Failure.OTHER


def outcome_unknown(kind: Kind, error: BaseException) -> bool:
    """True when ``error`` leaves a call of ``kind`` with an unknown outcome."""
    return kind is Kind.WRITE_MONEY and RULES[classify(error)].unknown


def mark_outcome(error: MedicalInsuranceError, kind: Kind) -> bool:
    """Set ``error.outcome_unknown`` for a failed call of ``kind``; return it.

    An unknown outcome also says so in the (already masked) message.
    """
    unknown = outcome_unknown(kind, error)
    if unknown and not error.outcome_unknown:
        error.message += "，交易结果未知"
        error.args = (error.message,)
    error.outcome_unknown = unknown
    return unknown


#: The output a client's 2601 exchange gives when there was nothing to reverse (compared
#: by identity, never returned to callers).
NOTHING_REVERSED: dict[str, Any] = {}

#: 2601's answer when the original transaction is not on the platform: nothing to reverse
#: (the simulator's ``原交易[omsgid=…]不存在，无需冲正``), after :func:`normalise_err_msg`.
_NOTHING_TO_REVERSE = re.compile(r"^原交易(?:\[[^\]]*\])?不存在[,，;；]?\s*无需冲正[。.]?$")


def is_nothing_to_reverse(error: BaseException) -> bool:
    """True when a 2601 failed only because there is nothing to reverse."""
    if not isinstance(error, BusinessError):
        return False
    return _NOTHING_TO_REVERSE.match(normalise_err_msg(error.err_msg)) is not None


@dataclass(frozen=True, slots=True)
class ReversalResult:
    """What :meth:`MedicalInsuranceClient.reverse` (2601 冲正) did.

    ``reversed`` is False when the platform answered that the original transaction does
    not exist (``原交易不存在，无需冲正``): it never took effect, so nothing was left to
    reverse, and the reversal is complete all the same (recorded as a success).
    """

    omsgid: str
    oinfno: str
    reversed: bool
    #: 2601's output (empty when there was nothing to reverse).
    output: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, omsgid: str, oinfno: str, output: dict[str, Any]) -> ReversalResult:
        """The result of a client's 2601 exchange (:data:`NOTHING_REVERSED` or an output)."""
        if output is NOTHING_REVERSED:
            return cls(omsgid, oinfno, reversed=False)
        return cls(omsgid, oinfno, reversed=True, output=output)
