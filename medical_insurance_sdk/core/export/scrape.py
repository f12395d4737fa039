"""/metrics from the cached API series: the whole registry, byte for byte prometheus_client's.

:func:`render_exposition` walks ``registry.collect()`` in order. A
:class:`~medical_insurance_sdk.core.export.exposition_cache.CachedFamily` contributes its
HELP/TYPE lines (rendered once by prometheus_client from the family without samples) and
its cached series; every other metric (gauges, info, health counters, system figures,
custom metrics, anything else registered) is rendered by prometheus_client's own
``generate_latest``, in runs; OpenMetrics ends with ``# EOF``. So the output equals
prometheus_client's ``generate_latest`` over the same registry
(``tests/unit/test_exposition_cache.py`` compares the bytes over random states).

:func:`render_gzip` writes one gzip member: the header, the cached deflate chunks of the
histogram series (each compressed once, when its series changed, at
:data:`~medical_insurance_sdk.core.export.exposition_cache.DEFLATE_LEVEL`, referring to nothing
before it) between the rest compressed now as one level-1 stream (fully flushed before
each run of chunks), its final block, and the CRC-32 and length of the whole text. When
most series changed since the last scrape everything goes through the stream. Any gzip
reader reads one ordinary deflate stream; the body is larger than prometheus_client's
level 9 (chunks cannot refer to each other; sizes in ``make bench``).

:func:`make_scrape_app` is prometheus_client's ``make_wsgi_app`` with the GET of the
whole registry served this way: the format comes from prometheus_client's own
``choose_encoder`` (same Accept negotiation, same Content-Type), gzip from its
``gzip_accepted``. Everything else is answered by ``make_wsgi_app`` itself: other methods
(OPTIONS, HEAD, POST), ``/favicon.ico``, ``name[]=`` filters, and name escapings other
than ``underscores`` and ``allow-utf-8`` (which rewrite metric names).
"""

from __future__ import annotations

import functools
import struct
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from prometheus_client import make_wsgi_app
from prometheus_client.exposition import choose_encoder, gzip_accepted
from prometheus_client.exposition import generate_latest as generate_text
from prometheus_client.metrics_core import Metric
from prometheus_client.openmetrics.exposition import ALLOWUTF8, UNDERSCORES
from prometheus_client.openmetrics.exposition import generate_latest as generate_openmetrics
from prometheus_client.registry import Collector

from medical_insurance_sdk.core.export.exposition_cache import (
    STREAM_LEVEL,
    CachedFamily,
    RenderedRows,
    new_compressor,
)

__all__ = [
    "TEXT",
    "ExpositionFormat",
    "format_of",
    "make_scrape_app",
    "render_exposition",
    "render_gzip",
]

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

_EOF = b"# EOF\n"
#: gzip member header: deflate, no flags, no mtime, no extra flags, unknown OS.
_GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"
#: Escapings under which our families' names and labels are written unchanged.
_FAST_ESCAPINGS = (UNDERSCORES, ALLOWUTF8)


@dataclass(frozen=True)
class ExpositionFormat:
    """Which of prometheus_client's renderings: text 0.0.4 or OpenMetrics, and its options."""

    openmetrics: bool = False
    escaping: str = UNDERSCORES
    version: str = "1.0.0"

    def generate(self, metrics: list[Metric]) -> bytes:
        """prometheus_client's rendering of ``metrics`` (OpenMetrics without ``# EOF``)."""
        source = _Metrics(metrics)
        if not self.openmetrics:
            return generate_text(source, escaping=self.escaping)
        out: bytes = generate_openmetrics(source, escaping=self.escaping, version=self.version)  # type: ignore[no-untyped-call]
        return out[: -len(_EOF)] if out.endswith(_EOF) else out


#: The text format 0.0.4, what ``generate_latest(registry)`` writes.
TEXT = ExpositionFormat()


class _Metrics:
    """Already collected metrics, as something prometheus_client can render."""

    def __init__(self, metrics: list[Metric]) -> None:
        self._metrics = metrics

    def collect(self) -> list[Metric]:
        return self._metrics


