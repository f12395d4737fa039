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
from typing import TYPE_CHECKING, Any, TypeVar

import httpx

from medical_insurance_sdk.client.cache import ResponseCache
from medical_insurance_sdk.client.decoding import IDENTITY, BodyDecodeError, BodyDecoder
from medical_insurance_sdk.client.deployment import (
    SIMULATOR_ORG_CODE,
    SIMULATOR_SETTINGS,
    fill_site_settings,
)
from medical_insurance_sdk.client.errors import (
    DEFAULT_SESSION_ANSWERS,
    SessionAnswers,
    http_status_error,
    service_url,
    status_hint,
    transport_error,
)
from medical_insurance_sdk.client.files import DEFAULT_MAX_DOWNLOAD_BYTES, DEFAULT_MAX_UPLOAD_BYTES
from medical_insurance_sdk.client.monitoring import CallMonitor, GuardedMonitor, describe_error
from medical_insurance_sdk.client.outcomes import (
    NOTHING_REVERSED,
    RULES,
    Failure,
    is_nothing_to_reverse,
    mark_outcome,
)
from medical_insurance_sdk.client.response import parse_response
from medical_insurance_sdk.client.retry import RetryPolicy
from medical_insurance_sdk.client.timeouts import (
    Timeouts,
    check_deadline,
    cut_to_deadline,
    shorten_read,
)
from medical_insurance_sdk.client.tracing import CallTrace, Tracer
from medical_insurance_sdk.exceptions import (
    BusinessError,
    DeadlineExceededError,
    MedicalInsuranceError,
    ResponseParseError,
    ResponseTooLargeError,
    ValidationError,
)
from medical_insurance_sdk.protocol.auth import (
    DEFAULT_API_VERSION,
    ApiSignatureAuth,
    GatewayAuth,
    auth_identity,
)
from medical_insurance_sdk.protocol.catalog import Category, Interface, Kind, find_interface
from medical_insurance_sdk.protocol.envelope import (
    DEFAULT_PATH,
    ENVELOPE_FIELDS,
    MAX_INPUT_CHARS,
    EnvelopeDefaults,
    build_envelope,
    encode_envelope,
    next_msgid,
)
from medical_insurance_sdk.protocol.envelope_security import EnvelopeSecurity
from medical_insurance_sdk.protocol.msgid import resolve_node_id
from medical_insurance_sdk.protocol.validation import validate_input

# Only for annotations: `import medical_insurance_sdk` must not load numpy (the store).
if TYPE_CHECKING:
    from medical_insurance_sdk.core.collection.channel import CallChannel

__all__ = ["DEFAULT_LIMITS", "DEFAULT_PATH", "CallState", "ClientBase"]

logger = logging.getLogger("medical_insurance_sdk.client")

#: Connection pool of both clients. A client talks to one host (the platform's gateway),
#: so every pooled connection is kept alive: with httpx's default of 20 kept out of 100,
#: each burst above 20 concurrent calls closed and reopened connections, and throughput
#: fell from ~660 to ~200 calls/s at 200 concurrent tasks (the README's Reliability section).
DEFAULT_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=100)

#: Default limit on a response body (bytes).
DEFAULT_MAX_RESPONSE_BYTES = 8 * 1024 * 1024
_Client = TypeVar("_Client", bound="ClientBase")
#: Envelope fields that are part of every response cache key (with the URL and account).
_SCOPE_FIELDS = ("fixmedins_code", "mdtrtarea_admvs", "insuplc_admdvs", "recer_sys_code", "infver")
_SIGN_IN, _SIGN_OUT, _REVERSAL = "9001", "9002", "2601"
#: A timeout firing this close to the call's deadline is the deadline's (seconds).
_DEADLINE_SLACK = 0.05
_PHASES: dict[type[httpx.TimeoutException], str] = {
    httpx.ConnectTimeout: "connect",
    httpx.PoolTimeout: "pool",
    httpx.WriteTimeout: "write",
    httpx.ReadTimeout: "read",
}


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
    deadline_at: float | None = None  # time.monotonic() by which the call must end
    monitor: GuardedMonitor | None = None  # the monitor the call started on, if any
    channel: CallChannel | None = None  # the channel recording it (from start_ns), if any
    start_ns: int = 0
    request_size: int = 0  # bytes sent: the envelope's, or a 9101 upload's multipart body
    response_size: int = 0
    attempt: int = 0
    status_code: int = 0  # the last attempt's HTTP status (0: none answered)
    http_version: str = ""  # the last answer's protocol ("HTTP/1.1"), when known
    ended: bool = False  # recorded and its span ended (exactly once, on every path)


