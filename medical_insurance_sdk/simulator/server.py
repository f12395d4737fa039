"""The aiohttp server of the simulator, and its loopback-only admin endpoint.

Request pipeline (one POST to the service path):

1. gateway auth (``_api_*`` by default) → HTTP 401 with the protocol's JSON body;
2. JSON envelope (the body, or a multipart 9101's ``jsonStr`` part, its ``file`` part read
   up to ``max_upload_bytes``) → recorded (count per infno, headers, msgid, the trace id
   of its ``traceparent``, echoed as ``traceresponse``: :mod:`.tracecontext`);
3. latency and fault drawn for the interface (:mod:`.faults`), latency slept;
4. business handling (:mod:`.platform`), then the answer (a JSON envelope, or a 9102 file
   as ``application/octet-stream``), possibly mangled by the fault.

The admin endpoint is a separate server that always binds to 127.0.0.1, whatever host the
simulator itself listens on, and checks every request in this order:

1. the peer must be a loopback address (403; defence in depth);
2. the ``Host`` header must name loopback (``127.0.0.1``, ``localhost`` or ``[::1]``, any
   port) or the configured bind host (403): a web page whose DNS name was rebound to
   127.0.0.1 sends its own name and is refused (DNS rebinding);
3. a write (any method but GET/HEAD/OPTIONS) must carry the admin token, as
   ``Authorization: Bearer <token>`` or ``X-Admin-Token: <token>`` (401 when missing, 403
   when wrong; compared in constant time). The token is ``SimulatorConfig.admin_token``,
   or a random one drawn when the simulator is built (:attr:`Simulator.admin_token`,
   printed by ``misdk simulate``). Reads stay open on loopback.

Routes::

    GET    /admin/stats        what was received (counts, last headers, msgids, faults, files)
    POST   /admin/reset        forget the counters
    GET    /admin/faults       current fault settings
    PUT    /admin/faults       replace them   {"2207": {"slowdown": 5, "business_error_rate": 0.2}}
    PATCH  /admin/faults       merge into them
    DELETE /admin/faults       clear them
    GET    /admin/config       seed, auth scheme, latency models
    PUT    /admin/latency      {"scale": 0.5, "2207": {"median_ms": 100, "p99_ms": 900}}
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import itertools
import json
import logging
import secrets
import socket
import struct
import time
from collections.abc import Awaitable, Callable, Iterable
from decimal import InvalidOperation
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import HttpProcessingError

if TYPE_CHECKING:
    from aiohttp.typedefs import Middleware

from medical_insurance_sdk.exceptions import GatewayAuthReason
from medical_insurance_sdk.protocol.auth import (
    GATEWAY_MESSAGES,
    verify_api_signature,
    verify_tif_signature,
)
from medical_insurance_sdk.protocol.catalog import find_interface
from medical_insurance_sdk.protocol.envelope import DEFAULT_PATH, encode_json
from medical_insurance_sdk.protocol.envelope_security import ENC_TYPE_SM4
from medical_insurance_sdk.simulator.config import FaultConfig, LatencyModel, SimulatorConfig
from medical_insurance_sdk.simulator.faults import Fault, FaultPlan
from medical_insurance_sdk.simulator.platform import Platform, Reply
from medical_insurance_sdk.simulator.recorder import Recorder
from medical_insurance_sdk.simulator.security import SimulatorSecurity
from medical_insurance_sdk.simulator.tracecontext import TraceContinuation, current_trace

__all__ = ["Simulator", "SimulatorServer"]

logger = logging.getLogger(__name__)

_JSON = "text/plain; charset=utf-8"
_OCTET = "application/octet-stream"
#: Largest ``jsonStr`` part of a multipart request (the envelope's input is ≤ 40 000 chars).
_MAX_JSON_PART = 256 * 1024
#: The admin endpoint's only bind address.
_ADMIN_HOST = "127.0.0.1"
#: Host header names the admin endpoint always accepts (any port).
_LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1"})
#: Bind hosts that name no particular interface: never accepted as a Host header.
_WILDCARD_HOSTS = frozenset({"", "0.0.0.0", "::"})
#: Methods that only read: everything else needs the admin token.
_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_HTML_502 = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
    b"</body>\r\n</html>\r\n"
)
#: What a proxy or WAF in front of the platform answers with status 200.
_HTML_200 = (
    '<!DOCTYPE html>\r\n<html><head><meta charset="utf-8"><title>系统提示</title></head>'
    "<body><h1>系统维护中，请稍后再试</h1></body></html>\r\n"
).encode()
_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Simulator:
    """The simulated platform: state, recorder, faults and the request handler."""

    def __init__(
        self,
        config: SimulatorConfig | None = None,
        *,
        path: str = DEFAULT_PATH,
        tracer_provider: Any = None,
    ) -> None:
        self.config = config or SimulatorConfig()
        #: Continues each request's trace (:mod:`.tracecontext`); SERVER spans when
        #: ``tracer_provider`` (an OpenTelemetry ``TracerProvider``) is given.
        self.traces = TraceContinuation(tracer_provider)
        self.path = path
        self.platform = Platform(self.config)
        self.recorder = Recorder()
        self.plan = FaultPlan(
            self.config.seed, self.config.latency, self.config.faults, self.config.latency_scale
        )
        self._ref_seq = itertools.count(1)
        self._huge: dict[int, bytes] = {}
        self.security = SimulatorSecurity(
            self.config.sm4_key, self.config.sm2_public_key, self.config.sm4_encoding
        )
        #: The token admin writes must send: the configured one, else random per simulator.
        self.admin_token: str = self.config.admin_token or secrets.token_urlsafe(24)

    # -- applications ----------------------------------------------------------------------

    def app(self) -> web.Application:
        """The platform application (service path only)."""
        app = web.Application(client_max_size=4 * 1024 * 1024, middlewares=[self.traces.middleware])
        app.on_response_prepare.append(TraceContinuation.echo)
        app.router.add_post(self.path, self.handle)
        return app

    def admin_app(self, *, hosts: Iterable[str] = ()) -> web.Application:
        """The admin application (serve it on loopback only).

        ``hosts`` are further names its ``Host`` header may carry (the configured bind
        host); loopback names are always accepted, wildcard addresses never.
        """
        allowed = _LOOPBACK_NAMES | {
            h.strip("[]").lower() for h in hosts if h.strip("[]") not in _WILDCARD_HOSTS
        }
        app = web.Application(
            middlewares=[_loopback_only, _host_check(allowed), _token_check(self.admin_token)]
        )
        app.router.add_get("/admin/stats", self._admin_stats)
        app.router.add_post("/admin/reset", self._admin_reset)
        app.router.add_get("/admin/faults", self._admin_faults)
        app.router.add_put("/admin/faults", self._admin_faults_put)
        app.router.add_patch("/admin/faults", self._admin_faults_patch)
        app.router.add_delete("/admin/faults", self._admin_faults_delete)
        app.router.add_get("/admin/config", self._admin_config)
        app.router.add_put("/admin/latency", self._admin_latency)
        return app

    # -- the platform endpoint -------------------------------------------------------------

    def _auth(self, request: web.Request) -> GatewayAuthReason | None:
        auth = self.config.auth
        if auth.scheme == "api":
            return verify_api_signature(
                request.headers,
                auth.keys,
                now_ms=int(time.time() * 1000),
                window_ms=int(auth.window_seconds * 1000),
            )
        if auth.scheme == "tif":
            return verify_tif_signature(
                request.headers,
                auth.keys,
                now_s=int(time.time()),
                window_s=int(auth.window_seconds),
            )
        if auth.scheme == "bearer":
            value = request.headers.get("Authorization", "")
            if not value.startswith("Bearer ") or not value[7:]:
                return GatewayAuthReason.HEADERS_MISSING
            return None if value[7:] in auth.tokens else GatewayAuthReason.UNKNOWN_KEY
        return None

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """Answer one platform request."""
        transport = request.transport
        self.recorder.connection(transport.get_extra_info("peername") if transport else None)
        reason = self._auth(request)
        if reason is not None:
            self.recorder.auth_failures[reason.value] += 1
            return web.Response(
                status=401,
                body=encode_json({"code": 401, "message": GATEWAY_MESSAGES[reason]}),
                content_type="application/json",
            )
        attachment: bytes | None = None
        too_large = False
        if request.content_type == "multipart/form-data":
            try:
                raw, attachment, too_large = await self._read_multipart(request)
            except (ValueError, HttpProcessingError):  # no boundary, bad framing or headers
                self.recorder.outcome("?", "bad_multipart")
                return self._respond(Reply.error("文件上传报文格式错误，无法解析multipart"), "")
        else:
            raw = await request.read()
        try:
            envelope = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            self.recorder.outcome("?", "bad_json")
            return self._respond(Reply.error("请求报文格式错误，无法解析JSON"), "")
        if not isinstance(envelope, dict) or not envelope.get("infno"):
            self.recorder.outcome("?", "no_infno")
            return self._respond(Reply.error("交易编号[infno]不能为空"), "")
        infno = str(envelope["infno"])
        msgid = str(envelope.get("msgid") or "")
        trace = current_trace()
        self.recorder.request(infno, msgid, request.headers, trace.trace_id if trace else "")
        if trace is not None and logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "simulator: received infno=%s msgid=%s trace_id=%s",
                infno,
                msgid,
                trace.trace_id,
                extra={
                    "api_code": infno,
                    "msgid": msgid,
                    "trace_id": trace.trace_id,
                    "span_id": trace.span_id,
                    "trace_flags": trace.flags,
                },
            )
        refused = self._refusal(request, envelope, infno, too_large)
        if refused is not None:
            self.recorder.outcome(infno, "business_error")
            return self._respond(refused, msgid)
        latency, fault, faults = self.plan.draw(infno)
        if latency > 0:
            await asyncio.sleep(latency)
        if fault is not None:
            self.recorder.faults[f"{infno}:{fault.value}"] += 1
        if fault is Fault.HTTP_5XX:
            self.recorder.outcome(infno, fault.value)
            return web.Response(status=faults.http_status, text="Service Unavailable")
        if fault is Fault.HTML_502:
            self.recorder.outcome(infno, fault.value)
            return web.Response(status=502, body=_HTML_502, content_type="text/html")
        if fault is Fault.BUSINESS_ERROR:
            reply = self.platform.random_business_error(
                infno, envelope, faults.business_error_message
            )
        else:
            reply = self._process(infno, envelope, attachment)
        self.recorder.outcome(infno, "ok" if reply.infcode == 0 else "business_error")
        if isinstance(reply.output, dict):
            self._collapse_lists(reply.output, infno)
        reply = self.security.seal(envelope, reply)
        if fault is None or fault is Fault.BUSINESS_ERROR:
            return self._respond(reply, msgid, infno)
        return await self._mangle(request, fault, faults, reply, msgid, infno)

    def _refusal(
        self, request: web.Request, envelope: dict[str, Any], infno: str, too_large: bool
    ) -> Reply | None:
        """Why a well-formed request is refused before processing, if it is.

        On success a sealed (SM4) input has been replaced by its plaintext.
        """
        api_name = request.headers.get("_api_name")
        if self.config.auth.scheme == "api" and api_name != infno:
            return Reply.error(f"网关接口名[_api_name={api_name}]与交易编号[infno={infno}]不一致")
        if too_large:
            return Reply.error(f"上传文件大小超过上限{self.config.max_upload_bytes}字节")
        return self.security.open(envelope)  # SM4 input decrypted, SM2 cainfo verified

    async def _read_multipart(self, request: web.Request) -> tuple[bytes, bytes | None, bool]:
        """The ``jsonStr`` and ``file`` parts of a multipart request, and "file too large".

        Parts are read in chunks with bounds: a ``jsonStr`` above 256 KiB is dropped (the
        request then fails as an unparsable envelope), and a file above
        ``max_upload_bytes`` is read to its end but not kept. Other parts are skipped.
        """
        raw, attachment, too_large = b"", None, False
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader):
                continue  # a nested multipart is not part of the protocol
            limit = _MAX_JSON_PART if part.name == "jsonStr" else self.config.max_upload_bytes
            chunks, size = [], 0
            while chunk := await part.read_chunk():
                size += len(chunk)
                if size <= limit and part.name in ("jsonStr", "file"):
                    chunks.append(chunk)
            if part.name == "jsonStr":
                raw = b"".join(chunks) if size <= limit else b""
            elif part.name == "file":
                too_large = size > limit
                attachment = None if too_large else b"".join(chunks)
        return raw, attachment, too_large

    def _process(
        self, infno: str, envelope: dict[str, Any], attachment: bytes | None = None
    ) -> Reply:
        try:
            return self.platform.handle(infno, envelope, attachment)
        except (KeyError, TypeError, ValueError, AttributeError, InvalidOperation):
            logger.debug("simulator: malformed input for %s", infno, exc_info=True)
            return Reply.error(f"交易输入格式错误[infno={infno}]")

    async def _mangle(
        self,
        request: web.Request,
        fault: Fault,
        faults: FaultConfig,
        reply: Reply,
        msgid: str,
        infno: str,
    ) -> web.StreamResponse:
        if fault is Fault.HANG:
            await asyncio.sleep(faults.hang_seconds)
            return self._respond(reply, msgid, infno)
        if reply.content is not None:
            body, content_type = reply.content, _OCTET
        else:
            body, content_type = encode_json(self._envelope(reply, msgid, infno)), _JSON
        if fault is Fault.TRUNCATED and reply.content is None:
            return web.Response(body=body[: max(len(body) // 2, 1)], content_type="text/plain")
        if fault is Fault.WRONG_CONTENT_TYPE:
            return web.Response(body=body, content_type="text/html")
        if fault is Fault.HUGE_BODY:
            return web.Response(
                body=self._huge_body(faults.huge_body_bytes), content_type="text/plain"
            )
        if fault is Fault.HTML_200:
            return web.Response(body=_HTML_200, content_type="text/html")
        if fault is Fault.JSON_LIST and reply.content is None:
            return web.Response(body=b"[" + body + b"]", content_type="text/plain")
        if fault is Fault.DEEP_JSON and reply.content is None:
            depth = faults.deep_json_depth
            deep = b'{"infcode":0,"err_msg":null,"output":{"data":' + b"[" * depth
            return web.Response(body=deep + b"]" * depth + b"}}", content_type="text/plain")
        if fault is Fault.DRIP:
            return await self._drip(request, body, content_type, faults.drip_interval)
        # RESET (and a truncated file): the headers and half the body, then a reset
        response = web.StreamResponse(headers={"Content-Type": content_type})
        response.content_length = len(body)
        await response.prepare(request)
        await response.write(body[: len(body) // 2])
        transport = request.transport
        if transport is not None:
            sock = transport.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            transport.abort()
        return response

    async def _drip(
        self, request: web.Request, body: bytes, content_type: str, interval: float
    ) -> web.StreamResponse:
        """The whole answer, one byte every ``interval`` seconds (each read is quick)."""
        response = web.StreamResponse(headers={"Content-Type": content_type})
        response.content_length = len(body)
        await response.prepare(request)
        try:
            for index in range(len(body)):
                await response.write(body[index : index + 1])
                await asyncio.sleep(interval)
        except ConnectionError:  # the client gave up (its deadline): stop dripping
            return response
        await response.write_eof()
        return response

    def _huge_body(self, size: int) -> bytes:
        body = self._huge.get(size)
        if body is None:
            head = b'{"infcode":0,"err_msg":"","output":{"padding":"'
            tail = b'"}}'
            body = head + b"x" * max(size - len(head) - len(tail), 0) + tail
            self._huge = {size: body}
        return body

    def _envelope(self, reply: Reply, msgid: str, infno: str = "") -> dict[str, Any]:
        stamp = time.strftime("%Y%m%d%H%M%S") + f"{int(time.time() * 1000) % 1000:03d}"
        ok = reply.infcode == 0
        infcode: int | str = str(reply.infcode) if self.config.infcode_as_string else reply.infcode
        return {
            "infcode": infcode,
            "inf_refmsgid": f"430000{stamp}{next(self._ref_seq) % 10**7:07d}" if ok else None,
            "refmsg_time": stamp if ok else None,
            "respond_time": stamp if ok else None,
            "err_msg": reply.err_msg or None,
            "warn_msg": None,
            "cainfo": None,
            "signtype": None,
            **({"enc_type": ENC_TYPE_SM4} if reply.sealed else {}),
            "output": reply.output,
        }

    def _collapse_lists(self, output: dict[str, Any], infno: str) -> None:
        """Send one-element lists as bare objects, as many deployments do (when configured)."""
        if not self.config.collapse_single_lists:
            return
        entry = find_interface(infno)
        for name in entry.list_fields if entry else ():
            value = output.get(name)
            if isinstance(value, list) and len(value) == 1:
                output[name] = value[0]

    def _respond(self, reply: Reply, msgid: str, infno: str = "") -> web.Response:
        if reply.content is not None:  # a 9102 file
            disposition = f"attachment; filename*=UTF-8''{quote(reply.filename)}"
            return web.Response(
                body=reply.content,
                content_type=_OCTET,
                headers={"Content-Disposition": disposition},
            )
        return web.Response(
            body=encode_json(self._envelope(reply, msgid, infno)),
            content_type="text/plain",
            charset="utf-8",
        )

    # -- admin -----------------------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        """What was received so far, and the file store (call from the simulator's loop)."""
        return {**self.recorder.snapshot(), "files": self.platform.files.stats()}

    async def _admin_stats(self, request: web.Request) -> web.Response:
        return web.json_response(self.stats())

    async def _admin_reset(self, request: web.Request) -> web.Response:
        self.recorder.reset()
        return web.json_response({"reset": True})

    async def _admin_faults(self, request: web.Request) -> web.Response:
        return web.json_response(self.plan.specs())

    async def _faults_change(self, request: web.Request, merge: bool) -> web.Response:
        try:
            data = await request.json()
            if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
                raise ValueError("body must map interface codes to fault settings")
            if merge:
                self.plan.update(data)
            else:
                self.plan.replace(data)
        except (ValueError, TypeError) as exc:
            return web.json_response({"error": str(exc)}, status=400)
        logger.info("simulator faults now %s", self.plan.specs())
        return web.json_response(self.plan.specs())

    async def _admin_faults_put(self, request: web.Request) -> web.Response:
        return await self._faults_change(request, merge=False)

    async def _admin_faults_patch(self, request: web.Request) -> web.Response:
        return await self._faults_change(request, merge=True)

    async def _admin_faults_delete(self, request: web.Request) -> web.Response:
        self.plan.replace({})
        return web.json_response({})

    async def _admin_config(self, request: web.Request) -> web.Response:
        return web.json_response(
            {
                "seed": self.config.seed,
                "auth_scheme": self.config.auth.scheme,
                "latency_scale": self.plan.latency_scale,
                "latency": {
                    code: {"median_ms": m.median_ms, "p99_ms": m.p99_ms}
                    for code, m in self.plan.latency.items()
                },
                "require_sign_in": self.config.require_sign_in,
                "strict_state": self.config.strict_state,
            }
        )

    async def _admin_latency(self, request: web.Request) -> web.Response:
        try:
            data = await request.json()
            if not isinstance(data, dict):
                raise ValueError("body must be an object")
            scale = data.pop("scale", None)
            models = {
                str(code): LatencyModel(float(spec["median_ms"]), float(spec["p99_ms"]))
                for code, spec in data.items()
            }
            if scale is not None and float(scale) < 0:
                raise ValueError("scale must be >= 0")
        except (ValueError, TypeError, KeyError) as exc:
            return web.json_response({"error": str(exc)}, status=400)
        if scale is not None:
            self.plan.latency_scale = float(scale)
        self.plan.latency.update(models)
        return await self._admin_config(request)


@web.middleware
async def _loopback_only(request: web.Request, handler: _Handler) -> web.StreamResponse:
    """Refuse admin requests from anything but loopback (defence in depth)."""
    remote = request.remote or ""
    try:
        loopback = ipaddress.ip_address(remote.split("%")[0]).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        return web.json_response({"error": "admin endpoint is loopback-only"}, status=403)
    return await handler(request)


def _host_name(header: str) -> str:
    """The host of a ``Host`` header, lower case, without port or brackets ("" if malformed)."""
    value = header.strip().lower()
    if value.startswith("["):
        end = value.find("]")
        rest = value[end + 1 :]
        if end < 0 or (rest and not (rest.startswith(":") and rest[1:].isdigit())):
            return ""
        return value[1:end]
    name, colon, port = value.partition(":")
    return "" if colon and not port.isdigit() else name


def _refuse(status: int, message: str, **headers: str) -> web.Response:
    return web.json_response({"error": message}, status=status, headers=headers or None)


def _host_check(allowed: frozenset[str]) -> Middleware:
    """Middleware: refuse a ``Host`` header that does not name loopback (DNS rebinding)."""

    @web.middleware
    async def host_check(request: web.Request, handler: _Handler) -> web.StreamResponse:
        host = request.headers.get("Host", "")
        if _host_name(host) not in allowed:
            logger.info("simulator admin: refused Host %r", host[:100])
            return _refuse(
                403, "管理接口只接受本机 Host (Host must be 127.0.0.1, localhost or [::1])"
            )
        return await handler(request)

    return host_check


def _token_check(token: str) -> Middleware:
    """Middleware: admin writes need the token (``Authorization: Bearer`` or ``X-Admin-Token``)."""
    expected = token.encode()

    @web.middleware
    async def token_check(request: web.Request, handler: _Handler) -> web.StreamResponse:
        if request.method in _READ_METHODS:
            return await handler(request)
        given = request.headers.get("X-Admin-Token")
        if given is None:
            scheme, _, value = request.headers.get("Authorization", "").partition(" ")
            given = value.strip() if scheme.lower() == "bearer" else None
        if given is None:
            return _refuse(
                401,
                "修改需要管理令牌 (admin token required: Authorization: Bearer <token>)",
                **{"WWW-Authenticate": 'Bearer realm="misdk-simulator-admin"'},
            )
        if not hmac.compare_digest(given.encode("utf-8", "replace"), expected):
            logger.info("simulator admin: wrong token for %s %s", request.method, request.path)
            return _refuse(403, "管理令牌错误 (wrong admin token)")
        return await handler(request)

    return token_check


class SimulatorServer:
    """Runs a :class:`Simulator` on ``host:port`` and its admin app on 127.0.0.1.

    Port 0 picks a free port; read :attr:`port` / :attr:`base_url` after :meth:`start`.
    """

    def __init__(
        self,
        simulator: Simulator | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 8080,
        admin_port: int | None = 0,
    ) -> None:
        self.simulator = simulator or Simulator()
        self.host = host
        self.port = port
        self.admin_port = admin_port
        self._runners: list[web.AppRunner] = []
        #: (host, port) actually bound, per site: ``{"platform": ..., "admin": ...}``.
        self.addresses: dict[str, tuple[str, int]] = {}

    async def _serve(self, app: web.Application, host: str, port: int) -> int:
        runner = web.AppRunner(
            app, access_log=None, handler_cancellation=True, shutdown_timeout=1.0
        )
        await runner.setup()
        self._runners.append(runner)
        site = web.TCPSite(runner, host, port)
        await site.start()
        addresses = runner.addresses
        return int(addresses[0][1]) if addresses else port

    async def start(self) -> None:
        """Start listening (platform, then admin unless ``admin_port`` is None)."""
        self.port = await self._serve(self.simulator.app(), self.host, self.port)
        self.addresses["platform"] = (self.host, self.port)
        if self.admin_port is not None:
            self.admin_port = await self._serve(
                self.simulator.admin_app(hosts=(self.host,)), _ADMIN_HOST, self.admin_port
            )
            self.addresses["admin"] = (_ADMIN_HOST, self.admin_port)

    async def stop(self) -> None:
        """Stop both servers."""
        for runner in reversed(self._runners):
            await runner.cleanup()
        self._runners.clear()

    @property
    def base_url(self) -> str:
        """``http://host:port`` of the platform endpoint."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def url(self) -> str:
        """The full service URL (base URL + path)."""
        return self.base_url + self.simulator.path

    @property
    def admin_url(self) -> str | None:
        """``http://127.0.0.1:<admin port>`` or None when the admin endpoint is off."""
        return None if self.admin_port is None else f"http://127.0.0.1:{self.admin_port}"

    @property
    def admin_token(self) -> str:
        """The token admin writes must send (``Authorization: Bearer <token>``)."""
        return self.simulator.admin_token
