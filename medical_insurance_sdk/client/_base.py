"""The network-free part of both clients: configuration, request preparation, outcomes.

:class:`MedicalInsuranceClient` and :class:`AsyncMedicalInsuranceClient` differ only in how
they send bytes and wait; everything else (validation, envelope, signing, tracing, cache,
monitoring, logging, error translation) lives here, once; the file side of 9101/9102 is
one layer up, in :mod:`._file_base`.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx

from medical_insurance_sdk.client.auth import (
    DEFAULT_ACCESS_KEY,
    DEFAULT_API_VERSION,
    DEFAULT_SECRET_KEY,
    ApiSignatureAuth,
    GatewayAuth,
)
from medical_insurance_sdk.client.cache import ResponseCache
from medical_insurance_sdk.client.catalog import Category, Interface, Kind, find_interface
from medical_insurance_sdk.client.envelope import (
    ENVELOPE_FIELDS,
    MAX_INPUT_CHARS,
    EnvelopeDefaults,
    build_envelope,
    encode_envelope,
    next_msgid,
)
from medical_insurance_sdk.client.envelope_security import EnvelopeSecurity
from medical_insurance_sdk.client.errors import (
    DEFAULT_SESSION_MARKERS,
    http_status_error,
    transport_error,
)
from medical_insurance_sdk.client.files import DEFAULT_MAX_DOWNLOAD_BYTES, DEFAULT_MAX_UPLOAD_BYTES
from medical_insurance_sdk.client.monitoring import CallMonitor, GuardedMonitor, describe_error
from medical_insurance_sdk.client.response import parse_response
from medical_insurance_sdk.client.retry import RetryPolicy
from medical_insurance_sdk.client.timeouts import Timeouts
from medical_insurance_sdk.client.tracing import CallTrace, Tracer
from medical_insurance_sdk.client.validation import validate_input
from medical_insurance_sdk.exceptions import (
    MedicalInsuranceError,
    NetworkError,
    ResponseParseError,
    ResponseTooLargeError,
    ValidationError,
)

# Only for annotations: `import medical_insurance_sdk` must not load numpy (the store).
if TYPE_CHECKING:
    from medical_insurance_sdk.core.channel import CallChannel

__all__ = ["DEFAULT_LIMITS", "DEFAULT_PATH", "CallState", "ClientBase"]

logger = logging.getLogger("medical_insurance_sdk.client")

#: Connection pool of both clients. A client talks to one host (the platform's gateway),
#: so every pooled connection is kept alive: with httpx's default of 20 kept out of 100,
#: each burst above 20 concurrent calls closed and reopened connections, and throughput
#: fell from ~660 to ~200 calls/s at 200 concurrent tasks (the README's Reliability section).
DEFAULT_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=100)

#: The usual service path of the platform's single endpoint (protocol.md §3).
DEFAULT_PATH = "/fsi/api/rsfComIfsService/callService"
#: Default limit on a response body (bytes).
DEFAULT_MAX_RESPONSE_BYTES = 8 * 1024 * 1024
_SIGN_IN, _SIGN_OUT = "9001", "9002"


def _input_chars(input_data: Any) -> int:
    return len(json.dumps(input_data, ensure_ascii=False, separators=(",", ":")))


@dataclass(slots=True)
class CallState:
    """Everything about one call in progress (one msgid, possibly several attempts)."""

    interface: Interface
    msgid: str
    body: bytes
    timeout: httpx.Timeout
    trace: CallTrace
    started: float
    tracked: int | None = None  # the collector's call id (through ``monitor``)
    monitor: GuardedMonitor | None = None  # the monitor the call started on, if any
    channel: CallChannel | None = None  # the channel recording it (from start_ns), if any
    start_ns: int = 0
    request_size: int = 0  # bytes sent: the envelope's, or a 9101 upload's multipart body
    response_size: int = 0
    attempt: int = 0
    ended: bool = False  # recorded and its span ended (exactly once, on every path)


class ClientBase:
    """Configuration and protocol logic shared by the sync and async clients."""

    def __init__(
        self,
        base_url: str,
        org_code: str,
        *,
        org_name: str | None = None,
        access_key: str = DEFAULT_ACCESS_KEY,
        secret_key: str = DEFAULT_SECRET_KEY,
        api_version: str = DEFAULT_API_VERSION,
        auth: GatewayAuth | None = None,
        region: str = "430299",
        insured_region: str = "",
        recer_sys_code: str = "MBS_LOCAL",
        infver: str = "V1.0",
        operator: str = "SDK001",
        operator_name: str = "SDK",
        operator_type: str = "1",
        path: str = DEFAULT_PATH,
        collector: CallMonitor | None = None,
        monitoring: bool = True,
        timeout: float | Timeouts | None = None,
        retries: int | RetryPolicy = 2,
        cache: bool | ResponseCache = True,
        tracing: bool | None = None,
        tracer_provider: Any = None,
        validate: bool = True,
        auto_sign_in: bool = False,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES,
        max_download_bytes: int = DEFAULT_MAX_DOWNLOAD_BYTES,
        content_type: str = "text/plain; charset=utf-8",
        interfaces: Mapping[str, Interface] | None = None,
        mac: str = "00-00-00-00-00-00",
        ip: str = "127.0.0.1",
        security: EnvelopeSecurity | None = None,
    ) -> None:
        if not base_url:
            raise ValueError("base_url must not be empty")
        if max_response_bytes < 1:
            raise ValueError("max_response_bytes must be positive")
        if max_upload_bytes < 1 or max_download_bytes < 1:
            raise ValueError("max_upload_bytes and max_download_bytes must be positive")
        self.base_url = base_url.rstrip("/")
        self.org_code = org_code
        self.path = path
        self.defaults = EnvelopeDefaults(
            fixmedins_code=org_code,
            fixmedins_name=org_name or org_code,
            mdtrtarea_admvs=region,
            insuplc_admdvs=insured_region,
            recer_sys_code=recer_sys_code,
            infver=infver,
            opter_type=operator_type,
            opter=operator,
            opter_name=operator_name,
        )
        self.auth: GatewayAuth = auth or ApiSignatureAuth(access_key, secret_key, api_version)
        if isinstance(timeout, Timeouts):
            self.timeouts = timeout
        elif timeout is None:
            self.timeouts = Timeouts()
        else:
            self.timeouts = Timeouts.uniform(float(timeout))
        self.retry = retries if isinstance(retries, RetryPolicy) else RetryPolicy(retries + 1)
        if cache is True:
            self.cache: ResponseCache | None = ResponseCache()
        elif cache is False:
            self.cache = None
        else:
            self.cache = cache
        self.tracer = Tracer(tracing, tracer_provider)
        self.validate = validate
        self.auto_sign_in = auto_sign_in
        self.max_response_bytes = max_response_bytes
        self.max_upload_bytes = max_upload_bytes
        self.max_download_bytes = max_download_bytes
        self.content_type = content_type
        #: SM4 encryption and SM2 signing of the envelope, where the province asks for them.
        self.security = security
        self._interfaces = dict(interfaces or {})
        self._sign_in_input = {"signIn": {"opter_no": operator, "mac": mac, "ip": ip}}
        self._sign_no: str | None = None
        self._monitor: GuardedMonitor | None = None
        self._channel: CallChannel | None = None
        if monitoring:
            if collector is None:
                from medical_insurance_sdk.core import get_metrics_collector

                self.monitor = GuardedMonitor(get_metrics_collector())
            else:
                self.monitor = GuardedMonitor(collector)

    @property
    def monitor(self) -> GuardedMonitor | None:
        """The client's monitoring (None when off). Replaceable: calls started keep theirs."""
        return self._monitor

    @monitor.setter
    def monitor(self, monitor: GuardedMonitor | None) -> None:
        self._monitor = monitor
        self._channel = monitor.channel if monitor is not None else None

    # -- catalog and session -------------------------------------------------------------

    def interface(self, api_code: str) -> Interface:
        """The catalog entry used for ``api_code``; unknown codes are treated as W (no retry)."""
        entry = self._interfaces.get(api_code) or find_interface(api_code)
        if entry is None:
            entry = Interface(api_code, api_code, "unknown interface", Category.OTHER, Kind.WRITE)
        return entry

    @property
    def signed_in(self) -> bool:
        """True once a 9001 sign-in succeeded (its sign_no is reused by every call)."""
        return self._sign_no is not None

    def _needs_sign_in(self, api_code: str) -> bool:
        return self.auto_sign_in and self._sign_no is None and api_code not in (_SIGN_IN, _SIGN_OUT)

    def _store_sign_no(self, output: Mapping[str, Any]) -> str:
        node = output.get("signinoutb")
        sign_no = node.get("sign_no") if isinstance(node, Mapping) else None
        if not sign_no:
            raise ResponseParseError("签到响应缺少 sign_no", api_code=_SIGN_IN)
        self._sign_no = str(sign_no)
        return self._sign_no

    def _sign_out_input(self) -> dict[str, Any]:
        return {"signOut": {"sign_no": self._sign_no or "", "opter_no": self.defaults.opter}}

    # -- cache ---------------------------------------------------------------------------

    def _cache_key(
        self, interface: Interface, input_data: Any, overrides: Mapping[str, Any], use_cache: bool
    ) -> str | None:
        if self.cache is None or not use_cache or not interface.cacheable:
            return None
        return self.cache.key(self.org_code, interface.code, input_data, overrides)

    def _cache_get(self, key: str) -> dict[str, Any] | None:
        assert self.cache is not None
        hit = self.cache.get(key)
        if self._monitor is not None:
            self._monitor.cache_ratio(self.cache.stats().hit_ratio)
        return hit

    def _cache_put(self, key: str | None, interface: Interface, output: dict[str, Any]) -> None:
        if key is not None and self.cache is not None:
            self.cache.put(key, output, personal=interface.personal)

    # -- one call ------------------------------------------------------------------------

    def _begin(
        self, interface: Interface, input_data: Any, overrides: Mapping[str, Any]
    ) -> CallState:
        """Prepare a call: msgid, trace, validation, envelope; opens monitoring.

        A validation failure is recorded (error_code VALIDATION) and raised.
        """
        msgid = next_msgid(self.org_code)
        trace = self.tracer.start(interface.code, self.org_code, msgid)
        state = CallState(
            interface=interface,
            msgid=msgid,
            body=b"",
            timeout=self.timeouts.for_category(interface.category),
            trace=trace,
            started=time.perf_counter(),
        )
        try:
            state.body = self._encode(interface, msgid, input_data, overrides)
            state.request_size = len(state.body)
        except ValidationError as exc:
            exc.trace_id = trace.trace_id
            self._open_monitor(state)
            self._fail(state, exc)
            raise
        except Exception as exc:  # input that cannot be encoded (not JSON, sealing failed)
            error = ValidationError(
                f"交易输入无法编码 ({type(exc).__name__})",
                field="input",
                api_code=interface.code,
                msgid=msgid,
                trace_id=trace.trace_id,
            )
            self._open_monitor(state)
            self._fail(state, error)
            raise error from exc
        self._open_monitor(state)
        return state

    def _open_monitor(self, state: CallState) -> None:
        """Start recording the call on the current monitor; the call keeps it to its end."""
        monitor = state.monitor = self._monitor
        channel = self._channel
        if channel is not None:  # the frame-free path: see core/channel.py
            state.start_ns = channel.clock()
            channel.enter(None)
            state.channel = channel  # only once counted in flight
        elif monitor is not None:
            code, trace_id = state.interface.code, state.trace.trace_id
            state.tracked = monitor.start(code, self.org_code, state.request_size, trace_id, "http")

    def _encode(
        self, interface: Interface, msgid: str, input_data: Any, overrides: Mapping[str, Any]
    ) -> bytes:
        where = {"api_code": interface.code, "msgid": msgid}
        if not isinstance(input_data, Mapping):
            raise ValidationError("交易输入[input]必须为JSON对象", field="input", **where)
        for name, value in overrides.items():
            limit = ENVELOPE_FIELDS.get(name)
            if limit is None or name in ("infno", "msgid"):
                raise ValidationError(f"不支持的报文字段[{name}]", field=name, **where)
            if len(str(value)) > limit:
                raise ValidationError(f"报文字段[{name}]长度不能超过{limit}", field=name, **where)
        if self.validate:
            problems = validate_input(interface.code, input_data)
            if problems:
                first = problems[0]
                raise ValidationError(first.message, field=first.field, **where)
        envelope = build_envelope(
            self.defaults,
            interface.code,
            msgid,
            input_data,
            sign_no=self._sign_no or "",
            overrides=overrides,
        )
        if self.security is not None:
            sealed = self.security.seal(input_data)
            envelope.update(sealed)
            if isinstance(sealed["input"], str) and len(sealed["input"]) > MAX_INPUT_CHARS:
                raise ValidationError(  # the ciphertext is what the platform measures
                    f"加密后的交易输入[input]长度不能超过{MAX_INPUT_CHARS}", field="input", **where
                )
        body = encode_envelope(envelope)
        if len(body) > MAX_INPUT_CHARS and _input_chars(input_data) > MAX_INPUT_CHARS:
            raise ValidationError(
                f"交易输入[input]长度不能超过{MAX_INPUT_CHARS}", field="input", **where
            )
        return body

    def _headers(self, state: CallState) -> dict[str, str]:
        headers = self.auth.headers(state.interface.code)
        headers["Content-Type"] = self.content_type
        headers["traceparent"] = state.trace.traceparent
        return headers

    def _check_length(self, state: CallState, declared: str | None) -> None:
        if declared is not None and declared.isdigit() and int(declared) > self.max_response_bytes:
            raise self._too_large(state)

    def _too_large(self, state: CallState) -> ResponseTooLargeError:
        return ResponseTooLargeError(
            f"响应超过大小上限 {self.max_response_bytes} 字节",
            limit=self.max_response_bytes,
            api_code=state.interface.code,
            msgid=state.msgid,
            trace_id=state.trace.trace_id,
        )

    def _translate(self, state: CallState, exc: httpx.HTTPError) -> MedicalInsuranceError:
        where = {
            "api_code": state.interface.code,
            "msgid": state.msgid,
            "trace_id": state.trace.trace_id,
        }
        if isinstance(exc, httpx.TransportError):
            return transport_error(exc, kind=state.interface.kind, **where)
        return ResponseParseError(f"响应解码失败 ({type(exc).__name__})", **where)

    def _outcome(self, state: CallState, status_code: int, body: bytes) -> dict[str, Any]:
        """Turn an HTTP answer into the output dict, or raise the matching error."""
        state.response_size = len(body)
        where = {
            "api_code": state.interface.code,
            "msgid": state.msgid,
            "trace_id": state.trace.trace_id,
        }
        if status_code != 200:
            raise http_status_error(status_code, body, **where)
        response = parse_response(
            body,
            list_fields=state.interface.list_fields,
            session_markers=DEFAULT_SESSION_MARKERS,
            open_output=None if self.security is None else self.security.open_output,
            **where,
        )
        return response.output

    def _should_retry(self, state: CallState, error: MedicalInsuranceError) -> float | None:
        """Seconds to wait before the next attempt, or None when the error is final."""
        if not self.retry.should_retry(state.interface.kind, error, state.attempt):
            return None
        delay = self.retry.delay(state.attempt)
        logger.info(
            "retrying infno=%s msgid=%s trace_id=%s after %s (attempt %d/%d, wait %.3fs)",
            state.interface.code,
            state.msgid,
            state.trace.trace_id,
            error.error_code,
            state.attempt,
            self.retry.max_attempts,
            delay,
            extra=self._extra(state, error.error_code),
        )
        return delay

    def _extra(self, state: CallState, error_code: str | None) -> dict[str, Any]:
        return {
            "api_code": state.interface.code,
            "org_code": self.org_code,
            "msgid": state.msgid,
            "trace_id": state.trace.trace_id,
            "error_code": error_code,
        }

    def _succeed(self, state: CallState) -> None:
        state.ended = True
        channel = state.channel
        if channel is not None:
            try:  # C builtins only; the try costs nothing unless one fails
                channel.stage((
                    channel.clock(), state.start_ns, state.interface.code, self.org_code, True,
                    None, None, state.request_size, state.response_size, state.trace.trace_id,
                ))  # fmt: skip
                channel.leave()
                if len(channel.staging) >= channel.fold_at:
                    channel.fold()
            except Exception as exc:  # monitoring boundary: the call succeeded
                channel.failed(exc)
        elif state.monitor is not None:
            state.monitor.end_ok(state.tracked, state.response_size)
        self.tracer.end(state.trace, None)
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "call ok infno=%s msgid=%s trace_id=%s attempts=%d %.1fms",
                state.interface.code,
                state.msgid,
                state.trace.trace_id,
                state.attempt,
                (time.perf_counter() - state.started) * 1000,
                extra=self._extra(state, None),
            )

    def _record_failure(self, state: CallState, error: BaseException, unknown: bool) -> str:
        """Record the failed call (once); return its error code.

        The channel steps repeat :meth:`_succeed`'s on purpose: a shared helper would add
        a Python frame to the success path, whose CPU is the budgeted one.
        """
        code, message = describe_error(error)
        state.ended = True
        channel = state.channel
        if channel is not None:
            try:
                channel.stage((
                    channel.clock(), state.start_ns, state.interface.code, self.org_code, False,
                    code, message, state.request_size, state.response_size, state.trace.trace_id,
                ))  # fmt: skip
                channel.leave()
                if len(channel.staging) >= channel.fold_at:
                    channel.fold()
            except Exception as exc:  # monitoring boundary: the call's own error stands
                channel.failed(exc)
        elif state.monitor is not None:
            state.monitor.end(state.tracked, "error", code, message, state.response_size)
        if unknown and state.monitor is not None:
            state.monitor.outcome_unknown(state.interface.code, self.org_code)
        self.tracer.end(state.trace, code)
        return code

    def _log_outcome_unknown(self, state: CallState, error_code: str) -> None:
        logger.error(
            "OUTCOME UNKNOWN infno=%s msgid=%s trace_id=%s: do not resend; "
            "reverse with 2601 (omsgid=%s, oinfno=%s) or reconcile with 3201/3202",
            state.interface.code,
            state.msgid,
            state.trace.trace_id,
            state.msgid,
            state.interface.code,
            extra=self._extra(state, error_code),
        )

    def _abort(self, state: CallState, exc: BaseException) -> None:
        """End a call interrupted by anything but an SDK error: cancelled, interrupted, a bug.

        A W$ call interrupted after its request may have gone out has an unknown outcome.
        """
        if state.ended:
            return
        try:
            unknown = state.interface.kind is Kind.WRITE_MONEY and state.attempt > 0
            code = self._record_failure(state, exc, unknown)
            if unknown:
                self._log_outcome_unknown(state, code)
            else:
                logger.warning(
                    "call interrupted infno=%s msgid=%s trace_id=%s by %s",
                    state.interface.code,
                    state.msgid,
                    state.trace.trace_id,
                    code,
                    extra=self._extra(state, code),
                )
        except Exception as failure:  # the original exception must go on unchanged
            if state.monitor is not None:
                state.monitor.failed("interrupted call", failure)
            else:
                logger.debug("recording an interrupted call failed", exc_info=failure)

    def _fail(self, state: CallState, error: MedicalInsuranceError) -> None:
        unknown = isinstance(error, NetworkError) and error.outcome_unknown
        self._record_failure(state, error, unknown)
        if unknown:
            self._log_outcome_unknown(state, error.error_code)
        else:
            logger.warning(
                "call failed infno=%s msgid=%s trace_id=%s error_code=%s: %s",
                state.interface.code,
                state.msgid,
                state.trace.trace_id,
                error.error_code,
                error.message,
                extra=self._extra(state, error.error_code),
            )