def format_of(encoder: Callable[..., bytes]) -> ExpositionFormat | None:
    """The format of an encoder ``choose_encoder`` picked; None if we do not render it."""
    func = getattr(encoder, "func", encoder)
    options: dict[str, str] = getattr(encoder, "keywords", {})
    if func is generate_text:
        openmetrics = False
    elif func is generate_openmetrics:
        openmetrics = True
    else:
        return None
    escaping = options.get("escaping", UNDERSCORES)
    if escaping not in _FAST_ESCAPINGS:
        return None
    return ExpositionFormat(openmetrics, escaping, options.get("version", "1.0.0"))


@functools.lru_cache(maxsize=256)
def _header(name: str, documentation: str, kind: str, unit: str, fmt: ExpositionFormat) -> bytes:
    """A family's HELP/TYPE/UNIT lines, as prometheus_client writes them."""
    return fmt.generate([Metric(name, documentation, kind, unit)])


def _pieces(registry: Collector, fmt: ExpositionFormat, deflate: bool) -> list[Any]:
    """The exposition in order: bytes, and the cached families' :class:`RenderedRows`."""
    pieces: list[bytes | RenderedRows] = []
    pending: list[Metric] = []
    for metric in registry.collect():
        if isinstance(metric, CachedFamily):
            if pending:
                pieces.append(fmt.generate(pending))
                pending = []
            pieces.append(_header(metric.name, metric.documentation, metric.type, metric.unit, fmt))
            pieces.append(metric.rendered(fmt.openmetrics, deflate))
        else:
            pending.append(metric)
    if pending:
        pieces.append(fmt.generate(pending))
    if fmt.openmetrics:
        pieces.append(_EOF)
    return pieces


def render_exposition(registry: Collector, fmt: ExpositionFormat = TEXT) -> bytes:
    """The registry's exposition, equal to prometheus_client's ``generate_latest``."""
    parts: list[bytes] = []
    for piece in _pieces(registry, fmt, deflate=False):
        if isinstance(piece, RenderedRows):
            parts.extend(piece.rows)
        else:
            parts.append(piece)
    return b"".join(parts)


def render_gzip(registry: Collector, fmt: ExpositionFormat = TEXT) -> bytes:
    """:func:`render_exposition`, gzip-compressed (one member, see the module)."""
    out = [_GZIP_HEADER]
    crc = size = 0
    stream = new_compressor(STREAM_LEVEL)  # everything that has no cached chunks
    streaming = False
    for piece in _pieces(registry, fmt, deflate=True):
        chunked = isinstance(piece, RenderedRows) and piece.deflated is not None
        text = b"".join(piece.rows) if isinstance(piece, RenderedRows) else piece
        crc = zlib.crc32(text, crc)
        size += len(text)
        if chunked:
            if streaming:  # the chunks must not follow data the stream still refers to
                out.append(stream.flush(zlib.Z_FULL_FLUSH))
                streaming = False
            out.extend(piece.deflated)
        else:
            out.append(stream.compress(text))
            streaming = True
    out.append(stream.flush())  # the final block
    out.append(struct.pack("<II", crc & 0xFFFFFFFF, size & 0xFFFFFFFF))
    return b"".join(out)


def make_scrape_app(registry: Collector, disable_compression: bool = False) -> WSGIApp:
    """``make_wsgi_app(registry)``, with whole-registry GETs rendered from the cache."""
    fallback: WSGIApp = make_wsgi_app(registry, disable_compression)

    def scrape_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if (
            environ.get("REQUEST_METHOD") != "GET"
            or environ.get("PATH_INFO") == "/favicon.ico"
            or "name[]" in parse_qs(environ.get("QUERY_STRING", ""))
        ):
            return fallback(environ, start_response)
        encoder, content_type = choose_encoder(environ.get("HTTP_ACCEPT", ""))
        fmt = format_of(encoder)
        if fmt is None:
            return fallback(environ, start_response)
        headers = [("Content-Type", content_type)]
        if not disable_compression and gzip_accepted(environ.get("HTTP_ACCEPT_ENCODING", "")):
            body = render_gzip(registry, fmt)
            headers.append(("Content-Encoding", "gzip"))
        else:
            body = render_exposition(registry, fmt)
        start_response("200 OK", headers)
        return [body]

    return scrape_app
