"""Compressed answers: inflated in bounded pieces, so a gzip bomb stops at the size limit.

The platform side is an httpx MockTransport answering gzip or deflate bodies; the client
and everything above the transport are the real ones.
"""

from __future__ import annotations

import gzip
import json
import tracemalloc
import zlib
from collections.abc import AsyncIterator, Callable, Iterator

import httpx
import pytest

from medical_insurance_sdk.client import AsyncMedicalInsuranceClient, MedicalInsuranceClient
from medical_insurance_sdk.core import MetricsCollector
from medical_insurance_sdk.exceptions import ResponseParseError, ResponseTooLargeError
from medical_insurance_sdk.simulator.testing import SAMPLE_ORG

LIMIT = 1024 * 1024
BOMB_BYTES = 256 * 1024 * 1024  # inflated size: 256 times the limit
ENVELOPE = json.dumps({"infcode": 0, "output": {"ok": "是"}}, ensure_ascii=False).encode()


def gzip_bomb(size: int = BOMB_BYTES) -> bytes:
    """``size`` zero bytes, gzip-compressed (about 1/1000 of the size)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    block = bytes(1024 * 1024)
    parts = [packer.compress(block) for _ in range(size // len(block))]
    return b"".join([*parts, packer.flush()])


BOMB = gzip_bomb()


class Wire(httpx.SyncByteStream, httpx.AsyncByteStream):
    """``body`` as a network would deliver it: 64 KiB raw chunks, read as they come."""

    def __init__(self, body: bytes) -> None:
        self.body = body

    def __iter__(self) -> Iterator[bytes]:
        for start in range(0, len(self.body), 65536):
            yield self.body[start : start + 65536]

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self:
            yield chunk


def platform(
    body: bytes, encoding: str, *, read: bool = False
) -> Callable[[httpx.Request], httpx.Response]:
    """A platform answering every request with ``body`` under ``Content-Encoding``.

    ``read``: a response built with ``content=`` (httpx reads and decodes it at once).
    """

    def answer(request: httpx.Request) -> httpx.Response:
        assert request.headers["accept-encoding"] == "gzip, deflate"
        headers = {"Content-Encoding": encoding}
        if read:
            return httpx.Response(200, headers=headers, content=body)
        return httpx.Response(200, headers=headers, stream=Wire(body))

    return answer


def test_gzip_bomb_stops_at_the_limit(collector: MetricsCollector) -> None:
    """A 256 MiB bomb raises ResponseTooLargeError without inflating it (peak < 8 MiB)."""
    assert len(BOMB) < LIMIT  # small on the wire: Content-Length cannot catch it
    with MedicalInsuranceClient.for_simulator(
        "http://platform.test",
        SAMPLE_ORG,
        collector=collector,
        transport=httpx.MockTransport(platform(BOMB, "gzip")),
        max_response_bytes=LIMIT,
    ) as client:
        tracemalloc.start()
        try:
            with pytest.raises(ResponseTooLargeError) as info:
                client.call("1101", {"data": {"mdtrt_cert_type": "01", "mdtrt_cert_no": "E1"}})
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert info.value.limit == LIMIT
    assert peak < 8 * LIMIT


async def test_async_gzip_bomb_stops_at_the_limit(collector: MetricsCollector) -> None:
    """The async client stops the same bomb at the same limit."""
    answer = platform(BOMB, "gzip")

    async def handler(request: httpx.Request) -> httpx.Response:
        return answer(request)

    async with AsyncMedicalInsuranceClient.for_simulator(
        "http://platform.test",
        SAMPLE_ORG,
        collector=collector,
        transport=httpx.MockTransport(handler),
        max_response_bytes=LIMIT,
    ) as client:
        tracemalloc.start()
        try:
            with pytest.raises(ResponseTooLargeError):
                await client.call("1201", {"data": {}})
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert peak < 8 * LIMIT


def test_download_gzip_bomb_stops_at_the_download_limit(collector: MetricsCollector) -> None:
    """A 9102 file that inflates past max_download_bytes stops there too."""

    def answer(request: httpx.Request) -> httpx.Response:
        headers = {"Content-Encoding": "gzip", "Content-Type": "application/octet-stream"}
        return httpx.Response(200, headers=headers, stream=Wire(BOMB))

    with MedicalInsuranceClient.for_simulator(
        "http://platform.test",
        SAMPLE_ORG,
        collector=collector,
        transport=httpx.MockTransport(answer),
        max_download_bytes=LIMIT,
        retries=0,
    ) as client:
        tracemalloc.start()
        try:
            with pytest.raises(ResponseTooLargeError) as info:
                client.download_file("FQ1", "a.txt")
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert info.value.limit == LIMIT
    assert peak < 8 * LIMIT


@pytest.mark.parametrize("read", [False, True], ids=["streamed", "content"])
@pytest.mark.parametrize(
    ("encoding", "body"),
    [
        ("gzip", gzip.compress(ENVELOPE)),
        ("deflate", zlib.compress(ENVELOPE)),
        ("deflate", zlib.compress(ENVELOPE)[2:-4]),  # raw deflate, as some servers send
        ("identity", ENVELOPE),
    ],
    ids=["gzip", "deflate", "raw-deflate", "identity"],
)
def test_compressed_envelopes_are_read(
    collector: MetricsCollector, encoding: str, body: bytes, read: bool
) -> None:
    """gzip, deflate (zlib or raw) and identity envelopes give the same output, streamed
    or built with ``content=`` (read and decoded by httpx before the client sees it)."""
    with MedicalInsuranceClient.for_simulator(
        "http://platform.test",
        SAMPLE_ORG,
        collector=collector,
        transport=httpx.MockTransport(platform(body, encoding, read=read)),
    ) as client:
        assert client.call("1201", {"data": {}}) == {"ok": "是"}


@pytest.mark.parametrize(
    ("encoding", "body"),
    [("br", b"\x0b\x02\x80{}\x03"), ("gzip", b"\x1f\x8b not gzip")],
    ids=["unsupported-br", "corrupt-gzip"],
)
def test_unreadable_encodings_are_parse_errors(
    collector: MetricsCollector, encoding: str, body: bytes
) -> None:
    """An encoding the client did not ask for, or a corrupt one, is a ResponseParseError."""
    with (
        MedicalInsuranceClient.for_simulator(
            "http://platform.test",
            SAMPLE_ORG,
            collector=collector,
            transport=httpx.MockTransport(platform(body, encoding)),
        ) as client,
        pytest.raises(ResponseParseError) as info,
    ):
        client.call("1201", {"data": {}})
    assert type(info.value) is ResponseParseError