class ClientBase:
    """Configuration and protocol logic shared by the sync and async clients."""

    #: The platform's exact "not signed in" answers (texts or infcodes): a match raises
    #: SessionError, which ``auto_sign_in`` answers with a 9001 and one resend. Assign a
    #: :class:`~medical_insurance_sdk.client.errors.SessionAnswers` to change them.
    session_answers: SessionAnswers = DEFAULT_SESSION_ANSWERS

    def __init__(
        self,
        base_url: str,
        org_code: str,
        *,
        org_name: str | None = None,
        access_key: str | None = None,
        secret_key: str | None = None,
        api_version: str = DEFAULT_API_VERSION,
        auth: GatewayAuth | None = None,
        region: str | None = None,
        insured_region: str = "",
        recer_sys_code: str = "MBS_LOCAL",
        infver: str = "V1.0",
        operator: str | None = None,
        operator_name: str | None = None,
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
        mac: str | None = None,
        ip: str = "127.0.0.1",
        security: EnvelopeSecurity | None = None,
        node_id: int | str | None = None,
        deadline: float | None = None,
    ) -> None:
        if not base_url:
            raise ValueError("base_url must not be empty")
        site = fill_site_settings(
            base_url,
            {
                "access_key": access_key,
                "secret_key": secret_key,
                "region": region,
                "operator": operator,
                "operator_name": operator_name,
                "mac": mac,
            },
            credentials=auth is None,
            client=type(self).__name__,
        )
        #: The msgid's node digit (``node_id``, else ``MISDK_NODE_ID``, else 0).
        self.node_id = resolve_node_id(node_id)
        if max_response_bytes < 1:
            raise ValueError("max_response_bytes must be positive")
        if max_upload_bytes < 1 or max_download_bytes < 1:
            raise ValueError("max_upload_bytes and max_download_bytes must be positive")
        #: Seconds a whole call may take (connect, send, every byte of the answer, retries).
        self.deadline = check_deadline(deadline)
        self.base_url = base_url.rstrip("/")
        self.org_code = org_code
        self.path = path
        self.defaults = EnvelopeDefaults(
            fixmedins_code=org_code,
            fixmedins_name=org_name or org_code,
            mdtrtarea_admvs=site["region"],
            insuplc_admdvs=insured_region,
            recer_sys_code=recer_sys_code,
            infver=infver,
            opter_type=operator_type,
            opter=site["operator"],
            opter_name=site["operator_name"],
        )
        self.auth: GatewayAuth = auth or ApiSignatureAuth(
            site["access_key"], site["secret_key"], api_version
        )
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
        # Whatever selects the platform, the account and the envelope's fixed fields: one
        # shared cache never serves one platform's, region's or account's answer to another.
        self._cache_scope = (
            f"{self.base_url}{self.path}",
            auth_identity(self.auth),
            *(self.defaults.fields[name] for name in _SCOPE_FIELDS),
        )
        self.tracer = Tracer(tracing, tracer_provider, f"{self.base_url}{self.path}")
        self.validate = validate
        self.auto_sign_in = auto_sign_in
        self.max_response_bytes = max_response_bytes
        self.max_upload_bytes = max_upload_bytes
        self.max_download_bytes = max_download_bytes
        self.content_type = content_type
        #: SM4 encryption and SM2 signing of the envelope, where the province asks for them.
        self.security = security
        self._interfaces = dict(interfaces or {})
        self._sign_in_input = {
            "signIn": {"opter_no": site["operator"], "mac": site["mac"], "ip": ip}
        }
        self._sign_no: str | None = None
        self._monitor: GuardedMonitor | None = None
        self._channel: CallChannel | None = None
        if monitoring:
            if collector is None:
                from medical_insurance_sdk.core import get_metrics_collector

                self.monitor = GuardedMonitor(get_metrics_collector())
            else:
                self.monitor = GuardedMonitor(collector)

    @classmethod
    def for_simulator(
        cls: type[_Client], base_url: str, org_code: str = SIMULATOR_ORG_CODE, **options: Any
    ) -> _Client:
        """A client of the simulator (``misdk simulate``, ``running_simulator``) at any
        address: its demo credentials, region, operator and MAC fill what ``options``
        leave out, without the loopback warning."""
        return cls(base_url, org_code, **{**SIMULATOR_SETTINGS, **options})

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

    # -- 2601 reversal -------------------------------------------------------------------

    def _reversal(self, omsgid: str, oinfno: str, psn_no: str) -> tuple[Interface, dict[str, Any]]:
        data = {"data": {"psn_no": psn_no, "omsgid": omsgid, "oinfno": oinfno}}
        return self.interface(_REVERSAL), data

    def _nothing_reversed(self, state: CallState, error: MedicalInsuranceError) -> dict[str, Any]:
        """:data:`NOTHING_REVERSED` when 2601 failed only because the original transaction
        does not exist (the reversal is complete); else ``error`` goes on."""
        if not is_nothing_to_reverse(error):
            raise error
        logger.info(
            "reversal found nothing to reverse infno=%s msgid=%s trace_id=%s",
            state.interface.code,
            state.msgid,
            state.trace.trace_id,
            extra=self._extra(state, None),
        )
        return NOTHING_REVERSED

    # -- cache ---------------------------------------------------------------------------

    def _cache_key(
        self, interface: Interface, input_data: Any, overrides: Mapping[str, Any], use_cache: bool
    ) -> str | None:
        if self.cache is None or not use_cache or not interface.cacheable:
            return None
        return self.cache.key(self._cache_scope, interface.code, input_data, overrides)

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
        msgid = next_msgid(self.org_code, self.node_id)
        trace = self.tracer.start(interface.code, self.org_code, msgid, interface.kind.value)
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
        if channel is not None:  # the frame-free path: see core/collection/channel.py
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
        self.tracer.inject(state.trace, headers)
        return headers

    def _check_length(self, state: CallState, declared: str | None) -> None:
        if declared is not None and declared.isdigit() and int(declared) > self.max_response_bytes:
            raise self._too_large(state)

    def _decoder(self, state: CallState, headers: httpx.Headers, limit: int) -> BodyDecoder:
        """The body's decoder (Content-Encoding), bounded by ``limit`` decoded bytes."""
        encoding = headers.get("content-encoding")
        if encoding is None:
            return IDENTITY
        try:
            return BodyDecoder(encoding, limit)
        except ValueError as exc:
            raise ResponseParseError(
                f"不支持的响应压缩编码 ({encoding})",
                api_code=state.interface.code,
                msgid=state.msgid,
                trace_id=state.trace.trace_id,
            ) from exc

    def _body(
        self, state: CallState, response: httpx.Response, limit: int
    ) -> tuple[BodyDecoder, bytes | None]:
        """The answer's decoder, and its body when httpx has read it already.

        A response built with ``content=`` (an ``httpx.MockTransport`` answer) arrives
        read and decoded: it is taken as it is. Any other is read raw and decoded here.
        """
        if response.is_stream_consumed:
            return IDENTITY, response.content
        return self._decoder(state, response.headers, limit), None

    def _corrupt(self, state: CallState, exc: BodyDecodeError) -> ResponseParseError:
        return ResponseParseError(
            f"响应解压失败 ({type(exc).__name__})",
            api_code=state.interface.code,
            msgid=state.msgid,
            trace_id=state.trace.trace_id,
        )

    # -- deadline ------------------------------------------------------------------------

    def _deadline_at(self, deadline: float | None) -> float | None:
        """The monotonic time a call started now must end by (None: no deadline)."""
        seconds = self.deadline if deadline is None else check_deadline(deadline)
        return None if seconds is None else time.monotonic() + seconds

    def _attempt_timeout(self, state: CallState) -> httpx.Timeout:
        """The attempt's httpx timeouts: the category's, cut to what the deadline leaves."""
        timeout = state.timeout
        if state.deadline_at is None:
            return timeout
        left = state.deadline_at - time.monotonic()
        if left <= 0:
            raise self._deadline_error(state, "connect")
        return cut_to_deadline(timeout, left)

    def _keep_deadline(self, state: CallState, extensions: dict[str, Any]) -> None:
        """Between two chunks of an answer: stop at the deadline, else wait no longer
        for the next chunk than it leaves (httpcore reads the request's ``timeout``
        extension before each read)."""
        assert state.deadline_at is not None
        left = state.deadline_at - time.monotonic()
        if left <= 0:
            raise self._deadline_error(state, "read")
        shorten_read(extensions, state.timeout.read, left)

    def _deadline_error(self, state: CallState, phase: str) -> DeadlineExceededError:
        assert state.deadline_at is not None
        return DeadlineExceededError(
            f"调用超过截止时间 (deadline，阶段 {phase})",
            phase=phase,
            api_code=state.interface.code,
            msgid=state.msgid,
            trace_id=state.trace.trace_id,
        )

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
        if (
            isinstance(exc, httpx.TimeoutException)
            and state.deadline_at is not None
            and time.monotonic() >= state.deadline_at - _DEADLINE_SLACK
        ):
            return self._deadline_error(state, _PHASES.get(type(exc), "read"))
        if isinstance(exc, httpx.TransportError):
            return transport_error(exc, url=service_url(self.base_url, self.path), **where)
        return ResponseParseError(f"响应解码失败 ({type(exc).__name__})", **where)

    def _outcome(self, state: CallState, status_code: int, body: bytes) -> dict[str, Any]:
        """Turn an HTTP answer into the output dict, or raise the matching error."""
        state.response_size = len(body)
        state.status_code = status_code
        where = {
            "api_code": state.interface.code,
            "msgid": state.msgid,
            "trace_id": state.trace.trace_id,
        }
        if status_code != 200:
            raise http_status_error(
                status_code,
                body,
                url=service_url(self.base_url, self.path),
                hint=status_hint(status_code, self.base_url, self.path),
                **where,
            )
        response = parse_response(
            body,
            list_fields=state.interface.list_fields,
            session_answers=self.session_answers,
            open_output=None if self.security is None else self.security.open_output,
            **where,
        )
        return response.output

    def _should_retry(self, state: CallState, error: MedicalInsuranceError) -> float | None:
        """Seconds to wait before the next attempt, or None when the error is final."""
        if not self.retry.should_retry(state.interface.kind, error, state.attempt):
            return None
        delay = self.retry.delay(state.attempt)
        if state.deadline_at is not None and time.monotonic() + delay >= state.deadline_at:
            return None  # no time left for another attempt: the error stands
        self.tracer.attempt_failed(
            state.trace, state.attempt, error.error_code, state.status_code, delay
        )
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
        """The fields of the call's log lines (``extra=``; logging_setup writes them as JSON).

        Built only when a line is logged; ``duration_ms`` is the call's time so far (all
        attempts), ``attempt`` the attempts made (0: none went out).
        """
        trace = state.trace
        return {
            "api_code": state.interface.code,
            "org_code": self.org_code,
            "msgid": state.msgid,
            "trace_id": trace.trace_id,
            "span_id": trace.span_id,
            "trace_flags": "01" if trace.sampled else "00",
            "error_code": error_code,
            "duration_ms": (time.perf_counter() - state.started) * 1000,
            "attempt": state.attempt,
        }

    def _succeed(self, state: CallState) -> None:
        state.ended = True
        channel = state.channel
        if channel is not None:
            try:  # C builtins only; the try costs nothing unless one fails
                channel.stage((  # a StagedCall (collection/staged.py; test_staged_call.py checks)
                    channel.clock(), state.start_ns, state.interface.code, self.org_code, True,
                    None, None, state.request_size, state.response_size, state.trace.trace_id,
                ))  # fmt: skip
                channel.leave()
                if len(channel.staging) >= channel.fold_at:
                    channel.fold()
            except Exception as exc:  # monitoring boundary: the call succeeded
                channel.failed(exc)
        elif state.monitor is not None:  # the same record, through the methods
            state.monitor.end(
                state.tracked, "success", None, None, state.response_size, state.request_size
            )
        self.tracer.end(
            state.trace, None, "ok", state.attempt, state.status_code, state.http_version
        )
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
        elif state.monitor is not None:  # the same record, through the methods
            state.monitor.end(
                state.tracked, "error", code, message, state.response_size, state.request_size
            )
        if unknown and state.monitor is not None:
            state.monitor.outcome_unknown(state.interface.code, self.org_code)
        if unknown:
            outcome = "unknown"
            self.tracer.outcome_unknown(state.trace, state.interface.code, state.msgid)
        else:
            outcome = "refused" if isinstance(error, BusinessError) else "failed"
        self.tracer.end(
            state.trace, code, outcome, state.attempt, state.status_code, state.http_version
        )
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
            unknown = (
                state.interface.kind is Kind.WRITE_MONEY
                and state.attempt > 0
                and RULES[Failure.OTHER].unknown
            )
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
        unknown = mark_outcome(error, state.interface.kind)  # the one rule: .outcomes
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
