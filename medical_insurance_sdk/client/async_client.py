"""The asyncio client: :class:`AsyncMedicalInsuranceClient` over an ``httpx.AsyncClient`` pool."""

from __future__ import annotations

import asyncio
import functools
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from types import TracebackType
from typing import Any, overload

import httpx

from medical_insurance_sdk.client._base import DEFAULT_LIMITS, CallState
from medical_insurance_sdk.client._file_base import FileClientBase, UploadSource
from medical_insurance_sdk.client._transfer import DownloadSink
from medical_insurance_sdk.client.decoding import (
    ACCEPT_ENCODING,
    BodyDecodeError,
    BodyTooLarge,
)
from medical_insurance_sdk.client.files import encode_upload
from medical_insurance_sdk.client.outcomes import ReversalResult
from medical_insurance_sdk.exceptions import MedicalInsuranceError, SessionError
from medical_insurance_sdk.protocol.catalog import Interface

__all__ = ["AsyncMedicalInsuranceClient"]


async def _already(body: bytes) -> AsyncIterator[bytes]:
    """A body httpx read already, as the raw stream it replaces."""
    yield body


class AsyncMedicalInsuranceClient(FileClientBase):
    """Asyncio client of the national medical insurance platform.

    The same surface as :class:`MedicalInsuranceClient`, with coroutines::

        async with AsyncMedicalInsuranceClient.for_simulator("http://127.0.0.1:8080") as c:
            person = await c.call("1101", {"data": {"mdtrt_cert_type": "02", ...}})

    Site settings as for :class:`MedicalInsuranceClient` (explicit, or the simulator's).
    """

    def __init__(
        self,
        base_url: str,
        org_code: str,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        limits: httpx.Limits | None = None,
        **options: Any,
    ) -> None:
        super().__init__(base_url, org_code, **options)
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            transport=transport,
            limits=limits or DEFAULT_LIMITS,
            trust_env=False,
            headers={"Accept-Encoding": ACCEPT_ENCODING},
        )
        self._session_lock = asyncio.Lock()

    async def __aenter__(self) -> AsyncMedicalInsuranceClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    # -- public API ----------------------------------------------------------------------

    async def call(
        self,
        api_code: str,
        input_data: dict[str, Any],
        /,
        *,
        use_cache: bool = True,
        deadline: float | None = None,
        **envelope_overrides: Any,
    ) -> dict[str, Any]:
        """Call transaction ``api_code`` with ``input_data`` (the envelope's ``input``).

        Returns the response's ``output``. Raises a
        :class:`~medical_insurance_sdk.exceptions.MedicalInsuranceError` subclass.
        ``envelope_overrides`` replace envelope fields for this call (e.g.
        ``insuplc_admdvs="430105"``); ``deadline`` (seconds) replaces the client's.
        """
        interface = self.interface(api_code)
        key = self._cache_key(interface, input_data, envelope_overrides, use_cache)
        if key is not None:
            hit = self._cache_get(key)
            if hit is not None:
                return hit
        output = await self._run(interface, input_data, envelope_overrides, deadline=deadline)
        self._cache_put(key, interface, output)
        return output

    async def sign_in(self) -> str:
        """Sign in (9001); the returned sign_no is sent with every later call."""
        output = await self._execute(self.interface("9001"), self._sign_in_input, {})
        return self._store_sign_no(output)

    async def sign_out(self) -> dict[str, Any]:
        """Sign out (9002) and forget the sign_no."""
        output = await self._execute(self.interface("9002"), self._sign_out_input(), {})
        self._sign_no = None
        return output

    async def reverse(
        self,
        omsgid: str,
        oinfno: str,
        psn_no: str,
        *,
        deadline: float | None = None,
        **envelope_overrides: Any,
    ) -> ReversalResult:
        """Reverse a transaction whose outcome is unknown (2601 冲正); safe to repeat.

        As :meth:`MedicalInsuranceClient.reverse`: ``reversed`` is False when the
        platform answers that there is nothing to reverse (recorded as a success).
        """
        interface, data = self._reversal(omsgid, oinfno, psn_no)
        send = self._send_reversal
        output = await self._run(interface, data, envelope_overrides, send, deadline)
        return ReversalResult.of(omsgid, oinfno, output)

    async def upload_file(
        self,
        file: UploadSource,
        filename: str | None = None,
        *,
        deadline: float | None = None,
        **envelope_overrides: Any,
    ) -> dict[str, Any]:
        """Upload a file (9101 文件上传); returns the output with ``file_qury_no``.

        As :meth:`MedicalInsuranceClient.upload_file`; a path is read in a worker thread.
        """
        interface, input_data, name, source = self._upload_request(
            file, filename, envelope_overrides
        )
        if isinstance(source, Path):
            try:
                content = await asyncio.to_thread(self._read_upload, source)
            except OSError as exc:
                raise self._unreadable(interface, input_data, envelope_overrides, exc) from exc
        else:
            content = source
        self._check_upload(interface, input_data, envelope_overrides, content)
        send = functools.partial(self._send_upload, filename=name, content=content)
        return await self._run(interface, input_data, envelope_overrides, send, deadline)

    @overload
    async def download_file(
        self,
        file_qury_no: str,
        filename: str,
        *,
        dest: None = None,
        deadline: float | None = None,
        **envelope_overrides: Any,
    ) -> bytes: ...

    @overload
    async def download_file(
        self,
        file_qury_no: str,
        filename: str,
        *,
        dest: str | os.PathLike[str],
        deadline: float | None = None,
        **envelope_overrides: Any,
    ) -> Path: ...

    async def download_file(
        self,
        file_qury_no: str,
        filename: str,
        *,
        dest: str | os.PathLike[str] | None = None,
        deadline: float | None = None,
        **envelope_overrides: Any,
    ) -> bytes | Path:
        """Download a file (9102 文件下载): its bytes, or the path it was saved to.

        As :meth:`MedicalInsuranceClient.download_file`. Chunks going to ``dest`` are
        written to the local disk from the event loop as they arrive.
        """
        interface, input_data, sink = self._download_request(
            file_qury_no, filename, dest, envelope_overrides
        )
        try:
            send = functools.partial(self._send_download, sink=sink)
            await self._run(interface, input_data, envelope_overrides, send, deadline)
        finally:
            sink.discard()
        assert sink.result is not None
        return sink.result

    # -- internals -----------------------------------------------------------------------

    async def _ensure_signed_in(self) -> None:
        async with self._session_lock:
            if self._sign_no is None:
                await self.sign_in()

    async def _execute(
        self,
        interface: Interface,
        input_data: Any,
        overrides: dict[str, Any],
        *,
        send: Callable[[CallState], Awaitable[dict[str, Any]]] | None = None,
        deadline_at: float | None = None,
    ) -> dict[str, Any]:
        state = self._begin(interface, input_data, overrides)
        state.deadline_at = deadline_at
        try:
            while True:
                state.attempt += 1
                state.status_code = 0  # this attempt's answer, if any
                try:
                    output = await (send or self._attempt)(state)
                except MedicalInsuranceError as error:
                    delay = self._should_retry(state, error)
                    if delay is None:
                        self._fail(state, error)
                        raise
                    await asyncio.sleep(delay)
                    continue
                self._succeed(state)
                return output
        except BaseException as exc:  # cancelled, interrupted or a bug: end the call too
            self._abort(state, exc)
            raise

    async def _attempt(
        self, state: CallState, body: bytes | None = None, headers: dict[str, str] | None = None
    ) -> dict[str, Any]:
        """One exchange of an envelope answer: ``state.body`` and the call's headers, or
        ``body`` and ``headers`` as given (a 9101 upload)."""
        if headers is None:
            headers = self._headers(state)
        limit = self.max_response_bytes
        try:
            async with self._http.stream(
                "POST",
                self.path,
                content=state.body if body is None else body,
                headers=headers,
                timeout=self._attempt_timeout(state),
            ) as response:
                decoder, read = self._body(state, response, limit)
                if decoder.identity:
                    self._check_length(state, response.headers.get("content-length"))
                extensions = None if state.deadline_at is None else response.request.extensions
                chunks: list[bytes] = []
                size = 0
                try:
                    async for raw in response.aiter_raw() if read is None else _already(read):
                        for chunk in decoder.decode(raw):
                            size += len(chunk)
                            if size > limit:
                                raise self._too_large(state)
                            chunks.append(chunk)
                        if extensions is not None:
                            self._keep_deadline(state, extensions)
                    chunks += decoder.flush()
                except BodyTooLarge:
                    raise self._too_large(state) from None
                except BodyDecodeError as exc:
                    raise self._corrupt(state, exc) from exc
                status = response.status_code
                state.http_version = response.http_version
        except httpx.HTTPError as exc:
            raise self._translate(state, exc) from exc
        return self._outcome(state, status, b"".join(chunks))

    async def _run(
        self,
        interface: Interface,
        input_data: dict[str, Any],
        overrides: dict[str, Any],
        send: Callable[[CallState], Awaitable[dict[str, Any]]] | None = None,
        deadline: float | None = None,
    ) -> dict[str, Any]:
        """One call, signed in first when ``auto_sign_in`` asks, and sent once more after
        the platform rejected the session (before processing it). ``send`` replaces the
        plain exchange (file transfer); ``deadline`` (seconds) covers both sends."""
        deadline_at = self._deadline_at(deadline)
        if self._needs_sign_in(interface.code):
            await self._ensure_signed_in()
        try:
            return await self._execute(
                interface, input_data, overrides, send=send, deadline_at=deadline_at
            )
        except SessionError:
            if not self.auto_sign_in:
                raise
            self._sign_no = None  # rejected before processing: safe to send again
            await self._ensure_signed_in()
            return await self._execute(
                interface, input_data, overrides, send=send, deadline_at=deadline_at
            )

    async def _send_reversal(self, state: CallState) -> dict[str, Any]:
        """2601's exchange: "nothing to reverse" is its success (see :meth:`reverse`)."""
        try:
            return await self._attempt(state)
        except MedicalInsuranceError as error:
            return self._nothing_reversed(state, error)

    async def _send_upload(
        self, state: CallState, *, filename: str, content: bytes
    ) -> dict[str, Any]:
        upload = encode_upload(state.body, filename, content)
        state.request_size = len(upload.body)  # recorded at the call's end (channel path)
        headers = self._headers(state)
        headers["Content-Type"] = upload.content_type
        return await self._attempt(state, upload.body, headers)

    async def _send_download(self, state: CallState, *, sink: DownloadSink) -> dict[str, Any]:
        headers = self._headers(state)
        timeout = self._attempt_timeout(state)
        try:
            async with self._http.stream(
                "POST", self.path, content=state.body, headers=headers, timeout=timeout
            ) as response:
                status = response.status_code
                reader = self._reader(state, status, response.headers, sink)
                decoder, read = self._body(state, response, reader.limit)
                extensions = None if state.deadline_at is None else response.request.extensions
                try:
                    async for raw in response.aiter_raw() if read is None else _already(read):
                        for chunk in decoder.decode(raw):
                            reader.feed(chunk)
                        if extensions is not None:
                            self._keep_deadline(state, extensions)
                    for chunk in decoder.flush():
                        reader.feed(chunk)
                except BodyTooLarge:
                    raise reader.too_large() from None
                except BodyDecodeError as exc:
                    raise self._corrupt(state, exc) from exc
        except httpx.HTTPError as exc:
            raise self._translate(state, exc) from exc
        return self._download_outcome(state, status, reader.finish())
